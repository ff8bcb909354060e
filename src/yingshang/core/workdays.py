"""Working days (工作日) from the calendar kept in the database.

Rules (REFERENCE.md): weekends and statutory holidays are not working days; 调休 make-up days on a
weekend are.  "N working days after D" is the N-th working day strictly after D (民法典 art. 201:
the start day is not counted).

The database holds, per year, only the days that differ from Monday–Friday.  A year is either
*official* (entered by an administrator, or taken from chinesecalendar for the years it knows) or
*provisional* (derived from the holiday law with real lunar dates).  A year that is missing is
filled in on first use — official when chinesecalendar knows it, provisional otherwise — and every
result that touched a provisional year says so.  Nothing is ever guessed silently.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from . import holiday_law
from .errors import ValidationFailed
from .models import CalendarDay, CalendarYear

MIN_YEAR, MAX_YEAR = 1901, 2099  # the range the lunar library covers


@dataclass(frozen=True)
class YearCalendar:
    year: int
    provisional: bool
    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]

    def is_workday(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5


@dataclass(frozen=True)
class WorkdayResult:
    date: dt.date
    provisional: bool

    def __str__(self) -> str:
        return self.date.isoformat() + (" provisional" if self.provisional else "")


# Cache of year calendars per process, keyed by the year's version stamp in the database
# (CalendarYear.updated_at).  The stamp is re-read at most every RECHECK_SECONDS, so a list page
# computing many deadlines costs no query per row, and another process sees an administrator's
# change within that time (this process at once: the service clears the cache).
RECHECK_SECONDS = 5.0
_cache: dict[int, tuple[object, float, YearCalendar]] = {}


def _check_year(year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationFailed(
            f"日历不支持 {year} 年（支持 {MIN_YEAR}–{MAX_YEAR}）",
            f"the calendar does not cover the year {year} (supported: {MIN_YEAR}-{MAX_YEAR})",
            field="date",
        )


def ensure_year(year: int) -> CalendarYear:
    """The stored year, creating it (official from chinesecalendar, else provisional) if missing."""
    _check_year(year)
    existing = CalendarYear.objects.filter(year=year).first()
    if existing:
        return existing
    arrangement = holiday_law.official_from_chinesecalendar(year)
    if arrangement is not None:
        status, source = CalendarYear.Status.OFFICIAL, "chinesecalendar"
    else:
        arrangement = holiday_law.provisional_arrangement(year)
        status, source = CalendarYear.Status.PROVISIONAL, "全国年节及纪念日放假办法（2024）推算"
    try:
        with transaction.atomic():
            cy = CalendarYear.objects.create(year=year, status=status, source=source)
            CalendarDay.objects.bulk_create(
                [CalendarDay(date=d, year=cy, kind=CalendarDay.Kind.HOLIDAY, name=n) for d, n in arrangement.holidays.items()]
                + [CalendarDay(date=d, year=cy, kind=CalendarDay.Kind.WORKDAY, name=n) for d, n in arrangement.workdays.items()]
            )
    except IntegrityError:  # another process filled it in at the same moment
        cy = CalendarYear.objects.get(year=year)
    return cy


def year_calendar(year: int) -> YearCalendar:
    cached = _cache.get(year)
    now = time.monotonic()
    if cached and now - cached[1] < RECHECK_SECONDS:
        return cached[2]
    cy = ensure_year(year)
    stamp = (cy.pk, cy.updated_at, cy.status)
    if cached and cached[0] == stamp:
        _cache[year] = (stamp, now, cached[2])
        return cached[2]
    days = list(CalendarDay.objects.filter(year=cy).values_list("date", "kind"))
    cal = YearCalendar(
        year=year,
        provisional=cy.status == CalendarYear.Status.PROVISIONAL,
        holidays=frozenset(d for d, k in days if k == CalendarDay.Kind.HOLIDAY),
        workdays=frozenset(d for d, k in days if k == CalendarDay.Kind.WORKDAY),
    )
    _cache[year] = (stamp, now, cal)
    return cal


def clear_cache() -> None:
    _cache.clear()


def is_workday(day: dt.date) -> bool:
    return year_calendar(day.year).is_workday(day)


def _as_date(value: dt.date | dt.datetime) -> dt.date:
    if isinstance(value, dt.datetime):
        from django.utils import timezone

        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def add(start: dt.date | dt.datetime, n: int) -> WorkdayResult:
    """The N-th working day strictly after ``start`` (N ≥ 0; N = 0 gives ``start`` itself)."""
    if n < 0:
        raise ValidationFailed("工作日数不能为负", "the number of working days cannot be negative", field="n")
    day = _as_date(start)
    provisional = False
    remaining = n
    cal = year_calendar(day.year)
    while remaining > 0:
        day += dt.timedelta(days=1)
        if day.year != cal.year:
            cal = year_calendar(day.year)
        if cal.is_workday(day):
            remaining -= 1
            provisional = provisional or cal.provisional
    if n > 0:
        provisional = provisional or year_calendar(day.year).provisional
    return WorkdayResult(day, provisional)


def between(start: dt.date | dt.datetime, end: dt.date | dt.datetime) -> tuple[int, bool]:
    """Working days strictly after ``start`` up to and including ``end`` (negative if end < start),
    so that ``between(d, add(d, n).date) == n``.  Returns (count, provisional)."""
    a, b = _as_date(start), _as_date(end)
    sign = 1
    if b < a:
        a, b, sign = b, a, -1
    count = 0
    provisional = False
    day = a
    cal = year_calendar(day.year)
    while day < b:
        day += dt.timedelta(days=1)
        if day.year != cal.year:
            cal = year_calendar(day.year)
        provisional = provisional or cal.provisional
        if cal.is_workday(day):
            count += 1
    return sign * count, provisional


# Modules whose deadlines depend on the calendar register a function that recomputes their
# provisional deadlines for a year once its official arrangement is entered.
_recomputers: list[Callable[[int], int]] = []


def register_recompute(fn: Callable[[int], int]) -> Callable[[int], int]:
    _recomputers.append(fn)
    return fn


def recompute_provisional(year: int) -> int:
    return sum(fn(year) for fn in _recomputers)
