from django.core.management.base import BaseCommand, CommandError

from yingshang.core.audit import audit_verify


class Command(BaseCommand):
    help = "审计日志：verify（校验哈希链）"

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("verify")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        r = audit_verify()
        if r.ok:
            self.stdout.write(f"ok: {r.checked} records, chain intact")
        else:
            raise CommandError(f"TAMPERED at record {r.first_bad_seq}: {r.reason} ({r.checked} records verified before it)")
