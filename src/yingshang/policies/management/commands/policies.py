import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from yingshang.core.errors import DomainError


class Command(BaseCommand):
    help = ("惠企政策：match [--item CODE]（匹配，只写入变化）；simulate --rule-json FILE [--amount-json FILE] "
            "[--budget 元]（规则模拟）；expire（失效到期文件）；sweep（公示期满处理）；create-batch（生成拨付批次）；"
            "export-payments BATCH FILE（导出支付文件）；import-confirmations FILE（导入银行回执）；"
            "figures [--by item|document|department|township|month] [--from D] [--to D] [--xlsx FILE]（兑现统计）")

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        sub = parser.add_subparsers(dest="action", required=True)
        m = sub.add_parser("match")
        m.add_argument("--item", action="append", default=[], help="事项编码（可重复）")
        s = sub.add_parser("simulate")
        s.add_argument("--rule-json", required=True)
        s.add_argument("--amount-json")
        s.add_argument("--budget", help="预算（元）")
        sub.add_parser("expire")
        sub.add_parser("sweep")
        b = sub.add_parser("create-batch")
        b.add_argument("--item", action="append", default=[])
        e = sub.add_parser("export-payments")
        e.add_argument("batch")
        e.add_argument("file")
        i = sub.add_parser("import-confirmations")
        i.add_argument("file")
        f = sub.add_parser("figures")
        f.add_argument("--by", default="item", help="item / document / department / township / month")
        f.add_argument("--from", dest="date_from", help="YYYY-MM-DD（默认今年 1 月 1 日）")
        f.add_argument("--to", dest="date_to", help="YYYY-MM-DD（默认今天）")
        f.add_argument("--xlsx", help="同时写出 XLSX 文件")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        try:
            out = getattr(self, "do_" + opts["action"].replace("-", "_"))(opts)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(json.dumps(out, ensure_ascii=False, default=str))

    def do_match(self, opts):  # type: ignore[no-untyped-def]
        from yingshang.policies import matching
        from yingshang.policies.models import BenefitItem

        if opts["item"]:
            items = list(BenefitItem.objects.filter(code__in=opts["item"]))
            unknown = set(opts["item"]) - {it.code for it in items}
            if unknown:
                raise CommandError(f"未知事项：{', '.join(sorted(unknown))}")
            return matching.match_all(items=items).as_dict()
        return matching.match_all().as_dict()

    def do_simulate(self, opts):  # type: ignore[no-untyped-def]
        from dataclasses import asdict

        from yingshang.policies import matching
        from yingshang.policies.payouts import parse_yuan

        rule = json.loads(Path(opts["rule_json"]).read_text(encoding="utf-8"))
        amount = json.loads(Path(opts["amount_json"]).read_text(encoding="utf-8")) if opts["amount_json"] else None
        budget = parse_yuan(opts["budget"]) if opts["budget"] else None
        sim = matching.simulate(rule=rule, amount=amount, budget_fen=budget)
        return {**asdict(sim), "over_budget": sim.over_budget, "budget_left_fen": sim.budget_left_fen}

    def do_expire(self, opts):  # type: ignore[no-untyped-def]
        from yingshang.policies import services

        return {"expired": services.documents_expire_due()}

    def do_sweep(self, opts):  # type: ignore[no-untyped-def]
        from yingshang.policies import services

        return services.policies_sweep()

    def do_create_batch(self, opts):  # type: ignore[no-untyped-def]
        from yingshang.policies import services
        from yingshang.policies.models import BenefitItem

        items = list(BenefitItem.objects.filter(code__in=opts["item"])) if opts["item"] else None
        batch = services.payout_batch_create(actor=None, items=items)
        return {"batch": batch.number, "payouts": batch.payouts.count()}

    def do_export_payments(self, opts):  # type: ignore[no-untyped-def]
        from yingshang.policies import payouts, services
        from yingshang.policies.models import PayoutBatch

        batch = PayoutBatch.objects.filter(number=opts["batch"]).first()
        if batch is None:
            raise CommandError(f"批次 {opts['batch']} 不存在")
        data = services.payout_batch_export(actor=None, batch=batch)
        Path(opts["file"]).write_bytes(data)
        rows, total = payouts.export_total_fen(data)
        return {"batch": batch.number, "file": opts["file"], "rows": rows, "total_yuan": payouts.yuan(total),
                "sha256": payouts.sha256(data)}

    def do_import_confirmations(self, opts):  # type: ignore[no-untyped-def]
        from dataclasses import asdict

        from yingshang.policies import services

        return asdict(services.payout_confirmations_import(actor=None, data=Path(opts["file"]).read_bytes()))

    def do_figures(self, opts):  # type: ignore[no-untyped-def]
        from dataclasses import asdict

        from yingshang.core.periods import parse_date
        from yingshang.policies import figures

        start, end = figures.default_period()
        fig = figures.benefit_figures(actor=None, group_by=opts["by"],
                                      date_from=parse_date(opts["date_from"], start, "from"),
                                      date_to=parse_date(opts["date_to"], end, "to"))
        if opts["xlsx"]:
            Path(opts["xlsx"]).write_bytes(figures.xlsx(fig))

        def row(r):  # type: ignore[no-untyped-def]
            return {**asdict(r), "read_rate": r.read_rate, "precision": r.precision}

        return {"group_by": fig.group_by, "from": fig.date_from, "to": fig.date_to,
                "rows": [row(r) for r in fig.rows], "total": row(fig.total)}
