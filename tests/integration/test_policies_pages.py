"""The policy pages through the Django test client: the public three lists and notices (anonymous),
documents and items edited by policy officers, the rule builder's save (bad JSON → errors shown,
nothing saved; versions with their changes in words), its preview and simulation endpoints, the
explanation page and who may see it, the enterprise's own page and the home card, 即申即享 approved at
once or told exactly what is missing, 依申报 through acceptance, correction, decision and notice, a
full 免申即享 flow through POSTs to a paid batch, and query counts on the lists."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from tests.integration import test_policies_services as svc
from tests.integration.test_policies_payouts import enterprise_user
from tests.integration.test_policies_services import RULE, add_company, at, published_document, published_item

from yingshang.core.models import Notification
from yingshang.enterprises.models import YearFigure
from yingshang.enterprises.services import refresh_derived
from yingshang.policies import matching, payouts, services
from yingshang.policies.models import (
    Application,
    BenefitItem,
    Objection,
    PayeeAccount,
    Payout,
    PayoutBatch,
    PayoutList,
    PayoutListEntry,
    PolicyDocument,
    RuleVersion,
)

_policy_facts = svc._policy_facts  # this app's facts registered, no cached registry

P = Payout.Status
A = Application.Status
V = lambda key: {"var": key}  # noqa: E731


def text(resp) -> str:  # type: ignore[no-untyped-def]
    return resp.content.decode()


def as_user(client, user):  # type: ignore[no-untyped-def]
    client.logout()
    if user is not None:
        client.force_login(user)
    return client


def upload(name: str = "license.txt") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, "营业执照副本".encode(), content_type="text/plain")


def account(c, ent, no: str):  # type: ignore[no-untyped-def]
    return services.payee_account_set(actor=c.dispatcher, enterprise=ent, account_name=ent.name, account_no=no,
                                      bank_name="中国工商银行瑞金支行")


@pytest.fixture
def spring():  # type: ignore[no-untyped-def]
    with at(2026, 3, 2):  # a Monday
        yield


# --------------------------------------------------------------------------------------------- public pages


def test_public_three_lists_documents_and_items_in_plain_words(county, client, spring):
    c = county
    doc = published_document(c)
    published_item(c, doc=doc, code="JS-01", mode="instant")
    published_item(c, doc=doc, code="MS-01", mode="auto_grant")
    draft_doc = services.document_create(actor=c.dispatcher, title="尚未发布的草稿政策", issuer="瑞金市人民政府")
    as_user(client, None)
    page = client.get("/policies/")
    assert page.status_code == 200
    body = text(page)
    assert "关于支持工业企业高质量发展的若干政策措施" in body and "瑞府发〔2026〕3号" in body
    assert "尚未发布的草稿政策" not in body  # drafts are not public
    assert ">1</span>" in body  # the tab counts: one document, one item in each list
    # searchable in Chinese; an htmx request gets only the rows
    found = client.get("/policies/", {"q": "工业企业"}, HTTP_HX_REQUEST="true")
    assert "高质量发展" in text(found) and "<html" not in text(found)
    assert "高质量发展" not in text(client.get("/policies/", {"q": "农业"}))
    assert client.get(f"/policies/documents/{draft_doc.pk}/").status_code == 404
    detail = text(client.get(f"/policies/documents/{doc.pk}/"))
    assert "本政策支持规模以上工业企业" in detail and "2028-12-31" in detail and "工业企业奖励 JS-01" in detail
    # the lists: 依申报兑现事项 (即申即享 and 依申报) and 免申即享兑现事项, conditions in words
    apply_list = text(client.get("/policies/items/", {"list": "apply"}))
    assert "工业企业奖励 JS-01" in apply_list and "工业企业奖励 MS-01" not in apply_list
    assert "行业属于 制造业（C）" in apply_list and "上年营业收入（万元） ≥ 2000" in apply_list
    auto_list = text(client.get("/policies/items/", {"list": "auto"}))
    assert "工业企业奖励 MS-01" in auto_list and "工业企业奖励 JS-01" not in auto_list
    assert "工业企业奖励 JS-01" in text(client.get("/policies/items/", {"list": "apply", "q": "JS-01"}))
    assert "工业企业奖励 JS-01" not in text(client.get("/policies/items/", {"list": "apply", "q": "稳岗"}))
    # words, not one substring: "工业 奖励" is not in any name as typed
    assert "工业企业奖励 JS-01" in text(client.get("/policies/items/", {"list": "apply", "q": "工业 奖励"}))
    assert "工业企业奖励 JS-01" in text(client.get("/policies/items/", {"list": "apply", "q": "工业和信息化 奖励"}))
    assert "工业企业奖励 JS-01" not in text(client.get("/policies/items/", {"list": "apply", "q": "工业 补贴"}))
    # nothing in this list, something in the other: say so and link there
    empty = text(client.get("/policies/items/", {"list": "auto", "q": "JS-01"}))
    assert 'id="other-list"' in empty and "另一张清单中有 1 项" in empty
    # documents by words of the interpretation too
    assert "高质量发展" in text(client.get("/policies/", {"q": "规模以上 工业"}))
    assert client.get("/api/v1/policies/items", {"q": "工业 奖励"}).json()["count"] == 2  # both lists
    assert client.get("/api/v1/policies/items", {"q": "工业 补贴"}).json()["count"] == 0
    item = BenefitItem.objects.get(code="JS-01")
    detail = text(client.get(f"/policies/items/{item.pk}/"))
    assert "即申即享" in detail and "工业和信息化局" in detail and "营业执照" in detail
    assert "较小值(0.0001 × 上年营业收入（万元）, 5)" in detail  # the amount formula in words
    assert "企业用户登录后可查看本企业是否符合条件" in detail
    # staff see drafts
    as_user(client, c.handler_a)
    assert "尚未发布的草稿政策" in text(client.get("/policies/"))
    assert client.get(f"/policies/documents/{draft_doc.pk}/").status_code == 200
    # staff pages are not public
    as_user(client, None)
    for url in ("/policies/applications/", "/policies/lists/", "/policies/payouts/", "/policies/batches/",
                "/policies/mine/", f"/policies/items/{item.pk}/rule/", f"/policies/items/{item.pk}/explain/"):
        resp = client.get(url)
        assert resp.status_code == 302 and "/login/" in resp["Location"], url


def test_document_and_item_pages_for_policy_officers(county, client, spring):
    c = county
    as_user(client, c.dispatcher)
    form = {"title": "瑞金市稳岗就业十条", "issuer": "瑞金市人民政府", "number": "瑞府发[2026] 8号",
            "issued_on": "2026-02-01", "effective_on": "2026-02-01", "expires_on": "2027-12-31",
            "topics": "就业，稳岗", "industries": "c", "interpretation": "稳岗返还免申即享", "text": "第一条……"}
    resp = client.post("/policies/documents/new/", form)
    doc = PolicyDocument.objects.get()
    assert resp.status_code == 302 and resp["Location"] == f"/policies/documents/{doc.pk}/"
    assert doc.number == "瑞府发〔2026〕8号" and doc.topics == ["就业", "稳岗"] and doc.industries == ["C"]
    # a bad 文号 is refused with the reason next to the field; nothing saved
    bad = client.post("/policies/documents/new/", {**form, "number": "第八号文件"})
    assert bad.status_code == 400 and "文号格式应如" in text(bad) and PolicyDocument.objects.count() == 1
    resp = client.post(f"/policies/documents/{doc.pk}/edit/", {**form, "title": "瑞金市稳岗就业十条（修订）"})
    assert resp.status_code == 302
    doc.refresh_from_db()
    assert doc.title == "瑞金市稳岗就业十条（修订）"
    client.post(f"/policies/documents/{doc.pk}/act/publish/")
    doc.refresh_from_db()
    assert doc.status == PolicyDocument.Status.PUBLISHED
    # a department officer adds an item of its own department; the form carries the materials
    as_user(client, c.handler_a)
    item_form = {"code": "WG-01", "name": "稳岗返还", "mode": "auto_grant", "department": c.dept_a.pk,
                 "period_kind": "year", "budget_wan": "120.5", "accept_days": "3", "review_days": "10",
                 "notice_days": "5", "summary": "按上年失业保险费的 60% 返还", "mat_count": "2",
                 "mat_name_0": "承诺书", "mat_required_0": "1", "mat_name_1": ""}
    resp = client.post(f"/policies/items/new/?document={doc.pk}", item_form)
    item = BenefitItem.objects.get(code="WG-01")
    assert resp.status_code == 302 and resp["Location"] == f"/policies/items/{item.pk}/rule/"
    assert item.budget_fen == 120_500_000 and [m.name for m in item.materials.all()] == ["承诺书"]
    # another department's officer may not put items under the first department, nor edit its item
    as_user(client, c.handler_b)
    resp = client.post(f"/policies/items/new/?document={doc.pk}", {**item_form, "code": "WG-02"})
    assert resp.status_code == 400 and not BenefitItem.objects.filter(code="WG-02").exists()
    assert client.get(f"/policies/items/{item.pk}/edit/").status_code == 403
    assert client.post(f"/policies/items/{item.pk}/rule/", {"rule_json": json.dumps(RULE)}).status_code == 403
    # enterprises and auditors cannot edit at all
    for user in (c.ent_user_a, c.auditor):
        as_user(client, user)
        assert client.get("/policies/documents/new/").status_code == 403
        assert client.post(f"/policies/documents/{doc.pk}/act/expire/", {"reason": "x"}).status_code in (403, 404)
    doc.refresh_from_db()
    assert doc.status == PolicyDocument.Status.PUBLISHED
    # an edit: the budget changes, the material list grows
    as_user(client, c.handler_a)
    mat = item.materials.get()
    resp = client.post(f"/policies/items/{item.pk}/edit/", {
        **item_form, "budget_wan": "200", "mat_count": "2", "mat_id_0": str(mat.pk), "mat_name_0": "承诺书",
        "mat_required_0": "1", "mat_name_1": "情况说明"})
    assert resp.status_code == 302
    item.refresh_from_db()
    assert item.budget_fen == 200_000_000 and [m.name for m in item.materials.all()] == ["承诺书", "情况说明"]


# --------------------------------------------------------------------------------------------- the rule builder


def _draft_item(c, mode: str = "auto_grant") -> BenefitItem:  # type: ignore[no-untyped-def]
    doc = published_document(c, number="瑞府发〔2026〕40号")
    return services.item_create(actor=c.dispatcher, document=doc, code="GY-40", name="规上工业奖励", mode=mode,
                                department=c.dept_a, budget_fen=50_000_000)


def test_rule_builder_save_refuses_bad_rules_and_versions_good_ones(county, client, spring):
    c = county
    item = _draft_item(c)
    as_user(client, c.handler_a)
    page = client.get(f"/policies/items/{item.pk}/rule/")
    assert page.status_code == 200 and 'data-rule-builder' in text(page) and "rb-data" in text(page)
    data = page.context["builder"]
    assert any(f["key"] == "figures.revenue_wan.last" and f["unit_zh"] == "万元" for f in data["catalogue"])
    assert any(f["key"] == "township" and len(f["choices"]) == 2 for f in data["catalogue"])  # from db_labels
    # wrong types and unknown fields: every error shown with its path, nothing saved
    bad_rule = {"and": [{">=": [V("figures.revenue_wan.last"), "两千"]}, {"==": [V("no_such_field"), 1]},
                        {"prefix": [V("industry_code"), ["C99"]]}]}
    resp = client.post(f"/policies/items/{item.pk}/rule/", {"rule_json": json.dumps(bad_rule),
                                                            "amount_json": json.dumps(5)})
    assert resp.status_code == 400
    body = text(resp)
    assert "规则有误，未保存" in body and "此处应为数值" in body and "/and/0/&gt;=/1" in body
    assert "no_such_field" in body and "C99" in body
    assert len(resp.context["errors"]) == 3
    assert not RuleVersion.objects.exists()
    # not JSON at all, and a missing amount for an auto-grant item
    assert client.post(f"/policies/items/{item.pk}/rule/", {"rule_json": "{oops"}).status_code == 400
    resp = client.post(f"/policies/items/{item.pk}/rule/", {"rule_json": json.dumps(RULE), "amount_json": ""})
    assert resp.status_code == 400 and "须有金额公式" in text(resp)
    resp = client.post(f"/policies/items/{item.pk}/rule/", {
        "rule_json": json.dumps(RULE), "amount_json": json.dumps({"*": [0.1, V("is_high_tech")]})})
    assert resp.status_code == 400 and not RuleVersion.objects.exists()
    # a good rule: version 1; then a lower threshold: version 2, the change said in words
    resp = client.post(f"/policies/items/{item.pk}/rule/", {"rule_json": json.dumps(RULE), "amount_json": "5",
                                                            "note": "按文件设定"})
    assert resp.status_code == 302
    lower = {"and": [{"prefix": [V("industry_code"), ["C"]]}, {">=": [V("figures.revenue_wan.last"), 1500]},
                     {"==": [V("kind"), "company"]}]}
    client.post(f"/policies/items/{item.pk}/rule/", {"rule_json": json.dumps(lower), "amount_json": "8",
                                                    "note": "门槛降为 1500 万元"})
    item.refresh_from_db()
    assert list(item.rule_versions.values_list("number", flat=True).order_by("number")) == [1, 2]
    assert item.rule.number == 2 and item.rule.author == c.handler_a
    history = text(client.get(f"/policies/items/{item.pk}/rule/"))
    assert "新增条件" in history and "上年营业收入（万元） ≥ 1500" in history
    assert "删除条件" in history and "上年营业收入（万元） ≥ 2000" in history
    assert "5 → 8" in history and "门槛降为 1500 万元" in history and "初始版本" in history
    # publish from the page
    resp = client.post(f"/policies/items/{item.pk}/act/publish/")
    item.refresh_from_db()
    assert resp.status_code == 302 and item.status == BenefitItem.Status.PUBLISHED
    # a leader reads the history but gets no builder
    as_user(client, c.leader)
    page = client.get(f"/policies/items/{item.pk}/rule/")
    assert page.status_code == 200 and "data-rule-builder" not in text(page) and "版本记录" in text(page)
    assert client.post(f"/policies/items/{item.pk}/rule/", {"rule_json": json.dumps(RULE)}).status_code == 403
    assert RuleVersion.objects.count() == 2


def test_rule_check_endpoint_says_the_rule_in_chinese_or_every_error(county, client, spring):
    c = county
    as_user(client, c.dispatcher)
    ok = client.post("/policies/rules/check/", {"rule": RULE, "amount": {"min": [{"*": [0.6, V(
        "figures.unemployment_insurance_wan.last")]}, 50]}, "snippets": [{"!": V("is_high_tech")}]},
        content_type="application/json").json()
    assert ok["rule"] == {"ok": True, "errors": [],
                          "text": "行业属于 制造业（C） 且 上年营业收入（万元） ≥ 2000 且 主体类型为 企业"}
    assert ok["amount"]["text"] == "较小值(0.6 × 上年失业保险费（万元）, 50)"
    assert ok["snippets"][0]["text"] == "不是高新技术企业"
    bad = client.post("/policies/rules/check/", {"rule": {"and": [{">=": [V("figures.revenue_wan.last"), "x"]},
                                                                  {"in": [V("township"), ["000000000000"]]}]}},
                      content_type="application/json").json()
    assert not bad["rule"]["ok"] and [e["path"] for e in bad["rule"]["errors"]] == ["/and/0/>=/1", "/and/1/in/1/0"]
    assert "不是已有的“所属乡镇（街道）”" in bad["rule"]["errors"][1]["message"]
    assert client.post("/policies/rules/check/", "nope", content_type="application/json").status_code == 400
    as_user(client, c.ent_user_a)
    assert client.post("/policies/rules/check/", {"rule": RULE}, content_type="application/json").status_code == 403
    as_user(client, None)
    assert client.post("/policies/rules/check/", {"rule": RULE}, content_type="application/json").status_code == 302


def test_simulation_counts_breakdowns_and_budget(county, client, spring):
    c = county
    add_company(c, 1, revenue="8000")
    add_company(c, 2, revenue="3000", town=c.town_b)
    add_company(c, 3, revenue="900")
    matching.drop_registry_cache()
    as_user(client, c.handler_a)
    amount = {"min": [{"*": [0.001, V("figures.revenue_wan.last")]}, 5]}  # 万元: 25000 → 5 (the cap), 3000 → 3
    resp = client.post("/policies/rules/simulate/", {"rule": RULE, "amount": amount, "budget_wan": "12"},
                       content_type="application/json")
    assert resp.status_code == 200
    sim = resp.context["sim"]
    assert sim.qualified == 3 and sim.enterprises == 5
    assert sim.total_fen == 5_000_000 + 5_000_000 + 3_000_000 and sim.over_budget
    body = text(resp)
    assert "象湖镇" in body and "壬田镇" in body and "制造业（C）" in body and "超支" in body
    assert "瑞金市红都纺织有限公司" in body  # the sample names the enterprises
    bad = client.post("/policies/rules/simulate/", {"rule": {">=": [V("figures.revenue_wan.last"), "x"]}},
                      content_type="application/json")
    assert bad.status_code == 400 and "规则有误" in text(bad)
    as_user(client, c.ent_user_a)
    assert client.post("/policies/rules/simulate/", {"rule": RULE}, content_type="application/json").status_code == 403


# --------------------------------------------------------------------------------------------- one enterprise


def test_explanation_page_for_the_enterprise_the_department_and_the_office(county, client, spring):
    c = county
    item = published_item(c, code="JS-02", mode="instant")
    as_user(client, c.ent_user_a)
    page = client.get(f"/policies/items/{item.pk}/explain/?enterprise={c.ent_b.pk}")  # ignored: its own
    assert page.status_code == 200 and page.context["enterprise"] == c.ent_a
    body = text(page)
    assert "符合条件" in body and "上年营业收入（万元）：25000" in body and "行业：棉纺纱加工（C1711）" in body
    assert "25,000.00" in body  # the amount: 0.0001 × 25000 = 2.5 万元, under the cap of 5
    as_user(client, c.ent_user_b)
    body = text(client.get(f"/policies/items/{item.pk}/explain/"))
    assert "不满足" in body and "数据缺失" in body and "上年营业收入（万元）：缺失" in body
    for user in (c.dispatcher, c.leader, c.handler_a, c.head_a):  # the office, leaders, the item's department
        as_user(client, user)
        assert client.get(f"/policies/items/{item.pk}/explain/?enterprise={c.ent_b.uscc}").status_code == 200
    as_user(client, c.handler_b)  # another department
    assert client.get(f"/policies/items/{item.pk}/explain/?enterprise={c.ent_a.pk}").status_code == 403
    as_user(client, c.auditor)
    assert client.get(f"/policies/items/{item.pk}/explain/?enterprise={c.ent_a.pk}").status_code == 403
    as_user(client, c.dispatcher)
    assert client.get(f"/policies/items/{item.pk}/explain/?enterprise=99999").status_code == 404


def test_my_policies_home_card_and_instant_apply(county, client, spring):
    c = county
    item = published_item(c, code="JS-03", mode="instant")
    close_item = published_item(c, code="JS-04", mode="instant", rule={"and": [
        {"prefix": [V("industry_code"), ["C"]]}, V("is_high_tech")]})
    matching.match_all()
    as_user(client, c.ent_user_a)
    mine = client.get("/policies/mine/")
    assert mine.status_code == 200
    assert [q.item.code for q in mine.context["view"].qualified] == ["JS-03"]
    assert [x.item.code for x in mine.context["view"].close] == ["JS-04"]
    body = text(mine)
    assert "是高新技术企业" in body and f"/policies/items/{item.pk}/apply/" in body
    home = text(client.get("/"))
    assert "您符合 1 项政策" in home and "差一个条件" in home and close_item.name in home
    # apply: approved at once, a payout waits for the bank
    form = client.get(f"/policies/items/{item.pk}/apply/")
    assert form.status_code == 200 and form.context["values"]["contact_phone"] == "13912345678"
    mat = item.materials.get()
    resp = client.post(f"/policies/items/{item.pk}/apply/", {"contact_name": "王经理", "contact_phone": "13912345678",
                                                              f"file_{mat.pk}": upload()})
    app = Application.objects.get()
    assert resp.status_code == 302 and resp["Location"] == f"/policies/applications/{app.pk}/"
    assert app.status == A.APPROVED and app.amount_fen == 2_500_000
    assert Payout.objects.get(application=app).status == P.PENDING
    detail = client.get(resp["Location"])
    assert "即申即享：已核准，兑现金额 25000.00 元" in text(detail) and "25,000.00" in text(detail)
    # the material comes back to its owner and the department, not to others
    att = app.materials.get().attachment_id
    assert client.get(f"/policies/applications/{app.pk}/files/{att}/").status_code == 200
    as_user(client, c.ent_user_b)
    assert client.get(f"/policies/applications/{app.pk}/").status_code == 403
    assert client.get(f"/policies/applications/{app.pk}/files/{att}/").status_code == 403
    # the second enterprise is told exactly what is missing, and nothing is stored
    before = (Application.objects.count(), Payout.objects.count())
    resp = client.post(f"/policies/items/{item.pk}/apply/", {"contact_name": "李四", "contact_phone": "13800001111"})
    assert resp.status_code == 400
    body = text(resp)
    assert "暂不能核准" in body
    assert "行业属于 制造业（C）" in body and "不满足" in body and "行业：正餐服务（H6210）" in body
    assert "上年营业收入（万元） ≥ 2000" in body and "数据缺失" in body
    assert "主体类型为 企业" in body and "缺少材料" in body and "营业执照" in body
    assert (Application.objects.count(), Payout.objects.count()) == before
    # staff and other roles have no "my policies"
    as_user(client, c.dispatcher)
    assert client.get("/policies/mine/").status_code == 403
    assert client.get(f"/policies/items/{item.pk}/apply/").status_code == 403


def test_payee_account_on_my_page(county, client, spring):
    c = county
    as_user(client, c.ent_user_a)
    resp = client.post("/policies/mine/account/", {"account_name": c.ent_a.name, "account_no": "abc",
                                                   "bank_name": "工行"})
    assert resp.status_code == 302 and not PayeeAccount.objects.exists()
    client.post("/policies/mine/account/", {"account_name": c.ent_a.name, "account_no": "6222 0200 1234 5678",
                                            "bank_name": "中国工商银行瑞金支行"})
    assert PayeeAccount.objects.get(enterprise=c.ent_a).account_no == "6222020012345678"
    as_user(client, c.dispatcher)
    assert client.post("/policies/mine/account/", {"account_name": "x", "account_no": "62220200123456789",
                                                   "bank_name": "y"}).status_code == 403


# --------------------------------------------------------------------------------------------- 依申报


def test_apply_review_through_correction_decision_notice_and_objection(county, client):
    c = county
    with at(2026, 3, 2):
        item = published_item(c, code="YS-01", mode="apply_review", amount=None,
                              materials=({"name": "项目备案证明"}, {"name": "发票", "required": False}))
        mats = list(item.materials.all())
        as_user(client, c.ent_user_a)
        resp = client.post(f"/policies/items/{item.pk}/apply/", {"contact_name": "王经理", "contact_phone": "139",
                                                                  f"file_{mats[0].pk}": upload("备案.txt")})
        app = Application.objects.get()
        assert resp.status_code == 302 and app.status == A.SUBMITTED
        # the department's handler accepts; another department cannot even see it
        as_user(client, c.handler_b)
        assert client.get(f"/policies/applications/{app.pk}/").status_code == 403
        assert client.post(f"/policies/applications/{app.pk}/act/accept/").status_code == 403
        as_user(client, c.handler_a)
        page = client.get(f"/policies/applications/{app.pk}/")
        assert page.context["allowed"] == {"accept", "not_accept"}
        client.post(f"/policies/applications/{app.pk}/act/accept/")
        app.refresh_from_db()
        assert app.status == A.REVIEWING and app.review_due == dt.date(2026, 3, 16)
        # the handler may not decide (the head does); a correction stops the clock
        assert client.get(f"/policies/applications/{app.pk}/").context["allowed"] == {"correction"}
        resp = client.post(f"/policies/applications/{app.pk}/act/approve/", {"reason": "符合"})
        app.refresh_from_db()
        assert app.status == A.REVIEWING
        client.post(f"/policies/applications/{app.pk}/act/correction/",
                    {"materials": [str(mats[1].pk)], "note": "请补充设备购置发票"})
        app.refresh_from_db()
        assert app.status == A.CORRECTION
        assert Notification.objects.filter(recipient=c.ent_user_a, title__contains="补正").exists()
    with at(2026, 3, 5):
        as_user(client, c.ent_user_a)
        page = client.get(f"/policies/applications/{app.pk}/")
        assert page.context["allowed"] == {"submit_correction", "withdraw"}
        assert "请补充设备购置发票" in text(page)
        resp = client.post(f"/policies/applications/{app.pk}/act/submit_correction/", {"statement": "已补"})
        app.refresh_from_db()
        assert app.status == A.CORRECTION  # the requested material is missing: refused, nothing changed
        client.post(f"/policies/applications/{app.pk}/act/submit_correction/",
                    {f"file_{mats[1].pk}": upload("发票.txt"), "statement": "已补充"})
        app.refresh_from_db()
        assert app.status == A.REVIEWING and app.review_due == dt.date(2026, 3, 19)  # 3 working days paused
        as_user(client, c.head_a)
        page = client.get(f"/policies/applications/{app.pk}/")
        assert {"approve", "reject"} <= page.context["allowed"]
        resp = client.post(f"/policies/applications/{app.pk}/act/approve/", {"reason": "项目真实，材料齐全",
                                                                             "amount_yuan": "abc"})
        app.refresh_from_db()
        assert app.status == A.REVIEWING
        client.post(f"/policies/applications/{app.pk}/act/approve/", {"reason": "项目真实，材料齐全",
                                                                     "amount_yuan": "12000.50"})
        app.refresh_from_db()
        assert app.status == A.NOTICE and app.amount_fen == 1_200_050
        # the public notice and an anonymous objection
        as_user(client, None)
        notices = text(client.get("/policies/notices/"))
        assert c.ent_a.name in notices and "12,000.50" in notices
        resp = client.post(f"/policies/notices/applications/{app.pk}/", {"text": "该项目未实施", "filer_name": "",
                                                                          "filer_contact": ""})
        assert not Objection.objects.exists()  # anonymous objections need a name
        client.post(f"/policies/notices/applications/{app.pk}/", {"text": "该项目未实施", "filer_name": "赵某",
                                                                   "filer_contact": "13700000000"})
        obj = Objection.objects.get()
        as_user(client, c.handler_a)  # the head decides, not the handler
        assert client.get(f"/policies/objections/{obj.pk}/").context["can_decide"] is False
        client.post(f"/policies/objections/{obj.pk}/", {"decision": "dismiss", "reason": "x"})
        obj.refresh_from_db()
        assert obj.status == Objection.Status.OPEN
        as_user(client, c.head_a)
        assert obj in client.get("/policies/objections/").context["page"].object_list
        client.post(f"/policies/objections/{obj.pk}/", {"decision": "dismiss", "reason": "经现场核实项目已实施"})
        obj.refresh_from_db()
        assert obj.status == Objection.Status.DISMISSED
        timeline = text(client.get(f"/policies/applications/{app.pk}/"))
        for step in ("提交申报", "受理", "要求补正", "补正提交", "审核通过（公示）", "公示异议", "异议处理"):
            assert step in timeline


# --------------------------------------------------------------------------------------------- 免申即享 to the bank


def test_auto_grant_list_review_notice_objection_finalise_batch_and_bank(county, client):
    c = county
    with at(2026, 3, 2):
        ent_c = add_company(c, 1, revenue="8000")
        ent_d = add_company(c, 2, revenue="4000")
        item = published_item(c, code="MS-02", mode="auto_grant", budget_fen=100_000_000)
        matching.match_all()
        as_user(client, c.handler_b)  # another department may not propose
        client.post(f"/policies/items/{item.pk}/act/propose/")
        assert not PayoutList.objects.exists()
        as_user(client, c.handler_a)
        resp = client.post(f"/policies/items/{item.pk}/act/propose/", {"period": "2026"})
        plist = PayoutList.objects.get()
        assert resp.status_code == 302 and resp["Location"] == f"/policies/lists/{plist.pk}/"
        entries = {e.enterprise_id: e for e in plist.entries.all()}
        assert len(entries) == 3
        # the head reviews: an exclusion needs its reason; restore; exclude again
        as_user(client, c.handler_a)
        assert "exclude" not in client.get(f"/policies/lists/{plist.pk}/").context["allowed"]
        as_user(client, c.head_a)
        page = client.get(f"/policies/lists/{plist.pk}/")
        assert page.context["allowed"] == {"exclude", "restore", "review", "cancel"}
        assert page.context["totals"]["n_in"] == 3
        client.post(f"/policies/lists/{plist.pk}/act/exclude/", {"entry": entries[ent_d.pk].pk, "reason": ""})
        assert PayoutListEntry.objects.filter(included=False).count() == 0
        client.post(f"/policies/lists/{plist.pk}/act/exclude/", {"entry": entries[ent_d.pk].pk, "reason": "已享受同类政策"})
        client.post(f"/policies/lists/{plist.pk}/act/restore/", {"entry": entries[ent_d.pk].pk})
        client.post(f"/policies/lists/{plist.pk}/act/exclude/", {"entry": entries[ent_d.pk].pk, "reason": "已享受同类政策"})
        page = client.get(f"/policies/lists/{plist.pk}/", {"show": "excluded"})
        assert [e.enterprise_id for e in page.context["page"].object_list] == [ent_d.pk]
        assert "已享受同类政策" in text(page)
        # staff of another department and enterprises cannot open the list under review
        as_user(client, c.handler_b)
        assert client.get(f"/policies/lists/{plist.pk}/").status_code == 403
        as_user(client, None)
        assert client.get(f"/policies/lists/{plist.pk}/").status_code == 404  # not on notice yet
        as_user(client, c.head_a)
        client.post(f"/policies/lists/{plist.pk}/act/review/", {"note": "经集体审核"})
        plist.refresh_from_db()
        assert plist.status == PayoutList.Status.REVIEWED
        as_user(client, c.dispatcher)
        client.post(f"/policies/lists/{plist.pk}/act/publish/")
        plist.refresh_from_db()
        assert plist.status == PayoutList.Status.NOTICE and plist.notice_end == dt.date(2026, 3, 9)
        assert Payout.objects.filter(item=item).count() == 2
        # the public notice: names and amounts, no excluded enterprise; an anonymous objection
        as_user(client, None)
        notice = client.get(f"/policies/lists/{plist.pk}/")  # the link the enterprises were sent
        body = text(notice)
        assert notice.status_code == 200 and c.ent_a.name in body and ent_c.name in body and ent_d.name not in body
        assert "33,000.00" in body  # 25,000 + 8,000 yuan
        page = client.get(f"/policies/lists/{plist.pk}/notice/", {"object": entries[ent_c.pk].pk})
        assert page.context["target"]["enterprise"] == ent_c.name
        client.post(f"/policies/lists/{plist.pk}/object/", {"entry": entries[ent_d.pk].pk, "text": "x",
                                                            "filer_name": "李某"})  # not on the list
        client.post(f"/policies/lists/{plist.pk}/object/", {"entry": entries[ent_c.pk].pk, "text": "该企业已停产",
                                                            "filer_name": "李某", "filer_contact": "137"})
        obj = Objection.objects.get()
        assert obj.entry_id == entries[ent_c.pk].pk and obj.filed_by is None
        as_user(client, c.dispatcher)  # too early to finalise
        client.post(f"/policies/lists/{plist.pk}/act/finalize/")
        plist.refresh_from_db()
        assert plist.status == PayoutList.Status.NOTICE
    with at(2026, 3, 10):
        as_user(client, c.dispatcher)
        client.post(f"/policies/lists/{plist.pk}/act/finalize/")  # an objection is still open
        plist.refresh_from_db()
        assert plist.status == PayoutList.Status.NOTICE
        as_user(client, c.head_a)
        client.post(f"/policies/objections/{obj.pk}/", {"decision": "dismiss", "reason": "经核实正常生产"})
        as_user(client, c.dispatcher)
        client.post(f"/policies/lists/{plist.pk}/act/finalize/")
        plist.refresh_from_db()
        assert plist.status == PayoutList.Status.FINAL
        # payee accounts, a batch of what is payable, the bank file
        as_user(client, c.ent_user_a)
        client.post("/policies/mine/account/", {"account_name": c.ent_a.name, "account_no": "6222020000000001",
                                                "bank_name": "中国工商银行瑞金支行"})
        account(c, ent_c, "6222020000000002")
        as_user(client, c.dispatcher)
        payable = client.get("/policies/payouts/", {"payable": "1"})
        assert payable.context["total_n"] == 2 and payable.context["total_fen"] == 3_300_000
        as_user(client, c.head_a)  # only the office pays
        assert client.post("/policies/batches/new/").status_code == 403
        assert client.get("/policies/batches/").status_code == 403
        as_user(client, c.dispatcher)
        resp = client.post("/policies/batches/new/")
        batch = PayoutBatch.objects.get()
        assert resp["Location"] == f"/policies/batches/{batch.pk}/"
        exported = client.post(f"/policies/batches/{batch.pk}/export/")
        assert exported.status_code == 200 and exported["Content-Type"].startswith("text/csv")
        assert payouts.export_total_fen(exported.content) == (2, 3_300_000)
        batch.refresh_from_db()
        assert batch.status == PayoutBatch.Status.EXPORTED
        pay_a = Payout.objects.get(enterprise=c.ent_a, item=item)
        pay_c = Payout.objects.get(enterprise=ent_c, item=item)
        bad = f"兑现编号,结果,银行流水号,失败原因\r\n{pay_a.number},成功,,\r\n".encode()
        client.post("/policies/batches/confirmations/", {"file": SimpleUploadedFile("r.csv", bad)})
        assert Payout.objects.filter(status=P.PAID).count() == 0  # a bad row: nothing imported
        good = (f"兑现编号,结果,银行流水号,失败原因\r\n{pay_a.number},成功,B0001,\r\n"
                f"{pay_c.number},失败,,账户已销户\r\n").encode()
        resp = client.post("/policies/batches/confirmations/", {"file": SimpleUploadedFile("r.csv", good),
                                                                "back": f"/policies/batches/{batch.pk}/"})
        assert resp["Location"] == f"/policies/batches/{batch.pk}/"
        pay_a.refresh_from_db()
        pay_c.refresh_from_db()
        assert (pay_a.status, pay_c.status) == (P.PAID, P.FAILED)
        page = client.get(f"/policies/batches/{batch.pk}/")
        assert page.context["failed"] == [pay_c.pk] and "账户已销户" in text(page)
        # retry the failed one: a new pending payout, paid in a second batch
        account(c, ent_c, "6222020000000003")
        client.post("/policies/payouts/retry/", {"payout": [pay_c.pk], "back": f"/policies/batches/{batch.pk}/"})
        pay_c.refresh_from_db()
        assert pay_c.status == P.RETRIED
        retry = Payout.objects.get(retry_of=pay_c)
        client.post("/policies/batches/new/")
        second = PayoutBatch.objects.exclude(pk=batch.pk).get()
        assert list(second.payouts.all()) == [retry]
        # the ledger: totals are the sums of exactly the rows listed, and reconcile
        ledger = client.get("/policies/payouts/", {"item": item.pk})
        rows = list(ledger.context["page"].object_list)
        assert ledger.context["total_n"] == len(rows) == 3
        assert ledger.context["total_fen"] == sum(p.amount_fen for p in rows) == 2_500_000 + 800_000 * 2
        assert ledger.context["paid_fen"] == 2_500_000 and ledger.context["paid_enterprises"] == 1
        assert "兑现资金 <strong>2.5</strong> 万元，惠及市场主体 <strong>1</strong> 家" in text(ledger)
        assert payouts.reconcile() == []
        # the enterprise sees its own payouts only; a leader reads the whole ledger
        as_user(client, c.ent_user_a)
        mine = client.get("/policies/payouts/")
        assert [p.enterprise_id for p in mine.context["page"].object_list] == [c.ent_a.pk]
        as_user(client, c.leader)
        assert client.get("/policies/payouts/").context["total_n"] == 3
        assert client.post("/policies/payouts/retry/", {"payout": [retry.pk]}).status_code == 403


def test_list_lifecycle_refusals_leave_nothing_changed(county, client, spring):
    c = county
    item = published_item(c, code="MS-03", mode="auto_grant")
    matching.match_all()
    plist = services.payout_list_propose(actor=c.dispatcher, item=item)
    entry = plist.entries.get()
    as_user(client, c.dispatcher)  # the office cannot do the department's review
    client.post(f"/policies/lists/{plist.pk}/act/exclude/", {"entry": entry.pk, "reason": "x"})
    client.post(f"/policies/lists/{plist.pk}/act/review/")
    client.post(f"/policies/lists/{plist.pk}/act/publish/")  # not reviewed yet
    plist.refresh_from_db()
    entry.refresh_from_db()
    assert plist.status == PayoutList.Status.PROPOSED and entry.included and not Payout.objects.exists()
    assert client.post(f"/policies/lists/{plist.pk}/act/bogus/").status_code == 404
    assert client.post(f"/policies/lists/{plist.pk}/act/exclude/", {"entry": 999999, "reason": "x"}).status_code == 404
    client.post(f"/policies/lists/{plist.pk}/act/cancel/", {"reason": ""})
    plist.refresh_from_db()
    assert plist.status == PayoutList.Status.PROPOSED
    client.post(f"/policies/lists/{plist.pk}/act/cancel/", {"reason": "重复生成"})
    plist.refresh_from_db()
    assert plist.status == PayoutList.Status.CANCELLED
    as_user(client, c.ent_user_a)
    assert client.get("/policies/lists/").status_code == 403
    assert client.get("/policies/objections/").status_code == 403


# --------------------------------------------------------------------------------------------- query counts


def _more_companies(c, start: int, n: int, apply_for: BenefitItem | None = None) -> None:  # type: ignore[no-untyped-def]
    for i in range(start, start + n):
        ent = add_company(c, i, revenue=str(3000 + i))
        if apply_for is not None:
            user = enterprise_user(ent, f"boss{i}")
            svc.apply(c, apply_for, user=user)


def test_list_pages_do_not_grow_queries_with_rows(county, client, django_assert_max_num_queries, spring):
    c = county
    docs = [published_document(c, number=f"瑞府发〔2026〕{60 + i}号") for i in range(2)]
    instant = published_item(c, doc=docs[0], code="Q-1", mode="instant")
    published_item(c, doc=docs[0], code="Q-2", mode="apply_review", amount=None)
    first = published_item(c, doc=docs[1], code="Q-3", mode="auto_grant")
    _more_companies(c, 1, 2, apply_for=instant)
    matching.match_all()
    small = services.payout_list_propose(actor=c.dispatcher, item=first)
    services.payout_list_review_complete(actor=c.head_a, payout_list=small)
    services.payout_list_publish(actor=c.dispatcher, payout_list=small)

    def urls(plist: PayoutList, item: BenefitItem) -> list[str]:
        return ["/policies/", "/policies/items/?list=apply", "/policies/items/?list=auto", "/policies/payouts/",
                "/policies/lists/", "/policies/applications/", f"/policies/lists/{plist.pk}/",
                f"/policies/lists/{plist.pk}/notice/", "/policies/notices/", f"/policies/items/{item.pk}/matches/",
                "/policies/objections/?status=all"]

    as_user(client, c.dispatcher)
    for url in urls(small, first):
        client.get(url)  # warm caches (calendar, labels)
    few = {}
    for url in urls(small, first):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200, url
        few[url] = len(ctx)
    # more of everything: documents, items, enterprises, applications, payouts, lists
    more_docs = [published_document(c, number=f"瑞府发〔2026〕{70 + i}号") for i in range(3)]
    for i, d in enumerate(more_docs):
        published_item(c, doc=d, code=f"Q-{10 + i}", mode="instant")
        published_item(c, doc=d, code=f"Q-{20 + i}", mode="auto_grant")
    _more_companies(c, 10, 4, apply_for=instant)
    matching.match_all()
    for i in range(3):
        pl = services.payout_list_propose(actor=c.dispatcher, item=BenefitItem.objects.get(code=f"Q-{20 + i}"))
        services.payout_list_review_complete(actor=c.head_a, payout_list=pl)
        services.payout_list_publish(actor=c.dispatcher, payout_list=pl)
    big_item = BenefitItem.objects.get(code="Q-20")
    big = PayoutList.objects.get(item=big_item)
    assert big.entries.count() > small.entries.count() and Payout.objects.count() > 20
    for url, url2 in zip(urls(small, first), urls(big, big_item), strict=True):
        with django_assert_max_num_queries(few[url]):
            assert client.get(url2).status_code == 200, url2


def test_enterprise_home_card_without_items_and_for_other_roles(county, client, spring):
    c = county
    as_user(client, c.ent_user_a)
    assert "按现有数据，暂无符合条件的政策" in text(client.get("/"))
    as_user(client, c.dispatcher)
    assert 'id="home-policies"' not in text(client.get("/"))


def test_figures_change_the_mine_page_after_rematch(county, client, spring):
    """'Close' turns into 'qualify' once the missing data arrives."""
    c = county
    item = published_item(c, code="JS-05", mode="instant")
    ent = add_company(c, 5, revenue=None)
    user = enterprise_user(ent, "boss5")
    matching.match_all()
    as_user(client, user)
    view = client.get("/policies/mine/").context["view"]
    assert [x.item.code for x in view.close] == ["JS-05"] and view.close[0].state == "unknown"
    YearFigure.objects.create(enterprise=ent, year=2025, employees=30, revenue_wan=Decimal("2600"))
    refresh_derived(ent)
    ent.save()
    matching.rematch_enterprises([ent.pk])
    view = client.get("/policies/mine/").context["view"]
    assert [q.item.code for q in view.qualified] == ["JS-05"] and view.qualified[0].can_apply
    assert item.pk == view.qualified[0].item.pk
