from django.apps import AppConfig


def _list_loader(kind: str):  # type: ignore[no-untyped-def]
    """A fact loader: {enterprise id: True} for the enterprises with an active entry on list ``kind`` today.

    One query of the active entries whatever the number of ids (for more than a few thousand ids it
    reads every active entry of the list — a small set — and the engine keeps the ids it asked about)."""

    def load(ids, param):  # type: ignore[no-untyped-def]
        from .selectors import ID_FILTER_LIMIT, active_ids

        if len(ids) > ID_FILTER_LIMIT:
            return dict.fromkeys(active_ids(kind), True)
        return dict.fromkeys(active_ids(kind, (int(i) for i in ids)), True)

    return load


def register_facts() -> None:
    """Facts the policy rule engine may use: ``credit.black_list`` / ``credit.red_list`` — the enterprise
    has an active entry on that list today.  Safe to call again (a test module that replaced a fact
    restores it this way)."""
    from yingshang.policies.rules import register_fact

    # on the black list is something an enterprise can change (信用修复), so "you are close" may name it
    register_fact("credit.black_list", "信用黑名单", "credit black list", "bool", _list_loader("black"),
                  default=False, true_zh="在信用黑名单", false_zh="不在信用黑名单",
                  true_en="on the credit black list", false_en="not on the credit black list", actionable=True)
    register_fact("credit.red_list", "信用红名单", "credit red list", "bool", _list_loader("red"),
                  default=False, true_zh="在信用红名单", false_zh="不在信用红名单",
                  true_en="on the credit red list", false_en="not on the credit red list")


class SupervisionConfig(AppConfig):
    name = "yingshang.supervision"
    label = "supervision"
    verbose_name = "监管与信用"

    def ready(self) -> None:
        from yingshang.core import periodic

        from . import services

        register_facts()
        periodic.register("supervision.credit_expire", 86400, services.credit_lists_expire)
