from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

from yingshang.enterprises import industries, sizeclass


def _dec(raw: str | None, name: str) -> Decimal | None:
    if raw is None:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise CommandError(f"--{name} 应为数字 / must be a number: {raw!r}") from None
    if value < 0:
        raise CommandError(f"--{name} 不能为负 / cannot be negative")
    return value


class Command(BaseCommand):
    help = "企业规模划型（统计上大中小微型企业划分办法 2017）；营业收入、资产总额单位：万元"
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--industry", required=True, help="GB/T 4754-2017 4-digit class, e.g. C1711 or 1711")
        parser.add_argument("--employees", type=int)
        parser.add_argument("--revenue", help="营业收入（万元）")
        parser.add_argument("--assets", help="资产总额（万元）")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        try:
            code = industries.parse_class_code(opts["industry"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if opts["employees"] is not None and opts["employees"] < 0:
            raise CommandError("--employees 不能为负 / cannot be negative")
        try:
            size = sizeclass.classify(code, opts["employees"], _dec(opts["revenue"], "revenue"), _dec(opts["assets"], "assets"))
        except sizeclass.MissingFigure as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(size)
