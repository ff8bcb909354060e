"""Browser journeys: every demo role logs in and sees its own home page; the dispatcher imports
a file through the page and downloads its error report; an enterprise user on a phone."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from tests.browser.conftest import log_in, shot
from tests.conftest import PASSWORD, build_county, make_uscc

pytestmark = pytest.mark.django_db(transaction=True)

HOMES = {
    "dispatcher": "营商办工作台",
    "handler_a": "部门经办人工作台",
    "head_a": "部门负责人工作台",
    "leader": "县域营商环境概览",
    "inspector": "执法人员工作台",
    "ent_a": "瑞金市红都纺织有限公司",
    "auditor": "审计员工作台",
    "security": "安全管理员工作台",
}


def test_each_role_sees_its_home(page):
    build_county()
    for username, heading in HOMES.items():
        log_in(page, username, PASSWORD)
        assert page.locator("h1").first.inner_text().strip() == heading, username
        shot(page, f"home-{username}")
        page.click("text=退出")
        page.wait_for_url("**/login/")


def test_wrong_password_then_lockout_message(page):
    build_county()
    for _ in range(5):
        log_in(page, "handler_b", "not-the-password")
    assert "用户名或密码错误" in page.locator(".msg.error").inner_text()
    log_in(page, "handler_b", PASSWORD)
    assert "账号已锁定" in page.locator(".msg.error").inner_text()


def test_import_through_page_and_download_error_report(page, tmp_path):
    c = build_county()
    path = tmp_path / "registry.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["统一社会信用代码", "名称", "行业代码", "所属乡镇", "年度", "从业人员", "营业收入（万元）"])
        w.writerow([make_uscc(501), "网页导入测试有限公司", "C1711", c.town_a.code, 2025, 50, 3000])
        w.writerow(["91360781MA12345678", "代码错误公司", "1711", c.town_a.code, "", "", ""])
        w.writerow([make_uscc(502), "乡镇错误公司", "1711", "不存在镇", "", "", ""])
    log_in(page, "dispatcher", PASSWORD)
    page.click("nav >> text=导入")
    page.set_input_files("input[type=file]", str(path))
    page.click("text=开始导入")
    page.wait_for_url("**/enterprises/import/*/")
    assert page.inner_text("#rows-created") == "1"
    assert page.inner_text("#rows-rejected") == "2"
    shot(page, "import-report")
    with page.expect_download() as dl:
        page.click("#download-errors")
    data = open(dl.value.path(), "rb").read()
    rows = list(load_workbook(io.BytesIO(data)).active.iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[1]) for r in rows] == [(3, "uscc"), (4, "region")]
    # the imported enterprise is in the registry with its derived size class
    page.goto(page.base + "/enterprises/?q=网页导入")
    page.click("text=网页导入测试有限公司")
    assert "小型" in page.inner_text("main")


def test_registry_search_with_htmx(page):
    build_county()
    log_in(page, "handler_a", PASSWORD)
    page.goto(page.base + "/enterprises/")
    page.fill("#q", "红都")
    page.wait_for_timeout(700)
    page.wait_for_load_state("networkidle")
    body = page.inner_text("#rows")
    assert "瑞金市红都纺织有限公司" in body and "李四小吃店" not in body
    assert "139****5678" in body  # personal data masked for a handler
    shot(page, "registry-search")


def test_enterprise_user_on_a_phone(phone_page):
    c = build_county()
    pg = phone_page
    log_in(pg, "ent_a", PASSWORD)
    assert "瑞金市红都纺织有限公司" in pg.inner_text("h1")
    pg.click("text=查看企业档案")
    assert "13912345678" in pg.inner_text("main")  # its own phone in full
    # no horizontal scrolling on a phone
    assert pg.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    shot(pg, "phone-enterprise-profile")
    pg.goto(pg.base + f"/enterprises/{c.ent_b.pk}/")
    assert "只能查看本企业信息" in pg.inner_text("main")


def test_english_switch(page):
    build_county()
    log_in(page, "dispatcher", PASSWORD)
    with page.expect_navigation():
        page.select_option("select[name=language]", "en")
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").first.inner_text().strip() == "Business Environment Office"
    assert "Enterprises" in page.inner_text("nav")
    shot(page, "home-dispatcher-en")
