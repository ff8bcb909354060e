"""惠企政策 for the demo county: documents and items in the three modes with real rules, and a year of
cash-out played through the services — matches, 免申即享 lists with exclusions, notices and
objections, batches paid through the bank file (a couple failed and paid again), 即申即享 approved or
refused, 依申报 applications in every state; the ledger reconciles, the audit chain verifies, and the
same seed gives the same history."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
from django.db import transaction

from yingshang.core.audit import audit_verify
from yingshang.core.demo import build_demo_county
from yingshang.core.models import Notification, Role, User
from yingshang.policies import matching, payouts
from yingshang.policies.demo import DOCS, ITEMS, build_policy_demo
from yingshang.policies.models import (
    Application,
    ApplicationEvent,
    ApplicationPause,
    BenefitItem,
    Match,
    Objection,
    Payout,
    PayoutBatch,
    PayoutList,
    PayoutListEntry,
    PolicyDocument,
    PolicyEvent,
    RuleVersion,
)

TODAY = dt.date(2026, 6, 30)  # a Tuesday
SEED = 5


@pytest.fixture(autouse=True)
def _policy_facts():  # type: ignore[no-untyped-def]
    from yingshang.policies.apps import register_facts

    register_facts()
    matching.drop_registry_cache()
    yield
    matching.drop_registry_cache()


@pytest.fixture
def demo(db):  # type: ignore[no-untyped-def]
    build_demo_county(enterprises=300, seed=SEED)
    return build_policy_demo(seed=SEED, today=TODAY)


def test_the_catalogue_is_realistic() -> None:
    modes = Counter(s.mode for s in ITEMS)
    assert 35 <= len(ITEMS) <= 45
    assert modes["auto_grant"] > modes["instant"] > modes["apply_review"] > 0  # as in the reports
    assert 8 <= len({d.key for d in DOCS if d.timing != "draft"}) <= 12
    assert len({s.code for s in ITEMS}) == len(ITEMS)
    names = {s.name for s in ITEMS}
    for wanted in ("失业保险稳岗返还", "规上工业企业首次入规奖励", "高新技术企业认定奖励", "专精特新中小企业奖励",
                   "企业研发投入后补助", "经开区标准厂房租金补贴", "企业招工补贴", "纳税贡献奖励"):
        assert wanted in names
    assert all(s.amount is not None for s in ITEMS if s.mode != "apply_review")


def test_demo_has_policies_and_a_year_of_cash_out(demo: dict[str, Any]) -> None:
    print("\npolicy demo (300):", demo)
    assert demo["skipped_steps"] == {}
    assert demo["reconcile"] == [] == payouts.reconcile()
    # documents: issued by 赣州市 and 瑞金市 bodies with their 文号; one expired, one draft
    docs = PolicyDocument.objects.all()
    assert 8 <= docs.filter(status="published").count() <= 12
    assert docs.filter(status="expired").exists() and docs.filter(status="draft").count() == 1
    assert docs.filter(issuer__startswith="赣州市").exists() and docs.filter(issuer__startswith="瑞金市").exists()
    assert all("〔" in d.number and d.number.endswith("号") for d in docs.exclude(status="draft"))
    assert all(d.interpretation for d in docs.exclude(status="draft"))
    # items in the three modes, each with its rule version; a stopped one; the expired document's stopped
    published = BenefitItem.objects.exclude(status="draft")
    modes = Counter(published.values_list("mode", flat=True))
    assert modes["auto_grant"] > modes["instant"] > modes["apply_review"] >= 5
    assert len(published) >= 35
    assert not published.filter(rule__isnull=True).exists()
    assert RuleVersion.objects.count() == BenefitItem.objects.count()
    assert BenefitItem.objects.filter(status="stopped", document__status="expired").exists()
    assert PolicyEvent.objects.filter(kind="stop", item__document__status="published").exists()  # stopped by hand
    assert all(i.budget_fen and i.budget_fen > 0 for i in published)
    # matching ran over the registry
    assert Match.objects.count() > 100
    # 免申即享: lists reviewed (some taken off with reasons), noticed, objected, finalised
    lists = Counter(PayoutList.objects.values_list("status", flat=True))
    assert lists["final"] >= 3, lists
    excluded = PayoutListEntry.objects.filter(included=False)
    assert excluded.exists() and all(e.excluded_reason for e in excluded)
    assert PolicyEvent.objects.filter(kind="restore").exists()
    objections = Counter(Objection.objects.values_list("status", flat=True))
    assert objections["upheld"] >= 1 and objections["dismissed"] >= 1, objections
    assert Objection.objects.filter(entry__isnull=False, status="upheld").exists()
    # the ledger: paid in batches through the bank file, a couple failed and paid again
    statuses = Counter(Payout.objects.values_list("status", flat=True))
    assert statuses["paid"] > 10 and statuses["retried"] >= 1, statuses
    for failed in Payout.objects.filter(status="retried"):
        assert failed.failure_reason and failed.retry.status in ("paid", "pending")
    assert Payout.objects.filter(status="cancelled").exists()  # the upheld objection's
    assert PayoutBatch.objects.filter(status="closed").exists()
    assert not PayoutBatch.objects.filter(status="open").exists()
    paid = Payout.objects.filter(status="paid")
    assert all(p.bank_reference and p.paid_at and p.batch_id for p in paid)
    totals = payouts.ledger_totals()
    assert totals["paid_fen"] == sum(p.amount_fen for p in paid) > 0
    assert demo["enterprises_paid"] == totals["enterprises_paid"] == paid.values("enterprise_id").distinct().count()
    # 即申即享 approved on the spot and refused with what was missing (refusals store nothing)
    instant = Application.objects.filter(item__mode="instant")
    assert instant.exists() and set(instant.values_list("status", flat=True)) == {"approved"}
    assert demo["instant_refused"] >= 1 and all("不符合即申即享条件" in r for r in demo["instant_refusals_sample"])
    assert ApplicationEvent.objects.filter(kind="instant_approve").count() == instant.count()
    # 依申报 in every state, some with a correction round
    review = Application.objects.filter(item__mode="apply_review")
    assert set(Application.Status.values) == set(Application.objects.values_list("status", flat=True))
    assert set(review.values_list("status", flat=True)) == set(Application.Status.values)
    assert ApplicationPause.objects.filter(end__isnull=False).exists()  # a correction round completed
    assert review.filter(status="correction").exists()
    # people: a handler and a head in each department with items; applicants with accounts
    for dept_id in set(published.values_list("department_id", flat=True)):
        assert User.objects.filter(department_id=dept_id, role=Role.HANDLER).exists()
        assert User.objects.filter(department_id=dept_id, role=Role.HEAD).exists()
    assert Notification.objects.filter(url__startswith="/policies/").exists()
    # precise pushes reach the registered companies; most are read, every one acted on was
    from yingshang.policies import figures
    from yingshang.policies.models import MatchNotice

    assert demo["enterprise_users_registered"] > 0 and MatchNotice.objects.count() > 20
    read = MatchNotice.objects.filter(read_at__isnull=False)
    assert 0.4 < read.count() / MatchNotice.objects.count() < 0.95
    assert all(n.read_at >= n.notified_at for n in read)
    fig = figures.benefit_figures(actor=None, group_by="department", date_from=TODAY - dt.timedelta(days=366),
                                  date_to=TODAY)
    assert fig.total.paid_fen == totals["paid_fen"] and fig.total.enterprises == totals["enterprises_paid"]
    assert fig.total.pushed == MatchNotice.objects.count() and 0 < fig.total.precision < 1
    # dates are real: nothing after today, everything within the year
    assert not PolicyEvent.objects.filter(at__date__gt=TODAY).exists()
    assert not ApplicationEvent.objects.filter(at__date__gt=TODAY).exists()
    first = PolicyEvent.objects.order_by("at").first()
    assert first is not None and first.at.date() >= TODAY - dt.timedelta(days=366)
    assert audit_verify().ok


def test_items_zero_writes_nothing(db: Any) -> None:
    build_demo_county(enterprises=50, seed=SEED)
    assert build_policy_demo(seed=SEED, items=0, today=TODAY)["items"] == 0
    assert not PolicyDocument.objects.exists() and not BenefitItem.objects.exists()


def test_same_seed_same_history(db: Any) -> None:
    build_demo_county(enterprises=300, seed=SEED)

    def rows() -> list[Any]:
        return [
            list(Application.objects.order_by("submitted_at", "id").values_list(
                "item__code", "enterprise__uscc", "period", "status", "amount_fen", "submitted_at")),
            list(Payout.objects.order_by("created_at", "id").values_list(
                "item__code", "enterprise__uscc", "period", "amount_fen", "status", "paid_at")),
            list(PayoutList.objects.order_by("created_at", "id").values_list("item__code", "period", "status")),
            list(PayoutListEntry.objects.order_by("id").values_list("enterprise__uscc", "amount_fen", "included")),
            list(BenefitItem.objects.order_by("code").values_list("code", "status", "budget_fen")),
        ]

    with transaction.atomic():
        first_out = build_policy_demo(seed=SEED, items=20, today=TODAY)
        first = rows()
        transaction.set_rollback(True)
    assert not BenefitItem.objects.exists()
    second_out = build_policy_demo(seed=SEED, items=20, today=TODAY)
    assert rows() == first and len(first[0]) > 5 and len(first[1]) > 10
    assert {k: v for k, v in first_out.items() if k != "seconds"} == {
        k: v for k, v in second_out.items() if k != "seconds"}
