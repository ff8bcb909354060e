"""兑现统计: money paid and distinct enterprises benefited by item, document, department, township and
month, and the precise pushes' awareness (pushed → read → applied → benefited) — computed from the
ledger and push rows, scoped per role, the same on the page, the API, the XLSX and the command line."""

from __future__ import annotations

import datetime as dt
import io
import json
from io import StringIO

import pytest
from django.core.management import call_command
from tests.integration import test_policies_services as svc
from tests.integration.test_policies_payouts import account, confirmation, enterprise_user
from tests.integration.test_policies_services import add_company, at, materials_for, published_item

from yingshang.core.errors import NotPermitted, ValidationFailed
from yingshang.policies import figures, matching, services
from yingshang.policies.models import MatchNotice, Payout

_policy_facts = svc._policy_facts


def _pay(c, pays):  # type: ignore[no-untyped-def]
    batch = services.payout_batch_create(actor=c.dispatcher)
    services.payout_batch_export(actor=c.dispatcher, batch=batch)
    rows = [(p.number, "成功", f"BANK{p.pk:06d}", "") for p in pays]
    services.payout_confirmations_import(actor=c.dispatcher, data=confirmation(rows))


@pytest.fixture
def history(county):  # type: ignore[no-untyped-def]
    """Two items of department A and one of department B; three enterprises told, ent_a and boss1 read,
    applied and paid in March (ent_a by two items), ent_b's township pays in April, one still pending."""
    c = county
    with at(2026, 3, 2):
        ent1 = add_company(c, 1, revenue="4000")
        boss1 = enterprise_user(ent1, "boss1")
        ent2 = add_company(c, 2, revenue="8000", town=c.town_b)
        boss2 = enterprise_user(ent2, "boss2")
        a1 = published_item(c, code="JS-A1", mode="instant")
        a2 = published_item(c, code="JS-A2", mode="instant", doc=a1.document)
        b1 = published_item(c, code="JS-B1", mode="instant", department=c.dept_b)
        matching.match_all()  # the precise pushes (the users exist now)
        services.pushes_mark_read(actor=c.ent_user_a)  # opened 我的政策: every push read
        services.pushes_mark_read(actor=boss1, item_ids=[a1.pk])  # opened one item
        services.pushes_mark_read(actor=c.dispatcher)  # staff: nothing
        march = []
        for user, ent, item in ((c.ent_user_a, c.ent_a, a1), (c.ent_user_a, c.ent_a, a2), (boss1, ent1, a1)):
            app = services.application_apply(actor=user, item=item, contact_name="经办人", contact_phone="139",
                                              materials=materials_for(item, user))
            march.append(Payout.objects.get(application=app))
            account(c, ent, f"62220200{ent.pk:08d}")
        _pay(c, march)
    with at(2026, 4, 7):
        app = services.application_apply(actor=boss2, item=b1, contact_name="经办人", contact_phone="139",
                                          materials=materials_for(b1, boss2))
        april = Payout.objects.get(application=app)
        account(c, ent2, f"62220200{ent2.pk:08d}")
        _pay(c, [april])
        app = services.application_apply(actor=boss2, item=a2, contact_name="经办人", contact_phone="139",
                                          materials=materials_for(a2, boss2))
        pending = Payout.objects.get(application=app)
    return {"c": c, "items": (a1, a2, b1), "ents": (ent1, ent2), "march": march, "april": april, "pending": pending}


YEAR = {"date_from": dt.date(2026, 1, 1), "date_to": dt.date(2026, 12, 31)}


def test_money_by_item_department_document_township_and_month(history):
    h = history
    c = h["c"]
    a1, a2, b1 = h["items"]
    paid = [*h["march"], h["april"]]
    with at(2026, 5, 1):
        fig = figures.benefit_figures(actor=c.dispatcher, group_by="item", **YEAR)
        rows = {r.key: r for r in fig.rows}
        assert rows[str(a1.pk)].paid_fen == sum(p.amount_fen for p in paid if p.item_id == a1.pk)
        assert (rows[str(a1.pk)].payouts, rows[str(a1.pk)].enterprises) == (2, 2)
        assert rows[str(a2.pk)].pending_fen == h["pending"].amount_fen and rows[str(a2.pk)].payouts == 1
        # totals reconcile with the rows; enterprises are distinct over the scope (ent_a paid twice)
        assert fig.total.paid_fen == sum(p.amount_fen for p in paid) == sum(r.paid_fen for r in fig.rows)
        assert fig.total.payouts == 4 and fig.total.enterprises == 3
        assert sum(r.enterprises for r in fig.rows) == 4
        dept = {r.key: r for r in figures.benefit_figures(actor=c.leader, group_by="department", **YEAR).rows}
        assert dept[str(c.dept_a.pk)].paid_fen == sum(p.amount_fen for p in h["march"])
        assert dept[str(c.dept_b.pk)].paid_fen == h["april"].amount_fen
        assert dept[str(c.dept_a.pk)].label == c.dept_a.name
        docs = figures.benefit_figures(actor=c.leader, group_by="document", **YEAR).rows
        assert {r.key: r.payouts for r in docs} == {str(a1.document_id): 3, str(b1.document_id): 1}
        towns = {r.key: r for r in figures.benefit_figures(actor=c.leader, group_by="township", **YEAR).rows}
        assert towns[str(c.town_b.pk)].paid_fen == h["april"].amount_fen
        months = figures.benefit_figures(actor=c.leader, group_by="month", date_from=dt.date(2026, 2, 1),
                                         date_to=dt.date(2026, 4, 30))
        assert [(r.key, r.payouts) for r in months.rows] == [("2026-02", 0), ("2026-03", 3), ("2026-04", 1)]
        # the period is the bank's confirmation day
        april = figures.benefit_figures(actor=c.leader, group_by="item", date_from=dt.date(2026, 4, 1),
                                        date_to=dt.date(2026, 4, 30))
        assert april.total.paid_fen == h["april"].amount_fen and april.total.enterprises == 1


def test_awareness_pushed_read_applied_benefited(history):
    h = history
    c = h["c"]
    a1, a2, b1 = h["items"]
    ent1, ent2 = h["ents"]
    told = set(MatchNotice.objects.values_list("enterprise_id", "item_id"))
    assert {(c.ent_a.pk, a1.pk), (ent1.pk, a1.pk), (ent2.pk, b1.pk)} <= told
    assert MatchNotice.objects.get(enterprise=ent1, item=a2).read_at is None  # boss1 opened a1 only
    with at(2026, 5, 1):
        fig = figures.benefit_figures(actor=c.dispatcher, group_by="item", **YEAR)
    rows = {r.key: r for r in fig.rows}
    pushed_a1 = MatchNotice.objects.filter(item=a1).count()
    assert rows[str(a1.pk)].pushed == pushed_a1
    assert rows[str(a1.pk)].read == 2  # ent_a (我的政策) and boss1 (the item)
    assert rows[str(a1.pk)].applied == rows[str(a1.pk)].benefited == 2
    assert rows[str(a1.pk)].precision == pytest.approx(2 / pushed_a1)
    assert rows[str(a2.pk)].applied == 2 and rows[str(a2.pk)].benefited == 1  # boss2's is still pending
    assert fig.total.pushed == len(told) and fig.total.read == MatchNotice.objects.filter(read_at__isnull=False).count()
    # read only once: a later opening does not move the time
    first = MatchNotice.objects.get(enterprise=c.ent_a, item=a1).read_at
    with at(2026, 6, 1):
        assert services.pushes_mark_read(actor=c.ent_user_a) == 0
    assert MatchNotice.objects.get(enterprise=c.ent_a, item=a1).read_at == first


def test_scope_per_role(history):
    h = history
    c = h["c"]
    a1, a2, b1 = h["items"]
    with at(2026, 5, 1):
        mine = figures.benefit_figures(actor=c.handler_b, group_by="item", **YEAR)
        assert {r.key for r in mine.rows} == {str(b1.pk)} and mine.department == c.dept_b
        assert mine.total.paid_fen == h["april"].amount_fen
        assert {r.key for r in figures.benefit_figures(actor=c.head_a, group_by="item", **YEAR).rows} == {
            str(a1.pk), str(a2.pk)}
        for who in (c.ent_user_a, c.auditor, c.security):
            with pytest.raises(NotPermitted):
                figures.benefit_figures(actor=who, group_by="item", **YEAR)
        with pytest.raises(ValidationFailed) as e:
            figures.benefit_figures(actor=c.leader, group_by="colour", **YEAR)
        assert e.value.field == "group_by"
        with pytest.raises(ValidationFailed) as e:
            figures.benefit_figures(actor=c.leader, group_by="item", date_from=dt.date(2026, 5, 1),
                                    date_to=dt.date(2026, 4, 1))
        assert e.value.field == "to"


def test_page_api_xlsx_and_command_line_agree(history, client):
    from openpyxl import load_workbook
    from tests.conftest import PASSWORD

    h = history
    c = h["c"]
    total = sum(p.amount_fen for p in [*h["march"], h["april"]])
    with at(2026, 5, 1):
        client.login(username=c.leader.username, password=PASSWORD)
        page = client.get("/policies/figures/?group_by=department&from=2026-01-01&to=2026-12-31")
        assert page.status_code == 200
        html = page.content.decode()
        assert c.dept_a.name in html and c.dept_b.name in html and 'id="figures-chart"' in html
        assert f"{total // 100:,}.{total % 100:02d}" in html
        # the money links to exactly the ledger rows behind it
        ledger = client.get(f"/policies/payouts/?status=paid&department={c.dept_b.pk}&paid_from=2026-01-01"
                            "&paid_to=2026-12-31")
        assert h["april"].number in ledger.content.decode()
        assert h["march"][0].number not in ledger.content.decode()
        api = client.get("/api/v1/policies/figures?group_by=township&from=2026-01-01&to=2026-12-31").json()
        assert api["total"]["paid_fen"] == total and api["total"]["enterprises"] == 3
        assert api["department_code"] is None and "precision" in api["formulas"]
        bad = client.get("/api/v1/policies/figures?group_by=x")
        assert bad.status_code == 400 and bad.json()["field"] == "group_by"
        x = client.get("/policies/figures/?group_by=item&from=2026-01-01&to=2026-12-31&export=xlsx")
        assert x.status_code == 200
        ws = load_workbook(io.BytesIO(x.content)).active
        rows = list(ws.iter_rows(values_only=True))
        assert rows[0][0] == "兑现事项" and rows[0][1] == "兑现金额（元）"
        total_row = next(r for r in rows if r[0] == "合计")
        assert round(total_row[1] * 100) == total
        assert total_row[3] == 3
        client.logout()
        client.login(username=c.ent_user_a.username, password=PASSWORD)
        assert client.get("/policies/figures/").status_code == 403
        assert client.get("/api/v1/policies/figures").status_code == 403
        out = StringIO()
        call_command("policies", "figures", "--by", "month", "--from", "2026-03-01", "--to", "2026-04-30", stdout=out)
        got = json.loads(out.getvalue())
        assert [r["key"] for r in got["rows"]] == ["2026-03", "2026-04"]
        assert got["total"]["paid_fen"] == total


def test_leaders_read_batches_with_accounts_masked(history, client):
    from tests.conftest import PASSWORD

    from yingshang.policies import selectors
    from yingshang.policies.models import PayoutBatch

    h = history
    c = h["c"]
    batch = PayoutBatch.objects.get(payouts=h["april"])
    assert selectors.batch_list(actor=c.leader).count() == 2
    for who in (c.handler_a, c.head_a, c.ent_user_a):
        with pytest.raises(NotPermitted):
            selectors.batch_list(actor=who)
    client.login(username=c.leader.username, password=PASSWORD)
    html = client.get(f"/policies/batches/{batch.pk}/").content.decode()
    h["april"].refresh_from_db()
    account_no = h["april"].payee_account
    assert len(account_no) == 16
    assert batch.number in html and account_no not in html and account_no[-4:] in html
    assert 'id="export-btn"' not in html and 'id="confirm-btn"' not in html
    assert 'id="make-batch"' not in client.get("/policies/batches/").content.decode()
    assert client.get(f"/api/v1/policies/batches/{batch.number}").status_code == 200
    assert client.post(f"/policies/batches/{batch.pk}/export/").status_code == 403
    client.logout()
    client.login(username=c.dispatcher.username, password=PASSWORD)
    assert account_no in client.get(f"/policies/batches/{batch.pk}/").content.decode()


def test_leader_and_office_homes_show_this_years_cash_out(history, client):
    from tests.conftest import PASSWORD

    from yingshang.policies.templatetags.policies_tags import wan

    h = history
    c = h["c"]
    total = sum(p.amount_fen for p in [*h["march"], h["april"]])
    with at(2026, 5, 1):
        for who in (c.leader, c.dispatcher):
            client.login(username=who.username, password=PASSWORD)
            html = client.get("/").content.decode()
            assert 'id="policy-headline"' in html and "2026 年惠企政策兑现" in html
            assert f"兑现资金 <strong>{wan(total)}</strong> 万元" in html
            assert "惠及市场主体 <strong>3</strong> 家" in html
            client.logout()
        client.login(username=c.ent_user_a.username, password=PASSWORD)
        assert 'id="policy-headline"' not in client.get("/").content.decode()
