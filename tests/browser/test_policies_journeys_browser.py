"""Browser journeys of issue #4 not covered by test_policies_browser.py.

1. The office creates a policy document with the document form, publishes it, creates one item of
   each mode (免申即享 / 即申即享 / 依申报) with the item form, gives each a rule and amount with the
   condition builder, simulates, publishes; the registry is matched; the office sees the matched
   enterprises; each enterprise sees the in-app notification and only its own matches.
2. 依申报 on a phone: apply with a material, accepted, a correction naming a material, the material
   uploaded on the phone, approved with a reason by the department head, public notice (anonymous),
   the notice period over, payee account set on the phone, a batch, the bank file downloaded, the
   confirmation imported, and the enterprise sees 已拨付 on its phone.
3. Enterprises see only their own: another enterprise gets the 403 page for the first one's
   application and its files, its own explanation whatever enterprise it asks for, and its 我的兑现 /
   我的申报 list only its own rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect
from tests.browser.conftest import PHONE, log_in, no_sideways_scroll, shot
from tests.conftest import PASSWORD, build_county

from yingshang.core.services import attachment_store
from yingshang.policies import matching, services
from yingshang.policies.models import (
    Application,
    BenefitItem,
    Match,
    Payout,
    PayoutBatch,
    PolicyDocument,
    RuleVersion,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("policy_facts")]

V = lambda key: {"var": key}  # noqa: E731
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
INDUSTRY_C = {"prefix": [V("industry_code"), ["C"]]}


def as_user(pg, username: str | None) -> None:  # type: ignore[no-untyped-def]
    pg.context.clear_cookies()
    if username:
        log_in(pg, username, PASSWORD)


def go(pg, path: str):  # type: ignore[no-untyped-def]
    return pg.goto(pg.base + path)  # waits for "load"; expect() waits for what the page fetches after


def submit(pg, selector: str) -> None:  # type: ignore[no-untyped-def]
    pg.click(selector)  # waits for the navigation it starts to commit
    pg.wait_for_load_state("load")


def pdf(name: str) -> dict:  # type: ignore[type-arg]
    return {"name": name, "mimeType": "application/pdf", "buffer": PDF}


def iso(day: dt.date) -> str:
    return day.isoformat()


# --------------------------------------------------------------------------------------------- set-up by services


def published_document(c, number: str = "瑞府发〔2026〕30号") -> PolicyDocument:  # type: ignore[no-untyped-def]
    today = dt.date.today()
    doc = services.document_create(
        actor=c.dispatcher, title="关于促进工业企业技术改造的若干措施", issuer="瑞金市人民政府", number=number,
        issued_on=today - dt.timedelta(days=20), effective_on=today - dt.timedelta(days=10),
        expires_on=today + dt.timedelta(days=700), interpretation="支持工业企业技术改造。", topics=["工业"])
    return services.document_publish(actor=c.dispatcher, document=doc)


def published_item(c, doc, code: str, mode: str, *, rule, amount=None, materials=(), **kw) -> BenefitItem:  # type: ignore[no-untyped-def]
    today = dt.date.today()
    if mode != "auto_grant":
        kw.setdefault("window_start", today - dt.timedelta(days=5))
        kw.setdefault("window_end", today + dt.timedelta(days=60))
    it = services.item_create(actor=c.dispatcher, document=doc, code=code, name=kw.pop("name", f"事项 {code}"),
                              mode=mode, department=c.dept_a, materials=list(materials), **kw)
    services.item_set_rule(actor=c.dispatcher, item=it, rule=rule, amount=amount)
    return services.item_publish(actor=c.dispatcher, item=it)


def upload(name: str, actor) -> object:  # type: ignore[no-untyped-def]
    return attachment_store(upload=SimpleUploadedFile(name, PDF, content_type="application/pdf"), name=name, actor=actor)


# --------------------------------------------------------------------------------------------- 1. the officer


def _new_item(page, doc_pk: int, *, code: str, name: str, mode: str, department: int, budget: str = "",  # type: ignore[no-untyped-def]
              window: tuple[dt.date, dt.date] | None = None, materials: tuple[tuple[str, bool], ...] = (),
              summary: str = "") -> BenefitItem:
    go(page, f"/policies/documents/{doc_pk}/")
    submit(page, "#new-item")
    expect(page.locator("h1")).to_have_text("新增兑现事项")
    page.fill("#id_code", code)
    page.fill("#id_name", name)
    page.select_option("#id_mode", mode)
    page.select_option("#id_department", str(department))
    if budget:
        page.fill("#id_budget_wan", budget)
    if window:
        page.fill("#id_window_start", iso(window[0]))
        page.fill("#id_window_end", iso(window[1]))
    if summary:
        page.fill("#id_summary", summary)
    for i, (mat, required) in enumerate(materials):
        page.fill(f"input[name=mat_name_{i}]", mat)
        page.locator(f"input[name=mat_required_{i}]").set_checked(required)
    submit(page, "#item-form button[type=submit]")
    expect(page.locator(".msg.success")).to_contain_text("兑现事项已创建（草稿），请设置资格规则")
    expect(page.locator("h1")).to_contain_text("资格规则与金额公式")
    return BenefitItem.objects.get(code=code)


def _save_and_publish(page, it: BenefitItem) -> None:  # type: ignore[no-untyped-def]
    submit(page, "#rb-save")
    expect(page.locator(".msg.success")).to_contain_text("规则已保存为第 1 版")
    submit(page, "#publish-card #publish-item")
    expect(page.locator(".msg.success")).to_contain_text("兑现事项已发布")
    expect(page.locator("#status-tag")).to_have_text("已发布")
    assert BenefitItem.objects.get(pk=it.pk).status == BenefitItem.Status.PUBLISHED


def test_office_creates_a_document_and_one_item_of_each_mode_and_enterprises_see_their_matches(page, phone_page):
    c = build_county()
    today = dt.date.today()
    as_user(page, "dispatcher")
    # the document form
    go(page, "/policies/")
    submit(page, "#new-document")
    page.fill("#id_title", "关于支持工业企业高质量发展的若干政策措施")
    page.fill("#id_issuer", "瑞金市人民政府")
    page.fill("#id_number", "瑞府发[2026]21号")  # square brackets typed, 六角括号 stored
    page.fill("#id_issued_on", iso(today - dt.timedelta(days=20)))
    page.fill("#id_effective_on", iso(today - dt.timedelta(days=10)))
    page.fill("#id_expires_on", iso(today + dt.timedelta(days=730)))
    page.fill("#id_topics", "工业，奖补 技改")
    page.fill("#id_interpretation", "对规模以上工业企业给予奖励；对技术改造项目给予补助。")
    shot(page, "policy-journey-document-form")
    submit(page, "#document-form button[type=submit]")
    expect(page.locator(".msg.success")).to_contain_text("政策文件已创建（草稿）")
    expect(page.locator("#status-tag")).to_have_text("草稿")
    expect(page.locator("#doc-number")).to_have_text("瑞府发〔2026〕21号")
    submit(page, "#publish-document")
    expect(page.locator("#status-tag")).to_have_text("已发布")
    doc = PolicyDocument.objects.get()
    assert doc.topics == ["工业", "奖补", "技改"] and doc.status == PolicyDocument.Status.PUBLISHED

    # 1. 免申即享: manufacturing, revenue ≥ 2000 万元; 0.01 % of revenue, at most 5 万元; simulated
    auto = _new_item(page, doc.pk, code="MS-21", name="规上工业企业营收奖励", mode="auto_grant", department=c.dept_a.pk,
                     budget="30", summary="按上年营业收入的万分之一奖励，最高 5 万元")
    conds = page.locator("#rb-tree .rb-cond")
    conds.nth(0).locator(".rb-field-select").select_option("industry_code")
    conds.nth(0).locator("input.rb-v").fill("C")
    page.click("#rb-tree > .rb-group > .buttons .rb-add-cond")
    conds.nth(1).locator(".rb-field-select").select_option("figures.revenue_wan")
    conds.nth(1).locator("input.rb-v").fill("2000")
    page.select_option("#rb-amount-mode", "pct")
    page.select_option("#rb-pct-field", "figures.revenue_wan")
    page.fill("#rb-pct", "0.01")
    page.fill("#rb-cap", "5")
    expect(page.locator("#rb-say")).to_contain_text("行业属于 制造业（C） 且 上年营业收入（万元） ≥ 2000")
    expect(page.locator("#rb-budget")).to_have_value("30")
    page.click("#rb-simulate")
    expect(page.locator("#sim-qualified")).to_have_text("1")
    expect(page.locator("#sim-total")).to_have_text("2.5")
    expect(page.locator("#sim-sample")).to_contain_text(c.ent_a.name)
    shot(page, "policy-journey-auto-grant-simulated")
    _save_and_publish(page, auto)

    # 2. 即申即享: companies and individual businesses, 0.5 万元 each; simulated
    instant = _new_item(page, doc.pk, code="JS-21", name="市场主体数字化改造补助", mode="instant",
                        department=c.dept_a.pk, window=(today - dt.timedelta(days=1), today + dt.timedelta(days=60)))
    cond = page.locator("#rb-tree .rb-cond").nth(0)
    cond.locator(".rb-field-select").select_option("kind")
    cond.locator(".rb-checks label:has-text('企业') input").check()
    cond.locator(".rb-checks label:has-text('个体工商户') input").check()
    expect(page.locator("#rb-amount-mode")).to_have_value("fixed")  # an instant item needs an amount
    page.fill("#rb-fixed", "0.5")
    expect(page.locator("#rb-say")).to_contain_text("主体类型属于")
    page.click("#rb-simulate")
    expect(page.locator("#sim-qualified")).to_have_text("2")
    expect(page.locator("#sim-total")).to_have_text("1")
    _save_and_publish(page, instant)

    # 3. 依申报: manufacturing, materials and an application window, the amount decided by the department
    review = _new_item(page, doc.pk, code="YS-21", name="工业企业技术改造项目补助", mode="apply_review",
                       department=c.dept_a.pk, window=(today - dt.timedelta(days=1), today + dt.timedelta(days=90)),
                       materials=(("项目备案证明", True), ("设备购置发票", False)),
                       summary="按设备投资额的 10% 补助，由工信局核定")
    cond = page.locator("#rb-tree .rb-cond").nth(0)
    cond.locator(".rb-field-select").select_option("industry_code")
    cond.locator("input.rb-v").fill("C")
    expect(page.locator("#rb-amount-mode")).to_have_value("none")  # 由审核部门核定
    expect(page.locator("#rb-say")).to_contain_text("行业属于 制造业（C）")
    shot(page, "policy-journey-apply-review-rule")
    _save_and_publish(page, review)
    assert list(review.materials.values_list("name", "required")) == [("项目备案证明", True), ("设备购置发票", False)]
    review.refresh_from_db()
    assert (review.window_start, review.window_end) == (today - dt.timedelta(days=1), today + dt.timedelta(days=90))
    assert RuleVersion.objects.get(item=review).amount is None
    assert RuleVersion.objects.get(item=instant).rule in (
        {"in": [V("kind"), ["company", "individual"]]}, {"and": [{"in": [V("kind"), ["company", "individual"]]}]})

    # the document lists its three items, one of each mode
    go(page, f"/policies/documents/{doc.pk}/")
    for name in ("规上工业企业营收奖励", "市场主体数字化改造补助", "工业企业技术改造项目补助"):
        expect(page.locator(".item-list")).to_contain_text(name)
    for mode in ("免申即享", "即申即享", "依申报"):
        expect(page.locator(".item-list")).to_contain_text(mode)
    shot(page, "policy-journey-document-with-items")

    # publishing asked for a re-match of each item after commit: queued for the worker (the database
    # backend) or already run (YINGSHANG_TASKS=immediate); then the full match, as the daily job does
    if settings.TASKS["default"]["BACKEND"].endswith("DatabaseBackend"):
        from django_tasks_db.models import DBTaskResult

        queued = DBTaskResult.objects.filter(task_path__endswith=".match_items_task")
        assert sorted(r.args_kwargs["kwargs"]["item_ids"] for r in queued) == [[auto.pk], [instant.pk], [review.pk]]
    matching.match_all()
    assert set(Match.objects.values_list("item__code", "enterprise_id")) == {
        ("MS-21", c.ent_a.pk), ("JS-21", c.ent_a.pk), ("JS-21", c.ent_b.pk), ("YS-21", c.ent_a.pk)}
    go(page, f"/policies/items/{auto.pk}/")
    expect(page.locator("#figures .figs > div").first).to_contain_text("1")
    submit(page, "#figures a:has-text('符合条件的企业')")
    expect(page.locator("h1")).to_contain_text("1")
    expect(page.locator("#match-table")).to_contain_text(c.ent_a.name)
    expect(page.locator("#match-table")).not_to_contain_text(c.ent_b.name)
    go(page, f"/policies/items/{instant.pk}/matches/")
    expect(page.locator("#match-table")).to_contain_text(c.ent_a.name)
    expect(page.locator("#match-table")).to_contain_text(c.ent_b.name)
    shot(page, "policy-journey-matches")

    # enterprise A on its phone: the message, the home card, 我的政策 with all three
    ph = phone_page
    as_user(ph, "ent_a")
    expect(ph.locator("#home-policies")).to_contain_text("您符合 3 项政策")
    shot(ph, "policy-journey-phone-home")
    go(ph, "/inbox/")
    inbox = ph.locator("main")
    for name in ("规上工业企业营收奖励", "市场主体数字化改造补助", "工业企业技术改造项目补助"):
        expect(inbox).to_contain_text(name)
    expect(inbox).to_contain_text("未读")
    no_sideways_scroll(ph)
    shot(ph, "policy-journey-phone-inbox")
    go(ph, "/policies/mine/")
    qualified = ph.locator("#qualified")
    expect(ph.locator("#n-qualified")).to_have_text("3")
    expect(qualified.locator(".benefit:has-text('规上工业企业营收奖励')")).to_contain_text("25,000.00 元")
    expect(qualified.locator(".benefit:has-text('规上工业企业营收奖励')")).to_contain_text("无需申请")
    expect(qualified.locator(".benefit:has-text('市场主体数字化改造补助')")).to_contain_text("5,000.00 元")
    expect(qualified.locator(".benefit:has-text('市场主体数字化改造补助') .apply-btn")).to_have_text("立即申请")
    expect(qualified.locator(".benefit:has-text('工业企业技术改造项目补助') .apply-btn")).to_have_text("在线申报")
    no_sideways_scroll(ph)
    shot(ph, "policy-journey-phone-mine-a")

    # enterprise B sees only what it matches: the instant item, not A's manufacturing items
    as_user(ph, "ent_b")
    go(ph, "/inbox/")
    inbox = ph.locator("main")
    expect(inbox).to_contain_text("市场主体数字化改造补助")
    expect(inbox).not_to_contain_text("规上工业企业营收奖励")
    go(ph, "/policies/mine/")
    expect(ph.locator("#n-qualified")).to_have_text("1")
    expect(ph.locator("#qualified")).to_contain_text("市场主体数字化改造补助")
    expect(ph.locator("#qualified")).not_to_contain_text("规上工业企业营收奖励")
    expect(ph.locator("#qualified")).not_to_contain_text("工业企业技术改造项目补助")
    no_sideways_scroll(ph)
    shot(ph, "policy-journey-phone-mine-b")


# --------------------------------------------------------------------------------------------- 2. 依申报 on a phone


def test_apply_review_on_a_phone_through_correction_decision_notice_to_paid(page, phone_page, browser, live_server):
    c = build_county()
    today = dt.date.today()
    doc = published_document(c)
    it = published_item(c, doc, "YS-31", "apply_review", rule=INDUSTRY_C, name="工业企业技术改造项目补助",
                        materials=[{"name": "项目备案证明"}, {"name": "设备购置发票", "required": False}])
    matching.match_all()
    record, invoice = it.materials.order_by("id")

    # the enterprise applies on its phone from 我的政策
    ph = phone_page
    as_user(ph, "ent_a")
    go(ph, "/policies/mine/")
    submit(ph, "#qualified .apply-btn")
    expect(ph.locator("h1")).to_contain_text("在线申报：工业企业技术改造项目补助")
    expect(ph.locator("#contact_phone")).to_have_value("13912345678")
    ph.fill("#contact_name", "王经理")
    ph.set_input_files(f"#file_{record.pk}", files=[pdf("项目备案证明.pdf")])
    ph.fill("#statement", "新购细纱机 20 台，投资 800 万元。")
    no_sideways_scroll(ph)
    shot(ph, "policy-journey-phone-apply")
    submit(ph, "#submit-apply")
    expect(ph.locator(".msg.success")).to_contain_text("申报已提交")
    expect(ph.locator("#status-tag")).to_have_text("待受理")
    app = Application.objects.get()
    assert app.contact_name == "王经理" and app.materials.get().material == record

    # the department's handler accepts and asks for the invoice
    as_user(page, "handler_a")
    go(page, f"/policies/applications/?item={it.pk}")
    submit(page, f"#application-table a:has-text('{app.number}')")
    expect(page.locator("#materials")).to_contain_text("项目备案证明.pdf")
    submit(page, "#act-accept button[type=submit]")
    expect(page.locator(".msg.success")).to_contain_text("已受理")
    expect(page.locator("#status-tag")).to_have_text("审核中")
    expect(page.locator("#act-decide")).to_have_count(0)  # the head decides, not the handler
    page.locator("#act-correction label:has-text('设备购置发票') input").check()
    page.fill("#cr-note", "请补充设备购置发票（加盖公章）")
    submit(page, "#act-correction button[type=submit]")
    expect(page.locator(".msg.success")).to_contain_text("补正告知已发出")
    expect(page.locator("#status-tag")).to_have_text("补正中")

    # the enterprise brings the invoice on its phone
    go(ph, f"/policies/applications/{app.pk}/")
    expect(ph.locator("#status-tag")).to_have_text("补正中")
    box = ph.locator("#act-submit-correction")
    expect(box).to_contain_text("请补充设备购置发票（加盖公章）")
    ph.set_input_files(f"#cf_{invoice.pk}", files=[pdf("设备购置发票.pdf")])
    ph.fill("#cs-statement", "已补充发票")
    no_sideways_scroll(ph)
    shot(ph, "policy-journey-phone-correction")
    submit(ph, "#act-submit-correction button[type=submit]")
    expect(ph.locator(".msg.success")).to_contain_text("补正材料已提交")
    expect(ph.locator("#status-tag")).to_have_text("审核中")
    expect(ph.locator("#materials")).to_contain_text("设备购置发票.pdf")

    # the department head approves with a reason and an amount
    as_user(page, "head_a")
    go(page, f"/policies/applications/{app.pk}/")
    expect(page.locator("#act-decide")).to_contain_text("该事项无金额公式，请填写核定金额")
    page.fill("#ap-amount", "80000")
    page.fill("#ap-reason", "项目真实，材料齐全，按设备投资额的 10% 核定")
    submit(page, "#act-decide form button[type=submit] >> nth=0")
    expect(page.locator(".msg.success")).to_contain_text("审核通过，已进入公示")
    expect(page.locator("#status-tag")).to_have_text("公示中")
    expect(page.locator("#amount")).to_contain_text("80,000.00")
    shot(page, "policy-journey-approved")

    # on public notice: anyone, not logged in, on a phone
    public = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    anon = public.new_page()
    anon.goto(live_server.url + "/policies/notices/")
    row = anon.locator(f"#notice-apps tr:has-text('{c.ent_a.name}')")
    expect(row).to_contain_text("工业企业技术改造项目补助")
    expect(row).to_contain_text("80,000.00")
    assert anon.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    shot(anon, "policy-journey-phone-public-notices")
    submit(anon, f"#notice-apps tr:has-text('{c.ent_a.name}') a")
    expect(anon.locator("h1")).to_contain_text("审核通过公示")
    expect(anon.locator("dl.kv")).to_contain_text("项目真实，材料齐全")
    expect(anon.locator("dl.kv")).to_contain_text("公示中")
    assert anon.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    shot(anon, "policy-journey-phone-public-notice")
    public.close()

    # the notice period has passed (moved back in the data rather than waited for); the daily sweep
    Application.objects.filter(pk=app.pk).update(notice_start=today - dt.timedelta(days=8),
                                                 notice_end=today - dt.timedelta(days=1))
    Payout.objects.filter(application=app).update(payable_on=today)
    assert services.policies_sweep() == {"applications": 1, "lists": 0}
    go(ph, f"/policies/applications/{app.pk}/")
    expect(ph.locator("#status-tag")).to_have_text("已批准")
    expect(ph.locator("#payouts")).to_contain_text("待拨付")

    # the enterprise sets its payee account on the phone
    go(ph, "/policies/mine/")
    ph.fill("#account_no", "6222020000000001")
    ph.fill("#bank_name", "中国工商银行瑞金支行")
    submit(ph, "#account button[type=submit]")
    expect(ph.locator(".msg.success")).to_contain_text("收款账户已保存")

    # the office: a batch, the bank file, the confirmation
    as_user(page, "dispatcher")
    go(page, "/policies/batches/")
    expect(page.locator("#new-batch")).to_contain_text("可拨付：1 笔，80,000.00 元")
    submit(page, "#make-batch")
    expect(page.locator("#status-tag")).to_have_text("待导出")
    with page.expect_download() as dl:
        page.click("#export-btn")
    assert dl.value.suggested_filename.endswith(".csv")
    csv = open(dl.value.path(), "rb").read().decode("utf-8-sig")
    payout = Payout.objects.get(application=app)
    assert payout.number in csv and "80000.00" in csv and "6222020000000001" in csv
    page.reload()
    expect(page.locator("#status-tag")).to_have_text("已导出待回执")
    receipt = f"兑现编号,结果,银行流水号,失败原因\r\n{payout.number},成功,B20261201,\r\n".encode()
    page.set_input_files("#confirm-file", files=[{"name": "回执.csv", "mimeType": "text/csv", "buffer": receipt}])
    submit(page, "#confirm-btn")
    expect(page.locator(".msg.success")).to_contain_text("拨付成功 1")
    expect(page.locator("#status-tag")).to_have_text("已完成")
    shot(page, "policy-journey-batch-closed")
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID and PayoutBatch.objects.get().status == PayoutBatch.Status.CLOSED

    # the enterprise sees it paid on its phone
    go(ph, "/policies/payouts/")
    row = ph.locator(f"#payout-table tr:has-text('{payout.number}')")
    expect(row).to_contain_text("已拨付")
    expect(row).to_contain_text("80,000.00")
    expect(ph.locator("#headline")).to_contain_text("已到账 80,000.00 元")
    no_sideways_scroll(ph)
    shot(ph, "policy-journey-phone-paid")
    go(ph, f"/policies/applications/{app.pk}/")
    expect(ph.locator("#payouts")).to_contain_text("已拨付")
    for step in ("提交申报", "受理", "要求补正", "补正提交", "审核通过（公示）"):
        expect(ph.locator("#timeline")).to_contain_text(step)
    no_sideways_scroll(ph)
    shot(ph, "policy-journey-phone-application-paid")


# --------------------------------------------------------------------------------------------- 3. only their own


def test_an_enterprise_sees_only_its_own_applications_explanations_and_payouts(phone_page):
    c = build_county()
    doc = published_document(c)
    kinds = {"in": [V("kind"), ["company", "individual"]]}
    instant = published_item(c, doc, "JS-41", "instant", rule=kinds, amount=0.5, name="市场主体数字化改造补助")
    review = published_item(c, doc, "YS-41", "apply_review", rule=INDUSTRY_C, name="工业企业技术改造项目补助",
                            materials=[{"name": "项目备案证明"}])
    matching.match_all()
    # A: one instant payout and one 依申报 application with a file; B: one instant payout
    a_instant = services.application_apply(actor=c.ent_user_a, item=instant, contact_name="王经理", contact_phone="139")
    mat = review.materials.get()
    att = upload("项目备案证明.pdf", c.ent_user_a)
    a_review = services.application_apply(actor=c.ent_user_a, item=review, contact_name="王经理", contact_phone="139",
                                          materials={mat.pk: [att]})
    b_instant = services.application_apply(actor=c.ent_user_b, item=instant, contact_name="李四", contact_phone="138")
    pay_a = Payout.objects.get(application=a_instant)
    pay_b = Payout.objects.get(application=b_instant)

    ph = phone_page
    as_user(ph, "ent_b")
    # A's applications and A's file: the 403 page
    for path in (f"/policies/applications/{a_review.pk}/", f"/policies/applications/{a_instant.pk}/",
                 f"/policies/applications/{a_review.pk}/files/{att.pk}/"):
        resp = go(ph, path)
        assert resp.status == 403, path
        expect(ph.locator(".msg.error")).to_contain_text("无权查看该申报")
        expect(ph.locator("body")).not_to_contain_text(c.ent_a.name)
    no_sideways_scroll(ph)
    shot(ph, "policy-journey-phone-403")
    # acting on A's application is refused the same way, and changes nothing
    token = next(k["value"] for k in ph.context.cookies() if k["name"] == "csrftoken")
    resp = ph.request.post(ph.base + f"/policies/applications/{a_review.pk}/act/withdraw/",
                           headers={"X-CSRFToken": token, "Referer": ph.base + "/"}, max_redirects=0)
    assert resp.status == 403 and "无权查看该申报" in resp.text()
    assert Application.objects.get(pk=a_review.pk).status == Application.Status.SUBMITTED
    # the explanation: an enterprise only ever sees its own, whatever enterprise it names
    resp = go(ph, f"/policies/items/{review.pk}/explain/?enterprise={c.ent_a.pk}")
    assert resp.status == 200
    expect(ph.locator("dl.kv")).to_contain_text(c.ent_b.name)
    expect(ph.locator("body")).not_to_contain_text(c.ent_a.name)
    expect(ph.locator("#verdict")).to_contain_text("不符合条件")
    # the item's list of matched enterprises is for staff
    resp = go(ph, f"/policies/items/{review.pk}/matches/")
    assert resp.status == 403
    # 我的兑现 and 我的申报: only B's rows
    go(ph, "/policies/payouts/")
    expect(ph.locator("#payout-table")).to_contain_text(pay_b.number)
    expect(ph.locator("#payout-table")).not_to_contain_text(pay_a.number)
    expect(ph.locator("#total-n")).to_have_text("1")
    expect(ph.locator("#total-yuan")).to_have_text("5,000.00")
    expect(ph.locator("body")).not_to_contain_text(c.ent_a.name)
    no_sideways_scroll(ph)
    shot(ph, "policy-journey-phone-payouts-b")
    go(ph, "/policies/applications/")
    expect(ph.locator("#application-table")).to_contain_text(b_instant.number)
    expect(ph.locator("#application-table")).not_to_contain_text(a_review.number)
    expect(ph.locator("#application-table")).not_to_contain_text(a_instant.number)
    # and A still sees its own
    as_user(ph, "ent_a")
    go(ph, f"/policies/applications/{a_review.pk}/")
    expect(ph.locator("#status-tag")).to_have_text("待受理")
    go(ph, "/policies/payouts/")
    expect(ph.locator("#payout-table")).to_contain_text(pay_a.number)
    expect(ph.locator("#payout-table")).not_to_contain_text(pay_b.number)
