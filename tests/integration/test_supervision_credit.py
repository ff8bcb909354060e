"""信用红黑名单: the services (add, duplicates, credit repair, expiry, audit, the enterprises' listeners),
file import (all rows or none, every bad row named), permissions from outside (page and API), the CLI,
the facts ``credit.black_list`` / ``credit.red_list`` of the policy rule engine — and through them a
black-listed enterprise dropping out of a benefit."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import re
from typing import Any

import numpy as np
import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import Client
from tests.conftest import County, make_uscc

from yingshang.core.errors import Conflict, NotPermitted, ValidationFailed
from yingshang.core.models import AuditRecord
from yingshang.enterprises import hooks
from yingshang.enterprises.models import Enterprise
from yingshang.supervision import selectors, services
from yingshang.supervision.models import CreditListEntry

TZ = dt.timezone(dt.timedelta(hours=8))
DAY = dt.date(2026, 3, 2)  # a Monday
HEAD = ["统一社会信用代码", "名单类型", "认定原因", "认定部门", "认定日期", "有效期至", "文书号"]


def at(day: dt.date, hour: int = 10):  # type: ignore[no-untyped-def]
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, hour, tzinfo=TZ), tick=False)


@pytest.fixture
def spring():  # type: ignore[no-untyped-def]
    with at(DAY):
        yield


@pytest.fixture
def changed(monkeypatch) -> list[list[int]]:  # type: ignore[no-untyped-def]
    """What the enterprises app's listeners were told (instead of the policy matcher)."""
    seen: list[list[int]] = []
    monkeypatch.setattr(hooks, "_listeners", [seen.append])
    return seen


@pytest.fixture(autouse=True)
def _credit_facts():  # type: ignore[no-untyped-def]
    """This app's facts (a unit-test module may have replaced them in this process)."""
    from yingshang.supervision.apps import register_facts

    register_facts()


def black(c: County, ent: Enterprise | None = None, **kw: Any) -> CreditListEntry:
    args: dict[str, Any] = {"actor": c.dispatcher, "enterprise": ent or c.ent_a, "kind": "black",
                            "reason": "严重失信主体", "source": "瑞金市市场监督管理局",
                            "listed_on": DAY - dt.timedelta(days=30), "expires_on": dt.date(2029, 1, 31),
                            "document_number": "瑞市监信〔2026〕3号"}
    args.update(kw)
    return services.credit_list_add(**args)


def as_csv(rows: list[list[Any]], encoding: str = "utf-8") -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode(encoding)


def upload(data: bytes, name: str = "credit.csv") -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def as_xlsx(rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --- services -----------------------------------------------------------------------------------------


def test_add_writes_audit_and_tells_the_listeners(county: County, spring, changed) -> None:  # type: ignore[no-untyped-def]
    c = county
    e = black(c)
    assert e.is_active(DAY) and e.created_by == c.dispatcher
    assert changed == [[c.ent_a.pk]]
    rec = AuditRecord.objects.get(action="credit.add", object_id=str(e.pk))
    assert rec.actor == c.dispatcher and rec.after["kind"] == "black" and rec.after["reason"] == "严重失信主体"
    assert c.ent_a.name in rec.object_repr
    assert selectors.is_black_listed(c.ent_a.pk) and not selectors.is_black_listed(c.ent_b.pk)
    assert selectors.active_ids("black") == {c.ent_a.pk} and selectors.active_ids("red") == set()
    # an inspector may list too; another reason is another entry
    red = services.credit_list_add(actor=c.inspector, enterprise=c.ent_b, kind="red", reason="A级纳税人",
                                   source="国家税务总局瑞金市税务局", listed_on=DAY)
    assert red.expires_on is None and selectors.is_red_listed(c.ent_b.pk)
    assert changed[-1] == [c.ent_b.pk]


def test_duplicates_and_bad_input_change_nothing(county: County, spring, changed) -> None:  # type: ignore[no-untyped-def]
    c = county
    black(c)
    audits = AuditRecord.objects.count()
    with pytest.raises(Conflict) as e:
        black(c, source="信用中国", document_number="")
    assert e.value.field == "reason"
    with pytest.raises(ValidationFailed) as e:
        black(c, reason="失信被执行人", expires_on=DAY - dt.timedelta(days=30))
    assert e.value.field == "expires_on"
    with pytest.raises(ValidationFailed) as e:
        black(c, reason="失信被执行人", expires_on=DAY)  # would already have expired
    assert e.value.field == "expires_on"
    with pytest.raises(ValidationFailed) as e:
        black(c, reason="失信被执行人", listed_on=DAY + dt.timedelta(days=1))
    assert e.value.field == "listed_on"
    for field, kw in (("kind", {"kind": "grey"}), ("reason", {"reason": "  "}), ("source", {"source": ""}),
                      ("listed_on", {"listed_on": None})):
        with pytest.raises(ValidationFailed) as e:
            black(c, **{"reason": "失信被执行人", **kw})
        assert e.value.field == field
    with pytest.raises(NotPermitted):
        black(c, actor=c.handler_a, reason="失信被执行人")
    with pytest.raises(NotPermitted):
        black(c, actor=c.ent_user_a, reason="失信被执行人")
    assert CreditListEntry.objects.count() == 1 and AuditRecord.objects.count() == audits
    assert len(changed) == 1


def test_credit_repair_and_removing_twice(county: County, spring, changed) -> None:  # type: ignore[no-untyped-def]
    c = county
    e = black(c)
    with pytest.raises(ValidationFailed) as err:
        services.credit_list_remove(actor=c.dispatcher, entry=e, reason=" ")
    assert err.value.field == "reason"
    with pytest.raises(NotPermitted):
        services.credit_list_remove(actor=c.handler_b, entry=e, reason="已整改")
    assert not CreditListEntry.objects.get(pk=e.pk).is_removed
    done = services.credit_list_remove(actor=c.dispatcher, entry=e, reason="已纠正失信行为，准予信用修复")
    assert (done.removal, done.removed_by, done.removal_reason) == ("repair", c.dispatcher, "已纠正失信行为，准予信用修复")
    assert not selectors.is_black_listed(c.ent_a.pk)
    assert changed == [[c.ent_a.pk], [c.ent_a.pk]]
    rec = AuditRecord.objects.get(action="credit.remove", object_id=str(e.pk))
    assert rec.before["removed_at"] is None and rec.after["removal"] == "repair"
    with pytest.raises(Conflict):
        services.credit_list_remove(actor=c.dispatcher, entry=e, reason="再次移出")
    assert AuditRecord.objects.filter(action="credit.remove").count() == 1
    # the same reason can be listed again once the first entry is off the list
    again = black(c)
    assert again.pk != e.pk and selectors.is_black_listed(c.ent_a.pk)
    red = services.credit_list_add(actor=c.dispatcher, enterprise=c.ent_b, kind="red", reason="守合同重信用企业",
                                   source="瑞金市市场监督管理局", listed_on=DAY)
    assert services.credit_list_remove(actor=c.inspector, entry=red, reason="发生违约行为").removal == "revoked"


def test_expiry(county: County, changed) -> None:  # type: ignore[no-untyped-def]
    c = county
    end = DAY + dt.timedelta(days=10)
    with at(DAY):
        e = black(c, expires_on=end)
        black(c, enterprise=c.ent_b, reason="失信被执行人", expires_on=None)
        assert services.credit_lists_expire() == 0
    changed.clear()
    with at(end - dt.timedelta(days=1), hour=23):
        assert selectors.is_black_listed(c.ent_a.pk)
        assert services.credit_lists_expire() == 0
    with at(end, hour=0):
        # inactive from its end date on, before any sweep
        assert not selectors.is_black_listed(c.ent_a.pk) and selectors.active_ids("black") == {c.ent_b.pk}
        with pytest.raises(Conflict):
            services.credit_list_remove(actor=c.dispatcher, entry=e, reason="信用修复")
        assert services.credit_lists_expire() == 1
        assert services.credit_lists_expire() == 0  # idempotent
    e.refresh_from_db()
    assert (e.removal, e.removal_reason, e.removed_by) == ("expired", "到期", None)
    assert changed == [[c.ent_a.pk]]
    rec = AuditRecord.objects.get(action="credit.expire", object_id=str(e.pk))
    assert rec.actor is None and rec.after["removal"] == "expired"
    # an entry whose end date passed before the sweep ran neither blocks a new listing nor is lost
    with at(end):
        e2 = black(c, listed_on=end, expires_on=end + dt.timedelta(days=5))
    with at(end + dt.timedelta(days=6)):
        e3 = black(c, listed_on=end + dt.timedelta(days=6), expires_on=None)
    e2.refresh_from_db()
    assert e2.removal == "expired" and e3.is_active(end + dt.timedelta(days=6))


def test_expiry_is_the_periodic_job() -> None:
    from yingshang.core import periodic

    job = periodic.JOBS["supervision.credit_expire"]
    assert job.every == 86400 and job.fn is services.credit_lists_expire


# --- import -------------------------------------------------------------------------------------------


def test_import_good_file_then_again(county: County, spring, changed) -> None:  # type: ignore[no-untyped-def]
    c = county
    rows = [HEAD,
            [c.ent_a.uscc, "黑", "严重失信主体", "瑞金市市场监督管理局", "2026-01-15", "2029/1/15", "瑞市监信〔2026〕3号"],
            [],
            [c.ent_b.uscc.lower(), "红名单", "A级纳税人", "国家税务总局瑞金市税务局", "2025年4月20日", "", ""]]
    res = services.credit_list_import(actor=c.dispatcher, data=as_csv(rows, "gbk"))
    assert (res.rows, res.created, res.unchanged) == (2, 2, 0)
    a = CreditListEntry.objects.get(enterprise=c.ent_a)
    assert (a.kind, a.listed_on, a.expires_on, a.document_number) == ("black", dt.date(2026, 1, 15),
                                                                      dt.date(2029, 1, 15), "瑞市监信〔2026〕3号")
    b = CreditListEntry.objects.get(enterprise=c.ent_b)
    assert (b.kind, b.listed_on, b.expires_on) == ("red", dt.date(2025, 4, 20), None)
    assert AuditRecord.objects.filter(action="credit.add").count() == 2
    assert changed == [[c.ent_a.pk, c.ent_b.pk]]
    again = services.credit_list_import(actor=c.dispatcher, data=as_csv(rows))
    assert (again.created, again.unchanged) == (0, 2) and CreditListEntry.objects.count() == 2


def test_import_xlsx_with_date_cells(county: County, spring) -> None:  # type: ignore[no-untyped-def]
    c = county
    data = as_xlsx([HEAD, [c.ent_a.uscc, "black", "失信被执行人", "瑞金市人民法院", dt.datetime(2026, 2, 1), None,
                           "（2026）赣0781执12号"]])
    res = services.credit_list_import(actor=c.inspector, data=data)
    assert res.created == 1
    assert CreditListEntry.objects.get().listed_on == dt.date(2026, 2, 1)


def test_a_file_with_bad_rows_changes_nothing(county: County, spring, changed) -> None:  # type: ignore[no-untyped-def]
    c = county
    black(c, enterprise=c.ent_b)  # ent_b: 严重失信主体, live
    changed.clear()
    audits = AuditRecord.objects.count()
    rows = [HEAD,
            [c.ent_a.uscc, "黑", "失信被执行人", "瑞金市人民法院", "2026-01-15", "", ""],  # 2: fine
            [c.ent_a.uscc, "灰", "失信被执行人", "瑞金市人民法院", "2026-01-15", "", ""],  # 3: kind
            [make_uscc(99), "黑", "严重失信主体", "瑞金市市场监督管理局", "2026-01-15", "", ""],  # 4: unknown code
            ["91360781ABCDEFGH12", "黑", "严重失信主体", "瑞金市市场监督管理局", "2026-01-15", "", ""],  # 5: bad code
            [c.ent_a.uscc, "红", "A级纳税人", "税务局", "2026-13-01", "", ""],  # 6: date
            [c.ent_a.uscc, "红", "诚信示范企业", "发改委", "2026-01-15", "2026-01-01", ""],  # 7: expiry before listing
            [c.ent_a.uscc, "黑", "失信被执行人", "瑞金市人民法院", "2026-01-20", "", ""],  # 8: repeats row 2
            [c.ent_b.uscc, "黑", "严重失信主体", "信用中国", "2026-02-01", "", ""],  # 9: a different live entry
            [c.ent_b.uscc, "红", "", "税务局", "2026-01-15", "", ""]]  # 10: no reason
    with pytest.raises(services.ImportRejected) as e:
        services.credit_list_import(actor=c.dispatcher, data=as_csv(rows))
    got = [(p.row, p.field) for p in e.value.problems]
    assert got == [(3, "kind"), (4, "uscc"), (5, "uscc"), (6, "listed_on"), (7, "expires_on"), (8, "reason"),
                   (9, "reason"), (10, "reason")]
    assert "第 3 行" in e.value.message and e.value.field == "file"
    assert "与第 2 行重复" in e.value.problems[5].message
    assert CreditListEntry.objects.count() == 1 and AuditRecord.objects.count() == audits and changed == []
    with pytest.raises(ValidationFailed) as e2:
        services.credit_list_import(actor=c.dispatcher, data=as_csv([["统一社会信用代码", "名单类型"], [c.ent_a.uscc, "黑"]]))
    assert e2.value.field == "file" and "认定原因" in e2.value.message
    with pytest.raises(ValidationFailed):
        services.credit_list_import(actor=c.dispatcher, data=b"")
    with pytest.raises(NotPermitted):
        services.credit_list_import(actor=c.handler_a, data=as_csv(rows[:2]))


# --- the rule engine's facts ------------------------------------------------------------------------------


def _entry(ent: Enterprise, kind: str, listed_on: dt.date, expires_on: dt.date | None = None,
           removed: bool = False, reason: str = "严重失信主体") -> CreditListEntry:
    """Rows as another system may hold them (the services refuse future and already expired dates)."""
    from django.utils import timezone

    return CreditListEntry.objects.create(
        enterprise=ent, kind=kind, reason=reason, source="信用中国", listed_on=listed_on, expires_on=expires_on,
        removed_at=timezone.now() if removed else None, removal="repair" if removed else "")


def _more(c: County, n: int) -> list[Enterprise]:
    return [Enterprise.objects.create(uscc=make_uscc(500 + i), name=f"信用测试企业{i}", kind="company",
                                      industry_code="1711", region=c.town_a) for i in range(n)]


def test_black_list_fact_is_true_exactly_for_active_black_entries(county: County, spring) -> None:  # type: ignore[no-untyped-def]
    from yingshang.policies.rules import fields as F

    c = county
    ents = _more(c, 6)
    _entry(c.ent_a, "black", DAY - dt.timedelta(days=100), DAY + dt.timedelta(days=1))  # active, ends tomorrow
    _entry(ents[0], "black", DAY, None)  # active from today
    _entry(ents[1], "black", DAY + dt.timedelta(days=1))  # not yet
    _entry(ents[2], "black", DAY - dt.timedelta(days=100), DAY)  # ended today
    _entry(ents[3], "black", DAY - dt.timedelta(days=100), removed=True)  # repaired
    _entry(ents[4], "red", DAY - dt.timedelta(days=100), reason="A级纳税人")  # the other list
    ids = np.array([e.pk for e in [c.ent_a, c.ent_b, *ents]], dtype=np.int64)
    fact, param = F.fact_for("credit.black_list")  # type: ignore[misc]
    assert fact.field.actionable and fact.default is False
    assert fact.loader(ids, param) == {c.ent_a.pk: True, ents[0].pk: True}
    assert F.fact_for("credit.red_list")[0].loader(ids, None) == {ents[4].pk: True}  # type: ignore[index]
    assert selectors.active_ids("black", ids.tolist(), day=DAY + dt.timedelta(days=1)) == {ents[0].pk, ents[1].pk}
    assert selectors.active_ids("black", [ents[2].pk], day=DAY - dt.timedelta(days=1)) == {ents[2].pk}
    # a registry-sized request: one query, whatever the number of ids
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    many = np.concatenate([ids, np.arange(10_000_000, 10_020_000, dtype=np.int64)])
    with CaptureQueriesContext(connection) as ctx:
        found = fact.loader(many, None)
    assert found == {c.ent_a.pk: True, ents[0].pk: True} and len(ctx.captured_queries) == 1


def test_rule_engine_validates_and_evaluates_the_fact(county: County, spring) -> None:  # type: ignore[no-untyped-def]
    from yingshang.policies import rules as R

    c = county
    rule = {"!": {"var": "credit.black_list"}}
    assert R.validate(rule) == []
    assert R.describe(rule) == "不在信用黑名单"
    assert R.validate({"var": "credit.red_list"}) == []
    black(c)
    cols = R.load_columns(2026, [c.ent_a.pk, c.ent_b.pk])
    out = R.evaluate_columns(rule, cols)
    assert {int(i) for i in cols.ids[out.true]} == {c.ent_b.pk} and not out.unknown.any()
    assert R.evaluate_one(rule, cols.facts_for(c.ent_a.pk)) is R.Tri.FALSE
    assert R.evaluate_one(rule, cols.facts_for(c.ent_b.pk)) is R.Tri.TRUE
    assert "credit.black_list" in {f["key"] for f in R.catalogue()}


def test_black_listing_takes_a_benefit_away_and_repair_gives_it_back(county: County, monkeypatch,  # type: ignore[no-untyped-def]
                                                                    django_capture_on_commit_callbacks) -> None:
    """Through the enterprises' hook, after commit, the policy matcher re-checks the enterprise."""
    from types import SimpleNamespace

    from tests.integration.test_policies_services import RULE, published_item

    from yingshang.policies import matching, tasks
    from yingshang.policies.apps import register_facts
    from yingshang.policies.models import Match

    register_facts()
    matching.drop_registry_cache()
    ran: list[list[int]] = []

    def enqueue(**kw: Any) -> None:
        ran.append(kw["enterprise_ids"])
        tasks.rematch_enterprises_task.call(**kw)

    monkeypatch.setattr(tasks, "rematch_enterprises_task",
                        SimpleNamespace(enqueue=enqueue, call=tasks.rematch_enterprises_task.call))
    c = county
    with at(DAY):
        item = published_item(c, code="XY-01", mode="auto_grant",
                              rule={"and": [RULE, {"!": {"var": "credit.black_list"}}]})
        matching.match_all()
        assert Match.objects.filter(item=item, enterprise=c.ent_a).exists()
        with django_capture_on_commit_callbacks(execute=True):
            e = black(c)
        assert ran == [[c.ent_a.pk]]
        assert not Match.objects.filter(item=item, enterprise=c.ent_a).exists()
        with django_capture_on_commit_callbacks(execute=True):
            services.credit_list_remove(actor=c.dispatcher, entry=e, reason="已纠正失信行为，准予信用修复")
        assert Match.objects.filter(item=item, enterprise=c.ent_a).exists()


# --- from outside: API ------------------------------------------------------------------------------------


def _client(user: Any = None) -> Client:
    cl = Client()
    if user is not None:
        cl.force_login(user)
    return cl


def test_api_add_list_remove(county: County, spring) -> None:  # type: ignore[no-untyped-def]
    c = county
    office = _client(c.dispatcher)
    body = {"enterprise_uscc": c.ent_a.uscc, "kind": "black", "reason": "严重失信主体", "source": "瑞金市市场监督管理局",
            "listed_on": "2026-02-01", "expires_on": "2029-02-01", "document_number": "瑞市监信〔2026〕3号"}
    r = office.post("/api/v1/credit/entries", body, content_type="application/json")
    assert r.status_code == 201, r.content
    entry = r.json()
    assert entry["active"] is True and entry["kind_label"] == "黑名单" and entry["enterprise_name"] == c.ent_a.name
    for bad, field, status in (({"kind": "grey"}, "kind", 400), ({"expires_on": "2026-01-01"}, "expires_on", 400),
                               ({"enterprise_uscc": make_uscc(77)}, "enterprise_uscc", 400),
                               ({"listed_on": "2026-02-30"}, "listed_on", 400), ({}, "reason", 409)):
        r = office.post("/api/v1/credit/entries", {**body, **bad}, content_type="application/json")
        assert (r.status_code, r.json()["field"]) == (status, field), r.content
        assert r.json()["message"] and r.json()["message_en"]
    assert CreditListEntry.objects.count() == 1
    r = office.post("/api/v1/credit/entries", {**body, "enterprise_uscc": c.ent_b.uscc, "kind": "red",
                                               "reason": "A级纳税人", "expires_on": None},
                    content_type="application/json")
    assert r.status_code == 201
    assert [e["kind"] for e in office.get("/api/v1/credit/entries").json()] == ["red", "black"]  # newest first
    listed = office.get("/api/v1/credit/entries", {"kind": "black", "active": "true"}).json()
    assert [e["id"] for e in listed] == [entry["id"]]
    assert office.get("/api/v1/credit/entries", {"enterprise_uscc": c.ent_b.uscc}).json()[0]["reason"] == "A级纳税人"
    assert office.get("/api/v1/credit/entries", {"kind": "purple"}).status_code == 400
    url = f"/api/v1/credit/entries/{entry['id']}/remove"
    assert office.post(url, {"reason": ""}, content_type="application/json").json()["field"] == "reason"
    r = office.post(url, {"reason": "已纠正失信行为，准予信用修复"}, content_type="application/json")
    assert r.status_code == 200 and r.json()["removal"] == "repair" and r.json()["active"] is False
    again = office.post(url, {"reason": "再次"}, content_type="application/json")
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    assert office.get("/api/v1/credit/entries", {"kind": "black", "active": "false"}).json()[0]["id"] == entry["id"]
    assert office.post("/api/v1/credit/entries/999999/remove", {"reason": "x"},
                       content_type="application/json").status_code == 404


def test_api_import_reports_rows(county: County, spring) -> None:  # type: ignore[no-untyped-def]
    c = county
    office = _client(c.inspector)
    good = [HEAD, [c.ent_a.uscc, "黑", "失信被执行人", "瑞金市人民法院", "2026-01-15", "", "（2026）赣0781执5号"]]
    bad = good + [[c.ent_b.uscc, "黑", "失信被执行人", "瑞金市人民法院", "2026-01-15", "明年", ""]]
    r = office.post("/api/v1/credit/import", {"file": upload(as_csv(bad))})
    assert r.status_code == 400
    assert r.json()["field"] == "file" and r.json()["rows"] == [
        {"row": 3, "field": "expires_on", "value": "明年", "message": "日期格式应为 2025-01-31",
         "message_en": "a date must look like 2025-01-31"}]
    assert CreditListEntry.objects.count() == 0
    r = office.post("/api/v1/credit/import", {"file": upload(as_csv(good))})
    assert r.status_code == 200 and r.json() == {"rows": 1, "created": 1, "unchanged": 0}
    assert _client(c.handler_a).post("/api/v1/credit/import",
                                     {"file": upload(as_csv(good))}).status_code == 403


def test_api_permissions(county: County, spring) -> None:  # type: ignore[no-untyped-def]
    c = county
    a = black(c)
    services.credit_list_add(actor=c.dispatcher, enterprise=c.ent_b, kind="red", reason="A级纳税人", source="税务局",
                             listed_on=DAY)
    handler = _client(c.handler_a)
    assert len(handler.get("/api/v1/credit/entries").json()) == 2  # a department may look
    body = {"enterprise_uscc": c.ent_b.uscc, "kind": "black", "reason": "失信被执行人", "source": "法院",
            "listed_on": "2026-02-01"}
    assert handler.post("/api/v1/credit/entries", body, content_type="application/json").status_code == 403
    assert handler.post(f"/api/v1/credit/entries/{a.pk}/remove", {"reason": "x"},
                        content_type="application/json").status_code == 403
    own = _client(c.ent_user_a).get("/api/v1/credit/entries").json()
    assert [e["id"] for e in own] == [a.pk]  # an enterprise sees its own entries only
    assert _client(c.ent_user_a).get("/api/v1/credit/entries", {"enterprise_uscc": c.ent_b.uscc}).json() == []
    assert _client(c.ent_user_a).post("/api/v1/credit/entries", body,
                                      content_type="application/json").status_code == 403
    assert _client(c.auditor).get("/api/v1/credit/entries").status_code == 403
    assert _client().get("/api/v1/credit/entries").status_code == 401
    assert _client().post("/api/v1/credit/entries", body, content_type="application/json").status_code == 401
    assert CreditListEntry.objects.count() == 2 and not CreditListEntry.objects.filter(removed_at__isnull=False)


# --- from outside: pages ----------------------------------------------------------------------------------


def test_page_for_the_office(county: County, spring) -> None:  # type: ignore[no-untyped-def]
    c = county
    office = _client(c.dispatcher)
    page = office.get("/supervision/credit/").content.decode()
    assert "credit-add-form" in page and "credit-import-form" in page and "没有名单记录" in page
    form = {"uscc": c.ent_a.uscc, "kind": "black", "reason": "严重失信主体", "source": "瑞金市市场监督管理局",
            "listed_on": "2026-02-01", "expires_on": "2029-02-01", "document_number": "",
            "back": "/supervision/credit/?kind=black"}
    r = office.post("/supervision/credit/add/", form)
    assert r.status_code == 302 and r["Location"] == "/supervision/credit/?kind=black"
    entry = CreditListEntry.objects.get()
    r = office.post("/supervision/credit/add/", form)  # the same again: refused, the form kept
    assert r.status_code == 409 and "add-error" in r.content.decode() and 'value="严重失信主体"' in r.content.decode()
    r = office.post("/supervision/credit/add/", {**form, "uscc": make_uscc(88), "reason": "失信被执行人"})
    assert r.status_code == 400 and CreditListEntry.objects.count() == 1
    # no redirect off the site
    r = office.post("/supervision/credit/add/", {**form, "uscc": c.ent_b.uscc, "back": "https://evil.example/"})
    assert r.status_code == 302 and r["Location"] == "/supervision/credit/"
    assert CreditListEntry.objects.count() == 2
    page = office.get("/supervision/credit/", {"q": c.ent_a.uscc}).content.decode()
    assert f'id="entry-{entry.pk}"' in page and "信用修复" in page and 'class="responsive"' in page
    assert "data-label=" in page
    assert f'id="entry-{entry.pk}"' not in office.get("/supervision/credit/", {"kind": "red"}).content.decode()
    assert f'id="entry-{entry.pk}"' not in office.get("/supervision/credit/", {"active": "0"}).content.decode()
    r = office.post(f"/supervision/credit/{entry.pk}/remove/", {"reason": "已纠正失信行为，准予信用修复"})
    assert r.status_code == 302
    entry.refresh_from_db()
    assert entry.removal == "repair"
    page = office.get("/supervision/credit/", {"active": "0"}).content.decode()
    assert f'id="entry-{entry.pk}"' in page and "已纠正失信行为" in page
    # import: a bad file shows every bad row and imports nothing
    bad = as_csv([HEAD, [c.ent_b.uscc, "红", "A级纳税人", "税务局", "2026-01-15", "", ""],
                  [c.ent_b.uscc, "蓝", "诚信示范企业", "发改委", "2026-01-15", "", ""]])
    r = office.post("/supervision/credit/import/", {"file": upload(bad)})
    html = r.content.decode()
    assert r.status_code == 400 and "import-problems" in html and re.search(r">3</td>", html)
    assert CreditListEntry.objects.count() == 2
    good = as_csv([HEAD, [c.ent_b.uscc, "红", "A级纳税人", "税务局", "2026-01-15", "", ""]])
    assert office.post("/supervision/credit/import/", {"file": upload(good)}).status_code == 302
    assert CreditListEntry.objects.filter(enterprise=c.ent_b, kind="red").exists()
    assert office.get("/supervision/credit/import/template.xlsx").status_code == 200


def test_page_permissions(county: County, spring) -> None:  # type: ignore[no-untyped-def]
    c = county
    a = black(c)
    services.credit_list_add(actor=c.dispatcher, enterprise=c.ent_b, kind="red", reason="A级纳税人", source="税务局",
                             listed_on=DAY)
    handler = _client(c.handler_b)
    page = handler.get("/supervision/credit/").content.decode()
    assert c.ent_a.name in page and c.ent_b.name in page and "credit-add-form" not in page and "确认移出" not in page
    assert handler.post("/supervision/credit/add/", {"uscc": c.ent_b.uscc, "kind": "black", "reason": "x",
                                                     "source": "y", "listed_on": "2026-02-01"}).status_code == 403
    assert handler.post(f"/supervision/credit/{a.pk}/remove/", {"reason": "x"}).status_code == 403
    assert handler.post("/supervision/credit/import/", {"file": upload(b"x")}).status_code == 403
    assert CreditListEntry.objects.count() == 2 and not CreditListEntry.objects.get(pk=a.pk).is_removed
    own = _client(c.ent_user_b).get("/supervision/credit/").content.decode()
    assert "A级纳税人" in own and "严重失信主体" not in own and "credit-add-form" not in own
    assert _client(c.ent_user_b).post(f"/supervision/credit/{a.pk}/remove/", {"reason": "x"}).status_code == 403
    assert _client(c.auditor).get("/supervision/credit/").status_code == 403
    anon = _client().get("/supervision/credit/")
    assert anon.status_code == 302 and "login" in anon["Location"]


def test_enterprise_page_shows_active_entries(county: County, spring) -> None:  # type: ignore[no-untyped-def]
    c = county
    black(c)
    url = f"/enterprises/{c.ent_a.pk}/"
    for user in (c.dispatcher, c.handler_a, c.ent_user_a):
        html = _client(user).get(url).content.decode()
        assert 'id="enterprise-credit"' in html and "严重失信主体" in html and "信用修复" in html
    html = _client(c.dispatcher).get(f"/enterprises/{c.ent_b.pk}/").content.decode()
    assert 'id="credit-none"' in html


def test_list_page_query_count_is_constant(county: County, spring, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    c = county
    office = _client(c.dispatcher)
    black(c)
    office.get("/supervision/credit/")
    with CaptureQueriesContext(connection) as ctx:
        office.get("/supervision/credit/")
    one = len(ctx.captured_queries)
    for e in _more(c, 30):
        services.credit_list_add(actor=c.dispatcher, enterprise=e, kind="red", reason="A级纳税人", source="税务局",
                                 listed_on=DAY)
    CreditListEntry.objects.filter(pk__in=CreditListEntry.objects.filter(kind="red").values("pk")[:3]).update(
        removed_at=dt.datetime(2026, 3, 1, tzinfo=TZ), removed_by=c.dispatcher, removal="revoked", removal_reason="x")
    with django_assert_max_num_queries(one):
        r = office.get("/supervision/credit/")
    assert r.status_code == 200 and r.content.decode().count('id="entry-') == 25
    assert one <= 15


# --- CLI and demo -----------------------------------------------------------------------------------------


def _cli(*args: str) -> Any:
    out = io.StringIO()
    call_command("credit", *args, stdout=out)
    return json.loads(out.getvalue())


def test_cli(county: County, spring, tmp_path) -> None:  # type: ignore[no-untyped-def]
    c = county
    added = _cli("add", c.ent_a.uscc, "--kind", "black", "--reason", "失信被执行人", "--source", "瑞金市人民法院",
                 "--listed-on", "2026-02-01")
    assert added["kind"] == "black" and added["active"] is True and added["expires_on"] is None
    assert AuditRecord.objects.get(action="credit.add").actor == c.dispatcher
    with pytest.raises(CommandError, match="不能重复列入"):
        _cli("add", c.ent_a.uscc, "--kind", "black", "--reason", "失信被执行人", "--source", "法院")
    with pytest.raises(CommandError):
        _cli("add", c.ent_a.uscc, "--kind", "black", "--reason", "x", "--source", "y", "--as", "handler_a")
    f = tmp_path / "credit.csv"
    f.write_bytes(as_csv([HEAD, [c.ent_b.uscc, "红", "A级纳税人", "税务局", "2025-04-20", "2026-04-20", ""],
                          [c.ent_b.uscc, "黑", "严重失信主体", "", "2026-01-01", "", ""]]))
    with pytest.raises(CommandError) as e:
        _cli("import", str(f))
    assert "第 3 行" in str(e.value) and CreditListEntry.objects.count() == 1
    f.write_bytes(as_csv([HEAD, [c.ent_b.uscc, "红", "A级纳税人", "税务局", "2025-04-20", "2026-04-20", ""]]))
    assert _cli("import", str(f), "--as", "inspector") == {"rows": 1, "created": 1, "unchanged": 0}
    assert {e["uscc"] for e in _cli("list", "--active")} == {c.ent_a.uscc, c.ent_b.uscc}
    assert [e["kind"] for e in _cli("list", "--kind", "red")] == ["red"]
    assert _cli("remove", str(added["id"]), "--reason", "已履行义务")["removal"] == "repair"
    assert [e["uscc"] for e in _cli("list", "--inactive")] == [c.ent_a.uscc]
    assert _cli("expire", "--day", "2026-04-20") == {"expired": 1}
    assert _cli("list", "--active") == []


def test_demo_seed(county: County, spring) -> None:  # type: ignore[no-untyped-def]
    from yingshang.supervision.demo import seed_credit

    c = county
    ents = _more(c, 400)
    counts = seed_credit(random.Random(7), ents, today=DAY)
    assert counts["entries"] == 2 + 4
    assert CreditListEntry.objects.filter(kind="black").count() == 2
    assert CreditListEntry.objects.filter(kind="red").count() == 4
    assert counts["black"] + counts["red"] + counts["removed"] == counts["entries"]
    assert counts["black"] == len(selectors.active_ids("black", day=DAY))
    assert AuditRecord.objects.filter(action="credit.add").count() == 6
    # a larger run has some history and realistic rows
    counts = seed_credit(random.Random(8), _more_many(c, 2000), today=DAY, black_share=0.02, red_share=0.03)
    assert counts["removed"] > 0
    for e in CreditListEntry.objects.all():
        assert e.listed_on <= DAY and (e.expires_on is None or e.expires_on > e.listed_on)
        assert (e.removed_at is None) == (e.removal == "")
        assert e.source and e.reason


def _more_many(c: County, n: int) -> list[Enterprise]:
    Enterprise.objects.bulk_create([Enterprise(uscc=make_uscc(5000 + i), name=f"批量企业{i}", kind="company",
                                               industry_code="1711", region=c.town_b) for i in range(n)])
    return list(Enterprise.objects.filter(name__startswith="批量企业"))


def test_the_menu_links_the_credit_lists_for_government_staff_only(county: County) -> None:
    from tests.conftest import PASSWORD

    for user, shown in ((county.dispatcher, True), (county.handler_b, True), (county.leader, True),
                        (county.ent_user_a, False), (county.auditor, False)):
        c = Client()
        c.login(username=user.username, password=PASSWORD)
        assert ('href="/supervision/credit/"' in c.get("/").content.decode()) is shown, user.username
