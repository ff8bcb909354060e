"""The appeal pages over HTTP: each action through its form by the right role; the wrong role gets a
message and nothing changes; other departments and enterprises get 403; lists are scoped."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from tests.conftest import submit_appeal

from yingshang.appeals import services
from yingshang.appeals.models import Appeal, AppealEvent, Category, Extension

pytestmark = pytest.mark.django_db


def act(client, user, appeal, action, data=None):  # type: ignore[no-untyped-def]
    client.force_login(user)
    r = client.post(f"/appeals/{appeal.pk}/act/{action}/", data or {}, follow=True)
    return r, r.content.decode()


def fresh(appeal: Appeal) -> Appeal:
    return Appeal.objects.get(pk=appeal.pk)


def dispatched(c, **kw):  # type: ignore[no-untyped-def]
    a = submit_appeal(c, **kw)
    return services.appeal_dispatch(actor=c.dispatcher, appeal=a, lead=c.dept_a, assists=[c.dept_b], leader=c.leader)


def handling(c, **kw):  # type: ignore[no-untyped-def]
    return services.appeal_sign(actor=c.handler_a, appeal=dispatched(c, **kw))


def replied(c):  # type: ignore[no-untyped-def]
    return services.appeal_reply(actor=c.handler_a, appeal=handling(c), result="resolved", reply="已协调供电公司")


# ------------------------------------------------------------------------------------------- submit


def test_enterprise_submits_on_the_portal_with_attachment(appeal_county, client):
    c = appeal_county
    client.force_login(c.ent_user_a)
    page = client.get("/appeals/new/").content.decode()
    assert c.ent_a.name in page and 'name="uscc"' not in page
    pdf = SimpleUploadedFile("说明.pdf", b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n", content_type="application/pdf")
    r = client.post("/appeals/new/", {
        "category": Category.objects.get(code="07").pk, "title": "厂房停电", "content": "频繁停电",
        "urgency": "urgent", "contact_name": "王经理", "contact_phone": "13912345678", "show_name": "1",
        "channel": "hotline", "attachment": pdf})
    assert r.status_code == 302
    a = Appeal.objects.get()
    assert (a.enterprise, a.channel, a.urgency, a.show_name, a.filed_by) == (c.ent_a, "portal", "urgent", True,
                                                                             c.ent_user_a)
    assert a.attachments.count() == 1
    assert r["Location"] == f"/appeals/{a.pk}/"


def test_dispatcher_files_a_hotline_appeal_by_credit_code(appeal_county, client):
    c = appeal_county
    client.force_login(c.dispatcher)
    data = {"uscc": c.ent_b.uscc.lower(), "channel": "hotline", "caller": "李四",
            "category": Category.objects.get(code="01").pk, "title": "补贴政策咨询", "content": "如何申报",
            "urgency": "normal", "contact_name": "李四", "contact_phone": "13800001111"}
    r = client.post("/appeals/new/", data)
    assert r.status_code == 302
    a = Appeal.objects.get()
    assert (a.enterprise, a.channel, a.caller) == (c.ent_b, "hotline", "李四")
    # an unknown credit code: the form comes back with the message in both languages, nothing saved
    r = client.post("/appeals/new/", {**data, "uscc": "91360781XXXXXXXXXX"})
    assert r.status_code == 400
    body = r.content.decode()
    assert "未找到该统一社会信用代码" in body and "no enterprise" in body and "补贴政策咨询" in body
    assert Appeal.objects.count() == 1


def test_handler_cannot_open_the_submit_form(appeal_county, client):
    client.force_login(appeal_county.handler_a)
    assert client.get("/appeals/new/").status_code == 403


# ------------------------------------------------------------------------------------------- actions


def test_dispatch_through_the_page(appeal_county, client):
    c = appeal_county
    a = submit_appeal(c)
    client.force_login(c.dispatcher)
    page = client.get(f"/appeals/{a.pk}/").content.decode()
    assert 'id="act-dispatch"' in page
    r, body = act(client, c.dispatcher, a, "dispatch", {"lead": c.dept_a.pk, "assists": [c.dept_b.pk],
                                                        "leader": c.leader.pk})
    a = fresh(a)
    assert (a.status, a.lead_department, a.responsible_leader) == ("dispatched", c.dept_a, c.leader)
    assert list(a.assists.values_list("department", flat=True)) == [c.dept_b.pk]
    assert "已派单" in body


def test_wrong_role_dispatch_is_refused_and_nothing_changes(appeal_county, client):
    c = appeal_county
    a = submit_appeal(c)
    page = (client.force_login(c.ent_user_a), client.get(f"/appeals/{a.pk}/").content.decode())[1]
    assert 'id="act-dispatch"' not in page
    r, body = act(client, c.ent_user_a, a, "dispatch", {"lead": c.dept_a.pk})
    assert r.status_code == 200 and "您没有执行此操作的权限" in body and "not allowed" in body
    assert fresh(a).status == "submitted"


def test_return_then_redispatch(appeal_county, client):
    c = appeal_county
    a = dispatched(c)
    r, body = act(client, c.handler_b, a, "return", {"reason": "不是我们的"})  # the assisting department
    assert "只有主办部门" in body and fresh(a).status == "dispatched"
    r, body = act(client, c.handler_a, a, "return", {"reason": "属市场监管职责"})
    a = fresh(a)
    assert (a.status, a.return_count, a.lead_department) == ("returned", 1, None)
    # the returning department still sees it
    client.force_login(c.handler_a)
    assert client.get(f"/appeals/{a.pk}/").status_code == 200
    act(client, c.dispatcher, a, "dispatch", {"lead": c.dept_b.pk})
    assert (fresh(a).status, fresh(a).lead_department) == ("dispatched", c.dept_b)


def test_sign_contact_reply(appeal_county, client):
    c = appeal_county
    a = dispatched(c)
    act(client, c.head_a, a, "sign")  # a head of the lead department may sign too
    a = fresh(a)
    assert (a.status, a.handler) == ("handling", c.head_a)
    act(client, c.handler_a, a, "contact", {"note": "电话联系王经理"})
    assert fresh(a).contacted_at is not None
    # partial without explanation: refused, nothing changed
    r, body = act(client, c.handler_a, a, "reply", {"result": "partial", "reply": "已部分协调"})
    assert "须说明法律依据" in body and fresh(a).status == "handling"
    act(client, c.handler_a, a, "reply", {"result": "resolved", "reply": "已协调供电公司"})
    a = fresh(a)
    assert (a.status, a.result) == ("replied", "resolved")


def test_enterprise_cannot_sign(appeal_county, client):
    c = appeal_county
    a = dispatched(c)
    r, body = act(client, c.ent_user_a, a, "sign")
    assert "您没有执行此操作的权限" in body and fresh(a).status == "dispatched"


def test_assist_opinion_hidden_from_enterprise(appeal_county, client):
    c = appeal_county
    a = dispatched(c)
    client.force_login(c.handler_b)
    assert 'id="act-assist"' in client.get(f"/appeals/{a.pk}/").content.decode()
    act(client, c.handler_b, a, "assist_opinion", {"text": "建议核查许可证照"})
    assert a.assists.get().opinion == "建议核查许可证照"
    client.force_login(c.handler_a)
    assert "建议核查许可证照" in client.get(f"/appeals/{a.pk}/").content.decode()
    client.force_login(c.ent_user_a)
    body = client.get(f"/appeals/{a.pk}/").content.decode()
    assert "建议核查许可证照" not in body and "协办部门" not in body
    # the lead department is not an assisting one
    r, body = act(client, c.handler_a, a, "assist_opinion", {"text": "x"})
    assert "不是该诉求的协办部门" in body


def test_extension_request_and_decisions(appeal_county, client):
    c = appeal_county
    a = handling(c)
    due = a.resolve_due
    act(client, c.handler_a, a, "extension_request", {"days": "3", "reason": "需现场核查"})
    ext = Extension.objects.get()
    r, body = act(client, c.handler_a, a, "extension_decide", {"extension": ext.pk, "decision": "approve"})
    assert "您没有执行此操作的权限" in body and fresh(a).resolve_due == due
    r, body = act(client, c.ent_user_a, a, "extension_decide", {"extension": ext.pk, "decision": "approve"})
    assert Extension.objects.get().status == "pending"
    client.force_login(c.head_a)
    assert 'id="act-extension-decide"' in client.get(f"/appeals/{a.pk}/").content.decode()
    act(client, c.head_a, a, "extension_decide", {"extension": ext.pk, "decision": "approve", "note": "同意"})
    assert Extension.objects.get().status == "approved" and fresh(a).resolve_due > due
    # a second request rejected by the dispatcher
    act(client, c.handler_a, a, "extension_request", {"days": "2", "reason": "再核查"})
    ext2 = Extension.objects.get(status="pending")
    before = fresh(a).resolve_due
    act(client, c.dispatcher, a, "extension_decide", {"extension": ext2.pk, "decision": "reject"})
    assert Extension.objects.get(pk=ext2.pk).status == "rejected" and fresh(a).resolve_due == before
    r, body = act(client, c.handler_a, a, "extension_request", {"days": "abc", "reason": "x"})
    assert "延期天数须为整数" in body


def test_rate_review_reopen_and_follow_up(appeal_county, client):
    c = appeal_county
    a = replied(c)
    r, body = act(client, c.ent_user_b, a, "rate", {"rating": "satisfied"})
    assert r.status_code == 403 and fresh(a).status == "replied"  # not its appeal at all
    r, body = act(client, c.dispatcher, a, "rate", {"rating": "satisfied"})
    assert "只有提出诉求的企业可以评价" in body and fresh(a).status == "replied"
    act(client, c.ent_user_a, a, "rate", {"rating": "unsatisfied", "comment": "还在停电"})
    assert fresh(a).status == "review"
    r, body = act(client, c.handler_a, a, "review", {"decision": "reopen", "note": "x"})
    assert "您没有执行此操作的权限" in body and fresh(a).status == "review"
    act(client, c.dispatcher, a, "review", {"decision": "reopen", "note": "请再协调"})
    a = fresh(a)
    assert (a.status, a.reopen_count) == ("handling", 1)
    services.appeal_reply(actor=c.handler_a, appeal=a, result="resolved", reply="已更换线路")
    act(client, c.ent_user_a, a, "rate", {"rating": "basic"})
    assert fresh(a).status == "closed"
    act(client, c.dispatcher, a, "follow_up", {"text": "回访：供电正常"})
    assert a.events.filter(kind=AppealEvent.Kind.FOLLOW_UP).count() == 1
    r, body = act(client, c.handler_a, a, "follow_up", {"text": "x"})
    assert a.events.filter(kind=AppealEvent.Kind.FOLLOW_UP).count() == 1


def test_supervise_by_leader_not_by_handler(appeal_county, client):
    c = appeal_county
    a = handling(c)
    r, body = act(client, c.handler_a, a, "supervise", {"instruction": "x", "days": "2"})
    assert "您没有执行此操作的权限" in body and not a.supervisions.exists()
    act(client, c.leader, a, "supervise", {"instruction": "本周内解决", "days": "2"})
    assert a.supervisions.get().instruction == "本周内解决"


def test_merge_duplicate(appeal_county, client):
    c = appeal_county
    first = submit_appeal(c)
    dup = submit_appeal(c, title="又停电了")
    r, body = act(client, c.handler_a, dup, "merge", {"into": first.pk})
    assert r.status_code == 403 and fresh(dup).status == "submitted"  # not its department's appeal
    act(client, c.dispatcher, dup, "merge", {"into": first.pk})
    assert (fresh(dup).status, fresh(dup).merged_into) == ("merged", first)


def test_unknown_action_is_404(appeal_county, client):
    c = appeal_county
    a = submit_appeal(c)
    client.force_login(c.dispatcher)
    assert client.post(f"/appeals/{a.pk}/act/delete/").status_code == 404
    assert client.get(f"/appeals/{a.pk}/act/sign/").status_code == 405


# ------------------------------------------------------------------------------------------- scoping


def test_detail_forbidden_to_other_department_and_enterprise(appeal_county, client):
    c = appeal_county
    a = services.appeal_dispatch(actor=c.dispatcher, appeal=submit_appeal(c), lead=c.dept_a)
    for user in (c.handler_b, c.ent_user_b, c.auditor, c.security):
        client.force_login(user)
        assert client.get(f"/appeals/{a.pk}/").status_code == 403, user.username
    for user in (c.handler_a, c.head_a, c.dispatcher, c.leader, c.ent_user_a):
        client.force_login(user)
        assert client.get(f"/appeals/{a.pk}/").status_code == 200, user.username
    client.force_login(c.dispatcher)
    assert client.get("/appeals/999999/").status_code == 404


def test_list_is_scoped_and_filtered(appeal_county, client):
    c = appeal_county
    a = dispatched(c)  # ent_a, lead dept_a, assist dept_b
    b = submit_appeal(c, actor=c.ent_user_b, enterprise=c.ent_b, title="小吃店证照办理",
                      category=Category.objects.get(code="05"))
    seen = {}
    for user in (c.dispatcher, c.leader, c.handler_a, c.handler_b, c.ent_user_a, c.ent_user_b):
        client.force_login(user)
        body = client.get("/appeals/").content.decode()
        seen[user.username] = (a.title in body, b.title in body)
    assert seen == {"dispatcher": (True, True), "leader": (True, True), "handler_a": (True, False),
                    "handler_b": (True, False), "ent_a": (True, False), "ent_b": (False, True)}
    client.force_login(c.auditor)
    assert client.get("/appeals/").status_code == 403
    client.force_login(c.dispatcher)
    body = client.get("/appeals/?status=submitted").content.decode()
    assert b.title in body and a.title not in body
    body = client.get("/appeals/?q=证照", HTTP_HX_REQUEST="true").content.decode()
    assert b.title in body and a.title not in body and "<h1>" not in body  # the htmx partial
    body = client.get(f"/appeals/?category={Category.objects.get(code='07').pk}&channel=portal").content.decode()
    assert a.title in body and b.title not in body


def test_list_warning_tags(appeal_county, client):
    c = appeal_county
    a = dispatched(c)
    Appeal.objects.filter(pk=a.pk).update(resolve_due=dt.date(2020, 1, 2))
    client.force_login(c.dispatcher)
    body = client.get("/appeals/?overdue=1").content.decode()
    assert a.title in body and 'tag red">超期' in body


def test_navigation_shows_appeals(appeal_county, client):
    c = appeal_county
    for user, shown in ((c.dispatcher, True), (c.handler_a, True), (c.ent_user_a, True), (c.auditor, False),
                        (c.inspector, False)):
        client.force_login(user)
        assert ('href="/appeals/"' in client.get("/").content.decode()) is shown, user.username


def test_dispatcher_sees_suggestion_and_duplicate_hint(appeal_county, client):
    from tests.conftest import submit_appeal

    c = appeal_county
    first = submit_appeal(c)
    second = submit_appeal(c, title="园区厂房频繁停电", content="近一个月停电三次，影响生产，请协调供电公司。")
    client.force_login(c.dispatcher)
    page = client.get(f"/appeals/{second.pk}/").content.decode()
    assert 'id="suggestion"' in page and "水电气" in page  # keyword rules while the history is small
    assert 'id="duplicates"' in page and first.number in page
    client.force_login(c.ent_user_a)
    page = client.get(f"/appeals/{second.pk}/").content.decode()
    assert 'id="suggestion"' not in page and 'id="duplicates"' not in page


def test_home_todos_count_the_rows_behind_their_links(appeal_county, client):
    from tests.conftest import submit_appeal

    from yingshang.appeals import services

    c = appeal_county
    submit_appeal(c)
    a = submit_appeal(c, title="融资难")
    services.appeal_dispatch(actor=c.dispatcher, appeal=a, lead=c.dept_a, assists=[c.dept_b])
    b = submit_appeal(c, title="招工难")
    services.appeal_dispatch(actor=c.dispatcher, appeal=b, lead=c.dept_b, assists=[c.dept_a])
    for user, label in ((c.dispatcher, "诉求待派单"), (c.handler_a, "诉求待签收"), (c.handler_b, "诉求待签收")):
        client.force_login(user)
        todos = {t.label: t for t in client.get("/").context["todos"]}
        todo = todos[label]
        rows = client.get(todo.url).context["page"].paginator.count
        assert todo.count == rows == 1, (user, label)
    client.force_login(c.ent_user_a)
    assert "答复待评价" in client.get("/").content.decode()
    client.force_login(c.dispatcher)
    assert client.get("/appeals/?department=x").status_code == 400
