"""Registry import: mixed good and bad rows, idempotent re-import, crash mid-way, error report."""

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from tests.conftest import make_uscc

from yingshang.core.models import AuditRecord
from yingshang.enterprises import importer
from yingshang.enterprises.models import Enterprise, ImportJob, YearFigure

HEAD = ["统一社会信用代码", "名称", "主体类型", "行业代码", "所属乡镇", "成立日期", "联系电话", "年度", "从业人员",
        "营业收入（万元）", "资产总额（万元）", "高新技术企业"]


def rows(county):
    t = county.town_a.code
    return [
        HEAD,
        [make_uscc(101), "好企业一号有限公司", "企业", "C1711", t, "2015-03-02", "13900000001", 2025, 400, 30000, 20000, "是"],
        [make_uscc(102), "好企业二号", "", "5211", "象湖镇", "2019/7/1", "", 2025, 8, 90, "", "否"],
        [make_uscc(103)[:-1] + "0" if make_uscc(103)[-1] != "0" else make_uscc(103)[:-1] + "1", "坏代码", "", "1711", t, "", "", "", "", "", "", ""],
        [make_uscc(104), "", "", "1711", t, "", "", "", "", "", "", ""],
        [make_uscc(105), "坏行业", "", "A1711", t, "", "", "", "", "", "", ""],
        [make_uscc(106), "坏乡镇", "", "1711", "999999999999", "", "", "", "", "", "", ""],
        [make_uscc(107), "坏数字", "", "1711", t, "", "", 2025, "很多", "", "", ""],
        [make_uscc(108), "坏日期", "", "1711", t, "2019-02-30", "", "", "", "", "", ""],
        [make_uscc(109), "坏标志", "", "1711", t, "", "", "", "", "", "", "也许"],
        [make_uscc(101), "好企业一号有限公司", "企业", "C1711", t, "2015-03-02", "13900000001", 2024, 380, 28000, 19000, "是"],
    ]


def as_csv(data) -> bytes:
    import csv

    buf = io.StringIO()
    csv.writer(buf).writerows(data)
    return buf.getvalue().encode("utf-8-sig")


def as_xlsx(data) -> bytes:
    wb = Workbook()
    ws = wb.active
    for r in data:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_mixed_file_keeps_good_rows_and_reports_every_bad_one(county, fmt):
    data = as_csv(rows(county)) if fmt == "csv" else as_xlsx(rows(county))
    rep = importer.import_enterprises(stream=io.BytesIO(data), name=f"f.{fmt}", actor=county.dispatcher)
    assert rep.rows_total == 10
    assert rep.created == 2 and rep.rejected == 7
    assert sorted((r, f) for r, f, _, _ in rep.errors) == [
        (4, "uscc"), (5, "name"), (6, "industry_code"), (7, "region"), (8, "employees"), (9, "registered_on"),
        (10, "is_high_tech"),
    ]
    one = Enterprise.objects.get(uscc=make_uscc(101))
    assert one.size_class == "中型" and one.above_designated and one.figures_year == 2025 and one.is_high_tech
    assert sorted(one.figures.values_list("year", flat=True)) == [2024, 2025]
    two = Enterprise.objects.get(uscc=make_uscc(102))
    assert two.kind == "company" and two.region == county.town_a and two.size_class == "微型"
    job = ImportJob.objects.get(pk=rep.job_id)
    assert job.status == "done" and job.errors.count() == 7
    # the downloadable error report lists every rejected row
    wb = load_workbook(io.BytesIO(importer.error_report_xlsx(job)))
    assert [r[0] for r in wb.active.iter_rows(min_row=2, values_only=True)] == [4, 5, 6, 7, 8, 9, 10]


def test_reimport_changes_nothing(county):
    data = as_csv(rows(county))
    importer.import_enterprises(stream=io.BytesIO(data), name="a.csv", actor=county.dispatcher)
    before = (Enterprise.objects.count(), YearFigure.objects.count(), AuditRecord.objects.count(),
              list(Enterprise.objects.order_by("pk").values()))
    rep = importer.import_enterprises(stream=io.BytesIO(data), name="a.csv", actor=county.dispatcher)
    assert rep.created == 0 and rep.updated == 0 and rep.unchanged == 2
    after = (Enterprise.objects.count(), YearFigure.objects.count(), AuditRecord.objects.count(),
             list(Enterprise.objects.order_by("pk").values()))
    assert [b for b in before[:3]] == [a for a in after[:3]]
    strip = lambda rs: [{k: v for k, v in r.items() if k != "updated_at"} for r in rs]  # noqa: E731
    assert strip(before[3]) == strip(after[3])


def test_update_changes_size_and_is_audited(county):
    data = rows(county)[:2]
    importer.import_enterprises(stream=io.BytesIO(as_csv(data)), name="a.csv", actor=county.dispatcher)
    data[1] = list(data[1])
    data[1][8] = 1200  # employees
    data[1][9] = 50000  # revenue
    data[1][10] = 30000
    rep = importer.import_enterprises(stream=io.BytesIO(as_csv(data)), name="a.csv", actor=county.dispatcher)
    assert rep.updated == 1
    assert Enterprise.objects.get(uscc=make_uscc(101)).size_class == "大型"
    rec = AuditRecord.objects.filter(action="enterprise.import_update").last()
    assert rec.before == {"size_class": "中型", "above_designated": True, "figures_year": 2025}
    assert rec.after["size_class"] == "大型"


def test_crash_in_a_batch_rolls_back_that_batch_only(county, monkeypatch):
    data = [HEAD] + [[make_uscc(1000 + i), f"企业{i}", "", "1711", county.town_a.code] + [""] * 7 for i in range(25)]
    calls = {"n": 0}
    real = importer._write_batch

    def crashing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(importer, "_write_batch", crashing)
    with pytest.raises(KeyboardInterrupt):
        importer.import_enterprises(stream=io.BytesIO(as_csv(data)), name="a.csv", actor=county.dispatcher,
                                    batch_rows=10)
    assert Enterprise.objects.filter(name__startswith="企业").count() == 20  # the two whole batches before the crash
    monkeypatch.setattr(importer, "_write_batch", real)
    rep = importer.import_enterprises(stream=io.BytesIO(as_csv(data)), name="a.csv", actor=county.dispatcher,
                                      batch_rows=10)
    assert rep.created == 5 and rep.unchanged == 20
    assert Enterprise.objects.filter(name__startswith="企业").count() == 25


def test_not_a_registry_file(county):
    with pytest.raises(ValueError, match="缺少必填列"):
        importer.import_enterprises(stream=io.BytesIO(b"a,b\n1,2\n"), name="x.csv", actor=county.dispatcher)
    with pytest.raises(ValueError, match="XLSX"):
        importer.import_enterprises(stream=io.BytesIO(b"garbage"), name="x.xlsx", actor=county.dispatcher)
    assert ImportJob.objects.filter(status="failed").count() == 2


def test_gbk_csv(county):
    data = "\n".join([",".join(HEAD[:5]), f"{make_uscc(300)},赣南脐橙专业合作社,农民专业合作社,0151,{county.town_b.code}"])
    rep = importer.import_enterprises(stream=io.BytesIO(data.encode("gb18030")), name="g.csv", actor=county.dispatcher)
    assert rep.created == 1
    assert Enterprise.objects.get(uscc=make_uscc(300)).name == "赣南脐橙专业合作社"


@pytest.mark.django_db(transaction=True)
def test_killed_process_leaves_whole_batches_and_can_be_rerun(tmp_path):
    """A real ``yingshang import`` process killed with SIGKILL mid-file."""
    from django.db import connection
    from tests.conftest import build_county

    county = build_county()
    n = 6000
    data = [HEAD[:5]] + [[make_uscc(20000 + i), f"批量企业{i}", "", "1711", county.town_a.code] for i in range(n)]
    path = tmp_path / "big.csv"
    path.write_bytes(as_csv(data))
    env = {**os.environ, "YINGSHANG_IMPORT_BATCH_ROWS": "500"}
    env["DATABASE_URL"] = db_url(connection)
    proc = subprocess.Popen([sys.executable, "-m", "yingshang.manage", "import", "enterprises", str(path)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = Enterprise.objects.filter(name__startswith="批量企业").count()
        if done >= 1000 or proc.poll() is not None:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = Enterprise.objects.filter(name__startswith="批量企业").count()
    assert done % 500 == 0, done  # only whole batches are ever committed
    job = ImportJob.objects.order_by("-pk").first()
    assert job.rows_created == done
    rep = importer.import_enterprises(stream=path.open("rb"), name="big.csv", actor=None)
    assert rep.created == n - done and rep.unchanged == done
    assert Enterprise.objects.filter(name__startswith="批量企业").count() == n


def db_url(connection) -> str:
    s = connection.settings_dict
    if connection.vendor == "postgresql":
        return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    return f"sqlite:///{Path(s['NAME']).resolve()}"
