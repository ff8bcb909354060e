"""Reads of the catalogue and of cases, scoped: the office and leaders see every case; a
department's staff their department's cases; an enterprise only its own.

Monitoring and figures are grouped COUNTs in the database: the colour of an open case depends only
on where its stored ``due_date`` falls relative to three dates computed once per call from the
calendar (``clock.colour_bounds``), so the monitor is one grouped query over indexed columns,
whatever the number of cases."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yingshang.core.errors import NotFound, NotPermitted, ValidationFailed
from yingshang.core.models import Department, Role, User
from yingshang.core.periods import day_bounds
from yingshang.core.permissions import can

from . import clock
from .conf import warn_days
from .models import (
    OPEN_STATUSES,
    PAUSED_STATUSES,
    Bundle,
    BundleItem,
    Case,
    CaseEvent,
    Material,
    MaterialForm,
    Rating,
    Rectification,
    ServiceItem,
    SupervisionPush,
    TreeNode,
)

S = Case.Status
K = CaseEvent.Kind


# ------------------------------------------------------------------------------------------- catalogue


@dataclass
class MergedMaterial:
    """One line of an application's material list.  In a bundle, materials of the same name (after
    trimming spaces) are asked once: the stricter form (original and copy together when items
    differ), the most copies, tolerated only if every item tolerates it, the first template."""

    name: str
    form: str
    copies: int
    tolerance_allowed: bool
    template_id: int | None
    material_ids: list[int] = field(default_factory=list)
    item_codes: list[str] = field(default_factory=list)


def _norm(name: str) -> str:
    return " ".join(name.split())


def _merge_form(a: str, b: str) -> str:
    return a if a == b else MaterialForm.BOTH


def _merge(pairs: list[tuple[ServiceItem, Material]]) -> list[MergedMaterial]:
    merged: dict[str, MergedMaterial] = {}
    for item, m in pairs:
        key = _norm(m.name)
        row = merged.get(key)
        if row is None:
            merged[key] = MergedMaterial(key, m.form, m.copies, m.tolerance_allowed, m.template_id, [m.pk],
                                         [item.code])
            continue
        row.form = _merge_form(row.form, m.form)
        row.copies = max(row.copies, m.copies)
        row.tolerance_allowed = row.tolerance_allowed and m.tolerance_allowed
        row.template_id = row.template_id or m.template_id
        row.material_ids.append(m.pk)
        if item.code not in row.item_codes:
            row.item_codes.append(item.code)
    return list(merged.values())


def subject_materials(item: ServiceItem) -> list[MergedMaterial]:
    return _merge([(item, m) for m in item.materials.order_by("order", "id")])


def bundle_materials(bundle: Bundle) -> list[MergedMaterial]:
    """The merged material list of a bundle, in item order then material order (two queries)."""
    items = [bi.item for bi in BundleItem.objects.filter(bundle=bundle).select_related("item").order_by("order", "id")]
    by_item: dict[int, list[Material]] = defaultdict(list)
    for m in Material.objects.filter(item__in=items).order_by("order", "id"):
        by_item[m.item_id].append(m)
    return _merge([(item, m) for item in items for m in by_item[item.pk]])


def item_list(*, q: str = "", department: int | None = None, active: bool | None = True) -> QuerySet[ServiceItem]:
    """The public catalogue (service guides are public)."""
    qs = ServiceItem.objects.select_related("department")
    if active is not None:
        qs = qs.filter(active=active)
    if department:
        qs = qs.filter(department_id=department)
    if q:
        qs = qs.filter(Q(name__contains=q) | Q(code=q.strip()))
    return qs.order_by("code")


def tree_nodes(tree: str) -> list[TreeNode]:
    """All nodes of one tree with their bundles and items (three queries), parents before children."""
    if tree not in TreeNode.Tree.values:
        raise ValidationFailed("主题树应为 企业/个人", "tree must be enterprise or personal", field="tree")
    return list(TreeNode.objects.filter(tree=tree).prefetch_related("bundles", "items").order_by("order", "id"))


# ------------------------------------------------------------------------------------------- cases


def _case_scope(actor: User) -> QuerySet[Case]:
    if can(actor, "services.view_all"):
        return Case.objects.all()
    if actor.role == Role.ENTERPRISE and actor.enterprise_id:
        return Case.objects.filter(applicant_enterprise_id=actor.enterprise_id)
    if can(actor, "services.handle") and actor.department_id:
        return Case.objects.filter(department_id=actor.department_id)
    raise NotPermitted("您无权查看办件", "you may not view cases")


def _monitor_scope(actor: User) -> QuerySet[Case]:
    """Monitoring is for the government side: the office and leaders, or a department's staff."""
    if not (can(actor, "services.view_all") or (can(actor, "services.handle") and actor.department_id)):
        raise NotPermitted("您无权查看办件监控", "you may not view case monitoring")
    return _case_scope(actor)


def case_list(*, actor: User, status: str = "", department: int | None = None, item: int | None = None,
              bundle: int | None = None, window: str = "", colour: str = "", q: str = "",
              today: dt.date | None = None) -> QuerySet[Case]:
    qs = _case_scope(actor)
    if status:
        if status not in S.values:
            raise ValidationFailed(f"状态 {status} 无效", f"invalid status {status}", field="status")
        qs = qs.filter(status=status)
    if department:
        qs = qs.filter(department_id=department)
    if item:
        qs = qs.filter(item_id=item)
    if bundle:
        qs = qs.filter(bundle_id=bundle)
    if window:
        qs = qs.filter(window=window)
    if colour:
        if colour not in clock.COLOURS:
            raise ValidationFailed(f"预警颜色 {colour} 无效", f"invalid colour {colour}", field="colour")
        qs = qs.filter(_colour_q(colour, clock.colour_bounds(today or timezone.localdate(), warn_days())))
    if q:
        q = q.strip()
        qs = qs.filter(Q(number=q.upper()) | Q(applicant_name__contains=q))
    return qs.select_related("item", "bundle", "department", "applicant_enterprise", "handler").order_by(
        "-submitted_at", "-id")


def case_get(*, actor: User, pk: int) -> Case:
    case = Case.objects.select_related("item", "bundle", "department", "applicant_enterprise", "handler").filter(
        pk=pk).first()
    if case is None:
        raise NotFound("办件不存在", "no such case")
    if _case_scope(actor).filter(pk=pk).exists():
        return case
    if can(actor, "services.handle") and SupervisionPush.objects.filter(case=case,
                                                                        department_id=actor.department_id).exists():
        return case
    raise NotPermitted("您无权查看该办件", "you may not view this case")


def case_timeline(*, actor: User, case: Case) -> QuerySet[CaseEvent]:
    qs = case.events.select_related("actor", "department").order_by("at", "id")
    if actor.role == Role.ENTERPRISE:
        qs = qs.filter(internal=False)
    return qs


def _colour_q(colour: str, b: clock.ColourBounds) -> Q:
    running = Q(status=S.ACCEPTED)
    if colour == clock.OVERDUE:
        return running & Q(due_date__lt=b.today)
    if colour == clock.RED:
        return running & Q(due_date__gte=b.today, due_date__lt=b.yellow_from)
    if colour == clock.YELLOW:
        return running & Q(due_date__gte=b.yellow_from, due_date__lt=b.green_from)
    return running & Q(due_date__gte=b.green_from)


@dataclass
class MonitorRow:
    department_id: int
    label: str
    window: str | None = None  # None on a department row
    green: int = 0
    yellow: int = 0
    red: int = 0
    overdue: int = 0
    paused: int = 0

    @property
    def open(self) -> int:
        return self.green + self.yellow + self.red + self.overdue + self.paused


@dataclass
class Monitor:
    today: dt.date
    bounds: clock.ColourBounds
    departments: list[MonitorRow]
    windows: list[MonitorRow]
    total: MonitorRow


def case_monitor(*, actor: User, today: dt.date | None = None) -> Monitor:
    """Open cases by time left per window and per department (green / yellow / red / overdue, and
    cases whose clock is stopped): one grouped COUNT query over the partial index of open cases
    (department, window, status, due_date), the department rows summed from the window rows (a case
    has one department and one window), and one query for the department names."""
    today = today or timezone.localdate()
    bounds = clock.colour_bounds(today, warn_days())
    qs = _monitor_scope(actor).filter(status__in=OPEN_STATUSES).order_by()
    # count indexed columns (never null on an open case), not pk: PostgreSQL then answers from the
    # partial index case_open_monitor alone (an index-only scan)
    aggregates: dict[str, Any] = {c: Count("due_date", filter=_colour_q(c, bounds)) for c in clock.COLOURS}
    aggregates["paused"] = Count("status", filter=Q(status__in=PAUSED_STATUSES))
    counts = (*clock.COLOURS, "paused")
    window_rows = list(qs.values("department_id", "window").annotate(**aggregates))
    names = dict(Department.objects.filter(pk__in={r["department_id"] for r in window_rows})
                 .values_list("pk", "name"))
    per_department: dict[int, MonitorRow] = {}
    windows = []
    for r in window_rows:
        dept_id = r["department_id"]
        label = f"{names.get(dept_id, '')} · {r['window'] or _('网上申请/未指定窗口')}"
        windows.append(MonitorRow(dept_id, label, r["window"], **{k: r[k] for k in counts}))
        dept = per_department.setdefault(dept_id, MonitorRow(dept_id, names.get(dept_id, "")))
        for k in counts:
            setattr(dept, k, getattr(dept, k) + r[k])
    total = MonitorRow(0, str(_("合计")), None, **{k: sum(r[k] for r in window_rows) for k in counts})

    def order(m: MonitorRow) -> tuple[int, int, str]:
        return -m.overdue, -m.red, m.label

    return Monitor(today, bounds, sorted(per_department.values(), key=order), sorted(windows, key=order), total)


def case_overdue_list(*, actor: User, today: dt.date | None = None) -> QuerySet[Case]:
    """Running cases past their due date, the longest overdue first."""
    today = today or timezone.localdate()
    return (_monitor_scope(actor).filter(status=S.ACCEPTED, due_date__lt=today)
            .select_related("item", "bundle", "department", "handler").order_by("due_date", "id"))


def supervision_pending(*, actor: User) -> QuerySet[SupervisionPush]:
    """Approvals pushed to a supervising department and not yet acknowledged: all of them for the
    office and leaders; for a department, those pushed to it or from its cases."""
    qs = SupervisionPush.objects.filter(acknowledged_at__isnull=True)
    if not can(actor, "services.view_all"):
        if not (can(actor, "services.handle") and actor.department_id):
            raise NotPermitted("您无权查看审管互动推送", "you may not view supervision pushes")
        qs = qs.filter(Q(department_id=actor.department_id) | Q(case__department_id=actor.department_id))
    return qs.select_related("case", "item", "department").order_by("pushed_at", "id")


def rectification_list(*, actor: User, status: str = "") -> QuerySet[Rectification]:
    qs = Rectification.objects.all()
    if not can(actor, "services.view_all"):
        if not (can(actor, "services.handle") and actor.department_id):
            raise NotPermitted("您无权查看差评整改", "you may not view rectification tasks")
        qs = qs.filter(department_id=actor.department_id)
    if status:
        qs = qs.filter(status=status)
    return qs.select_related("rating__case", "department").order_by("due_date", "id")


# ------------------------------------------------------------------------------------------- figures

GROUPINGS: dict[str, object] = {"item": _("事项"), "department": _("部门"), "window": _("窗口"), "staff": _("经办人")}

FORMULAS: dict[str, object] = {
    "period": _("统计口径：办件各项按统计期内发生的办理事件计数（申请按申请时间，受理按受理时间，办结按作出决定的时间）；"
                "评价按评价时间、整改按差评时间计数；经认定的恶意差评（已撤销）不计入任何一项。"),
    "applied": _("申请量 = 统计期内提交申请的办件数"),
    "applied_online": _("网上申请量 = 申请量中网上申请的件数"),
    "accepted": _("受理量 = 统计期内受理的办件数"),
    "rejected": _("不予受理量 = 统计期内不予受理的办件数"),
    "finished": _("办结量 = 统计期内作出准予或不予准予决定的办件数"),
    "finished_on_time": _("按时办结 = 办结办件中决定日不晚于办结期限（承诺时限 + 批准的延期，补正与特别程序时间不计）的件数"),
    "one_time": _("一次办成 = 办结办件中没有补正环节的件数"),
    "instant": _("即办件 = 办结办件中承诺时限为 0（当场办结）的件数"),
    "ratings": _("有效评价 = 统计期内的评价数（不含已撤销的恶意差评）"),
    "satisfied": _("满意评价 = 有效评价中「非常满意」「满意」「基本满意」的条数"),
    "bad_ratings": _("差评 = 有效评价中「不满意」「非常不满意」的条数"),
    "rectifications": _("整改任务 = 统计期内差评产生的整改任务数（不含已撤销的恶意差评）"),
    "rectified_on_time": _("按时整改 = 整改任务中首次回复评价人不晚于整改期限的件数"),
    "on_time_rate": _("按时办结率 = 按时办结 ÷ 办结量"),
    "one_time_rate": _("一次办成率 = 一次办成 ÷ 办结量"),
    "instant_share": _("即办件占比 = 即办件 ÷ 办结量"),
    "online_share": _("网办率 = 网上申请量 ÷ 申请量"),
    "avg_used_days": _("平均办理用时 = Σ（受理日至决定日的工作日数，不含受理当日，扣除补正与特别程序时间）÷ 办结量"),
    "avg_promised_days": _("平均承诺时限 = Σ 承诺时限（工作日）÷ 办结量"),
    "satisfaction_rate": _("满意率 = 满意评价 ÷ 有效评价"),
    "bad_share": _("差评率 = 差评 ÷ 有效评价"),
    "rectify_on_time_rate": _("整改按时率 = 按时整改 ÷ 整改任务"),
}

CASE_MEASURES = ("applied", "applied_online", "accepted", "rejected", "finished", "finished_on_time", "one_time",
                 "instant")


def _ratio(num: int | float, den: int) -> float | None:
    return None if den == 0 else num / den


@dataclass
class FigureRow:
    key: str
    label: str
    applied: int = 0
    applied_online: int = 0
    accepted: int = 0
    rejected: int = 0
    finished: int = 0
    finished_on_time: int = 0
    one_time: int = 0
    instant: int = 0
    used_days_sum: int = 0
    promised_days_sum: int = 0
    ratings: int = 0
    satisfied: int = 0
    bad_ratings: int = 0
    rectifications: int = 0
    rectified_on_time: int = 0

    def add(self, other: FigureRow) -> None:
        for name in self.__dataclass_fields__:
            if name not in ("key", "label"):
                setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def on_time_rate(self) -> float | None:
        return _ratio(self.finished_on_time, self.finished)

    @property
    def one_time_rate(self) -> float | None:
        return _ratio(self.one_time, self.finished)

    @property
    def instant_share(self) -> float | None:
        return _ratio(self.instant, self.finished)

    @property
    def online_share(self) -> float | None:
        return _ratio(self.applied_online, self.applied)

    @property
    def avg_used_days(self) -> float | None:
        r = _ratio(self.used_days_sum, self.finished)
        return None if r is None else round(r, 1)

    @property
    def avg_promised_days(self) -> float | None:
        r = _ratio(self.promised_days_sum, self.finished)
        return None if r is None else round(r, 1)

    @property
    def satisfaction_rate(self) -> float | None:
        return _ratio(self.satisfied, self.ratings)

    @property
    def bad_share(self) -> float | None:
        return _ratio(self.bad_ratings, self.ratings)

    @property
    def rectify_on_time_rate(self) -> float | None:
        return _ratio(self.rectified_on_time, self.rectifications)


@dataclass
class CaseFigures:
    group_by: str
    rows: list[FigureRow]
    total: FigureRow


def _bounds(date_from: dt.date, date_to: dt.date) -> tuple[dt.datetime, dt.datetime]:
    if date_from > date_to:
        raise ValidationFailed("开始日期不能晚于结束日期", "the start date is after the end date", field="from")
    return day_bounds(date_from, date_to)


def _group_fields(group_by: str, prefix: str = "") -> list[str]:
    if group_by == "item":
        return [f"{prefix}item_id", f"{prefix}bundle_id"]
    if group_by == "department":
        return [f"{prefix}department_id"]
    if group_by == "window":
        return [f"{prefix}department_id", f"{prefix}window"]
    if group_by == "staff":
        return [f"{prefix}handler_id"]
    raise ValidationFailed(f"未知分组 {group_by}", f"unknown grouping {group_by}", field="group_by")


def _key(group_by: str, values: list[Any]) -> str:
    if group_by == "item":
        return f"item:{values[0]}" if values[0] else f"bundle:{values[1]}"
    if group_by == "window":
        return f"{values[0]}:{values[1]}"
    return str(values[0]) if values[0] is not None else "none"


def _labels(group_by: str, keys: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    if group_by == "item":
        item_ids = [int(k[5:]) for k in keys if k.startswith("item:")]
        bundle_ids = [int(k[7:]) for k in keys if k.startswith("bundle:")]
        out.update({f"item:{pk}": n for pk, n in ServiceItem.objects.filter(pk__in=item_ids).values_list("pk", "name")})
        out.update({f"bundle:{pk}": f"{n}（一件事）"
                    for pk, n in Bundle.objects.filter(pk__in=bundle_ids).values_list("pk", "name")})
    elif group_by in ("department", "window"):
        ids = {int(k.split(":")[0]) for k in keys}
        names = dict(Department.objects.filter(pk__in=ids).values_list("pk", "name"))
        for k in keys:
            dept, _sep, window = k.partition(":")
            out[k] = names.get(int(dept), "") if group_by == "department" else (
                f"{names.get(int(dept), '')} · {window or _('网上申请/未指定窗口')}")
    else:
        ids = [int(k) for k in keys if k != "none"]
        out.update({str(u.pk): u.display_name for u in User.objects.filter(pk__in=ids)})
        out["none"] = str(_("未受理"))
    return out


def case_figures(*, actor: User, date_from: dt.date, date_to: dt.date, group_by: str = "department") -> CaseFigures:
    """Case, rating and rectification figures of a period, grouped by item (bundles as their own
    rows), department, window or staff member (the handler who accepted the case); see FORMULAS.
    Three grouped queries: cases, ratings, rectifications."""
    if can(actor, "services.view_all"):
        dept = None
    elif can(actor, "services.handle") and actor.department_id:
        dept = actor.department_id
    else:
        raise NotPermitted("您无权查看办件统计", "you may not view case figures")
    fields = _group_fields(group_by)
    start, end = _bounds(date_from, date_to)

    def ev(q: Q) -> Exists:
        return Exists(CaseEvent.objects.filter(q, case=OuterRef("pk"), at__gte=start, at__lt=end))

    finished = ev(Q(kind=K.DECIDE))
    corrected = Exists(CaseEvent.objects.filter(case=OuterRef("pk"), kind=K.CORRECTION_REQUEST))
    conditions = {
        "applied": Q(ev(Q(kind=K.APPLY))),
        "applied_online": Q(ev(Q(kind=K.APPLY))) & Q(channel=Case.Channel.ONLINE),
        "accepted": Q(ev(Q(kind=K.ACCEPT))),
        "rejected": Q(ev(Q(kind=K.REJECT))),
        "finished": Q(finished),
        "finished_on_time": Q(ev(Q(kind=K.DECIDE, data__on_time=True))),
        "one_time": Q(finished) & ~Q(corrected),
        "instant": Q(finished) & Q(promised_days=0),
    }
    cases = Case.objects.filter(Exists(CaseEvent.objects.filter(case=OuterRef("pk"), at__gte=start, at__lt=end)))
    ratings = Rating.objects.filter(rated_at__gte=start, rated_at__lt=end, voided=False)
    rects = Rectification.objects.filter(created_at__gte=start, created_at__lt=end, rating__voided=False)
    if dept is not None:
        cases = cases.filter(department_id=dept)
        ratings = ratings.filter(case__department_id=dept)
        rects = rects.filter(rating__case__department_id=dept)
    rows: dict[str, FigureRow] = {}

    def row_for(values: list[Any]) -> FigureRow:
        k = _key(group_by, values)
        return rows.setdefault(k, FigureRow(k, k))

    aggregates: dict[str, Any] = {m: Count("pk", filter=c) for m, c in conditions.items()}
    aggregates["used_days_sum"] = Sum("used_days", filter=Q(finished), default=0)
    aggregates["promised_days_sum"] = Sum("promised_days", filter=Q(finished), default=0)
    for r in cases.order_by().values(*fields).annotate(**aggregates):
        target = row_for([r[f] for f in fields])
        for m in (*CASE_MEASURES, "used_days_sum", "promised_days_sum"):
            setattr(target, m, r[m])
    rating_fields = _group_fields(group_by, "case__")
    for r in ratings.order_by().values(*rating_fields).annotate(
            n=Count("pk"), good=Count("pk", filter=Q(level__gte=Rating.Level.BASIC)),
            bad=Count("pk", filter=Q(is_bad=True))):
        target = row_for([r[f] for f in rating_fields])
        target.ratings, target.satisfied, target.bad_ratings = r["n"], r["good"], r["bad"]
    rect_fields = _group_fields(group_by, "rating__case__")
    for r in rects.order_by().values(*rect_fields).annotate(
            n=Count("pk"), on_time=Count("pk", filter=Q(answered_on_time=True))):
        target = row_for([r[f] for f in rect_fields])
        target.rectifications, target.rectified_on_time = r["n"], r["on_time"]
    labels = _labels(group_by, list(rows))
    total = FigureRow("all", str(_("合计")))
    out = []
    for k, row in rows.items():
        row.label = labels.get(k, k)
        total.add(row)
        if any(getattr(row, m) for m in (*CASE_MEASURES, "ratings", "rectifications")):
            out.append(row)
    out.sort(key=lambda r: (-r.finished, -r.applied, r.label))
    return CaseFigures(group_by, out, total)
