"""Pages of the credit lists: the list with filters, and for the office (and inspectors) the add,
import and remove (信用修复) forms.  An enterprise user sees its own entries only."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yingshang.core.errors import DomainError, ValidationFailed
from yingshang.core.permissions import can, require
from yingshang.core.views import domain_errors
from yingshang.enterprises import uscc as uscc_codes
from yingshang.enterprises.models import Enterprise

from . import credit_file, selectors, services
from .models import CreditListEntry

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

#: Suggestions for the add form (free text is accepted).
REASONS = {
    "black": ["严重失信主体", "失信被执行人", "重大税收违法失信主体", "拖欠农民工工资失信联合惩戒对象",
              "安全生产严重失信主体", "环境保护严重失信主体"],
    "red": ["A级纳税人", "守合同重信用企业", "劳动保障守法诚信示范单位", "诚信示范企业", "守信激励对象"],
}
SOURCES = ["县市场监督管理局", "县人民法院", "县税务局", "县人力资源和社会保障局", "县应急管理局", "县生态环境局",
           "县发展和改革委员会", "信用中国"]
FORM_FIELDS = ("uscc", "kind", "reason", "source", "listed_on", "expires_on", "document_number")


def state(entry: CreditListEntry, today: dt.date) -> tuple[bool, str, str]:
    """(active, label, tag colour) of an entry on ``today``."""
    if entry.removed_at is not None:
        return False, str(entry.get_removal_display()), ""
    if entry.expires_on is not None and entry.expires_on <= today:
        return False, str(CreditListEntry.Removal.EXPIRED.label), ""
    if entry.listed_on > today:
        return False, _("未生效"), "amber"
    return True, _("有效"), "red" if entry.kind == CreditListEntry.Kind.BLACK else "green"


def _filters(request: HttpRequest) -> dict[str, str]:
    f = {k: request.GET.get(k, "").strip() for k in ("q", "kind", "active")}
    if f["kind"] not in ("", "red", "black"):
        f["kind"] = ""
    if f["active"] not in ("", "1", "0"):
        f["active"] = ""
    return f


def _page(request: HttpRequest, *, status: int = 200, **extra: Any) -> HttpResponse:
    user = request.user
    filters = _filters(request)
    active = {"1": True, "0": False}.get(filters["active"])
    qs = selectors.credit_entries(actor=user, kind=filters["kind"], active=active, q=filters["q"])  # type: ignore[arg-type]
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    today = timezone.localdate()
    rows = [(e, *state(e, today)) for e in page.object_list]
    ctx = {"page": page, "rows": rows, "filters": filters, "query": query.urlencode(), "today": today,
           "can_manage": can(user, "credit.manage"), "is_enterprise": user.role == "enterprise",  # type: ignore[union-attr]
           "kinds": CreditListEntry.Kind.choices, "reasons": REASONS["black"] + REASONS["red"], "sources": SOURCES,
           "columns": [hs[0] for hs in credit_file.COLUMNS.values()],
           "form": {"kind": "black", "listed_on": today.isoformat()}}
    ctx.update(extra)
    return render(request, "supervision/credit_list.html", ctx, status=status)


@login_required
@domain_errors
def credit_list_view(request: HttpRequest) -> HttpResponse:
    return _page(request)


def _date(value: str, field: str) -> dt.date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed("日期格式应为 2026-01-31", "a date must look like 2026-01-31", field=field) from None


def _back(request: HttpRequest) -> HttpResponse:
    back = request.POST.get("back", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("supervision:credit")


@login_required
@require_POST
@domain_errors
def credit_add_view(request: HttpRequest) -> HttpResponse:
    require(request.user, "credit.manage")  # type: ignore[arg-type]
    form = {k: request.POST.get(k, "").strip() for k in FORM_FIELDS}
    try:
        code = uscc_codes.normalise(form["uscc"])
        ent = Enterprise.objects.filter(uscc=code).first() if code else None
        if ent is None:
            raise ValidationFailed("市场主体库中没有该统一社会信用代码", "no enterprise with this credit code",
                                   field="uscc")
        entry = services.credit_list_add(
            actor=request.user, enterprise=ent, kind=form["kind"], reason=form["reason"], source=form["source"],  # type: ignore[arg-type]
            listed_on=_date(form["listed_on"], "listed_on"), expires_on=_date(form["expires_on"], "expires_on"),
            document_number=form["document_number"])
    except DomainError as exc:
        return _page(request, status=exc.status, add_error=exc, form=form, open_add=True)
    messages.success(request, f"已将 {ent.name} 列入{entry.get_kind_display()}")
    return _back(request)


@login_required
@require_POST
@domain_errors
def credit_remove_view(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, "credit.manage")  # type: ignore[arg-type]
    entry = selectors.credit_entry_get(actor=request.user, pk=pk)  # type: ignore[arg-type]
    try:
        entry = services.credit_list_remove(actor=request.user, entry=entry, reason=request.POST.get("reason", ""))  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, f"{exc.message} / {exc.message_en}")
    else:
        messages.success(request, f"{entry.enterprise.name}：{entry.reason} 已移出（{entry.get_removal_display()}）")
    return _back(request)


@login_required
@require_POST
@domain_errors
def credit_import_view(request: HttpRequest) -> HttpResponse:
    require(request.user, "credit.manage")  # type: ignore[arg-type]
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise ValidationFailed("请选择要导入的文件", "choose a file to import", field="file")
        if upload.size and upload.size > credit_file.MAX_BYTES:
            raise ValidationFailed("文件不能超过 20 MB", "the file is larger than 20 MB", field="file")
        result = services.credit_list_import(actor=request.user, data=upload.read())  # type: ignore[arg-type]
    except services.ImportRejected as exc:
        return _page(request, status=400, import_error=exc, import_problems=exc.problems, open_import=True)
    except DomainError as exc:
        return _page(request, status=exc.status, import_error=exc, open_import=True)
    messages.success(request, f"导入完成：{result.rows} 行，新列入 {result.created} 条，已存在未变 {result.unchanged} 条")
    return _back(request)


@login_required
@domain_errors
def credit_template_view(request: HttpRequest) -> HttpResponse:
    require(request.user, "credit.manage")  # type: ignore[arg-type]
    resp = HttpResponse(credit_file.template_xlsx(), content_type=XLSX)
    resp["Content-Disposition"] = 'attachment; filename="credit-list-template.xlsx"'
    return resp
