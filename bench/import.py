"""Import benchmark: generate N registry rows as XLSX and import them into a fresh database.

    .venv/bin/python bench/import.py --rows 100000 [--database-url postgres://…]

Prints one JSON line: {"rows", "rows_per_s", "peak_mb", …}.  ``peak_mb`` is the importing
process's maximum resident set size (Python and Django included); the XLSX parser runs in a helper
process whose own peak is ``reader_process_peak_mb``.  Target: ≥ 3,000 rows/s, ≤ 300 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))


def generate(path: Path, rows: int, township_codes: list[str], seed: int = 1) -> None:
    from openpyxl import Workbook

    from yingshang.enterprises import industries, uscc

    rng = random.Random(seed)
    classes = [i.code for i in industries.all_classes()]
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("市场主体")
    ws.append(["统一社会信用代码", "名称", "行业代码", "所属乡镇", "成立日期", "法定代表人", "联系电话", "年度",
               "从业人员", "营业收入（万元）", "资产总额（万元）", "纳税额（万元）", "高新技术企业"])
    for i in range(rows):
        code = uscc.make("91" + "360781" + uscc.make_org_code(f"{50_000_000 + i:08d}"))
        ws.append([code, f"基准测试企业{i}有限公司", rng.choice(classes), rng.choice(township_codes),
                   f"{rng.randint(1995, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}", "王五",
                   f"139{rng.randint(0, 99999999):08d}", 2025, rng.randint(1, 2000),
                   round(rng.lognormvariate(5, 2), 2), round(rng.lognormvariate(5, 2), 2),
                   round(rng.lognormvariate(2, 2), 2), "否" if rng.random() > 0.02 else "是"])
    wb.save(path)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--database-url", default="")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ys-bench-"))
    os.environ["YINGSHANG_DATA_DIR"] = str(tmp)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yingshang.settings")
    os.environ["YINGSHANG_TASKS"] = "immediate"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "postgresql":  # a fresh database on the server
        import psycopg

        s = connection.settings_dict
        with psycopg.connect(host=s["HOST"], port=s["PORT"] or 5432, user=s["USER"], dbname="postgres",
                             autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{s["NAME"]}"')
            admin.execute(f'CREATE DATABASE "{s["NAME"]}"')
    call_command("migrate", verbosity=0)
    from tests.conftest import build_county

    build_county()
    from yingshang.core.models import Region

    towns = list(Region.objects.filter(level="township").values_list("code", flat=True))
    path = tmp / "bench.xlsx"
    generate(path, args.rows, towns)
    from yingshang.enterprises import importer

    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    rep = importer.import_file(path, actor=None)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert rep.created == args.rows, rep.as_dict()
    start2 = time.perf_counter()
    rep2 = importer.import_file(path, actor=None)
    again = time.perf_counter() - start2
    assert rep2.created == 0 and rep2.updated == 0
    print(json.dumps({
        "rows": args.rows, "rows_per_s": round(args.rows / elapsed), "peak_mb": round(peak),
        "reader_process_peak_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
        "rss_before_import_mb": round(base_rss), "seconds": round(elapsed, 1),
        "reimport_rows_per_s": round(args.rows / again), "database": connection.vendor,
        "file_mb": round(path.stat().st_size / 1e6, 1),
    }))


if __name__ == "__main__":
    main()
