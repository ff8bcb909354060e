"""政务服务 pages: the public catalogue and QR guides (码上办、一次告知), the office's catalogue
editing, online application and window filing, the case list and page with its action cards,
live monitoring, 好差评 with rectification, and the figures.

Thin over ``services`` (every change) and ``selectors`` (every read): a page only decides which
forms to show; the services decide what is allowed and say why not."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yingshang.core import workdays
from yingshang.core.errors import DomainError, NotFound, NotPermitted, ValidationFailed
from yingshang.core.models import Attachment, Department, Role, User
from yingshang.core.permissions import can, require
from yingshang.core.services import attachment_store
from yingshang.core.views import domain_errors
from yingshang.enterprises.models import Enterprise

from . import catalogue_xlsx, clock, forms, qr, selectors, services
from .conf import warn_days
from .models import (
    ENDED_STATUSES,
    OPEN_STATUSES,
    PAUSED_STATUSES,
    Bundle,
    Case,
    CaseEvent,
    CaseExtension,
    CaseMaterial,
    ItemType,
    Material,
    MaterialForm,
    Rating,
    Rectification,
    ServiceItem,
    SpecialProcedure,
    SupervisionPush,
    TreeNode,
)
from .todos import STAGES, case_stage, rectification_filter

S = Case.Status
K = CaseEvent.Kind
R = Rectification.Status
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NO_WINDOW = "-"  # the case-list filter value for cases without a window (online applications)
COLOUR_CSS = {clock.GREEN: "green", clock.YELLOW: "amber", clock.RED: "red", clock.OVERDUE: "red"}


def _colour_label(colour: str) -> str:
    return {
        clock.GREEN: _("正常"),
        clock.YELLOW: _("临期"),
        clock.RED: _("今日到期"),
        clock.OVERDUE: _("已超期"),
    }[colour]


def _actor(request: HttpRequest) -> User | None:
    user = request.user
    return user if user.is_authenticated else None  # type: ignore[return-value]


def _error(request: HttpRequest, exc: DomainError) -> None:
    messages.error(request, f"{exc.message} / {exc.message_en}")


def _int_or_none(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() else None


def _store(request: HttpRequest, name: str, actor: User | None) -> Attachment | None:
    upload = request.FILES.get(name)
    if upload is None:
        return None
    return attachment_store(upload=upload, name=upload.name or "file", actor=actor)


def _file_response(att: Attachment, *, public: bool = False) -> FileResponse:
    response = FileResponse(
        att.file.open("rb"), as_attachment=True, filename=att.original_name, content_type=att.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "public, max-age=3600" if public else "private, no-store"
    return response


def _clock_tag(case: Case, bounds: clock.ColourBounds) -> tuple[str, str] | None:
    """The time-left tag of a case in a list: its colour while the clock runs, paused otherwise."""
    if case.status in PAUSED_STATUSES:
        return "", _("计时暂停")
    if case.status == S.ACCEPTED and case.due_date is not None:
        colour = bounds.colour(case.due_date)
        return COLOUR_CSS[colour], _colour_label(colour)
    return None


def _bounds() -> clock.ColourBounds:
    return clock.colour_bounds(timezone.localdate(), warn_days())


def _nav(user: User | None) -> list[tuple[str, str]]:
    """The service pages' second row of links, by what the viewer may open."""
    out = [(_("事项目录"), reverse("service_items:catalogue"))]
    if user is None:
        return out
    gov = can(user, "services.view_all") or can(user, "services.handle")
    if gov or user.role == Role.ENTERPRISE:
        out.append((_("办件") if gov else _("我的办件"), reverse("service_items:cases")))
    if gov:
        out += [
            (_("办件监控"), reverse("service_items:monitor")),
            (_("差评整改"), reverse("service_items:rectifications")),
            (_("审管互动"), reverse("service_items:pushes")),
            (_("统计"), reverse("service_items:figures")),
        ]
    if can(user, "services.catalogue_edit"):
        out += [
            (_("主题树维护"), reverse("service_items:tree_edit")),
            (_("目录导入导出"), reverse("service_items:import")),
        ]
    if gov or can(user, "services.catalogue_edit"):
        out.append((_("二维码打印"), reverse("service_items:qr_sheet")))
    return out


def _render(request: HttpRequest, template: str, ctx: dict[str, Any], status: int = 200) -> HttpResponse:
    return render(request, template, {**ctx, "svc_nav": _nav(_actor(request))}, status=status)


# ------------------------------------------------------------------------------------------- catalogue


def _tree(tree: str) -> list[TreeNode]:
    """The roots of one life-event tree, each node with its children in ``kids`` (three queries)."""
    nodes = selectors.tree_nodes(tree)
    kids: dict[int | None, list[TreeNode]] = defaultdict(list)
    for node in nodes:
        kids[node.parent_id].append(node)
    for node in nodes:
        node.kids = kids.get(node.pk, [])  # type: ignore[attr-defined]
    return kids.get(None, [])


def _flat(nodes: list[TreeNode], depth: int = 0) -> Iterator[tuple[TreeNode, int]]:
    for node in nodes:
        yield node, depth
        yield from _flat(node.kids, depth + 1)  # type: ignore[attr-defined]


def catalogue_view(request: HttpRequest) -> HttpResponse:
    """The public catalogue: searchable items, the bundles, and the two life-event trees."""
    user = _actor(request)
    f = {k: request.GET.get(k, "").strip() for k in ("q", "department", "type", "kind", "online")}
    qs = selectors.item_list(q=f["q"], department=_int_or_none(f["department"]))
    if f["type"] in ItemType.values:
        qs = qs.filter(item_type=f["type"])
    if f["kind"] in ("instant", "promised"):
        qs = qs.filter(is_instant=f["kind"] == "instant")
    if f["online"] == "1":
        qs = qs.filter(online=True)
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    ctx: dict[str, Any] = {
        "page": page,
        "filters": f,
        "query": query.urlencode(),
        "can_edit": can(user, "services.catalogue_edit"),
    }
    if request.headers.get("HX-Request"):
        return render(request, "service_items/_catalogue_rows.html", ctx)
    bundles = (
        Bundle.objects.filter(active=True)
        .select_related("lead_department")
        .annotate(n=Count("bundle_items"))
        .order_by("code")
    )
    if f["q"]:
        bundles = bundles.filter(Q(name__contains=f["q"]) | Q(code=f["q"]))
    ctx.update(
        {
            "bundles": bundles,
            "item_types": ItemType.choices,
            "trees": [(value, label, _tree(value)) for value, label in TreeNode.Tree.choices],
            "departments": Department.objects.filter(service_items__active=True).distinct().order_by("code"),
            "can_apply": user is not None
            and (can(user, "services.apply_own") or can(user, "services.handle")),
            "can_cases": user is not None
            and (
                can(user, "services.view_all") or can(user, "services.handle") or user.role == Role.ENTERPRISE
            ),
            "can_monitor": user is not None
            and (can(user, "services.view_all") or can(user, "services.handle")),
        }
    )
    return _render(request, "service_items/catalogue.html", ctx)


@login_required
@domain_errors
def item_edit_view(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    require(user, "services.catalogue_edit")
    item = None
    if pk is not None:
        item = ServiceItem.objects.select_related("department").filter(pk=pk).first()
        if item is None:
            raise NotFound("事项不存在", "no such item")
    error = None
    if request.method == "POST":
        try:
            fields = forms.item_fields(request.POST, editing=item is not None)
            if item is None:
                saved = services.item_create(actor=user, **fields)
            else:
                saved = services.item_update(actor=user, item=item, **fields)
        except DomainError as exc:
            error = exc
        else:
            messages.success(
                request,
                _("事项已保存：%s") % saved.name
                if item
                else _("事项已创建：%s，请继续添加申请材料") % saved.name,
            )
            return redirect("service_items:item_edit", pk=saved.pk)
    ctx = {
        "item": item,
        "values": forms.item_values(item, request.POST if error else None),
        "error": error,
        "materials": list(item.materials.select_related("template")) if item else [],
        "departments": Department.objects.filter(is_office=False).order_by("code"),
        "item_types": ItemType.choices,
        "material_forms": MaterialForm.choices,
        "levels": [("county", _("县级")), ("township", _("乡镇（街道）")), ("village", _("村（社区）"))],
        "bundles": list(item.bundles.all()) if item else [],
    }
    return _render(request, "service_items/item_form.html", ctx, status=400 if error else 200)


@login_required
@require_POST
@domain_errors
def material_act_view(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    require(user, "services.catalogue_edit")
    item = ServiceItem.objects.filter(pk=pk).first()
    if item is None:
        raise NotFound("事项不存在", "no such item")
    if action not in ("add", "update", "remove"):
        raise NotFound("未知操作", f"unknown action {action}")
    try:
        if action == "add":
            fields = forms.material_fields(request.POST)
            template = _store(request, "template", user)
            m = services.material_add(actor=user, item=item, template=template, **fields)
            done = _("已添加材料「%s」") % m.name
        else:
            m = Material.objects.filter(item=item, pk=_int_or_none(request.POST.get("material")) or 0).first()
            if m is None:
                raise NotFound("材料不存在", "no such material")
            if action == "remove":
                services.material_remove(actor=user, material=m)
                done = _("已删除材料「%s」") % m.name
            else:
                fields = forms.material_fields(request.POST)
                template = _store(request, "template", user)
                if template is not None:
                    fields["template"] = template
                elif request.POST.get("drop_template") == "1":
                    fields["template"] = None
                m = services.material_update(actor=user, material=m, **fields)
                done = _("已保存材料「%s」") % m.name
    except DomainError as exc:
        _error(request, exc)
    else:
        messages.success(request, done)
    return redirect(reverse("service_items:item_edit", args=[item.pk]) + "#materials")


@login_required
@domain_errors
def bundle_edit_view(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    require(user, "services.catalogue_edit")
    bundle = None
    if pk is not None:
        bundle = Bundle.objects.select_related("lead_department").filter(pk=pk).first()
        if bundle is None:
            raise NotFound("一件事不存在", "no such bundle")
    error = None
    if request.method == "POST":
        try:
            fields = forms.bundle_fields(request.POST)
            if bundle is None:
                saved = services.bundle_create(actor=user, code=request.POST.get("code", ""), **fields)
            else:
                saved = services.bundle_update(
                    actor=user, bundle=bundle, active=request.POST.get("active") == "1", **fields
                )
        except DomainError as exc:
            error = exc
        else:
            messages.success(request, _("一件事已保存：%s") % saved.name)
            return redirect("service_items:bundle_edit", pk=saved.pk)
    all_items = list(
        ServiceItem.objects.filter(active=True)
        .select_related("department")
        .order_by("department__code", "code")
    )
    if error:
        chosen_ids = forms.ids(request.POST.getlist("items"))
    elif bundle is not None:
        chosen_ids = list(bundle.bundle_items.order_by("order", "id").values_list("item_id", flat=True))
    else:
        chosen_ids = []
    by_pk = {i.pk: i for i in all_items}
    chosen = [by_pk[i] for i in chosen_ids if i in by_pk]
    rest = [i for i in all_items if i.pk not in set(chosen_ids)]
    merged = selectors.bundle_materials(bundle) if bundle is not None else []
    saved_items = (
        [bi.item for bi in bundle.bundle_items.select_related("item").order_by("order", "id")]
        if bundle is not None
        else []
    )
    values = (
        request.POST
        if error
        else {
            "code": bundle.code if bundle else "",
            "name": bundle.name if bundle else "",
            "description": bundle.description if bundle else "",
            "window": bundle.window if bundle else "",
            "promised_days": bundle.promised_days if bundle else "",
            "lead_department": str(bundle.lead_department_id) if bundle else "",
            "active": "1" if bundle is None or bundle.active else "",
        }
    )
    ctx = {
        "bundle": bundle,
        "values": values,
        "error": error,
        "chosen": chosen,
        "rest": rest,
        "departments": Department.objects.filter(is_office=False).order_by("code"),
        "merged": merged,
        "rule": (
            {
                "longest": max(i.promised_days for i in saved_items),
                "total": sum(i.promised_days for i in saved_items),
            }
            if saved_items
            else None
        ),
        "codes": {i.code: i.name for i in saved_items},
    }
    return _render(request, "service_items/bundle_form.html", ctx, status=400 if error else 200)


@login_required
@domain_errors
def tree_edit_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    require(user, "services.catalogue_edit")
    tree = request.GET.get("tree") or TreeNode.Tree.ENTERPRISE
    roots = _tree(tree)
    flat = list(_flat(roots))
    for node, depth in flat:
        node.indent = "　" * depth  # type: ignore[attr-defined]
    linking = next((n for n, _d in flat if n.pk == _int_or_none(request.GET.get("node"))), None)
    ctx: dict[str, Any] = {
        "tree": tree,
        "trees": TreeNode.Tree.choices,
        "roots": roots,
        "flat": flat,
        "linking": linking,
    }
    if linking is not None:
        ctx["linked_bundles"] = {b.pk for b in linking.bundles.all()}
        ctx["linked_items"] = {i.pk for i in linking.items.all()}
        ctx["all_bundles"] = Bundle.objects.filter(active=True).order_by("code").values("pk", "code", "name")
        ctx["all_items"] = (
            ServiceItem.objects.filter(active=True)
            .order_by("department__code", "code")
            .values("pk", "code", "name", "department__name")
        )
    return _render(request, "service_items/tree_edit.html", ctx)


@login_required
@require_POST
@domain_errors
def tree_act_view(request: HttpRequest, action: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    require(user, "services.catalogue_edit")
    if action not in ("add", "rename", "move", "delete", "link"):
        raise NotFound("未知操作", f"unknown action {action}")
    p = request.POST
    tree = p.get("tree") or TreeNode.Tree.ENTERPRISE
    anchor = ""
    try:
        if action == "add":
            parent = forms.tree_node(p.get("parent"), "parent", required=False)
            node = services.tree_node_create(
                actor=user,
                tree=tree,
                name=p.get("name", ""),
                parent=parent,
                order=forms.optional_integer(p.get("order"), "order", "排序") or 0,
            )
            done, anchor = _("已添加「%s」") % node.name, f"#node-{node.pk}"
        else:
            node = forms.tree_node(p.get("node"))
            assert node is not None
            tree, anchor = node.tree, f"#node-{node.pk}"
            if action == "rename":
                services.tree_node_update(actor=user, node=node, name=p.get("name", ""))
                done = _("已重命名")
            elif action == "move":
                parent = forms.tree_node(p.get("parent"), "parent", required=False)
                services.tree_node_move(
                    actor=user,
                    node=node,
                    parent=parent,
                    order=forms.optional_integer(p.get("order"), "order", "排序"),
                )
                done = _("已移动「%s」") % node.name
            elif action == "delete":
                services.tree_node_delete(actor=user, node=node)
                done, anchor = _("已删除「%s」") % node.name, ""
            else:
                services.tree_node_update(
                    actor=user,
                    node=node,
                    bundles=forms.bundles(p.getlist("bundles")),
                    items=forms.items(p.getlist("items")),
                )
                done = _("已更新「%s」关联的一件事和事项") % node.name
    except DomainError as exc:
        _error(request, exc)
    else:
        messages.success(request, done)
    return redirect(reverse("service_items:tree_edit") + "?" + urlencode({"tree": tree}) + anchor)


@login_required
@domain_errors
def catalogue_import_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    require(user, "services.catalogue_edit")
    report, error = None, None
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise ValidationFailed("请选择要导入的 XLSX 文件", "choose an XLSX file", field="file")
            report = catalogue_xlsx.catalogue_import(actor=user, stream=upload)
        except DomainError as exc:
            error = exc
    return _render(
        request,
        "service_items/import.html",
        {
            "report": report,
            "error": error,
            "item_columns": [hs[0] for hs in catalogue_xlsx.ITEM_COLUMNS.values()],
            "material_columns": [hs[0] for hs in catalogue_xlsx.MATERIAL_COLUMNS.values()],
            "item_sheet": catalogue_xlsx.ITEM_SHEET,
            "material_sheet": catalogue_xlsx.MATERIAL_SHEET,
        },
        status=400 if error else 200,
    )


@login_required
@domain_errors
def catalogue_export_view(request: HttpRequest) -> HttpResponse:
    data = catalogue_xlsx.catalogue_export(actor=request.user)  # type: ignore[arg-type]
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="catalogue-{timezone.localdate():%Y%m%d}.xlsx"'
    return response


# ------------------------------------------------------------------------------------------- QR guides


def _item_by_code(code: str) -> ServiceItem:
    item = (
        ServiceItem.objects.select_related("department", "supervising_department").filter(code=code).first()
    )
    if item is None:
        raise NotFound("事项不存在", "no such item")
    return item


def _bundle_by_code(code: str) -> Bundle:
    bundle = Bundle.objects.select_related("lead_department").filter(code=code).first()
    if bundle is None:
        raise NotFound("一件事不存在", "no such bundle")
    return bundle


def _guide_url(request: HttpRequest, kind: str, code: str) -> str:
    return request.build_absolute_uri(reverse(f"service_items:guide_{kind}", args=[code]))


def _apply_role(user: User | None, department_id: int) -> str:
    """What the apply button does for this viewer: online (enterprise), window (the handling
    department's staff), login (anonymous), or nothing."""
    if user is None:
        return "login"
    if can(user, "services.apply_own"):
        return "online"
    if can(user, "services.handle") and user.department_id == department_id:
        return "window"
    return ""


@domain_errors
def guide_item_view(request: HttpRequest, code: str) -> HttpResponse:
    item = _item_by_code(code)
    return _render(
        request,
        "service_items/guide_item.html",
        {
            "item": item,
            "materials": list(item.materials.select_related("template")),
            "bundles": list(item.bundles.filter(active=True)),
            "guide_url": _guide_url(request, "item", code),
            "apply": _apply_role(_actor(request), item.department_id),
            "kind": "item",
        },
    )


@domain_errors
def guide_bundle_view(request: HttpRequest, code: str) -> HttpResponse:
    bundle = _bundle_by_code(code)
    items = [bi.item for bi in bundle.bundle_items.select_related("item__department").order_by("order", "id")]
    merged = selectors.bundle_materials(bundle)
    return _render(
        request,
        "service_items/guide_bundle.html",
        {
            "bundle": bundle,
            "items": items,
            "merged": merged,
            "codes": {i.code: i.name for i in items},
            "online": bool(items) and all(i.online for i in items),
            "notify_commit": [i for i in items if i.notify_commit],
            "guide_url": _guide_url(request, "bundle", code),
            "kind": "bundle",
            "apply": _apply_role(_actor(request), bundle.lead_department_id),
        },
    )


@domain_errors
def template_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A material's blank template (样表): public, like the guide that links to it."""
    att = Attachment.objects.filter(
        pk=pk, pk__in=Material.objects.filter(template__isnull=False).values("template_id")
    ).first()
    if att is None:
        raise NotFound("样表不存在", "no such template")
    return _file_response(att, public=True)


@domain_errors
def qr_view(request: HttpRequest, kind: str, code: str, fmt: str) -> HttpResponse:
    subject = _item_by_code(code) if kind == "item" else _bundle_by_code(code)
    url = _guide_url(request, kind, code)
    if fmt == "svg":
        response = HttpResponse(qr.svg(url, title=subject.name), content_type="image/svg+xml")
    else:
        response = HttpResponse(qr.png(url), content_type="image/png")
    response["Cache-Control"] = "public, max-age=86400"
    if request.GET.get("download"):
        response["Content-Disposition"] = f'attachment; filename="qr-{kind}-{subject.pk}.{fmt}"'
    return response


@domain_errors
def qr_sheet_view(request: HttpRequest) -> HttpResponse:
    """A printable A4 sheet of the guides' QR codes of one department, for its window."""
    departments = (
        Department.objects.filter(Q(service_items__active=True) | Q(lead_bundles__active=True))
        .distinct()
        .order_by("code")
    )
    dept_id = _int_or_none(request.GET.get("department"))
    dept = Department.objects.filter(pk=dept_id).first() if dept_id else None
    cards = []
    if dept is not None:
        for kind, rows in (
            ("bundle", Bundle.objects.filter(lead_department=dept, active=True).order_by("code")),
            ("item", selectors.item_list(department=dept.pk)),
        ):
            for s in rows:
                url = _guide_url(request, kind, s.code)
                cards.append(
                    {
                        "kind": kind,
                        "name": s.name,
                        "code": s.code,
                        "url": url,
                        "svg": qr.svg_inline(url),
                        "window": s.window,
                        "online": getattr(s, "online", False),
                    }
                )
    return _render(
        request, "service_items/qr_sheet.html", {"departments": departments, "dept": dept, "cards": cards}
    )


# ------------------------------------------------------------------------------------------- apply


@login_required
@domain_errors
def apply_view(request: HttpRequest, kind: str, code: str) -> HttpResponse:
    """Apply online (an enterprise user, for their own enterprise) or file at the window (staff of
    the handling department, who check the paper materials)."""
    user: User = request.user  # type: ignore[assignment]
    subject: ServiceItem | Bundle = _item_by_code(code) if kind == "item" else _bundle_by_code(code)
    department_id = subject.department_id if isinstance(subject, ServiceItem) else subject.lead_department_id
    mode = _apply_role(user, department_id)
    if not mode:
        raise NotPermitted(
            "只有企业用户或承办部门工作人员可以申办",
            "only enterprise users or the handling department's staff file applications",
        )
    own = None
    if mode == "online":
        own = Enterprise.objects.filter(pk=user.enterprise_id).first()
        if own is None:
            raise NotPermitted("账号未关联企业", "this account is not linked to an enterprise")
    if isinstance(subject, Bundle):
        merged = selectors.bundle_materials(subject)
        items = [bi.item for bi in subject.bundle_items.select_related("item").order_by("order", "id")]
        online = bool(items) and all(i.online for i in items)
    else:
        merged, online = selectors.subject_materials(subject), subject.online
    error = None
    p = request.POST
    if request.method == "POST":
        try:
            provided: dict[int, Attachment | None] = {}
            for m in merged:
                key = m.material_ids[0]
                att = _store(request, f"file_{key}", user)
                if att is not None:
                    provided[key] = att
                elif mode == "window" and p.get(f"got_{key}") == "1":
                    provided[key] = None
            target = {"item": subject} if isinstance(subject, ServiceItem) else {"bundle": subject}
            if mode == "online":
                case = services.case_apply(
                    actor=user,
                    enterprise=own,
                    applicant_name=p.get("applicant_name", ""),
                    applicant_phone=p.get("applicant_phone", ""),
                    provided=provided,
                    **target,
                )
            else:
                uscc = p.get("uscc", "").strip().upper()
                enterprise = None
                if uscc:
                    enterprise = Enterprise.objects.filter(uscc=uscc).first()
                    if enterprise is None:
                        raise ValidationFailed(
                            "未找到该统一社会信用代码对应的市场主体",
                            "no enterprise with this unified social credit code",
                            field="uscc",
                        )
                case = services.case_apply(
                    actor=user,
                    enterprise=enterprise,
                    applicant_name=p.get("applicant_name", ""),
                    applicant_phone=p.get("applicant_phone", ""),
                    provided=provided,
                    window=p.get("window", ""),
                    **target,
                )
        except DomainError as exc:
            error = exc
        else:
            missing = case.materials.exclude(status=CaseMaterial.Status.PROVIDED).count()
            msg = _("申请已提交，办件编号 %(n)s") % {"n": case.number}
            if missing:
                msg += _("；尚有 %(m)d 项材料未提交，可在办件页面补传") % {"m": missing}
            messages.success(request, msg)
            return redirect("service_items:case_detail", pk=case.pk)
    values = (
        p
        if error
        else {
            "applicant_name": own.name if own else "",
            "applicant_phone": (user.phone or (own.contact_phone if own else "")) if mode == "online" else "",
            "window": subject.window,
        }
    )
    return _render(
        request,
        "service_items/apply.html",
        {
            "subject": subject,
            "kind": kind,
            "mode": mode,
            "own": own,
            "merged": merged,
            "online": online,
            "values": values,
            "error": error,
            "form_labels": dict(MaterialForm.choices),
        },
        status=400 if error else 200,
    )


# ------------------------------------------------------------------------------------------- cases


CASE_FILTERS = ("status", "colour", "department", "q", "stage", "window", "item", "bundle")
ENTERPRISE_STAGES = ("paused", "tolerated", "to_rate")  # the others are the government side's work


@login_required
@domain_errors
def case_list_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    f = {k: request.GET.get(k, "").strip() for k in CASE_FILTERS}
    qs = selectors.case_list(
        actor=user,
        status=f["status"],
        colour=f["colour"],
        q=f["q"],
        department=_int_or_none(f["department"]),
        item=_int_or_none(f["item"]),
        bundle=_int_or_none(f["bundle"]),
        window="" if f["window"] == NO_WINDOW else f["window"],
    )
    if f["window"] == NO_WINDOW:
        qs = qs.filter(window="")
    is_enterprise = user.role == Role.ENTERPRISE
    stages = [k for k in STAGES if not is_enterprise or k in ENTERPRISE_STAGES]
    qs = case_stage(qs, f["stage"] if f["stage"] in stages else "")
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    bounds = _bounds()
    query = request.GET.copy()
    query.pop("page", None)
    office = can(user, "services.view_all")
    ctx = {
        "page": page,
        "rows": [(c, _clock_tag(c, bounds)) for c in page.object_list],
        "filters": f,
        "query": query.urlencode(),
        "statuses": S.choices,
        "stages": [(k, str(STAGES[k])) for k in stages],
        "colours": [(c, _colour_label(c)) for c in clock.COLOURS],
        "office": office,
        "is_enterprise": is_enterprise,
        "departments": Department.objects.filter(is_office=False).order_by("code") if office else [],
    }
    if request.headers.get("HX-Request"):
        return render(request, "service_items/_case_rows.html", ctx)
    return _render(request, "service_items/case_list.html", ctx)


def _event_summary(ev: CaseEvent) -> str:
    d = ev.data or {}
    k = ev.kind
    parts: list[str] = []
    if k == K.APPLY:
        if d.get("channel") in Case.Channel.values:
            parts.append(str(Case.Channel(d["channel"]).label))
        if d.get("missing"):
            parts.append(_("未交材料：%s") % "、".join(d["missing"]))
    elif k == K.ACCEPT:
        parts.append(
            _("承诺 %(n)s 个工作日，%(d)s 前办结") % {"n": d.get("promised_days"), "d": d.get("due_date")}
        )
        if d.get("tolerated"):
            parts.append(
                _("容缺：%s") % "、".join(f"{n}（{due} 前补齐）" for n, due in d["tolerated"].items())
            )
    elif k == K.CORRECTION_REQUEST:
        parts.append(_("第 %s 次补正，计时暂停") % d.get("round"))
        parts += [f"{i}. {e.get('name')}（{e.get('reason')}）" for i, e in enumerate(d.get("items", []), 1)]
    elif k == K.CORRECTION_SUBMIT:
        parts.append("、".join(d.get("materials", [])))
        if d.get("complete"):
            parts.append(_("材料已齐，计时恢复，%s 前办结") % d.get("due_date"))
        elif d.get("outstanding"):
            parts.append(_("仍缺：%s") % "、".join(d["outstanding"]))
    elif k == K.MATERIAL:
        parts.append(str(d.get("material", "")))
    elif k == K.EXTENSION_REQUEST:
        parts.append(_("%s 个工作日") % d.get("days"))
    elif k == K.EXTENSION_DECISION:
        parts.append(_("已批准") if d.get("approved") else _("已驳回"))
        if d.get("approved"):
            parts.append(_("办结期限 %(old)s → %(new)s") % {"old": d.get("old_due"), "new": d.get("new_due")})
    elif k == K.SPECIAL_START:
        if d.get("procedure") in SpecialProcedure.Kind.values:
            parts.append(str(SpecialProcedure.Kind(d["procedure"]).label) + _("，计时暂停"))
        if d.get("expected_days"):
            parts.append(_("预计 %s 个工作日") % d["expected_days"])
    elif k == K.SPECIAL_END:
        parts.append(_("计时恢复，%s 前办结") % d.get("due_date"))
    elif k == K.DECIDE:
        if d.get("decision") in Case.Decision.values:
            parts.append(str(Case.Decision(d["decision"]).label))
        parts.append(
            (_("按时") if d.get("on_time") else _("超期")) + _("，用时 %s 个工作日") % d.get("used_days")
        )
    elif k == K.DELIVER:
        if d.get("method") in Case.Delivery.values:
            parts.append(str(Case.Delivery(d["method"]).label))
        if d.get("note"):
            parts.append(str(d["note"]))
    elif k == K.PUSH:
        parts.append(_("事项 %s") % d.get("item"))
    elif k == K.RATE:
        if d.get("level") in Rating.Level.values:
            parts.append(str(Rating.Level(d["level"]).label))
        aspects = [str(Rating.Aspect(a).label) for a in d.get("aspects", []) if a in Rating.Aspect.values]
        if aspects:
            parts.append(_("不满意：%s") % "、".join(aspects))
    elif k in (K.RECT_VERIFY, K.RECT_RESOLVE, K.RECT_ANSWER, K.RECT_APPEAL, K.RECT_APPEAL_DECISION):
        if d.get("rect_to") in R.values:
            parts.append(str(R(d["rect_to"]).label))
    elif k == K.CONTEST_DECISION:
        parts.append(_("认定恶意差评，评价已撤销") if d.get("voided") else _("申诉不成立"))
    elif k in (K.WARN, K.DUE, K.OVERDUE):
        parts.append(_("办结期限 %s") % d.get("due_date"))
    elif k == K.TOLERANCE_OVERDUE:
        parts.append(str(d.get("material", "")))
    elif k == K.RECOMPUTE:
        parts.append(_("办结期限 %(old)s → %(new)s") % {"old": d.get("before"), "new": d.get("due_date")})
    return "；".join(p for p in parts if p)


def _case_roles(user: User, case: Case, pushes: list[SupervisionPush]) -> dict[str, bool]:
    handler = (
        can(user, "services.handle") and bool(user.department_id) and user.department_id == case.department_id
    )
    applicant = (
        user.role == Role.ENTERPRISE
        and case.applicant_enterprise_id is not None
        and user.enterprise_id == case.applicant_enterprise_id
    ) or user.pk == case.applicant_user_id
    return {
        "handler": handler,
        "head": handler and can(user, "services.approve_extension"),
        "applicant": applicant,
        "office": can(user, "services.view_all"),
        "supervisor": can(user, "services.handle")
        and any(p.department_id == user.department_id for p in pushes),
    }


def _allowed(
    case: Case,
    roles: dict[str, bool],
    materials: list[CaseMaterial],
    pending: CaseExtension | None,
    live_extension: bool,
    ratings: list[Rating],
) -> set[str]:
    """The action cards to show; the services check again on submit."""
    st = case.status
    tolerated = any(m.status == CaseMaterial.Status.TOLERATED for m in materials)
    missing = any(m.status != CaseMaterial.Status.PROVIDED for m in materials)
    allowed: set[str] = set()
    if roles["handler"]:
        if st == S.SUBMITTED:
            allowed |= {"accept", "reject"}
        if st == S.ACCEPTED:
            allowed |= {"correction", "special_start", "decide"}
        if st == S.CORRECTING:
            allowed.add("receive_correction")
        if st == S.SPECIAL:
            allowed.add("special_end")
        if (
            st in OPEN_STATUSES
            and not live_extension
            and case.subject.extension_cap > 0
            and not (case.due_date and timezone.localdate() > case.due_date)
        ):
            allowed.add("extension_request")
        if st in (*OPEN_STATUSES, S.DECIDED) and tolerated:
            allowed.add("receive")
        if st == S.DECIDED:
            allowed.add("deliver")
        if st in ENDED_STATUSES and not ratings:
            allowed.add("rate_qr")
    if roles["head"] and pending is not None and st in OPEN_STATUSES:
        allowed.add("extension_decide")
    if roles["applicant"]:
        if (st == S.SUBMITTED and missing) or (st in (*OPEN_STATUSES, S.DECIDED) and tolerated):
            allowed.add("provide")
        if st == S.CORRECTING:
            allowed.add("submit_correction")
        if st in ENDED_STATUSES and not any(r.channel == Rating.Channel.CASE_PAGE for r in ratings):
            allowed.add("rate")
    return allowed


@login_required
@domain_errors
def case_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    case = selectors.case_get(actor=user, pk=pk)
    internal = user.role != Role.ENTERPRISE
    materials = list(case.materials.select_related("attachment"))
    corrections = list(case.corrections.select_related("requested_by"))
    open_correction = next((c for c in corrections if c.completed_on is None), None)
    extensions = list(case.extensions.select_related("requested_by", "decided_by").order_by("-requested_at"))
    pending = next((e for e in extensions if e.status == CaseExtension.Status.PENDING), None)
    live = any(e.status in (CaseExtension.Status.PENDING, CaseExtension.Status.APPROVED) for e in extensions)
    pushes = list(case.pushes.select_related("department", "item", "acknowledged_by"))
    ratings = list(case.ratings.select_related("rectification"))
    roles = _case_roles(user, case, pushes)
    allowed = _allowed(case, roles, materials, pending, live, ratings)
    today = timezone.localdate()
    clock_info: dict[str, Any] = {}
    if case.accepted_on and case.due_date:
        clock_info["left"] = clock.time_left(case.due_date, today)
        if case.status == S.ACCEPTED:
            colour = clock.colour(case.due_date, today, warn_days())
            clock_info["tag"] = (COLOUR_CSS[colour], _colour_label(colour))
        elif case.status in PAUSED_STATUSES:
            clock_info["tag"] = ("", _("计时暂停"))
    wanted = {e["case_material"]: e["reason"] for e in open_correction.items} if open_correction else {}
    ctx: dict[str, Any] = {
        "case": case,
        "subject": case.subject,
        "materials": materials,
        "corrections": corrections,
        "open_correction": open_correction,
        "wanted": [(m, wanted[m.pk]) for m in materials if m.pk in wanted],
        "extensions": extensions if internal else [],
        "pending": pending,
        "pushes": pushes,
        "ratings": ratings,
        "procedures": list(case.special_procedures.all()),
        "roles": roles,
        "allowed": allowed,
        "internal": internal,
        "clock": clock_info,
        "today": today,
        "timeline": [(ev, _event_summary(ev)) for ev in selectors.case_timeline(actor=user, case=case)],
        "levels": Rating.Level.choices,
        "aspects": Rating.Aspect.choices,
        "procedure_kinds": SpecialProcedure.Kind.choices,
        "deliveries": Case.Delivery.choices,
        "extension_cap": case.subject.extension_cap,
        "tolerance_default": workdays.add(today, max(1, case.promised_days)).date
        if "accept" in allowed
        else None,
        "open_pushes": [
            p
            for p in pushes
            if p.acknowledged_at is None and roles["supervisor"] and p.department_id == user.department_id
        ],
        "answered": [
            r.rectification
            for r in ratings
            if roles["applicant"]
            and hasattr(r, "rectification")
            and r.rectification.status == R.ANSWERED
            and r.rectification.appealed_at is None
        ],
    }
    return _render(request, "service_items/case_detail.html", ctx)


CASE_ACTIONS = (
    "accept",
    "reject",
    "correction",
    "submit_correction",
    "provide",
    "extension_request",
    "extension_decide",
    "special_start",
    "special_end",
    "decide",
    "deliver",
    "rate",
    "appeal",
    "ack",
)


def _case_do(action: str, request: HttpRequest, user: User, case: Case) -> str:
    """Run one action through its service; returns the success message."""
    p = request.POST
    if action == "accept":
        tolerated = {
            pk: forms.date(p.get(f"due_{pk}"), "tolerated", "容缺补齐期限")
            for pk in forms.ids(p.getlist("tolerated"))
        }
        services.case_accept(
            actor=user, case=case, provided=forms.ids(p.getlist("provided")), tolerated=tolerated
        )
        return _("已受理，计时开始")
    if action == "reject":
        services.case_reject(actor=user, case=case, reason=p.get("reason", ""))
        return _("已作出不予受理决定并告知申请人")
    if action == "correction":
        rows = {m.pk: m for m in case.materials.all()}
        listed: list[tuple[CaseMaterial | str, str]] = [
            (rows[pk], p.get(f"reason_{pk}", "")) for pk in forms.ids(p.getlist("correct")) if pk in rows
        ]
        for n in range(1, 4):
            name = p.get(f"extra_name_{n}", "").strip()
            if name:
                listed.append((name, p.get(f"extra_reason_{n}", "")))
        services.case_request_correction(actor=user, case=case, items=listed, note=p.get("note", ""))
        return _("已一次性告知补正 %d 项材料，计时暂停") % len(listed)
    if action == "submit_correction":
        correction = case.corrections.filter(completed_on__isnull=True).first()
        if correction is None:
            raise ValidationFailed("没有待补正的通知", "no open correction notice")
        provided: dict[int, Attachment | None] = {}
        for e in correction.items:
            pk = e["case_material"]
            att = _store(request, f"file_{pk}", user)
            if att is not None or p.get(f"got_{pk}") == "1":
                provided[pk] = att
        case = services.case_submit_correction(actor=user, case=case, provided=provided)
        if case.status == S.CORRECTING:
            return _("已提交 %d 项补正材料，尚有材料未补齐") % len(provided)
        return _("补正材料已齐，计时恢复")
    if action == "provide":
        rows = list(case.materials.exclude(status=CaseMaterial.Status.PROVIDED))
        done = 0
        for row in rows:
            att = _store(request, f"file_{row.pk}", user)
            if att is not None or p.get(f"got_{row.pk}") == "1":
                services.case_material_provide(actor=user, case=case, material=row, attachment=att)
                done += 1
        if not done:
            raise ValidationFailed("请选择要提交的材料文件", "choose the files to submit", field="file")
        return _("已提交 %d 项材料") % done
    if action == "extension_request":
        services.case_extension_request(
            actor=user,
            case=case,
            reason=p.get("reason", ""),
            days=forms.integer(p.get("days"), "days", "延期天数", minimum=1, maximum=99),
        )
        return _("延期申请已提交，待部门负责人审批")
    if action == "extension_decide":
        ext = case.extensions.filter(pk=_int_or_none(p.get("extension")) or 0).first()
        if ext is None:
            raise NotFound("延期申请不存在", "no such extension request")
        approve = p.get("decision") == "approve"
        services.case_extension_decide(actor=user, extension=ext, approve=approve, note=p.get("note", ""))
        return _("已批准延期") if approve else _("已驳回延期申请")
    if action == "special_start":
        services.case_special_start(
            actor=user,
            case=case,
            kind=p.get("kind", ""),
            note=p.get("note", ""),
            expected_days=forms.optional_integer(
                p.get("expected_days"), "expected_days", "预计工作日", minimum=1
            ),
        )
        return _("已启动特别程序，计时暂停")
    if action == "special_end":
        services.case_special_end(actor=user, case=case, result=p.get("result", ""))
        return _("特别程序已结束，计时恢复")
    if action == "decide":
        approve = p.get("decision") == "approve"
        services.case_decide(actor=user, case=case, approve=approve, reason=p.get("reason", ""))
        return _("已作出准予决定") if approve else _("已作出不予准予决定")
    if action == "deliver":
        services.case_deliver(actor=user, case=case, method=p.get("method", ""), note=p.get("note", ""))
        return _("已送达，办件办结")
    if action == "rate":
        services.case_rate(
            actor=user,
            case=case,
            channel=Rating.Channel.CASE_PAGE,
            level=forms.integer(p.get("level"), "level", "评价等级", minimum=1, maximum=5),
            comment=p.get("comment", ""),
            bad_aspects=p.getlist("aspects"),
        )
        return _("感谢您的评价")
    if action == "appeal":
        rect = Rectification.objects.filter(
            rating__case=case, pk=_int_or_none(p.get("rectification")) or 0
        ).first()
        if rect is None:
            raise NotFound("整改任务不存在", "no such rectification task")
        services.rectification_appeal(actor=user, rectification=rect, reason=p.get("reason", ""))
        return _("申诉已提交，营商办将复核")
    if action == "ack":
        push = case.pushes.filter(pk=_int_or_none(p.get("push")) or 0).first()
        if push is None:
            raise NotFound("推送不存在", "no such push")
        services.supervision_acknowledge(actor=user, push=push, note=p.get("note", ""))
        return _("已认领审批结果，纳入事中事后监管")
    raise NotFound("未知操作", f"unknown action {action}")


@login_required
@require_POST
@domain_errors
def case_act_view(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if action not in CASE_ACTIONS:
        raise NotFound("未知操作", f"unknown action {action}")
    case = selectors.case_get(actor=user, pk=pk)  # 403/404 when the viewer may not see it at all
    try:
        done = _case_do(action, request, user, case)
    except DomainError as exc:
        _error(request, exc)
    else:
        messages.success(request, done)
    return redirect("service_items:case_detail", pk=case.pk)


@login_required
@domain_errors
def case_file_view(request: HttpRequest, pk: int, attachment_pk: int) -> HttpResponse:
    case = selectors.case_get(actor=request.user, pk=pk)  # type: ignore[arg-type]
    att = Attachment.objects.filter(pk=attachment_pk, pk__in=case.materials.values("attachment_id")).first()
    if att is None:
        raise NotFound("附件不存在", "no such attachment")
    return _file_response(att)


# ------------------------------------------------------------------------------------------- 好差评


def _rate_url(request: HttpRequest, case: Case, via: str = "") -> str:
    url = request.build_absolute_uri(reverse("service_items:rate", args=[services.rating_token(case)]))
    return f"{url}?via={via}" if via else url


@login_required
@domain_errors
def case_rate_qr_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The QR code of a case's rating link, shown at the window for the applicant to scan."""
    user: User = request.user  # type: ignore[assignment]
    case = selectors.case_get(actor=user, pk=pk)
    if not (can(user, "services.handle") and user.department_id == case.department_id):
        raise NotPermitted(
            "只有承办部门可以出示评价二维码", "only the handling department shows the rating code"
        )
    response = HttpResponse(qr.svg(_rate_url(request, case, "qr"), scale=5), content_type="image/svg+xml")
    response["Cache-Control"] = "private, no-store"
    return response


def _token_case(token: str) -> Case:
    case = services.case_for_rating_token(token)
    if case is None:
        raise NotFound("评价链接无效", "invalid rating link")
    return case


@domain_errors
def rate_token_view(request: HttpRequest, token: str) -> HttpResponse:
    """The rating link of a case (SMS, or the QR code at the window): no account needed."""
    case = _token_case(token)
    via = request.GET.get("via") or request.POST.get("via") or ""
    channel = Rating.Channel.QR if via == "qr" else Rating.Channel.SMS
    actor = _actor(request)
    if request.method == "POST":
        p = request.POST
        try:
            if p.get("action") == "appeal":
                rect = Rectification.objects.filter(
                    rating__case=case, pk=_int_or_none(p.get("rectification")) or 0
                ).first()
                if rect is None:
                    raise NotFound("整改任务不存在", "no such rectification task")
                services.rectification_appeal(
                    actor=actor, rectification=rect, reason=p.get("reason", ""), token=token
                )
                done = _("申诉已提交，营商办将复核")
            else:
                services.case_rate(
                    actor=actor,
                    case=case,
                    channel=channel,
                    level=forms.integer(p.get("level"), "level", "评价等级", minimum=1, maximum=5),
                    comment=p.get("comment", ""),
                    bad_aspects=p.getlist("aspects"),
                    token=token,
                )
                done = _("感谢您的评价")
        except DomainError as exc:
            _error(request, exc)
        else:
            messages.success(request, done)
        return redirect(request.path + (f"?via={via}" if via else ""))
    ratings = list(case.ratings.select_related("rectification"))
    return _render(
        request,
        "service_items/rate_token.html",
        {
            "case": case,
            "subject": case.subject,
            "via": via,
            "channel": channel,
            "rated": next((r for r in ratings if r.channel == channel), None),
            "can_rate": case.status in ENDED_STATUSES,
            "levels": Rating.Level.choices,
            "aspects": Rating.Aspect.choices,
            "answered": [
                r.rectification
                for r in ratings
                if hasattr(r, "rectification") and r.rectification.status in (R.ANSWERED, R.APPEALED)
            ],
        },
    )


def _rect_get(user: User, pk: int) -> Rectification:
    rect = (
        selectors.rectification_list(actor=user)
        .select_related(
            "rating__case__item",
            "rating__case__bundle",
            "verified_by",
            "resolved_by",
            "answered_by",
            "appeal_decided_by",
            "rating__contested_by",
            "rating__contest_decided_by",
        )
        .filter(pk=pk)
        .first()
    )
    if rect is None:
        if Rectification.objects.filter(pk=pk).exists():
            raise NotPermitted("只能查看本部门的差评整改", "you can only see your department's tasks")
        raise NotFound("整改任务不存在", "no such rectification task")
    return rect


@login_required
@domain_errors
def rectification_list_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    f = {k: request.GET.get(k, "").strip() for k in ("status", "state", "contest")}
    qs = selectors.rectification_list(actor=user, status=f["status"] if f["status"] in R.values else "")
    qs = rectification_filter(qs, state=f["state"], contest=f["contest"])
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return _render(
        request,
        "service_items/rectifications.html",
        {
            "page": page,
            "filters": f,
            "query": query.urlencode(),
            "statuses": R.choices,
            "today": timezone.localdate(),
            "contests": [c for c in Rating.Contest.choices if c[0]],
        },
    )


@login_required
@domain_errors
def rectification_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    rect = _rect_get(user, pk)
    rating = rect.rating
    dept = can(user, "services.handle") and user.department_id == rect.department_id
    office = can(user, "services.decide_contest")
    allowed: set[str] = set()
    if dept:
        allowed |= {
            R.OPEN: {"verify"},
            R.VERIFIED: {"resolve"},
            R.RECTIFIED: {"answer"},
            R.EXPLAINED: {"answer"},
        }.get(rect.status, set())
        if rating.contest_status == Rating.Contest.NONE and rect.status != R.VOIDED:
            allowed.add("contest")
    if office and rect.status == R.APPEALED:
        allowed.add("appeal_decide")
    if office and rating.contest_status == Rating.Contest.PENDING:
        allowed.add("contest_decide")
    aspects = [str(Rating.Aspect(a).label) for a in rating.bad_aspects if a in Rating.Aspect.values]
    return _render(
        request,
        "service_items/rectification_detail.html",
        {
            "rect": rect,
            "rating": rating,
            "case": rating.case,
            "aspects": aspects,
            "allowed": allowed,
            "today": timezone.localdate(),
            "steps": [R.OPEN, R.VERIFIED, (R.RECTIFIED, R.EXPLAINED), R.ANSWERED],
        },
    )


RECT_ACTIONS = ("verify", "resolve", "answer", "appeal_decide", "contest", "contest_decide")


@login_required
@require_POST
@domain_errors
def rectification_act_view(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if action not in RECT_ACTIONS:
        raise NotFound("未知操作", f"unknown action {action}")
    rect = _rect_get(user, pk)
    p = request.POST
    try:
        if action == "verify":
            services.rectification_verify(
                actor=user, rectification=rect, note=p.get("note", ""), reached=p.get("reached") == "1"
            )
            done = _("已记录核实情况")
        elif action == "resolve":
            services.rectification_resolve(
                actor=user, rectification=rect, outcome=p.get("outcome", ""), text=p.get("text", "")
            )
            done = _("已记录整改情况")
        elif action == "answer":
            services.rectification_answer(actor=user, rectification=rect, answer=p.get("answer", ""))
            done = _("已回复评价人")
        elif action == "appeal_decide":
            reopen = p.get("decision") == "reopen"
            services.rectification_appeal_decide(
                actor=user, rectification=rect, reopen=reopen, note=p.get("note", "")
            )
            done = _("申诉成立，已退回部门重新整改") if reopen else _("申诉不成立，维持原答复")
        elif action == "contest":
            services.rating_contest(actor=user, rating=rect.rating, reason=p.get("reason", ""))
            done = _("恶意差评申诉已提交营商办认定")
        else:
            void = p.get("decision") == "void"
            services.rating_contest_decide(actor=user, rating=rect.rating, void=void, note=p.get("note", ""))
            done = _("已认定恶意差评并撤销") if void else _("申诉不成立，继续整改")
    except DomainError as exc:
        _error(request, exc)
    else:
        messages.success(request, done)
    return redirect("service_items:rectification_detail", pk=rect.pk)


# ------------------------------------------------------------------------------------------- monitoring


def _list_link(**params: Any) -> str:
    return (
        reverse("service_items:cases") + "?" + urlencode({k: v for k, v in params.items() if v is not None})
    )


@login_required
@domain_errors
def monitor_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    today = timezone.localdate()
    mon = selectors.case_monitor(actor=user, today=today)
    overdue_qs = selectors.case_overdue_list(actor=user, today=today)
    overdue = [(c, -clock.time_left(c.due_date, today)) for c in overdue_qs[:50]]  # type: ignore[arg-type]
    pushes_qs = selectors.supervision_pending(actor=user)
    colours = [*clock.COLOURS, "paused"]
    labels = [_colour_label(c) for c in clock.COLOURS] + [_("计时暂停")]

    def cells(row: selectors.MonitorRow, **scope: Any) -> list[dict[str, Any]]:
        out = []
        for c, label in zip(colours, labels):
            link = _list_link(**scope, stage="paused") if c == "paused" else _list_link(**scope, colour=c)
            out.append({"n": getattr(row, c), "link": link, "css": COLOUR_CSS.get(c, ""), "label": label})
        return out

    def window_value(w: str | None) -> str:
        return w or NO_WINDOW

    departments = [{"row": r, "cells": cells(r, department=r.department_id)} for r in mon.departments]
    names = {r.department_id: r.label for r in mon.departments}
    several = len(names) > 1
    windows = [
        {
            "row": r,
            "cells": cells(r, department=r.department_id, window=window_value(r.window)),
            "window": r.window or _("网上申请/未指定窗口"),
            "department": names.get(r.department_id) if several else "",
        }
        for r in mon.windows
    ]
    return _render(
        request,
        "service_items/monitor.html",
        {
            "mon": mon,
            "departments": departments,
            "windows": windows,
            "total": {"row": mon.total, "cells": cells(mon.total)},
            "headers": labels,
            "overdue": overdue,
            "overdue_total": overdue_qs.count(),
            "pushes": list(pushes_qs[:50]),
            "pushes_total": pushes_qs.count(),
            "user_department": user.department_id,
            "chart": {
                "names": [r.label for r in mon.departments],
                "series": [
                    {"key": c, "name": label, "data": [getattr(r, c) for r in mon.departments]}
                    for c, label in zip(colours, labels)
                ],
            },
            "warn_days": warn_days(),
            "chart_height": max(180, 90 + 34 * len(mon.departments)),
        },
    )


@login_required
@domain_errors
def pushes_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    qs = selectors.supervision_pending(actor=user)
    mine = request.GET.get("mine") == "1"
    if mine:
        qs = qs.filter(department_id=user.department_id)
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    return _render(
        request,
        "service_items/pushes.html",
        {
            "page": page,
            "mine": mine,
            "query": "mine=1" if mine else "",
            "user_department": user.department_id,
        },
    )


@login_required
@require_POST
@domain_errors
def push_ack_view(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    push = SupervisionPush.objects.select_related("case").filter(pk=pk).first()
    if push is None:
        raise NotFound("推送不存在", "no such push")
    try:
        services.supervision_acknowledge(actor=user, push=push, note=request.POST.get("note", ""))
    except DomainError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("已认领 %s 的审批结果") % push.case.number)
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, {request.get_host()}):
        return redirect(back)
    return redirect("service_items:pushes")


# ------------------------------------------------------------------------------------------- figures

FIGURE_COLUMNS = [
    ("applied", "n"),
    ("applied_online", "n"),
    ("online_share", "r"),
    ("accepted", "n"),
    ("rejected", "n"),
    ("finished", "n"),
    ("finished_on_time", "n"),
    ("on_time_rate", "r"),
    ("one_time", "n"),
    ("one_time_rate", "r"),
    ("instant", "n"),
    ("instant_share", "r"),
    ("avg_used_days", "d"),
    ("avg_promised_days", "d"),
    ("ratings", "n"),
    ("satisfied", "n"),
    ("satisfaction_rate", "r"),
    ("bad_ratings", "n"),
    ("bad_share", "r"),
    ("rectifications", "n"),
    ("rectified_on_time", "n"),
    ("rectify_on_time_rate", "r"),
]


def _figure_label(attr: str) -> str:
    return str(selectors.FORMULAS[attr]).split(" = ")[0]


def _date_param(value: str | None, default: dt.date, field: str) -> dt.date:
    return forms.date(value, field, _("日期")) if value else default


@login_required
@domain_errors
def figures_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    today = timezone.localdate()
    group_by = request.GET.get("group_by") or "department"
    date_from = _date_param(request.GET.get("from"), dt.date(today.year, 1, 1), "from")
    date_to = _date_param(request.GET.get("to"), today, "to")
    figs = selectors.case_figures(actor=user, date_from=date_from, date_to=date_to, group_by=group_by)

    def cells(r: selectors.FigureRow) -> list[dict[str, str]]:
        out = []
        for attr, kind in FIGURE_COLUMNS:
            v = getattr(r, attr)
            text = "—" if v is None else (f"{v * 100:.1f}%" if kind == "r" else str(v))
            out.append({"value": text, "title": str(selectors.FORMULAS[attr])})
        return out

    rows = figs.rows
    t = figs.total
    headline = [
        (_figure_label(attr), f"{v * 100:.1f}%" if v is not None else "—", str(selectors.FORMULAS[attr]))
        for attr, v in (
            ("online_share", t.online_share),
            ("on_time_rate", t.on_time_rate),
            ("one_time_rate", t.one_time_rate),
            ("satisfaction_rate", t.satisfaction_rate),
        )
    ]
    return _render(
        request,
        "service_items/figures.html",
        {
            "headline": headline,
            "group_by": group_by,
            "groupings": [(k, str(v)) for k, v in selectors.GROUPINGS.items()],
            "date_from": date_from,
            "date_to": date_to,
            "headers": [_figure_label(a) for a, _k in FIGURE_COLUMNS],
            "table": [{"row": r, "cells": cells(r)} for r in rows],
            "total": {"row": figs.total, "cells": cells(figs.total)},
            "formulas": [str(v) for v in selectors.FORMULAS.values()],
            "chart": {
                "names": [r.label for r in rows[:30]],
                "finished": [r.finished for r in rows[:30]],
                "on_time": [r.finished_on_time for r in rows[:30]],
                "rate": [
                    None if r.on_time_rate is None else round(r.on_time_rate * 100, 1) for r in rows[:30]
                ],
                "satisfaction": [
                    None if r.satisfaction_rate is None else round(r.satisfaction_rate * 100, 1)
                    for r in rows[:30]
                ],
                "labels": {
                    "finished": _figure_label("finished"),
                    "on_time": _figure_label("finished_on_time"),
                    "rate": _figure_label("on_time_rate") + " (%)",
                    "satisfaction": _figure_label("satisfaction_rate") + " (%)",
                },
            },
        },
    )
