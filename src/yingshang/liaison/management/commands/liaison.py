"""yingshang liaison pair USCC [--leader U] [--commissioner U] | list | import FILE.csv"""

import csv
import json

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from yingshang.core.errors import DomainError
from yingshang.core.models import Role, User
from yingshang.enterprises.models import Enterprise
from yingshang.liaison import services
from yingshang.liaison.models import Pairing


def _person(username: str, role: str) -> User | None:
    if not username:
        return None
    user = User.objects.filter(username=username.strip(), role=role).first()
    if user is None:
        raise CommandError(f"账号 {username} 不存在或角色不是 {role} / no {role} account {username}")
    return user


class Command(BaseCommand):
    help = "包联：pair（设置某企业的包联领导、服务专员）、list、import（CSV：统一社会信用代码,包联领导账号,服务专员账号）"

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        sub = parser.add_subparsers(dest="action", required=True)
        p = sub.add_parser("pair")
        p.add_argument("uscc")
        p.add_argument("--leader", default="")
        p.add_argument("--commissioner", default="")
        sub.add_parser("list")
        i = sub.add_parser("import")
        i.add_argument("file")
        for q in (p, i):
            q.add_argument("--as", dest="actor", default="", help="office account doing it (default: the first dispatcher)")

    def _actor(self, username: str) -> User:
        qs = User.objects.filter(role=Role.DISPATCHER, is_active=True)
        actor = qs.filter(username=username).first() if username else qs.order_by("pk").first()
        if actor is None:
            raise CommandError("没有可用的营商办账号 / no office account")
        return actor

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        if opts["action"] == "list":
            for p in Pairing.objects.filter(ended_on__isnull=True).select_related("enterprise", "leader", "commissioner"):
                self.stdout.write(json.dumps({"uscc": p.enterprise.uscc, "leader": p.leader and p.leader.username,
                                              "commissioner": p.commissioner and p.commissioner.username,
                                              "since": str(p.started_on)}, ensure_ascii=False))
            return
        actor = self._actor(opts["actor"])
        if opts["action"] == "pair":
            rows = [(opts["uscc"], opts["leader"], opts["commissioner"])]
        else:
            with open(opts["file"], encoding="utf-8-sig", newline="") as fh:
                rows = [tuple((r + ["", "", ""])[:3]) for r in csv.reader(fh) if r and r[0].strip()]
            if rows and not rows[0][0].strip()[:1].isalnum() or rows and rows[0][0].startswith("统一"):
                rows = rows[1:]  # a header line
        errors = []
        done = 0
        with transaction.atomic():  # all rows or none
            for n, (uscc, leader, commissioner) in enumerate(rows, start=1):
                ent = Enterprise.objects.filter(uscc=uscc.strip().upper()).first()
                try:
                    if ent is None:
                        raise CommandError(f"市场主体 {uscc} 不存在 / no enterprise {uscc}")
                    services.pairing_set(actor=actor, enterprise=ent, leader=_person(leader, Role.LEADER),
                                         commissioner=_person(commissioner, Role.DISPATCHER))
                    done += 1
                except (CommandError, DomainError) as exc:
                    errors.append(f"第 {n} 行 / row {n}: {exc}")
            if errors:
                transaction.set_rollback(True)
        if errors:
            raise CommandError("未导入任何包联 / nothing imported:\n" + "\n".join(errors))
        self.stdout.write(json.dumps({"paired": done}))
