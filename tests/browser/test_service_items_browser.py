"""Browser journeys through the 政务服务 pages: the office builds an item, a bundle and a branch of
each life-event tree; a phone user scans the QR guide, applies online, gets a correction notice,
uploads, is approved and rates; staff accept with 容缺, extend, decide; a bad rating goes through
rectification; a second rating on the same channel is refused."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

import pytest
from tests.browser.conftest import log_in, no_sideways_scroll, shot
from tests.conftest import PASSWORD, County, build_county

from yingshang.core.services import attachment_store
from yingshang.service_items import services
from yingshang.service_items.models import (
    Bundle,
    Case,
    CaseMaterial,
    Rating,
    Rectification,
    ServiceItem,
    TreeNode,
)

pytestmark = pytest.mark.django_db(transaction=True)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def pdf(name: str) -> dict[str, Any]:
    return {"name": name, "mimeType": "application/pdf", "buffer": PDF}


def as_user(pg, username: str) -> None:  # type: ignore[no-untyped-def]
    pg.context.clear_cookies()
    log_in(pg, username, PASSWORD)


def submit(pg, selector: str) -> None:  # type: ignore[no-untyped-def]
    """Click a submit button and wait for the POST-redirect-GET to land."""
    with pg.expect_navigation():
        pg.click(selector)
    pg.wait_for_load_state("networkidle")


def submit_form(pg, form: str, button: str = "button[type=submit]") -> None:  # type: ignore[no-untyped-def]
    submit(pg, f"{form} {button}")


def success(pg) -> str:  # type: ignore[no-untyped-def]
    assert pg.locator(".msg.error").count() == 0, pg.inner_text(".msg.error")
    return pg.inner_text(".msg.success")


def status_of(pg) -> str:  # type: ignore[no-untyped-def]
    return pg.inner_text("#status-tag").strip()


def open_case(pg, case: Case) -> None:  # type: ignore[no-untyped-def]
    pg.goto(pg.base + f"/services/cases/{case.pk}/")


def row_pk(case: Case, name: str) -> int:
    return CaseMaterial.objects.get(case=case, name=name).pk


# ------------------------------------------------------------------------------------------- fixtures


@dataclass
class Catalogue:
    c: County
    item: ServiceItem  # 工信局, 承诺 5 of 20 days, online; 营业执照 may be tolerated (容缺)
    other: ServiceItem  # 市场监管局, 承诺 3 of 20 days, online; shares 申请书 and 营业执照


def other_item(c: County) -> ServiceItem:
    d = c.dispatcher
    item = services.item_create(
        actor=d,
        code="360781-SC-001",
        name="食品经营许可",
        item_type="01",
        department=c.dept_b,
        legal_days=20,
        promised_days=3,
        online=True,
        window="综合窗口5号",
    )
    services.material_add(actor=d, item=item, name="申请书")
    services.material_add(actor=d, item=item, name="营业执照")
    return item


def catalogue() -> Catalogue:
    c = build_county()
    d = c.dispatcher
    item = services.item_create(
        actor=d,
        code="360781-GX-001",
        name="工业企业技术改造项目备案",
        item_type="01",
        department=c.dept_a,
        legal_days=20,
        promised_days=5,
        levels=["county"],
        online=True,
        window="综合窗口3号",
        conditions="在本县登记的工业企业，项目符合产业政策",
        fees="不收费",
        legal_basis="《企业投资项目核准和备案管理条例》",
    )
    services.material_add(actor=d, item=item, name="申请书", note="法定代表人签字")
    services.material_add(actor=d, item=item, name="营业执照", form="copy", copies=2, tolerance_allowed=True)
    services.material_add(actor=d, item=item, name="项目可行性报告")
    return Catalogue(c, item, other_item(c))


def delivered_online_case(cat: Catalogue) -> Case:
    """An online application of 红都纺织 (ent_a) for the item, accepted, approved and delivered."""
    c = cat.c
    provided = {
        m.pk: attachment_store(upload=io.BytesIO(PDF), name=f"{m.name}.pdf", actor=c.ent_user_a)
        for m in cat.item.materials.all()
    }
    case = services.case_apply(actor=c.ent_user_a, item=cat.item, enterprise=c.ent_a, provided=provided)
    services.case_accept(actor=c.handler_a, case=case)
    services.case_decide(actor=c.handler_a, case=case, approve=True)
    return services.case_deliver(actor=c.handler_a, case=case, method="electronic")


# ------------------------------------------------------------------------------------------- 1. the office


def test_office_builds_item_bundle_and_tree_branches(page):
    c = build_county()
    other = other_item(c)
    as_user(page, "dispatcher")
    page.goto(page.base + "/services/")
    with page.expect_navigation():
        page.click("#new-item")

    # the item
    page.fill("#f-code", "360781-GX-001")
    page.fill("#f-name", "工业企业技术改造项目备案")
    page.select_option("#f-type", "01")
    page.select_option("#f-dept", label="工业和信息化局")
    assert page.is_checked("#item-form input[name=levels][value=county]")  # the default level
    page.fill("#f-legal", "20")
    page.fill("#f-promised", "5")
    page.check("#item-form input[name=online]")
    page.fill("#f-window", "综合窗口3号")
    page.fill("#f-cond", "在本县登记的工业企业，项目符合产业政策")
    page.fill("#f-fees", "不收费")
    shot(page, "svc-office-item-new")
    submit_form(page, "#item-form")
    assert "/services/items/" in page.url
    assert "事项已创建" in success(page)
    item = ServiceItem.objects.get(code="360781-GX-001")
    assert (item.department_id, item.promised_days, item.online) == (c.dept_a.pk, 5, True)

    # its materials, one of them may be tolerated (容缺)
    for name, form, copies, tolerated in (
        ("申请书", "original", "1", False),
        ("营业执照", "copy", "2", True),
        ("项目可行性报告", "original", "1", False),
    ):
        page.fill("#n-name", name)
        page.select_option("#n-form", form)
        page.fill("#n-copies", copies)
        if tolerated:
            page.check("#material-add input[name=tolerance_allowed]")
        submit_form(page, "#material-add")
        assert f"已添加材料「{name}」" in success(page)
    assert page.locator("#materials form.mat-row[id^=material-]:not(#material-add)").count() == 3
    licence = item.materials.get(name="营业执照")
    assert page.is_checked(f"#material-{licence.pk} input[name=tolerance_allowed]")
    assert list(item.materials.values_list("name", "tolerance_allowed")) == [
        ("申请书", False),
        ("营业执照", True),
        ("项目可行性报告", False),
    ]
    shot(page, "svc-office-item-materials")

    # a bundle of the new item and 食品经营许可: one merged list of materials
    page.goto(page.base + "/services/")
    with page.expect_navigation():
        page.click("#new-bundle")
    page.fill("#b-code", "YJS-001")
    page.fill("#b-name", "开办食品加工厂")
    page.select_option("#b-lead", label="工业和信息化局")
    page.fill("#b-window", "一件事窗口")
    page.check("#pick-list label:has-text('工业企业技术改造项目备案') input")
    page.check("#pick-list label:has-text('食品经营许可') input")
    assert "5–8" in page.inner_text("#days-rule")  # longest single item to the sum of them
    page.fill("#b-days", "6")
    submit_form(page, "#bundle-form")
    assert "一件事已保存" in success(page)
    bundle = Bundle.objects.get(code="YJS-001")
    assert "允许范围 5–8" in page.inner_text("#bundle-rule")
    merged = page.locator("#merged ol > li")
    assert merged.count() == 3
    texts = {t.split()[0]: t for t in merged.all_inner_texts()}
    assert set(texts) == {"申请书", "营业执照", "项目可行性报告"}
    assert "2 个事项共用" in texts["申请书"] and "2 个事项共用" in texts["营业执照"]
    assert "可容缺" not in texts["营业执照"]  # 食品经营许可 does not tolerate it
    assert "2 份" in texts["营业执照"]  # the most copies
    assert "共用" not in texts["项目可行性报告"]
    shot(page, "svc-office-bundle-merged")

    # a branch of the enterprise tree holding the bundle, and one of the personal tree holding the item
    page.goto(page.base + "/services/tree/")
    assert page.input_value("#tree") == "enterprise"
    page.fill("#a-name", "企业开办")
    submit_form(page, "#add-node")
    assert "已添加「企业开办」" in success(page)
    root = TreeNode.objects.get(name="企业开办")
    page.fill("#a-name", "开办食品企业")
    page.select_option("#a-parent", str(root.pk))
    submit_form(page, "#add-node")
    branch = TreeNode.objects.get(name="开办食品企业")
    assert (branch.parent_id, branch.tree) == (root.pk, "enterprise")
    page.click(f"#node-{branch.pk} > summary")
    with page.expect_navigation():
        page.click(f"#node-{branch.pk} >> text=关联一件事和事项")
    page.check(f"#link input[name=bundles][value='{bundle.pk}']")
    page.fill("#pick-filter", "食品")
    assert page.is_hidden("#pick-list label:has-text('工业企业技术改造项目备案')")
    page.check(f"#link input[name=items][value='{other.pk}']")
    shot(page, "svc-office-tree-link")
    submit_form(page, "#link")
    assert "已更新「开办食品企业」" in success(page)
    assert "1 个一件事，1 个事项" in page.inner_text(f"#node-{branch.pk} > summary")

    with page.expect_navigation():
        page.select_option("#tree", "personal")
    assert page.input_value("#tree") == "personal"
    page.fill("#a-name", "就业创业")
    submit_form(page, "#add-node")
    personal = TreeNode.objects.get(name="就业创业")
    assert personal.tree == "personal" and "tree=personal" in page.url
    page.click(f"#node-{personal.pk} > summary")
    with page.expect_navigation():
        page.click(f"#node-{personal.pk} >> text=关联一件事和事项")
    page.check(f"#link input[name=items][value='{item.pk}']")
    submit_form(page, "#link")
    assert "0 个一件事，1 个事项" in page.inner_text(f"#node-{personal.pk} > summary")
    shot(page, "svc-office-tree-personal")
    assert list(branch.bundles.all()) == [bundle] and list(branch.items.all()) == [other]
    assert list(personal.items.all()) == [item]

    # the public catalogue shows them, to anyone
    page.context.clear_cookies()
    page.goto(page.base + "/services/")
    assert page.locator("#new-item").count() == 0
    items = page.inner_text("#item-table")
    assert "工业企业技术改造项目备案" in items and "食品经营许可" in items
    assert "开办食品加工厂" in page.inner_text(".bundle-grid")
    page.click("#tree-enterprise summary:has-text('企业开办')")
    ent_tree = page.locator("#tree-enterprise")
    assert "开办食品企业" in ent_tree.inner_text()
    assert ent_tree.locator("a.leaf:has-text('开办食品加工厂')").is_visible()
    assert ent_tree.locator("a.leaf:has-text('食品经营许可')").is_visible()
    page.click("#tree-personal summary:has-text('就业创业')")
    assert page.locator("#tree-personal a.leaf:has-text('工业企业技术改造项目备案')").is_visible()
    shot(page, "svc-catalogue-public")
    with page.expect_navigation():
        ent_tree.locator("a.leaf:has-text('开办食品加工厂')").click()
    assert "/services/guide/bundle/YJS-001/" in page.url
    assert page.locator("#materials ol.materials > li").count() == 3
    assert "6 个工作日" in page.inner_text("#facts")
    shot(page, "svc-guide-bundle-public")


# ------------------------------------------------------------------------------------------- 2. the journey


def test_phone_applies_by_qr_guide_through_rectification(page, phone_page):
    cat = catalogue()
    ph = phone_page

    # the enterprise scans the QR code at the window: the guide opens on the phone
    guide = ph.base + f"/services/guide/item/{cat.item.code}/"
    ph.goto(guide)
    assert ph.inner_text("h1") == "工业企业技术改造项目备案"
    assert "在本县登记的工业企业" in ph.inner_text("main")
    facts = ph.inner_text("#facts")
    assert "5 个工作日" in facts and "20 个工作日" in facts and "不收费" in facts
    mats = ph.locator("#materials ol.materials > li")
    assert mats.count() == 3
    assert "可容缺后补" in mats.nth(1).inner_text() and "可容缺后补" not in mats.nth(0).inner_text()
    assert ph.inner_text("#qr .hint").strip() == guide  # the code points at this very page
    qr_src = ph.get_attribute("#qr img", "src")
    assert ph.evaluate("document.querySelector('#qr img').naturalWidth") > 0  # it rendered
    svg = ph.request.get(ph.base + qr_src)
    assert svg.status == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.body()
    png = ph.request.get(ph.base + qr_src.replace(".svg", ".png"))
    assert png.status == 200 and png.headers["content-type"] == "image/png"
    assert png.body()[:8] == b"\x89PNG\r\n\x1a\n"
    no_sideways_scroll(ph)
    shot(ph, "svc-phone-guide")

    # 登录后在线申办 → the login page → back on the application form
    assert ph.inner_text("#apply-btn") == "登录后在线申办"
    with ph.expect_navigation():
        ph.click("#apply-btn")
    ph.fill("#username", "ent_a")
    ph.fill("#password", PASSWORD)
    with ph.expect_navigation():
        ph.click("button[type=submit]")
    ph.wait_for_url(f"**/services/apply/item/{cat.item.code}/")
    ph.goto(guide)  # signed in, the guide's button now says 在线申办
    assert ph.inner_text("#apply-btn") == "在线申办"
    with ph.expect_navigation():
        ph.click("#apply-btn")
    assert "瑞金市红都纺织有限公司" in ph.inner_text("#apply-form")
    assert ph.input_value("#a-phone") == "13912345678"
    assert ph.get_attribute("#apply-form input[aria-label=营业执照]", "required") is None  # 可容缺
    ph.set_input_files("#apply-form input[aria-label=申请书]", files=[pdf("申请书.pdf")])
    ph.set_input_files("#apply-form input[aria-label=项目可行性报告]", files=[pdf("可行性报告.pdf")])
    no_sideways_scroll(ph)
    shot(ph, "svc-phone-apply")
    submit_form(ph, "#apply-form")
    ph.wait_for_url("**/services/cases/*/")
    msg = success(ph)
    assert "申请已提交" in msg and "尚有 1 项材料未提交" in msg
    assert status_of(ph) == "待受理"
    case = Case.objects.get()
    assert (case.channel, case.applicant_enterprise_id) == ("online", cat.c.ent_a.pk)
    no_sideways_scroll(ph)
    shot(ph, "svc-phone-submitted")

    # the department accepts, tolerating the missing licence (容缺受理) until a due date
    as_user(page, "handler_a")
    page.goto(page.base + "/services/cases/")
    with page.expect_navigation():
        page.click(f"#case-table a:has-text('{case.number}')")
    licence = row_pk(case, "营业执照")
    due = dt.date.today() + dt.timedelta(days=14)
    page.check(f"#act-accept input[name=tolerated][value='{licence}']")
    page.fill(f"#act-accept input[name=due_{licence}]", due.isoformat())
    shot(page, "svc-staff-accept")
    submit_form(page, "#act-accept form.act:not(#act-reject)")
    assert "已受理" in success(page)
    assert status_of(page) == "办理中"
    assert f"{due:%Y-%m-%d} 前补齐" in page.inner_text("#materials")
    assert CaseMaterial.objects.get(pk=licence).status == "tolerated"

    # … and tells at once (一次性告知) what to correct: the application form, and a missing document
    page.click("#act-correction > summary")
    form_pk = row_pk(case, "申请书")
    page.check(f"#act-correction input[name=correct][value='{form_pk}']")
    page.fill(f"#act-correction input[name=reason_{form_pk}]", "法定代表人未签字")
    page.fill("#act-correction input[name=extra_name_1]", "环境影响登记表")
    page.fill("#act-correction input[name=extra_reason_1]", "项目涉及排污，须附登记表")
    page.fill("#cr-note", "请一次补齐以上两项")
    submit_form(page, "#act-correction")
    assert "一次性告知补正 2 项" in success(page)
    assert status_of(page) == "补正中"
    assert page.inner_text("#clock-tag") == "计时暂停"
    shot(page, "svc-staff-correction-sent")

    # the phone sees the notice and uploads both
    ph.reload()
    assert status_of(ph) == "补正中"
    notice = ph.inner_text("#corrections")
    assert "法定代表人未签字" in notice and "环境影响登记表" in notice and "待补正" in notice
    extra = row_pk(case, "环境影响登记表")
    assert ph.locator("#act-submit-correction input[type=file]").count() == 2
    no_sideways_scroll(ph)
    shot(ph, "svc-phone-correction-notice")
    ph.set_input_files(f"#sc-{form_pk}", files=[pdf("申请书-已签字.pdf")])
    ph.set_input_files(f"#sc-{extra}", files=[pdf("环境影响登记表.pdf")])
    submit_form(ph, "#act-submit-correction")
    assert "补正材料已齐，计时恢复" in success(ph)
    assert status_of(ph) == "办理中"
    # … and the tolerated licence (容缺后补)
    ph.set_input_files(f"#pv-{licence}", files=[pdf("营业执照副本.pdf")])
    submit_form(ph, "#act-provide")
    assert "已提交 1 项材料" in success(ph)
    assert ph.locator("#act-provide").count() == 0
    assert CaseMaterial.objects.filter(case=case).exclude(status="provided").count() == 0
    no_sideways_scroll(ph)
    shot(ph, "svc-phone-materials-complete")

    # the handler asks for more time; the head approves it
    page.reload()
    before = Case.objects.get().due_date
    page.click("#act-extension-request > summary")
    page.fill("#er-days", "3")
    page.fill("#er-reason", "需组织现场核查")
    submit_form(page, "#act-extension-request")
    assert "延期申请已提交" in success(page)
    as_user(page, "head_a")
    open_case(page, case)
    assert "需组织现场核查" in page.inner_text("#act-extension-decide")
    page.fill("#ed-note", "同意延期")
    shot(page, "svc-head-extension")
    submit_form(page, "#act-extension-decide", "button[value=approve]")
    assert "已批准延期" in success(page)
    after = Case.objects.get().due_date
    assert after > before and page.inner_text("#due-date") == f"{after:%Y-%m-%d}"
    assert "已批准" in page.inner_text("#extensions")

    # the handler approves and delivers
    as_user(page, "handler_a")
    open_case(page, case)
    assert page.locator("#act-decide .msg.warning").count() == 0  # nothing awaited any more
    submit_form(page, "#act-decide", "button[value=approve]")
    assert "已作出准予决定" in success(page)
    assert status_of(page) == "已决定待送达"
    page.check("#act-deliver input[name=method][value=electronic]")
    submit_form(page, "#act-deliver")
    assert status_of(page) == "已办结"
    assert page.locator("#act-rate-qr img").count() == 1
    shot(page, "svc-staff-delivered")

    # the phone rates: 不满意, with what was bad
    ph.reload()
    assert status_of(ph) == "已办结"
    assert "内部" not in ph.inner_text("#timeline")  # the extension stays internal
    ph.check("#act-rate input[name=level][value='2']")
    ph.check("#act-rate input[name=aspects][value=efficiency]")
    ph.check("#act-rate input[name=aspects][value=materials]")
    ph.fill("#act-rate textarea[name=comment]", "补正要求前后不一，多跑了一趟")
    no_sideways_scroll(ph)
    shot(ph, "svc-phone-rate")
    submit_form(ph, "#act-rate")
    assert "感谢您的评价" in success(ph)
    assert ph.locator("#act-rate").count() == 0
    assert "不满意" in ph.inner_text("#ratings")
    rating = Rating.objects.get()
    assert (rating.level, rating.is_bad, rating.channel) == (2, True, "case_page")
    assert rating.bad_aspects == ["efficiency", "materials"]
    rect = Rectification.objects.get()

    # the department verifies, rectifies and answers
    page.goto(page.base + "/services/rectifications/")
    assert "补正要求前后不一" in page.inner_text("#rect-table")
    with page.expect_navigation():
        page.click(f"#rect-table a:has-text('{case.number}')")
    assert "办事效率" in page.inner_text("main") and "材料要求" in page.inner_text("main")
    page.fill("#v-note", "已电话回访，确认窗口两次告知内容不一致")
    submit_form(page, "#act-verify")
    assert "已记录核实情况" in success(page)
    page.check("#act-resolve input[name=outcome][value=rectified]")
    page.fill("#rs-text", "统一补正告知模板，窗口人员培训")
    submit_form(page, "#act-resolve")
    assert "已记录整改情况" in success(page)
    page.fill("#an-text", "感谢您的反馈，我局已统一补正告知模板，今后一次告知到位。")
    submit_form(page, "#act-answer")
    assert "已回复评价人" in success(page)
    timeline = page.inner_text(".timeline")
    for step in ("差评生成整改任务", "核实", "整改", "回复评价人"):
        assert step in timeline
    shot(page, "svc-staff-rectification-answered")
    assert Rectification.objects.get(pk=rect.pk).status == "answered"

    # the rater sees the answer
    ph.reload()
    assert "今后一次告知到位" in ph.inner_text("#ratings")
    assert "今后一次告知到位" in ph.inner_text("#act-appeal")
    no_sideways_scroll(ph)
    shot(ph, "svc-phone-rectification-answer")
    for step in ("申请", "受理", "一次性告知补正", "提交补正材料", "作出决定", "送达", "评价", "差评回复"):
        assert step in ph.inner_text("#timeline")


# ------------------------------------------------------------------------------------------- 3. refused


def test_second_rating_on_same_channel_is_refused(phone_page):
    cat = catalogue()
    case = delivered_online_case(cat)
    ph = phone_page
    log_in(ph, "ent_a", PASSWORD)
    open_case(ph, case)
    assert ph.locator("#act-rate").count() == 1  # the stale form, about to be overtaken

    # the same person rates in another tab first
    other = ph.context.new_page()
    other.set_default_timeout(15000)
    other.goto(ph.base + f"/services/cases/{case.pk}/")
    other.check("#act-rate input[name=level][value='4']")
    submit(other, "#act-rate button[type=submit]")
    assert "感谢您的评价" in success(other)
    assert other.locator("#act-rate").count() == 0  # the form is gone once rated
    other.close()

    # the first tab's form is refused with the reason; nothing changes
    ph.check("#act-rate input[name=level][value='1']")
    ph.check("#act-rate input[name=aspects][value=attitude]")
    ph.fill("#act-rate textarea[name=comment]", "再评一次")
    submit_form(ph, "#act-rate")
    assert "一次一评" in ph.inner_text(".msg.error")
    assert ph.locator("#act-rate").count() == 0
    assert "满意" in ph.inner_text("#ratings") and "再评一次" not in ph.inner_text("#ratings")
    no_sideways_scroll(ph)
    shot(ph, "svc-phone-second-rating-refused")
    assert list(Rating.objects.values_list("channel", "level")) == [("case_page", 4)]
    assert not Rectification.objects.exists()

    # the SMS link (another channel) rates once, then says so instead of offering the form again
    token = services.rating_token(case)
    ph.context.clear_cookies()
    ph.goto(ph.base + f"/services/rate/{token}/")
    ph.check("#act-rate input[name=level][value='5']")
    submit_form(ph, "#act-rate")
    assert "感谢您的评价" in success(ph)
    ph.goto(ph.base + f"/services/rate/{token}/")
    assert "您已评价：非常满意" in ph.inner_text("#rated")
    assert ph.locator("#act-rate").count() == 0
    no_sideways_scroll(ph)
    shot(ph, "svc-phone-sms-rated")
    assert Rating.objects.count() == 2
