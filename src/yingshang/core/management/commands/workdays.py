import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from yingshang.core import workdays
from yingshang.core.errors import DomainError


def _date(raw: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise CommandError(f"日期无效 / bad date: {raw!r} (expected YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = "工作日计算：add DATE N（起算日不计）/ between A B"

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        sub = parser.add_subparsers(dest="action", required=True)
        a = sub.add_parser("add", help="the date N working days strictly after DATE")
        a.add_argument("date")
        a.add_argument("n", type=int)
        b = sub.add_parser("between", help="working days after A up to and including B")
        b.add_argument("start")
        b.add_argument("end")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        try:
            if opts["action"] == "add":
                self.stdout.write(str(workdays.add(_date(opts["date"]), opts["n"])))
            else:
                n, prov = workdays.between(_date(opts["start"]), _date(opts["end"]))
                self.stdout.write(f"{n}{' provisional' if prov else ''}")
        except DomainError as exc:
            raise CommandError(f"{exc.message} / {exc.message_en}") from None
