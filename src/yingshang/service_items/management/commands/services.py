import datetime as dt
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from yingshang.core.errors import DomainError
from yingshang.core.models import Role, User


class Command(BaseCommand):
    help = ("政务服务事项：import-catalogue FILE.xlsx（逐行校验，报告错误行，保留正确行）；export-catalogue FILE.xlsx；"
            "load-catalogue [--json PATH]（导入事项目录 JSON，可重复运行，缺少的部门自动创建）；"
            "sweep（临期预警、到期与超期标记，可多进程同时运行）；monitor（按部门、窗口统计在办件剩余时间）")

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        sub = parser.add_subparsers(dest="action", required=True)
        as_help = "以该账号操作（营商办调度员；默认第一个在用的调度员）/ act as this account (default: the first dispatcher)"
        imp = sub.add_parser("import-catalogue", help="upsert items (sheet 事项) and materials (sheet 材料) from XLSX")
        imp.add_argument("file")
        imp.add_argument("--as", dest="username", help=as_help)
        imp.add_argument("--json", action="store_true", help="print the report as one JSON line")
        exp = sub.add_parser("export-catalogue", help="write the whole catalogue as XLSX")
        exp.add_argument("file")
        exp.add_argument("--as", dest="username", help=as_help)
        load = sub.add_parser("load-catalogue", help="load the catalogue JSON (items, materials, bundles, trees)")
        load.add_argument("--json", dest="path", help="the catalogue file (default: the one shipped with the app)")
        load.add_argument("--as", dest="username", help=as_help)
        sweep = sub.add_parser("sweep", help="warn, mark due and overdue cases; print the counts as JSON")
        sweep.add_argument("--today", type=dt.date.fromisoformat, help="YYYY-MM-DD (default: today)")
        mon = sub.add_parser("monitor", help="open cases by time left, per department and window, as JSON")
        mon.add_argument("--as", dest="username", help="as this account (default: the first dispatcher)")
        mon.add_argument("--windows", action="store_true", help="include the per-window rows")

    def handle(self, *args, **opts):  # type: ignore[no-untyped-def]
        try:
            getattr(self, "_" + opts["action"].replace("-", "_"))(opts)
        except DomainError as exc:
            raise CommandError(f"{exc.message} / {exc.message_en}") from None

    def _actor(self, username: str | None) -> User:
        if username:
            user = User.objects.filter(username=username, is_active=True).first()
            if user is None:
                raise CommandError(f"账号 {username} 不存在或已停用 / no active account {username}")
            return user
        user = User.objects.filter(role=Role.DISPATCHER, is_active=True).order_by("id").first()
        if user is None:
            raise CommandError("没有在用的营商办调度员账号，请用 --as 指定 / no active dispatcher: pass --as USERNAME")
        return user

    def _import_catalogue(self, opts) -> None:  # type: ignore[no-untyped-def]
        from yingshang.service_items.catalogue_xlsx import catalogue_import

        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"文件不存在 / no such file: {path}")
        with path.open("rb") as fh:
            rep = catalogue_import(actor=self._actor(opts["username"]), stream=fh)
        d = {"items_created": rep.items_created, "items_updated": rep.items_updated,
             "materials_created": rep.materials_created, "materials_updated": rep.materials_updated,
             "errors": [vars(e) for e in rep.errors]}
        if opts["json"]:
            self.stdout.write(json.dumps(d, ensure_ascii=False))
            return
        self.stdout.write(f"事项 items: {rep.items_created} created, {rep.items_updated} updated; "
                          f"材料 materials: {rep.materials_created} created, {rep.materials_updated} updated; "
                          f"{len(rep.errors)} bad row(s)")
        for e in rep.errors[:100]:
            self.stdout.write(f"  {e.sheet} row {e.row} [{e.field}]: {e.reason} / {e.reason_en}")
        if len(rep.errors) > 100:
            self.stdout.write(f"  … {len(rep.errors) - 100} more (use --json)")

    def _export_catalogue(self, opts) -> None:  # type: ignore[no-untyped-def]
        from yingshang.service_items.catalogue_xlsx import catalogue_export

        data = catalogue_export(actor=self._actor(opts["username"]))
        Path(opts["file"]).write_bytes(data)
        self.stdout.write(f"{opts['file']}: {len(data)} bytes")

    def _load_catalogue(self, opts) -> None:  # type: ignore[no-untyped-def]
        from yingshang.service_items.demo import load_catalogue, read_catalogue

        try:
            data = read_catalogue(opts["path"])
        except (OSError, ValueError) as exc:
            raise CommandError(f"无法读取目录文件 / cannot read the catalogue: {exc}") from None
        counts = load_catalogue(actor=self._actor(opts["username"]), data=data)
        self.stdout.write(json.dumps(counts, ensure_ascii=False, sort_keys=True))

    def _sweep(self, opts) -> None:  # type: ignore[no-untyped-def]
        from yingshang.service_items.services import case_sweep

        self.stdout.write(json.dumps(case_sweep(today=opts["today"])))

    def _monitor(self, opts) -> None:  # type: ignore[no-untyped-def]
        from yingshang.core.models import Department
        from yingshang.service_items.selectors import case_monitor

        m = case_monitor(actor=self._actor(opts["username"]))
        keys = ("green", "yellow", "red", "overdue", "paused", "open")
        codes = dict(Department.objects.filter(pk__in={r.department_id for r in m.departments})
                     .values_list("pk", "code"))

        def row(r) -> dict:  # type: ignore[no-untyped-def, type-arg]
            out = {"department": codes.get(r.department_id, ""), "label": r.label, **{k: getattr(r, k) for k in keys}}
            if r.window is not None:
                out["window"] = r.window
            return out

        out = {"today": str(m.today), "yellow_from": str(m.bounds.yellow_from), "green_from": str(m.bounds.green_from),
               "total": {k: getattr(m.total, k) for k in keys}, "departments": [row(r) for r in m.departments]}
        if opts["windows"]:
            out["windows"] = [row(r) for r in m.windows]
        self.stdout.write(json.dumps(out, ensure_ascii=False))
