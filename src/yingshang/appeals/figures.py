"""Appeal figures by department, category, channel, township and month.

Every figure is a count of appeals that have a given kind of ``AppealEvent`` inside the period
(a "flow" figure: 受理 counts the submissions of the period, 办结 the closures of the period), so
that a past month's figures never change afterwards.  The events are folded, as they are written,
into one ``AppealStat`` row per appeal (``stats.py``): every measure except returns happens at most
once per appeal, so it is a day column there and each figure is one filtered ``Count`` over that
narrow table — a whole year of a million appeals is one scan.  Returns are counted from the
return events themselves.  ``appeal_figure_rows`` applies the very same condition to list the
appeals behind a number, so an exported list always has as many rows as the number on the page.

Attribution: an appeal belongs to the group of its category, channel, (current) lead department
and the township its enterprise was in when the appeal was submitted; a return (退回) belongs to
the department that returned it.  In the monthly grouping each figure falls in the month its event
happened.  Merged duplicates are left out.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yingshang.core.errors import NotPermitted, ValidationFailed
from yingshang.core.models import Department, Region, User
from yingshang.core.permissions import can

from .models import Appeal, AppealEvent, AppealStat, Category, Channel

S = Appeal.Status
K = AppealEvent.Kind
R = Appeal.Rating

GROUPINGS: dict[str, object] = {
    "department": _("部门"),
    "category": _("分类"),
    "channel": _("渠道"),
    "township": _("乡镇"),
    "month": _("月份"),
}

# counted measures, in table order; each is a number of appeals
MEASURES: dict[str, object] = {
    "received": _("受理量"),
    "signed_in_time": _("按时签收"),
    "contacted_in_time": _("按时联系"),
    "closed": _("办结量"),
    "closed_on_time": _("按时办结"),
    "resolved": _("已解决"),
    "satisfied": _("满意（含基本满意）"),
    "rated": _("已评价"),
    "unrated": _("未评价"),
    "returns": _("退回"),
    "reopenings": _("重新办理"),
}

RATES: dict[str, object] = {
    "on_time_rate": _("按时办结率"),
    "resolution_rate": _("解决率"),
    "satisfaction_rate": _("满意率"),
    "unrated_share": _("未评价占比"),
}

FORMULAS: dict[str, object] = {
    "period": _("统计口径：各项均按统计期内发生的办理事件计数（受理按提交时间，办结按办结时间），"
                "单位为诉求件数；被合并的重复诉求不计入。按月统计时，各项计入其事件发生的月份。"),
    "received": _("受理量 = 统计期内有「提交」事件的诉求件数"),
    "signed_in_time": _("按时签收 = 统计期内「签收」且签收日不晚于签收期限的诉求件数"),
    "contacted_in_time": _("按时联系 = 统计期内首次「联系企业」且不晚于联系期限的诉求件数"),
    "closed": _("办结量 = 统计期内办结的诉求件数（企业评价后办结、不满意复核后办结、超期未评价自动办结）"),
    "closed_on_time": _("按时办结 = 办结诉求中每一次「答复」均不晚于当时办结期限的件数"),
    "resolved": _("已解决 = 办结诉求中最后一次答复结果为「已解决」的件数"),
    "satisfied": _("满意 = 办结诉求中企业最终评价为「满意」或「基本满意」的件数"),
    "rated": _("已评价 = 办结诉求中企业作出评价的件数（评价后办结或复核办结）"),
    "unrated": _("未评价 = 评价期满企业未评价、自动办结的件数"),
    "returns": _("退回 = 统计期内被退回的诉求件数（按部门统计时计入作出退回的部门）"),
    "reopenings": _("重新办理 = 统计期内经复核重新办理的诉求件数"),
    "avg_workdays_to_close": _("平均办结用时 = Σ（提交日至办结日的工作日数）÷ 办结量；工作日按节假日日历计算，不含提交当日"),
    "on_time_rate": _("按时办结率 = 按时办结 ÷ 办结量"),
    "resolution_rate": _("解决率 = 已解决 ÷ 办结量"),
    "satisfaction_rate": _("满意率 =（满意 + 基本满意）÷ 已评价"),
    "unrated_share": _("未评价占比 = 未评价 ÷ 办结量"),
    "ranking": _("部门排名：统计期内办结量不少于最小样本量的部门按满意率、再按按时办结率从高到低排名；"
                 "办结量不足最小样本量的部门不参与排名"),
}

ALL = "all"  # the key of the whole scope (totals row)
NONE = "none"  # the key of appeals not (or no longer) dispatched, in the department grouping
MAX_MONTHS = 120


def _ratio(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


@dataclass
class Row:
    key: str
    label: str
    received: int = 0
    signed_in_time: int = 0
    contacted_in_time: int = 0
    closed: int = 0
    closed_on_time: int = 0
    resolved: int = 0
    satisfied: int = 0
    rated: int = 0
    unrated: int = 0
    returns: int = 0
    reopenings: int = 0
    avg_workdays_to_close: float | None = None
    workdays_sum: int = 0
    ranked: bool = False
    rank: int | None = None

    @property
    def on_time_rate(self) -> float | None:
        return _ratio(self.closed_on_time, self.closed)

    @property
    def resolution_rate(self) -> float | None:
        return _ratio(self.resolved, self.closed)

    @property
    def satisfaction_rate(self) -> float | None:
        return _ratio(self.satisfied, self.rated)

    @property
    def unrated_share(self) -> float | None:
        return _ratio(self.unrated, self.closed)

    def is_empty(self) -> bool:
        return not any(getattr(self, m) for m in MEASURES)


# ------------------------------------------------------------------------------------------- conditions

# the day column of each measure in AppealStat, and the extra flag some of them need
_DAY = {
    "received": ("received_on", None),
    "signed_in_time": ("signed_in_time_on", None),
    "contacted_in_time": ("contacted_in_time_on", None),
    "closed": ("closed_on", None),
    "closed_on_time": ("closed_on", "closed_on_time"),
    "resolved": ("closed_on", "resolved"),
    "satisfied": ("closed_on", "satisfied"),
    "rated": ("closed_on", "rated"),
    "unrated": ("closed_on", "unrated"),
    "reopenings": ("reopened_on", None),
}


def _scope(actor: User) -> int | None:
    """None: every appeal; else the only department whose figures the actor may see."""
    if can(actor, "appeals.view_all"):
        return None
    if can(actor, "appeals.handle") and actor.department_id:
        return actor.department_id
    raise NotPermitted("您无权查看诉求统计", "you may not view appeal figures")


def _check_period(date_from: dt.date, date_to: dt.date) -> None:
    if date_from > date_to:
        raise ValidationFailed("开始日期不能晚于结束日期", "the start date is after the end date", field="from")


def _check_measure(measure: str) -> None:
    if measure not in MEASURES:
        raise ValidationFailed(f"未知统计项 {measure}", f"unknown measure {measure}", field="measure")


def _stat_q(measure: str, date_from: dt.date, date_to: dt.date, prefix: str = "") -> Q:
    """The condition on ``AppealStat`` (``prefix`` "stat__" from ``Appeal``) for being counted in a
    measure other than returns during [date_from, date_to]."""
    day, flag = _DAY[measure]
    q = Q(**{f"{prefix}{day}__gte": date_from, f"{prefix}{day}__lte": date_to})
    if flag:
        q &= Q(**{f"{prefix}{flag}": True})
    return q


def _returns(date_from: dt.date, date_to: dt.date) -> QuerySet[AppealEvent]:
    start, end = _bounds(date_from, date_to)
    return AppealEvent.objects.filter(kind=K.RETURN, at__gte=start, at__lt=end).exclude(appeal__stat__merged=True)


def _bounds(date_from: dt.date, date_to: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    return (dt.datetime.combine(date_from, dt.time.min, tzinfo=tz),
            dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz))


_KEY_FIELD = {"department": "department_id", "category": "category_id", "channel": "channel",
              "township": "township_id"}


def _check_group(group_by: str) -> None:
    if group_by not in GROUPINGS:
        raise ValidationFailed(f"未知分组 {group_by}", f"unknown grouping {group_by}", field="group_by")


def _months(date_from: dt.date, date_to: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    """(key, first day, last day) of each month of the period, clipped to the period."""
    out = []
    y, m = date_from.year, date_from.month
    while (y, m) <= (date_to.year, date_to.month):
        first = dt.date(y, m, 1)
        nxt = dt.date(y + (m == 12), m % 12 + 1, 1)
        out.append((f"{y:04d}-{m:02d}", max(first, date_from), min(nxt - dt.timedelta(days=1), date_to)))
        y, m = nxt.year, nxt.month
        if len(out) > MAX_MONTHS:
            raise ValidationFailed(f"按月统计的期间不能超过 {MAX_MONTHS} 个月",
                                   f"the monthly grouping covers at most {MAX_MONTHS} months", field="from")
    return out


def _parse_key(group_by: str, key: str) -> object:
    if key == NONE and group_by in ("department", "township"):
        return None
    if group_by == "channel":
        if key not in Channel.values:
            raise ValidationFailed(f"未知渠道 {key}", f"unknown channel {key}", field="key")
        return key
    try:
        return int(key)
    except (TypeError, ValueError):
        raise ValidationFailed(f"分组键无效：{key}", f"invalid group key {key}", field="key") from None


# ------------------------------------------------------------------------------------------- rows


def appeal_figure_rows(*, actor: User, group_by: str, key: str, measure: str, date_from: dt.date,
                       date_to: dt.date) -> QuerySet[Appeal]:
    """Exactly the appeals counted in one cell of ``appeal_figures`` (``key`` "all": the totals row)."""
    dept = _scope(actor)
    _check_group(group_by)
    _check_measure(measure)
    _check_period(date_from, date_to)
    if key != ALL and group_by == "month":
        month = next((m for m in _months(date_from, date_to) if m[0] == key), None)
        if month is None:
            raise ValidationFailed(f"月份 {key} 不在统计期内", f"month {key} is outside the period", field="key")
        date_from, date_to = month[1], month[2]
    value = _parse_key(group_by, key) if key != ALL and group_by != "month" else None
    if key != ALL and group_by == "department" and dept is not None and value != dept:
        raise NotPermitted("只能查看本部门的统计", "you can only see your own department's figures")
    qs = Appeal.objects.filter(stat__merged=False)
    if measure == "returns":
        returns = _returns(date_from, date_to)
        if dept is not None:
            returns = returns.filter(department_id=dept)
        if key != ALL and group_by == "department":
            returns = returns.filter(department_id=value)
        elif key != ALL and group_by != "month":
            qs = qs.filter(**{f"stat__{_KEY_FIELD[group_by]}": value})
        qs = qs.filter(pk__in=returns.values("appeal_id"))
    else:
        qs = qs.filter(_stat_q(measure, date_from, date_to, "stat__"))
        if dept is not None:
            qs = qs.filter(stat__department_id=dept)
        if key != ALL and group_by != "month":
            qs = qs.filter(**{f"stat__{_KEY_FIELD[group_by]}": value})
    return qs.select_related("enterprise", "category", "lead_department").order_by("created_at", "id")


# ------------------------------------------------------------------------------------------- figures


def _aggregates(date_from: dt.date, date_to: dt.date) -> dict[str, Count | Sum]:
    out: dict[str, Count | Sum] = {m: Count("pk", filter=_stat_q(m, date_from, date_to))
                                   for m in MEASURES if m != "returns"}
    out["workdays_sum"] = Sum("close_workdays", filter=_stat_q("closed", date_from, date_to))
    return out


def _touched(date_from: dt.date, date_to: dt.date) -> Q:
    """Stat rows that may have something in the period: received by its end and with a last day on or
    after its start (rows kept by this and counting nothing are dropped as empty rows)."""
    return Q(received_on__lte=date_to, last_on__gte=date_from)


def _stats(dept: int | None) -> QuerySet[AppealStat]:
    qs = AppealStat.objects.filter(merged=False).order_by()
    return qs if dept is None else qs.filter(department_id=dept)


def _row(key: str, label: str, data: dict[str, int | None]) -> Row:
    row = Row(key=key, label=label, **{m: data.get(m) or 0 for m in MEASURES},
              workdays_sum=data.get("workdays_sum") or 0)
    if row.closed:
        row.avg_workdays_to_close = round((data.get("workdays_sum") or 0) / row.closed, 1)
    return row


def _labels(group_by: str, keys: list[object]) -> dict[object, str]:
    ids = [k for k in keys if k is not None]
    if group_by == "department":
        out: dict[object, str] = {d.pk: d.name for d in Department.objects.filter(pk__in=ids)}
        out[None] = str(_("未派单/待重派"))
        return out
    if group_by == "category":
        return {c.pk: c.name for c in Category.objects.filter(pk__in=ids)}
    if group_by == "township":
        out = {r.pk: r.name for r in Region.objects.filter(pk__in=ids)}
        out[None] = str(_("未知乡镇"))
        return out
    if group_by == "channel":
        return {v: str(label) for v, label in Channel.choices}
    return {}


def _monthly(dept: int | None, date_from: dt.date, date_to: dt.date) -> list[Row]:
    """Each measure falls in the month of its own day: one grouped count per day column."""
    months = _months(date_from, date_to)
    today = timezone.localdate()
    months = [m for m in months if m[0] <= f"{today:%Y-%m}"] or months[:1]
    data: dict[str, dict[str, int | None]] = {k: {} for k, _f, _l in months}
    date_from, date_to = months[0][1], months[-1][2]
    by_day: dict[str, list[str]] = defaultdict(list)
    for m, (day, _flag) in _DAY.items():
        by_day[day].append(m)
    for day, measures in by_day.items():
        aggs: dict[str, Count | Sum] = {m: Count("pk", filter=Q(**{_DAY[m][1]: True}) if _DAY[m][1] else None)
                                        for m in measures}
        if day == "closed_on":
            aggs["workdays_sum"] = Sum("close_workdays")
        qs = (_stats(dept).filter(**{f"{day}__gte": date_from, f"{day}__lte": date_to})
              .annotate(month=TruncMonth(day)).values("month").annotate(**aggs))
        for r in qs:
            bucket = data.get(f"{r['month']:%Y-%m}")
            if bucket is not None:
                bucket.update({k: v for k, v in r.items() if k != "month"})
    returns = _returns(date_from, date_to)
    if dept is not None:
        returns = returns.filter(department_id=dept)
    for r in (returns.annotate(month=TruncMonth("at")).values("month")
              .annotate(n=Count("appeal_id", distinct=True)).order_by()):
        bucket = data.get(f"{r['month']:%Y-%m}")
        if bucket is not None:
            bucket["returns"] = r["n"]
    return [_row(k, k, data[k]) for k, _f, _l in months]


def appeal_figures(*, actor: User, group_by: str, date_from: dt.date, date_to: dt.date) -> list[Row]:
    """One row per group with data in the period (a department's own row always, for its staff)."""
    dept = _scope(actor)
    _check_group(group_by)
    _check_period(date_from, date_to)
    if group_by == "month":
        return _monthly(dept, date_from, date_to)
    field = _KEY_FIELD[group_by]
    grouped: dict[object, dict[str, int | None]] = {
        r.pop("gkey"): r for r in _stats(dept).filter(_touched(date_from, date_to))
        .annotate(gkey=F(field)).values("gkey").annotate(**_aggregates(date_from, date_to))}
    returns = _returns(date_from, date_to)
    if group_by == "department":
        if dept is not None:
            returns = returns.filter(department_id=dept)
        counted = returns.values(gkey=F("department_id"))
    else:
        if dept is not None:
            returns = returns.filter(department_id=dept)  # the returns it made
        counted = returns.values(gkey=F(f"appeal__stat__{field}"))
    for r in counted.annotate(n=Count("appeal_id", distinct=True)).order_by():
        grouped.setdefault(r["gkey"], {})["returns"] = r["n"]
    if group_by == "department" and dept is not None:
        grouped.setdefault(dept, {})
    labels = _labels(group_by, list(grouped))
    rows: list[Row] = []
    for k, data in grouped.items():
        row = _row(NONE if k is None else str(k), labels.get(k, str(k)), data)
        if row.is_empty() and not (group_by == "department" and k == dept and dept is not None):
            continue
        rows.append(row)
    if group_by == "department":
        _rank(rows)
        rows.sort(key=lambda r: (r.key == NONE, r.rank is None, r.rank or 0, -r.received, r.label))
    else:
        rows.sort(key=lambda r: (-r.received, r.label))
    return rows


def _rank(rows: list[Row]) -> None:
    minimum = settings.APPEAL_RANKING_MIN_SAMPLE
    for r in rows:
        r.ranked = r.key != NONE and r.closed >= minimum
    ranked = sorted((r for r in rows if r.ranked),
                    key=lambda r: (-(r.satisfaction_rate if r.satisfaction_rate is not None else -1),
                                   -(r.on_time_rate if r.on_time_rate is not None else -1)))
    prev: tuple[object, object] | None = None
    for i, r in enumerate(ranked, start=1):
        score = (r.satisfaction_rate, r.on_time_rate)
        r.rank = ranked[i - 2].rank if prev == score else i  # ties share a rank
        prev = score


def _returns_total(dept: int | None, date_from: dt.date, date_to: dt.date) -> int:
    returns = _returns(date_from, date_to)
    if dept is not None:
        returns = returns.filter(department_id=dept)
    return returns.values("appeal_id").distinct().count()


def appeal_figure_table(*, actor: User, group_by: str, date_from: dt.date,
                        date_to: dt.date) -> tuple[list[Row], Row]:
    """The rows of a grouping and their totals row, from one scan: every appeal is in exactly one
    group and counts at most once per measure, so the totals are the sums of the rows — except
    returns (one appeal can be returned by two departments, or in two months), counted apart."""
    rows = appeal_figures(actor=actor, group_by=group_by, date_from=date_from, date_to=date_to)
    dept = _scope(actor)
    data: dict[str, int | None] = {m: sum(getattr(r, m) for r in rows) for m in MEASURES if m != "returns"}
    data["workdays_sum"] = sum(r.workdays_sum for r in rows)
    data["returns"] = _returns_total(dept, date_from, date_to)
    return rows, _row(ALL, str(_("合计")), data)


def appeal_figure_total(*, actor: User, date_from: dt.date, date_to: dt.date) -> Row:
    """The totals row of the actor's scope (key "all"); returns are not the sum of the rows, since
    one appeal can be returned by two departments."""
    dept = _scope(actor)
    _check_period(date_from, date_to)
    data = _stats(dept).filter(_touched(date_from, date_to)).aggregate(**_aggregates(date_from, date_to))
    data["returns"] = _returns_total(dept, date_from, date_to)
    return _row(ALL, str(_("合计")), data)
