from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "yingshang.policies"
    label = "policies"
    verbose_name = "惠企政策"
