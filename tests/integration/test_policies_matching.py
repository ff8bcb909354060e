"""The matching engine: the vectorised full run agrees with the scalar evaluator on a small registry,
persists only changes (a second run writes nothing), follows rule versions, re-matches an enterprise
whose figures change, pushes each new match once and only where the enterprise can act, explains
results, shows 'qualified' and 'close' per enterprise, and simulates draft rules."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from tests.conftest import make_uscc
from tests.integration import test_policies_services as svc
from tests.integration.test_policies_services import (
    AMOUNT,
    RULE,
    V,
    add_company,
    at,
    published_document,
    published_item,
)

from yingshang.core.errors import NotPermitted
from yingshang.core.models import Notification
from yingshang.enterprises.models import Enterprise, YearFigure
from yingshang.enterprises.services import refresh_derived
from yingshang.policies import matching, selectors, services
from yingshang.policies import rules as R
from yingshang.policies.models import BenefitItem, Match, MatchNotice, MatchRun
from yingshang.policies.rules import RuleInvalid

# fixtures shared with the services tests
_policy_facts = svc._policy_facts
inline_tasks = svc.inline_tasks
spring = svc.spring

INDUSTRIES = ["1711", "3911", "6510", "5211", "6210", "4710", "3311", "7310", "0111"]

RULES = {
    "M-01": {"and": [{"prefix": [V("industry_code"), ["C"]]}, {">=": [V("figures.revenue_wan.last"), 2000]},
                     {"==": [V("status"), "active"]}]},
    "M-02": {"and": [V("is_high_tech"), {">=": [{"/": [V("figures.rd_wan.last"), V("figures.revenue_wan.last")]}, 0.03]}]},
    "M-03": {"and": [{"in": [V("township"), ["360781001000"]]}, {"<=": [5, V("figures.employees.last"), 300]},
                     {"!": V("is_specialized")}]},
    "M-04": {"or": [{"in": [V("size_class"), ["小型", "微型"]]}, {">=": [V("years_registered"), 10]}]},
    "M-05": {"and": [{">=": [V("figures.revenue_wan.last"), {"*": [1.1, V("figures.revenue_wan.y-2")]}]},
                     {">=": [{"count_years": ["taxes_wan", 3, {">": [V(""), 10]}]}, 2]}]},
    "M-06": {"and": [{">=": [{"sum_years": ["rd_wan", 3]}, 50]}, {"!=": [V("kind"), "individual"]},
                     {"in": [V("park"), [None]]}]},
    "M-07": {"and": [{">=": [V("registered_capital_wan"), 500]},
                     {"<=": [{"/": [V("figures.layoffs.last"), V("figures.employees.last")]}, 0.055]},
                     {"prefix": [V("industry_code"), ["C39", "I", "M"]]}]},
    "M-08": {"and": [{"==": [V("kind"), "company"]}, {"!": V("payouts.item.M-01")}]},
}
AMOUNTS = {
    "M-01": {"min": [{"*": [0.001, V("figures.revenue_wan.last")]}, 20]},
    "M-04": {"if": [{"==": [V("size_class"), "小型"]}, 2, 1]},
}


def build_registry(c, n: int = 90, seed: int = 7) -> list[Enterprise]:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind = rng.choice(["company", "company", "individual", "cooperative"])
        e = Enterprise.objects.create(
            uscc=make_uscc(1000 + i, {"company": "1", "individual": "2", "cooperative": "3"}[kind]),
            name=f"匹配测试主体{i}", kind=kind, status="active" if rng.random() < 0.9 else "closed",
            industry_code=rng.choice(INDUSTRIES), region=rng.choice([c.town_a, c.town_b]),
            park=c.park if rng.random() < 0.3 else None,
            registered_on=dt.date(2008 + rng.randint(0, 17), rng.randint(1, 12), rng.randint(1, 28))
            if rng.random() < 0.9 else None,
            registered_capital_wan=Decimal(rng.randint(10, 2000)) if rng.random() < 0.8 else None,
            is_high_tech=rng.random() < 0.3, is_specialized=rng.random() < 0.2)
        for year in (2023, 2024, 2025):
            if rng.random() < 0.8:
                revenue = rng.randint(50, 30000)
                YearFigure.objects.create(
                    enterprise=e, year=year, employees=rng.randint(1, 500) if rng.random() < 0.9 else None,
                    revenue_wan=Decimal(revenue) if rng.random() < 0.9 else None,
                    assets_wan=Decimal(rng.randint(50, 30000)),
                    taxes_wan=Decimal(rng.randint(0, 400)) / 4 if rng.random() < 0.85 else None,
                    rd_wan=Decimal(rng.randint(0, 2000)) / 10 if rng.random() < 0.7 else None,
                    layoffs=rng.randint(0, 20) if rng.random() < 0.7 else None)
        refresh_derived(e)
        e.save()
        out.append(e)
    return out


def publish_rules(c, codes=None) -> dict[str, BenefitItem]:  # type: ignore[no-untyped-def]
    doc = published_document(c, number="瑞府发〔2026〕88号")
    items = {}
    for code, rule in RULES.items():
        if codes and code not in codes:
            continue
        items[code] = published_item(c, doc=doc, code=code, mode="auto_grant", rule=rule,
                                     amount=AMOUNTS.get(code, 1))
    return items


def scalar_pairs(items: dict[str, BenefitItem]) -> set[tuple[int, int]]:
    """(item, enterprise) by the scalar interpreter, one enterprise at a time, facts loaded by id."""
    keys = matching.keys_of(it.rule for it in items.values())
    out = set()
    for eid in Enterprise.objects.values_list("pk", flat=True):
        facts = matching.enterprise_facts(eid, keys)
        for it in items.values():
            if R.evaluate_one(it.rule.rule, facts) is R.Tri.TRUE:
                out.add((it.pk, eid))
    return out


def stored() -> set[tuple[int, int]]:
    return set(Match.objects.values_list("item_id", "enterprise_id"))


def test_full_run_agrees_with_the_scalar_evaluator_and_writes_only_changes(county, spring):
    c = county
    build_registry(c)
    items = publish_rules(c)
    first = matching.match_all()
    expected = scalar_pairs(items)
    assert stored() == expected
    assert first.pairs == len(expected) == first.inserted and first.deleted == first.updated == 0
    assert 20 < len(expected) < 8 * Enterprise.objects.count()  # the rules are neither empty nor trivial
    assert {it.pk for it in items.values()} >= {i for i, _e in expected}
    assert set(Match.objects.values_list("rule_version_id", flat=True)) <= {it.rule_id for it in items.values()}
    second = matching.match_all()
    assert (second.pairs, second.written) == (first.pairs, 0)
    runs = list(MatchRun.objects.order_by("id").values_list("scope", "inserted", "deleted", "updated"))
    assert runs == [("all", first.inserted, 0, 0), ("all", 0, 0, 0)]


def test_rule_change_rematches_the_item_and_moves_its_versions(county, spring):
    c = county
    build_registry(c)
    items = publish_rules(c, ["M-01", "M-04"])
    matching.match_all()
    item = items["M-04"]
    before = set(Match.objects.filter(item=item).values_list("enterprise_id", flat=True))
    rule2 = {"or": [{"in": [V("size_class"), ["微型"]]}, {">=": [V("years_registered"), 10]}]}
    rv2 = services.item_set_rule(actor=c.dispatcher, item=item, rule=rule2, amount=1)
    item.refresh_from_db()
    report = matching.match_all(items=[item])
    after = set(Match.objects.filter(item=item).values_list("enterprise_id", flat=True))
    assert after < before and report.deleted == len(before - after) and report.inserted == 0
    assert report.updated == len(after)
    assert set(Match.objects.filter(item=item).values_list("rule_version_id", flat=True)) == {rv2.pk}
    assert Match.objects.filter(item=items["M-01"]).exclude(rule_version_id=items["M-01"].rule_id).count() == 0
    assert stored() == scalar_pairs({"M-01": items["M-01"], "M-04": item})


def test_stopped_items_leave_matching(county, spring):
    c = county
    items = publish_rules(c, ["M-01", "M-08"])
    matching.match_all()
    assert Match.objects.filter(item=items["M-01"], enterprise=c.ent_a).exists()
    services.item_stop(actor=c.dispatcher, item=items["M-01"], reason="资金已用完")
    assert not Match.objects.filter(item=items["M-01"]).exists()
    # pairs of an item that is no longer active are dropped by the next full run, whatever left them
    BenefitItem.objects.filter(pk=items["M-08"].pk).update(status=BenefitItem.Status.STOPPED)
    report = matching.match_all()
    assert report.deleted >= 1 and not Match.objects.exists()


def test_rematch_after_figures_change_pushes_once(county, spring):
    c = county
    item = published_item(c, code="GY-01", mode="instant")
    matching.match_all()
    told = Notification.objects.filter(recipient=c.ent_user_a, title__contains="工业企业奖励").count()
    assert told == 1 and MatchNotice.objects.filter(enterprise=c.ent_a, item=item).exists()
    assert not Match.objects.filter(enterprise=c.ent_b).exists()
    # the individual business becomes a manufacturing company with figures
    Enterprise.objects.filter(pk=c.ent_b.pk).update(kind="company", industry_code="3911")
    YearFigure.objects.create(enterprise=c.ent_b, year=2025, employees=40, revenue_wan=Decimal("3000"))
    report = matching.rematch_enterprises([c.ent_b.pk])
    assert (report.inserted, report.deleted, report.notified) == (1, 0, 1)
    assert report.new_pairs == [(item.pk, c.ent_b.pk)]
    assert Match.objects.filter(enterprise=c.ent_b, item=item, rule_version=item.rule).exists()
    note = Notification.objects.get(recipient=c.ent_user_b)
    assert "即申即享" in note.title and note.channels == ["sms"]
    # re-running changes and tells nothing; dropping out and coming back does not tell again
    assert matching.rematch_enterprises([c.ent_b.pk]).written == 0
    YearFigure.objects.filter(enterprise=c.ent_b).update(revenue_wan=Decimal("100"))
    assert matching.rematch_enterprises([c.ent_b.pk]).deleted == 1
    YearFigure.objects.filter(enterprise=c.ent_b).update(revenue_wan=Decimal("3000"))
    report = matching.rematch_enterprises([c.ent_b.pk, 999_999])  # an id that no longer exists is harmless
    assert (report.inserted, report.notified) == (1, 0)
    assert Notification.objects.filter(recipient=c.ent_user_b).count() == 1
    assert matching.match_all().written == 0  # the full run agrees with the per-enterprise runs


def test_rematch_on_commit_enqueues_the_task(county, spring, inline_tasks, django_capture_on_commit_callbacks):
    c = county
    published_item(c, code="GY-01", mode="auto_grant")
    with django_capture_on_commit_callbacks(execute=True):
        matching.rematch_on_commit([c.ent_a.pk, c.ent_a.pk])
    assert inline_tasks == [("rematch_enterprises_task", {"enterprise_ids": [c.ent_a.pk]})]
    assert Match.objects.filter(enterprise=c.ent_a).exists()


def test_push_only_where_the_enterprise_can_act(county, spring):
    c = county
    closed = published_item(c, code="GY-05", mode="apply_review", amount=None, window_start=dt.date(2026, 6, 1),
                            window_end=dt.date(2026, 6, 30))
    report = matching.match_all()
    assert report.pairs == 1 and report.notified == 0 and not Notification.objects.filter(recipient=c.ent_user_a).exists()
    with at(2026, 6, 1):  # the window opens: the next run tells
        assert matching.match_all().notified == 1
    assert MatchNotice.objects.filter(item=closed).count() == 1


def test_enterprise_view_qualified_close_and_explain(county, spring):
    c = county
    gy = published_item(c, code="GY-01", mode="instant")
    # ent_a misses only the high-tech condition here
    ht = published_item(c, code="GY-02", mode="auto_grant", rule={"and": [*RULE["and"], V("is_high_tech")]})
    matching.match_all()
    view = selectors.enterprise_policy_view(actor=c.ent_user_a, enterprise=c.ent_a)
    assert [(q.item.code, q.amount_fen, q.can_apply, q.period) for q in view.qualified] == [("GY-01", 2_500_000, True, "2026")]
    assert [(x.item.code, x.condition_zh, x.state, x.state_label) for x in view.close] == [
        ("GY-02", "是高新技术企业", "false", "不满足")]
    assert selectors.policies_close(actor=c.dispatcher, enterprise=c.ent_a)[0].item == ht
    with pytest.raises(NotPermitted):
        selectors.policies_qualified(actor=c.ent_user_b, enterprise=c.ent_a)
    with pytest.raises(NotPermitted):
        selectors.policies_qualified(actor=c.auditor, enterprise=c.ent_a)
    services.application_apply(actor=c.ent_user_a, item=gy, contact_name="王", contact_phone="139",
                               materials={gy.materials.first().pk: _upload(c)})
    q = selectors.policies_qualified(actor=c.ent_user_a, enterprise=c.ent_a)[0]
    assert q.can_apply is False and q.payout is not None and q.application is not None
    ex = selectors.match_explain(actor=c.ent_user_b, enterprise=c.ent_b, item=gy)
    assert ex["state"] == "false"
    assert [(lf.text_zh, lf.state.label_zh) for lf in ex["leaves"]] == [
        ("行业属于 制造业（C）", "不满足"), ("上年营业收入（万元） ≥ 2000", "数据缺失"), ("主体类型为 企业", "不满足"),
        ("不在信用黑名单", "满足")]  # 联合惩戒: every rule is evaluated with "not on the credit black list"
    ex = selectors.match_explain(actor=c.dispatcher, enterprise=c.ent_a, item=gy)
    assert ex["state"] == "true" and ex["amount_fen"] == 2_500_000
    todos = {t.label: t.count for t in selectors.policy_todos(c.ent_user_a)}
    assert todos["可享受的惠企政策"] == 1


def _upload(c):  # type: ignore[no-untyped-def]
    from tests.integration.test_policies_services import upload

    return upload(c.ent_user_a)


def test_simulation_counts_groups_and_costs(county, spring):
    c = county
    build_registry(c, n=60, seed=3)
    rule = RULES["M-01"]
    amount = AMOUNTS["M-01"]
    keys = matching.keys_of([]) | R.compile(rule).keys() | R.compile(amount, "amount").keys()
    expected, fen_total, close = [], 0, 0
    parts = matching.conjuncts(rule)
    for eid in Enterprise.objects.order_by("pk").values_list("pk", flat=True):
        facts = matching.enterprise_facts(eid, keys)
        if R.evaluate_one(rule, facts) is R.Tri.TRUE:
            expected.append(eid)
            fen_total += R.amount_fen_one(amount, facts) or 0
        elif sum(R.evaluate_one(p, facts) is not R.Tri.TRUE for p in parts) == 1:
            close += 1
    sim = selectors.simulation(actor=c.dispatcher, rule=rule, amount=amount, budget_fen=fen_total - 1)
    assert sim.enterprises == Enterprise.objects.count()
    assert (sim.qualified, sim.total_fen, sim.close) == (len(expected), fen_total, close)
    assert sim.over_budget and sim.budget_left_fen == -1
    assert [s["id"] for s in sim.sample] == expected[:20]
    for groups in (sim.by_township, sim.by_industry, sim.by_size):
        assert sum(g.count for g in groups) == sim.qualified and sum(g.amount_fen for g in groups) == sim.total_fen
    assert {g.key for g in sim.by_industry} <= {"C", ""}
    assert {g.label for g in sim.by_township} <= {"象湖镇", "壬田镇", "未知"}
    with pytest.raises(RuleInvalid):
        selectors.simulation(actor=c.dispatcher, rule={">=": [V("figures.nothing.last"), 1]})
    with pytest.raises(NotPermitted):
        selectors.simulation(actor=c.ent_user_a, rule=rule)
    # a simulation of the cached registry does not see a new enterprise until the cache expires
    add_company(c, 77, revenue="9000")
    assert selectors.simulation(actor=c.dispatcher, rule=rule).qualified == len(expected)
    matching.drop_registry_cache()
    assert selectors.simulation(actor=c.dispatcher, rule=rule).qualified == len(expected) + 1


def test_amount_formula_in_simulation_and_outcomes_agree(county, spring):
    c = county
    add_company(c, 5, revenue="30000")
    sim = matching.simulate(rule=RULE, amount=AMOUNT)
    outcomes = {o.item.code: o for o in matching.enterprise_outcomes(c.ent_a.pk, items=[
        published_item(c, code="GY-07", mode="auto_grant")])}
    assert outcomes["GY-07"].amount_fen == 2_500_000
    assert sim.qualified == 2 and sim.total_fen == 2_500_000 + 3_000_000
    assert AMOUNT  # (the module constant is the formula under test)


@pytest.mark.django_db(transaction=True)
def test_full_run_outside_a_transaction_reads_in_parallel_and_agrees():
    """Called outside a transaction (the nightly job) the registry is read on several connections at
    once on PostgreSQL; the result is the same as the scalar evaluator's."""
    from tests.conftest import build_county

    from yingshang.policies.apps import register_facts

    register_facts()
    c = build_county()
    with at(2026, 3, 2):
        build_registry(c, n=40, seed=11)
        items = publish_rules(c)
        Match.objects.all().delete()  # publishing may have matched already, depending on the task backend
        report = matching.match_all()
        assert stored() == scalar_pairs(items) and report.inserted == len(stored())
        assert matching.match_all().written == 0


SIMULATED = ("enterprises", "qualified", "unknown", "close", "total_fen", "amount_unknown", "by_township",
             "by_industry", "by_size", "sample", "reference_year")


def same_simulation(a: matching.Simulation, b: matching.Simulation) -> bool:
    return {f: getattr(a, f) for f in SIMULATED} == {f: getattr(b, f) for f in SIMULATED}


def test_simulation_reads_only_the_columns_it_needs_and_agrees_with_the_whole_registry(county, spring, monkeypatch):
    c = county
    build_registry(c, n=60, seed=5)
    publish_rules(c, ["M-01"])  # M-08 reads whether an enterprise had a payout of M-01
    whole = R.load_columns(matching.reference_year(), reference_date=matching.today())
    sim = matching.simulate(rule=RULES["M-01"], amount=AMOUNTS["M-01"])
    cached = matching.registry_columns([])
    assert set(cached.keys()) == {"industry_code", "figures.revenue_wan.y-1", "status",  # the groupings: by id
                                  "credit.black_list"}
    assert same_simulation(sim, matching.simulate(rule=RULES["M-01"], amount=AMOUNTS["M-01"], columns=whole))
    assert sim.qualified > 0 and sim.data_as_of is not None
    # later drafts add their columns to the cached ones (several in one read) and agree as well
    for code in ("M-06", "M-07", "M-03", "M-05", "M-04", "M-08"):
        sim = matching.simulate(rule=RULES[code], amount=AMOUNTS.get(code))
        assert same_simulation(sim, matching.simulate(rule=RULES[code], amount=AMOUNTS.get(code), columns=whole)), code
    assert "registered_on" in cached and "figures.assets_wan.y-1" not in cached  # asked for by no draft
    assert "payouts.item.M-01" in cached
    nobody = matching.simulate(rule={">=": [V("figures.revenue_wan.last"), 10**9]}, amount=AMOUNTS["M-01"])
    assert (nobody.qualified, nobody.total_fen, nobody.by_township, nobody.sample) == (0, 0, [], [])
    # many qualified: the groupings and amounts are read for the whole registry, into the cached columns
    monkeypatch.setattr(matching, "_BY_ID", 0)
    sim = matching.simulate(rule=RULES["M-04"], amount={"*": [0.01, V("figures.taxes_wan.y-2")]})
    assert "figures.taxes_wan.y-2" in cached and "township" in cached
    assert same_simulation(sim, matching.simulate(rule=RULES["M-04"], amount={"*": [0.01, V("figures.taxes_wan.y-2")]},
                                                  columns=whole))


def test_simulation_cache_expires_and_tells_how_old_its_data_is(county, spring, settings):
    c = county
    first = matching.simulate(rule=RULE)
    assert first.data_as_of == timezone.now() and first.qualified == 1
    add_company(c, 77, revenue="9000")
    assert matching.simulate(rule=RULE).qualified == 1  # the process's copy, kept for 10 minutes
    settings.POLICY_SIMULATION_CACHE_SECONDS = 0
    with at(2026, 3, 2, 11):
        later = matching.simulate(rule=RULE)
    assert later.qualified == 2 and later.data_as_of == first.data_as_of + dt.timedelta(hours=1)
    # another reference date (years_registered counts to it): read again
    settings.POLICY_SIMULATION_CACHE_SECONDS = 600
    matching.simulate(rule=RULE, day=dt.date(2026, 3, 3))
    assert matching.simulate(rule=RULE, day=dt.date(2026, 3, 3)).data_as_of == matching.simulate(
        rule=RULE, day=dt.date(2026, 3, 3)).data_as_of


def test_rematch_of_an_enterprise_without_account_reads_little(county, spring):
    c = county
    item = published_item(c, code="GY-01", mode="auto_grant")
    ent = add_company(c, 5, revenue="3000")
    with CaptureQueriesContext(connection) as ctx:
        report = matching.rematch_enterprises([ent.pk])
    assert report.new_pairs == [(item.pk, ent.pk)] and report.notified == 0
    sql = [q["sql"] for q in ctx.captured_queries]
    assert not any("core_department" in q for q in sql), sql  # nobody to tell: the items are not loaded
    assert len(sql) <= 10, sql


@pytest.mark.django_db(transaction=True)
def test_simulation_outside_a_transaction_reads_in_parallel_and_agrees(settings, monkeypatch):
    """Outside a transaction (a web request), PostgreSQL reads the registry's columns on several connections
    sharing one snapshot, split into page ranges; the simulation is the same as over columns read at once."""
    from tests.conftest import build_county

    from yingshang.policies.apps import register_facts
    from yingshang.policies.rules import columns as C

    register_facts()
    settings.POLICY_READ_CONNECTIONS = 3
    monkeypatch.setattr(C, "_PAGES_PER_RANGE", 1)  # small tables split too
    reads: list[tuple[str, int]] = []
    pg_read = C._pg_read

    def spy(conn, query, where, params=None):  # type: ignore[no-untyped-def]
        reads.append((where, threading.get_ident()))
        if "ctid" in where and threading.current_thread() is threading.main_thread():
            time.sleep(0.1)  # let the other connections take their share of these tiny tables
        return pg_read(conn, query, where, params)
    monkeypatch.setattr(C, "_pg_read", spy)
    c = build_county()
    with at(2026, 3, 2):
        build_registry(c, n=60, seed=13)
        matching.drop_registry_cache()
        try:
            for code in ("M-07", "M-05", "M-03"):
                sim = matching.simulate(rule=RULES[code], amount=AMOUNTS["M-01"])
                whole = R.load_columns(2026, reference_date=dt.date(2026, 3, 2))
                assert same_simulation(sim, matching.simulate(rule=RULES[code], amount=AMOUNTS["M-01"], columns=whole))
                expected = sum(R.evaluate_one(RULES[code], whole.facts_at(i)) is R.Tri.TRUE for i in range(whole.n))
                assert sim.qualified == expected
        finally:
            matching.drop_registry_cache()
    if connection.vendor == "postgresql":
        assert any("ctid" in where for where, _t in reads) and len({t for _w, t in reads}) > 1


@pytest.mark.django_db(transaction=True)
def test_simulation_without_connections_to_spare_reads_on_the_callers(settings, monkeypatch):
    """When the server refuses the extra connections (max_connections reached), the caller's connection
    reads every page range itself."""
    from django.db import OperationalError, connections
    from tests.conftest import build_county

    from yingshang.policies.apps import register_facts
    from yingshang.policies.rules import columns as C

    register_facts()
    settings.POLICY_READ_CONNECTIONS = 4
    monkeypatch.setattr(C, "_PAGES_PER_RANGE", 1)
    wrapper = type(connections["default"])
    ensure = wrapper.ensure_connection

    def refuse_threads(self):  # type: ignore[no-untyped-def]
        if threading.current_thread() is not threading.main_thread():
            raise OperationalError("sorry, too many clients already")
        return ensure(self)
    monkeypatch.setattr(wrapper, "ensure_connection", refuse_threads)
    c = build_county()
    with at(2026, 3, 2):
        build_registry(c, n=30, seed=17)
        matching.drop_registry_cache()
        try:
            sim = matching.simulate(rule=RULES["M-01"], amount=AMOUNTS["M-01"])
            whole = R.load_columns(2026, reference_date=dt.date(2026, 3, 2))
            assert same_simulation(sim, matching.simulate(rule=RULES["M-01"], amount=AMOUNTS["M-01"], columns=whole))
        finally:
            matching.drop_registry_cache()
