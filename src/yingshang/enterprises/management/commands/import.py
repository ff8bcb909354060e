import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from yingshang.enterprises import importer


class Command(BaseCommand):
    help = "导入：import enterprises FILE（XLSX 或 CSV），打印导入报告"

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        sub = parser.add_subparsers(dest="what", required=True)
        e = sub.add_parser("enterprises")
        e.add_argument("file")
        e.add_argument("--errors-xlsx", help="write the error report to this XLSX file")
        e.add_argument("--json", action="store_true", help="print the report as one JSON line")
        r = sub.add_parser("regions", help="CSV with columns code,name (GB/T 2260, 6 or 12 digits)")
        r.add_argument("file")
        d = sub.add_parser("departments", help="CSV with columns code,name,short_name,region_code,parent_code,is_office")
        d.add_argument("file")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"文件不存在 / no such file: {path}")
        if opts["what"] in {"regions", "departments"}:
            self._org(opts["what"], path)
            return
        try:
            report = importer.import_file(path, actor=None)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if opts["json"]:
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False))
        else:
            d = report.as_dict()
            self.stdout.write(f"job {d['job']}: {d['rows']} rows — created {d['created']}, updated {d['updated']}, "
                              f"unchanged {d['unchanged']}, rejected {d['rejected']}")
            for row, field, value, reason in report.errors[:50]:
                self.stdout.write(f"  row {row} [{field}] {value!r}: {reason}")
            if len(report.errors) > 50:
                self.stdout.write(f"  … {len(report.errors) - 50} more (see --errors-xlsx)")
        if opts["errors_xlsx"]:
            from yingshang.enterprises.models import ImportJob

            Path(opts["errors_xlsx"]).write_bytes(importer.error_report_xlsx(ImportJob.objects.get(pk=report.job_id)))

    def _org(self, what: str, path: Path) -> None:
        import csv

        from yingshang.core import services
        from yingshang.core.errors import DomainError

        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
        fn = services.region_import if what == "regions" else services.department_import
        try:
            result = fn(actor=None, rows=rows)  # type: ignore[arg-type]
        except DomainError as exc:
            raise CommandError(f"{exc.message} / {exc.message_en}") from None
        self.stdout.write(json.dumps(result, ensure_ascii=False))
