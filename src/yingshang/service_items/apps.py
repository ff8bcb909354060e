from django.apps import AppConfig


class ServiceItemsConfig(AppConfig):
    name = "yingshang.service_items"
    label = "service_items"
    verbose_name = "政务服务事项"

    def ready(self) -> None:
        from yingshang.core import workdays

        from . import services

        workdays.register_recompute(services.case_recompute_provisional)
