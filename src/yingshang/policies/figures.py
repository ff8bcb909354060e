"""Policy figures: money paid and enterprises benefited, and how the precise pushes fared, by item,
document, department, township and month.

Money (兑现) is counted from the ledger rows themselves: a payout counts in the period of the day
the bank confirmed it (``paid_at``); "待拨付" is the live pending rows created in the period.
"惠及主体" is the number of *distinct* enterprises paid, so the total row is counted over the whole
scope, never summed from the groups (an enterprise paid by two items counts once in the total).

Awareness (政策知晓) follows each push (``MatchNotice``) made in the period: pushed → read (the
enterprise opened 我的政策 or the item after the push) → applied (it has an application for the item)
→ benefited (it has a paid payout for the item, any mode).  推送精准度 is the share of pushes that
led to an application or a payout.

Scope: the office (``policies.pay``), the business-environment dispatcher and leaders see everything;
a department's staff their department's items.  Enterprises have their own page.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yingshang.core.errors import NotPermitted, ValidationFailed
from yingshang.core.models import Department, Region, Role, User
from yingshang.core.periods import day_bounds
from yingshang.core.permissions import can

from .models import Application, BenefitItem, MatchNotice, Payout, PolicyDocument

GROUPINGS: dict[str, Any] = {
    "item": _("兑现事项"),
    "document": _("政策文件"),
    "department": _("责任部门"),
    "township": _("乡镇"),
    "month": _("月份"),
}

MEASURES: dict[str, Any] = {
    "paid_fen": _("兑现金额"),
    "payouts": _("兑现笔数"),
    "enterprises": _("惠及主体"),
    "pending_fen": _("待拨付金额"),
    "pushed": _("精准推送"),
    "read": _("已查看"),
    "applied": _("已申报"),
    "benefited": _("已兑现"),
}

RATES: dict[str, Any] = {
    "read_rate": _("查看率"),
    "precision": _("推送精准度"),
}

FORMULAS: dict[str, Any] = {
    "paid": _("兑现金额、兑现笔数 = 统计期内银行回执确认「已拨付」的兑现记录（按拨付日计入）；金额以分为单位精确相加"),
    "enterprises": _("惠及主体 = 统计期内获得拨付的不同市场主体数；合计行按全部范围去重计数，不是各行相加"),
    "pending": _("待拨付金额 = 统计期内生成、目前仍待拨付的兑现记录金额"),
    "pushed": _("精准推送 = 统计期内向企业推送「符合条件」的次数（每个企业每个事项只推送一次）"),
    "read": _("已查看 = 上述推送中，企业随后打开「我的政策」或该事项页面的次数"),
    "applied": _("已申报 = 上述推送中，企业对该事项提交过申报的次数（免申即享事项无需申报）"),
    "benefited": _("已兑现 = 上述推送中，企业已获得该事项拨付的次数"),
    "read_rate": _("查看率 = 已查看 ÷ 精准推送"),
    "precision": _("推送精准度 = 推送后申报或获得兑现的次数 ÷ 精准推送"),
    "month": _("按月统计时，兑现计入拨付月份，推送计入推送月份"),
}

MAX_DAYS = 3660
# table columns (attribute, kind): fen = money, n = count, r = ratio
COLUMNS = [("paid_fen", "fen"), ("payouts", "n"), ("enterprises", "n"), ("pending_fen", "fen"), ("pushed", "n"),
           ("read", "n"), ("read_rate", "r"), ("applied", "n"), ("benefited", "n"), ("precision", "r")]


def label(attr: str) -> str:
    return str(MEASURES.get(attr) or RATES[attr])





def _ratio(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


@dataclass
class Row:
    key: str
    label: str
    paid_fen: int = 0
    payouts: int = 0
    enterprises: int = 0
    pending_fen: int = 0
    pushed: int = 0
    read: int = 0
    applied: int = 0
    benefited: int = 0
    acted: int = 0  # applied or benefited (one push counted once)

    @property
    def read_rate(self) -> float | None:
        return _ratio(self.read, self.pushed)

    @property
    def precision(self) -> float | None:
        return _ratio(self.acted, self.pushed)

    def is_empty(self) -> bool:
        return not any(getattr(self, m) for m in MEASURES)


@dataclass
class Figures:
    group_by: str
    date_from: dt.date
    date_to: dt.date
    rows: list[Row] = field(default_factory=list)
    total: Row = field(default_factory=lambda: Row("all", ""))
    department: Department | None = None


def scope_department(actor: User | None) -> Department | None:
    """None: the whole county; a department: only its items.  Raises for everyone else.  ``actor=None``
    is the system (the command line): the whole county."""
    if actor is None:
        return None
    if not actor.is_authenticated:
        raise NotPermitted("请先登录", "please sign in")
    if can(actor, "policies.pay") or actor.role in (Role.LEADER, Role.DISPATCHER):
        return None
    if can(actor, "policies.view") and actor.department_id:
        return actor.department
    raise NotPermitted("您无权查看政策兑现统计", "you may not view the policy figures")


def _check(group_by: str, date_from: dt.date, date_to: dt.date) -> None:
    if group_by not in GROUPINGS:
        raise ValidationFailed(f"不支持的统计维度：{group_by}", f"unknown grouping: {group_by}", field="group_by")
    if date_to < date_from:
        raise ValidationFailed("结束日期早于开始日期", "the end date is before the start date", field="to")
    if (date_to - date_from).days > MAX_DAYS:
        raise ValidationFailed("统计期最长十年", "the period may span at most ten years", field="from")


# the path from a payout / a push to each grouping's key
_PATH = {"item": "item_id", "document": "item__document_id", "department": "item__department_id",
         "township": "enterprise__region_id"}


def _key(group_by: str, when: str) -> tuple[str, Any]:
    if group_by == "month":
        return "k", TruncMonth(when)
    return "k", F(_PATH[group_by])


def paid_rows(department: Department | None, date_from: dt.date, date_to: dt.date) -> QuerySet[Payout]:
    """The paid ledger rows behind the money figures."""
    start, end = day_bounds(date_from, date_to)
    qs = Payout.objects.filter(status=Payout.Status.PAID, paid_at__gte=start, paid_at__lt=end)
    return qs if department is None else qs.filter(item__department=department)


def pushes(department: Department | None, date_from: dt.date, date_to: dt.date) -> QuerySet[MatchNotice]:
    """The pushes behind the awareness figures, each annotated with applied / benefited."""
    start, end = day_bounds(date_from, date_to)
    qs = MatchNotice.objects.filter(notified_at__gte=start, notified_at__lt=end)
    if department is not None:
        qs = qs.filter(item__department=department)
    applied = Application.objects.filter(enterprise_id=OuterRef("enterprise_id"), item_id=OuterRef("item_id"))
    paid = Payout.objects.filter(enterprise_id=OuterRef("enterprise_id"), item_id=OuterRef("item_id"),
                                 status=Payout.Status.PAID)
    return qs.annotate(has_applied=Exists(applied), has_paid=Exists(paid))


def _month_key(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{value:%Y-%m}"


def _labels(group_by: str, keys: list[Any]) -> dict[Any, str]:
    ids = [k for k in keys if k is not None]
    if group_by == "item":
        return {i.pk: f"{i.name}（{i.code}）" for i in BenefitItem.objects.filter(pk__in=ids)}
    if group_by == "document":
        return {d.pk: d.title for d in PolicyDocument.objects.filter(pk__in=ids)}
    if group_by == "department":
        return {d.pk: d.name for d in Department.objects.filter(pk__in=ids)}
    if group_by == "township":
        return {r.pk: r.name for r in Region.objects.filter(pk__in=ids)}
    return {}


def _months(date_from: dt.date, date_to: dt.date) -> list[str]:
    out, y, m = [], date_from.year, date_from.month
    while (y, m) <= (date_to.year, date_to.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def benefit_figures(*, actor: User | None, group_by: str = "item", date_from: dt.date, date_to: dt.date,
                    awareness: bool = True) -> Figures:
    """The figures of the period, one row per group (groups with nothing left out, except months).
    ``awareness=False`` leaves the push figures at 0: they look up an application and a payout for every
    push, too much for a home page at a county's scale."""
    _check(group_by, date_from, date_to)
    dept = scope_department(actor)
    out = Figures(group_by=group_by, date_from=date_from, date_to=date_to, department=dept)
    data: dict[Any, dict[str, int]] = {}

    def put(key: Any, values: dict[str, Any]) -> None:
        if group_by == "month":
            key = _month_key(key)
        slot = data.setdefault(key, {})
        for m, v in values.items():
            slot[m] = slot.get(m, 0) + int(v or 0)

    paid = paid_rows(dept, date_from, date_to)
    name, expr = _key(group_by, "paid_at")
    for r in paid.annotate(**{name: expr}).values(name).annotate(
            paid_fen=Sum("amount_fen"), payouts=Count("id"), enterprises=Count("enterprise_id", distinct=True)
    ).order_by():
        put(r[name], {m: r[m] for m in ("paid_fen", "payouts", "enterprises")})
    start, end = day_bounds(date_from, date_to)
    pending = Payout.objects.filter(status=Payout.Status.PENDING, created_at__gte=start, created_at__lt=end)
    if dept is not None:
        pending = pending.filter(item__department=dept)
    name, expr = _key(group_by, "created_at")
    for r in pending.annotate(**{name: expr}).values(name).annotate(pending_fen=Sum("amount_fen")).order_by():
        put(r[name], {"pending_fen": r["pending_fen"]})
    if awareness:
        name, expr = _key(group_by, "notified_at")
        for r in pushes(dept, date_from, date_to).annotate(**{name: expr}).values(name).annotate(
                pushed=Count("id"), read=Count("id", filter=Q(read_at__isnull=False)),
                applied=Count("id", filter=Q(has_applied=True)), benefited=Count("id", filter=Q(has_paid=True)),
                acted=Count("id", filter=Q(has_applied=True) | Q(has_paid=True)),
        ).order_by():
            put(r[name], {m: r[m] for m in ("pushed", "read", "applied", "benefited", "acted")})

    if group_by == "month":
        keys: list[Any] = _months(date_from, date_to)
        labels = {k: k for k in keys}
    else:
        keys = list(data)
        labels = _labels(group_by, keys)
    unknown = str(_("未知"))
    for key in keys:
        row = Row(key=str(key), label=labels.get(key, unknown), **data.get(key, {}))
        if group_by == "month" or not row.is_empty():
            out.rows.append(row)
    if group_by != "month":
        out.rows.sort(key=lambda r: (-r.paid_fen, -r.pushed, r.label))
    # the total: sums, except distinct enterprises (counted over the whole scope)
    total = Row(key="all", label=str(_("合计")))
    for m in ("paid_fen", "payouts", "pending_fen", "pushed", "read", "applied", "benefited", "acted"):
        setattr(total, m, sum(getattr(r, m) for r in out.rows))
    total.enterprises = paid.values("enterprise_id").distinct().count()
    out.total = total
    return out


def default_period(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """This year so far."""
    today = today or timezone.localdate()
    return dt.date(today.year, 1, 1), today


def xlsx(fig: Figures) -> bytes:
    """The table as an XLSX sheet (money in yuan), with the period and the formulas under it."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = str(_("兑现统计"))[:31]
    ws.append([str(GROUPINGS[fig.group_by]), *[label(a) + ("（元）" if k == "fen" else "") for a, k in COLUMNS]])
    for r in [*fig.rows, fig.total]:
        line: list[Any] = [r.label]
        for attr, kind in COLUMNS:
            v = getattr(r, attr)
            line.append(None if v is None else round(v, 4) if kind == "r" else (Decimal(v).scaleb(-2) if kind == "fen" else v))
        ws.append(line)
    ws.append([])
    ws.append([str(_("统计期")), f"{fig.date_from} — {fig.date_to}"])
    for f in FORMULAS.values():
        ws.append([str(f)])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
