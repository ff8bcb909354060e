"""Registry pages: list with search and filters (htmx), profile, import with error report, export."""

from __future__ import annotations

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from yingshang.core.errors import DomainError, ValidationFailed
from yingshang.core.models import Park, Region, Role, User
from yingshang.core.permissions import can, require
from yingshang.core.views import domain_errors

from . import importer, industries, selectors, services
from .models import Enterprise

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _filters(request: HttpRequest) -> dict[str, str]:
    return {k: request.GET.get(k, "").strip() for k in ("q", "region", "kind", "size", "above", "industry", "park")}


@login_required
@domain_errors
def enterprise_list_view(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    qs = selectors.enterprise_list(actor=request.user, **filters)
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    rows = [selectors.present(e, request.user) for e in page.object_list]
    ctx = {"page": page, "rows": rows, "filters": filters, "query": request.GET.urlencode(),
           "townships": Region.objects.filter(level=Region.Level.TOWNSHIP), "parks": Park.objects.all(),
           "kinds": Enterprise.Kind.choices, "sizes": Enterprise.Size.choices,
           "sections": [i for i in industries.all_entries() if i.level == "section"]}
    template = "enterprises/_rows.html" if request.headers.get("HX-Request") else "enterprises/list.html"
    return render(request, template, ctx)


@login_required
@domain_errors
def enterprise_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    ent = selectors.enterprise_get(actor=request.user, pk=pk)
    user = request.user
    if request.method == "POST":
        try:
            if request.POST.get("action") == "pairing":
                from yingshang.liaison.services import pairing_set

                def person(field: str, role: str) -> User | None:
                    raw = request.POST.get(field, "").strip()
                    if not raw:
                        return None
                    found = User.objects.filter(pk=raw, role=role).first() if raw.isdigit() else None
                    if found is None:
                        raise ValidationFailed("所选人员无效", "invalid person", field=field)
                    return found

                pairing_set(actor=user, enterprise=ent, leader=person("leader", Role.LEADER),
                            commissioner=person("commissioner", Role.DISPATCHER))
                messages.success(request, "包联已保存")
            elif request.POST.get("action") == "figures":
                try:
                    year = int(request.POST.get("year", ""))
                except ValueError:
                    raise ValidationFailed("年度无效", "invalid year", field="year") from None
                services.year_figure_set(actor=user, enterprise=ent, year=year,
                                         values={f: request.POST[f].strip() for f in services.FIGURE_FIELDS
                                                 if request.POST.get(f, "").strip()})
                messages.success(request, f"{year} 年度数据已保存，企业规模已重新划型")
            else:
                services.enterprise_update(actor=user, enterprise=ent, data={
                    f: request.POST.get(f, "").strip() for f in ("contact_name", "contact_phone", "address")})
                messages.success(request, "联系信息已保存")
        except DomainError as exc:
            messages.error(request, f"{exc.message} / {exc.message_en}")
        return redirect("enterprises:detail", pk=ent.pk)
    info = selectors.present(ent, user)
    ind = industries.get(ent.industry_code)
    own = user.role == "enterprise" and user.enterprise_id == ent.pk
    from yingshang.liaison.selectors import pairing_for

    show_pairing = user.role != Role.ENTERPRISE
    extra = {"show_pairing": show_pairing, "pairing": pairing_for(enterprise=ent) if show_pairing else None,
             "can_pair": can(user, "liaison.manage")}
    if extra["can_pair"]:
        extra["leaders"] = User.objects.filter(role=Role.LEADER, is_active=True).order_by("username")
        extra["commissioners"] = User.objects.filter(role=Role.DISPATCHER, is_active=True).order_by("username")
    return render(request, "enterprises/detail.html", {**extra,
        "ent": ent, "info": info, "industry": ind, "figures": selectors.enterprise_figures(enterprise=ent),
        "can_edit_contact": selectors.sees_personal(user, ent) and (own or can(user, "enterprises.edit")), "can_edit_figures": can(user, "enterprises.edit"),
        "contact": {"contact_name": ent.contact_name, "address": ent.address,
                    "contact_phone": ent.contact_phone if selectors.sees_personal(user, ent) else ""},
    })


@login_required
@domain_errors
def export_view(request: HttpRequest) -> HttpResponse:
    from openpyxl import Workbook

    qs = selectors.enterprise_list(actor=request.user, **_filters(request))
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("市场主体")
    cols = ["uscc", "name", "kind_label", "legal_rep", "registered_on", "registered_capital_wan", "industry_code",
            "region_code", "region", "park", "address", "contact_name", "contact_phone", "size_class", "above_designated"]
    heads = ["统一社会信用代码", "名称", "主体类型", "法定代表人", "成立日期", "注册资本（万元）", "行业代码", "区划代码",
             "所属乡镇", "所属园区", "住所", "联系人", "联系电话", "企业规模", "四上"]
    ws.append(heads)
    for ent in qs.iterator(chunk_size=2000):
        d = selectors.present(ent, request.user)
        ws.append([("是" if d[c] else "否") if c == "above_designated" else d[c] for c in cols])
    buf = io.BytesIO()
    wb.save(buf)
    resp = HttpResponse(buf.getvalue(), content_type=XLSX)
    resp["Content-Disposition"] = 'attachment; filename="enterprises.xlsx"'
    return resp


@login_required
@domain_errors
def import_view(request: HttpRequest) -> HttpResponse:
    require(request.user, "enterprises.import")  # type: ignore[arg-type]
    error = None
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise ValidationFailed("请选择要导入的文件", "choose a file to import", field="file")
            try:
                report = importer.import_enterprises(stream=upload.file, name=upload.name or "upload", actor=request.user)
            except ValueError as exc:
                raise ValidationFailed(str(exc), str(exc), field="file") from None
        except DomainError as exc:
            error = exc
        else:
            return redirect("enterprises:import_job", pk=report.job_id)
    jobs = selectors.import_jobs(actor=request.user)[:10]
    return render(request, "enterprises/import.html", {"jobs": jobs, "error": error, "columns": importer.template_headers()},
                  status=400 if error else 200)


@login_required
@domain_errors
def import_job_view(request: HttpRequest, pk: int) -> HttpResponse:
    job = selectors.import_job_get(actor=request.user, pk=pk)
    return render(request, "enterprises/import_job.html", {"job": job, "errors": job.errors.all()[:200]})


@login_required
@domain_errors
def import_errors_view(request: HttpRequest, pk: int) -> HttpResponse:
    job = selectors.import_job_get(actor=request.user, pk=pk)
    resp = HttpResponse(importer.error_report_xlsx(job), content_type=XLSX)
    resp["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.xlsx"'
    return resp


@login_required
@domain_errors
def import_template_view(request: HttpRequest) -> HttpResponse:
    require(request.user, "enterprises.import")  # type: ignore[arg-type]
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "市场主体"
    ws.append(importer.template_headers())
    buf = io.BytesIO()
    wb.save(buf)
    resp = HttpResponse(buf.getvalue(), content_type=XLSX)
    resp["Content-Disposition"] = 'attachment; filename="enterprise-import-template.xlsx"'
    return resp


