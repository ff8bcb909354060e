import sys

from django.core.management.base import BaseCommand

from yingshang.enterprises import uscc


class Command(BaseCommand):
    help = "统一社会信用代码：check CODE"
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        sub = parser.add_subparsers(dest="action", required=True)
        c = sub.add_parser("check")
        c.add_argument("code")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        r = uscc.check(opts["code"])
        for w in r.warnings:
            self.stdout.write(f"warning: {w}")
        if r.valid:
            self.stdout.write(f"{r.code} valid")
        else:
            self.stdout.write(f"{r.code} invalid: {r.reason}")
            sys.exit(1)
