"""Appeal figures by department, category, channel, township and month.

Every figure is a count of appeals that have a given kind of ``AppealEvent`` inside the period
(a "flow" figure: 受理 counts the submissions of the period, 办结 the closures of the period), so
that a past month's figures never change afterwards.  Each count is one ``Count(filter=Exists(...))``
over ``Appeal``; ``appeal_figure_rows`` applies the very same condition to list the appeals behind
a number, so an exported list always has as many rows as the number on the page.

Attribution: an appeal belongs to the group of its category, channel, enterprise township and
(current) lead department; a return (退回) belongs to the department that returned it.  In the
monthly grouping each figure falls in the month its event happened.  Merged duplicates are left out.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yingshang.core import workdays
from yingshang.core.errors import NotPermitted, ValidationFailed
from yingshang.core.models import Department, Region, User
from yingshang.core.permissions import can

from .models import Appeal, AppealEvent, Category, Channel

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

_CLOSING = Q(kind=K.RATE, to_status=S.CLOSED) | Q(kind__in=[K.REVIEW_CLOSE, K.CLOSE_UNRATED])


def _scope(actor: User) -> int | None:
    """None: every appeal; else the only department whose figures the actor may see."""
    if can(actor, "appeals.view_all"):
        return None
    if can(actor, "appeals.handle") and actor.department_id:
        return actor.department_id
    raise NotPermitted("您无权查看诉求统计", "you may not view appeal figures")


def _bounds(date_from: dt.date, date_to: dt.date) -> tuple[dt.datetime, dt.datetime]:
    if date_from > date_to:
        raise ValidationFailed("开始日期不能晚于结束日期", "the start date is after the end date", field="from")
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(date_from, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return start, end


def _ev(start: dt.datetime, end: dt.datetime, q: Q) -> Exists:
    return Exists(AppealEvent.objects.filter(q, appeal=OuterRef("pk"), at__gte=start, at__lt=end))


def _measure_q(measure: str, start: dt.datetime, end: dt.datetime, dept: int | None = None) -> Q:
    """The condition on ``Appeal`` for being counted in ``measure`` during [start, end).

    ``dept`` attributes the figure to one department: the lead department, or for returns the
    department that returned the appeal."""
    if measure not in MEASURES:
        raise ValidationFailed(f"未知统计项 {measure}", f"unknown measure {measure}", field="measure")
    if measure == "returns":
        q = Q(kind=K.RETURN) if dept is None else Q(kind=K.RETURN, department_id=dept)
        return Q(_ev(start, end, q))
    closed = _ev(start, end, _CLOSING)
    if measure == "received":
        cond = Q(_ev(start, end, Q(kind=K.SUBMIT)))
    elif measure == "signed_in_time":
        cond = Q(_ev(start, end, Q(kind=K.SIGN, data__on_time=True)))
    elif measure == "contacted_in_time":
        cond = Q(_ev(start, end, Q(kind=K.CONTACT, data__first=True, data__on_time=True)))
    elif measure == "closed":
        cond = Q(closed)
    elif measure == "closed_on_time":
        late = AppealEvent.objects.filter(appeal=OuterRef("pk"), kind=K.REPLY, data__on_time=False)
        cond = Q(closed) & ~Q(Exists(late))
    elif measure == "resolved":
        later = AppealEvent.objects.filter(appeal=OuterRef("appeal"), kind=K.REPLY).filter(
            Q(at__gt=OuterRef("at")) | Q(at=OuterRef("at"), pk__gt=OuterRef("pk")))
        last_resolved = AppealEvent.objects.filter(appeal=OuterRef("pk"), kind=K.REPLY,
                                                   data__result=Appeal.Result.RESOLVED).filter(~Exists(later))
        cond = Q(closed) & Q(Exists(last_resolved))
    elif measure == "satisfied":
        cond = Q(_ev(start, end, Q(kind=K.RATE, to_status=S.CLOSED)
                     & (Q(data__rating=R.SATISFIED) | Q(data__rating=R.BASIC))))
    elif measure == "rated":
        cond = Q(_ev(start, end, Q(kind=K.RATE, to_status=S.CLOSED) | Q(kind=K.REVIEW_CLOSE)))
    elif measure == "unrated":
        cond = Q(_ev(start, end, Q(kind=K.CLOSE_UNRATED)))
    else:  # reopenings
        cond = Q(_ev(start, end, Q(kind=K.REOPEN)))
    if dept is not None:
        cond &= Q(lead_department_id=dept)
    return cond


def _base() -> QuerySet[Appeal]:
    return Appeal.objects.exclude(status=S.MERGED).order_by()


def _key_expr(group_by: str):  # type: ignore[no-untyped-def]
    if group_by == "department":
        return F("lead_department_id")
    if group_by == "category":
        return F("category_id")
    if group_by == "channel":
        return F("channel")
    if group_by == "township":  # a village's township is its parent
        return Case(When(enterprise__region__level=Region.Level.VILLAGE, then=F("enterprise__region__parent_id")),
                    default=F("enterprise__region_id"), output_field=IntegerField())
    raise ValidationFailed(f"未知分组 {group_by}", f"unknown grouping {group_by}", field="group_by")


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
    if key == NONE and group_by == "department":
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
    if measure not in MEASURES:
        raise ValidationFailed(f"未知统计项 {measure}", f"unknown measure {measure}", field="measure")
    start, end = _bounds(date_from, date_to)
    qs = _base()
    if key == ALL:
        cond = _measure_q(measure, start, end, dept)
    elif group_by == "month":
        month = next((m for m in _months(date_from, date_to) if m[0] == key), None)
        if month is None:
            raise ValidationFailed(f"月份 {key} 不在统计期内", f"month {key} is outside the period", field="key")
        start, end = _bounds(month[1], month[2])
        cond = _measure_q(measure, start, end, dept)
    elif group_by == "department":
        value = _parse_key(group_by, key)
        if dept is not None and value != dept:
            raise NotPermitted("只能查看本部门的统计", "you can only see your own department's figures")
        if measure == "returns":
            cond = _measure_q(measure, start, end) & Q(
                Exists(AppealEvent.objects.filter(appeal=OuterRef("pk"), kind=K.RETURN, at__gte=start, at__lt=end,
                                                  department_id=value)))
        else:
            cond = _measure_q(measure, start, end) & Q(lead_department_id=value)
    else:
        value = _parse_key(group_by, key)
        qs = qs.annotate(gkey=_key_expr(group_by))
        cond = _measure_q(measure, start, end, dept) & Q(gkey=value)
    return (qs.filter(cond).select_related("enterprise", "category", "lead_department")
            .order_by("created_at", "id"))


# ------------------------------------------------------------------------------------------- figures


def _counts(start: dt.datetime, end: dt.datetime, dept: int | None, measures: list[str]) -> dict[str, Count]:
    return {m: Count("pk", filter=_measure_q(m, start, end, dept)) for m in measures}


def _any_event(start: dt.datetime, end: dt.datetime) -> Exists:
    return Exists(AppealEvent.objects.filter(appeal=OuterRef("pk"), at__gte=start, at__lt=end))


def _workdays_to_close(start: dt.datetime, end: dt.datetime, dept: int | None,
                       group_by: str | None = None) -> dict[object, float]:
    """Average working days from submission to closure per group key (``ALL`` without a grouping),
    over the closed appeals of the period: one query, then the calendar per closed appeal."""
    close_at = Subquery(AppealEvent.objects.filter(_CLOSING, appeal=OuterRef("pk"), at__gte=start, at__lt=end)
                        .order_by("at", "id").values("at")[:1])
    qs = _base().filter(_measure_q("closed", start, end, dept)).annotate(close_at=close_at)
    if group_by:
        qs = qs.annotate(gkey=_key_expr(group_by))
    sums: dict[object, list[int]] = defaultdict(lambda: [0, 0])
    for row in qs.values("created_at", "close_at", *(["gkey"] if group_by else [])):
        days, _ = workdays.between(timezone.localtime(row["created_at"]).date(),
                                   timezone.localtime(row["close_at"]).date())
        k = row["gkey"] if group_by else ALL
        sums[k][0] += days
        sums[k][1] += 1
    return {k: round(total / n, 1) for k, (total, n) in sums.items() if n}


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


def appeal_figures(*, actor: User, group_by: str, date_from: dt.date, date_to: dt.date) -> list[Row]:
    """One row per group with data in the period (a department's own row always, for its staff)."""
    dept = _scope(actor)
    _check_group(group_by)
    start, end = _bounds(date_from, date_to)
    measures = list(MEASURES)
    rows: list[Row] = []
    if group_by == "month":
        months = _months(date_from, date_to)
        today = timezone.localdate()
        months = [m for m in months if m[0] <= f"{today:%Y-%m}"] or months[:1]
        for key, first, last in months:
            s, e = _bounds(first, last)
            qs = _base().filter(_any_event(s, e))
            data = qs.aggregate(**_counts(s, e, dept, measures))
            row = Row(key=key, label=key, **data)
            avg = _workdays_to_close(s, e, dept)
            row.avg_workdays_to_close = avg.get(ALL)
            rows.append(row)
        return rows

    qs = _base().filter(_any_event(start, end))
    if group_by == "department":
        if dept is not None:
            qs = qs.filter(lead_department_id=dept)
        counted = [m for m in measures if m != "returns"]
        grouped = {r["gkey"]: r for r in qs.annotate(gkey=_key_expr(group_by)).values("gkey")
                   .annotate(**_counts(start, end, None, counted))}
        returns = AppealEvent.objects.filter(kind=K.RETURN, at__gte=start, at__lt=end).exclude(
            appeal__status=S.MERGED)
        if dept is not None:
            returns = returns.filter(department_id=dept)
        for r in returns.values("department_id").annotate(n=Count("appeal_id", distinct=True)).order_by():
            grouped.setdefault(r["department_id"], {m: 0 for m in counted})["returns"] = r["n"]
        if dept is not None:
            grouped.setdefault(dept, {m: 0 for m in counted})
    else:
        annotated = qs.annotate(gkey=_key_expr(group_by))
        grouped = {r["gkey"]: r for r in annotated.values("gkey").annotate(**_counts(start, end, dept, measures))}
    avg = _workdays_to_close(start, end, dept, group_by)
    labels = _labels(group_by, list(grouped))
    for k, data in grouped.items():
        row = Row(key=NONE if k is None else str(k), label=labels.get(k, str(k)),
                  **{m: data.get(m, 0) for m in measures}, avg_workdays_to_close=avg.get(k))
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


def appeal_figure_total(*, actor: User, date_from: dt.date, date_to: dt.date) -> Row:
    """The totals row of the actor's scope (key "all"); not the sum of the rows, since one appeal can
    be returned by two departments."""
    dept = _scope(actor)
    start, end = _bounds(date_from, date_to)
    qs = _base().filter(_any_event(start, end))
    data = qs.aggregate(**_counts(start, end, dept, list(MEASURES)))
    avg = _workdays_to_close(start, end, dept)
    return Row(key=ALL, label=str(_("合计")), **data, avg_workdays_to_close=avg.get(ALL))
