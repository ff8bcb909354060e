"""Policy documents, items, rules and applications through the services: lifecycles, permissions
(roles, departments, other enterprises), wrong states leaving nothing changed, 即申即享 approved at
once or told exactly what is missing, the 依申报 review clock with a correction pause, objections."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from yingshang.core.errors import Conflict, NotPermitted, ValidationFailed
from yingshang.core.models import AuditRecord, Notification
from yingshang.enterprises.models import Enterprise, YearFigure
from yingshang.enterprises.services import refresh_derived
from yingshang.policies import matching, services
from yingshang.policies import rules as R
from yingshang.policies.models import (
    Application,
    ApplicationEvent,
    BenefitItem,
    Match,
    Objection,
    Payout,
    PolicyDocument,
    PolicyEvent,
    RuleVersion,
)
from yingshang.policies.rules import RuleInvalid

TZ = dt.timezone(dt.timedelta(hours=8))
_DOC_NUMBERS = itertools.count(100)
A = Application.Status

V = lambda key: {"var": key}  # noqa: E731
RULE = {"and": [{"prefix": [V("industry_code"), ["C"]]}, {">=": [V("figures.revenue_wan.last"), 2000]},
                {"==": [V("kind"), "company"]}]}
AMOUNT = {"min": [{"*": [0.0001, V("figures.revenue_wan.last")]}, 5]}  # 万元: revenue 25000 → 2.5 万元


def at(y: int, m: int, d: int, h: int = 10):  # type: ignore[no-untyped-def]
    return time_machine.travel(dt.datetime(y, m, d, h, tzinfo=TZ), tick=False)


@pytest.fixture(autouse=True)
def _policy_facts():  # type: ignore[no-untyped-def]
    """This app's facts (another test module may have replaced them) and no cached registry."""
    from yingshang.policies.apps import register_facts

    register_facts()
    matching.drop_registry_cache()
    yield
    matching.drop_registry_cache()


@pytest.fixture
def inline_tasks(monkeypatch):  # type: ignore[no-untyped-def]
    """Run the policy tasks in-process when enqueued (the test settings queue them in the database)."""
    from types import SimpleNamespace

    from yingshang.policies import tasks

    ran: list[tuple[str, dict]] = []
    for name in ("match_items_task", "rematch_enterprises_task", "match_all_task"):
        real = getattr(tasks, name)

        def enqueue(real=real, name=name, **kw):  # type: ignore[no-untyped-def]
            ran.append((name, kw))
            return real.call(**kw)

        monkeypatch.setattr(tasks, name, SimpleNamespace(enqueue=enqueue, call=real.call))
    return ran


@pytest.fixture
def spring():  # type: ignore[no-untyped-def]
    with at(2026, 3, 2):  # a Monday
        yield


def published_document(c, number: str = "瑞府发〔2026〕3号", **kw) -> PolicyDocument:  # type: ignore[no-untyped-def]
    args = {"title": "关于支持工业企业高质量发展的若干政策措施", "issuer": "瑞金市人民政府", "number": number,
            "issued_on": dt.date(2025, 12, 20), "effective_on": dt.date(2026, 1, 1), "expires_on": dt.date(2028, 12, 31),
            "text": "第一条 ……", "interpretation": "本政策支持规模以上工业企业……", "topics": ["工业", "奖补"],
            "industries": ["C"]}
    args.update(kw)
    doc = services.document_create(actor=c.dispatcher, **args)
    return services.document_publish(actor=c.dispatcher, document=doc)


def published_item(c, *, doc: PolicyDocument | None = None, code: str = "GY-01", mode: str = "instant",  # type: ignore[no-untyped-def]
                   rule=RULE, amount=AMOUNT, materials=({"name": "营业执照"},), department=None, **kw) -> BenefitItem:
    doc = doc or published_document(c, number=f"瑞府发〔2026〕{next(_DOC_NUMBERS)}号")
    item = services.item_create(actor=c.dispatcher, document=doc, code=code, name=f"工业企业奖励 {code}", mode=mode,
                                department=department or c.dept_a, materials=list(materials), **kw)
    services.item_set_rule(actor=c.dispatcher, item=item, rule=rule, amount=amount)
    return services.item_publish(actor=c.dispatcher, item=item)


def add_company(c, seq: int, *, revenue: str | None = "5000", industry: str = "1711", kind: str = "company",  # type: ignore[no-untyped-def]
                town=None, employees: int = 50) -> Enterprise:
    from tests.conftest import make_uscc

    ent = Enterprise.objects.create(uscc=make_uscc(100 + seq), name=f"测试企业{seq}有限公司", kind=kind,
                                    industry_code=industry, region=town or c.town_a)
    if revenue is not None:
        YearFigure.objects.create(enterprise=ent, year=2025, employees=employees, revenue_wan=Decimal(revenue),
                                  assets_wan=Decimal("3000"))
        refresh_derived(ent)
        ent.save()
    return ent


def upload(user, name: str = "license.txt"):  # type: ignore[no-untyped-def]
    from yingshang.core.services import attachment_store

    return attachment_store(upload=SimpleUploadedFile(name, "材料内容".encode()), name=name, actor=user)


def materials_for(item: BenefitItem, user) -> dict[int, object]:  # type: ignore[no-untyped-def]
    return {m.pk: upload(user) for m in item.materials.all()}


def apply(c, item: BenefitItem, user=None, **kw) -> Application:  # type: ignore[no-untyped-def]
    user = user or c.ent_user_a
    args = {"actor": user, "item": item, "contact_name": "王经理", "contact_phone": "13912345678",
            "materials": materials_for(item, user)}
    args.update(kw)
    return services.application_apply(**args)


def counts() -> tuple[int, ...]:
    return (Application.objects.count(), Payout.objects.count(), ApplicationEvent.objects.count(),
            PolicyEvent.objects.count(), RuleVersion.objects.count())


# --------------------------------------------------------------------------------------------- documents


def test_document_lifecycle_number_and_events(county, spring):
    c = county
    doc = services.document_create(actor=c.handler_a, title="稳岗返还政策", issuer="瑞金市人社局",
                                   number="瑞人社发[2026] 7号", effective_on=dt.date(2026, 1, 1),
                                   industries=["c39", "I65"], topics=["就业", "就业"])
    assert doc.number == "瑞人社发〔2026〕7号" and doc.status == PolicyDocument.Status.DRAFT
    assert doc.industries == ["C39", "I65"] and doc.topics == ["就业"]
    with pytest.raises(Conflict):  # the same 文号 twice
        services.document_create(actor=c.dispatcher, title="x", issuer="y", number="瑞人社发〔2026〕7号")
    with pytest.raises(ValidationFailed):
        services.document_create(actor=c.dispatcher, title="x", issuer="y", number="第七号文件")
    with pytest.raises(NotPermitted):
        services.document_create(actor=c.ent_user_a, title="x", issuer="y")
    with pytest.raises(NotPermitted):
        services.document_create(actor=c.auditor, title="x", issuer="y")
    assert PolicyDocument.objects.count() == 1
    doc = services.document_publish(actor=c.dispatcher, document=doc)
    assert doc.status == PolicyDocument.Status.PUBLISHED and doc.published_at
    with pytest.raises(Conflict):
        services.document_publish(actor=c.dispatcher, document=doc)
    kinds = list(PolicyEvent.objects.filter(document=doc).values_list("kind", "from_status", "to_status"))
    assert kinds == [("create", "", "draft"), ("publish", "draft", "published")]
    assert AuditRecord.objects.filter(action="policy.document.publish", object_id=str(doc.pk)).exists()


def test_document_without_number_cannot_be_published(county, spring):
    doc = services.document_create(actor=county.dispatcher, title="草稿", issuer="县政府", effective_on=dt.date(2026, 1, 1))
    with pytest.raises(ValidationFailed) as exc:
        services.document_publish(actor=county.dispatcher, document=doc)
    assert exc.value.field == "number"
    doc.refresh_from_db()
    assert doc.status == PolicyDocument.Status.DRAFT


def test_expired_documents_stop_their_items_and_leave_matching(county):
    c = county
    with at(2026, 3, 2):
        doc = published_document(c, expires_on=dt.date(2026, 6, 30))
        item = published_item(c, doc=doc, mode="auto_grant")
        matching.match_all()
        assert Match.objects.filter(item=item, enterprise=c.ent_a).exists()
    with at(2026, 7, 1):  # the day after the validity ended: not matched even before the job runs
        assert not matching.active_items().filter(pk=item.pk).exists()
        assert services.documents_expire_due() == 1
        assert services.documents_expire_due() == 0  # idempotent
    doc.refresh_from_db()
    item.refresh_from_db()
    assert doc.status == PolicyDocument.Status.EXPIRED and item.status == BenefitItem.Status.STOPPED
    assert not Match.objects.filter(item=item).exists()
    assert PolicyEvent.objects.filter(item=item, kind="stop").exists()
    with pytest.raises(Conflict):
        services.document_update(actor=c.dispatcher, document=doc, title="改")


# --------------------------------------------------------------------------------------------- items and rules


def test_items_belong_to_departments_and_rules_are_versioned(county, spring):
    c = county
    doc = published_document(c)
    with pytest.raises(NotPermitted):  # another department's item
        services.item_create(actor=c.handler_b, document=doc, code="GY-02", name="x", mode="instant", department=c.dept_a)
    with pytest.raises(NotPermitted):
        services.item_create(actor=c.ent_user_a, document=doc, code="GY-02", name="x", mode="instant", department=c.dept_a)
    item = services.item_create(actor=c.handler_a, document=doc, code="GY-02", name="技改奖励", mode="instant",
                                department=c.dept_a, budget_fen=10_000_000, materials=[{"name": "营业执照"}])
    assert item.notice_days == 5 and item.accept_days == 3 and item.review_days == 10  # the settings' defaults
    with pytest.raises(ValidationFailed):  # publishing without a rule
        services.item_publish(actor=c.handler_a, item=item)
    with pytest.raises(RuleInvalid):
        services.item_set_rule(actor=c.handler_a, item=item, rule={">=": [V("figures.profit_wan.last"), 1]},
                               amount=AMOUNT)
    with pytest.raises(ValidationFailed):  # instant items need an amount formula
        services.item_set_rule(actor=c.handler_a, item=item, rule=RULE)
    assert RuleVersion.objects.count() == 0
    with pytest.raises(NotPermitted):
        services.item_set_rule(actor=c.handler_b, item=item, rule=RULE, amount=AMOUNT)
    v1 = services.item_set_rule(actor=c.handler_a, item=item, rule=RULE, amount=AMOUNT, note="初版")
    v2 = services.item_set_rule(actor=c.handler_a, item=item, rule=RULE, amount={"*": [2, AMOUNT]}, note="金额翻倍")
    item.refresh_from_db()
    assert (v1.number, v2.number, item.rule_id) == (1, 2, v2.pk)
    assert v1.amount == AMOUNT  # the old version is kept as it was
    ev = PolicyEvent.objects.filter(item=item, kind="rule").last()
    assert ev.data["version"] == 2 and "制造业" in ev.data["describe"]
    item = services.item_publish(actor=c.handler_a, item=item)
    with pytest.raises(Conflict):  # the mode is fixed once published
        services.item_update(actor=c.handler_a, item=item, mode="apply_review")
    item = services.item_update(actor=c.handler_a, item=item, budget_fen=20_000_000)
    assert item.budget_fen == 20_000_000
    with pytest.raises(ValidationFailed):
        services.item_update(actor=c.handler_a, item=item, budget_fen=-1)


def test_publishing_an_item_matches_it_after_commit(county, spring, inline_tasks, django_capture_on_commit_callbacks):
    c = county
    with django_capture_on_commit_callbacks(execute=True):
        item = published_item(c, mode="auto_grant")
    assert inline_tasks == [("match_items_task", {"item_ids": [item.pk]})]
    assert set(Match.objects.filter(item=item).values_list("enterprise_id", flat=True)) == {c.ent_a.pk}
    # a new rule version re-matches the item: nobody qualifies any more
    with django_capture_on_commit_callbacks(execute=True):
        services.item_set_rule(actor=c.dispatcher, item=item, rule={"and": [*RULE["and"], V("is_high_tech")]},
                               amount=AMOUNT)
    assert not Match.objects.filter(item=item).exists()


# --------------------------------------------------------------------------------------------- 即申即享


def test_instant_application_is_approved_at_once(county, spring):
    c = county
    item = published_item(c, budget_fen=100_000_000)
    app = apply(c, item)
    assert app.status == A.APPROVED and app.amount_fen == 2_500_000  # 2.5 万元
    assert app.rule_version_id == item.rule_id and app.period == "2026"
    payout = Payout.objects.get(application=app)
    assert (payout.status, payout.amount_fen, payout.rule_version_id, payout.period) == ("pending", 2_500_000,
                                                                                       item.rule_id, "2026")
    assert list(app.events.values_list("kind", flat=True)) == ["submit", "instant_approve"]
    assert app.materials.count() == 1
    with pytest.raises(Conflict):  # once per period
        apply(c, item)
    assert Application.objects.count() == 1 and Payout.objects.count() == 1


def test_instant_application_says_exactly_what_is_missing_and_stores_nothing(county, spring):
    c = county
    item = published_item(c, materials=[{"name": "营业执照"}, {"name": "纳税证明"}])
    before = counts()
    with pytest.raises(services.NotEligible) as exc:
        apply(c, item, user=c.ent_user_b, materials={})
    missing = exc.value.missing
    kinds = [(m.kind, m.state) for m in missing]
    # individual catering business without figures: industry not met, revenue missing, kind not met, 2 materials
    assert kinds == [("condition", "false"), ("condition", "unknown"), ("condition", "false"), ("material", ""),
                     ("material", "")]
    msg = exc.value.message
    assert "行业属于 制造业（C）：不满足" in msg and "上年营业收入（万元） ≥ 2000：数据缺失" in msg
    assert "缺少材料：营业执照" in msg and "缺少材料：纳税证明" in msg
    assert "上年营业收入（万元）：缺失" in msg  # the value it read
    assert counts() == before
    # eligible on the data but a material is missing: only that is said
    with pytest.raises(services.NotEligible) as exc:
        apply(c, item, materials={item.materials.first().pk: upload(c.ent_user_a)})
    assert [m.text_zh for m in exc.value.missing] == ["纳税证明"]
    assert counts() == before


def test_application_refusals(county, spring):
    c = county
    item = published_item(c)
    auto = published_item(c, code="GY-09", mode="auto_grant")
    with pytest.raises(NotPermitted):
        apply(c, item, user=c.dispatcher)
    with pytest.raises(ValidationFailed):
        apply(c, auto)
    late = published_item(c, code="GY-10", mode="apply_review", amount=None, window_start=dt.date(2026, 1, 1),
                          window_end=dt.date(2026, 2, 28))
    with pytest.raises(ValidationFailed) as exc:
        apply(c, late)
    assert "申报期" in exc.value.message
    other = published_item(c, code="GY-11")
    with pytest.raises(ValidationFailed):  # a material of another item
        apply(c, item, materials={other.materials.first().pk: upload(c.ent_user_a)})
    with pytest.raises(ValidationFailed):  # a period of the wrong shape
        apply(c, item, period="2026Q1")
    assert Application.objects.count() == 0


# --------------------------------------------------------------------------------------------- 依申报


def test_apply_review_clock_pauses_for_corrections_and_objection_revokes(county):
    c = county
    with at(2026, 3, 2):
        item = published_item(c, mode="apply_review", amount=None, review_days=10, accept_days=3, notice_days=5,
                              materials=[{"name": "项目投资证明"}, {"name": "发票", "required": False}])
        app = apply(c, item, materials={item.materials.get(name="项目投资证明").pk: upload(c.ent_user_a)})
        assert app.status == A.SUBMITTED and app.accept_due == dt.date(2026, 3, 5)
        assert Notification.objects.filter(recipient=c.handler_a, title__contains="待受理").exists()
        with pytest.raises(NotPermitted):  # another department
            services.application_accept(actor=c.handler_b, application=app)
        with pytest.raises(NotPermitted):  # not a department at all
            services.application_accept(actor=c.ent_user_a, application=app)
    with at(2026, 3, 3):
        app = services.application_accept(actor=c.handler_a, application=app)
        assert app.status == A.REVIEWING and app.accepted_on == dt.date(2026, 3, 3)
        assert app.review_due == dt.date(2026, 3, 17)  # 10 working days after 3 March
        before = counts()
        with pytest.raises(Conflict):  # twice
            services.application_accept(actor=c.handler_a, application=app)
        assert counts() == before
    with at(2026, 3, 5):  # 2 working days used (4, 5 March)
        invoice = item.materials.get(name="发票")
        app = services.application_request_correction(actor=c.handler_a, application=app, materials=[invoice],
                                                      note="请补充设备购置发票")
        assert app.status == A.CORRECTION and app.pauses.get().end is None
        with pytest.raises(Conflict):  # no decision while the clock is stopped
            services.application_approve(actor=c.head_a, application=app, reason="符合", amount_fen=100_000)
        with pytest.raises(NotPermitted):  # another enterprise
            services.application_submit_correction(actor=c.ent_user_b, application=app,
                                                   materials={invoice.pk: upload(c.ent_user_b)})
        with pytest.raises(ValidationFailed):  # the requested material is missing
            services.application_submit_correction(actor=c.ent_user_a, application=app, materials={}, statement="补了")
    with at(2026, 3, 12):  # the clock was stopped 6–12 March (5 working days)
        app = services.application_submit_correction(actor=c.ent_user_a, application=app,
                                                      materials={invoice.pk: upload(c.ent_user_a)})
        assert app.status == A.REVIEWING
        assert app.review_due == dt.date(2026, 3, 24)  # 8 working days left, counted from 12 March
        assert app.materials.filter(round=1).count() == 1
        with pytest.raises(NotPermitted):  # a handler cannot decide: the head reviews
            services.application_approve(actor=c.handler_a, application=app, reason="符合", amount_fen=100_000)
        with pytest.raises(ValidationFailed):  # no formula: the amount must be given
            services.application_approve(actor=c.head_a, application=app, reason="符合")
        app = services.application_approve(actor=c.head_a, application=app, reason="投资额达到标准", amount_fen=300_000_00)
        assert app.status == A.NOTICE and app.notice_end == dt.date(2026, 3, 19)
        payout = Payout.objects.get(application=app)
        assert payout.status == "pending" and payout.payable_on == dt.date(2026, 3, 20)
        assert app.events.get(kind="approve").data["on_time"] is True
    with at(2026, 3, 16):
        obj = services.objection_file(actor=None, application=app, text="该企业项目尚未竣工", filer_name="张某",
                                      filer_contact="139")
        with pytest.raises(NotPermitted):
            services.objection_decide(actor=c.handler_a, objection=obj, uphold=True, reason="x")
        services.objection_decide(actor=c.head_a, objection=obj, uphold=True, reason="经核实项目未竣工")
    app.refresh_from_db()
    payout.refresh_from_db()
    assert app.status == A.REVOKED and payout.status == "cancelled"
    assert services.budget_used_fen(item.pk) == 0
    assert Objection.objects.get().status == Objection.Status.UPHELD


def test_notice_without_objection_ends_in_approval(county):
    c = county
    with at(2026, 3, 2):
        item = published_item(c, mode="apply_review", amount=AMOUNT, notice_days=3)
        app = apply(c, item)
        app = services.application_accept(actor=c.handler_a, application=app)
        with pytest.raises(ValidationFailed):  # above the formula's amount
            services.application_approve(actor=c.head_a, application=app, reason="符合", amount_fen=2_500_001)
        app = services.application_approve(actor=c.head_a, application=app, reason="符合条件")
        assert app.amount_fen == 2_500_000 and app.notice_end == dt.date(2026, 3, 5)
        obj = services.objection_file(actor=c.ent_user_b, application=app, text="有疑问")
        services.objection_decide(actor=c.head_a, objection=obj, uphold=False, reason="经核实符合条件")
    with at(2026, 3, 5):
        assert services.policies_sweep() == {"applications": 0, "lists": 0}  # the last day of notice
        with pytest.raises(ValidationFailed):  # an anonymous objection must say who objects
            services.objection_file(actor=None, application=app, text="x")
    with at(2026, 3, 6):
        assert services.policies_sweep()["applications"] == 1
        assert services.policies_sweep()["applications"] == 0
        with pytest.raises(Conflict):  # the notice is over
            services.objection_file(actor=c.ent_user_b, application=app, text="迟到的异议")
    app.refresh_from_db()
    assert app.status == A.APPROVED
    assert Payout.objects.get(application=app).status == "pending"


def test_reject_withdraw_and_not_accept(county, spring):
    c = county
    item = published_item(c, mode="apply_review", amount=None)
    app = apply(c, item)
    with pytest.raises(NotPermitted):
        services.application_withdraw(actor=c.ent_user_b, application=app)
    app = services.application_not_accept(actor=c.handler_a, application=app, reason="不属于本事项支持范围")
    assert app.status == A.NOT_ACCEPTED
    app2 = apply(c, item)  # a closed application does not block a new one
    app2 = services.application_withdraw(actor=c.ent_user_a, application=app2)
    assert app2.status == A.WITHDRAWN
    app3 = services.application_accept(actor=c.handler_a, application=apply(c, item))
    with pytest.raises(ValidationFailed):
        services.application_reject(actor=c.head_a, application=app3, reason=" ")
    app3 = services.application_reject(actor=c.head_a, application=app3, reason="投资额未达到标准")
    assert app3.status == A.REJECTED and app3.decision_reason == "投资额未达到标准"
    assert not Payout.objects.exists()


def test_payee_account_own_or_office(county, spring):
    c = county
    with pytest.raises(NotPermitted):
        services.payee_account_set(actor=c.ent_user_b, enterprise=c.ent_a, account_name="x", account_no="6222000011112222",
                                   bank_name="y")
    with pytest.raises(ValidationFailed):
        services.payee_account_set(actor=c.ent_user_a, enterprise=c.ent_a, account_name="红都纺织", account_no="abc",
                                   bank_name="工行")
    acc = services.payee_account_set(actor=c.ent_user_a, enterprise=c.ent_a, account_name="瑞金市红都纺织有限公司",
                                     account_no="6222 0200 1234 5678", bank_name="工商银行瑞金支行")
    assert acc.account_no == "6222020012345678"
    acc = services.payee_account_set(actor=c.dispatcher, enterprise=c.ent_a, account_name="瑞金市红都纺织有限公司",
                                     account_no="6222020012345679", bank_name="工商银行瑞金支行")
    assert acc.account_no.endswith("79")


def test_close_names_only_conditions_the_enterprise_can_meet(county):
    """'You are close' names missing data and conditions the enterprise can meet by acting (a
    certification, a capital increase); not its industry, kind or last year's figures."""
    from yingshang.policies import selectors

    c = county
    Enterprise.objects.filter(pk=c.ent_a.pk).update(registered_capital_wan=Decimal("500"))
    with at(2026, 3, 2):
        rest = RULE["and"][1:]
        cert = published_item(c, code="GY-21", mode="auto_grant", rule={"and": [*RULE["and"], V("is_specialized")]})
        published_item(c, code="GY-22", mode="auto_grant", rule={"and": [{"prefix": [V("industry_code"), ["A"]]}, *rest]})
        published_item(c, code="GY-23", mode="auto_grant", rule={"and": [*RULE["and"][:2], {"==": [V("kind"), "individual"]}]})
        published_item(c, code="GY-24", mode="auto_grant", rule={"and": [*RULE["and"][:2], {">=": [V("figures.revenue_wan.last"), 10**7]}]})
        missing = published_item(c, code="GY-25", mode="auto_grant", rule={"and": [*RULE["and"], {">=": [V("figures.rd_wan.last"), 1]}]})
        capital = published_item(c, code="GY-26", mode="auto_grant",
                                 rule={"and": [*RULE["and"], {">=": [V("registered_capital_wan"), 10**6]}]})
        close = selectors.policies_close(actor=c.ent_user_a, enterprise=c.ent_a)
    got = {x.item.code: x.state for x in close}
    assert got == {cert.code: "false", missing.code: "unknown", capital.code: "false"}


def test_a_black_listed_enterprise_receives_no_benefit(county):
    """联合惩戒: once on the credit black list an enterprise stops matching every item (whatever its rule
    says), is told why, cannot apply, cannot be approved, and comes off a list before its notice; after
    credit repair it matches again."""
    from yingshang.policies import selectors
    from yingshang.policies.models import Match, PayoutListEntry
    from yingshang.supervision import services as credit_services

    c = county
    with at(2026, 3, 2):
        auto = published_item(c, code="MS-41", mode="auto_grant")
        instant = published_item(c, code="JS-41", mode="instant")
        review = published_item(c, code="YS-41", mode="apply_review")
        matching.match_all()
        assert set(Match.objects.filter(enterprise=c.ent_a).values_list("item__code", flat=True)) == {
            "MS-41", "JS-41", "YS-41"}
        pending = services.application_accept(actor=c.handler_a, application=apply(c, review))
        plist = services.payout_list_propose(actor=c.handler_a, item=auto)
        services.payout_list_review_complete(actor=c.head_a, payout_list=plist)
        entry = plist.entries.get(enterprise=c.ent_a)

        listed = credit_services.credit_list_add(actor=c.dispatcher, enterprise=c.ent_a, kind="black",
                                                 reason="严重失信主体", source="瑞金市市场监督管理局",
                                                 listed_on=dt.date(2026, 3, 2))
        matching.rematch_enterprises([c.ent_a.pk])
        assert not Match.objects.filter(enterprise=c.ent_a).exists()
        # the explanation and 'you are close' name the black list
        why = selectors.match_explain(actor=c.ent_user_a, enterprise=c.ent_a, item=instant)
        assert why["state"] == "false"
        assert [(leaf.text_zh, leaf.state.value) for leaf in why["leaves"] if "黑名单" in leaf.text_zh] == [
            ("不在信用黑名单", "false")]
        close = {x.item.code: x.condition_zh for x in selectors.policies_close(actor=c.ent_user_a, enterprise=c.ent_a)}
        assert close == {"MS-41": "不在信用黑名单", "JS-41": "不在信用黑名单", "YS-41": "不在信用黑名单"}
        before = counts()
        with pytest.raises(ValidationFailed) as refused:
            apply(c, instant)
        assert "不在信用黑名单" in refused.value.message and counts() == before
        with pytest.raises(Conflict) as barred:
            services.application_approve(actor=c.head_a, application=pending, reason="符合条件")
        assert barred.value.code == "black_listed"
        services.payout_list_publish(actor=c.dispatcher, payout_list=plist)
        entry = PayoutListEntry.objects.get(pk=entry.pk)
        assert not entry.included and "信用黑名单" in entry.excluded_reason
        assert not Payout.objects.filter(enterprise=c.ent_a).exists()

        credit_services.credit_list_remove(actor=c.dispatcher, entry=listed, reason="已履行义务，完成信用修复")
        matching.rematch_enterprises([c.ent_a.pk])
        assert Match.objects.filter(enterprise=c.ent_a).count() == 3


def test_a_rule_version_id_used_again_after_a_rollback_serves_the_new_rule(county):
    """SQLite gives a rolled-back rule version's id to the next one; the compiled-rule cache must not
    serve the rolled-back rule under it (on PostgreSQL the id is new and this holds trivially)."""
    from django.db import transaction

    from yingshang.policies.models import RuleVersion

    c = county
    with at(2026, 3, 2):
        item = published_item(c, code="GY-51", mode="auto_grant")

        class Undo(Exception):
            pass

        never = {"==": [V("kind"), "individual"]}  # ent_a is a company
        with pytest.raises(Undo), transaction.atomic():
            gone = services.item_set_rule(actor=c.dispatcher, item=item, rule=never, amount=AMOUNT)
            assert matching.compiled_rule(gone).one(matching.enterprise_facts(c.ent_a.pk, {"kind"}) or {}) is R.Tri.FALSE
            raise Undo
        item.refresh_from_db()
        rv = services.item_set_rule(actor=c.dispatcher, item=item, rule={"==": [V("kind"), "company"]}, amount=AMOUNT)
        assert RuleVersion.objects.filter(pk=rv.pk).count() == 1
        facts = matching.enterprise_facts(c.ent_a.pk, matching.keys_of([rv])) or {}
        assert matching.compiled_rule(rv).one(facts) is R.Tri.TRUE
