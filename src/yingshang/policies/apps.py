from django.apps import AppConfig


def register_facts() -> None:
    """Facts rules may use that this app provides: ``payouts.item.<code>`` — the enterprise has a live
    (pending or paid) payout of that item, in any period."""
    import threading

    from .rules import register_fact

    # One load of columns asks for each payouts.item.<code> a rule names, always with the same id array:
    # read the live payouts of all items for those ids once and answer every code from that.
    last = threading.local()

    def payouts_of_item(ids, code):  # type: ignore[no-untyped-def]
        from .models import Payout

        if getattr(last, "ids", None) is not ids:
            qs = Payout.objects.filter(status__in=Payout.LIVE)
            if len(ids) <= 5000:
                qs = qs.filter(enterprise_id__in=[int(i) for i in ids])
            by_code: dict[str, set[int]] = {}
            for item_code, enterprise_id in qs.values_list("item__code", "enterprise_id").order_by().distinct():
                by_code.setdefault(item_code, set()).add(enterprise_id)
            last.ids, last.by_code = ids, by_code
        return dict.fromkeys(last.by_code.get(code, ()), True)

    register_fact("payouts.item.*", "事项 {param} 兑现", "payout of item {param}", "bool", payouts_of_item,
                  default=False, true_zh="已获事项 {param} 兑现", false_zh="未获事项 {param} 兑现",
                  true_en="had a payout of item {param}", false_en="had no payout of item {param}")


class PoliciesConfig(AppConfig):
    name = "yingshang.policies"
    label = "policies"
    verbose_name = "惠企政策"

    def ready(self) -> None:
        from yingshang.core import selectors as core_selectors
        from yingshang.core import workdays

        from . import selectors, services

        register_facts()
        workdays.register_recompute(services.application_recompute_provisional)
        core_selectors.register_todos(selectors.policy_todos)
        from yingshang.core import periodic
        from yingshang.enterprises import hooks

        from . import matching

        # an enterprise's data changed (edit, figures, import): re-check it against every item after commit
        hooks.register(matching.rematch_on_commit)
        periodic.register("policies.expire", 3600, services.documents_expire_due)
        periodic.register("policies.sweep", 3600, services.policies_sweep)
        periodic.register("policies.match", 86400, matching.match_all)
