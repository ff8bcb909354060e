"""The promised-time clock of a case (办件计时), in working days.  Pure functions over a calendar.

Convention (行政许可法 art. 42/45/82, 民法典 art. 201, REFERENCE.md "Working days")
------------------------------------------------------------------------------------
* The day of acceptance A is day 0.  "N working days" is the N-th working day strictly after A
  (the start day is not counted, as ``core.workdays.add``).  A 即办件 (limit 0) is due on A itself.
* The limit is the promised days plus the approved extension days.
* A pause — a correction (补正) or a special procedure (特别程序: hearing, testing, inspection,
  expert review) — starts on day S and ends on day R (the day the last missing material arrives,
  or the day the procedure ends).  Day S still counts (the department worked on it up to the
  notice); the working days strictly after S up to and including R are not counted; counting
  resumes with the first working day after R.  Equivalently: the working days that were left
  when the clock stopped are counted again from R, so ``due = add(R, left)``.  A pause that starts
  on the due day leaves 0 days, so the case is due on R itself.
* A pause that starts after the due date has passed does not move the due date: a case that was
  already late stays late (the days are still left out of the working days used).
* While a pause is open the clock has no running due date; ``due_date`` is then the date the case
  would be due if the clock restarted on S — the earliest possible due date, which moves forward
  when the clock resumes.
* Time left on a day T: the working days strictly after T up to and including the due date.  The
  colour: ``overdue`` when T is after the due date; ``red`` when no working day is left after T
  (due today); ``yellow`` with 1..``warn_days`` working days left; ``green`` otherwise.  The colour
  depends only on where the due date falls relative to three dates computed once per day
  (``colour_bounds``), so a monitor can count colours with date ranges in SQL.

The calendar is passed in (anything with ``add`` and ``between`` like ``core.workdays``);
``FixedCalendar`` is one built from the holiday law without a database, for tests and benchmarks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, cast

GREEN, YELLOW, RED, OVERDUE = "green", "yellow", "red", "overdue"
COLOURS = (GREEN, YELLOW, RED, OVERDUE)
COLOUR_LABELS = {GREEN: "正常", YELLOW: "临期", RED: "今日到期", OVERDUE: "已超期"}


class Dated(Protocol):
    @property
    def date(self) -> dt.date: ...

    @property
    def provisional(self) -> bool: ...


class WorkCalendar(Protocol):
    """The two operations of ``yingshang.core.workdays`` the clock needs."""

    def add(self, start: dt.date, n: int) -> Dated: ...

    def between(self, start: dt.date, end: dt.date) -> tuple[int, bool]: ...


def default_calendar() -> WorkCalendar:
    """The platform calendar kept in the database (official and provisional years)."""
    from yingshang.core import workdays

    return cast(WorkCalendar, workdays)


@dataclass(frozen=True)
class Shifted:
    date: dt.date
    provisional: bool


@dataclass(frozen=True)
class FixedCalendar:
    """A calendar held in memory: for each year the official arrangement from chinesecalendar
    where it knows the year, else the provisional one derived from the holiday law (flagged).
    Same semantics as ``core.workdays``; a year outside ``years`` is an error, never a guess."""

    years: frozenset[int]
    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]
    provisional_years: frozenset[int]

    @classmethod
    def from_holiday_law(cls, years: Iterable[int]) -> FixedCalendar:
        from yingshang.core import holiday_law

        ys = frozenset(years)
        holidays: set[dt.date] = set()
        workdays: set[dt.date] = set()
        provisional: set[int] = set()
        for y in ys:
            arrangement = holiday_law.official_from_chinesecalendar(y)
            if arrangement is None:
                arrangement = holiday_law.provisional_arrangement(y)
                provisional.add(y)
            holidays |= set(arrangement.holidays)
            workdays |= set(arrangement.workdays)
        return cls(ys, frozenset(holidays), frozenset(workdays), frozenset(provisional))

    def is_workday(self, day: dt.date) -> bool:
        if day.year not in self.years:
            raise ValueError(f"calendar year {day.year} not loaded")
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def add(self, start: dt.date, n: int) -> Shifted:
        if n < 0:
            raise ValueError("negative number of working days")
        day, remaining, provisional = start, n, False
        while remaining > 0:
            day += dt.timedelta(days=1)
            if self.is_workday(day):
                remaining -= 1
                provisional = provisional or day.year in self.provisional_years
        return Shifted(day, provisional)

    def between(self, start: dt.date, end: dt.date) -> tuple[int, bool]:
        a, b, sign = (start, end, 1) if end >= start else (end, start, -1)
        count, provisional, day = 0, False, a
        while day < b:
            day += dt.timedelta(days=1)
            provisional = provisional or day.year in self.provisional_years
            if self.is_workday(day):
                count += 1
        return sign * count, provisional


@dataclass(frozen=True)
class Pause:
    """The clock stopped on ``start``; ``end`` is the day it was restarted (None: still stopped)."""

    start: dt.date
    end: dt.date | None = None


@dataclass(frozen=True)
class ClockState:
    due_date: dt.date
    paused: bool  # the last pause is still open
    paused_days: int  # working days not counted, over the closed pauses that moved the due date
    provisional: bool  # the result depends on a provisional calendar year


def _ordered(accepted_on: dt.date, pauses: Iterable[Pause]) -> list[Pause]:
    ordered = sorted(pauses, key=lambda p: p.start)
    cursor = accepted_on
    for i, p in enumerate(ordered):
        if p.start < cursor:
            raise ValueError("a pause starts before acceptance or before the previous pause ended")
        if p.end is None:
            if i != len(ordered) - 1:
                raise ValueError("only the last pause can be open")
            break
        if p.end < p.start:
            raise ValueError("a pause ends before it starts")
        cursor = p.end
    return ordered


def compute(accepted_on: dt.date, limit_days: int, pauses: Iterable[Pause] = (),
            calendar: WorkCalendar | None = None) -> ClockState:
    """The due date of a case accepted on ``accepted_on`` with ``limit_days`` working days
    (promised + extension) and the given pauses (see the module docstring for the convention)."""
    if limit_days < 0:
        raise ValueError("negative limit")
    cal = calendar or default_calendar()
    remaining, cursor, paused_days, provisional, paused = limit_days, accepted_on, 0, False, False
    for p in _ordered(accepted_on, pauses):
        paused = p.end is None
        used, prov = cal.between(cursor, p.start)
        if used > remaining:  # already late when the clock stopped: the pause moves nothing
            break
        provisional = provisional or prov
        remaining -= used
        if p.end is None:
            cursor = p.start
            break
        stopped, prov = cal.between(p.start, p.end)
        provisional = provisional or prov
        paused_days += stopped
        cursor = p.end
    due = cal.add(cursor, remaining)
    return ClockState(due.date, paused, paused_days, provisional or due.provisional)


def used_days(accepted_on: dt.date, on: dt.date, pauses: Iterable[Pause] = (),
              calendar: WorkCalendar | None = None) -> int:
    """Working days the case has used from acceptance up to and including ``on``, leaving out the
    paused days (the same days ``compute`` does not count)."""
    cal = calendar or default_calendar()
    used, cursor = 0, accepted_on
    for p in _ordered(accepted_on, pauses):
        if p.start >= on:
            break
        used += cal.between(cursor, p.start)[0]
        if p.end is None or p.end >= on:
            return used
        cursor = p.end
    if on > cursor:
        used += cal.between(cursor, on)[0]
    return used


def time_left(due_date: dt.date, today: dt.date, calendar: WorkCalendar | None = None) -> int:
    """Working days left after ``today`` up to the due date (0: due today; negative: overdue)."""
    cal = calendar or default_calendar()
    if today > due_date:
        return -max(1, cal.between(due_date, today)[0])
    return cal.between(today, due_date)[0]


@dataclass(frozen=True)
class ColourBounds:
    """For one day: due < today → overdue; today ≤ due < yellow_from → red;
    yellow_from ≤ due < green_from → yellow; due ≥ green_from → green."""

    today: dt.date
    yellow_from: dt.date
    green_from: dt.date

    def colour(self, due_date: dt.date) -> str:
        if due_date < self.today:
            return OVERDUE
        if due_date < self.yellow_from:
            return RED
        if due_date < self.green_from:
            return YELLOW
        return GREEN


def colour_bounds(today: dt.date, warn_days: int, calendar: WorkCalendar | None = None) -> ColourBounds:
    if warn_days < 0:
        raise ValueError("negative warning days")
    cal = calendar or default_calendar()
    return ColourBounds(today, cal.add(today, 1).date, cal.add(today, warn_days + 1).date)


def colour(due_date: dt.date, today: dt.date, warn_days: int, calendar: WorkCalendar | None = None) -> str:
    return colour_bounds(today, warn_days, calendar).colour(due_date)
