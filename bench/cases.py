"""Service-case benchmark on PostgreSQL: the live monitor (在办件 by time left, per department and
window) over a million cases of which 100,000 are open.

    .venv/bin/python bench/cases.py [--cases 1000000] [--open 100000]
        [--database-url postgres://postgres@127.0.0.1:5432/ys_bench_cases] [--keep]

Steps:
1. A fresh database (``--keep`` reuses the one left by an earlier run and skips to step 2): the
   demo county's organisation and 20,000 enterprises, the item catalogue of
   ``service_items/data/catalogue.json`` (162 items in 22 departments, with their windows), then
   ``--cases`` cases generated in SQL, submitted evenly over the last two calendar years.  The
   newest 2,000 wait for acceptance; the next ``--open`` are open (80 % running, 15 % in 补正, 5 % in
   a special procedure) with due dates around today — 8 % overdue, 5 % due today (red), 12 % with
   one or two working days left (yellow), the rest later (green); the rest have ended (97 %
   delivered, 3 % not accepted).  ``VACUUM ANALYZE`` afterwards, as autovacuum would.
2. ``monitor_ms``: ``selectors.case_monitor`` as the office sees it (every department and window);
   ``monitor_dept_ms``: as the handler of the busiest department — median of 5 after one warm-up.
   ``monitor_api_ms``: ``GET /api/v1/services/monitor`` through Django's test client.
   ``monitor_page_ms``: the monitor page ``/services/monitor/`` rendered through Django, or null
   while that URL does not resolve (``monitor_page`` then says why).

Prints one JSON line: {"cases", "open", "monitor_ms", "monitor_dept_ms", "monitor_api_ms",
"monitor_page_ms", …}.  Target (2 cores): monitor ≤ 300 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/ys_bench_cases"


def recreate_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


GENERATE = """
SELECT setseed(0.42);
CREATE TEMP TABLE bench_items AS
  SELECT row_number() OVER (ORDER BY id) AS n, id, department_id, "window", promised_days
  FROM service_items_serviceitem WHERE active;
CREATE TEMP TABLE bench_ctx AS SELECT
  (SELECT array_agg(id ORDER BY id) FROM enterprises_enterprise) AS ents,
  (SELECT count(*) FROM bench_items) AS n_items,
  (SELECT id FROM core_user WHERE username = 'dispatcher') AS dispatcher;

-- one row per case: its shape, drawn once
CREATE TEMP TABLE bench_gen AS
SELECT i,
       %(n)s - i AS k,  -- 0 = the newest
       1 + floor(random() * c.n_items)::int AS item_n,
       c.ents[1 + floor(random() * array_length(c.ents, 1))::int] AS enterprise_id,
       %(start)s::timestamptz + (%(span)s::interval * (i::float8 / %(n)s)) AS submitted_at,
       random() AS r1, random() AS r2, random() AS r3,
       c.dispatcher
FROM generate_series(1, %(n)s) AS i CROSS JOIN bench_ctx c;

ALTER TABLE bench_gen ADD COLUMN status text, ADD COLUMN due date, ADD COLUMN accepted date;
UPDATE bench_gen SET status = CASE
    WHEN k < 2000 THEN 'submitted'
    WHEN k < 2000 + %(open)s THEN CASE WHEN r1 < 0.80 THEN 'accepted' WHEN r1 < 0.95 THEN 'correcting'
                                       ELSE 'special' END
    WHEN r1 < 0.03 THEN 'rejected'
    ELSE 'delivered' END;
-- open cases: due dates around today, by colour
UPDATE bench_gen SET due = CASE
    WHEN r2 < 0.08 THEN %(today)s::date - (1 + floor(r3 * 20))::int
    WHEN r2 < 0.13 THEN %(today)s::date
    WHEN r2 < 0.25 THEN %(yellow_from)s::date + floor(r3 * %(yellow_span)s)::int
    ELSE %(green_from)s::date + floor(r3 * 25)::int END
  WHERE status IN ('accepted', 'correcting', 'special');
UPDATE bench_gen SET submitted_at = %(now)s::timestamptz - interval '1 day' * (1 + r3 * 30)
  WHERE status IN ('accepted', 'correcting', 'special');
UPDATE bench_gen g SET accepted = CASE
    WHEN g.status IN ('accepted', 'correcting', 'special') THEN least(g.due, g.submitted_at::date)
    WHEN g.status = 'delivered' THEN g.submitted_at::date + 1 END;

INSERT INTO service_items_case (id, number, item_id, bundle_id, applicant_enterprise_id, applicant_user_id,
  applicant_name, applicant_phone, channel, department_id, "window", filed_by_id, handler_id, status, submitted_at,
  accepted_on, promised_days, extension_days, paused_days, paused_since, due_date, due_provisional,
  correction_rounds, finished_on, on_time, used_days, decision, reason, decided_at, delivery_method, delivery_note,
  delivered_at, warned_at, due_notified_at, overdue_at, created_at, updated_at)
SELECT g.i, 'BM' || lpad(g.i::text, 12, '0'), it.id, NULL, g.enterprise_id, NULL, '基准申请人', '13800000000',
  CASE WHEN g.r3 < 0.6 THEN 'online' ELSE 'window' END, it.department_id,
  CASE WHEN g.r3 < 0.6 THEN '' ELSE it."window" END, g.dispatcher,
  CASE WHEN g.status = 'submitted' THEN NULL ELSE g.dispatcher END, g.status, g.submitted_at,
  g.accepted, it.promised_days, 0, 0,
  CASE WHEN g.status IN ('correcting', 'special') THEN %(today)s::date - 2 END,
  CASE WHEN g.status IN ('accepted', 'correcting', 'special') THEN g.due
       WHEN g.status = 'delivered' THEN g.accepted + it.promised_days END,
  false, CASE WHEN g.status = 'correcting' THEN 1 ELSE 0 END,
  CASE WHEN g.status = 'delivered' THEN g.accepted + floor(g.r2 * it.promised_days)::int
       WHEN g.status = 'rejected' THEN g.submitted_at::date END,
  CASE WHEN g.status = 'delivered' THEN g.r2 < 0.97 END,
  CASE WHEN g.status = 'delivered' THEN floor(g.r2 * it.promised_days)::int END,
  CASE WHEN g.status = 'delivered' THEN 'approved' ELSE '' END,
  CASE WHEN g.status = 'rejected' THEN '申请材料不齐全，已一次性告知。' ELSE '' END,
  CASE WHEN g.status = 'delivered' THEN g.submitted_at + interval '1 day' * (1 + g.r2 * it.promised_days) END,
  CASE WHEN g.status = 'delivered' THEN 'electronic' ELSE '' END, '',
  CASE WHEN g.status = 'delivered' THEN g.submitted_at + interval '1 day' * (2 + g.r2 * it.promised_days) END,
  NULL, NULL, NULL, g.submitted_at, g.submitted_at
FROM bench_gen g JOIN bench_items it ON it.n = g.item_n;
SELECT setval(pg_get_serial_sequence('service_items_case', 'id'), %(n)s)
"""


def setup_django(url: str, data_dir: Path) -> None:
    os.environ.update({"DATABASE_URL": url, "YINGSHANG_DATA_DIR": str(data_dir), "YINGSHANG_TASKS": "immediate",
                       "DJANGO_SETTINGS_MODULE": "yingshang.settings", "DEBUG": "0"})
    import django

    django.setup()


def generate(n: int, n_open: int) -> dict[str, float]:
    import datetime as dt

    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from yingshang.core.demo import build_demo_county
    from yingshang.core.models import User
    from yingshang.service_items import clock
    from yingshang.service_items.conf import warn_days
    from yingshang.service_items.demo import load_catalogue

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    build_demo_county(enterprises=20_000, seed=1)
    load_catalogue(actor=User.objects.get(username="dispatcher"))
    t1 = time.perf_counter()
    today = timezone.localdate()
    bounds = clock.colour_bounds(today, warn_days())
    start = dt.datetime(today.year - 1, 1, 1, 8, tzinfo=timezone.get_current_timezone())
    span = f"{(today - start.date()).days - 1} days"
    params = {"n": n, "open": n_open, "start": start, "span": span, "today": today, "now": timezone.now(),
              "yellow_from": bounds.yellow_from, "green_from": bounds.green_from,
              "yellow_span": max(1, (bounds.green_from - bounds.yellow_from).days)}
    with connection.cursor() as cur:
        for stmt in [s.strip() for s in GENERATE.split(";\n") if s.strip()]:
            cur.execute(stmt, params if "%(" in stmt else None)
    connection.close()
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return {"county_s": round(t1 - t0, 1), "generate_s": round(time.perf_counter() - t1, 1)}


def median_ms(fn: Callable[[], object], runs: int = 5) -> float:
    fn()  # warm-up: connections, the calendar cache
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 1)


def busiest_department_handler() -> object:
    from django.db.models import Count

    from yingshang.core.models import Department, Role, User
    from yingshang.core.services import user_create
    from yingshang.service_items.models import OPEN_STATUSES, Case

    top = (Case.objects.filter(status__in=OPEN_STATUSES).values("department_id").annotate(n=Count("id"))
           .order_by("-n").first())
    dept = Department.objects.get(pk=top["department_id"]) if top else Department.objects.exclude(
        is_office=True).first()
    user = User.objects.filter(role=Role.HANDLER, department=dept, is_active=True).first()
    if user is None:
        user = user_create(actor=None, username=f"bench_handler_{dept.code.lower()}", password="Bench@pass2026x",
                           role=Role.HANDLER, department=dept, full_name="基准经办人")
    return user


def measure() -> dict[str, object]:
    from django.test import Client
    from django.urls import Resolver404, resolve

    from yingshang.core.models import User
    from yingshang.service_items.models import OPEN_STATUSES, Case
    from yingshang.service_items.selectors import case_monitor

    office = User.objects.get(username="dispatcher")
    handler = busiest_department_handler()
    out: dict[str, object] = {
        "open": Case.objects.filter(status__in=OPEN_STATUSES).count(),
        "monitor_ms": median_ms(lambda: case_monitor(actor=office)),
        "monitor_dept_ms": median_ms(lambda: case_monitor(actor=handler)),  # type: ignore[arg-type]
        "monitor_dept": handler.department.code,  # type: ignore[attr-defined]
    }
    m = case_monitor(actor=office)
    out["colours"] = {k: getattr(m.total, k) for k in ("green", "yellow", "red", "overdue", "paused")}
    out["monitor_rows"] = {"departments": len(m.departments), "windows": len(m.windows)}

    client = Client()
    client.force_login(office)

    def get(url: str) -> Callable[[], object]:
        def fetch() -> object:
            r = client.get(url)
            assert r.status_code == 200, (url, r.status_code)
            return r

        return fetch

    out["monitor_api_ms"] = median_ms(get("/api/v1/services/monitor"))
    try:
        resolve("/services/monitor/")
    except Resolver404:
        out["monitor_page_ms"] = None
        out["monitor_page"] = "not measured: /services/monitor/ does not resolve yet"
    else:
        out["monitor_page_ms"] = median_ms(get("/services/monitor/"))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--open", type=int, default=100_000)
    ap.add_argument("--database-url", default=DEFAULT_URL)
    ap.add_argument("--keep", action="store_true", help="reuse the database of an earlier run")
    args = ap.parse_args()
    if args.open + 2000 > args.cases:
        raise SystemExit("--open must leave room for 2,000 submitted cases")
    data_dir = Path(tempfile.mkdtemp(prefix="ys-bench-cases-"))
    out: dict[str, object] = {}
    if not args.keep:
        recreate_database(args.database_url)
    setup_django(args.database_url, data_dir)
    if not args.keep:
        out.update(generate(args.cases, args.open))
    from yingshang.service_items.models import Case

    out = {"cases": Case.objects.count(), **measure(), **out}
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
