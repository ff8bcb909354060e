"""yingshang credit add USCC --kind black|red --reason R --source S --listed-on D [--expires-on D] [--document N]
| remove ID --reason R | import FILE | expire [--day D] | list [--kind K] [--active|--inactive] [--uscc C]"""

import datetime as dt
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from yingshang.core.errors import DomainError
from yingshang.core.models import Role, User
from yingshang.enterprises import uscc as uscc_codes
from yingshang.enterprises.models import Enterprise
from yingshang.supervision import services
from yingshang.supervision.models import CreditListEntry


def _date(value: str | None, name: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{name} 应为 YYYY-MM-DD / {name} must be YYYY-MM-DD") from None


def _entry(e: CreditListEntry, today: dt.date) -> dict[str, object]:
    return {"id": e.pk, "uscc": e.enterprise.uscc, "name": e.enterprise.name, "kind": e.kind, "reason": e.reason,
            "source": e.source, "document_number": e.document_number, "listed_on": str(e.listed_on),
            "expires_on": str(e.expires_on) if e.expires_on else None, "active": e.is_active(today),
            "removal": e.removal or None, "removal_reason": e.removal_reason or None}


class Command(BaseCommand):
    help = ("信用红黑名单：add（列入）、remove（移出：信用修复/撤销认定）、import FILE（CSV/XLSX：统一社会信用代码,"
            "名单类型,认定原因,认定部门,认定日期,有效期至,文书号；有错则整个文件不导入）、expire（移出到期记录）、list")

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        sub = parser.add_subparsers(dest="action", required=True)
        a = sub.add_parser("add")
        a.add_argument("uscc")
        a.add_argument("--kind", required=True, help="black 黑名单 / red 红名单")
        a.add_argument("--reason", required=True, help="认定原因")
        a.add_argument("--source", required=True, help="认定部门")
        a.add_argument("--listed-on", default="", help="认定日期 YYYY-MM-DD（默认今天）")
        a.add_argument("--expires-on", default="", help="有效期至 YYYY-MM-DD（默认直至移出）")
        a.add_argument("--document", default="", help="认定文书号")
        r = sub.add_parser("remove")
        r.add_argument("id", type=int)
        r.add_argument("--reason", required=True, help="移出理由")
        i = sub.add_parser("import")
        i.add_argument("file")
        e = sub.add_parser("expire")
        e.add_argument("--day", default="", help="YYYY-MM-DD（默认今天）")
        ls = sub.add_parser("list")
        ls.add_argument("--kind", choices=["red", "black"])
        ls.add_argument("--uscc", default="")
        state = ls.add_mutually_exclusive_group()
        state.add_argument("--active", dest="active", action="store_const", const=True, default=None)
        state.add_argument("--inactive", dest="active", action="store_const", const=False)
        for q in (a, r, i):
            q.add_argument("--as", dest="actor", default="",
                           help="执行操作的营商办或执法账号（默认第一个营商办账号）")

    def _actor(self, username: str) -> User:
        qs = User.objects.filter(role__in=[Role.DISPATCHER, Role.INSPECTOR], is_active=True)
        actor = qs.filter(username=username).first() if username else qs.filter(role=Role.DISPATCHER).order_by("pk").first()
        if actor is None:
            raise CommandError("没有可用的营商办或执法账号 / no office or inspector account")
        return actor

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        try:
            out = getattr(self, "do_" + opts["action"])(opts)
        except services.ImportRejected as exc:
            lines = [f"第 {p.row} 行 / row {p.row} {p.field}: {p.message} / {p.message_en}" for p in exc.problems]
            raise CommandError("未导入任何记录 / nothing imported:\n" + "\n".join(lines)) from None
        except DomainError as exc:
            raise CommandError(f"{exc.message} / {exc.message_en}") from None
        self.stdout.write(json.dumps(out, ensure_ascii=False, default=str))

    def do_add(self, opts):  # type: ignore[no-untyped-def]
        ent = Enterprise.objects.filter(uscc=uscc_codes.normalise(opts["uscc"])).first()
        if ent is None:
            raise CommandError(f"市场主体 {opts['uscc']} 不存在 / no enterprise {opts['uscc']}")
        e = services.credit_list_add(
            actor=self._actor(opts["actor"]), enterprise=ent, kind=opts["kind"], reason=opts["reason"],
            source=opts["source"], listed_on=_date(opts["listed_on"], "--listed-on") or timezone.localdate(),
            expires_on=_date(opts["expires_on"], "--expires-on"), document_number=opts["document"])
        return _entry(e, timezone.localdate())

    def do_remove(self, opts):  # type: ignore[no-untyped-def]
        entry = CreditListEntry.objects.select_related("enterprise").filter(pk=opts["id"]).first()
        if entry is None:
            raise CommandError(f"名单记录 {opts['id']} 不存在 / no entry {opts['id']}")
        e = services.credit_list_remove(actor=self._actor(opts["actor"]), entry=entry, reason=opts["reason"])
        return _entry(e, timezone.localdate())

    def do_import(self, opts):  # type: ignore[no-untyped-def]
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"文件不存在 / no such file: {path}")
        return services.credit_list_import(actor=self._actor(opts["actor"]), data=path.read_bytes()).as_dict()

    def do_expire(self, opts):  # type: ignore[no-untyped-def]
        return {"expired": services.credit_lists_expire(day=_date(opts["day"], "--day"))}

    def do_list(self, opts):  # type: ignore[no-untyped-def]
        from yingshang.supervision.models import active_q

        today = timezone.localdate()
        qs = CreditListEntry.objects.select_related("enterprise").order_by("-listed_on", "-id")
        if opts["kind"]:
            qs = qs.filter(kind=opts["kind"])
        if opts["uscc"]:
            qs = qs.filter(enterprise__uscc=uscc_codes.normalise(opts["uscc"]))
        if opts["active"] is not None:
            qs = qs.filter(active_q(today)) if opts["active"] else qs.exclude(active_q(today))
        return [_entry(e, today) for e in qs.iterator(chunk_size=2000)]
