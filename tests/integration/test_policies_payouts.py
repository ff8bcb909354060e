"""Cash-out and the payout ledger: the 免申即享 flow from matches to a paid batch, the bank file out and
its confirmations in (paid / failed, failed retried, idempotent re-import, bad files refused whole),
totals that reconcile with the rows, and — with real threads — never two live payouts for one
enterprise, item and period and never over budget."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import IntegrityError, connection, transaction
from tests.integration import test_policies_services as svc
from tests.integration.test_policies_services import (
    add_company,
    at,
    materials_for,
    published_item,
)

from yingshang.core.errors import Conflict, NotPermitted, ValidationFailed
from yingshang.core.models import Notification
from yingshang.policies import matching, payouts, selectors, services
from yingshang.policies.models import Payout, PayoutBatch, PayoutEvent, PayoutList

# fixtures shared with the services tests
_policy_facts = svc._policy_facts

P = Payout.Status


def enterprise_user(ent, username: str):  # type: ignore[no-untyped-def]
    from tests.conftest import PASSWORD

    from yingshang.core.services import user_create

    return user_create(actor=None, username=username, password=PASSWORD, role="enterprise", enterprise=ent)


def account(c, ent, no: str = "6222020012345678"):  # type: ignore[no-untyped-def]
    return services.payee_account_set(actor=c.dispatcher, enterprise=ent, account_name=ent.name, account_no=no,
                                      bank_name="中国工商银行瑞金支行")


def confirmation(rows: list[tuple[str, ...]], header=("兑现编号", "结果", "银行流水号", "失败原因"),  # type: ignore[no-untyped-def]
                 encoding: str = "utf-8") -> bytes:
    lines = [",".join(header)] + [",".join(r) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def instant_payouts(c, n: int = 3, **item_kw) -> tuple[object, list[Payout]]:  # type: ignore[no-untyped-def]
    """An instant item and ``n`` approved applications (ent_a and further companies), their payouts."""
    item = published_item(c, code=item_kw.pop("code", "JS-01"), mode="instant", **item_kw)
    people = [(c.ent_a, c.ent_user_a)]
    for i in range(1, n):
        ent = add_company(c, 10 + i, revenue=str(4000 * i))
        people.append((ent, enterprise_user(ent, f"boss{i}")))
    out = []
    for ent, user in people:
        app = services.application_apply(actor=user, item=item, contact_name="经办人", contact_phone="139",
                                          materials=materials_for(item, user))
        out.append(Payout.objects.get(application=app))
        account(c, ent, f"62220200{ent.pk:08d}")
    return item, out


# --------------------------------------------------------------------------------------------- 免申即享


def test_auto_grant_flow_from_matches_to_a_paid_batch(county):
    c = county
    with at(2026, 3, 2):
        ent_c = add_company(c, 1, revenue="8000")
        ent_d = add_company(c, 2, revenue="4000")
        item = published_item(c, code="MS-01", mode="auto_grant", budget_fen=100_000_000)
        matching.match_all()
        with pytest.raises(NotPermitted):  # another department
            services.payout_list_propose(actor=c.handler_b, item=item)
        with pytest.raises(NotPermitted):
            services.payout_list_propose(actor=c.ent_user_a, item=item)
        plist = services.payout_list_propose(actor=c.handler_a, item=item)
        entries = {e.enterprise_id: e for e in plist.entries.all()}
        assert {k: e.amount_fen for k, e in entries.items()} == {c.ent_a.pk: 2_500_000, ent_c.pk: 800_000,
                                                                 ent_d.pk: 400_000}
        assert {e.rule_version_id for e in entries.values()} == {item.rule_id} == {plist.rule_version_id}
        again = services.payout_list_propose(actor=c.dispatcher, item=item)  # nobody new for the period
        assert again.entries.count() == 0
        services.payout_list_cancel(actor=c.dispatcher, payout_list=again, reason="重复生成")
        # department review
        with pytest.raises(NotPermitted):  # a handler cannot review: the head does
            services.payout_list_exclude(actor=c.handler_a, entry=entries[ent_d.pk], reason="x")
        with pytest.raises(ValidationFailed):
            services.payout_list_exclude(actor=c.head_a, entry=entries[ent_d.pk], reason="")
        services.payout_list_exclude(actor=c.head_a, entry=entries[ent_d.pk], reason="已享受同类政策")
        with pytest.raises(Conflict):  # not reviewed yet
            services.payout_list_publish(actor=c.dispatcher, payout_list=plist)
        assert not Payout.objects.exists()
        services.payout_list_review_complete(actor=c.head_a, payout_list=plist)
        plist = services.payout_list_publish(actor=c.dispatcher, payout_list=plist)
        assert plist.status == PayoutList.Status.NOTICE and plist.notice_end == dt.date(2026, 3, 9)
        pays = {p.enterprise_id: p for p in Payout.objects.filter(item=item)}
        assert {k: (p.status, p.amount_fen, p.payable_on) for k, p in pays.items()} == {
            c.ent_a.pk: ("pending", 2_500_000, dt.date(2026, 3, 10)), ent_c.pk: ("pending", 800_000, dt.date(2026, 3, 10))}
        assert services.budget_used_fen(item.pk) == 3_300_000
        assert [r["amount_fen"] for r in selectors.public_notice(payout_list=plist)] == [2_500_000, 800_000]
        assert Notification.objects.filter(recipient=c.ent_user_a, title__contains="公示").exists()
        obj = services.objection_file(actor=None, entry=entries[ent_c.pk], text="该企业已停产", filer_name="李某",
                                      filer_contact="13700000000")
        with pytest.raises(Conflict):  # an excluded entry is not on notice
            services.objection_file(actor=None, entry=entries[ent_d.pk], text="x", filer_name="李某")
    with at(2026, 3, 10):
        with pytest.raises(Conflict):  # an objection is open
            services.payout_list_finalize(actor=c.dispatcher, payout_list=plist)
        assert services.policies_sweep()["lists"] == 0
        services.objection_decide(actor=c.head_a, objection=obj, uphold=False, reason="经核实正常生产")
        assert services.policies_sweep()["lists"] == 1
        with pytest.raises(ValidationFailed):  # nobody has a payee account yet
            services.payout_batch_create(actor=c.dispatcher)
        services.payee_account_set(actor=c.ent_user_a, enterprise=c.ent_a, account_name=c.ent_a.name,
                                   account_no="6222020000000001", bank_name="中国工商银行瑞金支行")
        account(c, ent_c, "6222020000000003")
        with pytest.raises(NotPermitted):
            services.payout_batch_create(actor=c.head_a)
        batch = services.payout_batch_create(actor=c.dispatcher)
        assert batch.payouts.count() == 2 and set(batch.payouts.values_list("payee_account", flat=True)) == {
            "6222020000000001", "6222020000000003"}
        data = services.payout_batch_export(actor=c.dispatcher, batch=batch)
        assert data.startswith("\ufeff序号,兑现编号,收款户名,收款账号".encode())
        assert payouts.export_total_fen(data) == (2, 3_300_000)
        assert "25000.00" in data.decode("utf-8-sig") and "8000.00" in data.decode("utf-8-sig")
        assert services.payout_batch_export(actor=c.dispatcher, batch=batch) == data  # the same file again
        rows = [(p.number, "成功", f"BANK{p.pk:06d}", "") for p in batch.payouts.order_by("id")]
        result = services.payout_confirmations_import(actor=c.dispatcher, data=confirmation(rows))
        assert (result.paid, result.failed, result.unchanged, result.batches_closed) == (2, 0, 0, [batch.number])
    batch.refresh_from_db()
    assert batch.status == PayoutBatch.Status.CLOSED
    totals = payouts.ledger_totals(item=item)
    assert (totals["paid_fen"], totals["enterprises_paid"], totals["count"]) == (3_300_000, 2, 2)
    assert payouts.reconcile() == []
    assert Notification.objects.filter(recipient=c.ent_user_a, title="惠企资金已拨付").exists()
    kinds = list(PayoutEvent.objects.filter(payout=pays[c.ent_a.pk]).values_list("kind", flat=True))
    assert kinds == ["create", "batch", "export", "paid"]


def test_objection_upheld_takes_the_enterprise_off_and_frees_the_budget(county):
    c = county
    with at(2026, 3, 2):
        item = published_item(c, code="MS-02", mode="auto_grant", budget_fen=2_500_000)
        matching.match_all()
        plist = services.payout_list_propose(actor=c.dispatcher, item=item)
        services.payout_list_review_complete(actor=c.head_a, payout_list=plist)
        services.payout_list_publish(actor=c.dispatcher, payout_list=plist)
        assert services.budget_used_fen(item.pk) == 2_500_000
        entry = plist.entries.get()
        obj = services.objection_file(actor=c.ent_user_b, entry=entry, text="不符合条件")
        with pytest.raises(NotPermitted):
            services.objection_decide(actor=c.handler_b, objection=obj, uphold=True, reason="x")
        services.objection_decide(actor=c.head_a, objection=obj, uphold=True, reason="核实不符")
        with pytest.raises(Conflict):
            services.objection_decide(actor=c.head_a, objection=obj, uphold=False, reason="再议")
    entry.refresh_from_db()
    assert not entry.included and entry.excluded_reason.startswith("公示异议成立")
    assert Payout.objects.get(entry=entry).status == P.CANCELLED
    assert services.budget_used_fen(item.pk) == 0
    assert payouts.reconcile() == []


# --------------------------------------------------------------------------------------------- the bank


def test_bank_file_round_trip_with_failure_retry_and_idempotent_reimport(county):
    c = county
    with at(2026, 3, 2):
        item, pays = instant_payouts(c, 3)
        a, b, d = pays
        batch = services.payout_batch_create(actor=c.dispatcher)
        with pytest.raises(ValidationFailed):  # not exported yet: the bank cannot have answered
            services.payout_confirmations_import(actor=c.dispatcher, data=confirmation([(a.number, "成功", "R1", "")]))
        services.payout_batch_export(actor=c.dispatcher, batch=batch)
        good = confirmation([(a.number, "成功", "R-A", ""), (b.number, "失败", "", "账户已销户"),
                             (d.number, "支付成功", "R-D", "")])
        before = PayoutEvent.objects.count()
        for bad in (
            confirmation([(a.number, "成功", "", "")]),  # success without the bank's reference
            confirmation([(a.number, "成功", "R-A", ""), ("DX20260302NOSUCHNO", "成功", "X", "")]),
            confirmation([(a.number, "成功", "R-A", "", "1.00")], header=("兑现编号", "结果", "银行流水号", "失败原因", "金额（元）")),
            confirmation([(a.number, "也许", "R-A", "")]),
            b"\xff\xfe\x00garbage",
        ):
            with pytest.raises(ValidationFailed):
                services.payout_confirmations_import(actor=c.dispatcher, data=bad)
        assert PayoutEvent.objects.count() == before and not Payout.objects.filter(status=P.PAID).exists()
        result = services.payout_confirmations_import(actor=c.dispatcher, data=good)
        assert (result.paid, result.failed, result.unchanged) == (2, 1, 0)
        assert result.batches_closed == [batch.number]
        again = services.payout_confirmations_import(actor=c.dispatcher, data=good)  # idempotent
        assert (again.paid, again.failed, again.unchanged, again.batches_closed) == (0, 0, 3, [])
        with pytest.raises(ValidationFailed):  # the bank now claims the failed one was paid: refused whole
            services.payout_confirmations_import(actor=c.dispatcher, data=confirmation([(b.number, "成功", "R-B", "")]))
        b.refresh_from_db()
        assert (b.status, b.failure_reason) == (P.FAILED, "账户已销户")
        assert services.budget_used_fen(item.pk) == a.amount_fen + d.amount_fen  # a failed payout commits nothing
        with pytest.raises(NotPermitted):
            services.payout_retry(actor=c.head_a, payouts=[b])
        with pytest.raises(Conflict):  # only failed payouts are retried
            services.payout_retry(actor=c.dispatcher, payouts=[a])
        account(c, b.enterprise, "6222020099999999")
        (b2,) = services.payout_retry(actor=c.dispatcher, payouts=[b])
        b.refresh_from_db()
        assert b.status == P.RETRIED and b2.retry_of_id == b.pk and b2.status == P.PENDING
        assert (b2.amount_fen, b2.rule_version_id, b2.period, b2.application_id) == (
            b.amount_fen, b.rule_version_id, b.period, b.application_id)
        with pytest.raises(Conflict):
            services.payout_retry(actor=c.dispatcher, payouts=[b])
        batch2 = services.payout_batch_create(actor=c.dispatcher)
        assert list(batch2.payouts.values_list("pk", "payee_account")) == [(b2.pk, "6222020099999999")]
        data = services.payout_batch_export(actor=c.dispatcher, batch=batch2)
        assert payouts.export_total_fen(data) == (1, b2.amount_fen)
        gbk = confirmation([(b2.number, "成功", "R-B2", "")], header=("业务编号", "支付结果", "交易流水号", "备注"),
                           encoding="gbk")
        assert services.payout_confirmations_import(actor=None, data=gbk).paid == 1
    totals = payouts.ledger_totals()
    by = {t.status: (t.count, t.amount_fen) for t in totals["by_status"]}
    assert by[P.PAID] == (3, a.amount_fen + b.amount_fen + d.amount_fen) and by[P.RETRIED] == (1, b.amount_fen)
    assert totals["amount_fen"] == sum(Payout.objects.values_list("amount_fen", flat=True))
    assert totals["paid_fen"] == sum(p.amount_fen for p in Payout.objects.filter(status=P.PAID))
    assert totals["enterprises_paid"] == 3
    for bt in (batch, batch2):
        assert payouts.ledger_totals(batch=bt)["amount_fen"] == sum(bt.payouts.values_list("amount_fen", flat=True))
    assert payouts.reconcile() == []
    assert [b.status for b in PayoutBatch.objects.order_by("id")] == ["closed", "closed"]


def test_the_database_keeps_one_live_payout_per_enterprise_item_and_period(county):
    c = county
    with at(2026, 3, 2):
        item, (a,) = instant_payouts(c, 1)
    twin = dict(item=item, enterprise=c.ent_a, period="2026", amount_fen=5, rule_version=item.rule)
    with pytest.raises(IntegrityError), transaction.atomic():
        Payout.objects.create(number="DXTWIN1", **twin)
    Payout.objects.filter(pk=a.pk).update(status=P.FAILED)
    Payout.objects.create(number="DXTWIN2", **twin)  # a failed one does not count: it can be retried
    Payout.objects.filter(number="DXTWIN2").update(status=P.PAID, bank_reference="R")
    with pytest.raises(IntegrityError), transaction.atomic():  # paid + pending: never
        Payout.objects.create(number="DXTWIN3", **twin)
    Payout.objects.create(number="DXTWIN4", **{**twin, "period": "2027"})  # another period is another payout
    with pytest.raises(IntegrityError), transaction.atomic():
        Payout.objects.create(number="DXTWIN5", **{**twin, "amount_fen": 0, "period": "2028"})


def test_payout_facts_follow_the_ledger(county, django_capture_on_commit_callbacks, monkeypatch):
    """A rule may exclude enterprises already paid by an item (payouts.item.<code>); their matches
    follow the ledger."""
    c = county
    with at(2026, 3, 2):
        first = published_item(c, code="JS-01", mode="instant")
        once = published_item(c, code="JS-02", mode="auto_grant",
                              rule={"and": [{"==": [{"var": "kind"}, "company"]}, {"!": {"var": "payouts.item.JS-01"}}]})
        matching.match_all()
        assert matching.stored_pairs([once.pk])[once.pk].tolist() == [c.ent_a.pk]
        scheduled: list[list[int]] = []
        monkeypatch.setattr(matching, "rematch_on_commit", lambda ids: scheduled.append(sorted(ids)))
        services.application_apply(actor=c.ent_user_a, item=first, contact_name="王", contact_phone="139",
                                   materials=materials_for(first, c.ent_user_a))
        assert scheduled == [[c.ent_a.pk]]
        matching.rematch_enterprises(scheduled[0])
        assert once.pk not in matching.stored_pairs([once.pk])


# --------------------------------------------------------------------------------------------- concurrency


def _race(fn, args_list):  # type: ignore[no-untyped-def]
    """Run ``fn(*args)`` for each args in threads started together; the outcome of each."""
    barrier = threading.Barrier(len(args_list))
    results: list[object] = [None] * len(args_list)

    def run(i, args):  # type: ignore[no-untyped-def]
        try:
            barrier.wait()
            results[i] = fn(*args)
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test looks at
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(args_list)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _fresh_county():  # type: ignore[no-untyped-def]
    from tests.conftest import build_county

    from yingshang.policies.apps import register_facts

    register_facts()
    return build_county()


@pytest.mark.django_db(transaction=True)
def test_concurrent_applications_of_one_enterprise_pay_once():
    c = _fresh_county()
    with at(2026, 3, 2):
        item = published_item(c, code="CC-01", mode="instant")
        second = enterprise_user(c.ent_a, "ent_a_2")
        args = [(u, materials_for(item, u)) for u in (c.ent_user_a, second, c.ent_user_a, second)]

        def apply(user, mats):  # type: ignore[no-untyped-def]
            return services.application_apply(actor=user, item=item, contact_name="王", contact_phone="139",
                                              materials=mats)

        results = _race(apply, args)
    won = [r for r in results if not isinstance(r, Exception)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 1 and len(lost) == 3 and all(isinstance(r, Conflict) for r in lost), results
    assert Payout.objects.filter(enterprise=c.ent_a, item=item).count() == 1
    assert payouts.reconcile() == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_inserts_of_a_live_payout_meet_the_constraint():
    """The partial unique index on its own (no item lock): both writers saw no live payout, one wins."""
    c = _fresh_county()
    with at(2026, 3, 2):
        item = published_item(c, code="CC-02", mode="instant")
    pg = connection.vendor == "postgresql"
    barrier = threading.Barrier(2)

    def insert(n: int):  # type: ignore[no-untyped-def]
        if not pg:  # SQLite serialises whole write transactions: start them together instead
            barrier.wait()
        with transaction.atomic():
            assert not Payout.objects.filter(enterprise=c.ent_a, item=item, period="2026", status__in=Payout.LIVE).exists()
            if pg:
                barrier.wait()  # both have checked: the index decides
            return Payout.objects.create(number=f"DXRACE{n}", item=item, enterprise=c.ent_a, period="2026",
                                         amount_fen=100, rule_version=item.rule)

    results = _race(insert, [(1,), (2,)])
    assert sum(isinstance(r, Payout) for r in results) == 1, results
    if pg:
        assert sum(isinstance(r, IntegrityError) for r in results) == 1
    assert Payout.objects.filter(enterprise=c.ent_a, item=item).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_never_exceed_the_budget():
    c = _fresh_county()
    with at(2026, 3, 2):
        item = published_item(c, code="CC-03", mode="instant", budget_fen=2_500_000,
                              amount=1)  # 1 万元 each: the budget holds two of five
        people = []
        for i in range(5):
            ent = add_company(c, 50 + i, revenue="9000")
            user = enterprise_user(ent, f"racer{i}")
            people.append((user, materials_for(item, user)))

        def apply(user, mats):  # type: ignore[no-untyped-def]
            return services.application_apply(actor=user, item=item, contact_name="王", contact_phone="139",
                                              materials=mats)

        results = _race(apply, people)
    won = [r for r in results if not isinstance(r, Exception)]
    assert len(won) == 2, results
    assert all(isinstance(r, Conflict) and r.code == "over_budget" for r in results if isinstance(r, Exception))
    assert services.budget_used_fen(item.pk) == 2_000_000 <= item.budget_fen
    assert Payout.objects.filter(item=item).count() == 2
    from yingshang.policies.models import Application

    assert Application.objects.filter(item=item).count() == 2  # the refused left nothing behind
    assert payouts.reconcile() == []


def test_command_line_batch_export_and_confirmations(county, tmp_path):
    import json
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    c = county
    with at(2026, 3, 2):
        _item, pays = instant_payouts(c, 2)

        def run(*args: str) -> dict:  # type: ignore[type-arg]
            out = StringIO()
            call_command("policies", *args, stdout=out)
            return json.loads(out.getvalue())

        created = run("create-batch")
        assert created["payouts"] == 2
        with pytest.raises(CommandError):
            run("export-payments", "PC-NO-SUCH", str(tmp_path / "x.csv"))
        exported = run("export-payments", created["batch"], str(tmp_path / "pay.csv"))
        assert exported["rows"] == 2 and exported["total_yuan"] == payouts.yuan(sum(p.amount_fen for p in pays))
        (tmp_path / "ack.csv").write_bytes(confirmation([(p.number, "成功", f"R{p.pk}", "") for p in pays]))
        assert run("import-confirmations", str(tmp_path / "ack.csv"))["paid"] == 2
        assert run("import-confirmations", str(tmp_path / "ack.csv"))["unchanged"] == 2
        (tmp_path / "bad.csv").write_bytes(confirmation([("DXNOSUCH", "成功", "R", "")]))
        with pytest.raises(CommandError):
            run("import-confirmations", str(tmp_path / "bad.csv"))
        rule = tmp_path / "rule.json"
        rule.write_text(json.dumps({">=": [{"var": "figures.revenue_wan.last"}, 2000]}))
        sim = run("simulate", "--rule-json", str(rule), "--budget", "100.50")
        assert sim["qualified"] >= 1 and sim["budget_fen"] == 10050
        assert run("match")["scope"] == "all"
        assert run("expire") == {"expired": 0}
        assert run("sweep") == {"applications": 0, "lists": 0}
