"""Browser journeys through the policy pages: a policy officer builds a rule with the condition builder
(no JSON typed), sees it in Chinese and a validation error for a wrong value, simulates, saves and
publishes; an enterprise on a phone sees what it qualifies for and what it is close to and applies for
an instant item; a 免申即享 list goes through department review and public notice to a paid batch."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from playwright.sync_api import expect
from tests.browser.conftest import PHONE, log_in, no_sideways_scroll, shot
from tests.conftest import PASSWORD, build_county

from yingshang.policies import matching, services
from yingshang.policies.models import Application, BenefitItem, Payout, PayoutBatch, PayoutList, RuleVersion

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("policy_facts")]

V = lambda key: {"var": key}  # noqa: E731
_NUMBERS = itertools.count(100)
RULE = {"and": [{"prefix": [V("industry_code"), ["C"]]}, {">=": [V("figures.revenue_wan.last"), 2000]},
                {"==": [V("kind"), "company"]}]}


def as_user(pg, username: str) -> None:  # type: ignore[no-untyped-def]
    pg.context.clear_cookies()
    log_in(pg, username, PASSWORD)


def submit(pg, selector: str) -> None:  # type: ignore[no-untyped-def]
    pg.click(selector)
    pg.wait_for_load_state("networkidle")


def document(c, number: str = "瑞府发〔2026〕3号"):  # type: ignore[no-untyped-def]
    """A document in force today, whatever day the suite runs."""
    today = dt.date.today()
    doc = services.document_create(
        actor=c.dispatcher, title="关于支持工业企业高质量发展的若干政策措施", issuer="瑞金市人民政府", number=number,
        issued_on=today - dt.timedelta(days=40), effective_on=today - dt.timedelta(days=30),
        expires_on=today + dt.timedelta(days=700), interpretation="支持规模以上工业企业。", topics=["工业"])
    return services.document_publish(actor=c.dispatcher, document=doc)


def item(c, code: str, mode: str, *, rule=RULE, amount=None, doc=None, publish=True, **kw) -> BenefitItem:  # type: ignore[no-untyped-def]
    it = services.item_create(actor=c.dispatcher, document=doc or document(c, f"瑞府发〔2026〕{next(_NUMBERS)}号"),
                              code=code, name=kw.pop("name", f"工业企业奖励 {code}"), mode=mode, department=c.dept_a,
                              materials=kw.pop("materials", [{"name": "营业执照"}] if mode != "auto_grant" else []), **kw)
    if publish:
        services.item_set_rule(actor=c.dispatcher, item=it, rule=rule,
                               amount=amount if amount is not None else {"min": [{"*": [0.0001, V(
                                   "figures.revenue_wan.last")]}, 5]})
        it = services.item_publish(actor=c.dispatcher, item=it)
    return it


def test_officer_builds_a_rule_sees_chinese_and_errors_simulates_saves_and_publishes(page):
    c = build_county()
    it = item(c, "GY-01", "auto_grant", publish=False, budget_fen=30_000_000, name="规上工业企业奖励")
    as_user(page, "handler_a")
    page.goto(page.base + f"/policies/items/{it.pk}/")
    submit(page, "#rule-link")
    expect(page.locator("#rb-preview")).to_contain_text("请选择数据项")
    conds = page.locator("#rb-tree .rb-cond")
    # 1. industry: manufacturing (a code prefix)
    conds.nth(0).locator(".rb-field-select").select_option("industry_code")
    conds.nth(0).locator("input.rb-v").fill("C")
    # 2. last year's revenue ≥ … typed wrong first: the server's error shows next to that condition
    page.click("#rb-tree > .rb-group > .buttons .rb-add-cond")
    conds.nth(1).locator(".rb-field-select").select_option("figures.revenue_wan")
    conds.nth(1).locator("input.rb-v").fill("两千")
    expect(conds.nth(1).locator(".rb-err")).to_contain_text("此处应为数值")
    expect(page.locator("#rb-preview")).to_contain_text("处需要修改")  # this value, and the amount not set yet
    shot(page, "policy-rule-builder-error")
    conds.nth(1).locator("input.rb-v").fill("2000")
    expect(conds.nth(1).locator(".rb-err")).to_have_text("")
    # 3. kind: a company (an enum, ticked)
    page.click("#rb-tree > .rb-group > .buttons .rb-add-cond")
    conds.nth(2).locator(".rb-field-select").select_option("kind")
    conds.nth(2).locator(".rb-checks label:has-text('企业') input").check()
    # an unknown industry code is refused too
    conds.nth(0).locator("input.rb-v").fill("C, C99")
    expect(conds.nth(0).locator(".rb-err")).to_contain_text("C99")
    conds.nth(0).locator("input.rb-v").fill("C")
    expect(page.locator("#rb-say")).to_contain_text("行业属于 制造业（C） 且 上年营业收入（万元） ≥ 2000 且 主体类型属于 企业")
    # the amount: 0.01 % of last year's revenue, at most 5 万元
    page.select_option("#rb-amount-mode", "pct")
    page.select_option("#rb-pct-field", "figures.revenue_wan")
    page.fill("#rb-pct", "0.01")
    page.fill("#rb-cap", "5")
    expect(page.locator("#rb-say-amount")).to_contain_text("较小值(0.0001 × 上年营业收入（万元）, 5)")
    page.locator("details.rb-json summary").click()
    expect(page.locator("#rb-json")).to_contain_text('"prefix"')
    # simulate over the registry: the one manufacturing company of 25000 万元 → 2.5 万元 of 30 万元
    page.click("#rb-simulate")
    expect(page.locator("#sim-qualified")).to_have_text("1")
    expect(page.locator("#sim-total")).to_have_text("2.5")
    expect(page.locator("#sim-result")).to_contain_text("象湖镇")
    expect(page.locator("#sim-sample")).to_contain_text("瑞金市红都纺织有限公司")
    shot(page, "policy-rule-builder-simulation")
    assert not RuleVersion.objects.exists()  # nothing saved by previews and simulations
    page.fill("input[name=note]", "按文件第三条设定")
    submit(page, "#rb-save")
    expect(page.locator(".msg.success")).to_contain_text("规则已保存为第 1 版")
    rv = RuleVersion.objects.get()
    assert rv.rule == {"and": [{"prefix": [V("industry_code"), ["C"]]},
                               {">=": [V("figures.revenue_wan.last"), 2000]}, {"in": [V("kind"), ["company"]]}]}
    assert rv.amount == {"min": [{"*": [0.0001, V("figures.revenue_wan.last")]}, 5]}
    assert rv.note == "按文件第三条设定" and rv.author == c.handler_a
    expect(page.locator("#versions")).to_contain_text("初始版本")
    # the saved rule comes back into the builder as forms, not as raw JSON
    assert page.locator("#rb-tree .rb-raw").count() == 0
    expect(page.locator("#rb-tree .rb-cond").nth(1).locator("input.rb-v")).to_have_value("2000")
    expect(page.locator("#rb-pct")).to_have_value("0.01")
    submit(page, "#publish-item")
    expect(page.locator("#status-tag")).to_have_text("已发布")
    shot(page, "policy-item-published")
    assert BenefitItem.objects.get(pk=it.pk).status == BenefitItem.Status.PUBLISHED


def test_enterprise_on_a_phone_sees_qualify_and_close_and_applies_for_an_instant_item(phone_page):
    c = build_county()
    doc = document(c)
    instant = item(c, "JS-01", "instant", doc=doc, name="工业企业质量认证补助")
    item(c, "JS-02", "instant", doc=doc, name="高新技术企业认定奖励",
         rule={"and": [{"prefix": [V("industry_code"), ["C"]]}, V("is_high_tech")]})
    matching.match_all()
    ph = phone_page
    log_in(ph, "ent_a", PASSWORD)
    expect(ph.locator("#home-policies")).to_contain_text("您符合 1 项政策")
    ph.click("#home-policies >> text=查看我的政策")
    ph.wait_for_load_state("networkidle")
    expect(ph.locator("#qualified")).to_contain_text("工业企业质量认证补助")
    expect(ph.locator("#qualified")).to_contain_text("25,000.00 元")
    expect(ph.locator("#close")).to_contain_text("高新技术企业认定奖励")
    expect(ph.locator("#close")).to_contain_text("是高新技术企业")
    no_sideways_scroll(ph)
    shot(ph, "policy-phone-mine")
    # why not the second one: every condition with the actual value
    ph.click("#close >> text=逐条核对")
    ph.wait_for_load_state("networkidle")
    expect(ph.locator("#explain-table")).to_contain_text("不满足")
    expect(ph.locator("#explain-table")).to_contain_text("行业：棉纺纱加工（C1711）")
    no_sideways_scroll(ph)
    ph.go_back()
    ph.wait_for_load_state("networkidle")
    ph.click("#qualified .apply-btn")
    ph.wait_for_load_state("networkidle")
    expect(ph.locator("h1")).to_contain_text("工业企业质量认证补助")
    mat = instant.materials.get()
    ph.set_input_files(f"#file_{mat.pk}", files=[{"name": "营业执照.pdf", "mimeType": "application/pdf",
                                                   "buffer": b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"}])
    no_sideways_scroll(ph)
    shot(ph, "policy-phone-apply")
    submit(ph, "#submit-apply")
    expect(ph.locator(".msg.success")).to_contain_text("即申即享：已核准，兑现金额 25000.00 元")
    expect(ph.locator("#status-tag")).to_have_text("已批准")
    no_sideways_scroll(ph)
    shot(ph, "policy-phone-approved")
    app = Application.objects.get()
    assert app.status == Application.Status.APPROVED and Payout.objects.get(application=app).amount_fen == 2_500_000


def test_auto_grant_list_goes_through_review_and_notice_to_a_paid_batch(page, browser, live_server):
    c = build_county()
    from tests.integration.test_policies_services import add_company

    ent_c = add_company(c, 1, revenue="8000")
    it = item(c, "MS-01", "auto_grant", name="规上工业企业营收增长奖励", budget_fen=100_000_000)
    matching.match_all()
    # the office proposes the list from the item's page
    as_user(page, "dispatcher")
    page.goto(page.base + f"/policies/items/{it.pk}/")
    submit(page, "#propose-form button[type=submit]")
    expect(page.locator("#status-tag")).to_have_text("待部门审核")
    plist = PayoutList.objects.get()
    expect(page.locator("#n-included")).to_have_text("2")
    # the department head takes one enterprise off with a reason and completes the review
    as_user(page, "head_a")
    page.goto(page.base + f"/policies/lists/{plist.pk}/")
    row = page.locator(f"#entries tr:has-text('{ent_c.name}')")
    row.locator("input[name=reason]").fill("已享受同类政策")
    submit(page, f"#entries tr:has-text('{ent_c.name}') button[type=submit]")
    expect(page.locator(f"#entries tr:has-text('{ent_c.name}')")).to_contain_text("已剔除")
    expect(page.locator("#n-included")).to_have_text("1")
    shot(page, "policy-list-review")
    submit(page, "#review-complete")
    expect(page.locator("#status-tag")).to_have_text("审核完成待公示")
    # the office puts it on public notice
    as_user(page, "dispatcher")
    page.goto(page.base + f"/policies/lists/{plist.pk}/")
    submit(page, "#publish-notice")
    expect(page.locator("#status-tag")).to_have_text("公示中")
    # anyone sees the notice: names and amounts, not the excluded enterprise
    public = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True)
    anon = public.new_page()
    anon.goto(live_server.url + f"/policies/lists/{plist.pk}/")
    expect(anon.locator("#notice-table")).to_contain_text(c.ent_a.name)
    expect(anon.locator("#notice-table")).to_contain_text("25,000.00")
    expect(anon.locator("#notice-table")).not_to_contain_text(ent_c.name)
    expect(anon.locator("#notice-period")).to_contain_text("公示中")
    assert anon.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    shot(anon, "policy-phone-public-notice")
    public.close()
    # the notice period has passed (moved back in the data rather than waiting for it)
    today = dt.date.today()
    PayoutList.objects.filter(pk=plist.pk).update(notice_end=today - dt.timedelta(days=1))
    Payout.objects.filter(item=it).update(payable_on=today)
    services.payee_account_set(actor=c.dispatcher, enterprise=c.ent_a, account_name=c.ent_a.name,
                               account_no="6222020000000001", bank_name="中国工商银行瑞金支行")
    page.reload()
    submit(page, "#finalize")
    expect(page.locator("#status-tag")).to_have_text("已生成兑现")
    # into a batch, the bank file out, the confirmation in
    page.goto(page.base + "/policies/batches/")
    expect(page.locator("#new-batch")).to_contain_text("可拨付：1 笔，25,000.00 元")
    submit(page, "#make-batch")
    expect(page.locator("#status-tag")).to_have_text("待导出")
    with page.expect_download() as dl:
        page.click("#export-btn")
    csv = open(dl.value.path(), "rb").read().decode("utf-8-sig")
    payout = Payout.objects.get(item=it)
    assert payout.number in csv and "25000.00" in csv
    page.reload()
    expect(page.locator("#status-tag")).to_have_text("已导出待回执")
    receipt = f"兑现编号,结果,银行流水号,失败原因\r\n{payout.number},成功,B20260001,\r\n".encode()
    page.set_input_files("#confirm-file", files=[{"name": "回执.csv", "mimeType": "text/csv", "buffer": receipt}])
    submit(page, "#confirm-btn")
    expect(page.locator(".msg.success")).to_contain_text("拨付成功 1")
    expect(page.locator("#status-tag")).to_have_text("已完成")
    shot(page, "policy-batch-closed")
    page.goto(page.base + "/policies/payouts/")
    expect(page.locator("#headline")).to_contain_text("兑现资金 2.5 万元，惠及市场主体 1 家")
    expect(page.locator("#total-yuan")).to_have_text("25,000.00")
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID and PayoutBatch.objects.get().status == PayoutBatch.Status.CLOSED
