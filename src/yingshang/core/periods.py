"""Reporting periods: a day range typed on a page or the command line, and the instants it covers."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from .errors import ValidationFailed


def parse_date(value: str | None, default: dt.date, field: str) -> dt.date:
    """``YYYY-MM-DD``, or ``default`` when empty; a clear error naming ``field`` otherwise."""
    if not value:
        return default
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationFailed(f"日期格式应为 YYYY-MM-DD：{value}", f"dates are YYYY-MM-DD: {value}",
                               field=field) from None


def day_bounds(date_from: dt.date, date_to: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The local instants [start of ``date_from``, start of the day after ``date_to``)."""
    tz = timezone.get_current_timezone()
    return (dt.datetime.combine(date_from, dt.time.min, tzinfo=tz),
            dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz))
