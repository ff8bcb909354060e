"""Appeal figures: exact counts per department/category/channel/township/month built through the
services, every number equal to the rows exported behind it, the ranking sample rule, scoping."""

import datetime as dt
import io

import pytest
import time_machine
from django.test import RequestFactory
from openpyxl import load_workbook
from tests.conftest import submit_appeal

from yingshang.appeals import services
from yingshang.appeals.figures import (
    ALL,
    FORMULAS,
    GROUPINGS,
    MEASURES,
    NONE,
    appeal_figure_rows,
    appeal_figure_total,
    appeal_figures,
)
from yingshang.appeals.models import Appeal, Category
from yingshang.core.errors import NotPermitted, ValidationFailed

TZ = dt.timezone(dt.timedelta(hours=8))
FROM, TO = dt.date(2026, 3, 1), dt.date(2026, 4, 30)


def at(y, m, d, h=10):
    return time_machine.travel(dt.datetime(y, m, d, h, tzinfo=TZ), tick=False)


def cat(code):
    return Category.objects.get(code=code)


def build(c):
    """Seven appeals in March–April 2026 (Qingming: 4–6 April).

    a1 dept_a 水电气 portal town_a: all on time, resolved, 满意                      closed 3-04 (2 wd)
    a2 dept_a 水电气 portal town_a: late sign/contact, overdue, partial, 基本满意     closed 3-12 (8 wd)
    a3 dept_a 融资 hotline town_b: returned by dept_b, re-dispatched to dept_a, 不满意 →
       reopened, answered again, never rated → closed unrated by the sweep         closed 3-20 (13 wd)
    a4 dept_b 水电气 portal town_b: on time, resolved, 满意                          closed 4-02 (1 wd)
    a5 dept_a 水电气 portal town_a: signed, still handling
    a6 水电气 portal town_a: submitted, not dispatched
    a7 dept_b 融资 hotline town_b: unresolved, 不满意, review closes it              closed 4-07 (3 wd)
    """
    hotline_b = {"actor": c.dispatcher, "enterprise": c.ent_b, "channel": "hotline", "category": cat("02"),
                 "title": "贷款续贷困难", "content": "银行抽贷，请协调续贷。", "contact_name": "李四",
                 "contact_phone": "13800001111"}
    portal_b = {"actor": c.ent_user_b, "enterprise": c.ent_b}
    a = {}
    with at(2026, 3, 2):
        a1 = submit_appeal(c)
        a1 = services.appeal_dispatch(actor=c.dispatcher, appeal=a1, lead=c.dept_a)
        a1 = services.appeal_sign(actor=c.handler_a, appeal=a1)
        services.appeal_contact(actor=c.handler_a, appeal=a1, note="已联系")
        a2 = submit_appeal(c)
        a2 = services.appeal_dispatch(actor=c.dispatcher, appeal=a2, lead=c.dept_a)
    with at(2026, 3, 3):
        a3 = submit_appeal(c, **hotline_b)
        a3 = services.appeal_dispatch(actor=c.dispatcher, appeal=a3, lead=c.dept_b)
        a3 = services.appeal_return(actor=c.handler_b, appeal=a3, reason="属工信部门职责")
        a3 = services.appeal_dispatch(actor=c.dispatcher, appeal=a3, lead=c.dept_a)
        a3 = services.appeal_sign(actor=c.handler_a, appeal=a3)
        services.appeal_contact(actor=c.handler_a, appeal=a3, note="已联系")
    with at(2026, 3, 4):
        a1 = services.appeal_reply(actor=c.handler_a, appeal=a1, result="resolved", reply="已恢复供电")
        a1 = services.appeal_rate(actor=c.ent_user_a, appeal=a1, rating="satisfied")
    with at(2026, 3, 5):
        a2 = services.appeal_sign(actor=c.handler_a, appeal=a2)  # due 3-03: late
        services.appeal_contact(actor=c.handler_a, appeal=a2, note="已联系")  # late
        a3 = services.appeal_reply(actor=c.handler_a, appeal=a3, result="resolved", reply="已协调银行")
        a3 = services.appeal_rate(actor=c.ent_user_b, appeal=a3, rating="unsatisfied")
    with at(2026, 3, 6):
        a3 = services.appeal_review(actor=c.dispatcher, appeal=a3, reopen=True, note="请再协调")
    with at(2026, 3, 10):
        assert services.appeal_sweep()["overdue"] == 1  # a2: due 3-09
        a3 = services.appeal_reply(actor=c.handler_a, appeal=a3, result="resolved", reply="已续贷")
    with at(2026, 3, 12):
        a2 = services.appeal_reply(actor=c.handler_a, appeal=a2, result="partial", reply="已部分解决",
                                   explanation="线路改造需供电公司立项")
        a2 = services.appeal_rate(actor=c.ent_user_a, appeal=a2, rating="basic")
    with at(2026, 3, 20):
        assert services.appeal_sweep(today=dt.date(2026, 3, 20))["closed_unrated"] == 1  # a3: rate due 3-17
    with at(2026, 3, 30):
        a5 = submit_appeal(c)
        a5 = services.appeal_dispatch(actor=c.dispatcher, appeal=a5, lead=c.dept_a)
        a5 = services.appeal_sign(actor=c.handler_a, appeal=a5)
    with at(2026, 3, 31):
        a6 = submit_appeal(c)
    with at(2026, 4, 1):
        a4 = submit_appeal(c, **portal_b)
        a4 = services.appeal_dispatch(actor=c.dispatcher, appeal=a4, lead=c.dept_b)
        a4 = services.appeal_sign(actor=c.handler_b, appeal=a4)
        services.appeal_contact(actor=c.handler_b, appeal=a4, note="已联系")
        a7 = submit_appeal(c, **hotline_b)
        a7 = services.appeal_dispatch(actor=c.dispatcher, appeal=a7, lead=c.dept_b)
        a7 = services.appeal_sign(actor=c.handler_b, appeal=a7)
    with at(2026, 4, 2):
        a4 = services.appeal_reply(actor=c.handler_b, appeal=a4, result="resolved", reply="已处理")
        a4 = services.appeal_rate(actor=c.ent_user_b, appeal=a4, rating="satisfied")
    with at(2026, 4, 3):
        a7 = services.appeal_reply(actor=c.handler_b, appeal=a7, result="unresolved", reply="无法续贷",
                                   explanation="不符合银行授信条件，已推荐应急转贷")
        a7 = services.appeal_rate(actor=c.ent_user_b, appeal=a7, rating="unsatisfied")
    with at(2026, 4, 7):
        a7 = services.appeal_review(actor=c.dispatcher, appeal=a7, reopen=False, note="答复依据充分")
    a.update(a1=a1, a2=a2, a3=a3, a4=a4, a5=a5, a6=a6, a7=a7)
    for k, v in a.items():
        a[k] = Appeal.objects.get(pk=v.pk)
    assert [a[k].status for k in ["a1", "a2", "a3", "a4", "a5", "a6", "a7"]] == [
        "closed", "closed", "closed", "closed", "handling", "submitted", "closed"]
    return a


def figs(actor, group_by, date_from=FROM, date_to=TO):
    with at(2026, 4, 30):
        return {r.key: r for r in appeal_figures(actor=actor, group_by=group_by, date_from=date_from,
                                                 date_to=date_to)}


def counts(row):
    return {m: getattr(row, m) for m in MEASURES}


def assert_rows_match(actor, group_by, rows, date_from=FROM, date_to=TO):
    for row in rows:
        for m in MEASURES:
            qs = appeal_figure_rows(actor=actor, group_by=group_by, key=row.key, measure=m, date_from=date_from,
                                    date_to=date_to)
            assert len(qs) == getattr(row, m), (group_by, row.key, m)


@pytest.fixture
def built(appeal_county):
    return appeal_county, build(appeal_county)


def test_figures_by_department(built, settings):
    c, a = built
    settings.APPEAL_RANKING_MIN_SAMPLE = 3
    rows = figs(c.dispatcher, "department")
    da, db, none = rows[str(c.dept_a.pk)], rows[str(c.dept_b.pk)], rows[NONE]
    assert counts(da) == {"received": 4, "signed_in_time": 3, "contacted_in_time": 2, "closed": 3,
                          "closed_on_time": 2, "resolved": 2, "satisfied": 2, "rated": 2, "unrated": 1,
                          "returns": 0, "reopenings": 1}
    assert da.label == "工业和信息化局"
    assert (da.on_time_rate, da.resolution_rate, da.satisfaction_rate, da.unrated_share) == (2 / 3, 2 / 3, 1.0, 1 / 3)
    assert da.avg_workdays_to_close == round((2 + 8 + 13) / 3, 1)
    assert counts(db) == {"received": 2, "signed_in_time": 2, "contacted_in_time": 1, "closed": 2,
                          "closed_on_time": 2, "resolved": 1, "satisfied": 1, "rated": 2, "unrated": 0,
                          "returns": 1, "reopenings": 0}
    assert db.satisfaction_rate == 0.5 and db.avg_workdays_to_close == 2.0
    assert counts(none)["received"] == 1 and none.closed == 0 and none.on_time_rate is None
    # ranking needs the minimum sample of closed appeals
    assert da.ranked and da.rank == 1
    assert not db.ranked and db.rank is None and not none.ranked
    settings.APPEAL_RANKING_MIN_SAMPLE = 2
    rows = figs(c.dispatcher, "department")
    assert rows[str(c.dept_a.pk)].rank == 1 and rows[str(c.dept_b.pk)].rank == 2
    assert list(rows)[:2] == [str(c.dept_a.pk), str(c.dept_b.pk)] and list(rows)[-1] == NONE
    # the rows behind each number, and the exact appeals in a few cells
    assert_rows_match(c.dispatcher, "department", rows.values())
    rows_of = lambda key, m: set(appeal_figure_rows(actor=c.dispatcher, group_by="department", key=key,  # noqa: E731
                                                    measure=m, date_from=FROM, date_to=TO))
    assert rows_of(str(c.dept_b.pk), "returns") == {a["a3"]}
    assert rows_of(str(c.dept_a.pk), "unrated") == {a["a3"]}
    assert rows_of(str(c.dept_a.pk), "closed_on_time") == {a["a1"], a["a3"]}
    assert rows_of(NONE, "received") == {a["a6"]}


def test_totals_other_groupings_and_months(built):
    c, a = built
    total = appeal_figure_total(actor=c.dispatcher, date_from=FROM, date_to=TO)
    assert counts(total) == {"received": 7, "signed_in_time": 5, "contacted_in_time": 3, "closed": 5,
                             "closed_on_time": 4, "resolved": 3, "satisfied": 3, "rated": 4, "unrated": 1,
                             "returns": 1, "reopenings": 1}
    assert total.avg_workdays_to_close == round((2 + 8 + 13 + 1 + 3) / 5, 1)
    assert_rows_match(c.dispatcher, "department", [total])

    by_cat = figs(c.dispatcher, "category")
    water, loan = by_cat[str(cat("07").pk)], by_cat[str(cat("02").pk)]
    assert (water.label, water.received, water.closed, water.satisfied, water.rated) == ("水电气", 5, 3, 3, 3)
    assert (loan.received, loan.closed, loan.resolved, loan.unrated, loan.returns, loan.reopenings) == (2, 2, 1, 1, 1, 1)
    assert loan.satisfaction_rate == 0.0 and loan.ranked is False

    by_channel = figs(c.dispatcher, "channel")
    assert by_channel["portal"].received == 5 and by_channel["hotline"].received == 2
    assert by_channel["hotline"].label == "营商服务专线"

    by_town = figs(c.dispatcher, "township")
    assert by_town[str(c.town_a.pk)].received == 4 and by_town[str(c.town_b.pk)].received == 3
    assert by_town[str(c.town_b.pk)].label == "壬田镇"

    by_month = figs(c.dispatcher, "month")
    assert list(by_month) == ["2026-03", "2026-04"]
    march, april = by_month["2026-03"], by_month["2026-04"]
    assert counts(march) == {"received": 5, "signed_in_time": 3, "contacted_in_time": 2, "closed": 3,
                             "closed_on_time": 2, "resolved": 2, "satisfied": 2, "rated": 2, "unrated": 1,
                             "returns": 1, "reopenings": 1}
    assert counts(april) == {"received": 2, "signed_in_time": 2, "contacted_in_time": 1, "closed": 2,
                             "closed_on_time": 2, "resolved": 1, "satisfied": 1, "rated": 2, "unrated": 0,
                             "returns": 0, "reopenings": 0}
    for group_by, rows in [("category", by_cat), ("channel", by_channel), ("township", by_town),
                           ("month", by_month)]:
        assert_rows_match(c.dispatcher, group_by, rows.values())
        # the groups add up to the totals (no appeal is returned twice here)
        for m in MEASURES:
            assert sum(getattr(r, m) for r in rows.values()) == getattr(total, m), (group_by, m)

    # a period boundary: a figure falls in the period its event happened in
    only_april = figs(c.dispatcher, "department", dt.date(2026, 4, 1), dt.date(2026, 4, 30))
    assert str(c.dept_a.pk) not in only_april and only_april[str(c.dept_b.pk)].returns == 0
    late_march = figs(c.dispatcher, "department", dt.date(2026, 3, 13), dt.date(2026, 3, 31))
    da = late_march[str(c.dept_a.pk)]
    assert (da.received, da.closed, da.unrated, da.rated, da.avg_workdays_to_close) == (1, 1, 1, 0, 13.0)
    assert da.satisfaction_rate is None


def test_department_staff_see_only_their_department(built):
    c, a = built
    rows = figs(c.handler_b, "department")
    assert list(rows) == [str(c.dept_b.pk)]
    assert rows[str(c.dept_b.pk)].received == 2 and rows[str(c.dept_b.pk)].returns == 1
    with pytest.raises(NotPermitted):
        appeal_figure_rows(actor=c.handler_b, group_by="department", key=str(c.dept_a.pk), measure="received",
                           date_from=FROM, date_to=TO)
    with pytest.raises(NotPermitted):
        appeal_figure_rows(actor=c.handler_b, group_by="department", key=NONE, measure="received",
                           date_from=FROM, date_to=TO)
    # other groupings only count their own department's appeals (and the returns it made)
    by_cat = figs(c.handler_b, "category")
    assert sum(r.received for r in by_cat.values()) == 2
    loan = by_cat[str(cat("02").pk)]
    assert (loan.received, loan.returns, loan.closed) == (1, 1, 1)
    assert set(appeal_figure_rows(actor=c.handler_b, group_by="category", key=str(cat("02").pk),
                                  measure="received", date_from=FROM, date_to=TO)) == {a["a7"]}
    assert_rows_match(c.handler_b, "category", by_cat.values())
    total = appeal_figure_total(actor=c.handler_b, date_from=FROM, date_to=TO)
    assert (total.received, total.closed, total.returns) == (2, 2, 1)
    by_month = figs(c.head_a, "month")
    assert by_month["2026-03"].received == 4 and by_month["2026-03"].returns == 0
    assert_rows_match(c.head_a, "month", by_month.values())
    # the registry's other users see no figures
    for user in [c.ent_user_a, c.inspector, c.auditor]:
        with pytest.raises(NotPermitted):
            appeal_figures(actor=user, group_by="department", date_from=FROM, date_to=TO)
        with pytest.raises(NotPermitted):
            appeal_figure_rows(actor=user, group_by="month", key=ALL, measure="closed", date_from=FROM, date_to=TO)


def test_bad_parameters(built):
    c, _a = built
    with pytest.raises(ValidationFailed):
        appeal_figures(actor=c.dispatcher, group_by="colour", date_from=FROM, date_to=TO)
    with pytest.raises(ValidationFailed):
        appeal_figures(actor=c.dispatcher, group_by="month", date_from=TO, date_to=FROM)
    with pytest.raises(ValidationFailed):
        appeal_figure_rows(actor=c.dispatcher, group_by="category", key="x", measure="closed", date_from=FROM,
                           date_to=TO)
    with pytest.raises(ValidationFailed):
        appeal_figure_rows(actor=c.dispatcher, group_by="month", key="2025-01", measure="closed", date_from=FROM,
                           date_to=TO)
    with pytest.raises(ValidationFailed):
        appeal_figure_rows(actor=c.dispatcher, group_by="month", key=ALL, measure="bogus", date_from=FROM,
                           date_to=TO)
    assert set(GROUPINGS) == {"department", "category", "channel", "township", "month"}
    assert "满意率" in str(FORMULAS["satisfaction_rate"])


# ------------------------------------------------------------------------------------------- the page


def _get(user, **params):
    from yingshang.appeals.views_figures import figures_view

    request = RequestFactory().get("/appeals/figures/", params)
    request.user = user
    with at(2026, 4, 30):
        return figures_view(request)


def _xlsx(resp):
    assert resp["Content-Type"].startswith("application/vnd.openxmlformats")
    return load_workbook(io.BytesIO(resp.content), read_only=True)


def test_page_shows_table_chart_and_formulas(built):
    c, _a = built
    resp = _get(c.dispatcher, group_by="department", **{"from": "2026-03-01", "to": "2026-04-30"})
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "工业和信息化局" in html and "figures-chart" in html and "echarts.min.js" in html
    assert "满意率 =（满意 + 基本满意）÷ 已评价" in html
    assert f"key={c.dept_a.pk}&amp;measure=closed" in html
    # default period: this year
    assert _get(c.dispatcher).status_code == 200
    assert _get(c.dispatcher, group_by="nope").status_code == 400
    assert _get(c.ent_user_a).status_code == 403


def test_exported_rows_equal_the_number_on_the_page(built):
    c, a = built
    base = {"group_by": "department", "from": "2026-03-01", "to": "2026-04-30", "export": "rows"}
    wb = _xlsx(_get(c.dispatcher, key=str(c.dept_a.pk), measure="closed", **base))
    data = list(wb.active.iter_rows(values_only=True))
    assert data[0][0] == "诉求编号"
    assert sorted(r[0] for r in data[1:]) == sorted([a["a1"].number, a["a2"].number, a["a3"].number])
    wb = _xlsx(_get(c.dispatcher, key=ALL, measure="received", **base))
    assert len(list(wb.active.iter_rows(values_only=True))) == 1 + 7
    # a department's staff cannot export another department's rows
    assert _get(c.handler_b, key=str(c.dept_a.pk), measure="closed", **base).status_code == 403


def test_monthly_report(built):
    c, _a = built
    wb = _xlsx(_get(c.dispatcher, export="report", month="2026-03"))
    assert wb.sheetnames == ["按部门", "按分类", "按渠道", "按乡镇", "口径说明"]
    rows = list(wb["按部门"].iter_rows(values_only=True))
    header = rows[1]
    dept_a = next(r for r in rows if r[0] == "工业和信息化局")
    assert dept_a[header.index("受理量")] == 4 and dept_a[header.index("办结量")] == 3
    totals = next(r for r in rows if r[0] == "合计")
    assert totals[header.index("受理量")] == 5 and totals[header.index("退回")] == 1
    assert _get(c.dispatcher, export="report", month="2026-13").status_code == 400


def test_queries_do_not_grow_with_the_number_of_appeals(built, django_assert_max_num_queries):
    c, _a = built
    for group_by in ["department", "category", "township"]:
        with django_assert_max_num_queries(8):
            figs(c.dispatcher, group_by)
    with django_assert_max_num_queries(8):
        figs(c.dispatcher, "month")  # two months


def test_page_through_the_url(built, login):
    c, _a = built
    client = login(c.dispatcher)
    with at(2026, 4, 30):
        resp = client.get("/appeals/figures/", {"group_by": "category", "from": "2026-03-01", "to": "2026-04-30"})
        assert resp.status_code == 200 and "水电气" in resp.content.decode()
        resp = client.get("/appeals/figures/", {"group_by": "category", "from": "2026-03-01", "to": "2026-04-30",
                                                "export": "rows", "key": str(cat("07").pk), "measure": "received"})
        assert len(list(_xlsx(resp).active.iter_rows(values_only=True))) == 1 + 5
