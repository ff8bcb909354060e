"""The appeal loop through the services: states, deadlines in working days, permissions,
concurrency, sweep, provisional deadlines."""

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection
from tests.conftest import submit_appeal

from yingshang.appeals import selectors, services
from yingshang.appeals.models import Appeal, AppealEvent, Category
from yingshang.core.errors import Conflict, NotPermitted, ValidationFailed
from yingshang.core.models import AuditRecord, Notification

S = Appeal.Status
TZ = dt.timezone(dt.timedelta(hours=8))


def at(y, m, d, h=10):
    return time_machine.travel(dt.datetime(y, m, d, h, tzinfo=TZ), tick=False)


def dispatched(c, **kw):
    a = submit_appeal(c, **kw)
    return services.appeal_dispatch(actor=c.dispatcher, appeal=a, lead=c.dept_a, assists=[c.dept_b], leader=c.leader)


def test_main_loop_with_events_and_working_day_deadlines(appeal_county):
    c = appeal_county
    with at(2026, 9, 29):  # Tuesday before the National Day block
        a = submit_appeal(c)
        assert a.status == S.SUBMITTED and a.number.startswith("SQ20260929")
        a = services.appeal_dispatch(actor=c.dispatcher, appeal=a, lead=c.dept_a, assists=[c.dept_b], leader=c.leader)
        # sign within 1 working day: 30 Sep; resolution 5 working days (水电气): 30 Sep, 8, 9, 10 (Sat, make-up), 12 Oct
        assert a.sign_due == dt.date(2026, 9, 30)
        assert a.resolve_due == dt.date(2026, 10, 12)
        assert a.due_provisional is False
    with at(2026, 9, 30):
        a = services.appeal_sign(actor=c.handler_a, appeal=a)
        services.appeal_contact(actor=c.handler_a, appeal=a, note="已电话联系王经理")
        services.appeal_assist_opinion(actor=c.handler_b, appeal=a, text="建议协调供电公司检修线路")
    with at(2026, 10, 9):
        a = services.appeal_reply(actor=c.handler_a, appeal=a, result="resolved", reply="已协调供电公司更换变压器")
        assert a.status == S.REPLIED and a.rate_due == dt.date(2026, 10, 15)
        a = services.appeal_rate(actor=c.ent_user_a, appeal=a, rating="satisfied", comment="很及时")
    assert a.status == S.CLOSED
    kinds = list(a.events.values_list("kind", flat=True))
    assert kinds == ["submit", "dispatch", "sign", "contact", "assist_opinion", "reply", "rate"]
    sign = a.events.get(kind="sign")
    assert sign.data["on_time"] is True
    assert AuditRecord.objects.filter(action__startswith="appeal.", object_id=str(a.pk)).count() == 7
    # the enterprise's timeline hides internal notes (the assisting department's opinion)
    ent_view = [e.kind for e in selectors.appeal_timeline(actor=c.ent_user_a, appeal=a)]
    assert "assist_opinion" not in ent_view and "reply" in ent_view


def test_deadline_crossing_into_2027_is_provisional_and_recomputed(appeal_county):
    c = appeal_county
    with at(2026, 12, 28):
        a = dispatched(c, category=Category.objects.get(code="04"))  # 用地/厂房: 13 working days
        assert a.due_provisional is True
        provisional_due = a.resolve_due
    from yingshang.core import services as core_services

    csv = "2027-01-01,放假,元旦\n2027-01-04,放假,元旦\n2027-01-09,上班,调休\n"
    core_services.calendar_import(data=csv.encode(), actor=None, source="test")
    a.refresh_from_db()
    assert a.due_provisional is False
    assert a.resolve_due != provisional_due or a.events.filter(kind="recompute").exists()
    assert a.events.filter(kind="recompute").count() == 1


def test_wrong_state_and_wrong_role_change_nothing(appeal_county):
    c = appeal_county
    a = dispatched(c)
    before = Appeal.objects.filter(pk=a.pk).values().get()
    events = AppealEvent.objects.count()
    with pytest.raises(Conflict):
        services.appeal_reply(actor=c.handler_a, appeal=a, result="resolved", reply="x")  # not signed yet
    with pytest.raises(NotPermitted):
        services.appeal_sign(actor=c.handler_b, appeal=a)  # assisting, not lead
    with pytest.raises(NotPermitted):
        services.appeal_dispatch(actor=c.handler_a, appeal=a, lead=c.dept_a)
    with pytest.raises(NotPermitted):
        services.appeal_rate(actor=c.ent_user_b, appeal=a, rating="satisfied")
    after = Appeal.objects.filter(pk=a.pk).values().get()
    assert before == after and AppealEvent.objects.count() == events


def test_enterprise_cannot_submit_for_another(appeal_county):
    c = appeal_county
    with pytest.raises(NotPermitted):
        submit_appeal(c, enterprise=c.ent_b)
    with pytest.raises(ValidationFailed) as exc:
        submit_appeal(c, title="  ")
    assert exc.value.field == "title"
    assert Appeal.objects.count() == 0


def test_operator_files_for_caller_and_12345_push_is_idempotent(appeal_county):
    c = appeal_county
    a = submit_appeal(c, actor=c.dispatcher, channel="hotline", caller="王经理")
    assert a.channel == "hotline" and a.filed_by == c.dispatcher
    p1 = submit_appeal(c, actor=c.dispatcher, channel="12345", external_system="12345", external_id="GD-2026-0001")
    p2 = submit_appeal(c, actor=c.dispatcher, channel="12345", external_system="12345", external_id="GD-2026-0001")
    assert p1.pk == p2.pk and Appeal.objects.filter(external_id="GD-2026-0001").count() == 1
    with pytest.raises(ValidationFailed):
        submit_appeal(c, actor=c.dispatcher, channel="portal")


def test_return_within_limit_then_redispatch(appeal_county):
    c = appeal_county
    with at(2026, 11, 2):
        a = dispatched(c)
    with at(2026, 11, 5):  # limit: 2 working days after 2 Nov = 4 Nov
        with pytest.raises(Conflict):
            services.appeal_return(actor=c.handler_a, appeal=a, reason="不属于本部门职责")
    with at(2026, 11, 3):
        a = services.appeal_return(actor=c.handler_a, appeal=a, reason="不属于本部门职责")
        assert a.status == S.RETURNED and a.lead_department is None and a.return_count == 1
        a = services.appeal_dispatch(actor=c.dispatcher, appeal=a, lead=c.dept_b)
        assert a.status == S.DISPATCHED and a.lead_department == c.dept_b
    # the returning department still sees the appeal's history
    assert selectors.appeal_get(actor=c.handler_a, pk=a.pk)


def test_extension_before_deadline_approved_by_head(appeal_county):
    c = appeal_county
    with at(2026, 11, 2):
        a = dispatched(c)
        a = services.appeal_sign(actor=c.handler_a, appeal=a)
        due = a.resolve_due
        with pytest.raises(ValidationFailed):
            services.appeal_extension_request(actor=c.handler_a, appeal=a, days=11, reason="x")
        ext = services.appeal_extension_request(actor=c.handler_a, appeal=a, days=3, reason="需现场勘查")
        with pytest.raises(NotPermitted):
            services.appeal_extension_decide(actor=c.handler_a, extension=ext, approve=True)
        services.appeal_extension_decide(actor=c.head_a, extension=ext, approve=True, note="同意")
    a.refresh_from_db()
    assert a.resolve_due == dt.date(2026, 11, 12) and due == dt.date(2026, 11, 9)
    with at(2026, 11, 13):
        with pytest.raises(Conflict):
            services.appeal_extension_request(actor=c.handler_a, appeal=a, days=2, reason="再延")


def test_partial_answer_needs_explanation(appeal_county):
    c = appeal_county
    a = services.appeal_sign(actor=c.handler_a, appeal=dispatched(c))
    with pytest.raises(ValidationFailed) as exc:
        services.appeal_reply(actor=c.handler_a, appeal=a, result="partial", reply="部分解决")
    assert exc.value.field == "explanation"
    a = services.appeal_reply(actor=c.handler_a, appeal=a, result="unresolved", reply="无法解决",
                              explanation="依据《电力法》第××条，线路改造需列入年度计划；已协调临时发电机")
    assert a.status == S.REPLIED


def test_unsatisfied_reopens_once_after_review(appeal_county):
    c = appeal_county
    a = services.appeal_sign(actor=c.handler_a, appeal=dispatched(c))
    a = services.appeal_reply(actor=c.handler_a, appeal=a, result="resolved", reply="已处理")
    a = services.appeal_rate(actor=c.ent_user_a, appeal=a, rating="unsatisfied", comment="仍在停电")
    assert a.status == S.REVIEW
    a = services.appeal_review(actor=c.dispatcher, appeal=a, reopen=True, note="请主办部门重新办理")
    assert a.status == S.HANDLING and a.reopen_count == 1
    a = services.appeal_reply(actor=c.handler_a, appeal=a, result="resolved", reply="已更换线路")
    a = services.appeal_rate(actor=c.ent_user_a, appeal=a, rating="unsatisfied")
    assert a.status == S.CLOSED  # only once


def test_sweep_marks_overdue_escalates_and_closes_unrated(appeal_county, django_capture_on_commit_callbacks):
    c = appeal_county
    with at(2026, 11, 2):
        a = services.appeal_sign(actor=c.handler_a, appeal=dispatched(c))  # due 9 Nov
        b = services.appeal_reply(actor=c.handler_a, appeal=services.appeal_sign(actor=c.handler_a, appeal=dispatched(c)),
                                  result="resolved", reply="已处理")  # rate due 9 Nov
    with django_capture_on_commit_callbacks(execute=True):
        r1 = services.appeal_sweep(today=dt.date(2026, 11, 10))
    assert r1 == {"overdue": 1, "escalated": 0, "closed_unrated": 1}
    assert services.appeal_sweep(today=dt.date(2026, 11, 10)) == {"overdue": 0, "escalated": 0, "closed_unrated": 0}
    assert Notification.objects.filter(recipient__in=[c.handler_a, c.head_a, c.leader], title__startswith="诉求已超期").count() == 3
    r2 = services.appeal_sweep(today=dt.date(2026, 11, 12))
    assert r2["escalated"] == 1
    b.refresh_from_db()
    assert b.status == S.CLOSED and b.rating == "unrated"
    a.refresh_from_db()
    assert a.overdue_at and a.escalated_at
    assert selectors.warning_level(a, today=dt.date(2026, 11, 10)) == "red"
    assert selectors.warning_level(a, today=dt.date(2026, 11, 6)) == "yellow"
    assert selectors.warning_level(a, today=dt.date(2026, 11, 3)) == "green"


def test_supervision_follow_up_and_merge(appeal_county):
    c = appeal_county
    a = dispatched(c)
    order = services.appeal_supervise(actor=c.leader, appeal=a, instruction="本周内解决", days=3)
    assert order.due
    with pytest.raises(NotPermitted):
        services.appeal_supervise(actor=c.handler_a, appeal=a, instruction="x", days=1)
    dup = submit_appeal(c, title="厂房停电问题")
    services.appeal_merge(actor=c.dispatcher, duplicate=dup, into=a)
    dup.refresh_from_db()
    assert dup.status == S.MERGED and dup.merged_into == a
    a = services.appeal_sign(actor=c.handler_a, appeal=a)
    services.appeal_reply(actor=c.handler_a, appeal=a, result="resolved", reply="已解决")
    dup.refresh_from_db()
    assert dup.reply == "已解决"
    with pytest.raises(Conflict):
        services.appeal_follow_up(actor=c.dispatcher, appeal=dispatched(c), text="x")


def test_scoping(appeal_county):
    c = appeal_county
    a = dispatched(c)
    assert list(selectors.appeal_list(actor=c.handler_b)) == [a]  # assisting department
    assert list(selectors.appeal_list(actor=c.ent_user_b)) == []
    with pytest.raises(NotPermitted):
        selectors.appeal_get(actor=c.ent_user_b, pk=a.pk)
    with pytest.raises(NotPermitted):
        selectors.appeal_list(actor=c.auditor)


@pytest.mark.django_db(transaction=True)
def test_two_handlers_sign_at_once_one_wins():
    from tests.conftest import build_county

    from yingshang.appeals.defaults import ensure_default_categories

    ensure_default_categories()
    c = build_county()
    a = dispatched(c)
    results = []
    barrier = threading.Barrier(2)

    def sign(user):
        barrier.wait()
        try:
            services.appeal_sign(actor=user, appeal=a)
            results.append("won")
        except Conflict as exc:
            results.append(exc.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=sign, args=(u,)) for u in (c.handler_a, c.head_a)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results)[0] == "won" or "won" in results
    assert results.count("won") == 1
    assert any("已由" in r for r in results if r != "won")
    assert AppealEvent.objects.filter(appeal=a, kind="sign").count() == 1


def test_recompute_after_reopening_counts_from_the_reopening(appeal_county):
    c = appeal_county
    with at(2026, 12, 1):
        a = services.appeal_sign(actor=c.handler_a, appeal=dispatched(c))
        a = services.appeal_reply(actor=c.handler_a, appeal=a, result="resolved", reply="已处理")
        a = services.appeal_rate(actor=c.ent_user_a, appeal=a, rating="unsatisfied")
    with at(2026, 12, 28):
        a = services.appeal_review(actor=c.dispatcher, appeal=a, reopen=True, note="重办")
        assert a.clock_start == dt.date(2026, 12, 28) and a.due_provisional and a.reply == ""
    from yingshang.core import services as core_services

    # official 2027 with 4 Jan off as well: 5 working days from 28 Dec = 29, 30, 31 Dec, 5, 6 Jan
    core_services.calendar_import(data="2027-01-01,放假,元旦\n2027-01-04,放假,元旦\n".encode(), actor=None, source="t")
    a.refresh_from_db()
    assert a.resolve_due == dt.date(2027, 1, 6) and not a.due_provisional


def test_sweep_as_of_a_day_records_that_day(appeal_county):
    c = appeal_county
    with at(2026, 11, 2):
        b = services.appeal_reply(actor=c.handler_a, appeal=services.appeal_sign(actor=c.handler_a, appeal=dispatched(c)),
                                  result="resolved", reply="已处理")
    services.appeal_sweep(today=dt.date(2026, 11, 10))
    b.refresh_from_db()
    assert timezone_local_date(b.closed_at) == dt.date(2026, 11, 10)
    assert timezone_local_date(b.events.get(kind="close_unrated").at) == dt.date(2026, 11, 10)


def timezone_local_date(value):
    from django.utils import timezone

    return timezone.localtime(value).date()


def test_a_backlog_appeal_is_marked_overdue_and_escalated_in_one_sweep(appeal_county, django_capture_on_commit_callbacks):
    """A sweep that first sees an appeal long after its due date marks and escalates it at once, and
    a second sweep does nothing more."""
    from yingshang.core.models import Notification

    c = appeal_county
    with at(2026, 11, 2):
        a = services.appeal_sign(actor=c.handler_a, appeal=dispatched(c))  # due 9 Nov
    with django_capture_on_commit_callbacks(execute=True):
        assert services.appeal_sweep(today=dt.date(2026, 11, 16)) == {"overdue": 1, "escalated": 1,
                                                                     "closed_unrated": 0}
    a.refresh_from_db()
    assert a.overdue_at and a.escalated_at
    assert [e.kind for e in a.events.filter(kind__in=["overdue", "escalate"])] == ["overdue", "escalate"]
    assert Notification.objects.filter(recipient=c.dispatcher, title__startswith="超期诉求升级督办").count() == 1
    assert services.appeal_sweep(today=dt.date(2026, 11, 17)) == {"overdue": 0, "escalated": 0, "closed_unrated": 0}
