from django.apps import AppConfig


class LiaisonConfig(AppConfig):
    name = "yingshang.liaison"
    label = "liaison"
    verbose_name = "包联服务"
