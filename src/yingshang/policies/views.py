"""惠企政策 pages: the public three lists (政策文件 / 依申报兑现事项 / 免申即享兑现事项) and notices, the policy
officer's documents, items and the rule builder with its live preview and simulation, the explanation
of a rule for one enterprise, the enterprise's own page (qualify / close / applications / payouts),
applications through their review, 免申即享 lists through review and notice, objections, the payout
ledger and the bank batches.

Thin over ``services`` (every change) and ``selectors`` (every read): a page only decides which forms to
show; the services decide what is allowed and say why not."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yingshang.core.errors import DomainError, NotFound, NotPermitted, ValidationFailed
from yingshang.core.models import Department, Role, User
from yingshang.core.periods import day_bounds, parse_date
from yingshang.core.permissions import can, require
from yingshang.core.services import attachment_store
from yingshang.core.views import domain_errors
from yingshang.enterprises.models import Enterprise

from . import credit, matching, selectors, services
from . import rules as R
from .forms import DocumentForm, ItemForm, fen_to_wan_text, materials_from_post, wan_to_fen
from .models import (
    Application,
    ApplicationMaterial,
    BenefitItem,
    ItemMaterial,
    Objection,
    PayeeAccount,
    Payout,
    PayoutBatch,
    PayoutList,
    PayoutListEntry,
    PolicyDocument,
)
from .payouts import ledger_totals, parse_yuan
from .rules import fields as F

A = Application.Status
L = PayoutList.Status
Mode = BenefitItem.Mode
LISTS = {"apply": (Mode.INSTANT, Mode.APPLY_REVIEW), "auto": (Mode.AUTO_GRANT,)}


# ------------------------------------------------------------------------------------------- helpers


def _actor(request: HttpRequest) -> User | None:
    user = request.user
    return user if user.is_authenticated else None  # type: ignore[return-value]


def _error(request: HttpRequest, exc: DomainError) -> None:
    messages.error(request, f"{exc.message} / {exc.message_en}")


def _int(value: Any) -> int | None:
    value = str(value or "").strip()
    return int(value) if value.isdigit() else None


def _staff(user: User | None) -> bool:
    return can(user, "policies.view")


def _sees_all(user: User | None) -> bool:
    return can(user, "policies.pay") or (user is not None and user.is_authenticated and user.role == Role.LEADER)


def _own_department(user: User | None, item: BenefitItem) -> bool:
    return user is not None and bool(user.department_id) and user.department_id == item.department_id


def _can_edit_item(user: User | None, item: BenefitItem) -> bool:
    """policies.edit: the office for any item, department staff for their own department's items."""
    return can(user, "policies.edit") and (user.role == Role.DISPATCHER or _own_department(user, item))  # type: ignore[union-attr]


def _can_handle(user: User | None, item: BenefitItem) -> bool:
    """Accepting applications and asking for corrections: policies.edit of the item's department."""
    return can(user, "policies.edit") and _own_department(user, item)


def _can_review(user: User | None, item: BenefitItem) -> bool:
    """Decisions, list review, objections: policies.review of the item's department (its head)."""
    return can(user, "policies.review") and _own_department(user, item)


def _enterprise_user(user: User | None) -> bool:
    return user is not None and user.is_authenticated and user.role == Role.ENTERPRISE and bool(user.enterprise_id)


def _nav(user: User | None, path: str) -> list[tuple[str, str, bool]]:
    """The policy pages' second row of links, by what the viewer may open, the current one marked."""
    lists = (reverse("policies:index"), reverse("policies:items"), "/policies/documents/")
    out = [(_("三张清单"), reverse("policies:index"), path in lists[:2] or path.startswith(lists[2])
            or (path.startswith("/policies/items/") and not path.endswith(("/rule/", "/matches/", "/apply/")))),
           (_("公示"), reverse("policies:notices"), path.startswith("/policies/notices/") or path.endswith("/notice/"))]
    links: list[tuple[str, str]] = []
    if _enterprise_user(user):
        links += [(_("我的政策"), reverse("policies:mine")), (_("我的申报"), reverse("policies:applications")),
                  (_("我的兑现"), reverse("policies:payouts"))]
    if _staff(user):
        links += [(_("申报"), reverse("policies:applications")), (_("拟兑现名单"), reverse("policies:lists")),
                  (_("公示异议"), reverse("policies:objections")), (_("兑现台账"), reverse("policies:payouts"))]
        if _sees_all(user):
            links.append((_("拨付批次"), reverse("policies:batches")))
        links.append((_("兑现统计"), reverse("policies:figures")))
        if can(user, "policies.edit"):
            links.append((_("规则字段"), reverse("policies:fields")))
    out += [(label, url, path.startswith(url)) for label, url in links]
    return out


def _render(request: HttpRequest, template: str, ctx: dict[str, Any], status: int = 200) -> HttpResponse:
    user = _actor(request)
    return render(request, template, {**ctx, "pol_nav": _nav(user, request.path), "is_staff": _staff(user),
                                      "is_enterprise": _enterprise_user(user)}, status=status)


def _query(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _say(rule: Any, labels: R.Labels, kind: str = "condition") -> str:
    """A stored rule in words; never fails a page (a fact unregistered since shows as JSON)."""
    if rule is None:
        return ""
    try:
        return R.describe(rule, labels=labels, kind=kind)  # type: ignore[arg-type]
    except DomainError:
        return json.dumps(rule, ensure_ascii=False)


def _conditions(rule: Any, labels: R.Labels) -> list[str]:
    """The rule's top-level conditions in words, one per line (all must hold)."""
    if rule is None:
        return []
    return [_say(c, labels) for c in matching.conjuncts(rule)]


def _how(item: BenefitItem) -> str:
    if item.mode == Mode.AUTO_GRANT:
        return _("无需申请：系统按数据找出符合条件的企业，经部门审核、公示无异议后直接拨付")
    if item.mode == Mode.INSTANT:
        return _("在线申请，数据核验符合条件且材料齐全的即时核准")
    return _("提交申报材料，部门受理、审核、公示后拨付")


def _store_files(request: HttpRequest, materials: list[ItemMaterial], user: User) -> dict[int, Any]:
    """Uploaded files ``file_<material id>`` stored as attachments: {material id: [attachments]}."""
    out: dict[int, Any] = {}
    for m in materials:
        files = request.FILES.getlist(f"file_{m.pk}")[:5]
        if files:
            out[m.pk] = [attachment_store(upload=f, name=f.name or "file", actor=user) for f in files]
    return out


# ------------------------------------------------------------------------------------------- the three lists


def _tab_counts(user: User | None) -> dict[str, int]:
    docs = selectors.document_list(actor=user).count()
    items = selectors.item_list(actor=user)
    by_mode = dict(items.order_by().values_list("mode").annotate(n=Count("id")))
    return {"documents": docs, "apply": by_mode.get(Mode.INSTANT, 0) + by_mode.get(Mode.APPLY_REVIEW, 0),
            "auto": by_mode.get(Mode.AUTO_GRANT, 0)}


def index_view(request: HttpRequest) -> HttpResponse:
    """政策文件: public (published and expired), staff also see drafts; searchable."""
    user = _actor(request)
    f = {k: request.GET.get(k, "").strip() for k in ("q", "status", "topic")}
    qs = selectors.document_list(actor=user, status=f["status"], q=f["q"], topic=f["topic"])
    page = Paginator(qs, 20).get_page(request.GET.get("page"))
    ctx: dict[str, Any] = {"page": page, "filters": f, "query": _query(request), "tab": "documents",
                           "statuses": PolicyDocument.Status.choices if _staff(user) else [
                               c for c in PolicyDocument.Status.choices if c[0] != PolicyDocument.Status.DRAFT],
                           "can_edit": can(user, "policies.edit")}
    if request.headers.get("HX-Request"):
        return _render(request, "policies/_document_rows.html", ctx)
    ctx["counts"] = _tab_counts(user)
    return _render(request, "policies/index.html", ctx)


def items_view(request: HttpRequest) -> HttpResponse:
    """依申报兑现事项 (即申即享 and 依申报) or 免申即享兑现事项, each with its conditions in plain words."""
    user = _actor(request)
    which = request.GET.get("list", "apply")
    which = which if which in LISTS else "apply"
    f = {k: request.GET.get(k, "").strip() for k in ("q", "department", "mode", "status")}
    qs = selectors.item_list(actor=user, department=_int(f["department"]), status=f["status"], q=f["q"])
    modes = LISTS[which]
    qs = qs.filter(mode__in=[f["mode"]] if f["mode"] in modes else list(modes))
    page = Paginator(qs, 20).get_page(request.GET.get("page"))
    other = "auto" if which == "apply" else "apply"
    other_count = 0
    if f["q"] and not page.paginator.count:  # a search that finds nothing here may find items in the other list
        other_count = selectors.item_list(actor=user, q=f["q"]).filter(mode__in=LISTS[other]).count()
    labels = R.db_labels()
    rows = [(it, _conditions(it.rule.rule if it.rule else None, labels),
             _say(it.rule.amount, labels, "amount") if it.rule and it.rule.amount is not None else "")
            for it in page.object_list]
    ctx: dict[str, Any] = {"page": page, "rows": rows, "filters": f, "query": _query(request), "tab": which,
                           "list": which, "modes": [c for c in Mode.choices if c[0] in modes],
                           "other_list": other, "other_list_count": other_count,
                           "statuses": BenefitItem.Status.choices, "can_edit": can(user, "policies.edit"),
                           "today": timezone.localdate()}
    if request.headers.get("HX-Request"):
        return _render(request, "policies/_item_rows.html", ctx)
    ctx["counts"] = _tab_counts(user)
    ctx["departments"] = Department.objects.filter(benefit_items__isnull=False).distinct().order_by("code")
    return _render(request, "policies/items.html", ctx)


@domain_errors
def document_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _actor(request)
    doc = selectors.document_get(actor=user, pk=pk)
    items = list(selectors.item_list(actor=user, document=doc))
    labels = R.db_labels()
    rows = [(it, _conditions(it.rule.rule if it.rule else None, labels)) for it in items]
    ctx: dict[str, Any] = {"doc": doc, "rows": rows, "can_edit": can(user, "policies.edit"),
                           "industries": [F.INDUSTRY_CODES.label(code)[0] for code in doc.industries]}
    if _staff(user):
        ctx["events"] = doc.events.select_related("actor").order_by("-at", "-id")[:30]
    return _render(request, "policies/document_detail.html", ctx)


def _form_error(form: Any, exc: DomainError) -> None:
    field = exc.field if exc.field in form.fields else None
    if exc.field == "budget_fen":
        field = "budget_wan"
    form.add_error(field, f"{exc.message} / {exc.message_en}")


@login_required
@domain_errors
def document_edit_view(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    require(user, "policies.edit")
    doc = selectors.document_get(actor=user, pk=pk) if pk else None
    if request.method == "POST":
        form = DocumentForm(request.POST)
        if form.is_valid():
            try:
                if doc is None:
                    doc = services.document_create(actor=user, **form.values())
                    messages.success(request, _("政策文件已创建（草稿）"))
                else:
                    doc = services.document_update(actor=user, document=doc, **form.values())
                    messages.success(request, _("政策文件已保存"))
            except DomainError as exc:
                _form_error(form, exc)
            else:
                return redirect("policies:document", pk=doc.pk)
    elif doc is not None:
        form = DocumentForm(initial={**{f: getattr(doc, f) for f in services.DOCUMENT_FIELDS},
                                     "topics": " ".join(doc.topics), "industries": " ".join(doc.industries)})
    else:
        form = DocumentForm()
    return _render(request, "policies/document_form.html", {"form": form, "doc": doc},
                   status=400 if form.errors else 200)


@login_required
@require_POST
@domain_errors
def document_act_view(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    doc = selectors.document_get(actor=user, pk=pk)
    try:
        if action == "publish":
            services.document_publish(actor=user, document=doc)
            messages.success(request, _("政策文件已发布"))
        elif action == "expire":
            services.document_expire(actor=user, document=doc, reason=request.POST.get("reason", ""))
            messages.success(request, _("政策文件已失效，其兑现事项已停止"))
        else:
            raise NotFound("未知操作", f"unknown action {action}")
    except (NotFound, NotPermitted):
        raise
    except DomainError as exc:
        _error(request, exc)
    return redirect("policies:document", pk=doc.pk)


# ------------------------------------------------------------------------------------------- items


def _item_for(request: HttpRequest, pk: int) -> BenefitItem:
    return selectors.item_get(actor=_actor(request), pk=pk)


def _enterprise_status(user: User, item: BenefitItem) -> dict[str, Any]:
    """For an enterprise on an item's page: does it qualify, what is missing, may it apply."""
    out: dict[str, Any] = {}
    if item.rule is None:
        return out
    active = BenefitItem.objects.filter(matching.active_q(), pk=item.pk).exists()
    explain = selectors.match_explain(actor=user, enterprise=user.enterprise_id, item=item)  # type: ignore[arg-type]
    out["state"], out["state_label"], out["amount_fen"] = explain["state"], explain["state_label"], explain["amount_fen"]
    out["missing"] = [lf for lf in explain["leaves"] if lf.state is not R.Tri.TRUE]
    period = services.period_of(item.period_kind)
    out["application"] = Application.objects.filter(enterprise_id=user.enterprise_id, item=item, period=period,
                                                     status__in=Application.LIVE).first()
    out["payout"] = Payout.objects.filter(enterprise_id=user.enterprise_id, item=item, period=period,
                                          status__in=Payout.LIVE).first()
    out["window_open"] = matching.window_open(item)
    out["can_apply"] = (active and item.mode != Mode.AUTO_GRANT and out["window_open"] and not out["application"]
                        and not out["payout"])
    out["active"] = active
    return out


@domain_errors
def item_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _actor(request)
    item = _item_for(request, pk)
    labels = R.db_labels()
    rv = item.rule
    ctx: dict[str, Any] = {
        "item": item, "how": _how(item), "conditions": _conditions(rv.rule if rv else None, labels),
        "amount_text": _say(rv.amount, labels, "amount") if rv and rv.amount is not None else "",
        "materials": list(item.materials.all()), "today": timezone.localdate(),
        "can_edit": _can_edit_item(user, item), "period": services.period_of(item.period_kind),
        "credit_barred": credit.active(),
    }
    if _enterprise_user(user):
        ctx["mine"] = _enterprise_status(user, item)  # type: ignore[arg-type]
        services.pushes_mark_read(actor=user, item_ids=[item.pk])  # type: ignore[arg-type]
    if _staff(user):
        ctx["figures"] = selectors.item_figures(actor=user, item=item)  # type: ignore[arg-type]
        ctx["events"] = item.events.select_related("actor").order_by("-at", "-id")[:30]
        ctx["lists"] = selectors.payout_list_list(actor=user, item=item)[:10]  # type: ignore[arg-type]
        ctx["active"] = BenefitItem.objects.filter(matching.active_q(), pk=item.pk).exists()
        ctx["versions"] = item.rule_versions.count()
    return _render(request, "policies/item_detail.html", ctx)


def _departments_for(user: User) -> QuerySet[Department]:
    qs = Department.objects.order_by("code")
    return qs if user.role == Role.DISPATCHER else qs.filter(pk=user.department_id or 0)


def _material_rows(item: BenefitItem | None, post: Any = None) -> list[dict[str, Any]]:
    if post is not None:
        rows = materials_from_post(post)
    else:
        rows = [{"id": m.pk, "name": m.name, "required": m.required, "note": m.note}
                for m in (item.materials.all() if item else [])]
    return rows + [{"id": None, "name": "", "required": True, "note": ""} for _i in range(3)]


@login_required
@domain_errors
def item_edit_view(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    require(user, "policies.edit")
    item = selectors.item_get(actor=user, pk=pk) if pk else None
    if item is not None and not _can_edit_item(user, item):
        raise NotPermitted("只能办理本部门的兑现事项", "only the item's department may do this")
    doc = item.document if item else selectors.document_get(actor=user, pk=_int(request.GET.get("document")) or 0)
    if item is not None:
        initial: dict[str, Any] = {f: getattr(item, f) for f in services.ITEM_FIELDS} | {
            "code": item.code, "budget_wan": fen_to_wan_text(item.budget_fen)}
    else:
        initial = {"department": user.department_id, "accept_days": services.accept_days_default(),
                   "review_days": services.review_days_default(), "notice_days": services.notice_days_default()}
    form = ItemForm(request.POST if request.method == "POST" else None, initial=initial,
                    departments=_departments_for(user))
    if item is not None:  # the code is a rule parameter; a published item keeps its mode, department and period
        form.fields["code"].disabled = True
        if item.status == BenefitItem.Status.PUBLISHED:
            for name in ("mode", "department", "period_kind"):
                form.fields[name].disabled = True
    if request.method == "POST":
        if form.is_valid():
            values = form.values()
            materials = materials_from_post(request.POST)
            try:
                if item is None:
                    item = services.item_create(actor=user, document=doc, materials=materials, **values)
                    messages.success(request, _("兑现事项已创建（草稿），请设置资格规则"))
                    return redirect("policies:item_rule", pk=item.pk)
                values.pop("code")
                changes = {k: v for k, v in values.items() if getattr(item, k) != v}
                services.item_update(actor=user, item=item, materials=materials, **changes)
                messages.success(request, _("兑现事项已保存"))
                return redirect("policies:item", pk=item.pk)
            except DomainError as exc:
                _form_error(form, exc)
        rows = _material_rows(item, request.POST)
    else:
        rows = _material_rows(item)
    return _render(request, "policies/item_form.html", {"form": form, "item": item, "doc": doc, "rows": rows,
                                                        "mat_count": len(rows)},
                   status=400 if form.errors else 200)


@login_required
@require_POST
@domain_errors
def item_act_view(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    item = selectors.item_get(actor=user, pk=pk)
    try:
        if action == "publish":
            services.item_publish(actor=user, item=item)
            messages.success(request, _("兑现事项已发布，系统正在匹配符合条件的企业"))
        elif action == "stop":
            services.item_stop(actor=user, item=item, reason=request.POST.get("reason", ""))
            messages.success(request, _("兑现事项已停止"))
        elif action == "propose":
            plist = services.payout_list_propose(actor=user, item=item, period=request.POST.get("period") or None)
            messages.success(request, _("拟兑现名单已生成，待责任部门审核"))
            return redirect("policies:list", pk=plist.pk)
        else:
            raise NotFound("未知操作", f"unknown action {action}")
    except (NotFound, NotPermitted):
        raise
    except DomainError as exc:
        _error(request, exc)
    return redirect("policies:item", pk=item.pk)


@login_required
@domain_errors
def item_matches_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The enterprises the item's current rule holds for (staff)."""
    user: User = request.user  # type: ignore[assignment]
    item = selectors.item_get(actor=user, pk=pk)
    if not (_sees_all(user) or _own_department(user, item) or user.role == Role.DISPATCHER):
        raise NotPermitted("只有营商办、县领导和事项的责任部门可以查看", "only the office, leaders and the item's department")
    qs = selectors.item_matches(actor=user, item=item)
    q = request.GET.get("q", "").strip()
    if q:
        qs = qs.filter(Q(enterprise__name__contains=q) | Q(enterprise__uscc=q.upper()))
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return _render(request, "policies/item_matches.html", {"item": item, "page": page, "q": q, "query": _query(request)})


# ------------------------------------------------------------------------------------------- the rule builder


def _version_rows(item: BenefitItem, labels: R.Labels) -> list[dict[str, Any]]:
    """The rule's versions, newest first, each with who/when and what changed, in words."""
    versions = list(item.rule_versions.select_related("author").order_by("number"))
    rows: list[dict[str, Any]] = []
    prev = None
    for rv in versions:
        conds = _conditions(rv.rule, labels)
        amount = _say(rv.amount, labels, "amount") if rv.amount is not None else ""
        changes: list[tuple[str, str]] = []
        if prev is None:
            changes.append(("init", _("初始版本")))
        else:
            old = prev["conditions"]
            changes += [("add", t) for t in conds if t not in old]
            changes += [("remove", t) for t in old if t not in conds]
            if prev["amount"] != amount:
                changes.append(("amount", f"{prev['amount'] or _('无')} → {amount or _('无')}"))
            if not changes:
                changes.append(("same", _("条件与金额未变（仅写法不同）")))
        row = {"rv": rv, "conditions": conds, "amount": amount, "changes": changes,
               "current": rv.pk == item.rule_id}
        rows.append(row)
        prev = row
    rows.reverse()
    return rows


def _catalogue(labels: R.Labels) -> list[dict[str, Any]]:
    return R.catalogue(labels)


def _rule_errors(errors: list[R.RuleError]) -> list[dict[str, str]]:
    return [{"path": e.path, "code": e.code, "message": e.message_zh, "message_en": e.message_en} for e in errors]


def _parse_json(text: str, label: str) -> tuple[Any, list[dict[str, str]]]:
    text = (text or "").strip()
    if not text or text == "null":
        return None, []
    try:
        return json.loads(text), []
    except ValueError:
        return None, [{"path": "", "code": "syntax", "message": f"{label}不是有效的 JSON", "message_en": "not valid JSON"}]


@login_required
@domain_errors
def item_rule_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The rule builder: conditions and amount formula; saving adds a version."""
    user: User = request.user  # type: ignore[assignment]
    require(user, "policies.view")
    item = selectors.item_get(actor=user, pk=pk)
    can_edit = _can_edit_item(user, item) and item.status != BenefitItem.Status.STOPPED
    labels = R.db_labels()
    rv = item.rule
    initial: dict[str, Any] = {"rule": rv.rule if rv else None, "amount": rv.amount if rv else None,
                               "rule_errors": [], "amount_errors": []}
    note = ""
    status = 200
    if request.method == "POST":
        if not can_edit:
            raise NotPermitted("只能办理本部门的兑现事项", "only the item's department may do this")
        rule, rule_errors = _parse_json(request.POST.get("rule_json", ""), _("资格规则"))
        amount, amount_errors = _parse_json(request.POST.get("amount_json", ""), _("金额公式"))
        note = request.POST.get("note", "").strip()
        if rule is None and not rule_errors:
            rule_errors = [{"path": "", "code": "syntax", "message": _("请至少设置一个条件"),
                            "message_en": "set at least one condition"}]
        if not rule_errors:
            rule_errors = _rule_errors(R.validate(rule, "condition", labels=labels))
        if amount is not None and not amount_errors:
            amount_errors = _rule_errors(R.validate(amount, "amount", labels=labels))
        initial = {"rule": rule, "amount": amount, "rule_errors": rule_errors, "amount_errors": amount_errors}
        if not rule_errors and not amount_errors:
            try:
                new = services.item_set_rule(actor=user, item=item, rule=rule, amount=amount, note=note)
            except R.RuleInvalid as exc:
                initial["rule_errors"] = _rule_errors(exc.errors)
            except DomainError as exc:
                initial["amount_errors" if exc.field == "amount" else "rule_errors"] = [
                    {"path": "", "code": exc.code, "message": exc.message, "message_en": exc.message_en}]
            else:
                messages.success(request, _("规则已保存为第 %(n)s 版") % {"n": new.number})
                return redirect("policies:item_rule", pk=item.pk)
        status = 400
    ctx = {
        "item": item, "can_edit": can_edit, "versions": _version_rows(item, labels), "note": note,
        "current_conditions": _conditions(rv.rule if rv else None, labels),
        "current_amount": _say(rv.amount, labels, "amount") if rv and rv.amount is not None else "",
        "builder": {
            "catalogue": _catalogue(labels), "initial": initial,
            "check_url": reverse("policies:rule_check"), "simulate_url": reverse("policies:rule_simulate"),
            "item_codes": list(BenefitItem.objects.exclude(pk=item.pk).order_by("code").values_list("code", "name")),
            "sections": [(i.code, i.name) for i in _sections()],
            "mode": item.mode, "budget_wan": fen_to_wan_text(item.budget_fen), "amount_required": item.mode != Mode.APPLY_REVIEW,
        },
        "errors": initial["rule_errors"] + initial["amount_errors"],
    }
    return _render(request, "policies/item_rule.html", ctx, status=status)


def _sections() -> list[Any]:
    from yingshang.enterprises import industries

    return [i for i in industries.all_entries() if i.level == "section"]


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise ValidationFailed("请求不是有效的 JSON", "the request is not valid JSON") from None
    if not isinstance(body, dict):
        raise ValidationFailed("请求不是有效的 JSON 对象", "the request is not a JSON object")
    return body


def _check(value: Any, kind: str, labels: R.Labels) -> dict[str, Any]:
    if value is None:
        return {"ok": True, "text": "", "errors": []}
    errors = R.validate(value, kind, labels=labels)  # type: ignore[arg-type]
    if errors:
        return {"ok": False, "text": "", "errors": _rule_errors(errors)}
    return {"ok": True, "text": R.describe(value, labels=labels, kind=kind), "errors": []}  # type: ignore[arg-type]


@login_required
@require_POST
def rule_check_view(request: HttpRequest) -> JsonResponse:
    """The builder's live preview: {rule, amount, snippets} → each in plain Chinese, or its errors with
    their paths.  Nothing is stored."""
    user: User = request.user  # type: ignore[assignment]
    if not can(user, "policies.edit"):
        return JsonResponse({"error": "forbidden"}, status=403)
    try:
        body = _json_body(request)
    except ValidationFailed as exc:
        return JsonResponse({"error": exc.message}, status=400)
    labels = R.db_labels()
    out: dict[str, Any] = {"rule": _check(body.get("rule"), "condition", labels),
                           "amount": _check(body.get("amount"), "amount", labels)}
    if body.get("rule") is None:
        out["rule"] = {"ok": False, "text": "", "errors": [{"path": "", "code": "syntax", "message": _("请至少设置一个条件"),
                                                            "message_en": "set at least one condition"}]}
    snippets = body.get("snippets") or []
    if isinstance(snippets, list):
        out["snippets"] = [_check(s, "any", labels) for s in snippets[:50]]
    return JsonResponse(out)


@login_required
@require_POST
def rule_simulate_view(request: HttpRequest) -> HttpResponse:
    """Simulate a draft rule and amount formula over the registry (an HTML fragment for the builder)."""
    user: User = request.user  # type: ignore[assignment]
    ctx: dict[str, Any] = {}
    try:
        require(user, "policies.edit")
        body = _json_body(request)
        try:
            budget = wan_to_fen(str(body.get("budget_wan") or ""))
        except ValueError:
            raise ValidationFailed("预算应为金额（万元）", "the budget must be an amount in 10k CNY", field="budget") from None
        sim = selectors.simulation(actor=user, rule=body.get("rule"), amount=body.get("amount"), budget_fen=budget)
    except R.RuleInvalid as exc:
        ctx["rule_errors"] = _rule_errors(exc.errors)
        return render(request, "policies/_simulation.html", ctx, status=400)
    except DomainError as exc:
        ctx["error"] = exc
        return render(request, "policies/_simulation.html", ctx, status=exc.status)
    ctx["sim"] = sim
    ctx["share"] = round(100 * sim.qualified / sim.enterprises, 1) if sim.enterprises else 0
    ctx["over_fen"] = -sim.budget_left_fen if sim.over_budget else 0  # type: ignore[operator]
    ctx["budget_pct"] = min(100, round(100 * sim.total_fen / sim.budget_fen)) if sim.budget_fen else None
    ctx["chart"] = {
        "township": {"names": [g.label for g in sim.by_township[:15]], "values": [g.count for g in sim.by_township[:15]]},
        "size": [{"name": g.label, "value": g.count} for g in sim.by_size],
        "industry": {"names": [g.label for g in sim.by_industry[:10]], "values": [g.count for g in sim.by_industry[:10]]},
    }
    return render(request, "policies/_simulation.html", ctx)


@login_required
@domain_errors
def fields_view(request: HttpRequest) -> HttpResponse:
    """The field catalogue: everything a rule may speak about, where it comes from."""
    require(request.user, "policies.edit")  # type: ignore[arg-type]
    labels = R.db_labels()
    return _render(request, "policies/fields.html", {"fields": R.catalogue(labels)})


# ------------------------------------------------------------------------------------------- explanation


@login_required
@domain_errors
def explain_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Why an item's rule holds or not for one enterprise: every condition 满足 / 不满足 / 数据缺失 with the
    values read.  The enterprise itself, the office, leaders and the item's department."""
    user: User = request.user  # type: ignore[assignment]
    item = selectors.item_get(actor=user, pk=pk)
    enterprise = None
    if user.role == Role.ENTERPRISE:
        enterprise = Enterprise.objects.filter(pk=user.enterprise_id or 0).first()
        if enterprise is None:
            raise NotPermitted("账号未关联企业", "this account is not linked to an enterprise")
    else:
        if not (_sees_all(user) or user.role == Role.DISPATCHER or (_staff(user) and _own_department(user, item))):
            raise NotPermitted("只有营商办、县领导、事项的责任部门和企业本身可以查看",
                               "only the office, leaders, the item's department and the enterprise itself")
        key = request.GET.get("enterprise", "").strip()
        if key:
            enterprise = (Enterprise.objects.filter(pk=int(key)).first() if key.isdigit()
                          else Enterprise.objects.filter(uscc=key.upper()).first())
            if enterprise is None:
                raise NotFound("市场主体不存在", "no such enterprise")
    ctx: dict[str, Any] = {"item": item, "enterprise": enterprise}
    if enterprise is not None:
        ctx["explain"] = selectors.match_explain(actor=user, enterprise=enterprise, item=item)
        services.pushes_mark_read(actor=user, item_ids=[item.pk])
        ctx["amount_text"] = _say(item.rule.amount, R.db_labels(), "amount") if item.rule and item.rule.amount else ""
    return _render(request, "policies/explain.html", ctx)


# ------------------------------------------------------------------------------------------- the enterprise


@login_required
@domain_errors
def mine_view(request: HttpRequest) -> HttpResponse:
    """'Policies you qualify for', 'you are close: one condition missing', applications and payouts."""
    user: User = request.user  # type: ignore[assignment]
    if not _enterprise_user(user):
        raise NotPermitted("此页面供企业用户使用", "this page is for enterprise users")
    view = selectors.enterprise_policy_view(actor=user, enterprise=user.enterprise_id)  # type: ignore[arg-type]
    services.pushes_mark_read(actor=user)  # the pushes' link leads here: the enterprise has seen them
    # what the enterprise can act on first: apply now, then waiting (no application needed), then done
    view.qualified.sort(key=lambda q: (0 if q.can_apply else 2 if (q.payout or q.application) else 1, q.item.code))
    view.close.sort(key=lambda c: (0 if c.state == R.Tri.UNKNOWN.value else 1, c.item.code))  # data missing: fixable
    payouts = selectors.payout_ledger(actor=user)
    paid = payouts.filter(status=Payout.Status.PAID).aggregate(n=Count("id"), s=Sum("amount_fen"))
    ctx = {
        "view": view, "applications": selectors.application_list(actor=user)[:10],
        "payouts": payouts[:10], "paid": paid, "account": PayeeAccount.objects.filter(enterprise_id=user.enterprise_id).first(),
        "enterprise": Enterprise.objects.get(pk=user.enterprise_id),
    }
    return _render(request, "policies/mine.html", ctx)


@login_required
@require_POST
@domain_errors
def mine_account_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if not _enterprise_user(user):
        raise NotPermitted("此页面供企业用户使用", "this page is for enterprise users")
    try:
        services.payee_account_set(actor=user, enterprise=Enterprise.objects.get(pk=user.enterprise_id),
                                   account_name=request.POST.get("account_name", ""),
                                   account_no=request.POST.get("account_no", ""),
                                   bank_name=request.POST.get("bank_name", ""))
    except DomainError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("收款账户已保存"))
    return redirect(reverse("policies:mine") + "#account")


@login_required
@domain_errors
def apply_view(request: HttpRequest, pk: int) -> HttpResponse:
    """An enterprise applies: 即申即享 is approved at once or told exactly what is missing (nothing is
    stored); 依申报 waits for the department."""
    user: User = request.user  # type: ignore[assignment]
    if not _enterprise_user(user):
        raise NotPermitted("只有企业用户可以申报", "only enterprise users apply")
    item = selectors.item_get(actor=user, pk=pk)
    if item.mode == Mode.AUTO_GRANT:
        raise ValidationFailed("免申即享事项无需申请，符合条件的企业经公示后直接兑现", "auto-grant items need no application")
    enterprise = Enterprise.objects.get(pk=user.enterprise_id)
    materials = list(item.materials.all())
    values = {"contact_name": enterprise.contact_name or user.full_name, "contact_phone": enterprise.contact_phone or user.phone,
              "statement": ""}
    missing: list[services.Missing] = []
    error: DomainError | None = None
    if request.method == "POST":
        values = {k: request.POST.get(k, "").strip() for k in ("contact_name", "contact_phone", "statement")}
        try:
            with transaction.atomic():
                files = _store_files(request, materials, user)
                app = services.application_apply(actor=user, item=item, materials=files, **values)
        except services.NotEligible as exc:
            missing, error = exc.missing, exc
        except DomainError as exc:
            error = exc
        else:
            if app.status == A.APPROVED:
                messages.success(request, _("即申即享：已核准，兑现金额 %(y)s 元，待拨付") % {
                    "y": services.fen_to_yuan(app.amount_fen or 0)})
            else:
                messages.success(request, _("申报已提交，编号 %(n)s，请等待受理") % {"n": app.number})
            return redirect("policies:application", pk=app.pk)
    gaps = services.eligibility_gaps(item, enterprise.pk) if (item.rule and not missing and request.method != "POST") else []
    ctx = {"item": item, "materials": materials, "values": values, "missing": missing, "error": error, "gaps": gaps,
           "status": _enterprise_status(user, item), "period": services.period_of(item.period_kind),
           "conditions": _conditions(item.rule.rule if item.rule else None, R.db_labels())}
    return _render(request, "policies/apply.html", ctx, status=(error.status if error else 200))


# ------------------------------------------------------------------------------------------- applications


@login_required
@domain_errors
def applications_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    f = {k: request.GET.get(k, "").strip() for k in ("status", "item", "overdue", "q")}
    item = BenefitItem.objects.filter(pk=_int(f["item"]) or 0).first() if f["item"] else None
    qs = selectors.application_list(actor=user, status=f["status"], item=item, overdue=f["overdue"] == "1")
    if f["q"]:
        qs = qs.filter(Q(number=f["q"].upper()) | Q(enterprise__name__contains=f["q"]) | Q(item__name__contains=f["q"]))
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    ctx = {"page": page, "filters": f, "query": _query(request), "statuses": A.choices, "today": timezone.localdate(),
           "items": [] if user.role == Role.ENTERPRISE else selectors.item_list(actor=user).exclude(mode=Mode.AUTO_GRANT)}
    if request.headers.get("HX-Request"):
        return _render(request, "policies/_application_rows.html", ctx)
    return _render(request, "policies/applications.html", ctx)


def _application_allowed(user: User, app: Application) -> set[str]:
    st, item = app.status, app.item
    allowed: set[str] = set()
    if st == A.SUBMITTED and _can_handle(user, item):
        allowed |= {"accept", "not_accept"}
    if st == A.REVIEWING and _can_handle(user, item):
        allowed.add("correction")
    if st == A.REVIEWING and _can_review(user, item):
        allowed |= {"approve", "reject"}
    mine = user.role == Role.ENTERPRISE and user.enterprise_id == app.enterprise_id
    if mine and st == A.CORRECTION:
        allowed.add("submit_correction")
    if mine and st in (A.SUBMITTED, A.REVIEWING, A.CORRECTION):
        allowed.add("withdraw")
    return allowed


@login_required
@domain_errors
def application_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    app = selectors.application_get(actor=user, pk=pk)
    allowed = _application_allowed(user, app)
    pauses = list(app.pauses.all())
    open_pause = next((p for p in pauses if p.end is None), None)
    ctx: dict[str, Any] = {
        "app": app, "allowed": allowed, "pauses": pauses, "open_pause": open_pause,
        "materials": list(app.materials.select_related("material", "attachment")),
        "item_materials": list(app.item.materials.all()),
        "timeline": selectors.application_timeline(actor=user, application=app),
        "payouts": list(app.payouts.order_by("id")), "internal": user.role != Role.ENTERPRISE,
        "objections": list(app.objections.order_by("id")) if user.role != Role.ENTERPRISE else [],
        "today": timezone.localdate(),
    }
    if open_pause is not None:
        ctx["wanted"] = [m for m in ctx["item_materials"] if m.name in open_pause.requested]
    if "approve" in allowed and app.item.rule is not None:
        fn = matching.compiled_amount(app.item.rule)
        if fn is not None:
            facts = matching.enterprise_facts(app.enterprise_id, fn.keys()) or {}
            ctx["computed_fen"] = fn.value_one(facts)
    return _render(request, "policies/application_detail.html", ctx)


def _application_do(action: str, user: User, app: Application, request: HttpRequest) -> str:
    p = request.POST
    if action == "accept":
        services.application_accept(actor=user, application=app)
        return _("已受理，审核计时开始")
    if action == "not_accept":
        services.application_not_accept(actor=user, application=app, reason=p.get("reason", ""))
        return _("已不予受理，并告知企业理由")
    if action == "correction":
        ids = [i for i in (_int(v) for v in p.getlist("materials")) if i]
        mats = list(ItemMaterial.objects.filter(item=app.item, pk__in=ids))
        services.application_request_correction(actor=user, application=app, materials=mats, note=p.get("note", ""))
        return _("补正告知已发出，审核计时暂停")
    if action == "approve":
        raw = p.get("amount_yuan", "").strip()
        try:
            amount = parse_yuan(raw) if raw else None
        except ValueError:
            raise ValidationFailed("金额应为元，最多两位小数", "the amount is yuan with at most two decimals",
                                   field="amount_fen") from None
        services.application_approve(actor=user, application=app, reason=p.get("reason", ""), amount_fen=amount)
        return _("审核通过，已进入公示")
    if action == "reject":
        services.application_reject(actor=user, application=app, reason=p.get("reason", ""))
        return _("已作出不予批准决定")
    if action == "submit_correction":
        with transaction.atomic():
            files = _store_files(request, list(app.item.materials.all()), user)
            services.application_submit_correction(actor=user, application=app, materials=files,
                                                   statement=p.get("statement", ""))
        return _("补正材料已提交，审核恢复计时")
    if action == "withdraw":
        services.application_withdraw(actor=user, application=app)
        return _("申报已撤回")
    raise NotFound("未知操作", f"unknown action {action}")


@login_required
@require_POST
@domain_errors
def application_act_view(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    app = selectors.application_get(actor=user, pk=pk)
    try:
        done = _application_do(action, user, app, request)
    except (NotFound, NotPermitted):
        raise
    except DomainError as exc:
        _error(request, exc)
    else:
        messages.success(request, done)
    return redirect("policies:application", pk=app.pk)


@login_required
@domain_errors
def application_file_view(request: HttpRequest, pk: int, attachment_pk: int) -> HttpResponse:
    app = selectors.application_get(actor=request.user, pk=pk)  # type: ignore[arg-type]
    row = ApplicationMaterial.objects.select_related("attachment").filter(application=app,
                                                                          attachment_id=attachment_pk).first()
    if row is None:
        raise NotFound("附件不存在", "no such attachment")
    att = row.attachment
    response = FileResponse(att.file.open("rb"), as_attachment=True, filename=att.original_name,
                            content_type=att.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


# ------------------------------------------------------------------------------------------- 免申即享 lists


@login_required
@domain_errors
def lists_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    f = {k: request.GET.get(k, "").strip() for k in ("status", "item")}
    item = BenefitItem.objects.filter(pk=_int(f["item"]) or 0).first() if f["item"] else None
    qs = selectors.payout_list_list(actor=user, item=item, status=f["status"])
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    items = selectors.item_list(actor=user, mode=Mode.AUTO_GRANT)
    if not (_sees_all(user) or user.role == Role.DISPATCHER):
        items = items.filter(department_id=user.department_id or 0)
    return _render(request, "policies/lists.html", {
        "page": page, "filters": f, "query": _query(request), "statuses": L.choices, "items": items,
        "proposable": [it for it in items if _can_edit_item(user, it) and it.status == BenefitItem.Status.PUBLISHED]})


def _list_allowed(user: User, plist: PayoutList) -> set[str]:
    st, item = plist.status, plist.item
    allowed: set[str] = set()
    if st == L.PROPOSED and _can_review(user, item):
        allowed |= {"exclude", "restore", "review"}
    if st == L.REVIEWED and _can_edit_item(user, item):
        allowed.add("publish")
    if st == L.NOTICE and _can_edit_item(user, item):
        allowed.add("finalize")
    if st in (L.PROPOSED, L.REVIEWED) and _can_edit_item(user, item):
        allowed.add("cancel")
    return allowed


def _list_totals(plist: PayoutList) -> dict[str, int]:
    agg = plist.entries.aggregate(
        n_in=Count("id", filter=Q(included=True)), s_in=Sum("amount_fen", filter=Q(included=True)),
        n_out=Count("id", filter=Q(included=False)), s_out=Sum("amount_fen", filter=Q(included=False)))
    return {k: int(v or 0) for k, v in agg.items()}


def list_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff: the list under review with its actions; everyone else: its public notice."""
    user = _actor(request)
    if not _staff(user):
        return list_notice_view(request, pk)
    return _list_detail(request, pk)


@login_required
@domain_errors
def _list_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    plist = PayoutList.objects.select_related("item", "item__department", "item__document", "rule_version",
                                              "created_by", "reviewed_by").filter(pk=pk).first()
    if plist is None:
        raise NotFound("拟兑现名单不存在", "no such list")
    if not selectors.payout_list_list(actor=user).filter(pk=pk).exists():
        raise NotPermitted("只能查看本部门事项的名单", "only lists of your department's items")
    f = {k: request.GET.get(k, "").strip() for k in ("q", "show")}
    entries = selectors.payout_list_entries(actor=user, payout_list=plist)
    if f["q"]:
        entries = entries.filter(Q(enterprise__name__contains=f["q"]) | Q(enterprise__uscc=f["q"].upper()))
    if f["show"] == "excluded":
        entries = entries.filter(included=False)
    elif f["show"] == "objected":
        entries = entries.filter(objections__isnull=False).distinct()
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    open_by_entry = dict(Objection.objects.filter(entry__payout_list=plist, status=Objection.Status.OPEN)
                         .values_list("entry_id").annotate(n=Count("id")))
    ctx = {
        "plist": plist, "item": plist.item, "page": page, "filters": f, "query": _query(request),
        "allowed": _list_allowed(user, plist), "totals": _list_totals(plist),
        "budget_used_fen": services.budget_used_fen(plist.item_id), "open_by_entry": open_by_entry,
        "objections": list(Objection.objects.filter(entry__payout_list=plist).select_related("entry__enterprise")
                           .order_by("-created_at")[:50]),
        "events": plist.events.select_related("actor").order_by("at", "id"), "today": timezone.localdate(),
    }
    return _render(request, "policies/list_detail.html", ctx)


@login_required
@require_POST
@domain_errors
def list_act_view(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    plist = PayoutList.objects.select_related("item").filter(pk=pk).first()
    if plist is None or not selectors.payout_list_list(actor=user).filter(pk=pk).exists():
        raise NotFound("拟兑现名单不存在", "no such list")
    p = request.POST
    back = reverse("policies:list", args=[plist.pk]) + ("?" + p["back"] if p.get("back") else "")
    try:
        if action in ("exclude", "restore"):
            entry = PayoutListEntry.objects.filter(payout_list=plist, pk=_int(p.get("entry")) or 0).first()
            if entry is None:
                raise NotFound("名单中没有该企业", "no such entry")
            if action == "exclude":
                services.payout_list_exclude(actor=user, entry=entry, reason=p.get("reason", ""))
                messages.success(request, _("已剔除"))
            else:
                services.payout_list_restore(actor=user, entry=entry)
                messages.success(request, _("已恢复"))
        elif action == "review":
            services.payout_list_review_complete(actor=user, payout_list=plist, note=p.get("note", ""))
            messages.success(request, _("部门审核完成，待营商办公示"))
        elif action == "publish":
            plist = services.payout_list_publish(actor=user, payout_list=plist)
            messages.success(request, _("名单已公示至 %(d)s") % {"d": plist.notice_end})
        elif action == "finalize":
            services.payout_list_finalize(actor=user, payout_list=plist)
            messages.success(request, _("公示期满，兑现已生成，可编入拨付批次"))
        elif action == "cancel":
            services.payout_list_cancel(actor=user, payout_list=plist, reason=p.get("reason", ""))
            messages.success(request, _("名单已作废"))
        else:
            raise NotFound("未知操作", f"unknown action {action}")
    except (NotFound, NotPermitted):
        raise
    except DomainError as exc:
        _error(request, exc)
    return redirect(back)


@domain_errors
def list_notice_view(request: HttpRequest, pk: int) -> HttpResponse:
    """公示: the names and amounts of a list on notice (public), with the objection form."""
    plist = PayoutList.objects.select_related("item", "item__department", "item__document").filter(pk=pk).first()
    if plist is None:
        raise NotFound("公示不存在", "no such notice")
    rows = selectors.public_notice(payout_list=plist)
    q = request.GET.get("q", "").strip()
    if q:
        rows = [r for r in rows if q in r["enterprise"] or q.upper() == r["uscc"]]
    page = Paginator(rows, 100).get_page(request.GET.get("page"))
    entry_id = _int(request.GET.get("object"))
    target = next((r for r in selectors.public_notice(payout_list=plist) if r["entry"] == entry_id), None) \
        if entry_id else None
    today = timezone.localdate()
    open_ = plist.status == L.NOTICE and plist.notice_end is not None and today <= plist.notice_end
    return _render(request, "policies/notice.html", {
        "plist": plist, "item": plist.item, "page": page, "q": q, "query": _query(request), "target": target,
        "open": open_, "total_fen": sum(r["amount_fen"] for r in rows) if not q else None, "count": len(rows)})


@require_POST
@domain_errors
def list_object_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Anyone (signed in or not) objects to a listed enterprise while the notice runs."""
    plist = PayoutList.objects.filter(pk=pk).first()
    if plist is None:
        raise NotFound("公示不存在", "no such notice")
    p = request.POST
    entry = PayoutListEntry.objects.filter(payout_list=plist, pk=_int(p.get("entry")) or 0, included=True).first()
    notice = reverse("policies:list_notice", args=[plist.pk])
    if entry is None:
        messages.error(request, _("请在公示名单中选择异议对象"))
        return redirect(notice)
    try:
        services.objection_file(actor=_actor(request), entry=entry, text=p.get("text", ""),
                                filer_name=p.get("filer_name", ""), filer_contact=p.get("filer_contact", ""))
    except DomainError as exc:
        _error(request, exc)
        return redirect(f"{notice}?object={entry.pk}#objection")
    messages.success(request, _("异议已提交，责任部门将核实处理；处理期间暂停对该企业拨付"))
    return redirect(notice)


def notices_view(request: HttpRequest) -> HttpResponse:
    """公示: lists on notice and applications on notice (public)."""
    today = timezone.localdate()
    lists = (PayoutList.objects.filter(status__in=[L.NOTICE, L.FINAL]).select_related("item", "item__department")
             .annotate(count=Count("entries", filter=Q(entries__included=True)),
                       total_fen=Sum("entries__amount_fen", filter=Q(entries__included=True)))
             .order_by("-notice_start", "-id")[:30])
    apps = (Application.objects.filter(status=A.NOTICE, notice_end__gte=today)
            .select_related("item", "enterprise", "item__department").order_by("notice_end", "id")[:100])
    return _render(request, "policies/notices.html", {"lists": lists, "apps": apps, "today": today})


@domain_errors
def application_notice_view(request: HttpRequest, pk: int) -> HttpResponse:
    """One application on public notice, with the objection form."""
    app = Application.objects.select_related("item", "enterprise", "item__department").filter(
        pk=pk, status__in=[A.NOTICE, A.APPROVED]).first()
    if app is None or app.notice_end is None:
        raise NotFound("公示不存在", "no such notice")
    today = timezone.localdate()
    open_ = app.status == A.NOTICE and today <= app.notice_end
    if request.method == "POST":
        p = request.POST
        try:
            services.objection_file(actor=_actor(request), application=app, text=p.get("text", ""),
                                    filer_name=p.get("filer_name", ""), filer_contact=p.get("filer_contact", ""))
        except DomainError as exc:
            _error(request, exc)
        else:
            messages.success(request, _("异议已提交，责任部门将核实处理"))
        return redirect("policies:application_notice", pk=app.pk)
    return _render(request, "policies/application_notice.html", {"app": app, "open": open_})


# ------------------------------------------------------------------------------------------- objections


@login_required
@domain_errors
def objections_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    status = request.GET.get("status", Objection.Status.OPEN)
    qs = selectors.objection_list(actor=user, status="" if status == "all" else status)
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    return _render(request, "policies/objections.html", {"page": page, "status": status, "query": _query(request),
                                                          "statuses": Objection.Status.choices})


@login_required
@domain_errors
def objection_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    obj = selectors.objection_list(actor=user, status="").filter(pk=pk).first()
    if obj is None:
        raise NotFound("异议不存在或不属于本部门", "no such objection in your scope")
    item = obj.entry.payout_list.item if obj.entry_id else obj.application.item  # type: ignore[union-attr]
    if request.method == "POST":
        try:
            services.objection_decide(actor=user, objection=obj, uphold=request.POST.get("decision") == "uphold",
                                      reason=request.POST.get("reason", ""))
        except DomainError as exc:
            _error(request, exc)
        else:
            messages.success(request, _("异议已处理"))
        return redirect("policies:objection", pk=obj.pk)
    return _render(request, "policies/objection_detail.html", {
        "obj": obj, "item": item, "can_decide": obj.status == Objection.Status.OPEN and _can_review(user, item)})


# ------------------------------------------------------------------------------------------- payouts and batches


@login_required
@domain_errors
def payouts_view(request: HttpRequest) -> HttpResponse:
    """兑现台账 with filters; the totals are sums of exactly the rows listed."""
    user: User = request.user  # type: ignore[assignment]
    f = {k: request.GET.get(k, "").strip() for k in ("item", "status", "batch", "period", "q", "payable", "document",
                                                       "department", "township", "paid_from", "paid_to")}
    item = BenefitItem.objects.filter(pk=_int(f["item"]) or 0).first() if f["item"] else None
    batch = PayoutBatch.objects.filter(pk=_int(f["batch"]) or 0).first() if f["batch"] else None
    qs = selectors.payout_ledger(actor=user, item=item, status=f["status"], batch=batch)
    # the figures page links here with its grouping and period: the rows behind a number
    for key, path in (("document", "item__document_id"), ("department", "item__department_id"),
                      ("township", "enterprise__region_id")):
        if f[key]:
            qs = qs.filter(**{path: _int(f[key]) or 0})
    if f["paid_from"] or f["paid_to"]:
        today = timezone.localdate()
        start, end = day_bounds(parse_date(f["paid_from"], dt.date(1900, 1, 1), "paid_from"),
                             parse_date(f["paid_to"], today, "paid_to"))
        qs = qs.filter(paid_at__gte=start, paid_at__lt=end)
    if f["period"]:
        qs = qs.filter(period=f["period"])
    if f["q"]:
        qs = qs.filter(Q(enterprise__name__contains=f["q"]) | Q(enterprise__uscc=f["q"].upper())
                       | Q(number=f["q"].upper()))
    if f["payable"] == "1":
        qs = qs.filter(pk__in=services.payable_payouts().values("pk"))
    rows = {r["status"]: r for r in qs.order_by().values("status").annotate(n=Count("id"), s=Sum("amount_fen"))}
    by_status = [(v, label, int(rows.get(v, {}).get("n") or 0), int(rows.get(v, {}).get("s") or 0))
                 for v, label in Payout.Status.choices]
    paid = qs.filter(status=Payout.Status.PAID)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    ctx = {
        "page": page, "filters": f, "query": _query(request), "statuses": Payout.Status.choices, "by_status": by_status,
        "total_n": sum(r[2] for r in by_status), "total_fen": sum(r[3] for r in by_status),
        "paid_fen": next(r[3] for r in by_status if r[0] == Payout.Status.PAID),
        "paid_n": next(r[2] for r in by_status if r[0] == Payout.Status.PAID),
        "paid_enterprises": paid.values("enterprise_id").distinct().count(),
        "can_pay": can(user, "policies.pay"),
        "failed_n": next(r[2] for r in by_status if r[0] == Payout.Status.FAILED),
        "items": [] if user.role == Role.ENTERPRISE else selectors.item_list(actor=user),
    }
    return _render(request, "policies/payouts.html", ctx)


@login_required
@require_POST
@domain_errors
def payouts_retry_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    require(user, "policies.pay")
    ids = [i for i in (_int(v) for v in request.POST.getlist("payout")) if i]
    back = request.POST.get("back", "")
    back = back if back.startswith("/policies/") else reverse("policies:payouts") + "?status=failed"
    if not ids:
        messages.error(request, _("请勾选要重新拨付的失败记录"))
        return redirect(back)
    try:
        created = services.payout_retry(actor=user, payouts=list(Payout.objects.filter(pk__in=ids)))
    except DomainError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("已重新生成 %(n)s 笔待拨付，请编入新批次") % {"n": len(created)})
    return redirect(back)


@login_required
@domain_errors
def batches_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    status = request.GET.get("status", "").strip()
    qs = selectors.batch_list(actor=user)
    if status:
        qs = qs.filter(status=status)
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    payable = services.payable_payouts().aggregate(n=Count("id"), s=Sum("amount_fen"))
    waiting = Payout.objects.filter(status=Payout.Status.PENDING, batch__isnull=True).aggregate(n=Count("id"))["n"]
    return _render(request, "policies/batches.html", {
        "page": page, "status": status, "query": _query(request), "statuses": PayoutBatch.Status.choices,
        "payable": payable, "waiting": waiting, "can_pay": can(user, "policies.pay"),
        "items": BenefitItem.objects.filter(pk__in=services.payable_payouts().values("item_id")).order_by("code")})


@login_required
@require_POST
@domain_errors
def batch_new_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    require(user, "policies.pay")
    item = BenefitItem.objects.filter(pk=_int(request.POST.get("item")) or 0).first()
    try:
        batch = services.payout_batch_create(actor=user, items=[item] if item else None)
    except DomainError as exc:
        _error(request, exc)
        return redirect("policies:batches")
    messages.success(request, _("批次 %(n)s 已生成，请导出支付文件") % {"n": batch.number})
    return redirect("policies:batch", pk=batch.pk)


@login_required
@domain_errors
def batch_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    batch = selectors.batch_list(actor=user).filter(pk=pk).first()
    if batch is None:
        raise NotFound("拨付批次不存在", "no such batch")
    qs = batch.payouts.select_related("enterprise", "item").order_by("id")
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return _render(request, "policies/batch_detail.html", {
        "batch": batch, "page": page, "query": _query(request), "totals": ledger_totals(batch=batch),
        "failed": [p.pk for p in qs if p.status == Payout.Status.FAILED][:500], "can_pay": can(user, "policies.pay"),
        "events": batch.events.select_related("actor").order_by("at", "id")})


@login_required
@require_POST
@domain_errors
def batch_export_view(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    batch = selectors.batch_list(actor=user).filter(pk=pk).first()
    if batch is None:
        raise NotFound("拨付批次不存在", "no such batch")
    data = services.payout_batch_export(actor=user, batch=batch)
    response = HttpResponse(data, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{batch.number}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
@domain_errors
def confirmations_view(request: HttpRequest) -> HttpResponse:
    """The bank's confirmation file: every row checked first; a file with any bad row changes nothing."""
    user: User = request.user  # type: ignore[assignment]
    require(user, "policies.pay")
    upload = request.FILES.get("file")
    back = request.POST.get("back", "")
    back = back if back.startswith("/policies/") else reverse("policies:batches")
    if upload is None:
        messages.error(request, _("请选择回执文件"))
        return redirect(back)
    try:
        result = services.payout_confirmations_import(actor=user, data=upload.read())
    except DomainError as exc:
        _error(request, exc)
    else:
        text = _("回执已导入：%(rows)s 行，拨付成功 %(paid)s，失败 %(failed)s，已导入过 %(same)s") % {
            "rows": result.rows, "paid": result.paid, "failed": result.failed, "same": result.unchanged}
        if result.batches_closed:
            text += _("；批次完成：%s") % "、".join(result.batches_closed)
        messages.success(request, text)
    return redirect(back)
