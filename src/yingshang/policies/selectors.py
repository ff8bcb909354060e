"""Reads of the policy module, scoped.

* Documents and items are public once published: anyone (signed in or not) reads published and
  expired documents and published or stopped items; staff with ``policies.view`` also see drafts.
* Applications: the enterprise its own; a department the applications for its items; the office
  (``policies.pay``) and leaders all.  Payouts likewise.
* The enterprise home page: :func:`policies_qualified` ('policies you qualify for') and
  :func:`policies_close` ('you are close: one condition missing'); :func:`enterprise_policy_view`
  gives both from one evaluation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from yingshang.core.errors import NotFound, NotPermitted
from yingshang.core.models import Role, User
from yingshang.core.permissions import can, require
from yingshang.core.search import text_q
from yingshang.core.selectors import Todo
from yingshang.enterprises.models import Enterprise

from . import credit, matching
from . import rules as R
from .models import (
    Application,
    ApplicationEvent,
    BenefitItem,
    Match,
    MatchNotice,
    Objection,
    Payout,
    PayoutBatch,
    PayoutList,
    PayoutListEntry,
    PolicyDocument,
    RuleVersion,
)

A = Application.Status


def _staff(actor: User | None) -> bool:
    return can(actor, "policies.view")


def _sees_all(actor: User | None) -> bool:
    return can(actor, "policies.pay") or (actor is not None and actor.is_authenticated and actor.role == Role.LEADER)


# --------------------------------------------------------------------------------------------- documents and items


def document_list(*, actor: User | None, status: str = "", q: str = "", topic: str = "") -> QuerySet[PolicyDocument]:
    qs = PolicyDocument.objects.all()
    if not _staff(actor):
        qs = qs.filter(status__in=[PolicyDocument.Status.PUBLISHED, PolicyDocument.Status.EXPIRED])
    if status:
        qs = qs.filter(status=status)
    if q:  # Chinese words (jieba): every word of the query somewhere in the document
        qs = qs.filter(text_q(q, ("title", "number", "issuer", "interpretation", "text")))
    if topic:
        qs = qs.filter(topics__contains=[topic]) if _json_contains() else qs.filter(topics__icontains=topic)
    return qs.annotate(item_count=Count("items")).order_by("-issued_on", "-id")


def _json_contains() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


def document_get(*, actor: User | None, pk: int) -> PolicyDocument:
    doc = PolicyDocument.objects.filter(pk=pk).first()
    if doc is None or (doc.status == PolicyDocument.Status.DRAFT and not _staff(actor)):
        raise NotFound("政策文件不存在", "no such document")
    return doc


ITEM_SEARCH_FIELDS = ("name", "code", "summary", "document__title", "document__number", "department__name")


def item_list(*, actor: User | None, document: PolicyDocument | None = None, mode: str = "", status: str = "",
              department: int | None = None, active_only: bool = False, q: str = "") -> QuerySet[BenefitItem]:
    qs = BenefitItem.objects.select_related("document", "department", "rule")
    if not _staff(actor):
        qs = qs.filter(status__in=[BenefitItem.Status.PUBLISHED, BenefitItem.Status.STOPPED],
                       document__status__in=[PolicyDocument.Status.PUBLISHED, PolicyDocument.Status.EXPIRED])
    if active_only:
        qs = qs.filter(matching.active_q())
    if document is not None:
        qs = qs.filter(document=document)
    if mode:
        qs = qs.filter(mode=mode)
    if status:
        qs = qs.filter(status=status)
    if department:
        qs = qs.filter(department_id=department)
    if q:
        qs = qs.filter(text_q(q, ITEM_SEARCH_FIELDS))
    return qs.order_by("code")


def item_get(*, actor: User | None, pk: int) -> BenefitItem:
    item = item_list(actor=actor).filter(pk=pk).first()
    if item is None:
        raise NotFound("兑现事项不存在", "no such item")
    return item


def rule_versions(*, actor: User, item: BenefitItem) -> QuerySet[RuleVersion]:
    require(actor, "policies.view")
    return item.rule_versions.select_related("author").order_by("-number")


def rule_text(rv: RuleVersion) -> dict[str, str]:
    """A rule version in words (Chinese and English)."""
    labels = R.db_labels()
    out = {"rule_zh": R.describe(rv.rule, labels=labels), "rule_en": R.describe_en(rv.rule, labels=labels)}
    if rv.amount is not None:
        out["amount_zh"] = R.describe(rv.amount, labels=labels, kind="amount")
        out["amount_en"] = R.describe_en(rv.amount, labels=labels, kind="amount")
    return out


def item_matches(*, actor: User, item: BenefitItem) -> QuerySet[Match]:
    """The enterprises an item's current rule holds for (staff only)."""
    require(actor, "policies.view")
    return Match.objects.filter(item=item).select_related("enterprise").order_by("enterprise_id")


def item_figures(*, actor: User, item: BenefitItem) -> dict[str, Any]:
    """Matches, applications by status, budget used and paid for one item."""
    require(actor, "policies.view")
    from .payouts import ledger_totals

    apps = dict(item.applications.values_list("status").annotate(n=Count("id")).order_by())
    totals = ledger_totals(item=item)
    return {"matches": Match.objects.filter(item=item).count(), "applications": apps, "ledger": totals,
            "budget_fen": item.budget_fen,
            "budget_left_fen": None if item.budget_fen is None else item.budget_fen - totals["live_fen"]}


def simulation(*, actor: User, rule: Any, amount: Any = None, budget_fen: int | None = None) -> matching.Simulation:
    """Simulate a draft rule (policy officers)."""
    require(actor, "policies.edit")
    return matching.simulate(rule=rule, amount=amount, budget_fen=budget_fen)


# --------------------------------------------------------------------------------------------- one enterprise


def _enterprise_scope(actor: User, enterprise: Enterprise | int) -> int:
    eid = enterprise if isinstance(enterprise, int) else enterprise.pk
    if actor.role == Role.ENTERPRISE:
        if actor.enterprise_id != eid:
            raise NotPermitted("只能查看本企业的政策", "you can only see your own enterprise's policies")
    elif not _staff(actor):
        raise NotPermitted("您无权查看", "you may not view this")
    return eid


@dataclass
class Qualified:
    """An item the enterprise qualifies for."""

    item: BenefitItem
    amount_fen: int | None  # the amount formula on the current data (None: cannot be computed)
    period: str
    can_apply: bool  # 即申即享 / 依申报 with the window open and nothing live for the period
    application: Application | None = None  # the live application of the period
    payout: Payout | None = None  # the live payout of the period
    matched_at: dt.datetime | None = None


@dataclass
class Close:
    """An item the enterprise misses by one condition."""

    item: BenefitItem
    condition_zh: str
    condition_en: str
    state: str  # false (不满足) / unknown (数据缺失)
    state_label: str


@dataclass
class PolicyView:
    qualified: list[Qualified] = field(default_factory=list)
    close: list[Close] = field(default_factory=list)


def enterprise_policy_view(*, actor: User, enterprise: Enterprise | int) -> PolicyView:
    """'Policies you qualify for' (the stored matches, with amounts on the current data, the live
    application and payout of the current period) and 'you are close' (computed on the current data),
    from one evaluation of every active item."""
    from .services import period_of

    eid = _enterprise_scope(actor, enterprise)
    items = list(matching.active_items())
    if not items:
        return PolicyView()
    outcomes = {o.item.pk: o for o in matching.enterprise_outcomes(eid, items=items)}
    matched = dict(Match.objects.filter(item_id__in=[it.pk for it in items], enterprise_id=eid)
                   .values_list("item_id", "matched_at"))
    periods = {it.pk: period_of(it.period_kind) for it in items}
    apps = {(a.item_id, a.period): a for a in Application.objects.filter(
        enterprise_id=eid, item_id__in=list(matched), status__in=Application.LIVE)}
    pays = {(p.item_id, p.period): p for p in Payout.objects.filter(
        enterprise_id=eid, item_id__in=list(matched), status__in=Payout.LIVE)}
    view = PolicyView()
    for it in items:
        o = outcomes.get(it.pk)
        if it.pk in matched:
            per = periods[it.pk]
            app, pay = apps.get((it.pk, per)), pays.get((it.pk, per))
            view.qualified.append(Qualified(
                item=it, amount_fen=o.amount_fen if o else None, period=per,
                can_apply=it.mode != BenefitItem.Mode.AUTO_GRANT and matching.window_open(it) and not app and not pay,
                application=app, payout=pay, matched_at=matched[it.pk]))
        elif o is not None and o.gap is not None and _fixable(it, o.gap):
            view.close.append(Close(it, o.gap.text_zh, o.gap.text_en, o.gap.state.value, o.gap.state.label_zh))
    return view


def _fixable(item: BenefitItem, gap: matching.Gap) -> bool:
    """Worth telling the enterprise: data missing (it can supply it), or a condition it can meet by
    acting (every field it reads is actionable).  Not: its industry, kind, township, age or last
    year's figures — those are not "one step away"."""
    if gap.state is R.Tri.UNKNOWN:
        return True
    cond = matching.conjuncts(credit.effective_rule(item.rule.rule))[gap.index]  # type: ignore[union-attr]
    fields = [R.resolve(k) for k in R.compile(cond).keys()]
    return bool(fields) and all(f is not None and f.actionable for f in fields)


def policies_qualified(*, actor: User, enterprise: Enterprise | int) -> list[Qualified]:
    return enterprise_policy_view(actor=actor, enterprise=enterprise).qualified


def policies_close(*, actor: User, enterprise: Enterprise | int) -> list[Close]:
    return enterprise_policy_view(actor=actor, enterprise=enterprise).close


def match_explain(*, actor: User, enterprise: Enterprise | int, item: BenefitItem) -> dict[str, Any]:
    """Why an item's rule holds or not for an enterprise: each condition 满足 / 不满足 / 数据缺失 with the
    values it read."""
    eid = _enterprise_scope(actor, enterprise)
    rv = item.rule
    if rv is None:
        raise NotFound("该事项尚无规则", "the item has no rule")
    facts = matching.enterprise_facts(eid, matching.keys_of([rv], amounts=True)) or {}
    labels = R.db_labels()
    state = matching.compiled_rule(rv).one(facts)
    amount = matching.compiled_amount(rv)
    return {"state": state.value, "state_label": state.label_zh, "rule_version": rv.number,
            "leaves": R.explain(credit.effective_rule(rv.rule), facts, labels=labels),
            "amount_fen": amount.value_one(facts) if (amount is not None and state is R.Tri.TRUE) else None}


# --------------------------------------------------------------------------------------------- applications


def application_list(*, actor: User, status: str = "", item: BenefitItem | None = None,
                     overdue: bool = False) -> QuerySet[Application]:
    if actor.role == Role.ENTERPRISE and actor.enterprise_id:
        qs = Application.objects.filter(enterprise_id=actor.enterprise_id)
    elif _sees_all(actor):
        qs = Application.objects.all()
    elif _staff(actor) and actor.department_id:
        qs = Application.objects.filter(item__department_id=actor.department_id)
    else:
        raise NotPermitted("您无权查看申报", "you may not view applications")
    if status:
        qs = qs.filter(status=status)
    if item is not None:
        qs = qs.filter(item=item)
    if overdue:
        today = timezone.localdate()
        qs = qs.filter(Q(status=A.SUBMITTED, accept_due__lt=today) | Q(status=A.REVIEWING, review_due__lt=today))
    return qs.select_related("item", "enterprise", "item__department").order_by("-submitted_at", "-id")


def application_get(*, actor: User, pk: int) -> Application:
    app = Application.objects.select_related("item", "enterprise", "rule_version").filter(pk=pk).first()
    if app is None:
        raise NotFound("申报不存在", "no such application")
    if application_list(actor=actor).filter(pk=pk).exists():
        return app
    raise NotPermitted("无权查看该申报", "you may not view this application")


def application_timeline(*, actor: User, application: Application) -> QuerySet[ApplicationEvent]:
    application_get(actor=actor, pk=application.pk)
    return application.events.select_related("actor").order_by("at", "id")


# --------------------------------------------------------------------------------------------- lists and payouts


def payout_list_list(*, actor: User, item: BenefitItem | None = None, status: str = "") -> QuerySet[PayoutList]:
    require(actor, "policies.view")
    qs = PayoutList.objects.select_related("item", "item__department")
    if not _sees_all(actor) and actor.department_id and actor.role != Role.DISPATCHER:
        qs = qs.filter(item__department_id=actor.department_id)
    if item is not None:
        qs = qs.filter(item=item)
    if status:
        qs = qs.filter(status=status)
    return qs.annotate(count=Count("entries", filter=Q(entries__included=True)),
                       total_fen=Sum("entries__amount_fen", filter=Q(entries__included=True))).order_by("-created_at")


def payout_list_entries(*, actor: User, payout_list: PayoutList) -> QuerySet[PayoutListEntry]:
    require(actor, "policies.view")
    return payout_list.entries.select_related("enterprise").order_by("-included", "id")


def public_notice(*, payout_list: PayoutList) -> list[dict[str, Any]]:
    """What the public notice shows: names and amounts of the included enterprises (no contacts)."""
    if payout_list.status not in (PayoutList.Status.NOTICE, PayoutList.Status.FINAL):
        raise NotFound("名单未公示", "not on notice")
    return [{"entry": e.pk, "enterprise": e.enterprise.name, "uscc": e.enterprise.uscc, "amount_fen": e.amount_fen}
            for e in payout_list.entries.filter(included=True).select_related("enterprise").order_by("id")]


def payout_ledger(*, actor: User, item: BenefitItem | None = None, status: str = "",
                  batch: PayoutBatch | None = None) -> QuerySet[Payout]:
    if actor.role == Role.ENTERPRISE and actor.enterprise_id:
        qs = Payout.objects.filter(enterprise_id=actor.enterprise_id)
    elif _sees_all(actor):
        qs = Payout.objects.all()
    elif _staff(actor) and actor.department_id:
        qs = Payout.objects.filter(item__department_id=actor.department_id)
    else:
        raise NotPermitted("您无权查看兑现台账", "you may not view the ledger")
    if item is not None:
        qs = qs.filter(item=item)
    if status:
        qs = qs.filter(status=status)
    if batch is not None:
        qs = qs.filter(batch=batch)
    return qs.select_related("item", "enterprise", "batch").order_by("-created_at", "-id")


def batch_list(*, actor: User) -> QuerySet[PayoutBatch]:
    """拨付批次: the office (who makes and sends them) and leaders (who read them)."""
    if not _sees_all(actor):
        raise NotPermitted("只有营商办和县领导可以查看拨付批次", "only the office and leaders may view payout batches")
    return PayoutBatch.objects.annotate(count=Count("payouts"), total_fen=Sum("payouts__amount_fen")).order_by(
        "-created_at")


def objection_list(*, actor: User, status: str = Objection.Status.OPEN) -> QuerySet[Objection]:
    require(actor, "policies.view")
    qs = Objection.objects.select_related("entry__payout_list__item", "application__item", "entry__enterprise",
                                          "application__enterprise")
    if not _sees_all(actor) and actor.role != Role.DISPATCHER:
        qs = qs.filter(Q(entry__payout_list__item__department_id=actor.department_id)
                       | Q(application__item__department_id=actor.department_id))
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("created_at")


# --------------------------------------------------------------------------------------------- to-dos


def policy_todos(user: User) -> list[Todo]:
    """The home page's policy to-dos; each count is the rows behind its link."""
    from django.utils.translation import gettext as _

    from .services import payable_payouts

    items: list[Todo] = []
    today = timezone.localdate()
    if user.role == Role.ENTERPRISE and user.enterprise_id:
        active = list(matching.active_items().values_list("pk", flat=True))
        n = Match.objects.filter(item_id__in=active, enterprise_id=user.enterprise_id).count()
        items.append(Todo(_("可享受的惠企政策"), n, "/policies/mine/"))
        items.append(Todo(_("申报待补正"), Application.objects.filter(
            enterprise_id=user.enterprise_id, status=A.CORRECTION).count(), "/policies/applications/?status=correction",
            True))
        return items
    if user.role in (Role.HANDLER, Role.HEAD) and user.department_id:
        mine = Application.objects.filter(item__department_id=user.department_id)
        items.append(Todo(_("申报待受理"), mine.filter(status=A.SUBMITTED).count(),
                          "/policies/applications/?status=submitted", True))
        items.append(Todo(_("申报审核中"), mine.filter(status=A.REVIEWING).count(),
                          "/policies/applications/?status=reviewing"))
        items.append(Todo(_("申报受理或审核逾期"), mine.filter(
            Q(status=A.SUBMITTED, accept_due__lt=today) | Q(status=A.REVIEWING, review_due__lt=today)).count(),
            "/policies/applications/?overdue=1", True))
        if user.role == Role.HEAD:
            items.append(Todo(_("拟兑现名单待审核"), PayoutList.objects.filter(
                item__department_id=user.department_id, status=PayoutList.Status.PROPOSED).count(),
                "/policies/lists/?status=proposed", True))
            items.append(Todo(_("公示异议待处理"), objection_list(actor=user).count(), "/policies/objections/", True))
    if user.role == Role.DISPATCHER:
        items.append(Todo(_("可编批拨付的兑现"), payable_payouts().count(), "/policies/payouts/?payable=1"))
        items.append(Todo(_("拨付批次待银行回执"), PayoutBatch.objects.filter(status=PayoutBatch.Status.EXPORTED).count(),
                          "/policies/batches/?status=exported"))
        items.append(Todo(_("拨付失败待重拨"), Payout.objects.filter(status=Payout.Status.FAILED).count(),
                          "/policies/payouts/?status=failed", True))
    return items


def notified_items(*, actor: User, enterprise: Enterprise | int) -> QuerySet[MatchNotice]:
    eid = _enterprise_scope(actor, enterprise)
    return MatchNotice.objects.filter(enterprise_id=eid).select_related("item").order_by("-notified_at")
