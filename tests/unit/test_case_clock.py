"""The case clock (service_items/clock.py): pure functions over the real calendar — 2026 official
(chinesecalendar), 2027 provisional (holiday law) — without a database."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from yingshang.service_items import clock
from yingshang.service_items.clock import Pause

D = dt.date
CAL = clock.FixedCalendar.from_holiday_law([2025, 2026, 2027])


def due(accepted: dt.date, limit: int, *pauses: Pause) -> clock.ClockState:
    return clock.compute(accepted, limit, pauses, CAL)


def test_calendar_matches_the_official_2026_and_provisional_2027_years():
    assert 2027 in CAL.provisional_years and 2026 not in CAL.provisional_years
    assert CAL.add(D(2026, 9, 30), 1) == clock.Shifted(D(2026, 10, 8), False)  # 国庆 + 中秋 block
    assert CAL.add(D(2026, 2, 13), 1).date == D(2026, 2, 14)  # Saturday make-up day
    assert CAL.add(D(2026, 12, 31), 1) == clock.Shifted(D(2027, 1, 4), True)  # 元旦 2027, provisional
    assert CAL.between(D(2026, 12, 7), CAL.add(D(2026, 12, 7), 9).date) == (9, False)
    with pytest.raises(ValueError):
        CAL.is_workday(D(2028, 1, 3))  # a year the calendar does not hold is an error, never a guess


def test_acceptance_starts_the_clock_the_start_day_not_counted():
    s = due(D(2026, 12, 7), 5)  # Monday: 8, 9, 10, 11, 14 Dec
    assert s == clock.ClockState(D(2026, 12, 14), paused=False, paused_days=0, provisional=False)


def test_instant_case_is_due_on_the_day_of_acceptance():
    assert due(D(2026, 12, 7), 0).due_date == D(2026, 12, 7)


def test_across_the_national_day_holiday():
    # 30 Sep, 8 Oct, 9 Oct, 10 Oct (Saturday make-up day), 12 Oct
    assert due(D(2026, 9, 29), 5).due_date == D(2026, 10, 12)


def test_across_the_2026_2027_year_boundary_is_provisional():
    s = due(D(2026, 12, 28), 5)  # 29, 30, 31 Dec; 1 Jan 2027 off; 4, 5 Jan
    assert s.due_date == D(2027, 1, 5) and s.provisional is True
    assert due(D(2026, 12, 21), 5) == clock.ClockState(D(2026, 12, 28), False, 0, False)


def test_correction_pauses_and_resumes_the_clock():
    accepted = D(2026, 12, 7)  # due 14 Dec without a pause
    # correction asked on Wed 9 Dec (2 days used, 3 left); the material arrives on Mon 14 Dec:
    # 10, 11 and 14 Dec are not counted; the 3 days left run 15, 16, 17 Dec
    open_ = due(accepted, 5, Pause(D(2026, 12, 9)))
    assert open_.paused is True and open_.due_date == D(2026, 12, 14)  # earliest possible while stopped
    s = due(accepted, 5, Pause(D(2026, 12, 9), D(2026, 12, 14)))
    assert s == clock.ClockState(D(2026, 12, 17), paused=False, paused_days=3, provisional=False)
    assert s.due_date == CAL.add(accepted, 5 + 3).date
    assert clock.used_days(accepted, s.due_date, [Pause(D(2026, 12, 9), D(2026, 12, 14))], CAL) == 5


def test_correction_across_the_national_day():
    # accepted Mon 28 Sep, 3 days: due 8 Oct; correction 29 Sep → 9 Oct (30 Sep, 8, 9 Oct not counted)
    assert due(D(2026, 9, 28), 3).due_date == D(2026, 10, 8)
    s = due(D(2026, 9, 28), 3, Pause(D(2026, 9, 29), D(2026, 10, 9)))
    assert s.due_date == D(2026, 10, 12) and s.paused_days == 3  # 10 Oct (Sat, make-up), 12 Oct


def test_material_arriving_on_a_weekend_restarts_the_next_working_day():
    s = due(D(2026, 12, 7), 5, Pause(D(2026, 12, 9), D(2026, 12, 12)))  # arrives Saturday
    assert s.due_date == D(2026, 12, 16) and s.paused_days == 2  # 10, 11 not counted; 14, 15, 16


def test_extension_adds_working_days():
    assert due(D(2026, 12, 7), 5 + 10).due_date == D(2026, 12, 28)


def test_special_procedure_across_the_year_boundary():
    # accepted Mon 21 Dec, 10 days; expert review from Wed 23 Dec (2 used, 8 left) to Wed 6 Jan 2027
    s = due(D(2026, 12, 21), 10, Pause(D(2026, 12, 23), D(2027, 1, 6)))
    assert s.paused_days == 9  # 24, 25, 28, 29, 30, 31 Dec, 4, 5, 6 Jan
    assert s.due_date == D(2027, 1, 18) and s.provisional is True  # 7, 8, 11, 12, 13, 14, 15, 18 Jan


def test_two_pauses_correction_then_special_procedure():
    pauses = (Pause(D(2026, 12, 8), D(2026, 12, 9)), Pause(D(2026, 12, 10), D(2026, 12, 14)))
    s = due(D(2026, 12, 7), 5, *pauses)
    # used: 8 Dec, then 10 Dec; not counted: 9 Dec, 11 and 14 Dec; 3 left from 14 Dec
    assert s.paused_days == 3 and s.due_date == D(2026, 12, 17)
    assert clock.used_days(D(2026, 12, 7), D(2026, 12, 17), pauses, CAL) == 5


def test_pause_on_the_due_day_leaves_no_day_and_late_pause_moves_nothing():
    # due 9 Dec; correction asked on 9 Dec, material 14 Dec: no day left, due on 14 Dec
    assert due(D(2026, 12, 7), 2, Pause(D(2026, 12, 9), D(2026, 12, 14))).due_date == D(2026, 12, 14)
    # correction asked on 11 Dec when the case was already late: it stays due on 9 Dec
    late = due(D(2026, 12, 7), 2, Pause(D(2026, 12, 11), D(2026, 12, 15)))
    assert late.due_date == D(2026, 12, 9) and late.paused_days == 0


def test_bad_pauses_are_refused():
    with pytest.raises(ValueError):
        due(D(2026, 12, 7), 5, Pause(D(2026, 12, 4), D(2026, 12, 8)))  # before acceptance
    with pytest.raises(ValueError):
        due(D(2026, 12, 7), 5, Pause(D(2026, 12, 8), D(2026, 12, 10)), Pause(D(2026, 12, 9), D(2026, 12, 11)))
    with pytest.raises(ValueError):
        due(D(2026, 12, 7), 5, Pause(D(2026, 12, 8)), Pause(D(2026, 12, 9), D(2026, 12, 11)))
    with pytest.raises(ValueError):
        due(D(2026, 12, 7), -1)


def test_due_date_agrees_with_counting_day_by_day():
    """Brute force: the due date is the first working day on which the counted working days (not
    inside a pause) reach the limit — for every pause that starts before the limit is reached."""
    accepted = D(2026, 12, 21)
    days = [accepted + dt.timedelta(days=i) for i in range(1, 30)]
    for limit, s_off, r_len in itertools.product(range(1, 9), range(0, 12), range(0, 12)):
        start = accepted + dt.timedelta(days=s_off)
        end = start + dt.timedelta(days=r_len)
        counted = 0
        reference = None
        used_at_start = CAL.between(accepted, start)[0]
        if used_at_start >= limit:
            continue
        for d in days:
            if start < d <= end or not CAL.is_workday(d):
                continue
            counted += 1
            if counted == limit:
                reference = d
                break
        s = due(accepted, limit, Pause(start, end))
        assert s.due_date == reference, (limit, start, end)
        assert clock.used_days(accepted, s.due_date, [Pause(start, end)], CAL) == limit


@pytest.mark.parametrize(
    "today, due_date, expected",
    [
        (D(2026, 12, 7), D(2026, 12, 4), clock.OVERDUE),
        (D(2026, 12, 7), D(2026, 12, 7), clock.RED),  # due today
        (D(2026, 12, 7), D(2026, 12, 8), clock.YELLOW),
        (D(2026, 12, 7), D(2026, 12, 9), clock.YELLOW),  # 2 working days left
        (D(2026, 12, 7), D(2026, 12, 10), clock.GREEN),
        (D(2026, 12, 11), D(2026, 12, 13), clock.RED),  # due on a Sunday: no working day left after Friday
        (D(2026, 12, 11), D(2026, 12, 15), clock.YELLOW),
        (D(2026, 9, 30), D(2026, 10, 2), clock.RED),  # holiday
        (D(2026, 9, 30), D(2026, 10, 9), clock.YELLOW),
        (D(2026, 9, 30), D(2026, 10, 10), clock.GREEN),  # Saturday make-up day is the 3rd working day
        (D(2026, 12, 31), D(2027, 1, 5), clock.YELLOW),
        (D(2026, 12, 31), D(2027, 1, 6), clock.GREEN),
    ],
)
def test_colour(today, due_date, expected):
    assert clock.colour(due_date, today, 2, CAL) == expected


def test_colour_bounds_and_time_left():
    b = clock.colour_bounds(D(2026, 12, 31), 2, CAL)
    assert (b.yellow_from, b.green_from) == (D(2027, 1, 4), D(2027, 1, 6))
    assert clock.colour_bounds(D(2026, 12, 7), 0, CAL).yellow_from == clock.colour_bounds(D(2026, 12, 7), 0,
                                                                                          CAL).green_from
    assert clock.time_left(D(2026, 12, 10), D(2026, 12, 7), CAL) == 3
    assert clock.time_left(D(2026, 12, 7), D(2026, 12, 7), CAL) == 0
    assert clock.time_left(D(2026, 12, 4), D(2026, 12, 7), CAL) == -1
    assert clock.time_left(D(2026, 12, 11), D(2026, 12, 12), CAL) == -1  # Saturday after a Friday due date
