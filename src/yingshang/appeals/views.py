"""Appeal pages: list, submit, detail with timeline and the action forms the viewer may use.

Thin over ``services`` (every change) and ``selectors`` (every read); the page only decides
which forms to show, the services decide what is allowed."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yingshang.core.errors import DomainError, NotFound, NotPermitted, ValidationFailed
from yingshang.core.models import Department, Role, User
from yingshang.core.permissions import can
from yingshang.core.services import attachment_store
from yingshang.core.views import domain_errors
from yingshang.enterprises.models import Enterprise

from . import selectors, services
from .models import Appeal, AppealEvent, Category, Channel, Extension, Meeting

S = Appeal.Status
OFFICE_CHANNELS = [c for c in Channel.choices if c[0] != Channel.PORTAL]
ACTIONS = ("dispatch", "return", "sign", "contact", "assist_opinion", "extension_request", "extension_decide",
           "reply", "rate", "review", "supervise", "follow_up", "merge")


def _filters(request: HttpRequest) -> dict[str, str]:
    return {k: request.GET.get(k, "").strip() for k in ("status", "q", "channel", "category", "overdue", "department")}


def _warning(appeal: Appeal) -> tuple[str, str] | None:
    level = selectors.warning_level(appeal)
    if not level:
        return None
    css, label = {"green": ("green", _("正常")), "yellow": ("amber", _("临期")), "red": ("red", _("超期"))}[level]
    return css, label


def _int(value: str | None, field: str, label: str) -> int:
    try:
        return int(value or "")
    except ValueError:
        raise ValidationFailed(f"{label}须为整数", f"{field} must be a whole number", field=field) from None


def _error(request: HttpRequest, exc: DomainError) -> None:
    messages.error(request, f"{exc.message} / {exc.message_en}")


# ------------------------------------------------------------------------------------------- list


@login_required
@domain_errors
def appeal_list_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    filters = _filters(request)
    qs = selectors.appeal_list(actor=user, **filters)
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    rows = [(a, _warning(a)) for a in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    ctx = {"page": page, "rows": rows, "filters": filters, "query": query.urlencode(),
           "statuses": S.choices, "channels": Channel.choices,
           "categories": Category.objects.filter(active=True),
           "can_new": can(user, "appeals.submit_own") or can(user, "appeals.file"),
           "can_configure": can(user, "appeals.configure"),
           "is_enterprise": user.role == Role.ENTERPRISE}
    template = "appeals/_rows.html" if request.headers.get("HX-Request") else "appeals/list.html"
    return render(request, template, ctx)


# ------------------------------------------------------------------------------------------- submit


@login_required
@domain_errors
def appeal_new_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    is_enterprise = user.role == Role.ENTERPRISE
    if not (can(user, "appeals.submit_own") or can(user, "appeals.file")):
        raise NotPermitted("您无权提交诉求", "you may not raise appeals")
    own = Enterprise.objects.filter(pk=user.enterprise_id).first() if is_enterprise else None
    if is_enterprise and own is None:
        raise NotPermitted("账号未关联企业", "this account is not linked to an enterprise")
    values: dict[str, Any] = {"urgency": Appeal.Urgency.NORMAL, "channel": Channel.HOTLINE}
    if own is not None:
        values.update(contact_name=own.contact_name, contact_phone=own.contact_phone)
    error = None
    if request.method == "POST":
        p = request.POST
        values = {k: p.get(k, "").strip() for k in ("uscc", "channel", "caller", "category", "title", "content",
                                                     "urgency", "contact_name", "contact_phone", "meeting")}
        values["show_name"] = p.get("show_name") == "1"
        try:
            if own is not None:
                enterprise = own
            else:
                enterprise = Enterprise.objects.filter(uscc=values["uscc"].upper()).first()
                if enterprise is None:
                    raise ValidationFailed("未找到该统一社会信用代码对应的市场主体",
                                           "no enterprise with this unified social credit code", field="uscc")
            category = Category.objects.filter(pk=values["category"] or 0).first() if values["category"].isdigit() else None
            if category is None:
                raise ValidationFailed("请选择诉求分类", "choose a category", field="category")
            meeting = None
            if values["meeting"].isdigit():
                meeting = Meeting.objects.filter(pk=values["meeting"]).first()
            upload = request.FILES.get("attachment")
            attachments = [attachment_store(upload=upload, name=upload.name or "attachment", actor=user)] if upload else []
            appeal = services.appeal_submit(
                actor=user, enterprise=enterprise, category=category, title=values["title"],
                content=values["content"], channel=Channel.PORTAL if own is not None else values["channel"],
                contact_name=values["contact_name"], contact_phone=values["contact_phone"],
                urgency=values["urgency"] or Appeal.Urgency.NORMAL, show_name=values["show_name"],
                caller=values["caller"], meeting=meeting, attachments=attachments,
            )
        except DomainError as exc:
            error = exc
        else:
            messages.success(request, _("诉求已提交，编号 %(n)s") % {"n": appeal.number})
            return redirect("appeals:detail", pk=appeal.pk)
    ctx = {"own": own, "values": values, "error": error, "channels": OFFICE_CHANNELS,
           "categories": Category.objects.filter(active=True), "urgencies": Appeal.Urgency.choices,
           "meetings": Meeting.objects.order_by("-held_on")[:20] if own is None else []}
    return render(request, "appeals/new.html", ctx, status=400 if error else 200)


# ------------------------------------------------------------------------------------------- detail


def _sees_internal(user: User) -> bool:
    """Assists, opinions, extensions and orders are for government eyes only."""
    return user.role != Role.ENTERPRISE and (can(user, "appeals.handle") or can(user, "appeals.view_all"))


def _is_lead(user: User, appeal: Appeal) -> bool:
    return can(user, "appeals.handle") and bool(user.department_id) and user.department_id == appeal.lead_department_id


def _allowed(user: User, appeal: Appeal, assist_row: Any, pending: Extension | None) -> set[str]:
    """The forms to show: the services check again on submit."""
    st = appeal.status
    lead = _is_lead(user, appeal)
    office = can(user, "appeals.dispatch")
    allowed: set[str] = set()
    if office and st in (S.SUBMITTED, S.RETURNED):
        allowed |= {"dispatch", "merge"}
    if lead and st == S.DISPATCHED:
        allowed |= {"return", "sign"}
    if lead and st == S.HANDLING:
        allowed |= {"contact", "reply"}
        if pending is None:
            allowed.add("extension_request")
    if pending is not None and can(user, "appeals.approve_extension") and (
            user.role != Role.HEAD or user.department_id == appeal.lead_department_id):
        allowed.add("extension_decide")
    if assist_row is not None and can(user, "appeals.handle") and st in (S.DISPATCHED, S.HANDLING):
        allowed.add("assist_opinion")
    if user.role == Role.ENTERPRISE and user.enterprise_id == appeal.enterprise_id and st == S.REPLIED:
        allowed.add("rate")
    if office and st == S.REVIEW:
        allowed.add("review")
    if office and st in (S.CLOSED, S.REPLIED):
        allowed.add("follow_up")
    if can(user, "appeals.supervise") and st in (S.DISPATCHED, S.HANDLING, S.RETURNED, S.SUBMITTED):
        allowed.add("supervise")
    return allowed


def _event_summary(ev: AppealEvent, internal: bool) -> str:
    d = ev.data or {}
    parts: list[str] = []
    if ev.kind == AppealEvent.Kind.DISPATCH:
        parts.append(_("主办：%s") % d.get("lead", ""))
        if d.get("assists") and internal:  # assisting departments are not shown to enterprises
            parts.append(_("协办：%s") % "、".join(d["assists"]))
        if d.get("resolve_due"):
            parts.append(_("办结期限：%s") % d["resolve_due"])
    elif ev.kind == AppealEvent.Kind.REPLY and d.get("result"):
        parts.append(str(Appeal.Result(d["result"]).label))
    elif ev.kind == AppealEvent.Kind.RATE and d.get("rating"):
        parts.append(str(Appeal.Rating(d["rating"]).label))
    elif ev.kind == AppealEvent.Kind.EXTENSION_REQUEST:
        parts.append(_("%s 个工作日") % d.get("days", ""))
    elif ev.kind == AppealEvent.Kind.EXTENSION_DECISION:
        parts.append(_("已批准") if d.get("approved") else _("已驳回"))
        if d.get("approved"):
            parts.append(_("办结期限 %(old)s → %(new)s") % {"old": d.get("old_due"), "new": d.get("new_due")})
    elif ev.kind in (AppealEvent.Kind.OVERDUE, AppealEvent.Kind.REOPEN) and d.get("resolve_due"):
        parts.append(_("办结期限：%s") % d["resolve_due"])
    elif ev.kind == AppealEvent.Kind.SUPERVISE and d.get("due"):
        parts.append(_("督办期限：%s") % d["due"])
    elif ev.kind == AppealEvent.Kind.MERGE and d.get("into"):
        parts.append(_("并入 %s") % d["into"])
    elif ev.kind == AppealEvent.Kind.SUBMIT and d.get("channel"):
        parts.append(str(Channel(d["channel"]).label) if d["channel"] in Channel.values else d["channel"])
    return "；".join(parts)


@login_required
@domain_errors
def appeal_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    appeal = selectors.appeal_get(actor=user, pk=pk)
    internal = _sees_internal(user)
    assists = list(appeal.assists.select_related("department", "opinion_by")) if internal else []
    assist_row = next((a for a in appeal.assists.all() if a.department_id == user.department_id), None) \
        if user.department_id else None
    extensions = list(appeal.extensions.select_related("requested_by", "decided_by").order_by("-requested_at")) \
        if internal else []
    pending = next((e for e in extensions if e.status == Extension.Status.PENDING), None)
    allowed = _allowed(user, appeal, assist_row, pending)
    timeline = [(ev, _event_summary(ev, internal)) for ev in selectors.appeal_timeline(actor=user, appeal=appeal)]
    ctx: dict[str, Any] = {
        "appeal": appeal, "warning": _warning(appeal), "internal": internal, "assists": assists,
        "assist_row": assist_row, "extensions": extensions, "pending": pending, "allowed": allowed,
        "timeline": timeline, "attachments": list(appeal.attachments.all()),
        "supervisions": list(appeal.supervisions.select_related("issued_by").order_by("-issued_at")) if internal else [],
        "merged": list(appeal.merged.all()) if internal else [],
        "results": Appeal.Result.choices,
        "ratings": [c for c in Appeal.Rating.choices if c[0] != Appeal.Rating.UNRATED],
    }
    if "dispatch" in allowed:
        ctx["departments"] = Department.objects.filter(is_office=False).order_by("code")
        ctx["leaders"] = User.objects.filter(role=Role.LEADER, is_active=True).order_by("username")
        ctx["commissioners"] = User.objects.filter(role=Role.DISPATCHER, is_active=True).order_by("username")
        ctx["assist_ids"] = {a.department_id for a in appeal.assists.all()}
        from yingshang.liaison.selectors import pairing_for

        pairing = pairing_for(enterprise=appeal.enterprise_id)
        ctx["pairing"] = pairing
        ctx["leader_id"] = appeal.responsible_leader_id or (pairing.leader_id if pairing else None)
        ctx["commissioner_id"] = appeal.commissioner_id or (pairing.commissioner_id if pairing else None)
        from .duplicates import possible_duplicates
        from .suggest import suggest

        hint = suggest(f"{appeal.title} {appeal.content}")
        ctx["suggestion"] = hint
        top_dept = hint["departments"][0][0] if hint["departments"] else None
        ctx["suggested"] = appeal.lead_department_id or top_dept or appeal.category.default_department_id
        ctx["duplicates"] = possible_duplicates(appeal)
    if "merge" in allowed:
        ctx["merge_targets"] = (Appeal.objects.filter(enterprise_id=appeal.enterprise_id).exclude(pk=appeal.pk)
                                .exclude(status__in=[S.MERGED, S.CLOSED]).order_by("-created_at")[:20])
    return render(request, "appeals/detail.html", ctx)


# ------------------------------------------------------------------------------------------- actions


def _do(action: str, user: User, appeal: Appeal, p: Any, files: Any = None) -> str:
    """Run one action through its service; returns the success message."""
    if action == "dispatch":
        lead = Department.objects.filter(pk=p.get("lead") or 0, is_office=False).first() if p.get("lead", "").isdigit() else None
        if lead is None:
            raise ValidationFailed("请选择主办部门", "choose the lead department", field="lead")
        ids = [i for i in p.getlist("assists") if i.isdigit()]
        assists = list(Department.objects.filter(pk__in=ids, is_office=False))
        leader = User.objects.filter(pk=p["leader"]).first() if p.get("leader", "").isdigit() else None
        commissioner = User.objects.filter(pk=p["commissioner"], role=Role.DISPATCHER).first() \
            if p.get("commissioner", "").isdigit() else None
        services.appeal_dispatch(actor=user, appeal=appeal, lead=lead, assists=assists, leader=leader,
                                 commissioner=commissioner)
        return _("已派单至 %s") % lead.name
    if action == "return":
        services.appeal_return(actor=user, appeal=appeal, reason=p.get("reason", ""))
        return _("已退回营商办重新派单")
    if action == "sign":
        services.appeal_sign(actor=user, appeal=appeal)
        return _("已签收")
    if action == "contact":
        services.appeal_contact(actor=user, appeal=appeal, note=p.get("note", ""))
        return _("已登记联系企业情况")
    if action == "assist_opinion":
        services.appeal_assist_opinion(actor=user, appeal=appeal, text=p.get("text", ""))
        return _("协办意见已提交")
    if action == "extension_request":
        services.appeal_extension_request(actor=user, appeal=appeal, days=_int(p.get("days"), "days", "延期天数"),
                                          reason=p.get("reason", ""))
        return _("延期申请已提交，待审批")
    if action == "extension_decide":
        ext = Extension.objects.filter(appeal=appeal, pk=p.get("extension") or 0).first() \
            if (p.get("extension") or "").isdigit() else None
        if ext is None:
            raise NotFound("延期申请不存在", "no such extension request")
        approve = p.get("decision") == "approve"
        services.appeal_extension_decide(actor=user, extension=ext, approve=approve, note=p.get("note", ""))
        return _("已批准延期") if approve else _("已驳回延期申请")
    if action == "reply":
        files = [attachment_store(upload=f, name=f.name or "attachment", actor=user)
                 for f in (files.getlist("attachments")[:10] if files else [])]
        services.appeal_reply(actor=user, appeal=appeal, result=p.get("result", ""), reply=p.get("reply", ""),
                              explanation=p.get("explanation", ""), attachments=files)
        return _("已答复企业，待企业评价")
    if action == "rate":
        services.appeal_rate(actor=user, appeal=appeal, rating=p.get("rating", ""), comment=p.get("comment", ""))
        return _("感谢您的评价")
    if action == "review":
        reopen = p.get("decision") == "reopen"
        services.appeal_review(actor=user, appeal=appeal, reopen=reopen, note=p.get("note", ""))
        return _("已重新交办") if reopen else _("已复核办结")
    if action == "supervise":
        services.appeal_supervise(actor=user, appeal=appeal, instruction=p.get("instruction", ""),
                                  days=_int(p.get("days"), "days", "督办期限"))
        return _("督办要求已下达")
    if action == "follow_up":
        services.appeal_follow_up(actor=user, appeal=appeal, text=p.get("text", ""))
        return _("回访已记录")
    if action == "merge":
        into = Appeal.objects.filter(pk=p["into"]).first() if p.get("into", "").isdigit() else None
        if into is None:
            raise ValidationFailed("请选择要并入的诉求", "choose the appeal to merge into", field="into")
        services.appeal_merge(actor=user, duplicate=appeal, into=into)
        return _("已并入 %s") % into.number
    raise NotFound("未知操作", f"unknown action {action}")


@login_required
@require_POST
@domain_errors
def appeal_act_view(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if action not in ACTIONS:
        raise NotFound("未知操作", f"unknown action {action}")
    appeal = selectors.appeal_get(actor=user, pk=pk)  # 403/404 when the viewer may not see it at all
    try:
        done = _do(action, user, appeal, request.POST, request.FILES)
    except DomainError as exc:
        _error(request, exc)
    else:
        messages.success(request, done)
    return redirect("appeals:detail", pk=appeal.pk)


@login_required
@domain_errors
def appeal_attachment_view(request: HttpRequest, pk: int, attachment_pk: int) -> HttpResponse:
    att = selectors.appeal_attachment(actor=request.user, appeal_pk=pk, attachment_pk=attachment_pk)  # type: ignore[arg-type]
    response = FileResponse(att.file.open("rb"), as_attachment=True, filename=att.original_name,
                            content_type=att.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
