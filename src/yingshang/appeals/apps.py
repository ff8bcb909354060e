from django.apps import AppConfig


class AppealsConfig(AppConfig):
    name = "yingshang.appeals"
    label = "appeals"
    verbose_name = "企业诉求直通车"

    def ready(self) -> None:
        from yingshang.core import selectors as core_selectors
        from yingshang.core import workdays

        from . import selectors, services

        workdays.register_recompute(services.appeal_recompute_provisional)
        from yingshang.core import periodic

        periodic.register("appeals.sweep", 600, services.appeal_sweep)
        core_selectors.register_todos(selectors.appeal_todos)
