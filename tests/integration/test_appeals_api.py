"""/api/v1/appeals: the whole loop through the API for every role (session), a 12345 push with a
bearer token that is idempotent by external id, and the refused paths that leave nothing changed."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from tests.conftest import County, submit_appeal

ERROR_KEYS = {"code", "message", "message_en", "field"}
BASE = "/api/v1/appeals"
INTERNAL_KINDS = {"assist_opinion", "extension_request", "extension_decision", "supervise", "overdue", "escalate",
                  "note", "recompute"}


def ok(resp, status: int = 200) -> dict[str, Any]:  # type: ignore[no-untyped-def]
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


def post(c: Client, path: str, data: dict[str, Any] | None = None, **extra: Any):  # type: ignore[no-untyped-def]
    return c.post(BASE + path, data or {}, content_type="application/json", **extra)


def snapshot(number: str) -> tuple[Any, ...]:
    from yingshang.appeals.models import Appeal

    a = Appeal.objects.get(number=number)
    return (a.status, a.handler_id, a.result, a.reply, a.rating, a.version, a.updated_at, a.events.count())


def dispatched(c: County, **kw: Any) -> str:
    """An appeal submitted by ent_a and dispatched to dept_a (assisted by dept_b)."""
    from yingshang.appeals import services

    appeal = submit_appeal(c, **kw)
    services.appeal_dispatch(actor=c.dispatcher, appeal=appeal, lead=c.dept_a, assists=[c.dept_b])  # type: ignore[arg-type]
    return appeal.number


def portal_payload(**over: Any) -> dict[str, Any]:
    data = {"category_code": "07", "title": "园区厂房频繁停电", "content": "近一个月停电三次，影响生产，请协调供电公司。",
            "contact_name": "王经理", "contact_phone": "13912345678"}
    data.update(over)
    return data


# ------------------------------------------------------------------------------------ the whole loop


def test_full_loop_through_the_api(appeal_county: County) -> None:
    from yingshang.appeals.models import Appeal

    c = appeal_county
    ent, disp, ha, hb, head, leader = (as_user(u) for u in (c.ent_user_a, c.dispatcher, c.handler_a, c.handler_b,
                                                             c.head_a, c.leader))

    body = ok(post(ent, "", portal_payload(channel="hotline")), 201)  # an enterprise's channel is always the portal
    number = body["number"]
    assert body["status"] == "submitted" and body["channel"] == "portal"
    assert body["enterprise_uscc"] == c.ent_a.uscc and body["internal"] is None

    body = ok(post(disp, f"/{number}/dispatch", {"lead_department_code": "GXJ", "assist_department_codes": ["SCJG"],
                                                  "leader_username": "leader"}))
    assert body["status"] == "dispatched" and body["lead_department_code"] == "GXJ"
    assert body["internal"]["responsible_leader"] == "leader"
    assert [a["department_code"] for a in body["internal"]["assists"]] == ["SCJG"]
    assert body["sign_due"] and body["resolve_due"] and body["warning"] in ("green", "yellow")

    body = ok(post(ha, f"/{number}/sign"))
    assert body["status"] == "handling" and body["internal"]["handler"] == "handler_a"
    body = ok(post(ha, f"/{number}/contact", {"note": "电话联系王经理，已约现场查看"}))
    assert body["contacted_at"]
    body = ok(post(hb, f"/{number}/assist-opinion", {"text": "建议协调供电公司检修线路"}))
    assert body["internal"]["assists"][0]["opinion"] == "建议协调供电公司检修线路"

    ext = ok(post(ha, f"/{number}/extensions", {"days": 3, "reason": "需等待供电公司排期"}), 201)
    assert ext["status"] == "pending"
    due_before = Appeal.objects.get(number=number).resolve_due
    ext = ok(post(head, f"/extensions/{ext['id']}/decide", {"approve": True, "note": "同意"}))
    assert ext["status"] == "approved" and ext["decided_by"] == "head_a"
    assert Appeal.objects.get(number=number).resolve_due > due_before

    order = ok(post(leader, f"/{number}/supervise", {"instruction": "本周内解决", "days": 3}), 201)
    assert order["issued_by"] == "leader" and order["due"]

    body = ok(post(ha, f"/{number}/reply", {"result": "partial", "reply": "已协调检修一条线路",
                                             "explanation": "另一条线路改造需列入明年计划"}))
    assert body["status"] == "replied" and body["rate_due"]

    body = ok(post(ent, f"/{number}/rate", {"rating": "unsatisfied", "comment": "仍有停电"}))
    assert body["status"] == "review"
    body = ok(post(disp, f"/{number}/review", {"reopen": True, "note": "请再协调"}))
    assert body["status"] == "handling" and body["reopen_count"] == 1
    ok(post(ha, f"/{number}/reply", {"result": "resolved", "reply": "线路已全部改造完毕"}))
    body = ok(post(ent, f"/{number}/rate", {"rating": "satisfied"}))
    assert body["status"] == "closed" and body["closed_at"]
    ev = ok(post(disp, f"/{number}/follow-up", {"text": "回访：供电稳定"}), 201)
    assert ev["kind"] == "follow_up"

    # the enterprise's view: its own appeal, no internal block, no internal events, no staff names
    body = ok(ent.get(f"{BASE}/{number}"))
    assert body["internal"] is None
    kinds = [e["kind"] for e in body["timeline"]]
    assert "assist_opinion" not in kinds and "extension_request" not in kinds and "supervise" not in kinds
    assert not INTERNAL_KINDS & set(kinds)
    assert all(e["internal"] is False and e["actor"] is None and e["data"] is None for e in body["timeline"])
    assert {"submit", "dispatch", "sign", "reply", "rate", "reopen", "follow_up"} <= set(kinds)
    assert "建议协调" not in resp_text(ent.get(f"{BASE}/{number}"))

    # staff see everything
    body = ok(disp.get(f"{BASE}/{number}"))
    kinds = [e["kind"] for e in body["timeline"]]
    assert {"assist_opinion", "extension_request", "extension_decision", "supervise"} <= set(kinds)
    assert body["internal"]["extensions"][0]["status"] == "approved"

    # lists, scoped per role
    for client, count in [(ent, 1), (as_user(c.ent_user_b), 0), (ha, 1), (hb, 1), (disp, 1), (leader, 1)]:
        assert ok(client.get(BASE))["count"] == count
    error(as_user(c.auditor).get(BASE), 403, code="forbidden")
    error(as_user(c.auditor).get(f"{BASE}/{number}"), 403)


def resp_text(resp) -> str:  # type: ignore[no-untyped-def]
    return resp.content.decode()


def test_list_filters_and_pagination(appeal_county: County) -> None:
    from yingshang.appeals.models import Category

    c = appeal_county
    n1 = dispatched(c, title="停电问题")
    submit_appeal(c, title="招工难", category=Category.objects.get(code="03"))
    disp = as_user(c.dispatcher)
    assert ok(disp.get(BASE))["count"] == 2
    assert [r["number"] for r in ok(disp.get(BASE, {"status": "dispatched"}))["results"]] == [n1]
    assert [r["number"] for r in ok(disp.get(BASE, {"department": "GXJ"}))["results"]] == [n1]
    assert ok(disp.get(BASE, {"category": "03"}))["results"][0]["title"] == "招工难"
    assert ok(disp.get(BASE, {"q": "停电"}))["count"] == 1
    assert ok(disp.get(BASE, {"channel": "portal"}))["count"] == 2
    assert ok(disp.get(BASE, {"overdue": "1"}))["count"] == 0
    page = ok(disp.get(BASE, {"page": 2, "page_size": 1}))
    assert page["count"] == 2 and len(page["results"]) == 1 and page["page"] == 2
    error(disp.get(BASE, {"department": "NOPE"}), 400, field="department")
    error(disp.get(BASE, {"category": "XX"}), 400, field="category")
    error(disp.get(BASE, {"status": "bogus"}), 400, field="status")
    error(disp.get(BASE, {"page_size": 0}), 400, field="page_size")


def test_list_query_count_does_not_grow(appeal_county: County, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # All dispatched today, so they share one resolution date: the warning level is computed once per
    # (status, due date) — with many distinct dates the calendar's stamp check still costs one query each.
    c = appeal_county
    disp = as_user(c.dispatcher)
    dispatched(c)
    disp.get(BASE)  # warm the calendar cache
    with CaptureQueriesContext(connection) as few:
        ok(disp.get(BASE))
    for _ in range(5):
        dispatched(c)
    with django_assert_max_num_queries(len(few)):
        assert ok(disp.get(BASE))["count"] == 6


def test_categories(appeal_county: County) -> None:
    rows = ok(as_user(appeal_county.ent_user_a).get(f"{BASE}/categories"))
    assert len(rows) == 10
    water = next(r for r in rows if r["code"] == "07")
    assert water["name"] == "水电气" and water["resolve_days"] == 5 and water["resolve_days_urgent"] == 1


def test_return_and_redispatch(appeal_county: County) -> None:
    c = appeal_county
    from yingshang.appeals import services

    appeal = submit_appeal(c)
    services.appeal_dispatch(actor=c.dispatcher, appeal=appeal, lead=c.dept_b)  # type: ignore[arg-type]
    hb = as_user(c.handler_b)
    error(post(hb, f"/{appeal.number}/return", {"reason": ""}), 400, field="reason")
    body = ok(post(hb, f"/{appeal.number}/return", {"reason": "属于工信局职责"}))
    assert body["status"] == "returned" and body["lead_department_code"] is None
    assert ok(hb.get(f"{BASE}/{appeal.number}"))["internal"]["return_count"] == 1  # the returner still reads it
    body = ok(post(as_user(c.dispatcher), f"/{appeal.number}/dispatch", {"lead_department_code": "GXJ"}))
    assert body["status"] == "dispatched" and body["lead_department_code"] == "GXJ"


def test_merge(appeal_county: County) -> None:
    c = appeal_county
    a = submit_appeal(c)
    b = submit_appeal(c, title="又停电了")
    disp = as_user(c.dispatcher)
    error(post(disp, f"/{b.number}/merge", {"into_number": "SQ000"}), 400, field="into_number")
    error(post(disp, f"/{b.number}/merge", {"into_number": b.number}), 400, field="into_number")
    error(post(as_user(c.ent_user_a), f"/{b.number}/merge", {"into_number": a.number}), 403)
    body = ok(post(disp, f"/{b.number}/merge", {"into_number": a.number}))
    assert body["status"] == "merged" and body["merged_into"] == a.number


# ------------------------------------------------------------------------------------ pushes with a token


def test_12345_push_with_bearer_token_is_idempotent(appeal_county: County) -> None:
    from yingshang.appeals.models import Appeal
    from yingshang.core.services import api_token_create

    c = appeal_county
    _, raw = api_token_create(actor=c.security, user=c.dispatcher, name="12345热线")  # type: ignore[arg-type]
    system = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    push = portal_payload(enterprise_uscc=c.ent_a.uscc, channel="12345", caller="李先生", urgency="urgent",
                          external_system="12345", external_id="GZ-2026-000123")
    first = ok(post(system, "", push, **auth), 201)
    assert first["channel"] == "12345" and first["internal"]["external_id"] == "GZ-2026-000123"
    again = ok(post(system, "", {**push, "title": "重复推送"}, **auth), 200)
    assert again["number"] == first["number"] and again["title"] == "园区厂房频繁停电"
    assert Appeal.objects.filter(external_id="GZ-2026-000123").count() == 1
    assert Appeal.objects.get(number=first["number"]).events.filter(kind="submit").count() == 1
    # another system may use the same id
    ok(post(system, "", {**push, "external_system": "hotline"}, **auth), 201)
    assert Appeal.objects.count() == 2
    # a bad or missing token
    error(post(Client(), "", push, HTTP_AUTHORIZATION="Bearer ys_nope"), 401, code="unauthenticated")
    error(post(Client(), "", push), 401)
    assert Appeal.objects.count() == 2


def test_batch_push_takes_each_item_on_its_own(appeal_county: County) -> None:
    from yingshang.appeals.models import Appeal, AppealStat
    from yingshang.core.audit import audit_verify
    from yingshang.core.models import Notification
    from yingshang.core.services import api_token_create

    c = appeal_county
    _, raw = api_token_create(actor=c.security, user=c.dispatcher, name="12345热线")  # type: ignore[arg-type]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    base = portal_payload(enterprise_uscc=c.ent_a.uscc, channel="12345", external_system="12345")
    earlier = ok(post(Client(), "", {**base, "external_id": "T-0"}, **auth), 201)
    items = [
        {**base, "external_id": "T-1", "title": "路灯不亮"},
        {**base, "external_id": "T-0"},  # pushed before
        {**base, "external_id": "T-2", "enterprise_uscc": "91360781MA00000000"},  # unknown enterprise
        {**base, "external_id": "T-3", "category_code": "nope"},
        {**base, "external_id": "T-4", "channel": "portal"},  # staff must name the real channel
        {**base, "external_id": "T-5", "title": "  "},
        {**base, "external_id": "T-1", "title": "同一工单第二次"},  # twice in one batch
        {**base, "external_id": "T-6", "enterprise_uscc": c.ent_b.uscc, "urgency": "urgent"},
    ]
    before = Notification.objects.filter(recipient=c.dispatcher).count()
    body = ok(post(Client(), "/batch", {"items": items}, **auth))
    assert (body["created"], body["existing"], body["refused"]) == (2, 2, 4)
    outcomes = [(r["index"], r["outcome"], (r.get("error") or {}).get("field")) for r in body["results"]]
    assert outcomes == [(0, "created", None), (1, "existing", None), (2, "refused", "enterprise_uscc"),
                        (3, "refused", "category_code"), (4, "refused", "channel"), (5, "refused", "title"),
                        (6, "existing", None), (7, "created", None)]
    r = body["results"]
    assert r[1]["number"] == earlier["number"] and r[6]["number"] == r[0]["number"]
    t1 = Appeal.objects.get(number=r[0]["number"])
    assert t1.title == "路灯不亮" and t1.events.filter(kind="submit").count() == 1
    assert t1.number.startswith("SQ") and t1.number.endswith(f"{t1.pk:06d}")
    assert Appeal.objects.filter(external_system="12345").count() == 3
    assert AppealStat.objects.filter(appeal__external_system="12345").count() == 3
    assert Notification.objects.filter(recipient=c.dispatcher).count() == before + 1  # one message per batch
    assert audit_verify().ok
    # nothing to take: all refused, nothing written
    bad = ok(post(Client(), "/batch", {"items": [{**base, "external_id": "X", "category_code": "nope"}]}, **auth))
    assert bad["refused"] == 1 and Appeal.objects.count() == 3
    # limits and roles
    error(post(Client(), "/batch", {"items": []}, **auth), 400, field="items")
    error(post(as_user(c.ent_user_a), "/batch", {"items": items[:1]}), 403)
    assert Appeal.objects.count() == 3


# ------------------------------------------------------------------------------------ refused paths


def test_unknown_enterprise_or_category_creates_nothing(appeal_county: County) -> None:
    from yingshang.appeals.models import Appeal

    c = appeal_county
    disp = as_user(c.dispatcher)
    error(post(disp, "", portal_payload(enterprise_uscc="91360781MA00000000", channel="hotline")), 400,
          code="validation_failed", field="enterprise_uscc")
    error(post(disp, "", portal_payload(enterprise_uscc=c.ent_a.uscc, channel="hotline", category_code="ZZ")), 400,
          field="category_code")
    error(post(disp, "", portal_payload(enterprise_uscc=c.ent_a.uscc, channel="portal")), 400, field="channel")
    error(post(disp, "", portal_payload(enterprise_uscc=c.ent_a.uscc, channel="meeting")), 400, field="meeting_id")
    error(post(disp, "", portal_payload(enterprise_uscc=c.ent_a.uscc, channel="hotline", title="  ")), 400,
          field="title")
    error(post(disp, "", {"category_code": "07"}), 400, field="title")
    # an enterprise user cannot file for another enterprise; an auditor cannot file at all
    error(post(as_user(c.ent_user_b), "", portal_payload(enterprise_uscc=c.ent_a.uscc)), 403,
          field="enterprise_uscc")
    error(post(as_user(c.auditor), "", portal_payload(enterprise_uscc="nope")), 403)
    assert Appeal.objects.count() == 0


def test_unknown_appeal_and_department(appeal_county: County) -> None:
    c = appeal_county
    number = submit_appeal(c).number
    disp = as_user(c.dispatcher)
    error(disp.get(f"{BASE}/SQ20990101999999"), 404, code="not_found")
    before = snapshot(number)
    error(post(disp, f"/{number}/dispatch", {"lead_department_code": "NOPE"}), 400, field="lead_department_code")
    error(post(disp, f"/{number}/dispatch", {"lead_department_code": "GXJ", "assist_department_codes": ["X"]}), 400,
          field="assist_department_codes")
    error(post(disp, f"/{number}/dispatch", {"lead_department_code": "GXJ", "leader_username": "nobody"}), 400,
          field="leader_username")
    error(post(disp, f"/{number}/dispatch", {"lead_department_code": "GXJ", "leader_username": "handler_b"}), 400,
          field="leader_username")
    error(post(as_user(c.handler_a), f"/{number}/dispatch", {"lead_department_code": "GXJ"}), 403)
    assert snapshot(number) == before
    error(post(disp, "/extensions/999999/decide", {"approve": True}), 404)


def test_reply_before_sign_is_409_and_changes_nothing(appeal_county: County) -> None:
    c = appeal_county
    number = dispatched(c)
    before = snapshot(number)
    body = error(post(as_user(c.handler_a), f"/{number}/reply", {"result": "resolved", "reply": "已解决"}), 409,
                 code="conflict", field="status")
    assert "待签收" in body["message"]
    assert snapshot(number) == before


def test_other_department_cannot_sign(appeal_county: County) -> None:
    c = appeal_county
    from yingshang.appeals import services

    appeal = submit_appeal(c)
    services.appeal_dispatch(actor=c.dispatcher, appeal=appeal, lead=c.dept_a)  # type: ignore[arg-type]
    before = snapshot(appeal.number)
    error(post(as_user(c.handler_b), f"/{appeal.number}/sign"), 403, code="forbidden")
    error(as_user(c.handler_b).get(f"{BASE}/{appeal.number}"), 403)
    # an assisting department reads it but still cannot sign
    number = dispatched(c)
    ok(as_user(c.handler_b).get(f"{BASE}/{number}"))
    error(post(as_user(c.handler_b), f"/{number}/sign"), 403)
    assert snapshot(appeal.number) == before


def test_other_enterprise_cannot_rate(appeal_county: County) -> None:
    from yingshang.appeals import services
    from yingshang.appeals.models import Appeal

    c = appeal_county
    number = dispatched(c)
    appeal = services.appeal_sign(actor=c.handler_a, appeal=Appeal.objects.get(number=number))  # type: ignore[arg-type]
    services.appeal_reply(actor=c.handler_a, appeal=appeal, result="resolved", reply="已解决")  # type: ignore[arg-type]
    before = snapshot(number)
    error(post(as_user(c.ent_user_b), f"/{number}/rate", {"rating": "unsatisfied"}), 403)
    error(post(as_user(c.handler_a), f"/{number}/rate", {"rating": "satisfied"}), 403)
    error(post(as_user(c.ent_user_a), f"/{number}/rate", {"rating": "great"}), 400, field="rating")
    assert snapshot(number) == before
    assert ok(as_user(c.ent_user_a).get(f"{BASE}/{number}"))["reply"] == "已解决"
    error(as_user(c.ent_user_b).get(f"{BASE}/{number}"), 403)


def test_enterprise_timeline_hides_internal_events(appeal_county: County) -> None:
    c = appeal_county
    number = dispatched(c)
    ok(post(as_user(c.handler_a), f"/{number}/sign"))
    ok(post(as_user(c.handler_b), f"/{number}/assist-opinion", {"text": "协办内部意见"}))
    ok(post(as_user(c.handler_a), f"/{number}/extensions", {"days": 2, "reason": "内部延期理由"}), 201)
    staff = ok(as_user(c.dispatcher).get(f"{BASE}/{number}"))
    assert {"assist_opinion", "extension_request"} <= {e["kind"] for e in staff["timeline"]}
    resp = as_user(c.ent_user_a).get(f"{BASE}/{number}")
    body = ok(resp)
    kinds = {e["kind"] for e in body["timeline"]}
    assert kinds == {"submit", "dispatch", "sign"}
    assert body["internal"] is None
    text = resp_text(resp)
    assert "协办内部意见" not in text and "内部延期理由" not in text and "handler_a" not in text


def test_extension_refusals(appeal_county: County) -> None:
    c = appeal_county
    number = dispatched(c)
    ha = as_user(c.handler_a)
    error(post(ha, f"/{number}/extensions", {"days": 2, "reason": "x"}), 409)  # not signed yet
    ok(post(ha, f"/{number}/sign"))
    error(post(ha, f"/{number}/extensions", {"days": 0, "reason": "x"}), 400, field="days")
    ext = ok(post(ha, f"/{number}/extensions", {"days": 2, "reason": "等待检测"}), 201)
    error(post(ha, f"/extensions/{ext['id']}/decide", {"approve": True}), 403)
    error(post(as_user(c.ent_user_a), f"/extensions/{ext['id']}/decide", {"approve": True}), 403)
    ok(post(as_user(c.head_a), f"/extensions/{ext['id']}/decide", {"approve": False, "note": "不同意"}))
    error(post(as_user(c.head_a), f"/extensions/{ext['id']}/decide", {"approve": True}), 409)


def test_two_handlers_sign_one_after_the_other(appeal_county: County) -> None:
    c = appeal_county
    number = dispatched(c)
    body = ok(post(as_user(c.handler_a), f"/{number}/sign"))
    assert body["internal"]["handler"] == "handler_a"
    before = snapshot(number)
    err = error(post(as_user(c.head_a), f"/{number}/sign"), 409, code="conflict")
    assert "handler_a" in err["message"]
    assert snapshot(number) == before


@pytest.mark.parametrize("who", ["handler_a", "ent_user_a", "auditor"])
def test_supervise_and_follow_up_need_their_roles(appeal_county: County, who: str) -> None:
    c = appeal_county
    number = dispatched(c)
    before = snapshot(number)
    user = getattr(c, who)
    status = 403
    error(post(as_user(user), f"/{number}/supervise", {"instruction": "尽快", "days": 3}), status)
    error(post(as_user(user), f"/{number}/follow-up", {"text": "回访"}), status)
    error(post(as_user(user), f"/{number}/review", {"reopen": False, "note": "x"}), status)
    assert snapshot(number) == before


# ------------------------------------------------------------------------------------ OpenAPI


def test_openapi_lists_appeal_paths(appeal_county: County, client) -> None:  # type: ignore[no-untyped-def]
    paths = ok(client.get("/api/v1/openapi.json"))["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/appeals"])
    assert "get" in paths["/api/v1/appeals/{number}"]
    assert "get" in paths["/api/v1/appeals/categories"]
    for action in ["dispatch", "return", "sign", "contact", "assist-opinion", "extensions", "reply", "rate", "review",
                   "supervise", "follow-up", "merge"]:
        assert "post" in paths[f"/api/v1/appeals/{{number}}/{action}"], action
    assert any(p.startswith("/api/v1/appeals/extensions/") and p.endswith("/decide") for p in paths)


def test_reply_attachments_reach_the_enterprise_and_nobody_else(appeal_county: County) -> None:
    """Files: uploaded through the API, attached to a reply, downloaded by whoever sees the appeal;
    another enterprise, or someone else's upload id, is refused."""
    import io

    c = appeal_county
    number = dispatched(c)
    handler = as_user(c.handler_a)
    ok(post(handler, f"/{number}/sign"))
    pdf = io.BytesIO(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    pdf.name = "答复函.pdf"
    up = handler.post("/api/v1/attachments", {"file": pdf})
    assert up.status_code == 201, up.content
    att = up.json()
    assert att["kind"] == "pdf" and att["name"] == "答复函.pdf"
    # someone else's upload cannot be attached
    other = as_user(c.handler_b)
    pdf.seek(0)
    theirs = other.post("/api/v1/attachments", {"file": pdf}).json()
    before = snapshot(number)
    error(post(handler, f"/{number}/reply", {"result": "resolved", "reply": "已解决", "attachment_ids": [theirs["id"]]}),
          400, field="attachment_ids")
    assert snapshot(number) == before
    body = ok(post(handler, f"/{number}/reply", {"result": "resolved", "reply": "已协调解决，见附件",
                                                  "attachment_ids": [att["id"]]}))
    reply = [e for e in body["timeline"] if e["kind"] == "reply"][-1]
    assert [f["name"] for f in reply["attachments"]] == ["答复函.pdf"]
    url = reply["attachments"][0]["url"]
    owner = as_user(c.ent_user_a)
    got = owner.get(url)
    assert got.status_code == 200 and b"".join(got.streaming_content).startswith(b"%PDF")
    assert "attachment" in got["Content-Disposition"] and got["X-Content-Type-Options"] == "nosniff"
    from yingshang.appeals.models import Appeal

    pk = Appeal.objects.get(number=number).pk
    page = owner.get(f"/appeals/{pk}/files/{att['id']}/")
    assert page.status_code == 200
    assert "答复函.pdf" in owner.get(f"/appeals/{pk}/").content.decode()
    # another enterprise, and a file id that is not this appeal's
    assert as_user(c.ent_user_b).get(url).status_code == 403
    assert as_user(c.ent_user_b).get(f"/appeals/{pk}/files/{att['id']}/").status_code == 403
    assert owner.get(f"/api/v1/appeals/{number}/files/{theirs['id']}").status_code == 404
    # oversized upload: a clear error, nothing stored
    from django.test import override_settings

    from yingshang.core.models import Attachment

    n = Attachment.objects.count()
    with override_settings(ATTACHMENT_MAX_BYTES=10):
        pdf.seek(0)
        error(handler.post("/api/v1/attachments", {"file": pdf}), 400, field="file")
    assert Attachment.objects.count() == n
    # auditors and security administrators upload nothing
    assert as_user(c.auditor).post("/api/v1/attachments", {"file": pdf}).status_code == 403
