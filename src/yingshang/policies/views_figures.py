"""兑现统计: money paid, enterprises benefited and the precise pushes' awareness, by item, document,
department, township or month — a table, a chart, the formulas, and the table as XLSX.  Each money
figure links to the ledger rows behind it."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from yingshang.core.audit import audit_record
from yingshang.core.periods import parse_date
from yingshang.core.views import domain_errors

from . import figures
from .figures import COLUMNS, FORMULAS, GROUPINGS, Figures, Row, label
from .views import _render

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d}"


def _ledger_link(fig: Figures, row: Row | None) -> str:
    """The paid ledger rows behind a row's money (the page lists exactly them)."""
    q: dict[str, str] = {"status": "paid", "paid_from": str(fig.date_from), "paid_to": str(fig.date_to)}
    if row is not None:
        if fig.group_by == "month":
            y, m = (int(x) for x in row.key.split("-"))
            first = dt.date(y, m, 1)
            last = dt.date(y + (m == 12), m % 12 + 1, 1) - dt.timedelta(days=1)
            q.update(paid_from=str(max(first, fig.date_from)), paid_to=str(min(last, fig.date_to)))
        elif row.key not in ("None", ""):
            q[fig.group_by] = row.key
        else:
            return ""
    return reverse("policies:payouts") + "?" + urlencode(q)


def _cells(fig: Figures, row: Row) -> list[dict[str, Any]]:
    out = []
    link = _ledger_link(fig, None if row is fig.total else row)
    for attr, kind in COLUMNS:
        v = getattr(row, attr)
        text = _yuan(v) if kind == "fen" else ("—" if v is None else f"{v * 100:.1f}%") if kind == "r" else str(v)
        out.append({"label": label(attr) + (_("（元）") if kind == "fen" else ""), "value": text, "link": link if attr in ("paid_fen", "payouts") and v else "",
                    "title": str(FORMULAS.get(attr.replace("_fen", "").replace("_rate", ""), ""))})
    return out


def _chart(fig: Figures) -> dict[str, Any]:
    rows = fig.rows[:20]
    return {"names": [r.label for r in rows], "paid_wan": [round(r.paid_fen / 1_000_000, 2) for r in rows],
            "enterprises": [r.enterprises for r in rows], "pushed": [r.pushed for r in rows],
            "labels": {"paid": _("兑现金额（万元）"), "enterprises": _("惠及主体"), "pushed": _("精准推送")}}


@login_required
@domain_errors
def figures_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    start, end = figures.default_period()
    group_by = request.GET.get("group_by", "item").strip() or "item"
    date_from = parse_date(request.GET.get("from"), start, "from")
    date_to = parse_date(request.GET.get("to"), end, "to")
    fig = figures.benefit_figures(actor=user, group_by=group_by, date_from=date_from, date_to=date_to)  # type: ignore[arg-type]
    if request.GET.get("export") == "xlsx":
        data = figures.xlsx(fig)
        with transaction.atomic():
            audit_record(actor=user, action="policy.figures_export", object_type="policies.Payout",  # type: ignore[arg-type]
                         object_repr="兑现统计导出", after={"group_by": group_by, "from": str(date_from), "to": str(date_to)})
        resp = HttpResponse(data, content_type=XLSX)
        resp["Content-Disposition"] = f'attachment; filename="policy-figures-{group_by}-{date_from}-{date_to}.xlsx"'
        return resp
    query = request.GET.copy()
    query["export"] = "xlsx"
    return _render(request, "policies/figures.html", {
        "fig": fig, "groupings": [(k, str(v)) for k, v in GROUPINGS.items()], "group_by": group_by,
        "headers": [label(a) + (_("（元）") if k == "fen" else "") for a, k in COLUMNS],
        "table": [{"row": r, "cells": _cells(fig, r)} for r in fig.rows],
        "total": {"row": fig.total, "cells": _cells(fig, fig.total)},
        "chart": _chart(fig) if fig.rows else None, "formulas": [str(f) for f in FORMULAS.values()],
        "export_query": query.urlencode(),
    })
