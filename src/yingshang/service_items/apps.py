from django.apps import AppConfig


class ServiceItemsConfig(AppConfig):
    name = "yingshang.service_items"
    label = "service_items"
    verbose_name = "政务服务事项"
