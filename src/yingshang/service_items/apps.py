from django.apps import AppConfig


class ServiceItemsConfig(AppConfig):
    name = "yingshang.service_items"
    label = "service_items"
    verbose_name = "政务服务事项"

    def ready(self) -> None:
        from yingshang.core import selectors as core_selectors
        from yingshang.core import workdays

        from . import services, todos

        workdays.register_recompute(services.case_recompute_provisional)
        core_selectors.register_todos(todos.case_todos)
        from yingshang.core import periodic

        periodic.register("services.sweep", 600, services.case_sweep)
