"""Year arrangements: the official one from chinesecalendar for the years it knows, and a
provisional one derived from the holiday law for years whose official arrangement is unknown.

全国年节及纪念日放假办法 (2024 revision, in force from 2025): 元旦 1 day (1 Jan); 春节 4 days from
除夕; 清明 1 day (the 清明 solar term); 劳动节 2 days (1–2 May); 端午 1 day (lunar 5/5); 中秋 1 day
(lunar 8/15); 国庆 3 days (1–3 Oct).  Art. 6: a statutory day that falls on a Saturday or Sunday
is made up on a working day (补假) — here the next weekday not already off.  The State Council's
调休 make-up Saturdays cannot be derived, so a provisional year has none; that is why it is flagged.
Lunar dates come from the ``lunardate`` library.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from lunardate import LunarDate

CHINESECALENDAR_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}


@dataclass
class Arrangement:
    holidays: dict[dt.date, str] = field(default_factory=dict)
    workdays: dict[dt.date, str] = field(default_factory=dict)


def _lunar(year: int, month: int, day: int) -> dt.date:
    return LunarDate(year, month, day).to_solar_date()


def qingming(year: int) -> dt.date:
    """Date of the 清明 solar term (寿星通式, C = 4.81 for 2001–2100, 5.59 for 1901–2000)."""
    y = year % 100
    c = 4.81 if year > 2000 else 5.59
    day = int(y * 0.2422 + c) - (y // 4 if year > 2000 else (y - 1) // 4)
    return dt.date(year, 4, day)


def statutory_days(year: int) -> dict[dt.date, str]:
    spring = _lunar(year, 1, 1)
    days = {dt.date(year, 1, 1): "元旦"}
    for offset in (-1, 0, 1, 2):
        days[spring + dt.timedelta(days=offset)] = "春节"
    days[qingming(year)] = "清明节"
    days[dt.date(year, 5, 1)] = days[dt.date(year, 5, 2)] = "劳动节"
    days[_lunar(year, 5, 5)] = "端午节"
    days[_lunar(year, 8, 15)] = "中秋节"
    for d in (1, 2, 3):
        days[dt.date(year, 10, d)] = "国庆节"
    # 除夕 of the *next* lunar year can fall at the end of this Gregorian year only in theory
    # (it never does: 春节 is between 21 Jan and 20 Feb); keep only this year's dates.
    return {d: n for d, n in days.items() if d.year == year}


def provisional_arrangement(year: int) -> Arrangement:
    days = statutory_days(year)
    holidays = dict(days)
    for day, name in sorted(days.items()):
        if day.weekday() >= 5:
            sub = day
            while sub.weekday() >= 5 or sub in holidays:
                sub += dt.timedelta(days=1)
            if sub.year == year:
                holidays[sub] = f"{name}（补假）"
    return Arrangement(holidays=holidays)


def official_from_chinesecalendar(year: int) -> Arrangement | None:
    from chinese_calendar import constants

    holidays = {d: CHINESECALENDAR_NAMES.get(n, n) for d, n in constants.holidays.items() if d.year == year}
    workdays = {d: CHINESECALENDAR_NAMES.get(n, n) for d, n in constants.workdays.items() if d.year == year}
    if not holidays:
        return None
    return Arrangement(holidays=holidays, workdays=workdays)
