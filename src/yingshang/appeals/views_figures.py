"""The figures page: a table and chart per grouping, every number linked to the XLSX of the appeals
behind it, and the monthly report (one sheet per grouping)."""

from __future__ import annotations

import datetime as dt
import io
import re
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from yingshang.core.audit import audit_record
from yingshang.core.errors import ValidationFailed
from yingshang.core.periods import parse_date
from yingshang.core.views import domain_errors

from . import figures
from .figures import FORMULAS, GROUPINGS, MEASURES, RATES, Row

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REPORT_GROUPINGS = ["department", "category", "channel", "township"]
SHEET_NAMES = {"department": "按部门", "category": "按分类", "channel": "按渠道", "township": "按乡镇"}
# table columns: (attribute, kind) — kind "n" is a count with rows behind it
COLUMNS = [
    ("received", "n"), ("signed_in_time", "n"), ("contacted_in_time", "n"), ("closed", "n"), ("closed_on_time", "n"),
    ("on_time_rate", "r"), ("resolved", "n"), ("resolution_rate", "r"), ("satisfied", "n"), ("rated", "n"),
    ("satisfaction_rate", "r"), ("unrated", "n"), ("unrated_share", "r"), ("returns", "n"), ("reopenings", "n"),
    ("avg_workdays_to_close", "d"),
]


def _label(attr: str) -> str:
    if attr in MEASURES:
        return str(MEASURES[attr])
    if attr in RATES:
        return str(RATES[attr])
    return _("平均办结用时（工作日）")


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _month(value: str | None, default: dt.date) -> tuple[dt.date, dt.date]:
    if not value:
        first = default.replace(day=1)
    else:
        m = re.fullmatch(r"(\d{4})-(\d{2})", value.strip())
        if not m or not 1 <= int(m.group(2)) <= 12 or not 1901 <= int(m.group(1)) <= 2099:
            raise ValidationFailed(f"月份格式应为 YYYY-MM：{value}", f"months are YYYY-MM: {value}", field="month")
        first = dt.date(int(m.group(1)), int(m.group(2)), 1)
    nxt = dt.date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return first, nxt - dt.timedelta(days=1)


def _xlsx_response(wb, filename: str) -> HttpResponse:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    wb.save(buf)
    resp = HttpResponse(buf.getvalue(), content_type=XLSX)
    resp["Content-Disposition"] = f'attachment; filename="{filename}"'
    return resp


def _audit_export(user, what: str, params: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    with transaction.atomic():
        audit_record(actor=user, action="appeal.figures_export", object_type="appeals.Appeal", object_repr=what,
                     after=params)


def _safe(value: str) -> str:
    return re.sub(r"[^0-9A-Za-z_-]", "_", value)[:40]


def _export_rows(request: HttpRequest, group_by: str, date_from: dt.date, date_to: dt.date) -> HttpResponse:
    from openpyxl import Workbook

    key, measure = request.GET.get("key", ""), request.GET.get("measure", "")
    qs = figures.appeal_figure_rows(actor=request.user, group_by=group_by, key=key, measure=measure,  # type: ignore[arg-type]
                                    date_from=date_from, date_to=date_to)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_safe(measure) or "rows")
    ws.append(["诉求编号", "标题", "企业名称", "渠道", "分类", "主办部门", "紧急程度", "状态", "提交时间",
               "办理结果", "企业评价", "办结时间", "退回次数", "重新办理次数"])
    n = 0
    for a in qs.iterator(chunk_size=2000):
        fmt = lambda t: timezone.localtime(t).strftime("%Y-%m-%d %H:%M") if t else ""  # noqa: E731
        ws.append([a.number, a.title, a.enterprise.name, a.get_channel_display(), a.category.name,
                   a.lead_department.name if a.lead_department else "", a.get_urgency_display(),
                   a.get_status_display(), fmt(a.created_at), a.get_result_display() if a.result else "",
                   a.get_rating_display() if a.rating else "", fmt(a.closed_at), a.return_count, a.reopen_count])
        n += 1
    _audit_export(request.user, "诉求统计明细导出", {"group_by": group_by, "key": key, "measure": measure,
                                              "from": str(date_from), "to": str(date_to), "rows": n})
    return _xlsx_response(wb, f"appeals-{group_by}-{_safe(key)}-{_safe(measure)}-{date_from}-{date_to}.xlsx")


def _sheet_rows(rows: list[Row], total: Row) -> list[list[object]]:
    out: list[list[object]] = []
    for r in [*rows, total]:
        line: list[object] = [r.label]
        for attr, kind in COLUMNS:
            v = getattr(r, attr)
            line.append(None if v is None else (round(v, 4) if kind == "r" else v))
        line.append(r.rank if r.ranked else "")
        out.append(line)
    return out


def _export_report(request: HttpRequest) -> HttpResponse:
    from openpyxl import Workbook

    first, last = _month(request.GET.get("month"), timezone.localdate())
    user = request.user
    wb = Workbook()
    wb.remove(wb.active)
    total = figures.appeal_figure_total(actor=user, date_from=first, date_to=last)  # type: ignore[arg-type]
    for group_by in REPORT_GROUPINGS:
        ws = wb.create_sheet(SHEET_NAMES[group_by])
        ws.append([f"{first.year}年{first.month}月企业诉求办理统计（{GROUPINGS[group_by]}）"
                   f"  统计期：{first} 至 {last}"])
        ws.append([str(GROUPINGS[group_by]), *[_label(a) for a, _k in COLUMNS], "排名"])
        rows = figures.appeal_figures(actor=user, group_by=group_by, date_from=first, date_to=last)  # type: ignore[arg-type]
        for line in _sheet_rows(rows, total):
            ws.append(line)
        for col, (_attr, kind) in enumerate(COLUMNS, start=2):
            if kind == "r":
                for cell in ws.iter_rows(min_row=3, min_col=col, max_col=col):
                    cell[0].number_format = "0.0%"
    ws = wb.create_sheet("口径说明")
    for text in FORMULAS.values():
        ws.append([str(text)])
    ws.append([_("部门排名最小样本量：{n} 件").format(n=settings.APPEAL_RANKING_MIN_SAMPLE)])
    _audit_export(user, "诉求月度报表导出", {"month": f"{first:%Y-%m}"})
    return _xlsx_response(wb, f"appeals-report-{first:%Y-%m}.xlsx")


@login_required
@domain_errors
def figures_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    today = timezone.localdate()
    group_by = request.GET.get("group_by") or "department"
    if group_by not in GROUPINGS:
        raise ValidationFailed(f"未知分组 {group_by}", f"unknown grouping {group_by}", field="group_by")
    date_from = parse_date(request.GET.get("from"), dt.date(today.year, 1, 1), "from")
    date_to = parse_date(request.GET.get("to"), dt.date(today.year, 12, 31), "to")
    export = request.GET.get("export")
    if export == "rows":
        return _export_rows(request, group_by, date_from, date_to)
    if export == "report":
        return _export_report(request)

    rows, total = figures.appeal_figure_table(actor=user, group_by=group_by,  # type: ignore[arg-type]
                                              date_from=date_from, date_to=date_to)
    base = {"group_by": group_by, "from": date_from.isoformat(), "to": date_to.isoformat(), "export": "rows"}

    def cells(r: Row) -> list[dict[str, object]]:
        out = []
        for attr, kind in COLUMNS:
            v = getattr(r, attr)
            if kind == "n":
                out.append({"value": v, "link": "?" + urlencode({**base, "key": r.key, "measure": attr}),
                            "title": str(FORMULAS[attr])})
            elif kind == "r":
                out.append({"value": _pct(v), "link": "", "title": str(FORMULAS[attr])})
            else:
                out.append({"value": "—" if v is None else v, "link": "", "title": str(FORMULAS[attr])})
        return out

    table = [{"row": r, "cells": cells(r)} for r in rows]
    chart = {
        "names": [r.label for r in rows],
        "received": [r.received for r in rows],
        "closed": [r.closed for r in rows],
        "satisfaction": [None if r.satisfaction_rate is None else round(r.satisfaction_rate * 100, 1) for r in rows],
        "labels": {"received": str(MEASURES["received"]), "closed": str(MEASURES["closed"]),
                   "satisfaction": str(RATES["satisfaction_rate"]) + " (%)"},
    }
    return render(request, "appeals/figures.html", {
        "group_by": group_by, "groupings": [(k, str(v)) for k, v in GROUPINGS.items()],
        "date_from": date_from, "date_to": date_to, "headers": [_label(a) for a, _k in COLUMNS],
        "table": table, "total": {"row": total, "cells": cells(total)}, "chart": chart,
        "formulas": [str(v) for v in FORMULAS.values()], "min_sample": settings.APPEAL_RANKING_MIN_SAMPLE,
        "show_rank": group_by == "department", "report_month": f"{min(date_to, today):%Y-%m}",
    })
