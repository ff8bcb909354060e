"""Browser journeys through the appeal pages: submit on a phone, dispatch 1+1+N, sign, contact,
reply, rate; a return and re-dispatch; an approved extension; overdue escalation; a reopening."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.browser.conftest import log_in, no_sideways_scroll, shot
from tests.conftest import PASSWORD, build_county, submit_appeal

from yingshang.appeals import services
from yingshang.appeals.defaults import ensure_default_categories
from yingshang.appeals.models import Appeal

pytestmark = pytest.mark.django_db(transaction=True)


def as_user(pg, username: str) -> None:  # type: ignore[no-untyped-def]
    pg.context.clear_cookies()
    log_in(pg, username, PASSWORD)


def open_appeal(pg, appeal: Appeal) -> None:  # type: ignore[no-untyped-def]
    pg.goto(pg.base + f"/appeals/{appeal.pk}/")


def submit_form(pg, form: str, button: str = "button[type=submit]") -> None:  # type: ignore[no-untyped-def]
    pg.click(f"{form} {button}")
    pg.wait_for_load_state("networkidle")


def status_of(pg) -> str:  # type: ignore[no-untyped-def]
    return pg.inner_text("#status-tag").strip()


def dispatch_via_page(pg, appeal: Appeal, lead: str, assists: tuple[str, ...] = ()) -> None:  # type: ignore[no-untyped-def]
    open_appeal(pg, appeal)
    pg.select_option("#d-lead", label=lead)
    for name in assists:
        pg.check(f"#act-dispatch label:has-text('{name}') input")
    pg.select_option("#d-leader", label="leader")
    submit_form(pg, "#act-dispatch")


def test_main_journey_phone_submit_to_closed(page, phone_page):
    ensure_default_categories()
    build_county()
    ph = phone_page
    log_in(ph, "ent_a", PASSWORD)
    ph.click("nav >> text=诉求")
    ph.click("#new-appeal")
    ph.select_option("#category", label="水电气")
    ph.fill("#title", "园区厂房频繁停电")
    ph.fill("#content", "近一个月停电三次，影响生产，请协调供电公司。")
    ph.select_option("#urgency", label="急难愁盼")
    assert ph.input_value("#contact_phone") == "13912345678"  # the enterprise's own contact, prefilled
    ph.fill("#contact_name", "王经理")
    ph.check("input[name=show_name]")
    no_sideways_scroll(ph)
    shot(ph, "appeal-phone-submit-form")
    ph.click("#appeal-form button[type=submit]")
    ph.wait_for_url("**/appeals/*/")
    assert "诉求已提交" in ph.inner_text(".msg.success")
    assert status_of(ph) == "待派单"
    no_sideways_scroll(ph)
    shot(ph, "appeal-phone-submitted")
    appeal = Appeal.objects.get()
    assert (appeal.channel, appeal.urgency, appeal.show_name) == ("portal", "urgent", True)

    as_user(page, "dispatcher")
    page.click("nav >> text=诉求")
    assert "园区厂房频繁停电" in page.inner_text("#rows")
    shot(page, "appeal-list-dispatcher")
    page.click("text=园区厂房频繁停电")
    shot(page, "appeal-detail-dispatch-form")
    dispatch_via_page(page, appeal, "工业和信息化局", ("市场监督管理局",))
    assert status_of(page) == "待签收"
    assert page.inner_text("#lead-department") == "工业和信息化局"

    as_user(page, "handler_a")
    open_appeal(page, appeal)
    shot(page, "appeal-detail-handler-sign")
    submit_form(page, "#act-sign")
    assert status_of(page) == "办理中"
    page.fill("#c-note", "已电话联系王经理，约定现场查看")
    submit_form(page, "#act-contact")
    assert "已登记联系企业情况" in page.inner_text(".msg.success")
    page.check("#act-reply input[value=resolved]")
    page.fill("#p-reply", "已协调供电公司更换园区变压器，供电恢复稳定。")
    page.set_input_files("#p-files", files=[{"name": "供电整改报告.pdf", "mimeType": "application/pdf",
                                             "buffer": b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"}])
    submit_form(page, "#act-reply")
    assert status_of(page) == "待企业评价"
    shot(page, "appeal-detail-replied")

    ph.reload()
    assert "已协调供电公司" in ph.inner_text("#reply")
    with ph.expect_download() as dl:  # the enterprise downloads the reply's file from its timeline
        ph.click("#timeline >> text=供电整改报告.pdf")
    assert dl.value.suggested_filename == "供电整改报告.pdf"
    assert "协办" not in ph.inner_text("main") and "市场监督管理局" not in ph.inner_text("main")  # internal
    ph.check("#act-rate input[value=satisfied]")
    ph.fill("#t-comment", "响应很快")
    no_sideways_scroll(ph)
    shot(ph, "appeal-phone-rate")
    submit_form(ph, "#act-rate")
    assert status_of(ph) == "已办结"
    timeline = ph.inner_text("#timeline")
    for step in ("提交", "派单", "签收", "联系企业", "答复", "企业评价"):
        assert step in timeline
    no_sideways_scroll(ph)
    shot(ph, "appeal-phone-closed")
    assert Appeal.objects.get().status == "closed"


def test_return_and_redispatch(page):
    ensure_default_categories()
    c = build_county()
    appeal = services.appeal_dispatch(actor=c.dispatcher, appeal=submit_appeal(c), lead=c.dept_a)
    as_user(page, "handler_a")
    open_appeal(page, appeal)
    page.click("#act-sign summary")
    page.fill("#r-reason", "属市场监管职责，请改派市场监督管理局")
    submit_form(page, "#act-return")
    assert status_of(page) == "退回待重派"
    shot(page, "appeal-returned-handler")
    as_user(page, "dispatcher")
    open_appeal(page, appeal)
    assert "属市场监管职责" in page.inner_text("#timeline")
    assert "重新派单" in page.inner_text("#act-dispatch h2")
    dispatch_via_page(page, appeal, "市场监督管理局")
    assert status_of(page) == "待签收"
    assert page.inner_text("#lead-department") == "市场监督管理局"
    shot(page, "appeal-redispatched")
    assert Appeal.objects.get().return_count == 1


def test_extension_approved_moves_deadline(page):
    ensure_default_categories()
    c = build_county()
    appeal = services.appeal_sign(actor=c.handler_a, appeal=services.appeal_dispatch(
        actor=c.dispatcher, appeal=submit_appeal(c), lead=c.dept_a))
    before = appeal.resolve_due
    as_user(page, "handler_a")
    open_appeal(page, appeal)
    page.click("#act-extension-request summary")
    page.fill("#e-days", "3")
    page.fill("#e-reason", "需协调供电公司现场施工")
    submit_form(page, "#act-extension-request")
    assert "延期申请已提交" in page.inner_text(".msg.success")
    as_user(page, "head_a")
    open_appeal(page, appeal)
    assert "需协调供电公司现场施工" in page.inner_text("#act-extension-decide")
    shot(page, "appeal-extension-pending")
    page.fill("#x-note", "同意")
    submit_form(page, "#act-extension-decide", "button[value=approve]")
    assert "已批准延期" in page.inner_text(".msg.success")
    after = Appeal.objects.get().resolve_due
    assert after > before
    assert after.isoformat() in page.inner_text("#resolve-due")
    assert "延期审批" in page.inner_text("#timeline")
    shot(page, "appeal-extension-approved")


def test_overdue_escalation_shows_red(page):
    ensure_default_categories()
    c = build_county()
    appeal = services.appeal_sign(actor=c.handler_a, appeal=services.appeal_dispatch(
        actor=c.dispatcher, appeal=submit_appeal(c), lead=c.dept_a))
    # the clock moved forward: the deadline is long past
    Appeal.objects.filter(pk=appeal.pk).update(resolve_due=dt.date.today() - dt.timedelta(days=20))
    counts = services.appeal_sweep()
    assert counts["overdue"] == 1
    as_user(page, "handler_a")
    open_appeal(page, appeal)
    assert page.inner_text("#warning-tag") == "超期"
    assert "red" in page.get_attribute("#warning-tag", "class")
    assert "超期" in page.inner_text("#timeline")
    shot(page, "appeal-overdue-detail")
    page.goto(page.base + "/appeals/")
    assert "超期" in page.inner_text("#rows .tag.red")
    shot(page, "appeal-overdue-list")


def test_unsatisfied_then_reopened(page, phone_page):
    ensure_default_categories()
    c = build_county()
    appeal = services.appeal_sign(actor=c.handler_a, appeal=services.appeal_dispatch(
        actor=c.dispatcher, appeal=submit_appeal(c), lead=c.dept_a))
    services.appeal_reply(actor=c.handler_a, appeal=appeal, result="partial", reply="已联系供电公司",
                          explanation="线路改造需列入明年计划，已协调临时发电设备")
    ph = phone_page
    log_in(ph, "ent_a", PASSWORD)
    open_appeal(ph, appeal)
    ph.check("#act-rate input[value=unsatisfied]")
    ph.fill("#t-comment", "仍然停电")
    submit_form(ph, "#act-rate")
    assert status_of(ph) == "不满意待复核"
    as_user(page, "dispatcher")
    open_appeal(page, appeal)
    page.fill("#v-note", "请工信局再次协调，一周内恢复稳定供电")
    shot(page, "appeal-review")
    submit_form(page, "#act-review", "button[value=reopen]")
    assert status_of(page) == "办理中"
    assert "重新办理" in page.inner_text("#timeline")
    shot(page, "appeal-reopened")
    ph.reload()
    assert status_of(ph) == "办理中"
    no_sideways_scroll(ph)
    shot(ph, "appeal-phone-reopened")
    assert Appeal.objects.get().reopen_count == 1
