import json

from django.core.management.base import BaseCommand

from yingshang.appeals import services, stats


class Command(BaseCommand):
    help = ("诉求：sweep（标记超期、升级督办、超期未评价办结；可多进程同时运行）；"
            "rebuild-stats（由办理事件重算统计表）")

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("sweep")
        sub.add_parser("rebuild-stats")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        if opts["action"] == "rebuild-stats":
            self.stdout.write(json.dumps({"rebuilt": stats.rebuild()}))
        else:
            self.stdout.write(json.dumps(services.appeal_sweep()))
