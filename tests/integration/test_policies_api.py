"""/api/v1/policies: documents and items (public reads, policy officers' writes), rules (validate with
paths, versions), simulation, matching and explanations, 即申即享 approved at once or answered 422 with
exactly what is missing, 依申报 with a correction round and an objection, the 免申即享 flow from
matches to a confirmed batch, and a ledger whose totals reconcile — each with its refused paths (wrong
role, other department, other enterprise, bad input → 400 naming the field as the caller wrote it,
wrong state → 409), which leave nothing changed."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from tests.conftest import County
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

from yingshang.policies import payouts, services
from yingshang.policies.models import (
    Application,
    ApplicationEvent,
    ApplicationMaterial,
    BenefitItem,
    Objection,
    Payout,
    PayoutBatch,
    PayoutList,
    PayoutListEntry,
    PolicyDocument,
    PolicyEvent,
    RuleVersion,
)

_policy_facts = svc._policy_facts  # this app's facts, no cached registry

BASE = "/api/v1/policies"
ERROR_KEYS = {"code", "message", "message_en", "field"}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def ok(resp, status: int = 200) -> Any:  # type: ignore[no-untyped-def]
    assert resp.status_code == status, resp.content[:800]
    return resp.json()


def error(resp, status: int, *, code: str | None = None, field: str | None | object = ...) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    assert resp.status_code == status, resp.content[:800]
    body = resp.json()
    assert set(body) == ERROR_KEYS, body
    assert body["message"] and body["message_en"]
    if code is not None:
        assert body["code"] == code, body
    if field is not ...:
        assert body["field"] == field, body
    return body


def as_user(user) -> Client:  # type: ignore[no-untyped-def]
    c = Client()
    c.force_login(user)
    return c


def post(c: Client, path: str, data: Any = None):  # type: ignore[no-untyped-def]
    return c.post(BASE + path, data if data is not None else {}, content_type="application/json")


def patch(c: Client, path: str, data: Any):  # type: ignore[no-untyped-def]
    return c.patch(BASE + path, data, content_type="application/json")


def put(c: Client, path: str, data: Any):  # type: ignore[no-untyped-def]
    return c.put(BASE + path, data, content_type="application/json")


def upload(c: Client, name: str = "scan.pdf") -> int:
    resp = c.post("/api/v1/attachments", {"file": SimpleUploadedFile(name, PDF, content_type="application/pdf")})
    return ok(resp, 201)["id"]


def confirmation(rows: list[tuple[str, ...]]) -> bytes:
    lines = ["兑现编号,结果,银行流水号,失败原因"] + [",".join(r) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode()


def send_confirmations(c: Client, data: bytes):  # type: ignore[no-untyped-def]
    return c.post(BASE + "/batches/confirmations",
                  {"file": SimpleUploadedFile("回执.csv", data, content_type="text/csv")})


def counts() -> tuple[int, ...]:
    return (PolicyDocument.objects.count(), BenefitItem.objects.count(), RuleVersion.objects.count(),
            PolicyEvent.objects.count(), Application.objects.count(), ApplicationEvent.objects.count(),
            ApplicationMaterial.objects.count(), PayoutList.objects.count(), Objection.objects.count(),
            Payout.objects.count(), PayoutBatch.objects.count())


def account(**kw: str) -> dict[str, str]:
    return {"account_name": "企业", "account_no": "6222020012345678", "bank_name": "中国工商银行瑞金支行", **kw}


# ------------------------------------------------------------------------------------------- documents


def test_documents_public_reads_and_officers_writes(county: County) -> None:
    c = county
    with at(2026, 3, 2):
        d, anon = as_user(c.dispatcher), Client()
        body = {"title": "瑞金市促进工业经济高质量发展若干政策措施", "issuer": "瑞金市人民政府",
                "number": "瑞府发[2026] 12号", "issued_on": "2026-01-10", "effective_on": "2026-01-10",
                "expires_on": "2028-12-31", "text": "第一条 ……", "interpretation": "本措施支持规上工业企业……",
                "topics": ["工业", "升规入统"], "industries": ["c"]}
        doc = ok(post(d, "/documents", body), 201)
        assert doc["number"] == "瑞府发〔2026〕12号" and doc["status"] == "draft" and doc["industries"] == ["C"]
        pk = doc["id"]
        # a draft is the officers' own
        assert ok(anon.get(BASE + "/documents"))["count"] == 0
        error(anon.get(f"{BASE}/documents/{pk}"), 404, code="not_found")
        error(as_user(c.ent_user_a).get(f"{BASE}/documents/{pk}"), 404)
        assert ok(d.get(BASE + "/documents"))["count"] == 1
        assert ok(as_user(c.handler_b).get(f"{BASE}/documents/{pk}"))["status"] == "draft"
        # refused: wrong role, no login, bad input naming the field, the same 文号 twice
        before = counts()
        error(post(as_user(c.ent_user_a), "/documents", body), 403, code="forbidden")
        error(post(as_user(c.auditor), "/documents", body), 403)
        error(post(anon, "/documents", body), 401, code="unauthenticated")
        error(post(d, "/documents", {**body, "number": "第十二号"}), 400, field="number")
        error(post(d, "/documents", {**body, "number": "", "industries": ["Z9"]}), 400, field="industries")
        error(post(d, "/documents", {**body, "number": "", "expires_on": "2025-12-31"}), 400, field="expires_on")
        error(post(d, "/documents", {"issuer": "瑞金市人民政府"}), 400, code="validation_failed", field="title")
        error(post(d, "/documents", {**body, "number": "瑞府发〔2026〕12号"}), 409, code="conflict", field="number")
        error(post(d, "/documents", {**body, "number": "", "attachment_ids": [9999]}), 400, field="attachment_ids")
        assert counts() == before
        # publish; publishing again is a conflict that changes nothing
        pub = ok(post(as_user(c.handler_a), f"/documents/{pk}/publish"))
        assert pub["status"] == "published" and pub["published_at"]
        before = counts()
        error(post(d, f"/documents/{pk}/publish"), 409, code="conflict", field="status")
        assert counts() == before and PolicyDocument.objects.get(pk=pk).status == "published"
        page = ok(anon.get(BASE + "/documents", {"q": "工业"}))
        assert page["count"] == 1 and page["results"][0]["item_count"] == 0
        assert ok(anon.get(BASE + "/documents", {"q": "不存在"}))["count"] == 0
        error(anon.get(BASE + "/documents", {"status": "nope"}), 400, field="status")
        read = ok(anon.get(f"{BASE}/documents/{pk}"))
        assert read["interpretation"] == body["interpretation"] and read["items"] == []
        # corrections; expiry needs a reason; an expired document is closed
        assert ok(patch(d, f"/documents/{pk}", {"interpretation": "新的解读"}))["interpretation"] == "新的解读"
        error(patch(d, f"/documents/{pk}", {"title": None}), 400, field="title")
        error(patch(d, f"/documents/{pk}", {"number": ""}), 400, field="number")  # a published one keeps its number
        error(patch(as_user(c.ent_user_a), f"/documents/{pk}", {"title": "改"}), 403)
        error(post(d, f"/documents/{pk}/expire", {"reason": " "}), 400, field="reason")
        error(post(as_user(c.ent_user_a), f"/documents/{pk}/expire", {"reason": "x"}), 403)
        assert ok(post(d, f"/documents/{pk}/expire", {"reason": "已被新政策替代"}))["status"] == "expired"
        before = counts()
        error(patch(d, f"/documents/{pk}", {"title": "改"}), 409, field="status")
        error(post(d, f"/documents/{pk}/expire", {"reason": "再次"}), 409)
        assert counts() == before
        error(anon.get(f"{BASE}/documents/99999"), 404)


# ------------------------------------------------------------------------------------------- items and rules


def test_items_rules_versions_and_describe(county: County) -> None:
    c = county
    with at(2026, 3, 2):
        doc = published_document(c)
        h, anon = as_user(c.handler_a), Client()
        body = {"document_id": doc.pk, "code": "GY-01", "name": "规上工业企业营收奖励", "mode": "auto_grant",
                "department_code": "GXJ", "budget_fen": 100_000_000, "summary": "营收 2000 万元以上的制造业企业",
                "materials": []}
        item = ok(post(h, "/items", body), 201)
        assert item["status"] == "draft" and item["rule"] is None and item["department_code"] == "GXJ"
        assert item["figures"]["matches"] == 0 and not item["in_force"]
        before = counts()
        error(post(as_user(c.handler_b), "/items", {**body, "code": "GY-02"}), 403, field="department_code")
        error(post(as_user(c.ent_user_a), "/items", {**body, "code": "GY-02"}), 403)
        error(post(h, "/items", {**body, "code": "GY-02", "department_code": "NOPE"}), 400, field="department_code")
        error(post(h, "/items", {**body, "code": "GY-02", "document_id": 99999}), 400, field="document_id")
        error(post(h, "/items", {**body, "code": "GY-02", "mode": "sometimes"}), 400, field="mode")
        error(post(h, "/items", {**body, "code": "bad code!"}), 400, field="code")
        error(post(h, "/items", {**body, "code": "GY-02", "budget_fen": -1}), 400, field="budget_fen")
        error(post(h, "/items", {**body, "code": "GY-02", "materials": [{"required": True}]}), 400,
              field="materials.0.name")
        error(post(h, "/items", body), 409, field="code")
        assert counts() == before
        error(anon.get(f"{BASE}/items/GY-01"), 404)  # a draft is not public
        assert ok(anon.get(BASE + "/items"))["count"] == 0

        # validation without saving: every error, in its field, with its path
        bad = {"and": [{"prefix": [V("industry_code"), ["C"]]}, {">=": [V("figures.profit_wan.last"), 1]}]}
        res = ok(post(h, "/rules/validate", {"rule": bad, "amount": {"min": [V("kind"), 5]}}))
        assert not res["valid"] and res["describe"] is None
        assert [(e["field"], e["path"], e["code"]) for e in res["errors"]] == [
            ("rule", "/and/1/>=/0/var", "unknown_field"), ("amount", "/min/0/var", "type")], res["errors"]
        assert all(e["message"] and e["message_en"] for e in res["errors"])
        res = ok(post(h, "/rules/validate", {"rule": RULE, "amount": AMOUNT}))
        assert res["valid"] and res["errors"] == []
        assert res["describe"]["rule_zh"].startswith("行业属于 制造业（C）") and "≥ 2000" in res["describe"]["rule_zh"]
        assert res["describe"]["rule_en"].startswith("industry in") and res["describe"]["amount_zh"]
        error(post(as_user(c.ent_user_a), "/rules/validate", {"rule": RULE}), 403)
        error(post(h, "/rules/validate", {"amount": AMOUNT}), 400, field="rule")
        fields = ok(anon.get(BASE + "/fields"))
        assert {"industry_code", "figures.revenue_wan.last", "payouts.item.*"} <= {f["key"] for f in fields}
        assert counts() == before

        # saving: a bad rule is 400 naming the field and the path, and nothing is saved
        e = error(post(h, "/items/GY-01/rules", {"rule": bad, "amount": AMOUNT}), 400, code="rule_invalid",
                  field="rule")
        assert "/and/1/>=/0/var" in e["message"] and "/and/1/>=/0/var" in e["message_en"]
        e = error(post(h, "/items/GY-01/rules", {"rule": RULE, "amount": {"min": [V("kind"), 5]}}), 400,
                  field="amount")
        assert "/min/0" in e["message"]
        error(post(h, "/items/GY-01/rules", {"rule": RULE}), 400, field="amount")  # 免申即享 needs an amount
        error(post(as_user(c.handler_b), "/items/GY-01/rules", {"rule": RULE, "amount": AMOUNT}), 403)
        error(post(as_user(c.ent_user_a), "/items/GY-01/rules", {"rule": RULE, "amount": AMOUNT}), 404)
        error(post(h, "/items/NOPE/rules", {"rule": RULE, "amount": AMOUNT}), 404)
        assert counts() == before
        error(post(h, "/items/GY-01/publish"), 400, field="rule")  # no rule yet
        v1 = ok(post(h, "/items/GY-01/rules", {"rule": RULE, "amount": AMOUNT, "note": "初版"}), 201)
        v2 = ok(post(h, "/items/GY-01/rules", {"rule": RULE, "amount": {"*": [2, AMOUNT]}, "note": "标准翻倍"}), 201)
        assert (v1["number"], v2["number"]) == (1, 2) and v2["author"] == c.handler_a.display_name
        versions = ok(h.get(f"{BASE}/items/GY-01/rules"))
        assert [v["number"] for v in versions] == [2, 1] and versions[1]["amount"] == AMOUNT
        assert versions[0]["describe"]["amount_zh"] != versions[1]["describe"]["amount_zh"]
        error(as_user(c.ent_user_a).get(f"{BASE}/items/GY-01/rules"), 404)

        # publishing by the department; public reads in words, Chinese and English
        error(post(as_user(c.handler_b), "/items/GY-01/publish"), 403, field="department")
        pub = ok(post(h, "/items/GY-01/publish"))
        assert pub["status"] == "published" and pub["in_force"] and pub["rule"]["number"] == 2
        before = counts()
        error(post(h, "/items/GY-01/publish"), 409, field="status")
        assert counts() == before
        public = ok(anon.get(f"{BASE}/items/GY-01"))
        assert public["rule"]["describe"]["rule_zh"].startswith("行业属于 制造业（C）")
        assert "revenue" in public["rule"]["describe"]["rule_en"] and public["rule"]["describe"]["amount_en"]
        assert public["figures"] is None and public["rule"]["author"] is None
        assert public["document_number"] == doc.number
        assert [r["code"] for r in ok(anon.get(BASE + "/items", {"mode": "auto_grant"}))["results"]] == ["GY-01"]
        assert ok(anon.get(BASE + "/items", {"mode": "instant"}))["count"] == 0
        assert ok(anon.get(BASE + "/items", {"document": doc.pk, "in_force": True}))["count"] == 1
        assert ok(anon.get(f"{BASE}/documents/{doc.pk}"))["items"][0]["code"] == "GY-01"
        error(anon.get(BASE + "/items", {"department": "NOPE"}), 400, field="department")
        error(anon.get(BASE + "/items", {"mode": "nope"}), 400, field="mode")

        # once published the mode stays; another department cannot change it; a stopped item is closed
        error(patch(h, "/items/GY-01", {"mode": "instant"}), 409, field="mode")
        assert ok(patch(h, "/items/GY-01", {"budget_fen": 200_000_000}))["budget_fen"] == 200_000_000
        error(patch(h, "/items/GY-01", {"department_code": "SCJG"}), 409, field="department_code")
        error(patch(as_user(c.handler_b), "/items/GY-01", {"budget_fen": 1}), 403)
        error(post(h, "/items/GY-01/stop", {"reason": ""}), 400, field="reason")
        assert ok(post(h, "/items/GY-01/stop", {"reason": "政策调整"}))["status"] == "stopped"
        before = counts()
        error(patch(h, "/items/GY-01", {"summary": "改"}), 409)
        error(post(h, "/items/GY-01/rules", {"rule": RULE, "amount": AMOUNT}), 409)
        error(post(h, "/items/GY-01/stop", {"reason": "再停"}), 409)
        assert counts() == before


# ------------------------------------------------------------------------------------------- simulation, matching


def test_simulation_matching_explanations_and_the_enterprise_page(county: County) -> None:
    c = county
    with at(2026, 3, 2):
        ent_c = add_company(c, 1, revenue="8000")
        ent_d = add_company(c, 2, revenue="1500")  # misses one condition
        d = as_user(c.dispatcher)
        sim = ok(post(d, "/simulate", {"rule": RULE, "amount": AMOUNT, "budget_fen": 3_000_000}))
        assert (sim["enterprises"], sim["qualified"], sim["close"], sim["unknown"]) == (4, 2, 1, 0)
        assert sim["total_fen"] == 2_500_000 + 800_000 and sim["amount_unknown"] == 0
        assert sim["over_budget"] and sim["budget_left_fen"] == -300_000 and sim["budget_fen"] == 3_000_000
        assert [(g["key"], g["count"], g["amount_fen"]) for g in sim["by_township"]] == [(c.town_a.code, 2, 3_300_000)]
        assert [g["key"] for g in sim["by_industry"]] == ["C"] and sum(g["count"] for g in sim["by_size"]) == 2
        assert {s["name"] for s in sim["sample"]} == {c.ent_a.name, ent_c.name}
        assert sim["describe"]["rule_zh"] and sim["reference_year"] == 2026
        error(post(as_user(c.ent_user_a), "/simulate", {"rule": RULE}), 403)
        e = error(post(d, "/simulate", {"rule": {"and": [RULE, {"==": [V("size_class"), "巨型"]}]}}), 400,
                  field="rule")
        assert "/and/1" in e["message"]
        error(post(d, "/simulate", {"rule": RULE, "budget_fen": -5}), 400, field="budget_fen")

        published_item(c, code="GY-09", mode="auto_grant")
        error(post(as_user(c.handler_b), "/items/GY-09/match"), 403)
        error(post(as_user(c.ent_user_a), "/items/GY-09/match"), 403)
        run = ok(post(as_user(c.handler_a), "/items/GY-09/match"))
        assert (run["scope"], run["items"], run["pairs"], run["inserted"]) == ("items", 1, 2, 2)
        assert ok(post(d, "/items/GY-09/match"))["inserted"] == 0  # nothing new
        matches = ok(d.get(f"{BASE}/items/GY-09/matches"))
        assert {m["enterprise_uscc"] for m in matches["results"]} == {c.ent_a.uscc, ent_c.uscc}
        assert matches["count"] == 2 and matches["results"][0]["rule_version"] == 1
        error(as_user(c.ent_user_a).get(f"{BASE}/items/GY-09/matches"), 403)

        # why (not): the enterprise asks about itself, staff about anyone
        mine = ok(as_user(c.ent_user_a).get(f"{BASE}/items/GY-09/explanation"))
        assert (mine["state"], mine["amount_fen"], mine["enterprise_uscc"]) == ("true", 2_500_000, c.ent_a.uscc)
        # the officer's three conditions and the credit check every item carries (联合惩戒)
        assert [x["state"] for x in mine["conditions"]] == ["true", "true", "true", "true"]
        assert mine["conditions"][3]["text_zh"] == "不在信用黑名单"
        assert mine["conditions"][1]["values"] == {"figures.revenue_wan.y-1": "25000"}
        error(as_user(c.ent_user_a).get(f"{BASE}/items/GY-09/explanation", {"enterprise_uscc": ent_c.uscc}), 403)
        theirs = ok(d.get(f"{BASE}/items/GY-09/explanation", {"enterprise_uscc": c.ent_b.uscc}))
        assert theirs["state"] == "false" and theirs["amount_fen"] is None
        assert [(x["state"], x["state_label"]) for x in theirs["conditions"]] == [
            ("false", "不满足"), ("unknown", "数据缺失"), ("false", "不满足"), ("true", "满足")]
        assert "正餐服务" in theirs["conditions"][0]["values_zh"]
        error(d.get(f"{BASE}/items/GY-09/explanation", {"enterprise_uscc": "91360781XXXXXXXXXX"}), 400,
              field="enterprise_uscc")
        error(as_user(c.auditor).get(f"{BASE}/items/GY-09/explanation", {"enterprise_uscc": c.ent_a.uscc}), 403)

        # the enterprise's page: qualified (with its amount) and close (one condition missing)
        view = ok(as_user(c.ent_user_a).get(f"{BASE}/enterprises/{c.ent_a.uscc}/policies"))
        assert [(q["item"]["code"], q["amount_fen"], q["can_apply"]) for q in view["qualified"]] == [
            ("GY-09", 2_500_000, False)]
        close = ok(d.get(f"{BASE}/enterprises/{ent_d.uscc}/policies"))
        # ent_d misses only last year's revenue: nothing it can act on, so not "close"
        assert close["qualified"] == [] and close["close"] == []
        error(as_user(c.ent_user_b).get(f"{BASE}/enterprises/{c.ent_a.uscc}/policies"), 403)
        error(d.get(f"{BASE}/enterprises/NOPE/policies"), 404)


# ------------------------------------------------------------------------------------------- 即申即享


def test_instant_application_is_approved_at_once_or_told_exactly_what_is_missing(county: County) -> None:
    c = county
    with at(2026, 3, 2):
        item = published_item(c, code="JS-01", materials=[{"name": "营业执照"}, {"name": "纳税证明"}],
                              budget_fen=100_000_000)
        mats = {m.name: m.pk for m in item.materials.all()}
        a, b = as_user(c.ent_user_a), as_user(c.ent_user_b)
        files = [upload(a), upload(a)]
        body = {"item_code": "JS-01", "contact_name": "王经理", "contact_phone": "13912345678",
                "materials": [{"material_id": mats["营业执照"], "attachment_ids": [files[0]]},
                              {"material_id": mats["纳税证明"], "attachment_ids": [files[1]]}]}
        before = counts()
        error(post(as_user(c.dispatcher), "/applications", body), 403)
        error(post(Client(), "/applications", body), 401)
        theirs = upload(b)
        error(post(a, "/applications", {**body, "materials": [{"material_id": mats["营业执照"],
                                                               "attachment_ids": [theirs]}]}), 400, field="materials")
        error(post(a, "/applications", {**body, "materials": [{"material_id": 99999, "attachment_ids": files}]}),
              400, field="materials")
        error(post(a, "/applications", {**body, "materials": [{"material_id": mats["营业执照"], "attachment_ids": []}]}),
              400, field="materials.0.attachment_ids")
        error(post(a, "/applications", {**body, "item_code": "NOPE"}), 400, field="item_code")
        error(post(a, "/applications", {**body, "period": "2026Q1"}), 400, field="period")
        error(post(a, "/applications", {**body, "contact_phone": " "}), 400, field="contact_phone")
        assert counts() == before

        # an enterprise the data does not support: 422 with exactly what is missing, nothing stored
        resp = post(b, "/applications", {**body, "materials": []})
        assert resp.status_code == 422, resp.content
        refused = resp.json()
        assert set(refused) == ERROR_KEYS | {"missing"}
        assert (refused["code"], refused["field"]) == ("not_eligible", "eligibility")
        missing = refused["missing"]
        assert [(m["kind"], m["state"]) for m in missing] == [
            ("condition", "false"), ("condition", "unknown"), ("condition", "false"), ("material", ""), ("material", "")]
        assert missing[0]["text_zh"] == "行业属于 制造业（C）" and "正餐服务" in missing[0]["values_zh"]
        assert missing[1]["values_zh"] == "上年营业收入（万元）：缺失"
        assert [m["text_zh"] for m in missing[3:]] == ["营业执照", "纳税证明"]
        assert "缺少材料：营业执照" in refused["message"] and "数据缺失" in refused["message"]
        assert counts() == before
        # eligible on the data, a material missing: only that is said
        resp = post(a, "/applications", {**body, "materials": body["materials"][:1]})
        assert resp.status_code == 422
        assert [(m["kind"], m["text_zh"]) for m in resp.json()["missing"]] == [("material", "纳税证明")]
        assert counts() == before

        # approved at once, its payout pending
        app = ok(post(a, "/applications", body), 201)
        assert (app["status"], app["mode"], app["amount_fen"], app["period"]) == ("approved", "instant", 2_500_000, "2026")
        assert [(p["status"], p["amount_fen"]) for p in app["payouts"]] == [("pending", 2_500_000)]
        assert [e["kind"] for e in app["timeline"]] == ["submit", "instant_approve"]
        assert app["timeline"][0]["actor"] is None and app["decided_by"] is None  # no staff data for the enterprise
        assert sorted(m["name"] for m in app["materials"]) == ["纳税证明", "营业执照"]
        before = counts()
        error(post(a, "/applications", body), 409, field="period")  # once a period
        assert counts() == before
        # who sees it
        n = app["number"]
        error(b.get(f"{BASE}/applications/{n}"), 403)
        error(as_user(c.handler_b).get(f"{BASE}/applications/{n}"), 403)
        assert ok(as_user(c.dispatcher).get(f"{BASE}/applications/{n}"))["timeline"][1]["data"]["amount_fen"] == 2_500_000
        error(a.get(f"{BASE}/applications/NOPE"), 404)
        assert ok(a.get(BASE + "/applications"))["count"] == 1 and ok(b.get(BASE + "/applications"))["count"] == 0
        assert ok(as_user(c.handler_a).get(BASE + "/applications", {"item": "JS-01"}))["count"] == 1
        assert ok(as_user(c.handler_b).get(BASE + "/applications"))["count"] == 0
        assert ok(as_user(c.leader).get(BASE + "/applications", {"status": "approved"}))["count"] == 1
        error(as_user(c.auditor).get(BASE + "/applications"), 403)
        error(a.get(BASE + "/applications", {"status": "nope"}), 400, field="status")


# ------------------------------------------------------------------------------------------- 依申报


def test_apply_review_with_a_correction_round_and_an_upheld_objection(county: County) -> None:
    c = county
    with at(2026, 3, 2):
        item = published_item(c, code="SB-01", mode="apply_review", amount=None, review_days=10, accept_days=3,
                              notice_days=5, materials=[{"name": "项目投资证明"}, {"name": "发票", "required": False}])
        mats = {m.name: m.pk for m in item.materials.all()}
        a, h, hd = as_user(c.ent_user_a), as_user(c.handler_a), as_user(c.head_a)
        body = {"item_code": "SB-01", "contact_name": "王经理", "contact_phone": "13912345678",
                "statement": "技改项目已竣工投产"}
        error(post(a, "/applications", body), 400, field="materials")  # the required material
        app = ok(post(a, "/applications", {**body, "materials": [
            {"material_id": mats["项目投资证明"], "attachment_ids": [upload(a)]}]}), 201)
        assert app["status"] == "submitted" and app["accept_due"] == "2026-03-05"
        n = app["number"]
        before = counts()
        error(post(as_user(c.handler_b), f"/applications/{n}/accept"), 403)
        error(post(a, f"/applications/{n}/accept"), 403)
        error(post(hd, f"/applications/{n}/decide", {"approve": True, "reason": "符合", "amount_fen": 100}), 409)
        assert counts() == before
    with at(2026, 3, 3):
        h = as_user(c.handler_a)  # sessions last 30 minutes: sign in again on each day
        app = ok(post(h, f"/applications/{n}/accept"))
        assert (app["status"], app["accepted_on"], app["review_due"]) == ("reviewing", "2026-03-03", "2026-03-17")
        before = counts()
        error(post(h, f"/applications/{n}/accept"), 409, field="status")
        error(post(h, f"/applications/{n}/not-accept", {"reason": "晚了"}), 409)
        assert counts() == before
    with at(2026, 3, 5):
        h, hd, a = as_user(c.handler_a), as_user(c.head_a), as_user(c.ent_user_a)
        error(post(h, f"/applications/{n}/corrections", {"material_ids": [99999], "note": "x"}), 400,
              field="material_ids")
        error(post(h, f"/applications/{n}/corrections", {"material_ids": [mats["发票"]], "note": " "}), 400,
              field="note")
        error(post(as_user(c.handler_b), f"/applications/{n}/corrections",
                   {"material_ids": [mats["发票"]], "note": "补"}), 403)
        app = ok(post(h, f"/applications/{n}/corrections", {"material_ids": [mats["发票"]], "note": "请补充设备购置发票"}))
        assert app["status"] == "correction" and app["pauses"] == [
            {"start": "2026-03-05", "end": None, "requested": ["发票"], "note": "请补充设备购置发票"}]
        before = counts()
        error(post(hd, f"/applications/{n}/decide", {"approve": True, "reason": "符合", "amount_fen": 100}), 409)
        error(post(as_user(c.ent_user_b), f"/applications/{n}/corrections/submit", {"statement": "补"}), 403)
        error(post(a, f"/applications/{n}/corrections/submit", {"statement": "已补"}), 400, field="materials")
        assert counts() == before
    with at(2026, 3, 12):
        h, hd, a = as_user(c.handler_a), as_user(c.head_a), as_user(c.ent_user_a)
        app = ok(post(a, f"/applications/{n}/corrections/submit", {"materials": [
            {"material_id": mats["发票"], "attachment_ids": [upload(a)]}]}))
        assert (app["status"], app["review_due"]) == ("reviewing", "2026-03-24")
        assert sorted(m["round"] for m in app["materials"]) == [0, 1]
        before = counts()
        error(post(h, f"/applications/{n}/decide", {"approve": True, "reason": "符合", "amount_fen": 100}), 403)
        error(post(hd, f"/applications/{n}/decide", {"approve": True, "reason": "符合"}), 400, field="amount_fen")
        error(post(hd, f"/applications/{n}/decide", {"approve": True, "reason": "符合", "amount_fen": 0}), 400,
              field="amount_fen")
        error(post(hd, f"/applications/{n}/decide", {"approve": False, "reason": ""}), 400, field="reason")
        assert counts() == before
        app = ok(post(hd, f"/applications/{n}/decide", {"approve": True, "reason": "投资额达到标准",
                                                         "amount_fen": 30_000_000}))
        assert (app["status"], app["notice_end"], app["amount_fen"]) == ("notice", "2026-03-19", 30_000_000)
        assert [(p["status"], p["payable_on"]) for p in app["payouts"]] == [("pending", "2026-03-20")]
    with at(2026, 3, 16):
        h, hd, a, anon = as_user(c.handler_a), as_user(c.head_a), as_user(c.ent_user_a), Client()
        assert [(x["kind"], x["number"], x["total_fen"]) for x in ok(anon.get(BASE + "/notices"))] == [
            ("application", n, 30_000_000)]
        error(post(anon, f"/applications/{n}/objections", {"text": "项目未竣工"}), 400, field="filer_name")
        error(post(anon, "/applications/NOPE/objections", {"text": "x", "filer_name": "张某"}), 404)
        obj = ok(post(anon, f"/applications/{n}/objections", {"text": "该企业项目尚未竣工", "filer_name": "张某",
                                                              "filer_contact": "13900000000"}), 201)
        assert obj["status"] == "open" and obj["filer_name"] is None and obj["application_number"] == n
        staff = ok(hd.get(BASE + "/objections"))
        assert [(o["id"], o["filer_name"]) for o in staff] == [(obj["id"], "张某")]
        assert ok(as_user(c.handler_b).get(BASE + "/objections")) == []
        error(a.get(BASE + "/objections"), 403)
        error(post(h, f"/objections/{obj['id']}/decide", {"uphold": True, "reason": "x"}), 403)
        error(post(as_user(c.dispatcher), f"/objections/{obj['id']}/decide", {"uphold": True, "reason": "x"}), 403)
        error(post(hd, f"/objections/{obj['id']}/decide", {"uphold": True, "reason": ""}), 400, field="reason")
        done = ok(post(hd, f"/objections/{obj['id']}/decide", {"uphold": True, "reason": "经核实项目未竣工"}))
        assert done["status"] == "upheld" and done["decision_reason"] == "经核实项目未竣工"
        before = counts()
        error(post(hd, f"/objections/{obj['id']}/decide", {"uphold": False, "reason": "再议"}), 409)
        assert counts() == before
        app = ok(a.get(f"{BASE}/applications/{n}"))
        assert app["status"] == "revoked" and [p["status"] for p in app["payouts"]] == ["cancelled"]
        assert "objection_decide" in [e["kind"] for e in app["timeline"]]

        # the other ends: withdrawn by the enterprise, not accepted, rejected
        files = [{"material_id": mats["项目投资证明"], "attachment_ids": [upload(a)]}]
        n2 = ok(post(a, "/applications", {**body, "materials": files}), 201)["number"]
        error(post(as_user(c.ent_user_b), f"/applications/{n2}/withdraw"), 403)
        assert ok(post(a, f"/applications/{n2}/withdraw"))["status"] == "withdrawn"
        error(post(a, f"/applications/{n2}/withdraw"), 409)
        n3 = ok(post(a, "/applications", {**body, "materials": files}), 201)["number"]
        error(post(h, f"/applications/{n3}/not-accept", {"reason": ""}), 400, field="reason")
        assert ok(post(h, f"/applications/{n3}/not-accept", {"reason": "不属于支持范围"}))["status"] == "not_accepted"
        n4 = ok(post(a, "/applications", {**body, "materials": files}), 201)["number"]
        ok(post(h, f"/applications/{n4}/accept"))
        rejected = ok(post(hd, f"/applications/{n4}/decide", {"approve": False, "reason": "投资额未达标准"}))
        assert rejected["status"] == "rejected" and rejected["payouts"] == []


# ------------------------------------------------------------------------------------------- 免申即享 to the bank


def test_auto_grant_flow_to_a_confirmed_batch_and_a_ledger_that_reconciles(county: County) -> None:
    c = county
    with at(2026, 3, 2):
        ent_c = add_company(c, 1, revenue="8000")
        ent_d = add_company(c, 2, revenue="4000")
        ent_e = add_company(c, 3, revenue="6000")
        item = published_item(c, code="MS-01", mode="auto_grant", budget_fen=100_000_000)
        a, h, hd, d = as_user(c.ent_user_a), as_user(c.handler_a), as_user(c.head_a), as_user(c.dispatcher)
        ok(post(d, "/items/MS-01/match"))
        before = counts()
        error(post(as_user(c.handler_b), "/lists", {"item_code": "MS-01"}), 403)
        error(post(a, "/lists", {"item_code": "MS-01"}), 403)
        error(post(h, "/lists", {"item_code": "NOPE"}), 400, field="item_code")
        error(post(h, "/lists", {"item_code": "MS-01", "period": "2026Q1"}), 400, field="period")
        assert counts() == before
        plist = ok(post(h, "/lists", {"item_code": "MS-01"}), 201)
        assert (plist["status"], plist["count"], plist["total_fen"], plist["period"]) == (
            "proposed", 4, 2_500_000 + 800_000 + 400_000 + 600_000, "2026")
        n = plist["number"]
        entries = {e["enterprise_uscc"]: e["id"] for e in ok(h.get(f"{BASE}/lists/{n}/entries"))["results"]}
        error(as_user(c.handler_b).get(f"{BASE}/lists/{n}"), 404)  # another department's list
        error(a.get(f"{BASE}/lists/{n}"), 403)
        assert ok(d.get(BASE + "/lists", {"item": "MS-01"}))["count"] == 1
        assert ok(as_user(c.handler_b).get(BASE + "/lists"))["count"] == 0

        # the department head reviews: one enterprise off with the reason, one off and back on
        ent_d_entry = f"/lists/{n}/entries/{entries[ent_d.uscc]}"
        error(post(h, f"{ent_d_entry}/exclude", {"reason": "已享受同类政策"}), 403)
        error(post(hd, f"{ent_d_entry}/exclude", {"reason": ""}), 400, field="reason")
        error(post(hd, f"/lists/{n}/entries/99999/exclude", {"reason": "x"}), 404)
        assert not ok(post(hd, f"{ent_d_entry}/exclude", {"reason": "已享受同类政策"}))["included"]
        error(post(hd, f"{ent_d_entry}/exclude", {"reason": "再次"}), 409)
        ok(post(hd, f"/lists/{n}/entries/{entries[ent_e.uscc]}/exclude", {"reason": "待核实"}))
        assert ok(post(hd, f"/lists/{n}/entries/{entries[ent_e.uscc]}/restore"))["included"]
        assert ok(h.get(f"{BASE}/lists/{n}/entries", {"included": False}))["count"] == 1
        before = counts()
        error(post(h, f"/lists/{n}/notice"), 409, field="status")  # not reviewed yet
        error(post(h, f"/lists/{n}/review"), 403)
        assert counts() == before and not Payout.objects.exists()
        assert ok(post(hd, f"/lists/{n}/review", {"note": "经集体审核"}))["status"] == "reviewed"
        error(post(hd, f"{ent_d_entry}/restore"), 409)  # reviewed: the list is fixed
        noticed = ok(post(h, f"/lists/{n}/notice"))
        assert (noticed["status"], noticed["notice_end"], noticed["count"], noticed["excluded"]) == (
            "notice", "2026-03-09", 3, 1)
        assert Payout.objects.filter(item=item, status="pending").count() == 3

        # the public notice, and an objection from the public
        anon = Client()
        pub = ok(anon.get(f"{BASE}/lists/{n}/notice"))
        assert {e["uscc"] for e in pub["entries"]} == {c.ent_a.uscc, ent_c.uscc, ent_e.uscc}
        assert pub["total_fen"] == 3_900_000 and pub["count"] == 3
        assert [x["number"] for x in ok(anon.get(BASE + "/notices"))] == [n]
        error(anon.get(f"{BASE}/lists/NOPE/notice"), 404)
        obj = ok(post(anon, f"/lists/{n}/entries/{entries[ent_c.uscc]}/objections",
                      {"text": "该企业已停产", "filer_name": "李某", "filer_contact": "13700000000"}), 201)
        assert obj["list_number"] == n and obj["enterprise_uscc"] == ent_c.uscc
        error(post(anon, f"{ent_d_entry}/objections", {"text": "x", "filer_name": "李某"}), 409)  # not on notice
    with at(2026, 3, 10):
        a, h, hd, d = as_user(c.ent_user_a), as_user(c.handler_a), as_user(c.head_a), as_user(c.dispatcher)
        before = counts()
        error(post(h, f"/lists/{n}/finalize"), 409, field="objections")
        assert counts() == before
        ok(post(hd, f"/objections/{obj['id']}/decide", {"uphold": False, "reason": "经核实正常生产"}))
        assert ok(post(h, f"/lists/{n}/finalize"))["status"] == "final"
        error(post(h, f"/lists/{n}/cancel", {"reason": "x"}), 409)

        # payee accounts: the enterprise its own, the office any; a batch needs them
        error(post(d, "/batches", {}), 400, field="payouts")
        error(put(as_user(c.ent_user_b), f"/enterprises/{c.ent_a.uscc}/payee-account", account()), 403)
        error(put(a, f"/enterprises/{c.ent_a.uscc}/payee-account", account(account_no="abc")), 400, field="account_no")
        mine = ok(put(a, f"/enterprises/{c.ent_a.uscc}/payee-account", account(account_name=c.ent_a.name,
                                                                              account_no="6222 0200 0000 0001")))
        assert mine["account_no"] == "6222020000000001"
        ok(put(d, f"/enterprises/{ent_c.uscc}/payee-account", account(account_no="6222020000000003")))
        ok(put(d, f"/enterprises/{ent_e.uscc}/payee-account", account(account_no="6222020000000005")))

        before = counts()
        error(post(hd, "/batches", {}), 403)
        error(post(d, "/batches", {"item_codes": ["NOPE"]}), 400, field="item_codes")
        error(post(d, "/batches", {"limit": 0}), 400, field="limit")
        assert counts() == before
        batch = ok(post(d, "/batches", {"item_codes": ["MS-01"]}), 201)
        assert (batch["status"], batch["count"], batch["total_fen"]) == ("open", 3, 3_900_000)
        bn = batch["number"]
        error(d.get(f"{BASE}/batches/{bn}/payment-file"), 409)  # not exported yet
        error(post(hd, f"/batches/{bn}/export"), 403)
        error(hd.get(f"{BASE}/batches/{bn}"), 403)
        error(d.get(f"{BASE}/batches/NOPE"), 404)
        resp = post(d, f"/batches/{bn}/export")
        assert resp.status_code == 200 and resp["Content-Type"].startswith("text/csv")
        assert resp.content.startswith("\ufeff序号,兑现编号,收款户名,收款账号".encode())
        assert payouts.export_total_fen(resp.content) == (3, 3_900_000)
        assert resp["X-Content-SHA256"] == payouts.sha256(resp.content)
        assert ok(d.get(f"{BASE}/batches/{bn}"))["status"] == "exported"
        assert d.get(f"{BASE}/batches/{bn}/payment-file").content == resp.content

        # the bank's confirmations: a bad file changes nothing; then two paid and one failed
        rows = list(Payout.objects.filter(batch__number=bn).order_by("id"))
        before = counts(), sorted(Payout.objects.values_list("status", flat=True))
        error(send_confirmations(d, confirmation([(rows[0].number, "成功", "", "")])), 400, field="file")
        error(send_confirmations(d, confirmation([("DX000", "成功", "B1", "")])), 400, field="file")
        error(send_confirmations(hd, confirmation([(rows[0].number, "成功", "B1", "")])), 403)
        assert (counts(), sorted(Payout.objects.values_list("status", flat=True))) == before
        good = confirmation([(rows[0].number, "成功", "BANK0001", ""), (rows[1].number, "成功", "BANK0002", ""),
                             (rows[2].number, "失败", "", "账户已销户")])
        res = ok(send_confirmations(d, good))
        assert (res["rows"], res["paid"], res["failed"], res["unchanged"], res["batches_closed"]) == (3, 2, 1, 0, [bn])
        assert ok(send_confirmations(d, good))["unchanged"] == 3  # the same file again changes nothing
        assert ok(d.get(f"{BASE}/batches/{bn}"))["status"] == "closed"
        again_file = d.get(f"{BASE}/batches/{bn}/payment-file")  # a closed batch's file, unchanged
        assert again_file.content == resp.content
        assert again_file["X-Content-SHA256"] == PayoutBatch.objects.get(number=bn).export_sha256

        # the failed payment is paid again once the account is corrected
        failed = rows[2].number
        error(post(d, "/payouts/retry", {"payout_numbers": [rows[0].number]}), 409, field="payout_numbers")
        error(post(d, "/payouts/retry", {"payout_numbers": ["DX000"]}), 400, field="payout_numbers")
        error(post(d, "/payouts/retry", {"payout_numbers": []}), 400, field="payout_numbers")
        error(post(hd, "/payouts/retry", {"payout_numbers": [failed]}), 403)
        ok(put(d, f"/enterprises/{rows[2].enterprise.uscc}/payee-account", account(account_no="6222020000000009")))
        again = ok(post(d, "/payouts/retry", {"payout_numbers": [failed]}), 201)
        assert [(p["retry_of"], p["status"], p["amount_fen"]) for p in again] == [
            (failed, "pending", rows[2].amount_fen)]
        batch2 = ok(post(d, "/batches", {}), 201)
        assert batch2["count"] == 1
        post(d, f"/batches/{batch2['number']}/export")
        res = ok(send_confirmations(d, confirmation([(again[0]["number"], "成功", "BANK0003", "")])))
        assert res["batches_closed"] == [batch2["number"]]
        assert [b["status"] for b in ok(d.get(BASE + "/batches"))] == ["closed", "closed"]
        assert ok(d.get(BASE + "/batches", {"status": "exported"})) == []

    # the ledger: totals over every selected row, reconciling with the rows whatever the page
    a, h, d = as_user(c.ent_user_a), as_user(c.handler_a), as_user(c.dispatcher)
    first = ok(d.get(BASE + "/payouts", {"item": "MS-01", "page_size": 3}))
    second = ok(d.get(BASE + "/payouts", {"item": "MS-01", "page_size": 3, "page": 2}))
    rows_out = first["results"] + second["results"]
    t = first["totals"]
    assert first["count"] == second["count"] == len(rows_out) == t["count"] == 4
    assert second["totals"] == t
    assert sum(r["amount_fen"] for r in rows_out) == t["amount_fen"] == sum(s["amount_fen"] for s in t["by_status"])
    by_status = {s["status"]: (s["count"], s["amount_fen"]) for s in t["by_status"]}
    assert by_status["paid"] == (3, 3_900_000) and by_status["retried"] == (1, rows[2].amount_fen)
    assert by_status["pending"] == by_status["failed"] == (0, 0)
    assert (t["paid_fen"], t["live_fen"], t["enterprises_paid"]) == (3_900_000, 3_900_000, 3)
    ledger = payouts.ledger_totals(item=item)
    assert (ledger["paid_fen"], ledger["enterprises_paid"], ledger["count"]) == (
        t["paid_fen"], t["enterprises_paid"], t["count"])
    assert payouts.reconcile() == []
    paid = ok(d.get(BASE + "/payouts", {"status": "paid"}))
    assert paid["totals"]["count"] == paid["count"] == 3 and all(r["bank_reference"] for r in paid["results"])
    assert ok(d.get(BASE + "/payouts", {"batch": bn}))["count"] == 3
    assert ok(d.get(BASE + "/payouts", {"enterprise": c.ent_a.uscc, "period": "2026"}))["count"] == 1
    # who sees what: the enterprise its own (with its account), the department its items' (no accounts)
    own = ok(a.get(BASE + "/payouts"))
    assert [r["enterprise_uscc"] for r in own["results"]] == [c.ent_a.uscc]
    assert own["results"][0]["payee_account"] == "6222020000000001" and own["totals"]["paid_fen"] == 2_500_000
    dept = ok(h.get(BASE + "/payouts"))
    assert dept["count"] == 4 and all(r["payee_account"] is None for r in dept["results"])
    assert ok(as_user(c.handler_b).get(BASE + "/payouts"))["count"] == 0
    error(as_user(c.auditor).get(BASE + "/payouts"), 403)
    error(d.get(BASE + "/payouts", {"batch": "NOPE"}), 400, field="batch")
    error(d.get(BASE + "/payouts", {"status": "nope"}), 400, field="status")
    error(d.get(BASE + "/payouts", {"enterprise": "NOPE"}), 400, field="enterprise")


def test_auto_grant_list_over_budget_is_refused_whole(county: County) -> None:
    c = county
    with at(2026, 3, 2):
        add_company(c, 1, revenue="8000")
        published_item(c, code="MS-02", mode="auto_grant", budget_fen=3_000_000)  # the list needs 3,300,000
        h, hd = as_user(c.handler_a), as_user(c.head_a)
        ok(post(h, "/items/MS-02/match"))
        n = ok(post(h, "/lists", {"item_code": "MS-02"}), 201)["number"]
        ok(post(hd, f"/lists/{n}/review"))
        before = counts()
        e = error(post(h, f"/lists/{n}/notice"), 409, code="over_budget", field="budget_fen")
        assert "预算不足" in e["message"]
        assert counts() == before and PayoutList.objects.get(number=n).status == "reviewed"
        ok(patch(h, "/items/MS-02", {"budget_fen": 3_300_000}))
        assert ok(post(h, f"/lists/{n}/notice"))["status"] == "notice"
        assert services.budget_used_fen(BenefitItem.objects.get(code="MS-02").pk) == 3_300_000


# ------------------------------------------------------------------------------------------- query counts


@pytest.mark.parametrize("n", [2, 6])
def test_list_endpoints_do_not_grow_with_rows(county: County, n: int) -> None:
    """The ledger, applications, lists, entries, documents and items answer in a fixed number of
    queries whatever the number of rows."""
    c = county
    with at(2026, 3, 2):
        item = published_item(c, code="JS-01", budget_fen=1_000_000_000)
        auto = published_item(c, code="MS-01", mode="auto_grant")
        for i in range(n):
            ent = add_company(c, 10 + i, revenue=str(3000 + 1000 * i))
            from yingshang.core.services import user_create

            user = user_create(actor=None, username=f"boss{i}", password="Test@pass2026x", role="enterprise",
                               enterprise=ent)
            svc.apply(c, item, user=user)
        d = as_user(c.dispatcher)
        ok(post(d, "/items/MS-01/match"))
        number = ok(post(as_user(c.handler_a), "/lists", {"item_code": "MS-01"}), 201)["number"]
        assert PayoutListEntry.objects.filter(payout_list__item=auto).count() == n + 1
        paths = [("/payouts", {}), ("/applications", {}), ("/lists", {}), (f"/lists/{number}/entries", {}),
                 ("/documents", {}), ("/items", {}), ("/batches", {}), ("/objections", {"status": ""})]
        for path, params in paths:
            d.get(BASE + path, params)  # warm the session
            with CaptureQueriesContext(connection) as ctx:
                ok(d.get(BASE + path, params))
            assert len(ctx.captured_queries) <= 12, (path, len(ctx.captured_queries),
                                                     [q["sql"][:120] for q in ctx.captured_queries])


def test_query_counts_are_the_same_for_2_and_6_rows(county: County) -> None:
    """The same endpoints with 2 and 6 rows issue the same number of queries."""
    c = county
    seen: dict[int, dict[str, int]] = {}
    with at(2026, 3, 2):
        item = published_item(c, code="JS-01", budget_fen=1_000_000_000)
        d = as_user(c.dispatcher)
        from yingshang.core.services import user_create

        for total in (2, 6):
            while Application.objects.count() < total:
                i = Application.objects.count()
                ent = add_company(c, 10 + i, revenue=str(3000 + 1000 * i))
                user = user_create(actor=None, username=f"boss{i}", password="Test@pass2026x", role="enterprise",
                                   enterprise=ent)
                svc.apply(c, item, user=user)
            seen[total] = {}
            for path in ("/payouts", "/applications"):
                d.get(BASE + path)
                with CaptureQueriesContext(connection) as ctx:
                    assert ok(d.get(BASE + path, {"page_size": 500}))["count"] == total
                seen[total][path] = len(ctx.captured_queries)
    assert seen[2] == seen[6], seen


def test_items_in_force_follow_the_document(county: County) -> None:
    c = county
    with at(2026, 3, 2):
        doc = published_document(c, effective_on=dt.date(2026, 4, 1), issued_on=dt.date(2026, 2, 1))
        published_item(c, doc=doc, code="GY-20", mode="auto_grant")
        row = ok(Client().get(BASE + "/items"))["results"][0]
        assert row["code"] == "GY-20" and not row["in_force"]
        assert ok(Client().get(BASE + "/items", {"in_force": True}))["count"] == 0
    with at(2026, 4, 1):
        assert ok(Client().get(BASE + "/items", {"in_force": True}))["count"] == 1
