"""/api/v1/services: the catalogue (public reads, the office's writes, XLSX round trip), the whole
case journey through the API for every role, token rating for people without an account, contests,
monitoring and figures — and the refused paths (wrong role, other department, other enterprise, bad
input → 400 naming the field as the caller wrote it, wrong state → 409), which leave nothing changed."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from tests.conftest import County

from yingshang.service_items import services
from yingshang.service_items.models import (
    Bundle,
    Case,
    CaseMaterial,
    Material,
    Rating,
    Rectification,
    ServiceItem,
    SupervisionPush,
    TreeNode,
)

BASE = "/api/v1/services"
ERROR_KEYS = {"code", "message", "message_en", "field"}
TZ = dt.timezone(dt.timedelta(hours=8))
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
TODAY = dt.date(2026, 11, 10)  # a Tuesday


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


def at(day: dt.date, hour: float = 10) -> Any:
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, int(hour), int(hour % 1 * 60), tzinfo=TZ),
                               tick=False)


def upload(c: Client, name: str = "scan.pdf") -> int:
    resp = c.post("/api/v1/attachments", {"file": SimpleUploadedFile(name, PDF, content_type="application/pdf")})
    return ok(resp, 201)["id"]


def snapshot(number: str) -> tuple[Any, ...]:
    c = Case.objects.get(number=number)
    return (c.status, c.handler_id, c.due_date, c.extension_days, c.decision, c.updated_at, c.events.count(),
            c.materials.filter(status="provided").count(), c.ratings.count(), c.corrections.count())


@pytest.fixture
def frozen():  # type: ignore[no-untyped-def]
    with at(TODAY) as traveller:
        yield traveller


@pytest.fixture
def cat(county: County, frozen: Any) -> County:
    """item A (工信局, 承诺件 5 of 20, supervised by 市场监管局, online), item B (市场监管局, 3 of 20,
    online), an instant item of 工信局 (window only), a bundle A + B led by 工信局, and a tree."""
    c, d = county, county.dispatcher
    a = services.item_create(actor=d, code="360781-GX-001", name="工业企业技术改造项目备案", item_type="01",
                             department=c.dept_a, legal_days=20, promised_days=5, levels=["county", "township"],
                             online=True, window="综合窗口3号", supervising_department=c.dept_b)
    services.material_add(actor=d, item=a, name="申请书")
    services.material_add(actor=d, item=a, name="营业执照", form="copy", tolerance_allowed=True)
    services.material_add(actor=d, item=a, name="场地证明", tolerance_allowed=True)
    b = services.item_create(actor=d, code="360781-SC-001", name="食品经营许可", item_type="01", department=c.dept_b,
                             legal_days=20, promised_days=3, online=True, window="综合窗口5号")
    services.material_add(actor=d, item=b, name="申请书")
    services.material_add(actor=d, item=b, name="营业执照", form="original")
    inst = services.item_create(actor=d, code="360781-GX-002", name="企业名称变更信息确认", item_type="07",
                                department=c.dept_a, legal_days=5, promised_days=0)
    services.material_add(actor=d, item=inst, name="申请表")
    bundle = services.bundle_create(actor=d, code="YJS-001", name="开办餐饮店", lead_department=c.dept_a,
                                    items=[a, b], promised_days=5)
    root = services.tree_node_create(actor=d, tree="enterprise", name="开办")
    services.tree_node_create(actor=d, tree="enterprise", name="开店", parent=root, bundles=[bundle], items=[b])
    c.item_a, c.item_b, c.instant, c.bundle = a, b, inst, bundle  # type: ignore[attr-defined]
    return c


def window_case(c: County, item: ServiceItem, staff: Any, **kw: Any) -> Case:
    args = {"actor": staff, "item": item, "applicant_name": "张三", "applicant_phone": "13800001111",
            "provided": {m.pk: None for m in item.materials.all()}}
    args.update(kw)
    return services.case_apply(**args)


# ------------------------------------------------------------------------------------------- catalogue


def test_catalogue_reads_are_public(cat: County) -> None:
    anon = Client()
    page = ok(anon.get(f"{BASE}/items"))
    assert page["count"] == 3 and [r["code"] for r in page["results"]][0] == "360781-GX-001"
    assert ok(anon.get(f"{BASE}/items", {"department": "SCJG"}))["count"] == 1
    assert ok(anon.get(f"{BASE}/items", {"q": "食品"}))["results"][0]["code"] == "360781-SC-001"
    error(anon.get(f"{BASE}/items", {"department": "NOPE"}), 400, field="department")
    item = ok(anon.get(f"{BASE}/items/360781-GX-001"))
    assert item["department_code"] == "GXJ" and item["supervising_department_code"] == "SCJG"
    assert item["levels"] == ["county", "township"] and item["extension_cap"] == 10
    assert [m["name"] for m in item["materials"]] == ["申请书", "营业执照", "场地证明"]
    assert item["materials"][1]["form"] == "copy" and item["materials"][1]["tolerance_allowed"]
    assert item["bundle_codes"] == ["YJS-001"]
    error(anon.get(f"{BASE}/items/NOPE"), 404, code="not_found")

    bundles = ok(anon.get(f"{BASE}/bundles"))
    assert bundles == [{"code": "YJS-001", "name": "开办餐饮店", "lead_department_code": "GXJ",
                        "lead_department_name": "工业和信息化局", "promised_days": 5, "active": True,
                        "item_codes": ["360781-GX-001", "360781-SC-001"]}]
    bundle = ok(anon.get(f"{BASE}/bundles/YJS-001"))
    merged = {m["name"]: m for m in bundle["materials"]}
    assert list(merged) == ["申请书", "营业执照", "场地证明"]  # shared materials asked once
    assert merged["营业执照"]["form"] == "both" and not merged["营业执照"]["tolerance_allowed"]
    assert merged["营业执照"]["item_codes"] == ["360781-GX-001", "360781-SC-001"]
    assert bundle["extension_cap"] == 15

    tree = ok(anon.get(f"{BASE}/trees/enterprise"))
    assert tree["tree_label"] == "企业全生命周期"
    (root,) = tree["nodes"]
    assert root["name"] == "开办" and root["children"][0]["bundles"] == [{"code": "YJS-001", "name": "开办餐饮店"}]
    assert ok(anon.get(f"{BASE}/trees/personal"))["nodes"] == []
    error(anon.get(f"{BASE}/trees/company"), 400, field="tree")

    # an item no longer in use: hidden from the public, listed for the office on request
    services.item_update(actor=cat.dispatcher, item=cat.instant, active=False)  # type: ignore[attr-defined]
    assert ok(anon.get(f"{BASE}/items"))["count"] == 2
    assert ok(anon.get(f"{BASE}/items", {"include_inactive": True}))["count"] == 2
    error(anon.get(f"{BASE}/items/360781-GX-002"), 404)
    disp = as_user(cat.dispatcher)
    assert ok(disp.get(f"{BASE}/items", {"include_inactive": True}))["count"] == 3
    assert ok(disp.get(f"{BASE}/items/360781-GX-002"))["active"] is False


def test_catalogue_writes_by_the_office(cat: County) -> None:
    disp = as_user(cat.dispatcher)
    body = ok(post(disp, "/items", {"code": "360781-GX-009", "name": "工业项目节能审查", "item_type": "01",
                                    "department_code": "GXJ", "legal_days": 20, "promised_days": 10,
                                    "levels": ["county"], "online": True, "supervising_department_code": "SCJG"}),
              201)
    assert body["is_instant"] is False and body["supervising_department_code"] == "SCJG" and body["materials"] == []
    body = ok(patch(disp, "/items/360781-GX-009", {"promised_days": 0, "supervising_department_code": ""}))
    assert body["is_instant"] is True and body["supervising_department_code"] is None
    m = ok(post(disp, "/items/360781-GX-009/materials", {"name": "节能报告", "form": "both", "copies": 2,
                                                         "tolerance_allowed": True}), 201)
    assert m["form_label"] == "原件及复印件" and m["order"] == 1
    m = ok(patch(disp, f"/materials/{m['id']}", {"copies": 3, "note": "加盖公章"}))
    assert m["copies"] == 3 and m["note"] == "加盖公章"
    assert disp.delete(f"{BASE}/materials/{m['id']}").status_code == 204
    assert not Material.objects.filter(pk=m["id"]).exists()

    body = ok(post(disp, "/bundles", {"code": "YJS-002", "name": "技改投产", "lead_department_code": "GXJ",
                                      "item_codes": ["360781-GX-001", "360781-SC-001"], "promised_days": 6}), 201)
    assert body["item_codes"] == ["360781-GX-001", "360781-SC-001"] and len(body["materials"]) == 3
    body = ok(patch(disp, "/bundles/YJS-002", {"promised_days": 8, "name": "技改项目投产"}))
    assert body["promised_days"] == 8 and body["name"] == "技改项目投产"

    node = ok(post(disp, "/tree-nodes", {"tree": "personal", "name": "就业", "item_codes": ["360781-SC-001"]}), 201)
    child = ok(post(disp, "/tree-nodes", {"tree": "personal", "name": "创业", "parent_id": node["id"],
                                          "bundle_codes": ["YJS-002"]}), 201)
    assert child["parent_id"] == node["id"] and child["bundles"][0]["code"] == "YJS-002"
    moved = ok(patch(disp, f"/tree-nodes/{child['id']}", {"parent_id": None, "order": 2, "name": "创业扶持"}))
    assert moved["parent_id"] is None and moved["name"] == "创业扶持" and moved["order"] == 2
    assert disp.delete(f"{BASE}/tree-nodes/{child['id']}").status_code == 204

    # refused: bad input names the field as written, and nothing is saved
    n_items, n_bundles, n_nodes = ServiceItem.objects.count(), Bundle.objects.count(), TreeNode.objects.count()
    new = {"code": "X-1", "name": "某事项", "item_type": "01", "department_code": "GXJ", "legal_days": 20,
           "promised_days": 5}
    error(post(disp, "/items", {**new, "promised_days": 25}), 400, field="promised_days")
    error(post(disp, "/items", {**new, "department_code": "NOPE"}), 400, field="department_code")
    error(post(disp, "/items", {**new, "supervising_department_code": "GXJ"}), 400,
          field="supervising_department_code")
    error(post(disp, "/items", {**new, "code": "360781-GX-001"}), 400, field="code")
    error(post(disp, "/items", {**new, "levels": ["city"]}), 400, field="levels")
    error(post(disp, "/items", {**new, "legal_days": "twenty"}), 400, field="legal_days")
    error(post(disp, "/items", {k: v for k, v in new.items() if k != "name"}), 400, field="name")
    error(patch(disp, "/items/360781-GX-001", {"promised_days": 21}), 400, field="promised_days")
    error(patch(disp, "/items/360781-GX-001", {"name": None}), 400, field="name")
    error(post(disp, "/items/360781-GX-001/materials", {"name": "申请书"}), 400, field="name")
    error(post(disp, "/items/360781-GX-001/materials", {"name": "新材料", "form": "scan"}), 400, field="form")
    error(post(disp, "/bundles", {"code": "YJS-003", "name": "x", "lead_department_code": "GXJ",
                                  "item_codes": ["360781-GX-001"], "promised_days": 5}), 400, field="item_codes")
    error(post(disp, "/bundles", {"code": "YJS-003", "name": "x", "lead_department_code": "GXJ",
                                  "item_codes": ["360781-GX-001", "NOPE"], "promised_days": 5}), 400,
          field="item_codes")
    error(post(disp, "/bundles", {"code": "YJS-003", "name": "x", "lead_department_code": "GXJ",
                                  "item_codes": ["360781-GX-001", "360781-SC-001"], "promised_days": 9}), 400,
          field="promised_days")
    error(post(disp, "/tree-nodes", {"tree": "company", "name": "x"}), 400, field="tree")
    error(post(disp, "/tree-nodes", {"tree": "personal", "name": "x", "parent_id": 999999}), 400, field="parent_id")
    enterprise_root = TreeNode.objects.get(name="开办")
    error(post(disp, "/tree-nodes", {"tree": "personal", "name": "x", "parent_id": enterprise_root.pk}), 400,
          field="parent_id")
    leaf = TreeNode.objects.get(name="开店")
    error(patch(disp, f"/tree-nodes/{enterprise_root.pk}", {"parent_id": leaf.pk}), 400, field="parent_id")
    error(disp.delete(f"{BASE}/tree-nodes/{enterprise_root.pk}"), 409, code="conflict")
    assert (ServiceItem.objects.count(), Bundle.objects.count(), TreeNode.objects.count()) == (
        n_items, n_bundles, n_nodes)
    assert ServiceItem.objects.get(code="360781-GX-001").promised_days == 5

    # refused: anyone but the office
    for user in (cat.handler_a, cat.head_a, cat.leader, cat.ent_user_a, cat.auditor):
        c = as_user(user)
        error(post(c, "/items", new), 403, code="forbidden")
        error(patch(c, "/items/360781-GX-001", {"name": "改名"}), 403)
        error(post(c, "/items/360781-GX-001/materials", {"name": "新材料"}), 403)
        error(post(c, "/tree-nodes", {"tree": "personal", "name": "x"}), 403)
        error(c.delete(f"{BASE}/tree-nodes/{leaf.pk}"), 403)
    error(Client().post(f"{BASE}/items", new, content_type="application/json"), 401, code="unauthenticated")
    assert ServiceItem.objects.count() == n_items and ServiceItem.objects.get(code="360781-GX-001").name != "改名"


def test_catalogue_xlsx_round_trip(cat: County) -> None:
    from openpyxl import Workbook, load_workbook

    disp = as_user(cat.dispatcher)
    resp = disp.get(f"{BASE}/catalogue/export")
    assert resp.status_code == 200 and resp["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(resp.content))
    items, mats = wb["事项"], wb["材料"]
    assert items.max_row == 4 and mats.max_row == 7

    # unchanged file: every row updated in place, nothing created, no errors
    body = ok(disp.post(f"{BASE}/catalogue/import",
                        {"file": SimpleUploadedFile("c.xlsx", resp.content)}))
    assert body == {"items_created": 0, "items_updated": 3, "materials_created": 0, "materials_updated": 6,
                    "errors": []}

    # one edited row, one new item, one bad row, one material of an unknown item: good rows kept
    header = [c.value for c in items[1]]
    col = {h: i for i, h in enumerate(header)}
    items.cell(row=2, column=col["事项名称"] + 1, value="工业企业技术改造项目备案（修订）")
    new_row = [c.value for c in items[2]]
    new_row[col["事项编码"]], new_row[col["事项名称"]] = "360781-GX-010", "新增事项"
    bad_row = list(new_row)
    bad_row[col["事项编码"]], bad_row[col["承诺时限（工作日）"]] = "360781-GX-011", 99
    items.append(new_row)
    items.append(bad_row)
    mats.append(["NOPE-1", "申请书", "原件", 1, "否", "", 1])
    out = io.BytesIO()
    wb.save(out)
    body = ok(disp.post(f"{BASE}/catalogue/import", {"file": SimpleUploadedFile("c.xlsx", out.getvalue())}))
    assert body["items_created"] == 1 and body["items_updated"] == 3
    errors = {(e["sheet"], e["row"]): e for e in body["errors"]}
    assert errors[("事项", 6)]["field"] == "promised_days" and errors[("事项", 6)]["reason_en"]
    assert errors[("材料", 8)]["field"] == "item"
    assert ServiceItem.objects.get(code="360781-GX-001").name.endswith("（修订）")
    assert ServiceItem.objects.filter(code="360781-GX-010").exists()
    assert not ServiceItem.objects.filter(code="360781-GX-011").exists()

    # not an XLSX, a workbook without the sheets, and anyone but the office
    error(disp.post(f"{BASE}/catalogue/import", {"file": SimpleUploadedFile("c.xlsx", b"hello")}), 400, field="file")
    empty = io.BytesIO()
    Workbook().save(empty)
    error(disp.post(f"{BASE}/catalogue/import", {"file": SimpleUploadedFile("c.xlsx", empty.getvalue())}), 400,
          field="file")
    error(disp.post(f"{BASE}/catalogue/import", {}), 400, field="file")
    handler = as_user(cat.handler_a)
    error(handler.get(f"{BASE}/catalogue/export"), 403)
    error(handler.post(f"{BASE}/catalogue/import", {"file": SimpleUploadedFile("c.xlsx", out.getvalue())}), 403)


# ------------------------------------------------------------------------------------------- the journey


def test_whole_case_journey_through_the_api(cat: County, frozen: Any, settings: Any) -> None:
    settings.SESSION_COOKIE_AGE = 60 * 24 * 3600  # the journey spans days; sessions expire after 30 idle minutes
    c = cat
    ent, ha, head, hb, disp, leader = (as_user(u) for u in (c.ent_user_a, c.handler_a, c.head_a, c.handler_b,
                                                              c.dispatcher, c.leader))
    item = ok(Client().get(f"{BASE}/items/360781-GX-001"))
    mats = {m["name"]: m["id"] for m in item["materials"]}
    f1, f2 = upload(ent), upload(ent)

    # apply online, leaving out 场地证明 (容缺 allowed)
    body = ok(post(ent, "/cases", {"item_code": "360781-GX-001", "provided": [
        {"material_id": mats["申请书"], "attachment_id": f1}, {"material_id": mats["营业执照"], "attachment_id": f2}]}),
              201)
    number = body["number"]
    assert body["status"] == "submitted" and body["channel"] == "online" and body["enterprise_uscc"] == c.ent_a.uscc
    assert body["internal"] is None and body["applicant_phone"]
    cm = {m["name"]: m for m in body["materials"]}
    assert cm["场地证明"]["status"] == "missing" and cm["申请书"]["status"] == "provided"

    # accept with 容缺: the clock starts (5 working days)
    due_tol = str(TODAY + dt.timedelta(days=7))
    body = ok(post(ha, f"/cases/{number}/accept", {"tolerated": [{"material_id": cm["场地证明"]["id"],
                                                                  "due_date": due_tol}]}))
    assert body["status"] == "accepted" and body["accepted_on"] == str(TODAY)
    assert body["due_date"] == "2026-11-17" and body["colour"] == "green"
    assert {m["name"]: m["status"] for m in body["materials"]}["场地证明"] == "tolerated"
    assert body["internal"]["handler"] == "handler_a"

    # 补正 on day 2: one notice, the clock stops; the applicant uploads; the clock resumes
    with at(dt.date(2026, 11, 11)):
        body = ok(post(ha, f"/cases/{number}/corrections", {"items": [
            {"material_id": cm["申请书"]["id"], "reason": "未加盖公章"}, {"name": "法人授权书", "reason": "缺少"}],
            "note": "请一次性补齐"}), 201)
    assert body["status"] == "correcting" and body["colour"] == "paused" and body["correction_rounds"] == 1
    items = body["corrections"][0]["items"]
    assert [i["name"] for i in items] == ["申请书", "法人授权书"]
    with at(dt.date(2026, 11, 13)):
        f3, f4 = upload(ent), upload(ent)
        error(post(ent, f"/cases/{number}/corrections/submit", {"provided": [
            {"material_id": items[0]["case_material"], "attachment_id": 999999}]}), 400, field="provided")
        body = ok(post(ent, f"/cases/{number}/corrections/submit", {"provided": [
            {"material_id": i["case_material"], "attachment_id": f} for i, f in zip(items, (f3, f4))]}))
    assert body["status"] == "accepted" and body["due_date"] == "2026-11-19"  # 2 days paused

    # extension asked by the handler, approved by the head (10 working days at most)
    with at(dt.date(2026, 11, 16)):
        ext = ok(post(ha, f"/cases/{number}/extensions", {"days": 3, "reason": "需征求住建部门意见"}), 201)
        assert ext["status"] == "pending" and ext["case_number"] == number
        error(post(ha, f"/extensions/{ext['id']}/decide", {"approve": True}), 403)  # a handler is not the head
        error(post(as_user(c.head_a), "/extensions/999999/decide", {"approve": True}), 404)
        ext = ok(post(head, f"/extensions/{ext['id']}/decide", {"approve": True, "note": "同意"}))
        assert ext["status"] == "approved" and ext["decided_by"] == "head_a"
        error(post(head, f"/extensions/{ext['id']}/decide", {"approve": True}), 409, field="status")
        body = ok(ha.get(f"{BASE}/cases/{number}"))
        assert body["extension_days"] == 3 and body["due_date"] == "2026-11-24"

        # a special procedure stops the clock again
        sp = ok(post(ha, f"/cases/{number}/special", {"kind": "inspection", "note": "现场勘验",
                                                      "expected_days": 2}), 201)
        assert sp["kind_label"] == "现场勘验" and sp["start_on"] == "2026-11-16"
    with at(dt.date(2026, 11, 18)):
        body = ok(post(ha, f"/cases/{number}/special/end", {"result": "场地符合要求"}))
        assert body["status"] == "accepted" and body["due_date"] == "2026-11-26"
        # the tolerated material arrives
        f5 = upload(ent)
        body = ok(post(ent, f"/cases/{number}/materials/{cm['场地证明']['id']}/provide", {"attachment_id": f5}))
        assert {m["name"]: m["status"] for m in body["materials"]}["场地证明"] == "provided"

        body = ok(post(ha, f"/cases/{number}/decide", {"approve": True}))
        assert body["status"] == "decided" and body["decision"] == "approved" and body["on_time"] is True
        assert body["internal"]["pushes"][0]["department_code"] == "SCJG"

        # 审管互动: the supervising department sees the push (and the case) and acknowledges it
        pushes = ok(hb.get(f"{BASE}/pushes"))
        assert [p["case_number"] for p in pushes] == [number]
        assert ok(hb.get(f"{BASE}/cases/{number}"))["number"] == number
        error(post(ha, f"/pushes/{pushes[0]['id']}/acknowledge", {"note": "x"}), 403)
        push = ok(post(hb, f"/pushes/{pushes[0]['id']}/acknowledge", {"note": "已纳入监管"}))
        assert push["acknowledged_by"] == "handler_b"
        error(post(hb, f"/pushes/{pushes[0]['id']}/acknowledge", {}), 409, field="status")
        assert ok(hb.get(f"{BASE}/pushes")) == []

        error(post(ha, f"/cases/{number}/deliver", {"method": "post"}), 400, field="note")
        body = ok(post(ha, f"/cases/{number}/deliver", {"method": "post", "note": "EMS 1234567890"}))
        assert body["status"] == "delivered" and body["delivery_method"] == "post"

        # 好差评: the applicant rates once on the case page; a bad rating opens a rectification task
        error(post(ent, f"/cases/{number}/ratings", {"level": 2}), 400, field="bad_aspects")
        error(post(ha, f"/cases/{number}/ratings", {"level": 5}), 403)
        rating = ok(post(ent, f"/cases/{number}/ratings", {"level": 2, "comment": "补正两次，耗时长",
                                                           "bad_aspects": ["efficiency", "materials"]}), 201)
        assert rating["is_bad"] and rating["level_label"] == "不满意"
        rect = rating["rectification"]
        assert rect["status"] == "open" and rect["due_date"] == "2026-11-25"
        before = snapshot(number)
        error(post(ent, f"/cases/{number}/ratings", {"level": 5}), 409, field="channel")  # 一次一评
        assert snapshot(number) == before and Rating.objects.count() == 1

        # rectification: verify, resolve, answer; the rater appeals; the office dismisses
        assert [r["id"] for r in ok(ha.get(f"{BASE}/rectifications"))["results"]] == [rect["id"]]
        assert ok(hb.get(f"{BASE}/rectifications"))["count"] == 0
        error(post(hb, f"/rectifications/{rect['id']}/verify", {"note": "x", "reached": True}), 403)
        error(post(ha, f"/rectifications/{rect['id']}/answer", {"answer": "x"}), 409, field="status")
        ok(post(ha, f"/rectifications/{rect['id']}/verify", {"note": "已电话回访", "reached": True}))
        error(post(ha, f"/rectifications/{rect['id']}/resolve", {"outcome": "done", "text": "x"}), 400,
              field="outcome")
        ok(post(ha, f"/rectifications/{rect['id']}/resolve", {"outcome": "rectified", "text": "已优化告知清单"}))
        body = ok(post(ha, f"/rectifications/{rect['id']}/answer", {"answer": "已整改，感谢监督"}))
        assert body["status"] == "answered" and body["answered_on_time"] is True
        body = ok(post(ent, f"/rectifications/{rect['id']}/appeal", {"reason": "仍不满意"}))
        assert body["status"] == "appealed" and body["verify_note"] == ""  # the rater sees no internal notes
        error(post(ha, f"/rectifications/{rect['id']}/appeal/decide", {"reopen": False, "note": "x"}), 403)
        body = ok(post(disp, f"/rectifications/{rect['id']}/appeal/decide", {"reopen": False, "note": "答复合理"}))
        assert body["status"] == "answered" and body["appeal_reopened"] is False
        assert ok(ha.get(f"{BASE}/rectifications", {"status": "answered"}))["count"] == 1
        error(ha.get(f"{BASE}/rectifications", {"status": "bogus"}), 400, field="status")

        # the enterprise's view: its own case, no internal block, events or staff names
        body = ok(ent.get(f"{BASE}/cases/{number}"))
        assert body["internal"] is None
        kinds = [e["kind"] for e in body["timeline"]]
        assert {"apply", "accept", "correction_request", "correction_submit", "special_start", "decide",
                "deliver", "rate", "rect_answer"} <= set(kinds)
        assert not {"extension_request", "push", "push_ack", "rect_verify", "rect_resolve"} & set(kinds)
        assert all(e["actor"] is None and e["data"] is None for e in body["timeline"])
        assert body["ratings"][0]["rectification"]["resolution"] == ""
        # staff see everything
        body = ok(disp.get(f"{BASE}/cases/{number}"))
        kinds = {e["kind"] for e in body["timeline"]}
        assert {"extension_request", "extension_decision", "push", "push_ack", "rect_verify"} <= kinds
        assert body["internal"]["extensions"][0]["status"] == "approved"
        assert body["ratings"][0]["rectification"]["resolution"] == "已优化告知清单"

        # lists, scoped per role
        for client, count in [(ent, 1), (as_user(c.ent_user_b), 0), (ha, 1), (hb, 0), (disp, 1), (leader, 1)]:
            assert ok(client.get(f"{BASE}/cases"))["count"] == count
        error(as_user(c.auditor).get(f"{BASE}/cases"), 403, code="forbidden")
        error(as_user(c.auditor).get(f"{BASE}/cases/{number}"), 403)
        error(as_user(c.ent_user_b).get(f"{BASE}/cases/{number}"), 403)
        error(ent.get(f"{BASE}/cases/BJ000"), 404)

        # figures: the office sees all departments, a department its own, an enterprise nothing
        f = ok(disp.get(f"{BASE}/figures", {"from": "2026-11-01", "to": "2026-11-30"}))
        assert f["total"]["applied"] == 1 and f["total"]["finished"] == 1 and f["total"]["finished_on_time"] == 1
        assert f["total"]["bad_ratings"] == 1 and f["total"]["rectified_on_time"] == 1
        assert f["total"]["on_time_rate"] == 1.0 and f["total"]["one_time_rate"] == 0.0
        assert "按时办结率" in f["formulas"]["on_time_rate"]
        assert ok(hb.get(f"{BASE}/figures", {"from": "2026-11-01", "to": "2026-11-30"}))["total"]["applied"] == 0
        by_item = ok(disp.get(f"{BASE}/figures", {"from": "2026-11-01", "to": "2026-11-30", "group_by": "item"}))
        assert by_item["rows"][0]["label"] == "工业企业技术改造项目备案"
        error(disp.get(f"{BASE}/figures", {"group_by": "month"}), 400, field="group_by")
        error(disp.get(f"{BASE}/figures", {"from": "2026-12-01", "to": "2026-11-01"}), 400, field="from")
        error(disp.get(f"{BASE}/figures", {"from": "yesterday"}), 400, field="from")
        error(ent.get(f"{BASE}/figures"), 403)


def test_window_case_for_a_person_rated_by_token_and_contested(cat: County) -> None:
    c = cat
    hb, disp = as_user(c.handler_b), as_user(c.dispatcher)
    body = ok(post(hb, "/cases", {"item_code": "360781-SC-001", "applicant_name": "李四",
                                  "applicant_phone": "13912340000",
                                  "provided": [{"material_id": m.pk} for m in c.item_b.materials.all()]}), 201)
    number = body["number"]
    assert body["channel"] == "window" and body["window"] == "综合窗口5号" and body["enterprise_uscc"] is None
    assert {m["status"] for m in body["materials"]} == {"provided"}
    ok(post(hb, f"/cases/{number}/accept"))
    ok(post(hb, f"/cases/{number}/decide", {"approve": False, "reason": "经营场所不符合卫生要求"}))
    body = ok(post(hb, f"/cases/{number}/deliver", {"method": "window"}))
    assert body["status"] == "delivered" and body["decision"] == "refused"

    case = Case.objects.get(number=number)
    token = services.rating_token(case)
    anon = Client()
    link = ok(anon.get(f"{BASE}/ratings/by-token", {"token": token}))
    assert link == {"number": number, "subject_name": "食品经营许可", "department_name": "市场监督管理局",
                    "status": "delivered", "status_label": "已办结", "finished_on": str(TODAY),
                    "rated_channels": []}
    error(anon.get(f"{BASE}/ratings/by-token", {"token": token + "x"}), 403, field="token")
    error(post(anon, "/ratings/by-token", {"token": "forged", "level": 5}), 403, field="token")
    error(post(anon, "/ratings/by-token", {"token": token, "channel": "case_page", "level": 5}), 400,
          field="channel")
    error(post(anon, "/ratings/by-token", {"token": token, "channel": "window", "level": 9}), 400, field="level")
    error(post(hb, "/ratings/by-token", {"token": token, "channel": "window", "level": 5}), 403)  # staff
    assert Rating.objects.count() == 0

    bad = ok(post(anon, "/ratings/by-token", {"token": token, "channel": "window", "level": 1,
                                              "comment": "乱七八糟", "bad_aspects": ["other"]}), 201)
    assert bad["rater_name"] == "李四" and bad["rectification"]["status"] == "open"
    before = snapshot(number)
    error(post(anon, "/ratings/by-token", {"token": token, "channel": "window", "level": 5}), 409, field="channel")
    assert snapshot(number) == before
    sms = ok(post(anon, "/ratings/by-token", {"token": token, "channel": "sms", "level": 2, "comment": "慢",
                                              "bad_aspects": ["efficiency"]}), 201)
    assert ok(anon.get(f"{BASE}/ratings/by-token", {"token": token}))["rated_channels"] == ["sms", "window"]

    # the department contests the first as malicious; the office upholds it: voided, task closed
    error(post(as_user(c.handler_a), f"/ratings/{bad['id']}/contest", {"reason": "x"}), 403)
    body = ok(post(hb, f"/ratings/{bad['id']}/contest", {"reason": "辱骂性评价，与办件无关"}))
    assert body["contest_status"] == "pending"
    error(post(hb, f"/ratings/{bad['id']}/contest", {"reason": "again"}), 409, field="status")
    error(post(hb, f"/ratings/{bad['id']}/contest/decide", {"void": True, "note": "x"}), 403)
    body = ok(post(disp, f"/ratings/{bad['id']}/contest/decide", {"void": True, "note": "认定恶意差评"}))
    assert body["voided"] and body["contest_status"] == "upheld" and body["rectification"]["status"] == "voided"
    error(post(disp, f"/ratings/{bad['id']}/contest/decide", {"void": False, "note": "x"}), 409, field="status")
    error(post(disp, "/ratings/999999/contest/decide", {"void": False, "note": "x"}), 404)

    # the second is rectified and answered; the rater appeals with the link (no account)
    rect_id = sms["rectification"]["id"]
    ok(post(hb, f"/rectifications/{rect_id}/verify", {"note": "已回访", "reached": False}))
    ok(post(hb, f"/rectifications/{rect_id}/resolve", {"outcome": "explained", "text": "依法不予许可"}))
    ok(post(hb, f"/rectifications/{rect_id}/answer", {"answer": "已说明不予许可的依据"}))
    error(post(anon, f"/rectifications/{rect_id}/appeal-by-token", {"token": "forged", "reason": "x"}), 403,
          field="token")
    body = ok(post(anon, f"/rectifications/{rect_id}/appeal-by-token", {"token": token, "reason": "不认可"}))
    assert body["status"] == "appealed" and body["resolution"] == ""
    body = ok(post(disp, f"/rectifications/{rect_id}/appeal/decide", {"reopen": True, "note": "请重新整改"}))
    assert body["status"] == "verified" and body["appeal_reopened"] is True
    assert Rectification.objects.get(pk=rect_id).status == "verified"


def test_instant_case_and_bundle_case(cat: County) -> None:
    c = cat
    ha, ent = as_user(c.handler_a), as_user(c.ent_user_a)
    # a 即办件 at the window: accepted and decided the same day, no extension possible
    number = ok(post(ha, "/cases", {"item_code": "360781-GX-002", "enterprise_uscc": c.ent_a.uscc,
                                    "provided": [{"material_id": c.instant.materials.get().pk}]}), 201)["number"]
    body = ok(post(ha, f"/cases/{number}/accept"))
    assert body["due_date"] == str(TODAY) and body["colour"] == "red"
    error(post(ha, f"/cases/{number}/extensions", {"days": 1, "reason": "x"}), 409, field="days")
    body = ok(post(ha, f"/cases/{number}/decide", {"approve": True}))
    assert body["used_days"] == 0 and body["on_time"] is True
    # not online: an enterprise cannot apply for it
    error(post(ent, "/cases", {"item_code": "360781-GX-002"}), 400, field="item_code")

    # a bundle online: one merged material list, handled by the lead department
    f = upload(ent)
    bundle = ok(Client().get(f"{BASE}/bundles/YJS-001"))
    body = ok(post(ent, "/cases", {"bundle_code": "YJS-001", "provided": [
        {"material_id": m["material_ids"][0], "attachment_id": f} for m in bundle["materials"]]}), 201)
    assert body["subject_kind"] == "bundle" and body["department_code"] == "GXJ" and len(body["materials"]) == 3
    body = ok(post(ha, f"/cases/{body['number']}/accept"))
    assert body["promised_days"] == 5 and body["colour"] == "green"
    assert ok(ha.get(f"{BASE}/cases", {"bundle": "YJS-001"}))["count"] == 1


# ------------------------------------------------------------------------------------------- refused paths


def test_refused_paths_leave_nothing_changed(cat: County) -> None:
    c = cat
    ent, ent_b, ha, hb, head, disp = (as_user(u) for u in (c.ent_user_a, c.ent_user_b, c.handler_a, c.handler_b,
                                                             c.head_a, c.dispatcher))
    mats = {m.name: m.pk for m in c.item_a.materials.all()}
    n_cases = Case.objects.count()

    # intake: wrong role, other enterprise, other department, bad input
    error(post(as_user(c.auditor), "/cases", {"item_code": "360781-GX-001"}), 403)
    error(post(disp, "/cases", {"item_code": "360781-GX-001"}), 403)
    error(post(ent, "/cases", {"item_code": "360781-GX-001", "enterprise_uscc": c.ent_b.uscc}), 403,
          field="enterprise_uscc")
    error(post(hb, "/cases", {"item_code": "360781-GX-001", "applicant_name": "张三", "applicant_phone": "1"}), 403,
          field="item_code")
    error(post(ent, "/cases", {}), 400, field="item_code")
    error(post(ent, "/cases", {"item_code": "360781-GX-001", "bundle_code": "YJS-001"}), 400, field="item_code")
    error(post(ent, "/cases", {"item_code": "NOPE"}), 400, field="item_code")
    error(post(ent, "/cases", {"bundle_code": "NOPE"}), 400, field="bundle_code")
    error(post(ha, "/cases", {"item_code": "360781-GX-001", "enterprise_uscc": "91360781XXXXXXXXXX"}), 400,
          field="enterprise_uscc")
    error(post(ha, "/cases", {"item_code": "360781-GX-001"}), 400, field="applicant_name")
    error(post(ent, "/cases", {"item_code": "360781-GX-001", "provided": [{"material_id": 999999}]}), 400,
          field="provided")
    error(post(ent, "/cases", {"item_code": "360781-GX-001", "provided": [{"material_id": mats["申请书"]}]}), 400,
          field="provided")  # online: a file is required
    other_file = upload(ent_b)
    error(post(ent, "/cases", {"item_code": "360781-GX-001", "provided": [
        {"material_id": mats["申请书"], "attachment_id": other_file}]}), 400, field="provided")
    error(post(ent, "/cases", {"item_code": "360781-GX-001", "provided": [{"material_id": "one"}]}), 400,
          field="provided.0.material_id")
    assert Case.objects.count() == n_cases

    case = window_case(c, c.item_a, c.handler_a, enterprise=c.ent_a,
                       provided={mats["申请书"]: None})  # 营业执照, 场地证明 missing
    number = case.number
    cm = {m.name: m.pk for m in case.materials.all()}
    before = snapshot(number)

    # handling: wrong role, other department, other enterprise
    error(post(ent, f"/cases/{number}/accept"), 403)
    error(post(ent_b, f"/cases/{number}/accept"), 403)
    error(post(hb, f"/cases/{number}/accept"), 403)
    error(post(disp, f"/cases/{number}/reject", {"reason": "x"}), 403)
    error(ent_b.get(f"{BASE}/cases/{number}"), 403)
    # bad input
    error(post(ha, f"/cases/{number}/accept"), 400, field="provided")
    error(post(ha, f"/cases/{number}/accept", {"provided": [999999]}), 400, field="provided")
    error(post(ha, f"/cases/{number}/accept", {"provided": "all"}), 400, field="provided")
    error(post(ha, f"/cases/{number}/accept", {"tolerated": [{"material_id": cm["申请书"], "due_date": "2026-11-20"}]}),
          400, field="tolerated")
    error(post(ha, f"/cases/{number}/accept", {"tolerated": [{"material_id": cm["场地证明"], "due_date": "2026-11-01"}],
                                               "provided": [cm["营业执照"]]}), 400, field="tolerated")
    error(post(ha, f"/cases/{number}/accept", {"tolerated": [{"material_id": cm["场地证明"], "due_date": "soon"}]}),
          400, field="tolerated.0.due_date")
    error(post(ha, f"/cases/{number}/reject", {"reason": "  "}), 400, field="reason")
    error(post(ha, f"/cases/{number}/reject", {}), 400, field="reason")
    # wrong state
    error(post(ha, f"/cases/{number}/decide", {"approve": True}), 409, code="conflict", field="status")
    error(post(ha, f"/cases/{number}/corrections", {"items": [{"name": "x", "reason": "y"}]}), 409, field="status")
    error(post(ha, f"/cases/{number}/special", {"kind": "hearing", "note": "x"}), 409, field="status")
    error(post(ha, f"/cases/{number}/special/end", {"result": "x"}), 409, field="status")
    error(post(ha, f"/cases/{number}/deliver", {"method": "window"}), 409, field="status")
    error(post(ha, f"/cases/{number}/corrections/submit", {"provided": [{"material_id": cm["申请书"]}]}), 409,
          field="status")
    error(post(ent, f"/cases/{number}/ratings", {"level": 5}), 409, field="status")
    assert snapshot(number) == before

    ok(post(ha, f"/cases/{number}/accept", {"provided": [cm["营业执照"]],
                                            "tolerated": [{"material_id": cm["场地证明"], "due_date": "2026-11-20"}]}))
    before = snapshot(number)
    error(post(ha, f"/cases/{number}/accept"), 409, field="status")
    error(post(ha, f"/cases/{number}/reject", {"reason": "x"}), 409, field="status")
    error(post(hb, f"/cases/{number}/decide", {"approve": True}), 403)
    error(post(ha, f"/cases/{number}/decide", {"approve": True}), 409, field="materials")  # 容缺 still awaited
    error(post(ha, f"/cases/{number}/decide", {"approve": False}), 400, field="reason")
    error(post(ha, f"/cases/{number}/decide", {"approve": "maybe"}), 400, field="approve")
    error(post(ha, f"/cases/{number}/extensions", {"days": 0, "reason": "x"}), 400, field="days")
    error(post(ha, f"/cases/{number}/extensions", {"days": 11, "reason": "x"}), 400, field="days")
    error(post(ha, f"/cases/{number}/extensions", {"days": 3, "reason": ""}), 400, field="reason")
    error(post(head, f"/cases/{number}/special", {"kind": "party", "note": "x"}), 400, field="kind")
    error(post(ha, f"/cases/{number}/special", {"kind": "hearing", "note": "x", "expected_days": 0}), 400,
          field="expected_days")
    error(post(ha, f"/cases/{number}/corrections", {"items": []}), 400, field="items")
    error(post(ha, f"/cases/{number}/corrections", {"items": [{"material_id": 999999, "reason": "x"}]}), 400,
          field="items")
    error(post(ha, f"/cases/{number}/corrections", {"items": [{"name": "申请书", "reason": "a"},
                                                              {"name": "申请书", "reason": "b"}]}), 400, field="items")
    error(post(ha, f"/cases/{number}/materials/{cm['申请书']}/provide", {}), 409, field="material")
    error(post(ent, f"/cases/{number}/materials/{cm['场地证明']}/provide", {}), 400, field="attachment_id")
    error(post(ent_b, f"/cases/{number}/materials/{cm['场地证明']}/provide", {}), 403)
    error(post(ha, f"/cases/{number}/materials/999999/provide", {}), 404)
    assert snapshot(number) == before


def test_monitor_overdue_and_list_filters(cat: County, django_assert_max_num_queries: Any) -> None:  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    c = cat
    # 市场监管局, 3 working days: accepted Mon 2 → due Thu 5 (overdue), Thu 5 → Tue 10 (red), Fri 6 → Wed 11 (yellow)
    numbers = {}
    for colour, day in (("overdue", dt.date(2026, 11, 2)), ("red", dt.date(2026, 11, 5)),
                        ("yellow", dt.date(2026, 11, 6))):
        with at(day):
            case = window_case(c, c.item_b, c.handler_b, applicant_name=f"申请人{colour}")
            services.case_accept(actor=c.handler_b, case=case)
            numbers[colour] = case.number
    with at(dt.date(2026, 11, 9)):
        green = window_case(c, c.item_a, c.handler_a)
        services.case_accept(actor=c.handler_a, case=green)
        paused = window_case(c, c.item_a, c.handler_a)
        services.case_accept(actor=c.handler_a, case=paused)
        services.case_request_correction(actor=c.handler_a, case=paused,
                                         items=[(paused.materials.first(), "不清晰")])
    window_case(c, c.item_a, c.handler_a)  # submitted: not counted

    disp, ha, hb = as_user(c.dispatcher), as_user(c.handler_a), as_user(c.handler_b)
    m = ok(disp.get(f"{BASE}/monitor"))
    assert m["today"] == str(TODAY) and m["yellow_from"] == "2026-11-11" and m["green_from"] == "2026-11-13"
    assert {k: m["total"][k] for k in ("green", "yellow", "red", "overdue", "paused", "open")} == {
        "green": 1, "yellow": 1, "red": 1, "overdue": 1, "paused": 1, "open": 5}
    assert m["departments"][0]["department_code"] == "SCJG"  # the most overdue first
    assert {w["label"] for w in m["windows"]} == {"市场监督管理局 · 综合窗口5号", "工业和信息化局 · 综合窗口3号"}
    mine = ok(ha.get(f"{BASE}/monitor"))
    assert [d["department_code"] for d in mine["departments"]] == ["GXJ"] and mine["total"]["open"] == 2
    error(as_user(c.ent_user_a).get(f"{BASE}/monitor"), 403)
    error(as_user(c.auditor).get(f"{BASE}/monitor"), 403)

    overdue = ok(disp.get(f"{BASE}/overdue"))
    assert [r["number"] for r in overdue["results"]] == [numbers["overdue"]]
    assert overdue["results"][0]["colour"] == "overdue" and overdue["results"][0]["due_date"] == "2026-11-05"
    assert ok(ha.get(f"{BASE}/overdue"))["count"] == 0
    error(as_user(c.ent_user_a).get(f"{BASE}/overdue"), 403)

    # list filters and pagination
    assert ok(disp.get(f"{BASE}/cases"))["count"] == 6
    for colour, number in numbers.items():
        assert [r["number"] for r in ok(disp.get(f"{BASE}/cases", {"colour": colour}))["results"]] == [number]
    assert ok(disp.get(f"{BASE}/cases", {"colour": "green"}))["results"][0]["number"] == green.number
    assert ok(disp.get(f"{BASE}/cases", {"status": "correcting"}))["results"][0]["colour"] == "paused"
    assert ok(disp.get(f"{BASE}/cases", {"department": "SCJG"}))["count"] == 3
    assert ok(disp.get(f"{BASE}/cases", {"item": "360781-GX-001"}))["count"] == 3
    assert ok(disp.get(f"{BASE}/cases", {"window": "综合窗口5号"}))["count"] == 3
    assert ok(disp.get(f"{BASE}/cases", {"q": "申请人red"}))["results"][0]["number"] == numbers["red"]
    assert ok(disp.get(f"{BASE}/cases", {"q": numbers["red"].lower()}))["count"] == 1
    page = ok(disp.get(f"{BASE}/cases", {"page": 2, "page_size": 4}))
    assert page["count"] == 6 and len(page["results"]) == 2
    assert ok(hb.get(f"{BASE}/cases"))["count"] == 3
    assert ok(hb.get(f"{BASE}/cases", {"department": "GXJ"}))["count"] == 0  # scoped first
    error(disp.get(f"{BASE}/cases", {"colour": "blue"}), 400, field="colour")
    error(disp.get(f"{BASE}/cases", {"status": "bogus"}), 400, field="status")
    error(disp.get(f"{BASE}/cases", {"department": "NOPE"}), 400, field="department")
    error(disp.get(f"{BASE}/cases", {"item": "NOPE"}), 400, field="item")
    error(disp.get(f"{BASE}/cases", {"bundle": "NOPE"}), 400, field="bundle")
    error(disp.get(f"{BASE}/cases", {"page_size": 0}), 400, field="page_size")

    # the list's query count does not grow with the rows
    disp.get(f"{BASE}/cases")
    with CaptureQueriesContext(connection) as few:
        ok(disp.get(f"{BASE}/cases"))
    for _ in range(4):
        services.case_accept(actor=c.handler_b, case=window_case(c, c.item_b, c.handler_b))
    with django_assert_max_num_queries(len(few)):
        assert ok(disp.get(f"{BASE}/cases"))["count"] == 10
    assert SupervisionPush.objects.count() == 0 and CaseMaterial.objects.exists()
