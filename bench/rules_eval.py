"""Rule-engine benchmark: 100 realistic rules of 2–8 conditions over 1,000,000 synthetic enterprises.

    .venv/bin/python bench/rules_eval.py [--enterprises 1000000] [--rules 100] [--seed 1]

No database: the registry is generated directly as ``Columns``.  Prints one JSON line:

* ``eval_s`` — all rules, vectorised (``evaluate_all``, shared sub-expressions computed once), first run;
  ``eval_s_best`` the best of three runs;
* ``one_enterprise_ms`` — one enterprise against all rules by the faster path: the scalar interpreter on
  its fact dict (``scalar_one_ms``, fact extraction included) or the vectorised evaluator on a one-row
  subset (``vector_one_ms``); mean over 200 enterprises;
* ``naive_s`` — the scalar interpreter (one Python call per enterprise per rule) timed on a 10,000
  sample and scaled to the registry;
* ``peak_mb`` — the process's maximum resident set size; ``columns_mb`` the columns' own size.

Targets (2-core machine): eval_s ≤ 3, one_enterprise_ms ≤ 20, peak ≤ 4 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

TOWNSHIPS = [f"360781{n:03d}000" for n in list(range(1, 11)) + list(range(100, 110))]
PARKS = [1, 2, 3, 4, 5]
SIZE = ["大型", "中型", "小型", "微型"]
FIGURES = ("revenue_wan", "assets_wan", "taxes_wan", "rd_wan", "unemployment_insurance_wan")


def build_columns(n: int, seed: int) -> Any:
    from yingshang.enterprises import industries
    from yingshang.policies.rules import Column, Columns
    from yingshang.policies.rules.columns import full_years
    from yingshang.policies.rules.grammar import SCALE

    rng = np.random.default_rng(seed)
    cols = Columns(np.arange(1, n + 1, dtype=np.int64), reference_year=2026)
    everyone = np.ones(n, dtype=np.bool_)

    def known(p_missing: float) -> np.ndarray:
        return rng.random(n) >= p_missing

    def categorical(vocab: list[Any], p: list[float] | None, p_missing: float = 0.0) -> Column:
        codes = rng.choice(len(vocab), size=n, p=p).astype(np.uint16 if len(vocab) > 255 else np.uint8)
        return Column(codes, known(p_missing) if p_missing else everyone, tuple(vocab))

    classes = [i.code for i in industries.all_classes()]
    cols.add("industry_code", categorical(classes, None))
    cols.add("kind", categorical(["company", "individual", "cooperative"], [0.35, 0.6, 0.05]))
    cols.add("status", categorical(["active", "closed"], [0.95, 0.05]))
    cols.add("township", categorical(TOWNSHIPS, None, 0.02))
    cols.add("park", categorical([None, *PARKS], [0.7, 0.1, 0.08, 0.06, 0.04, 0.02]))
    cols.add("size_class", categorical(SIZE, [0.005, 0.03, 0.2, 0.765], 0.07))
    for key, p in (("is_high_tech", 0.03), ("is_specialized", 0.02), ("has_construction_qualification", 0.01)):
        cols.add(key, Column(rng.random(n) < p, everyone))
    has_figures = known(0.1)
    cols.add("above_designated", Column(rng.random(n) < 0.05, has_figures))
    cols.add("registered_capital_wan", Column((rng.lognormal(4, 2, n) * SCALE).astype(np.int64), known(0.1)))
    days = rng.integers(9131, 20454, n)  # 1995-01-01 … 2025-12-31
    registered = known(0.03)
    cols.add("registered_on", Column(days, registered))
    import datetime as dt

    cols.add("years_registered", Column(full_years(days, dt.date(2026, 3, 1)) * SCALE, registered))
    for offset in (1, 2, 3):
        present = has_figures & known(0.05 * offset)
        for name in FIGURES:
            scale = {"revenue_wan": 5, "assets_wan": 5, "taxes_wan": 2, "rd_wan": 1, "unemployment_insurance_wan": 0}
            values = (rng.lognormal(scale[name], 2, n) * 100).astype(np.int64) * 10_000  # to the yuan
            cols.add(f"figures.{name}.y-{offset}", Column(values, present & known(0.1)))
        employees = rng.lognormal(2.5, 1.5, n).astype(np.int64) + 1
        cols.add(f"figures.employees.y-{offset}", Column(employees * SCALE, present))
        layoffs = (employees * rng.random(n) * 0.1).astype(np.int64)
        cols.add(f"figures.layoffs.y-{offset}", Column(layoffs * SCALE, present & known(0.3)))
    cols.add("credit.black_list", Column(rng.random(n) < 0.01, everyone))
    for item in ("JX-01", "JX-02", "JX-03"):
        cols.add(f"payouts.item.{item}", Column(rng.random(n) < 0.02, everyone))
    return cols


def register_facts() -> None:
    from yingshang.policies.rules import register_fact

    register_fact("credit.black_list", "信用黑名单", "credit black list", "bool", lambda ids, p: {}, default=False,
                  true_zh="在信用黑名单", false_zh="不在信用黑名单")
    register_fact("payouts.item.*", "事项 {param} 兑现", "payout of item {param}", "bool", lambda ids, p: {},
                  default=False, true_zh="曾获事项 {param} 兑现", false_zh="未获事项 {param} 兑现")


def V(key: Any) -> dict[str, Any]:
    return {"var": key}


def random_condition(rng: random.Random) -> dict[str, Any]:
    sections = ["C", "I", "F", "H", "E", "M", "A", "G"]
    divisions = ["C39", "C38", "C26", "C17", "I65", "I64", "F52", "H62", "M73", "C13", "C34", "C35"]
    rev = V("figures.revenue_wan.last")
    choice = rng.randrange(19)
    if choice == 0:
        return {"prefix": [V("industry_code"), rng.sample(sections + divisions, rng.randint(1, 3))]}
    if choice == 1:
        return {"in": [V("township"), rng.sample(TOWNSHIPS, rng.randint(1, 5))]}
    if choice == 2:
        return {"in": [V("park"), rng.sample(PARKS, rng.randint(1, 2))]}
    if choice == 3:
        return {"==": [V("kind"), "company"]}
    if choice == 4:
        return {"==": [V("status"), "active"]}
    if choice == 5:
        return V(rng.choice(["is_high_tech", "is_specialized", "above_designated"]))
    if choice == 6:
        return {"!": V("credit.black_list")}
    if choice == 7:
        return {"in": [V("size_class"), rng.choice([["小型", "微型"], ["中型", "小型", "微型"], ["大型", "中型"]])]}
    if choice == 8:
        return {">=": [rev, rng.choice([500, 1000, 2000, 5000])]}
    if choice == 9:
        return {"<=": [rng.choice([5, 10, 20]), V("figures.employees.last"), rng.choice([100, 300, 1000])]}
    if choice == 10:
        return {">=": [{"/": [V("figures.rd_wan.last"), rev]}, rng.choice([0.03, 0.05])]}
    if choice == 11:
        return {">=": [rev, {"*": [rng.choice([1.1, 1.2]), V("figures.revenue_wan.y-2")]}]}
    if choice == 12:
        return {">=": [{"sum_years": ["rd_wan", 3]}, rng.choice([50, 100, 300])]}
    if choice == 13:
        return {">=": [{"count_years": ["taxes_wan", 3, {">": [V(""), rng.choice([10, 50, 100])]}]}, 2]}
    if choice == 14:
        return {">=": [V("years_registered"), rng.choice([1, 2, 3, 5])]}
    if choice == 15:
        return {">=": [V("registered_capital_wan"), rng.choice([50, 100, 500])]}
    if choice == 16:
        return {"!": V(f"payouts.item.{rng.choice(['JX-01', 'JX-02', 'JX-03'])}")}
    if choice == 17:
        return {"<=": [{"/": [V("figures.layoffs.last"), V("figures.employees.last")]}, rng.choice([0.03, 0.055])]}
    return {">=": [V("figures.taxes_wan.last"), rng.choice([5, 10, 50])]}


def random_rule(rng: random.Random) -> dict[str, Any]:
    count = rng.randint(2, 8)
    conditions = [random_condition(rng) for _ in range(count)]
    if count >= 4 and rng.random() < 0.4:  # one "either … or …" group
        conditions = conditions[:-2] + [{"or": conditions[-2:]}]
    return {"and": conditions}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--enterprises", type=int, default=1_000_000)
    ap.add_argument("--rules", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yingshang.settings")
    import django

    django.setup()
    from yingshang.policies.rules import compile, evaluate_all, validate

    register_facts()
    t0 = time.perf_counter()
    cols = build_columns(args.enterprises, args.seed)
    build_s = time.perf_counter() - t0
    rng = random.Random(args.seed)
    rules = {f"item-{i:03d}": random_rule(rng) for i in range(args.rules)}
    assert all(validate(r) == [] for r in rules.values())
    compiled = {name: compile(rule) for name, rule in rules.items()}
    conditions = sum(len(r["and"]) + sum(len(c["or"]) - 1 for c in r["and"] if "or" in c) for r in rules.values())

    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        outcomes = evaluate_all(compiled, cols)
        runs.append(time.perf_counter() - t0)
    matched = sum(int(o.true.sum()) for o in outcomes.values())
    unknown = sum(int(o.unknown.sum()) for o in outcomes.values())

    # one enterprise against every rule
    pick = np.random.default_rng(args.seed).choice(cols.n, size=200, replace=False)
    keys = set().union(*(c.keys() for c in compiled.values()))
    t0 = time.perf_counter()
    for row in pick:
        facts = cols.facts_at(int(row), keys)
        for c in compiled.values():
            c.one(facts)
    scalar_one_ms = (time.perf_counter() - t0) / len(pick) * 1000
    t0 = time.perf_counter()
    for row in pick[:50]:
        evaluate_all(compiled, cols.subset([int(cols.ids[row])]))
    vector_one_ms = (time.perf_counter() - t0) / 50 * 1000

    # the naive way: one Python call per enterprise per rule
    sample = np.random.default_rng(args.seed + 1).choice(cols.n, size=min(10_000, cols.n), replace=False)
    facts_list = [cols.facts_at(int(row), keys) for row in sample]
    t0 = time.perf_counter()
    agree = True
    for name, c in compiled.items():
        out = outcomes[name]
        for row, facts in zip(sample, facts_list):
            state = c.one(facts)
            if state.value != ("true" if out.true[row] else "unknown" if out.unknown[row] else "false"):
                agree = False
    naive_sample_s = time.perf_counter() - t0
    naive_s = naive_sample_s * cols.n / len(sample)

    print(json.dumps({
        "enterprises": cols.n, "rules": len(rules), "conditions": conditions,
        "eval_s": round(runs[0], 3), "eval_s_best": round(min(runs), 3),
        "one_enterprise_ms": round(min(scalar_one_ms, vector_one_ms), 3),
        "scalar_one_ms": round(scalar_one_ms, 3), "vector_one_ms": round(vector_one_ms, 3),
        "naive_s": round(naive_s, 1), "naive_sample_s": round(naive_sample_s, 2), "scalar_agrees": agree,
        "matched": matched, "unknown": unknown, "build_s": round(build_s, 2),
        "columns_mb": round(cols.nbytes / 2**20, 1),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }))


if __name__ == "__main__":
    main()
