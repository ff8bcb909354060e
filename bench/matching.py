"""Matching-engine benchmark on PostgreSQL: a registry of N market entities, K realistic benefit items
(2–8 conditions each), the full matching run and its parts.

    .venv/bin/python bench/matching.py [--enterprises 1000000] [--items 100] [--seed 1]
        [--database-url postgres://postgres@127.0.0.1:5432/ys_bench_matching] [--keep]

Steps:
1. A fresh database (``--keep`` reuses the registry of an earlier run and only clears the policy
   tables; the figures steps 4 and 5 change are put back at the end of every run): the demo county's organisation (regions, departments, parks, accounts) and N market
   entities with three years of figures, generated in SQL (kinds, industries weighted like a county's
   registry, townships, parks, flags, log-normal revenue/assets/taxes/R&D, employees and layoffs;
   size class and 四上 derived by a simplified rule).  The 20 accounts' enterprises are the demo's.
2. K benefit items under one document, published through the services, each with a rule built from
   one of twelve policy templates (稳岗返还, 规上工业增长奖励, 高企认定奖励, 研发补助, 个体纾困 …) with
   random thresholds, padded with further conditions to 2–8, and an amount formula.
3. ``full_s``: ``matching.match_all()`` on the empty match table — load the registry as columns,
   evaluate every item, persist every pair (COPY) — with ``load_s`` / ``eval_s`` / ``persist_s`` from
   its report; ``pairs`` the pairs found.  ``rerun_s``: the same run again (nothing changed: writes
   nothing, ``rerun_written`` = 0).  ``change_s``: after 1 % of the registry's latest figures and one
   item's rule changed, a full run that writes only the differences (``change_written``).
4. ``eval_s``: evaluation alone (all items over the loaded columns, vectorised), best of three.
5. ``one_enterprise_ms`` / ``one_enterprise_p95_ms``: ``rematch_enterprises([id])`` — load one
   enterprise, evaluate it against every item, diff and write — mean and 95th percentile over 50
   enterprises whose figures just changed.
6. ``simulate_s``: ``simulate()`` of one draft rule and amount formula over the registry (the
   registry columns cached by the engine, as a long-running worker has them); ``simulate_cold_s``
   the same with the cache dropped (the columns the draft needs read from the database first);
   ``simulate_fresh_s`` the first simulation of two new processes (a new gunicorn worker), Django's
   setup and first connection not counted (``fresh_setup_s`` the latter).  Nothing is pre-warmed.
7. ``naive_s``: one Python call per enterprise per rule (the scalar interpreter) on a 10,000-entity
   sample, scaled to N.
8. ``peak_mb``: the process's maximum resident set size.

Prints one JSON line: {"enterprises", "items", "full_s", "eval_s", "pairs", "one_enterprise_ms",
"one_enterprise_p95_ms", "simulate_s", "simulate_cold_s", "simulate_fresh_s", "naive_s", "peak_mb", …}.
Targets (2 cores, N = 1,000,000, K = 100): full ≤ 15 s, evaluation ≤ 3 s, one enterprise ≤ 20 ms (p95
too), simulation ≤ 1 s (cold too), memory ≤ 4 GB.  ``machine_before`` / ``machine_after``: the load
average, since other work on the machine shows in every figure.
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
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/ys_bench_matching"
REFERENCE_YEAR = 2026  # figures.x.last = 2025


def recreate_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(url: str, data_dir: Path) -> None:
    # tasks are queued, not run: the bench calls the engine itself
    os.environ.update({"DATABASE_URL": url, "YINGSHANG_DATA_DIR": str(data_dir), "YINGSHANG_TASKS": "database",
                       "DJANGO_SETTINGS_MODULE": "yingshang.settings", "DEBUG": "0"})
    import django

    django.setup()


# Industry sections weighted roughly like a county's registry (individual businesses are mostly retail
# and catering); classes drawn uniformly within a section.
SECTION_WEIGHTS = {"F": 38, "H": 11, "O": 9, "C": 12, "E": 4, "A": 5, "G": 4, "I": 3, "L": 5, "M": 3, "R": 2,
                   "K": 1, "P": 1, "Q": 1, "N": 1}

GENERATE = """
SELECT setseed(%(seed)s);
CREATE TEMP TABLE bench_ctx AS SELECT
  (SELECT array_agg(id ORDER BY id) FROM core_region WHERE level IN ('township', 'village')) AS regions,
  (SELECT array_agg(id ORDER BY id) FROM core_park) AS parks,
  %(classes)s::text[] AS classes;
CREATE TEMP TABLE bench_e AS
SELECT i, random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5, random() AS r6,
       sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS z
FROM generate_series(1, %(n)s) AS i;
INSERT INTO enterprises_enterprise (uscc, name, kind, status, legal_rep, legal_rep_id_number, registered_on,
  registered_capital_wan, industry_code, address, contact_name, contact_phone, is_high_tech, is_specialized,
  has_construction_qualification, size_class, above_designated, figures_year, created_at, updated_at, park_id,
  region_id)
SELECT 'BM' || lpad(e.i::text, 16, '0'), '基准市场主体' || e.i,
  CASE WHEN e.r1 < 0.60 THEN 'individual' WHEN e.r1 < 0.95 THEN 'company' ELSE 'cooperative' END,
  CASE WHEN e.r2 < 0.95 THEN 'active' ELSE 'closed' END, '', '',
  CASE WHEN e.r3 < 0.97 THEN DATE '1995-01-01' + floor(e.r4 * 11300)::int END,
  CASE WHEN e.r5 < 0.9 THEN round((exp(3.5 + 1.8 * e.z))::numeric, 2) END,
  c.classes[1 + floor(e.r6 * array_length(c.classes, 1))::int], '', '', '',
  random() < 0.03, random() < 0.02, random() < 0.01, '', false, NULL, now(), now(),
  CASE WHEN random() < 0.25 THEN c.parks[1 + floor(random() * array_length(c.parks, 1))::int] END,
  c.regions[1 + floor(random() * array_length(c.regions, 1))::int]
FROM bench_e e CROSS JOIN bench_ctx c;
CREATE TEMP TABLE bench_f AS
SELECT e.id, e.kind, sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS z,
       random() < 0.88 AS has_figures
FROM enterprises_enterprise e WHERE e.uscc LIKE 'BM%%';
INSERT INTO enterprises_yearfigure (enterprise_id, year, employees, revenue_wan, assets_wan, taxes_wan, rd_wan,
  unemployment_insurance_wan, layoffs)
SELECT f.id, y.year, emp,
  CASE WHEN random() < 0.95 THEN round((rev * (1 + 0.15 * (random() - 0.4)) ^ (2025 - y.year))::numeric, 2) END,
  CASE WHEN random() < 0.9 THEN round((rev * (0.5 + random()))::numeric, 2) END,
  CASE WHEN random() < 0.9 THEN round((rev * 0.03 * random())::numeric, 2) END,
  CASE WHEN random() < 0.7 THEN round((rev * 0.05 * random() * random())::numeric, 2) END,
  CASE WHEN random() < 0.85 THEN round((emp * 0.012 * (0.5 + random()))::numeric, 4) END,
  CASE WHEN random() < 0.8 THEN floor(emp * 0.08 * random() * random())::int END
FROM (SELECT id, z, has_figures,
             CASE WHEN kind = 'individual' THEN 1 + floor(exp(0.6 + 0.8 * z))::int
                  ELSE 1 + floor(exp(2.6 + 1.3 * z))::int END AS emp,
             CASE WHEN kind = 'individual' THEN exp(3.0 + 1.1 * z) ELSE exp(5.0 + 1.9 * z) END AS rev
      FROM bench_f) f
CROSS JOIN (VALUES (2023), (2024), (2025)) AS y(year)
WHERE f.has_figures AND (y.year = 2025 OR random() < 0.92);
UPDATE enterprises_enterprise e SET figures_year = 2025,
  size_class = CASE WHEN y.employees IS NULL OR y.revenue_wan IS NULL THEN ''
    WHEN y.employees >= 1000 AND y.revenue_wan >= 40000 THEN '大型'
    WHEN y.employees >= 300 AND y.revenue_wan >= 2000 THEN '中型'
    WHEN y.employees >= 20 AND y.revenue_wan >= 300 THEN '小型' ELSE '微型' END,
  above_designated = coalesce(y.revenue_wan >= 2000, false)
FROM enterprises_yearfigure y WHERE y.enterprise_id = e.id AND y.year = 2025 AND e.uscc LIKE 'BM%%';
"""


def industry_sample(rng: random.Random, size: int = 2000) -> list[str]:
    from yingshang.enterprises import industries

    by_section: dict[str, list[str]] = {}
    for cls in industries.all_classes():
        by_section.setdefault(industries.section_of(cls.code) or "", []).append(cls.code)
    sections = list(SECTION_WEIGHTS)
    weights = [SECTION_WEIGHTS[s] for s in sections]
    return [rng.choice(by_section[rng.choices(sections, weights)[0]]) for _ in range(size)]


def generate(n: int, seed: int) -> dict[str, float]:
    from django.core.management import call_command
    from django.db import connection

    from yingshang.core.demo import build_demo_county

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    build_demo_county(enterprises=200, seed=1)
    t1 = time.perf_counter()
    params = {"n": n, "seed": (seed % 1000) / 1000, "classes": industry_sample(random.Random(seed))}
    with connection.cursor() as cur:
        for stmt in [s.strip() for s in GENERATE.split(";\n") if s.strip()]:
            cur.execute(stmt, params if "%(" in stmt else None)
    connection.close()
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return {"county_s": round(t1 - t0, 1), "generate_s": round(time.perf_counter() - t1, 1)}


# --------------------------------------------------------------------------------------------- rules


def V(key: str) -> dict[str, Any]:
    return {"var": key}


REV, EMP, TAX, RD, UI, LAY = (f"figures.{f}.last" for f in ("revenue_wan", "employees", "taxes_wan", "rd_wan",
                                                          "unemployment_insurance_wan", "layoffs"))


def templates(rng: random.Random, towns: list[str], parks: list[int], code: str) -> list[tuple[str, str, list[Any], Any]]:
    """(name, mode, conditions, amount formula in 万元) of twelve kinds of county benefit items."""
    c = rng.choice
    return [
        ("稳岗返还", "auto_grant", [{"in": [V("kind"), ["company", "cooperative"]]}, {"==": [V("status"), "active"]},
                                 {"<=": [{"/": [V(LAY), V(EMP)]}, c([0.03, 0.055])]}, {">": [V(UI), 0]}],
         {"min": [{"*": [0.6, V(UI)]}, 50]}),
        ("规上工业企业增长奖励", "auto_grant", [{"prefix": [V("industry_code"), ["C"]]}, V("above_designated"),
                                      {">=": [V(REV), {"*": [c([1.1, 1.15, 1.2]), V("figures.revenue_wan.y-2")]}]}],
         {"if": [{">=": [V(REV), 50000]}, 50, {">=": [V(REV), 10000]}, 20, 10]}),
        ("高新技术企业认定奖励", "instant", [V("is_high_tech"), {"==": [V("status"), "active"]},
                                    {">=": [V("years_registered"), 1]}, {"!": V(f"payouts.item.{code}")}], 10),
        ("研发投入补助", "apply_review", [{">=": [{"sum_years": ["rd_wan", 3]}, c([30, 50, 100])]},
                                     {">=": [{"/": [V(RD), V(REV)]}, c([0.02, 0.03])]},
                                     {"prefix": [V("industry_code"), ["C", "I", "M"]]}],
         {"min": [{"*": [0.1, V(RD)]}, 50]}),
        ("个体工商户纾困补贴", "auto_grant", [{"==": [V("kind"), "individual"]}, {"==": [V("status"), "active"]},
                                     {"in": [V("township"), rng.sample(towns, min(len(towns), c([3, 6, 10])))]},
                                     {"<=": [V(REV), c([50, 100])]}], 0.2),
        ("小微企业吸纳就业社保补贴", "instant", [{"in": [V("size_class"), ["小型", "微型"]]}, {">=": [V(EMP), c([3, 5])]},
                                        {">": [V(UI), 0]}, {">=": [V("years_registered"), 1]}],
         {"min": [{"*": [0.05, V(EMP)]}, 5]}),
        ("纳税贡献奖励", "auto_grant", [{">=": [{"count_years": ["taxes_wan", 3, {">": [V(""), c([50, 100])]}]}, 2]},
                                  {"==": [V("kind"), "company"]}], {"min": [{"*": [0.01, V(TAX)]}, 30]}),
        ("园区新办企业房租补贴", "apply_review", [{"in": [V("park"), rng.sample(parks, min(len(parks), 2))]},
                                       {"<=": [V("years_registered"), 3]}, {"==": [V("kind"), "company"]},
                                       {">=": [V("registered_capital_wan"), c([50, 100])]}], 5),
        ("专精特新企业奖励", "instant", [V("is_specialized"), {">=": [V(REV), c([500, 1000])]}], 20),
        ("建筑业企业发展奖励", "auto_grant", [V("has_construction_qualification"), {"prefix": [V("industry_code"), ["E"]]},
                                     {">=": [V(REV), 300]}], 10),
        ("限上商贸企业奖励", "auto_grant", [{"prefix": [V("industry_code"), ["F"]]}, V("above_designated"),
                                    {">=": [V(REV), {"*": [1.05, V("figures.revenue_wan.y-2")]}]}], 5),
        ("住宿餐饮企业消费提振补贴", "instant", [{"prefix": [V("industry_code"), ["H"]]}, {"<=": [5, V(EMP), 200]},
                                        {">=": [V(TAX), 1]}], 1),
    ]


def padding(rng: random.Random, towns: list[str]) -> dict[str, Any]:
    c = rng.choice
    return c([
        {"==": [V("status"), "active"]},
        {"!=": [V("kind"), "individual"]},
        {">=": [V("years_registered"), c([1, 2, 3, 5])]},
        {">=": [V("registered_capital_wan"), c([10, 50, 100, 500])]},
        {"in": [V("township"), rng.sample(towns, min(len(towns), c([5, 10, 15])))]},
        {"in": [V("size_class"), c([["小型", "微型"], ["中型", "小型", "微型"], ["大型", "中型", "小型"]])]},
        {"<=": [c([1, 3, 5]), V(EMP), c([300, 1000])]},
        {">=": [V(TAX), c([0.5, 1, 5])]},
        {">=": [V(REV), c([10, 50, 200, 500])]},
        {">": [V("figures.assets_wan.last"), c([20, 100, 500])]},
        {"!": V("is_high_tech")},
        {">=": [V("registered_on"), c(["2000-01-01", "2010-01-01", "2015-01-01"])]},
    ])


def make_rules(k: int, seed: int) -> list[dict[str, Any]]:
    """K items: name, mode, rule (2–8 conditions), amount."""
    from yingshang.core.models import Park, Region
    from yingshang.policies import rules as R

    rng = random.Random(seed)
    towns = list(Region.objects.filter(level="township").values_list("code", flat=True))
    parks = list(Park.objects.values_list("pk", flat=True))
    out = []
    for i in range(k):
        code = f"BM-{i:03d}"
        name, mode, conds, amount = rng.choice(templates(rng, towns, parks, code))
        target = rng.randint(max(2, len(conds)), 8) if rng.random() < 0.5 else max(2, len(conds))
        conds = list(conds)
        while len(conds) < target:
            conds.append(padding(rng, towns))
        rule = {"and": conds}
        R.ensure_valid(rule)
        R.ensure_valid(amount, "amount")
        out.append({"code": code, "name": f"{name}（{i}）", "mode": mode, "rule": rule, "amount": amount,
                    "conditions": len(conds)})
    return out


def publish(specs: list[dict[str, Any]]) -> list[Any]:
    """One document per ten items, published through the services by the demo dispatcher."""
    import datetime as dt

    from yingshang.core.models import Department, User
    from yingshang.policies import services

    actor = User.objects.get(username="dispatcher")
    depts = list(Department.objects.filter(is_office=False).order_by("code"))
    rng = random.Random(5)
    items = []
    doc = None
    for i, spec in enumerate(specs):
        if i % 10 == 0:
            doc = services.document_create(actor=actor, title=f"惠企政策措施（第{i // 10 + 1}批）", issuer="县人民政府",
                                           number=f"县府发〔2026〕{i // 10 + 1}号", issued_on=dt.date(2026, 1, 5),
                                           effective_on=dt.date(2026, 1, 5), expires_on=dt.date(2028, 12, 31))
            services.document_publish(actor=actor, document=doc)
        item = services.item_create(actor=actor, document=doc, code=spec["code"], name=spec["name"], mode=spec["mode"],
                                    department=rng.choice(depts), budget_fen=rng.choice([None, 50_000_000_000]),
                                    materials=[{"name": "营业执照"}] if spec["mode"] != "auto_grant" else [])
        services.item_set_rule(actor=actor, item=item, rule=spec["rule"],
                               amount=spec["amount"] if spec["mode"] != "apply_review" or spec["amount"] else None)
        items.append(services.item_publish(actor=actor, item=item))
    return items


def clear_policies() -> None:
    from django.db import connection

    from yingshang.policies import models

    tables = [m._meta.db_table for m in (models.PolicyEvent, models.PayoutEvent, models.Payout, models.PayoutBatch,
                                         models.Objection, models.PayoutListEntry, models.PayoutList,
                                         models.ApplicationEvent, models.ApplicationPause, models.ApplicationMaterial,
                                         models.Application, models.PayeeAccount, models.MatchRun, models.MatchNotice,
                                         models.Match, models.ItemMaterial, models.BenefitItem, models.RuleVersion,
                                         models.PolicyDocument)]
    with connection.cursor() as cur:
        cur.execute(f"TRUNCATE {', '.join(tables)} CASCADE")


# --------------------------------------------------------------------------------------------- measurements


DRAFT = {"and": [{"prefix": [V("industry_code"), ["C", "I65"]]}, {">=": [V(REV), 1000]},
                 {"<=": [{"/": [V(LAY), V(EMP)]}, 0.05]}, {"==": [V("status"), "active"]}]}
DRAFT_AMOUNT = {"min": [{"*": [0.02, V(REV)]}, 100]}


def simulate_in_a_fresh_process(url: str) -> dict[str, Any]:
    """The first simulation of a new process (``--simulate-once``): its seconds, not counting Django's setup
    and the first connection."""
    import subprocess

    done = subprocess.run([sys.executable, __file__, "--simulate-once", "--database-url", url], check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def simulate_once() -> dict[str, Any]:
    from django.db import connection

    from yingshang.policies import matching

    t = time.perf_counter()
    connection.ensure_connection()
    setup_s = time.perf_counter() - t
    t = time.perf_counter()
    sim = matching.simulate(rule=DRAFT, amount=DRAFT_AMOUNT, budget_fen=20_000_000_000)
    return {"simulate_s": round(time.perf_counter() - t, 2), "setup_s": round(setup_s, 3), "qualified": sim.qualified,
            "total_fen": sim.total_fen}


def save_figures(ids: list[int]) -> None:
    """Keep the latest figures steps 4 and 5 change (of ``ids`` and of 1 % of the registry)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_saved_figures")
        cur.execute("CREATE TABLE bench_saved_figures AS SELECT id, revenue_wan, employees FROM enterprises_yearfigure "
                    "WHERE year = 2025 AND (enterprise_id = ANY(%s) OR enterprise_id %% 100 = 7)", [ids])


def restore_figures() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT to_regclass('bench_saved_figures') IS NOT NULL")
        if cur.fetchone()[0]:
            cur.execute("UPDATE enterprises_yearfigure y SET revenue_wan = s.revenue_wan, employees = s.employees "
                        "FROM bench_saved_figures s WHERE y.id = s.id")
            cur.execute("DROP TABLE bench_saved_figures")


def machine() -> dict[str, Any]:
    load1, load5, _ = os.getloadavg()
    return {"cpus": os.cpu_count(), "load_1m": round(load1, 2), "load_5m": round(load5, 2)}


def measure(n_items: int, seed: int, url: str) -> dict[str, Any]:
    import numpy as np
    from django.db import connection

    from yingshang.policies import matching, services
    from yingshang.policies import rules as R
    from yingshang.policies.models import Match

    out: dict[str, Any] = {}
    specs = make_rules(n_items, seed)
    out["conditions"] = sum(s["conditions"] for s in specs)
    t = time.perf_counter()
    items = publish(specs)
    out["publish_s"] = round(time.perf_counter() - t, 1)
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    out["machine_before"] = machine()

    # 1. the full run on an empty match table, then again with nothing changed
    full = matching.match_all()
    out.update(full_s=round(full.seconds, 2), pairs=full.pairs, full_load_s=round(full.load_s, 2),
               full_eval_s=round(full.eval_s, 2), full_persist_s=round(full.persist_s, 2), enterprises=full.enterprises)
    assert Match.objects.count() == full.pairs
    rerun = matching.match_all()
    out.update(rerun_s=round(rerun.seconds, 2), rerun_written=rerun.written)

    # 2. evaluation alone over loaded columns
    items = list(matching.active_items())
    cols = R.load_columns(matching.reference_year(), keys=matching.keys_of(it.rule for it in items))
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        masks = matching.evaluate(items, cols)
        runs.append(time.perf_counter() - t)
    out.update(eval_s=round(runs[0], 3), eval_s_best=round(min(runs), 3), columns_mb=round(cols.nbytes / 2**20, 1))
    assert sum(int(m.sum()) for m in masks.values()) == full.pairs

    # 3. the naive way on a sample: one Python call per enterprise per rule
    rng = np.random.default_rng(seed)
    sample = rng.choice(cols.n, size=min(10_000, cols.n), replace=False)
    keys = matching.keys_of(it.rule for it in items)
    facts = [cols.facts_at(int(r), keys) for r in sample]
    compiled = [(it.pk, matching.compiled_rule(it.rule)) for it in items]
    t = time.perf_counter()
    agree = True
    for row, f in zip(sample, facts):
        for pk, c in compiled:
            if (c.one(f) is R.Tri.TRUE) != bool(masks[pk][row]):
                agree = False
    naive_sample_s = time.perf_counter() - t
    out.update(naive_s=round(naive_sample_s * cols.n / len(sample), 1), naive_sample_s=round(naive_sample_s, 2),
               scalar_agrees=agree)
    del cols, masks, facts

    # 4. one enterprise whose figures changed, against every item (load, evaluate, diff, write)
    ids = [int(i) for i in rng.choice(np.arange(1, full.enterprises), size=50, replace=False)]
    ids = list(Match.objects.model._meta.get_field("enterprise").related_model.objects.filter(
        pk__in=ids).values_list("pk", flat=True)) or ids
    save_figures(ids)  # steps 4 and 5 change figures: put back at the end, so that --keep measures the same again
    times, written = [], 0
    for eid in ids:
        with connection.cursor() as cur:
            cur.execute("UPDATE enterprises_yearfigure SET revenue_wan = revenue_wan * 1.5, "
                        "employees = employees + 3 WHERE enterprise_id = %s AND year = 2025", [eid])
        t = time.perf_counter()
        r = matching.rematch_enterprises([eid])
        times.append(time.perf_counter() - t)
        written += r.written
    out.update(one_enterprise_ms=round(1000 * sum(times) / len(times), 2),
               one_enterprise_p95_ms=round(1000 * sorted(times)[int(0.95 * len(times)) - 1], 2),
               one_enterprise_written=written)

    # 5. a realistic change: 1 % of the latest figures and one item's rule, then the full run
    with connection.cursor() as cur:
        cur.execute("UPDATE enterprises_yearfigure SET revenue_wan = revenue_wan * 1.25 "
                    "WHERE year = 2025 AND enterprise_id % 100 = 7")
    item = items[0]
    rule = {"and": [*item.rule.rule["and"], {">=": [V("years_registered"), 2]}]}
    services.item_set_rule(actor=item.created_by, item=item, rule=rule, amount=item.rule.amount)
    change = matching.match_all()
    out.update(change_s=round(change.seconds, 2), change_written=change.written, change_inserted=change.inserted,
               change_deleted=change.deleted, change_updated=change.updated)

    # 6. simulating a draft rule: cold (nothing cached: the columns read from the database), in this process and
    # in a fresh one (a new gunicorn worker: its first simulation), then with the columns cached in the process
    matching.drop_registry_cache()
    t = time.perf_counter()
    sim = matching.simulate(rule=DRAFT, amount=DRAFT_AMOUNT, budget_fen=20_000_000_000)
    out["simulate_cold_s"] = round(time.perf_counter() - t, 2)
    cold = [sim]
    fresh = [simulate_in_a_fresh_process(url) for _ in range(2)]
    out.update(simulate_fresh_s=[f["simulate_s"] for f in fresh], fresh_setup_s=fresh[0]["setup_s"])
    sims = []
    for _ in range(3):
        t = time.perf_counter()
        sim = matching.simulate(rule=DRAFT, amount=DRAFT_AMOUNT, budget_fen=20_000_000_000)
        sims.append(time.perf_counter() - t)
    assert all(f["qualified"] == sim.qualified and f["total_fen"] == sim.total_fen for f in fresh)
    assert cold[0].qualified == sim.qualified and cold[0].close == sim.close
    out.update(simulate_s=round(sims[0], 3), simulate_s_best=round(min(sims), 3), simulate_qualified=sim.qualified,
               simulate_close=sim.close, simulate_total_yuan=sim.total_fen // 100)
    out["machine_after"] = machine()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--enterprises", type=int, default=1_000_000)
    ap.add_argument("--items", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--database-url", default=DEFAULT_URL)
    ap.add_argument("--keep", action="store_true", help="reuse the registry of an earlier run")
    ap.add_argument("--simulate-once", action="store_true", help=argparse.SUPPRESS)  # the fresh-process measurement
    args = ap.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="ys-bench-matching-"))
    if args.simulate_once:
        setup_django(args.database_url, data_dir)
        print(json.dumps(simulate_once()))
        return
    out: dict[str, Any] = {"enterprises": args.enterprises, "items": args.items}
    if not args.keep:
        recreate_database(args.database_url)
    setup_django(args.database_url, data_dir)
    if args.keep:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)  # the code may have moved on since the registry was generated
        restore_figures()  # an earlier run stopped half-way
        clear_policies()
    else:
        out.update(generate(args.enterprises, args.seed))
    try:
        out.update(measure(args.items, args.seed, args.database_url))
    finally:
        restore_figures()
    out["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    first = {k: out.pop(k) for k in ("enterprises", "items", "full_s", "eval_s", "pairs", "one_enterprise_ms",
                                      "one_enterprise_p95_ms", "simulate_s", "simulate_cold_s", "simulate_fresh_s",
                                      "naive_s", "peak_mb")}
    print(json.dumps({**first, **out}, ensure_ascii=False))


if __name__ == "__main__":
    main()
