from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from yingshang.core import selectors, services
from yingshang.core.errors import DomainError


class Command(BaseCommand):
    help = "工作日历：import FILE（录入官方安排，CSV: 日期,类型,名称）/ show YEAR"

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        sub = parser.add_subparsers(dest="action", required=True)
        i = sub.add_parser("import")
        i.add_argument("file")
        s = sub.add_parser("show")
        s.add_argument("year", type=int)

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        try:
            if opts["action"] == "import":
                path = Path(opts["file"])
                if not path.is_file():
                    raise CommandError(f"文件不存在 / no such file: {path}")
                years = services.calendar_import(data=path.read_bytes(), actor=None, source=f"导入 {path.name}")
                for y in years:
                    self.stdout.write(f"{y.year}: official ({y.days.count()} days, source: {y.source})")
            else:
                cy, days = selectors.calendar_year_detail(opts["year"])
                self.stdout.write(f"{cy.year} {cy.status} ({cy.source})")
                for d in days:
                    self.stdout.write(f"{d.date.isoformat()} {d.kind} {d.name}")
        except DomainError as exc:
            raise CommandError(f"{exc.message} / {exc.message_en}") from None
