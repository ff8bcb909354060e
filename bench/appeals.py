"""Appeals benchmark on PostgreSQL: figures over a million appeals, the overdue sweep over 100,000
open ones, and submissions through the API under wrk.

    .venv/bin/python bench/appeals.py [--appeals 1000000] [--open 100000]
        [--database-url postgres://postgres@127.0.0.1:5432/ys_bench_appeals] [--keep]
        [--duration 30] [--connections 2] [--workers 3] [--batch 20]

Steps:
1. A fresh database (``--keep`` reuses the one left by an earlier run and skips to step 2): the
   demo county's organisation and 20,000 enterprises, then ``--appeals`` appeals generated in SQL
   over the last two calendar years (created evenly from 1 January of last year to yesterday),
   with their event rows (submit, dispatch, sign, contact, reply, rate, some returns) and their
   figure rows — the same shapes the services write.  ``--open`` of them are open; one in ten of
   those is past its resolution deadline and not yet marked; 5,000 are answered and waiting for a
   rating, half of them past the rating limit.
2. ``figures_ms``: the figures page grouped by department (``/appeals/figures/``, the default
   period: this calendar year) as the office sees it, rendered through Django — median of 5 after
   one warm-up.  ``figures_all_ms``: the same page over both years.  ``figures_dept_ms``: a
   department head's page.
3. ``sweep_s``: ``appeal_sweep()`` — marks the overdue open appeals, escalates the long-overdue
   ones and closes the unrated — wall time of one run, with the counts it acted on.
4. Submissions: gunicorn (``--workers`` sync workers, production settings) on 127.0.0.1 and wrk
   (``--connections`` connections, 2 threads, ``--duration`` seconds) pushing 12345-hotline tickets
   with unique external ids and a bearer token — first one ticket per request (``POST
   /api/v1/appeals``, every response 201: ``submit_single_rps`` / ``submit_single_p99_ms``), then
   ``--batch`` tickets per request (``POST /api/v1/appeals/batch``, every ticket created:
   ``submit_rps`` in appeals per second and ``submit_p99_ms`` per request).

Prints one JSON line: {"appeals", "figures_ms", "sweep_s", "submit_rps", "submit_p99_ms", …}.
Targets (2 cores): figures ≤ 300 ms, sweep ≤ 2 s, ≥ 300 submissions/s with p99 ≤ 200 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/ys_bench_appeals"


def recreate_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


GENERATE = """
SELECT setseed(0.42);
CREATE TEMP TABLE bench_ents AS SELECT row_number() OVER (ORDER BY id) AS rn, id FROM enterprises_enterprise;
CREATE UNIQUE INDEX ON bench_ents (rn);
CREATE TEMP TABLE bench_ctx AS SELECT
  (SELECT count(*) FROM bench_ents) AS n_ents,
  (SELECT array_agg(id ORDER BY id) FROM core_department WHERE NOT is_office) AS depts,
  (SELECT array_agg(id ORDER BY id) FROM appeals_category WHERE active) AS cats,
  (SELECT id FROM core_user WHERE username = 'dispatcher') AS dispatcher,
  ARRAY['portal','hotline','12345','liaison','visit','meeting']::text[] AS channels;

-- one row per appeal: its shape, drawn once
CREATE TEMP TABLE bench_pick AS
SELECT i, 1 + floor(random() * c.n_ents)::int AS ent_rn FROM generate_series(1, %(n)s) AS i CROSS JOIN bench_ctx c;
CREATE TEMP TABLE bench_gen AS
SELECT p.i,
       %(n)s - p.i AS k,  -- 0 = the newest
       e.id AS enterprise_id,
       c.depts[1 + floor(random() * array_length(c.depts, 1))::int] AS dept_id,
       c.cats[1 + floor(random() * array_length(c.cats, 1))::int] AS category_id,
       c.channels[1 + floor(random() * 6)::int] AS channel,
       %(start)s::timestamptz + (%(span)s::interval * (p.i::float8 / %(n)s)) AS created_at,
       random() AS r1, random() AS r2, random() AS r3, random() AS r4,
       c.dispatcher
FROM bench_pick p JOIN bench_ents e ON e.rn = p.ent_rn CROSS JOIN bench_ctx c;
CREATE UNIQUE INDEX ON bench_gen (i);
ANALYZE bench_gen;

ALTER TABLE bench_gen ADD COLUMN status text, ADD COLUMN rating text, ADD COLUMN resolve_due date,
  ADD COLUMN rate_due date, ADD COLUMN closed_at timestamptz, ADD COLUMN replied_at timestamptz;
UPDATE bench_gen SET status = CASE
    WHEN k < 2000 THEN 'submitted'
    WHEN k < 2000 + %(open)s THEN CASE WHEN r1 < 0.2 THEN 'dispatched' ELSE 'handling' END
    WHEN k < 7000 + %(open)s THEN 'replied'
    ELSE 'closed' END;
UPDATE bench_gen SET
  resolve_due = CASE WHEN status IN ('dispatched', 'handling') THEN
      CASE WHEN r2 < 0.1 THEN %(today)s::date - (1 + floor(r3 * 20))::int ELSE %(today)s::date + floor(r3 * 10)::int END
    ELSE (created_at + interval '14 days')::date END,
  replied_at = CASE WHEN status IN ('replied', 'closed') THEN created_at + (interval '1 day' * (2 + r3 * 12)) END,
  rating = CASE WHEN status <> 'closed' THEN ''
    WHEN r4 < 0.75 THEN 'satisfied' WHEN r4 < 0.90 THEN 'basic' WHEN r4 < 0.94 THEN 'unsatisfied'
    ELSE 'unrated' END;
UPDATE bench_gen SET
  rate_due = CASE WHEN status = 'replied' THEN
      CASE WHEN r2 < 0.5 THEN %(today)s::date - 2 ELSE %(today)s::date + 3 END
    ELSE (replied_at + interval '7 days')::date END,
  closed_at = CASE WHEN status = 'closed' THEN replied_at + (interval '1 day' * (1 + r2 * 5)) END;
UPDATE bench_gen SET replied_at = %(today)s::timestamptz - interval '3 days', created_at = %(today)s::timestamptz
  - interval '10 days' WHERE status = 'replied';

INSERT INTO appeals_appeal (id, number, enterprise_id, contact_name, contact_phone, channel, caller,
  meeting_id, external_system, external_id, category_id, title, content, urgency, show_name, filed_by_id,
  status, responsible_leader_id, commissioner_id, lead_department_id, handler_id, dispatched_at, sign_due,
  signed_at, contact_due, contacted_at, clock_start, resolve_days, resolve_due, due_provisional, replied_at,
  rate_due, closed_at, overdue_at, escalated_at, result, reply, explanation, rating, rating_comment, rated_at,
  reopen_count, return_count, merged_into_id, created_at, updated_at, version)
SELECT i, 'BM' || lpad(i::text, 10, '0'), enterprise_id, '联系人', '13800000000', channel, '', NULL, '', '',
  category_id, '基准诉求' || i, '企业反映：厂区供电线路老化，请协调供电部门检修。', 'normal', false, dispatcher,
  status, NULL, NULL, CASE WHEN status = 'submitted' THEN NULL ELSE dept_id END, NULL,
  CASE WHEN status <> 'submitted' THEN created_at + interval '1 hour' END,
  (created_at + interval '1 day')::date,
  CASE WHEN status NOT IN ('submitted', 'dispatched') THEN created_at + interval '3 hours' END,
  (created_at + interval '1 day')::date,
  CASE WHEN status NOT IN ('submitted', 'dispatched') THEN created_at + interval '1 day' END,
  created_at::date, 10, CASE WHEN status <> 'submitted' THEN resolve_due END, false, replied_at,
  CASE WHEN status IN ('replied', 'closed') THEN rate_due END, closed_at, NULL, NULL,
  CASE WHEN status IN ('replied', 'closed') THEN CASE WHEN r1 < 0.85 THEN 'resolved' ELSE 'partial' END ELSE '' END,
  CASE WHEN status IN ('replied', 'closed') THEN '已协调解决。' ELSE '' END,
  CASE WHEN status IN ('replied', 'closed') AND r1 >= 0.85 THEN '已按政策答复，其余事项列入计划。' ELSE '' END,
  rating, '', CASE WHEN rating IN ('satisfied', 'basic', 'unsatisfied') THEN closed_at END,
  0, 0, NULL, created_at, created_at, 0
FROM bench_gen;
SELECT setval(pg_get_serial_sequence('appeals_appeal', 'id'), %(n)s);

INSERT INTO appeals_appealevent (appeal_id, kind, from_status, to_status, actor_id, department_id, at, text,
                                 internal, data)
SELECT i, e.kind, e.frm, e.to_status, dispatcher, NULL, e.at, '', false, e.data
FROM bench_gen g CROSS JOIN LATERAL (VALUES
  ('submit', '', 'submitted', g.created_at, '{}'::jsonb, true),
  ('return', 'dispatched', 'returned', g.created_at + interval '30 minutes', '{}'::jsonb,
     g.status <> 'submitted' AND g.r4 > 0.98),
  ('dispatch', 'submitted', 'dispatched', g.created_at + interval '1 hour',
     jsonb_build_object('lead_id', g.dept_id), g.status <> 'submitted'),
  ('sign', 'dispatched', 'handling', g.created_at + interval '3 hours', '{"on_time": true}'::jsonb,
     g.status NOT IN ('submitted', 'dispatched')),
  ('contact', 'handling', 'handling', g.created_at + interval '1 day',
     jsonb_build_object('first', true, 'on_time', g.r2 < 0.93), g.status NOT IN ('submitted', 'dispatched')),
  ('reply', 'handling', 'replied', g.replied_at,
     jsonb_build_object('result', CASE WHEN g.r1 < 0.85 THEN 'resolved' ELSE 'partial' END,
                        'on_time', g.replied_at::date <= g.resolve_due), g.status IN ('replied', 'closed')),
  ('rate', 'replied', CASE WHEN g.rating = 'unsatisfied' THEN 'review' ELSE 'closed' END, g.closed_at,
     jsonb_build_object('rating', g.rating), g.status = 'closed' AND g.rating <> 'unrated'),
  ('review_close', 'review', 'closed', g.closed_at + interval '1 hour', '{}'::jsonb,
     g.status = 'closed' AND g.rating = 'unsatisfied'),
  ('close_unrated', 'replied', 'closed', g.closed_at, '{}'::jsonb, g.status = 'closed' AND g.rating = 'unrated')
) AS e(kind, frm, to_status, at, data, present)
WHERE e.present;
UPDATE appeals_appealevent ev SET department_id = g.dept_id FROM bench_gen g
  WHERE ev.kind = 'return' AND ev.appeal_id = g.i;
UPDATE appeals_appeal a SET return_count = 1 FROM appeals_appealevent ev
  WHERE ev.kind = 'return' AND ev.appeal_id = a.id;

INSERT INTO appeals_appealstat (appeal_id, department_id, category_id, channel, township_id, merged, received_on,
  signed_in_time_on, contacted_in_time_on, closed_on, reopened_on, late_reply, last_result, closed_on_time, resolved,
  satisfied, rated, unrated, close_workdays)
SELECT g.i, CASE WHEN g.status = 'submitted' THEN NULL ELSE g.dept_id END, g.category_id, g.channel,
  CASE WHEN r.level = 'village' THEN r.parent_id ELSE r.id END, false, g.created_at::date,
  CASE WHEN g.status NOT IN ('submitted', 'dispatched') THEN (g.created_at + interval '3 hours')::date END,
  CASE WHEN g.status NOT IN ('submitted', 'dispatched') AND g.r2 < 0.93 THEN (g.created_at + interval '1 day')::date END,
  CASE WHEN g.status = 'closed' THEN (g.closed_at + CASE WHEN g.rating = 'unsatisfied' THEN interval '1 hour'
                                                      ELSE interval '0' END)::date END,
  NULL, coalesce(g.replied_at::date > g.resolve_due, false),
  CASE WHEN g.status IN ('replied', 'closed') THEN CASE WHEN g.r1 < 0.85 THEN 'resolved' ELSE 'partial' END ELSE '' END,
  g.status = 'closed' AND g.replied_at::date <= g.resolve_due,
  g.status = 'closed' AND g.r1 < 0.85,
  g.status = 'closed' AND g.rating IN ('satisfied', 'basic'),
  g.status = 'closed' AND g.rating <> 'unrated',
  g.status = 'closed' AND g.rating = 'unrated',
  CASE WHEN g.status = 'closed' THEN greatest(0, round((g.closed_at::date - g.created_at::date) * 5.0 / 7))::int END
FROM bench_gen g JOIN enterprises_enterprise ent ON ent.id = g.enterprise_id JOIN core_region r ON r.id = ent.region_id;
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

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    build_demo_county(enterprises=20_000, seed=1)
    t1 = time.perf_counter()
    today = timezone.localdate()
    start = dt.datetime(today.year - 1, 1, 1, 8, tzinfo=timezone.get_current_timezone())
    span = f"{(today - start.date()).days - 1} days"
    params = {"n": n, "open": n_open, "start": start, "span": span, "today": today}
    with connection.cursor() as cur:
        for stmt in [s.strip() for s in GENERATE.split(";\n") if s.strip()]:
            cur.execute(stmt, params if "%(" in stmt else None)
    connection.close()
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return {"county_s": round(t1 - t0, 1), "generate_s": round(time.perf_counter() - t1, 1)}


def time_page(client, url: str, runs: int = 5) -> float:  # type: ignore[no-untyped-def]
    r = client.get(url)
    assert r.status_code == 200, (url, r.status_code)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        r = client.get(url)
        times.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200
    return round(statistics.median(times), 1)


def measure_figures() -> dict[str, float]:
    import datetime as dt

    from django.test import Client
    from django.utils import timezone

    from yingshang.core.models import User

    today = timezone.localdate()
    office, head = Client(), Client()
    office.force_login(User.objects.get(username="dispatcher"))
    head.force_login(User.objects.get(username="head_gxj"))
    whole = f"?group_by=department&from={dt.date(today.year - 1, 1, 1)}&to={today}"
    return {"figures_ms": time_page(office, "/appeals/figures/"),
            "figures_all_ms": time_page(office, "/appeals/figures/" + whole),
            "figures_dept_ms": time_page(head, "/appeals/figures/")}


def measure_sweep() -> dict[str, object]:
    from yingshang.appeals.models import Appeal
    from yingshang.appeals.services import OPEN_STATUSES, appeal_sweep

    open_n = Appeal.objects.filter(status__in=OPEN_STATUSES).count()
    t = time.perf_counter()
    counts = appeal_sweep()
    return {"sweep_s": round(time.perf_counter() - t, 2), "sweep_open": open_n, "sweep_counts": counts}


WRK_SCRIPT = """
local token = os.getenv("BENCH_TOKEN")
local run = os.getenv("BENCH_RUN")
local batch = tonumber(os.getenv("BENCH_BATCH"))
local usccs = {}
for code in string.gmatch(os.getenv("BENCH_USCCS"), "[^,]+") do table.insert(usccs, code) end
local next_id = 1
function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
end
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
local function ticket()
  counter = counter + 1
  return string.format(
    '{"enterprise_uscc":"%s","category_code":"07","channel":"12345","title":"12345工单 %d-%d",' ..
    '"content":"企业来电反映：园区道路破损影响货车通行，请尽快维修。","contact_name":"张先生",' ..
    '"contact_phone":"13800138000","external_system":"12345","external_id":"%s-%d-%d"}',
    usccs[(counter % #usccs) + 1], tid, counter, run, tid, counter)
end
request = function()
  if batch == 0 then
    return wrk.format(nil, "/api/v1/appeals", nil, ticket())
  end
  local items = {}
  for i = 1, batch do items[i] = ticket() end
  return wrk.format(nil, "/api/v1/appeals/batch", nil, '{"items":[' .. table.concat(items, ",") .. ']}')
end
local bad = 0
response = function(status, headers, body)
  local ok = (batch == 0 and status == 201) or (batch > 0 and status == 200 and
    string.find(body, '"created": ' .. batch .. ',', 1, true))
  if not ok then
    bad = bad + 1
    if bad < 3 then print("BAD", status, string.sub(body, 1, 300)) end
  end
end
done = function(summary, latency, requests)
  local errs = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  io.write(string.format('WRK {"requests": %d, "seconds": %.3f, "p50_ms": %.1f, "p99_ms": %.1f, "errors": %d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000, errs))
end
"""


def _wrk(script: Path, env: dict[str, str], port: int, connections: int, duration: int) -> dict[str, float]:
    subprocess.run(["wrk", "-t2", f"-c{connections}", "-d3s", "-s", str(script), f"http://127.0.0.1:{port}"],
                   env={**env, "BENCH_RUN": env["BENCH_RUN"] + "w"}, capture_output=True,
                   check=True)  # warm-up: connections, caches
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script),
                          f"http://127.0.0.1:{port}"], env=env, capture_output=True, text=True, check=True)
    if "BAD" in out.stdout:
        raise SystemExit("unexpected responses:\n" + out.stdout)
    line = next(x for x in out.stdout.splitlines() if x.startswith("WRK "))
    return json.loads(line[4:])


def measure_submit(url: str, duration: int, connections: int, workers: int, batch: int,
                   data_dir: Path) -> dict[str, object]:
    from yingshang.appeals.models import Appeal
    from yingshang.core.models import User
    from yingshang.core.services import api_token_create
    from yingshang.enterprises.models import Enterprise

    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    security = User.objects.get(username="security")
    _tok, token = api_token_create(actor=security, user=User.objects.get(username="dispatcher"),
                                   name=f"bench {time.time():.0f}")
    usccs = list(Enterprise.objects.filter(status="active").values_list("uscc", flat=True)[:500])
    port = 8765
    env = {**os.environ, "YINGSHANG_MODE": "production", "DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(48),
           "YINGSHANG_DEMO_ACCOUNTS": "0", "YINGSHANG_TASKS": "database", "LOG_LEVEL": "WARNING",
           "DATABASE_URL": url, "YINGSHANG_DATA_DIR": str(data_dir)}
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "yingshang.wsgi", "-w", str(workers), "-b", f"127.0.0.1:{port}",
         "--log-level", "warning"], env=env, cwd=ROOT / "src", start_new_session=True)
    out: dict[str, object] = {}
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/appeals/categories", timeout=1)
            except urllib.error.HTTPError:
                break  # up (401 without a token)
            except Exception:
                time.sleep(0.2)
        script = data_dir / "submit.lua"
        script.write_text(WRK_SCRIPT)
        for label, size in (("single", 0), ("batch", batch)):
            before = Appeal.objects.count()
            wenv = {**os.environ, "BENCH_TOKEN": token, "BENCH_RUN": f"{label}{time.time():.0f}",
                    "BENCH_USCCS": ",".join(usccs), "BENCH_BATCH": str(size)}
            w = _wrk(script, wenv, port, connections, duration)
            per = max(size, 1)
            out[label] = {"appeals_per_s": round(w["requests"] * per / w["seconds"], 1),
                          "requests_per_s": round(w["requests"] / w["seconds"], 1), "p50_ms": w["p50_ms"],
                          "p99_ms": w["p99_ms"], "errors": w["errors"], "batch": size,
                          "created": Appeal.objects.count() - before}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    return {"submit_rps": out["batch"]["appeals_per_s"], "submit_p99_ms": out["batch"]["p99_ms"],  # type: ignore[index]
            "submit_single_rps": out["single"]["appeals_per_s"],  # type: ignore[index]
            "submit_single_p99_ms": out["single"]["p99_ms"], "submit_detail": out,  # type: ignore[index]
            "connections": connections, "workers": workers}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--appeals", type=int, default=1_000_000)
    ap.add_argument("--open", type=int, default=100_000)
    ap.add_argument("--database-url", default=DEFAULT_URL)
    ap.add_argument("--keep", action="store_true", help="reuse the database of an earlier run")
    ap.add_argument("--duration", type=int, default=30)
    ap.add_argument("--connections", type=int, default=2)
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--batch", type=int, default=20, help="tickets per batch push")
    args = ap.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="ys-bench-appeals-"))
    out: dict[str, object] = {"appeals": args.appeals}
    if not args.keep:
        recreate_database(args.database_url)
    setup_django(args.database_url, data_dir)
    if not args.keep:
        out.update(generate(args.appeals, args.open))
    from yingshang.appeals.models import Appeal

    out["appeals"] = Appeal.objects.count()
    out.update(measure_figures())
    out.update(measure_sweep())
    out.update(measure_submit(args.database_url, args.duration, args.connections, args.workers, args.batch,
                              data_dir))
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
