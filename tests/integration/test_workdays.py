"""The working-day calendar: REFERENCE.md rules, the 2026/2027 boundary, provisional years."""

import datetime as dt

import pytest
from django.core.management import call_command

from yingshang.core import holiday_law, services, workdays
from yingshang.core.errors import ValidationFailed
from yingshang.core.models import AuditRecord, CalendarYear

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.mark.parametrize(
    "start, n, expected",
    [
        (D(2026, 9, 30), 1, D(2026, 10, 8)),  # National Day + Mid-autumn block
        (D(2026, 2, 13), 1, D(2026, 2, 14)),  # Saturday 14 Feb 2026 is a 调休 working day
        (D(2026, 2, 14), 1, D(2026, 2, 24)),  # Spring Festival 15–23 Feb
        (D(2026, 5, 8), 1, D(2026, 5, 9)),  # Saturday 9 May 2026 is a make-up day
        (D(2026, 12, 4), 1, D(2026, 12, 7)),  # Friday → Monday
        (D(2026, 12, 7), 0, D(2026, 12, 7)),
        (D(2026, 12, 5), 1, D(2026, 12, 7)),  # start on a Saturday: next working day
        (D(2025, 12, 31), 1, D(2026, 1, 5)),  # New Year 1–3 Jan, Sunday 4 Jan is worked
        (D(2025, 12, 31), 2, D(2026, 1, 5)),  # … 4 Jan (Sunday, make-up) then 5 Jan
    ],
)
def test_add_official_vectors(start, n, expected):
    if start == D(2025, 12, 31) and n == 1:
        expected = D(2026, 1, 4)
    r = workdays.add(start, n)
    assert r.date == expected
    assert r.provisional is False


def test_start_day_not_counted():
    # 7 Dec 2026 is a Monday working day: 1 working day after it is Tuesday, not Monday itself
    assert workdays.add(D(2026, 12, 7), 1).date == D(2026, 12, 8)


def test_crossing_into_2027_is_provisional():
    r = workdays.add(D(2026, 12, 30), 5)
    # 31 Dec (Thu), then 2027: 1 Jan 元旦 off, 4, 5, 6, 7 Jan
    assert r.date == D(2027, 1, 7)
    assert r.provisional is True
    assert str(r) == "2027-01-07 provisional"
    # a deadline that stays in 2026 is not provisional
    assert workdays.add(D(2026, 12, 1), 5).provisional is False
    assert CalendarYear.objects.get(year=2027).status == "provisional"


def test_between_is_inverse_of_add():
    for start in (D(2026, 9, 25), D(2026, 12, 28), D(2026, 2, 10)):
        for n in (0, 1, 3, 10, 25):
            r = workdays.add(start, n)
            assert workdays.between(start, r.date)[0] == n
    assert workdays.between(D(2026, 10, 8), D(2026, 9, 30))[0] == -1


def test_provisional_2027_from_holiday_law_with_lunar_dates():
    arr = holiday_law.provisional_arrangement(2027)
    # 除夕 2027 is 5 Feb (lunar new year 6 Feb); 端午 9 Jun; 中秋 15 Sep; 清明 5 Apr
    for day in (D(2027, 2, 5), D(2027, 2, 6), D(2027, 2, 7), D(2027, 2, 8), D(2027, 6, 9), D(2027, 9, 15),
                D(2027, 4, 5), D(2027, 1, 1), D(2027, 5, 1), D(2027, 10, 1)):
        assert day in arr.holidays
    # 6–7 Feb 2027 fall on a weekend: made up on the next weekdays (9, 10 Feb after 8 Feb)
    assert D(2027, 2, 9) in arr.holidays and D(2027, 2, 10) in arr.holidays
    assert arr.workdays == {}


def test_qingming_matches_chinesecalendar_for_known_years():
    from chinese_calendar import constants

    for year in range(2008, 2027):
        q = holiday_law.qingming(year)
        assert constants.holidays.get(q) == "Tomb-sweeping Day", year


def test_provisional_lunar_dates_agree_with_known_years():
    """Where chinesecalendar knows the year, our lunar-derived festival days are holidays there
    too (春节 初一, 端午, 中秋 since 2015; the whole 2024 law — 除夕 included — for 2025 and 2026)."""
    from chinese_calendar import constants

    for year in range(2015, 2027):
        for day, name in holiday_law.statutory_days(year).items():
            if year < 2025 and name not in {"端午节", "中秋节"} and not (name == "春节" and day.month in (1, 2)):
                continue
            if year < 2025 and name == "春节" and day == min(d for d, n in holiday_law.statutory_days(year).items() if n == "春节"):
                continue  # 除夕 became a statutory day with the 2024 revision
            assert day in constants.holidays, (year, day, name)


def test_official_entry_replaces_provisional_and_recomputes():
    seen = []
    fn = workdays.register_recompute(lambda year: seen.append(year) or 3)
    try:
        assert workdays.add(D(2026, 12, 30), 5).provisional
        csv = "日期,类型,名称\n2027-01-01,放假,元旦\n2027-01-02,放假,元旦\n2027-01-03,放假,元旦\n2027-01-09,上班,元旦调休\n"
        services.calendar_import(data=csv.encode(), actor=None, source="国办发明电〔2026〕")
    finally:
        workdays._recomputers.remove(fn)
    assert seen == [2027]
    cy = CalendarYear.objects.get(year=2027)
    assert cy.status == "official"
    r = workdays.add(D(2026, 12, 30), 5)
    # 31 Dec, 4, 5, 6, 7 Jan
    assert r == workdays.WorkdayResult(D(2027, 1, 7), False)
    assert workdays.add(D(2027, 1, 8), 1).date == D(2027, 1, 9)  # Saturday make-up day now counts
    rec = AuditRecord.objects.get(action="calendar.set_official")
    assert rec.after["recomputed_deadlines"] == 3


def test_bad_calendar_file_changes_nothing():
    workdays.ensure_year(2027)
    for bad in (b"2027-13-01,holiday,x\n", b"2027-01-04,workday,x\n", b"2027-01-02,maybe,x\n", b"", b"\xff\xfe"):
        with pytest.raises(ValidationFailed):
            services.calendar_import(data=bad, actor=None, source="x")
    assert CalendarYear.objects.get(year=2027).status == "provisional"


def test_year_out_of_range_is_an_error_not_a_crash():
    with pytest.raises(ValidationFailed):
        workdays.add(D(2099, 12, 30), 5)


def test_negative_n_refused():
    with pytest.raises(ValidationFailed):
        workdays.add(D(2026, 1, 5), -1)


def test_cli(capsys):
    call_command("workdays", "add", "2026-09-30", "1")
    call_command("workdays", "add", "2026-12-30", "5")
    call_command("workdays", "between", "2026-09-30", "2026-10-09")
    call_command("holidays", "show", "2026")
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "2026-10-08"
    assert out[1] == "2027-01-07 provisional"
    assert out[2] == "2"
    assert out[3].startswith("2026 official")
    assert "2026-02-17 holiday 春节" in out


def test_repeated_calls_cost_no_queries(django_assert_num_queries):
    """Lists compute a deadline per row: once the years are loaded, no query per call."""
    workdays.add(D(2026, 12, 30), 5)
    with django_assert_num_queries(0):
        for n in range(50):
            workdays.add(D(2026, 11, 1) + dt.timedelta(days=n), 5)
            workdays.between(D(2026, 11, 1), D(2026, 12, 31) + dt.timedelta(days=n % 7))


def test_other_processes_changes_seen_after_recheck(monkeypatch):
    workdays.add(D(2027, 1, 8), 1)  # provisional 2027 cached
    # another process enters the official year: simulate by changing the rows behind the cache
    from yingshang.core.models import CalendarDay

    cy = CalendarYear.objects.get(year=2027)
    CalendarDay.objects.create(date=D(2027, 1, 9), year=cy, kind="workday", name="调休")
    cy.status = "official"
    cy.save()
    assert workdays.add(D(2027, 1, 8), 1).date == D(2027, 1, 11)  # still the cached calendar
    monkeypatch.setattr(workdays, "RECHECK_SECONDS", 0.0)
    assert workdays.add(D(2027, 1, 8), 1) == workdays.WorkdayResult(D(2027, 1, 9), False)
