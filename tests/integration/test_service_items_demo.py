"""The item catalogue and a year of simulated 政务服务 cases for the demo county, and the
``yingshang services`` command (load-catalogue, export/import, sweep, monitor) and the sweep task."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import Counter
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from tests.sequences import ID_BASES, ids_from

from yingshang.core.audit import audit_verify
from yingshang.core.demo import build_demo_county
from yingshang.core.models import AuditRecord, Department, User
from yingshang.service_items import clock, selectors
from yingshang.service_items.demo import build_service_demo, read_catalogue
from yingshang.service_items.models import (
    Bundle,
    Case,
    CaseEvent,
    Correction,
    Material,
    Rating,
    Rectification,
    ServiceItem,
    SupervisionPush,
    TreeNode,
)

TODAY = dt.date(2026, 6, 30)  # a Tuesday
SEED = 5


@pytest.fixture
def demo(db):  # type: ignore[no-untyped-def]
    build_demo_county(enterprises=300, seed=SEED)
    return build_service_demo(seed=SEED, cases=150, today=TODAY)


def test_demo_has_the_catalogue_and_a_year_of_cases(demo: dict[str, Any]) -> None:
    print("\nservice demo (150):", demo)
    data = read_catalogue()
    # the catalogue, with the departments the demo county lacked created under their own names
    assert ServiceItem.objects.count() == len(data["items"]) >= 100
    assert Material.objects.count() == sum(len(i["materials"]) for i in data["items"])
    assert Bundle.objects.count() == len(data["bundles"]) >= 10
    assert TreeNode.objects.filter(tree="enterprise").count() > 10 and TreeNode.objects.filter(tree="personal").exists()
    assert demo["catalogue_departments_created"] == 10
    for d in data["departments"]:
        assert Department.objects.get(code=d["code"]).name == d["name"]
    # handlers and heads in every department that handles items, demo accounts
    for dept_id in set(ServiceItem.objects.values_list("department_id", flat=True)):
        assert User.objects.filter(department_id=dept_id, role="handler", is_demo=True).exists()
        assert User.objects.filter(department_id=dept_id, role="head").exists()
    assert User.objects.filter(username="handler_wjw", is_demo=True).exists()

    assert demo["skipped_steps"] == {}
    assert demo["cases"] >= 150
    statuses = Counter(Case.objects.values_list("status", flat=True))
    assert set(statuses) == set(Case.Status.values), statuses
    assert statuses["delivered"] > 100
    assert 0.45 <= demo["online_share"] <= 0.75
    assert Case.objects.filter(channel="window", applicant_enterprise__isnull=True).exists()  # people at windows
    assert Case.objects.filter(bundle__isnull=False).exists()
    assert Case.objects.filter(promised_days=0, status="delivered", accepted_on=models_f("finished_on")).exists()
    # every monitor colour today
    monitor = selectors.case_monitor(actor=User.objects.get(username="dispatcher"), today=TODAY)
    for colour in clock.COLOURS:
        assert getattr(monitor.total, colour) > 0, (colour, demo["monitor"])
    # the steps of a case's life happened
    kinds = set(CaseEvent.objects.values_list("kind", flat=True))
    assert {"apply", "accept", "reject", "correction_request", "correction_submit", "decide", "deliver", "push",
            "push_ack", "warn", "due", "overdue", "rate", "rect_verify", "rect_answer", "contest",
            "contest_decision"} <= kinds, kinds
    assert Correction.objects.filter(completed_on__isnull=False).exists()
    assert any(ev.data.get("tolerated") for ev in CaseEvent.objects.filter(kind="accept"))  # 容缺受理
    assert SupervisionPush.objects.filter(acknowledged_at__isnull=False).count() > \
        SupervisionPush.objects.filter(acknowledged_at__isnull=True).count()
    # 好差评: mostly good, some bad with rectification, a malicious one voided
    levels = Counter(Rating.objects.values_list("level", flat=True))
    assert levels[5] > levels[1] + levels[2] > 0
    assert {"case_page", "window"} <= set(Rating.objects.values_list("channel", flat=True))
    assert Rectification.objects.count() == Rating.objects.filter(is_bad=True).count()
    assert Rating.objects.filter(voided=True, contest_status="upheld").count() == 1
    assert Rectification.objects.filter(status="voided").count() == 1
    assert Rectification.objects.filter(status="answered").exists()
    # dates are real: nothing after today, the first case within the year
    first = Case.objects.order_by("submitted_at").first()
    assert first is not None and first.submitted_at.date() >= TODAY - dt.timedelta(days=366)
    assert not CaseEvent.objects.filter(at__date__gt=TODAY).exists()
    assert audit_verify().ok


def models_f(name: str) -> Any:
    from django.db.models import F

    return F(name)


def test_same_seed_same_history(db: Any) -> None:
    """The seed alone decides the history: not the row ids (they differ between databases, and between
    two builds on PostgreSQL, whose sequences do not roll back), nor the order rows come back in."""
    build_demo_county(enterprises=300, seed=SEED)

    def history() -> list[Any]:
        cases = list(Case.objects.order_by("submitted_at", "id").values_list(
            "id", "applicant_name", "channel", "status", "due_date", "accepted_on", "finished_on", "item__code",
            "bundle__code"))
        rank = {c[0]: n for n, c in enumerate(cases)}
        return [
            [c[1:] for c in cases],
            sorted((rank[c], kind, at) for c, kind, at in CaseEvent.objects.values_list("case_id", "kind", "at")),
            sorted((rank[c], ch, level, voided) for c, ch, level, voided in Rating.objects.values_list(
                "case_id", "channel", "level", "voided")),
            sorted((rank[c], status, due) for c, status, due in Rectification.objects.values_list(
                "rating__case_id", "status", "due_date")),
        ]

    # the two builds get other ids on purpose, on SQLite too (tests/sequences.py): ``pk % n`` answers
    # differ, and the second build reuses the first one's ids for other rows
    with transaction.atomic():
        with ids_from(ID_BASES[0]):
            build_service_demo(seed=SEED, cases=40, today=TODAY)
        assert Case.objects.order_by("id").values_list("id", flat=True)[0] == ID_BASES[0]
        first = history()
        transaction.set_rollback(True)
    assert not Case.objects.exists()
    with ids_from(ID_BASES[1]):
        build_service_demo(seed=SEED, cases=40, today=TODAY)
    assert Case.objects.order_by("id").values_list("id", flat=True)[0] == ID_BASES[1]
    second = history()
    assert len(first[0]) >= 40 and first[3], "no rectification: the comparison would miss their steps"
    for part, a, b in zip(("cases", "events", "ratings", "rectifications"), first, second, strict=True):
        assert a == b, part


# ------------------------------------------------------------------------------------------- the command


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("services", *args, stdout=out)
    return out.getvalue()


def test_command_load_export_import_sweep_monitor(county: Any, tmp_path: Any) -> None:
    from openpyxl import load_workbook

    from yingshang.service_items import services, tasks

    first = json.loads(run("load-catalogue"))
    data = read_catalogue()
    assert first["items_created"] == len(data["items"]) and first["bundles_created"] == len(data["bundles"])
    assert first["departments_created"] == len(data["departments"]) - 2  # the county had GXJ and SCJG
    assert Department.objects.get(code="WJW").region == county.office.region
    n_audit = AuditRecord.objects.count()
    assert json.loads(run("load-catalogue")) == {}  # idempotent: nothing changed, nothing written
    assert AuditRecord.objects.count() == n_audit
    # a changed file updates only what changed
    data["items"][0]["promised_days"] = 2
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert json.loads(run("load-catalogue", "--json", str(path))) == {"items_updated": 1}
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2", encoding="utf-8")
    with pytest.raises(CommandError):
        run("load-catalogue", "--json", str(bad))
    data["items"][1]["department"] = "NOPE"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CommandError, match="NOPE"):
        run("load-catalogue", "--json", str(path))

    # export, edit, import: the bad row is reported, the good ones kept
    out = tmp_path / "catalogue.xlsx"
    assert "bytes" in run("export-catalogue", str(out))
    wb = load_workbook(out)
    ws = wb["事项"]
    header = [c.value for c in ws[1]]
    ws.cell(row=2, column=header.index("事项名称") + 1, value="改过的名称")
    ws.cell(row=3, column=header.index("承诺时限（工作日）") + 1, value=999)
    wb.save(out)
    report = json.loads(run("import-catalogue", str(out), "--json"))
    assert report["items_updated"] == len(data["items"]) - 1
    assert [(e["sheet"], e["row"], e["field"]) for e in report["errors"]] == [("事项", 3, "promised_days")]
    assert ServiceItem.objects.filter(name="改过的名称").count() == 1
    assert "bad row(s)" in run("import-catalogue", str(out))
    with pytest.raises(CommandError):
        run("import-catalogue", str(tmp_path / "missing.xlsx"))
    with pytest.raises(CommandError):
        run("import-catalogue", str(out), "--as", "handler_a")  # only the office edits the catalogue
    with pytest.raises(CommandError):
        run("export-catalogue", str(out), "--as", "nobody")

    # sweep and monitor over one overdue case; the sweep acts once, however often it runs
    item = ServiceItem.objects.get(code=data["items"][0]["code"])
    handler = User.objects.create_user(username="h_x", role="handler", department=item.department, password="x")
    import time_machine

    with time_machine.travel(dt.datetime(2026, 11, 2, 10, tzinfo=dt.timezone(dt.timedelta(hours=8))), tick=False):
        case = services.case_apply(actor=handler, item=item, applicant_name="王五", applicant_phone="13800000000",
                                   provided={m.pk: None for m in item.materials.all()})
        services.case_accept(actor=handler, case=case)
    with time_machine.travel(dt.datetime(2026, 11, 20, 1, tzinfo=dt.timezone(dt.timedelta(hours=8))), tick=False):
        counts = json.loads(run("sweep"))
        assert counts["overdue"] == 1
        assert json.loads(run("sweep")) == {"warned": 0, "due_today": 0, "overdue": 0, "tolerance_overdue": 0}
        assert tasks.sweep_cases.call()["overdue"] == 0  # the task: the same idempotent sweep
        assert tasks.sweep_cases.enqueue().id
        monitor = json.loads(run("monitor", "--windows"))
        assert monitor["total"]["overdue"] == 1 and monitor["today"] == "2026-11-20"
        assert monitor["departments"][0]["department"] == item.department.code and monitor["windows"]
    assert json.loads(run("sweep", "--today", "2026-11-21"))["overdue"] == 0
