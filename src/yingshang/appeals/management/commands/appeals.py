import json

from django.core.management.base import BaseCommand

from yingshang.appeals import services


class Command(BaseCommand):
    help = "诉求：sweep（标记超期、升级督办、超期未评价办结；可多进程同时运行）"

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("sweep")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        self.stdout.write(json.dumps(services.appeal_sweep()))
