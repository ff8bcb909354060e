"""企业诉求直通车 over JSON: submit, list, read and every handling action, with the same permissions as
the pages (the services check them; the selectors scope the reads).

Objects are named by their public keys: an appeal by its number, an enterprise by its credit code,
a category and a department by their codes, people by their usernames.  A push from another system
carrying ``external_system`` + ``external_id`` is idempotent: the same id again gives the same
appeal (200 instead of 201).  Enterprise users get no internal block and no internal events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from yingshang.core.errors import DomainError, NotFound, NotPermitted, ValidationFailed
from yingshang.core.models import Attachment, Department, Role, User
from yingshang.core.permissions import can, require
from yingshang.enterprises.models import Enterprise

from . import selectors, services
from .models import Appeal, AppealEvent, Category, Channel, Extension, Meeting, SupervisionOrder

router = Router(tags=["appeals"])


# ------------------------------------------------------------------------------------------- schemas


class CategoryOut(Schema):
    code: str
    name: str
    parent_code: str | None
    resolve_days: int
    resolve_days_urgent: int
    default_department_code: str | None
    keywords: str
    active: bool


class AppealRow(Schema):
    number: str
    title: str
    status: str
    status_label: str
    enterprise_uscc: str
    enterprise_name: str
    category_code: str
    category_name: str
    channel: str
    urgency: str
    lead_department_code: str | None
    lead_department_name: str | None
    resolve_due: dt.date | None
    warning: str = Field(..., description="green / yellow / red for open appeals, empty otherwise")
    created_at: dt.datetime


class Page(Schema):
    count: int
    page: int
    page_size: int
    results: list[AppealRow]


class FileOut(Schema):
    id: int
    name: str
    size: int
    url: str


class EventOut(Schema):
    kind: str
    kind_label: str
    from_status: str
    to_status: str
    at: dt.datetime
    text: str
    department: str | None
    actor: str | None = Field(None, description="staff only")
    internal: bool
    data: dict[str, Any] | None = Field(None, description="staff only")
    attachments: list[FileOut] = []


class AssistOut(Schema):
    department_code: str
    department_name: str
    opinion: str
    opinion_at: dt.datetime | None
    opinion_by: str | None


class ExtensionOut(Schema):
    id: int
    days: int
    reason: str
    status: str
    requested_by: str
    requested_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_note: str


class SupervisionOut(Schema):
    id: int
    instruction: str
    due: dt.date
    issued_by: str
    issued_at: dt.datetime


class AppealInternal(Schema):
    """What only staff see: people, other systems' ids, counters and the working notes."""

    external_system: str
    external_id: str
    filed_by: str | None
    handler: str | None
    responsible_leader: str | None
    commissioner: str | None
    due_provisional: bool
    overdue_at: dt.datetime | None
    escalated_at: dt.datetime | None
    return_count: int
    version: int
    assists: list[AssistOut]
    extensions: list[ExtensionOut]


class AppealOut(Schema):
    number: str
    title: str
    content: str
    status: str
    status_label: str
    enterprise_uscc: str
    enterprise_name: str
    category_code: str
    category_name: str
    channel: str
    channel_label: str
    urgency: str
    caller: str
    contact_name: str
    contact_phone: str
    show_name: bool
    lead_department_code: str | None
    lead_department_name: str | None
    created_at: dt.datetime
    dispatched_at: dt.datetime | None
    sign_due: dt.date | None
    signed_at: dt.datetime | None
    contact_due: dt.date | None
    contacted_at: dt.datetime | None
    resolve_days: int
    resolve_due: dt.date | None
    replied_at: dt.datetime | None
    rate_due: dt.date | None
    closed_at: dt.datetime | None
    result: str
    reply: str
    explanation: str
    rating: str
    rating_comment: str
    rated_at: dt.datetime | None
    reopen_count: int
    merged_into: str | None
    warning: str
    timeline: list[EventOut]
    attachments: list[FileOut] = []
    internal: AppealInternal | None = Field(None, description="null for enterprise users")


class Filters(Schema):
    status: str = ""
    q: str = ""
    department: str = Field("", description="lead department code")
    category: str = Field("", description="category code")
    channel: str = ""
    overdue: str = Field("", description="1: open appeals past their resolution date")
    page: int = Field(1, ge=1)
    page_size: int = Field(50, ge=1, le=500)


class SubmitIn(Schema):
    enterprise_uscc: str = Field("", max_length=40, description="defaults to the enterprise user's own")
    category_code: str = Field(..., max_length=20)
    channel: str = Channel.PORTAL
    title: str
    content: str
    urgency: str = Appeal.Urgency.NORMAL
    contact_name: str
    contact_phone: str
    show_name: bool = False
    caller: str = ""
    meeting_id: int | None = None
    external_system: str = Field("", max_length=30)
    external_id: str = Field("", max_length=64)
    attachment_ids: list[int] = Field([], max_length=10, description="ids from POST /api/v1/attachments")


class DispatchIn(Schema):
    lead_department_code: str
    assist_department_codes: list[str] = []
    leader_username: str | None = None
    commissioner_username: str | None = None


class ReasonIn(Schema):
    reason: str


class NoteIn(Schema):
    note: str


class TextIn(Schema):
    text: str


class ExtensionIn(Schema):
    days: int
    reason: str


class DecideIn(Schema):
    approve: bool
    note: str = ""


class ReplyIn(Schema):
    result: str
    reply: str
    explanation: str = ""
    attachment_ids: list[int] = Field([], max_length=10, description="ids from POST /api/v1/attachments")


class RateIn(Schema):
    rating: str
    comment: str = ""


class ReviewIn(Schema):
    reopen: bool
    note: str


class SuperviseIn(Schema):
    instruction: str
    days: int


class MergeIn(Schema):
    into_number: str


# ------------------------------------------------------------------------------------------- helpers


@contextmanager
def _api_fields(**names: str) -> Iterator[None]:
    """Name the field as the API caller wrote it (``category`` → ``category_code``)."""
    try:
        yield
    except DomainError as exc:
        if exc.field in names:
            exc.field = names[exc.field]
        raise


def _own_files(request: HttpRequest, ids: list[int]) -> list[Attachment]:
    """Attachments the caller uploaded (``POST /api/v1/attachments``); anything else is refused."""
    if not ids:
        return []
    found = {a.pk: a for a in Attachment.objects.filter(pk__in=ids, uploaded_by=request.user)}  # type: ignore[misc]
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValidationFailed(f"附件 {missing[0]} 不存在或不是您上传的", f"attachment {missing[0]} is not one you uploaded",
                               field="attachment_ids")
    return [found[i] for i in dict.fromkeys(ids)]


def _file_out(appeal: Appeal, f: Attachment) -> dict[str, Any]:
    return {"id": f.pk, "name": f.original_name, "size": f.size,
            "url": f"/api/v1/appeals/{appeal.number}/files/{f.pk}"}


def _get(request: HttpRequest, number: str, field: str | None = None) -> Appeal:
    pk = Appeal.objects.filter(number=number.strip().upper()).values_list("pk", flat=True).first()
    if pk is None:
        if field:
            raise ValidationFailed(f"诉求 {number} 不存在", f"no appeal {number}", field=field)
        raise NotFound("诉求不存在", "no such appeal")
    return selectors.appeal_get(actor=request.user, pk=pk)  # type: ignore[arg-type]


def _department(code: str, field: str) -> Department:
    dept = Department.objects.filter(code=code.strip()).first()
    if dept is None:
        raise ValidationFailed(f"部门代码 {code} 不存在", f"no department with code {code}", field=field)
    return dept


def _user(username: str | None, field: str) -> User | None:
    if not username:
        return None
    user = User.objects.filter(username=username.strip(), is_active=True).first()
    if user is None:
        raise ValidationFailed(f"用户 {username} 不存在", f"no active user {username}", field=field)
    return user


def _name(user: User | None) -> str | None:
    return user.display_name if user else None


def _staff(actor: Any) -> bool:
    """Whoever passed the selector's scoping and is not an enterprise user works for the government."""
    return getattr(actor, "role", None) != Role.ENTERPRISE


def _event_out(ev: AppealEvent, staff: bool) -> dict[str, Any]:
    return {"kind": ev.kind, "kind_label": ev.get_kind_display(), "from_status": ev.from_status,
            "to_status": ev.to_status, "at": ev.at, "text": ev.text,
            "department": ev.department.name if ev.department else None,
            "actor": _name(ev.actor) if staff else None, "internal": ev.internal,
            "data": ev.data if staff else None,
            "attachments": [_file_out(ev.appeal, f) for f in ev.attachments.all()]}


def _extension_out(ext: Extension) -> dict[str, Any]:
    return {"id": ext.pk, "days": ext.days, "reason": ext.reason, "status": ext.status,
            "requested_by": ext.requested_by.display_name, "requested_at": ext.requested_at,
            "decided_by": _name(ext.decided_by), "decided_at": ext.decided_at, "decision_note": ext.decision_note}


def _row(a: Appeal) -> dict[str, Any]:
    return {"number": a.number, "title": a.title, "status": a.status, "status_label": a.get_status_display(),
            "enterprise_uscc": a.enterprise.uscc, "enterprise_name": a.enterprise.name,
            "category_code": a.category.code, "category_name": a.category.name, "channel": a.channel,
            "urgency": a.urgency, "lead_department_code": a.lead_department.code if a.lead_department else None,
            "lead_department_name": a.lead_department.name if a.lead_department else None,
            "resolve_due": a.resolve_due, "warning": selectors.warning_level(a), "created_at": a.created_at}


def _detail(request: HttpRequest, number_or_appeal: str | Appeal, *, fresh: bool = False) -> dict[str, Any]:
    """The appeal as the actor may see it.  ``fresh``: the actor's own appeal just created in this
    request, answered from memory (nothing assigned yet, no assists, no extensions)."""
    actor = request.user
    pk = number_or_appeal.pk if isinstance(number_or_appeal, Appeal) else None
    if fresh and isinstance(number_or_appeal, Appeal):
        a = number_or_appeal
    else:
        a = (selectors.appeal_get(actor=actor, pk=pk) if pk is not None  # type: ignore[arg-type]
             else _get(request, number_or_appeal))  # type: ignore[arg-type]
    staff = _staff(actor)
    timeline = [_event_out(ev, staff) for ev in selectors.appeal_timeline(actor=actor, appeal=a)]  # type: ignore[arg-type]
    out: dict[str, Any] = {
        **_row(a), "content": a.content, "channel_label": a.get_channel_display(), "caller": a.caller,
        "contact_name": a.contact_name, "contact_phone": a.contact_phone, "show_name": a.show_name,
        "dispatched_at": a.dispatched_at, "sign_due": a.sign_due, "signed_at": a.signed_at,
        "contact_due": a.contact_due, "contacted_at": a.contacted_at, "resolve_days": a.resolve_days,
        "replied_at": a.replied_at, "rate_due": a.rate_due, "closed_at": a.closed_at, "result": a.result,
        "reply": a.reply, "explanation": a.explanation, "rating": a.rating, "rating_comment": a.rating_comment,
        "rated_at": a.rated_at, "reopen_count": a.reopen_count,
        "merged_into": a.merged_into.number if a.merged_into else None, "timeline": timeline, "internal": None,
        "attachments": [_file_out(a, f) for f in a.attachments.all()],
    }
    if staff:
        out["internal"] = {
            "external_system": a.external_system, "external_id": a.external_id,
            "filed_by": _name(a.filed_by), "handler": _name(a.handler),
            "responsible_leader": _name(a.responsible_leader), "commissioner": _name(a.commissioner),
            "due_provisional": a.due_provisional, "overdue_at": a.overdue_at, "escalated_at": a.escalated_at,
            "return_count": a.return_count, "version": a.version,
            "assists": [] if fresh else [
                {"department_code": r.department.code, "department_name": r.department.name,
                 "opinion": r.opinion, "opinion_at": r.opinion_at, "opinion_by": _name(r.opinion_by)}
                for r in a.assists.select_related("department", "opinion_by").order_by("department__code")],
            "extensions": [] if fresh else [
                _extension_out(e) for e in
                a.extensions.select_related("requested_by", "decided_by").order_by("requested_at", "id")],
        }
    return out


# ------------------------------------------------------------------------------------------- batch intake
# (before the reads: "/batch" would otherwise match the GET route "/{number}")

BATCH_MAX = 200


class BatchIn(Schema):
    items: list[SubmitIn] = Field(..., min_length=1, max_length=BATCH_MAX)


class ErrorOut(Schema):
    code: str
    message: str
    message_en: str
    field: str | None = None


class BatchItemOut(Schema):
    index: int
    outcome: str = Field(description="created | existing | refused")
    number: str | None = None
    error: ErrorOut | None = None


class BatchOut(Schema):
    created: int
    existing: int
    refused: int
    results: list[BatchItemOut]


@router.post("/batch", response=BatchOut)
def appeal_submit_batch(request: HttpRequest, payload: BatchIn):  # type: ignore[no-untyped-def]
    """Several appeals at once (a hotline platform pushing its tickets, at most 200 per call).  Each
    item is taken or refused on its own; the same external id again gives back the earlier appeal."""
    actor = request.user
    require(actor, "appeals.file")  # type: ignore[arg-type]
    usccs = {it.enterprise_uscc.strip().upper() for it in payload.items}
    enterprises = {e.uscc: e for e in Enterprise.objects.select_related("region").filter(uscc__in=usccs)}
    categories = {c.code: c for c in Category.objects.filter(code__in={it.category_code.strip()
                                                                          for it in payload.items})}
    meetings = Meeting.objects.in_bulk({it.meeting_id for it in payload.items if it.meeting_id is not None})
    n = len(payload.items)
    prepared: list[dict[str, Any] | None] = [None] * n
    errors: list[DomainError | None] = [None] * n
    for i, it in enumerate(payload.items):
        code = it.enterprise_uscc.strip().upper()
        if code not in enterprises:
            errors[i] = ValidationFailed(f"统一社会信用代码 {code or '（空）'} 对应的市场主体不存在",
                                         f"no enterprise with credit code {code or '(empty)'}", field="enterprise_uscc")
        elif it.category_code.strip() not in categories:
            errors[i] = ValidationFailed(f"分类代码 {it.category_code} 不存在", f"no category {it.category_code}",
                                         field="category_code")
        elif it.meeting_id is not None and it.meeting_id not in meetings:
            errors[i] = ValidationFailed("会议记录不存在", "no such meeting", field="meeting_id")
        else:
            prepared[i] = {
                "enterprise": enterprises[code], "category": categories[it.category_code.strip()],
                "title": it.title, "content": it.content, "channel": it.channel, "contact_name": it.contact_name,
                "contact_phone": it.contact_phone, "urgency": it.urgency, "show_name": it.show_name,
                "caller": it.caller, "meeting": meetings.get(it.meeting_id) if it.meeting_id else None,
                "external_system": it.external_system, "external_id": it.external_id}
    index = [i for i in range(n) if prepared[i] is not None]
    result = services.appeal_submit_many(actor=actor, items=[prepared[i] for i in index])  # type: ignore[arg-type, misc]
    names = {"enterprise": "enterprise_uscc", "category": "category_code", "meeting": "meeting_id"}
    for j, i in enumerate(index):
        errors[i] = result.errors[j]
    out, counts = [], {"created": 0, "existing": 0, "refused": 0}
    appeals = dict(zip(index, result.appeals, strict=True))
    for i in range(n):
        err, appeal = errors[i], appeals.get(i)
        if err is not None or appeal is None:
            assert err is not None
            body = err.as_dict()
            body["field"] = names.get(body["field"] or "", body["field"])
            out.append({"index": i, "outcome": "refused", "error": body})
            counts["refused"] += 1
        else:
            outcome = "existing" if appeal.repeated else "created"
            out.append({"index": i, "outcome": outcome, "number": appeal.number})
            counts[outcome] += 1
    return {**counts, "results": out}


# ------------------------------------------------------------------------------------------- reads


def _category_out(c: Category) -> dict[str, Any]:
    return {"code": c.code, "name": c.name, "parent_code": c.parent.code if c.parent else None,
            "resolve_days": c.resolve_days, "resolve_days_urgent": c.resolve_days_urgent,
            "default_department_code": c.default_department.code if c.default_department else None,
            "keywords": c.keywords, "active": c.active}


@router.get("/categories", response=list[CategoryOut])
def category_list(request: HttpRequest, include_inactive: bool = False):  # type: ignore[no-untyped-def]
    qs = Category.objects.select_related("parent", "default_department")
    return [_category_out(c) for c in (qs if include_inactive else qs.filter(active=True))]


class CategoryIn(Schema):
    code: str = Field("", max_length=20)
    name: str | None = Field(None, max_length=50)
    parent_code: str | None = None
    resolve_days: int | None = None
    resolve_days_urgent: int | None = None
    default_department_code: str | None = None
    keywords: str | None = None
    active: bool | None = None


def _category_changes(payload: CategoryIn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in ("name", "resolve_days", "resolve_days_urgent", "keywords", "active"):
        if getattr(payload, f) is not None:
            out[f] = getattr(payload, f)
    if payload.parent_code is not None:
        out["parent"] = None
        if payload.parent_code:
            out["parent"] = Category.objects.filter(code=payload.parent_code).first()
            if out["parent"] is None:
                raise ValidationFailed(f"分类 {payload.parent_code} 不存在", "no such parent", field="parent_code")
    if payload.default_department_code is not None:
        out["default_department"] = (_department(payload.default_department_code, "default_department_code")
                                     if payload.default_department_code else None)
    return out


@router.post("/categories", response={201: CategoryOut})
def category_create(request: HttpRequest, payload: CategoryIn):  # type: ignore[no-untyped-def]
    changes = _category_changes(payload)
    with _api_fields(parent="parent_code", default_department="default_department_code"):
        cat = services.category_create(actor=request.user, code=payload.code, name=changes.pop("name", ""),  # type: ignore[arg-type]
                                       resolve_days=changes.pop("resolve_days", 10),
                                       resolve_days_urgent=changes.pop("resolve_days_urgent", 3),
                                       **{k: v for k, v in changes.items() if k != "active"})
    return Status(201, _category_out(cat))


@router.patch("/categories/{code}", response=CategoryOut)
def category_update(request: HttpRequest, code: str, payload: CategoryIn):  # type: ignore[no-untyped-def]
    cat = Category.objects.filter(code=code).first()
    if cat is None:
        raise NotFound("分类不存在", "no such category")
    with _api_fields(parent="parent_code", default_department="default_department_code"):
        cat = services.category_update(actor=request.user, category=cat, **_category_changes(payload))  # type: ignore[arg-type]
    return _category_out(cat)


class AccuracyOut(Schema):
    n: int
    n_train: int
    n_test: int
    category_top1: float | None
    category_top3: float | None
    department_top1: float | None
    department_top3: float | None
    baseline_category_top1: float | None
    baseline_department_top1: float | None


@router.get("/suggest-accuracy", response=AccuracyOut)
def suggest_accuracy(request: HttpRequest):  # type: ignore[no-untyped-def]
    """Accuracy of the learned suggestion on a held-out 20 % of the county's dispatched appeals."""
    from . import suggest

    require(request.user, "appeals.configure")  # type: ignore[arg-type]
    return suggest.evaluate_current()


@router.get("", response=Page)
def appeal_list(request: HttpRequest, filters: Query[Filters]):  # type: ignore[no-untyped-def]
    if filters.status and filters.status not in Appeal.Status.values:
        raise ValidationFailed(f"未知状态 {filters.status}", f"unknown status {filters.status}", field="status")
    if filters.channel and filters.channel not in Channel.values:
        raise ValidationFailed(f"未知渠道 {filters.channel}", f"unknown channel {filters.channel}", field="channel")
    department = str(_department(filters.department, "department").pk) if filters.department else ""
    category = ""
    if filters.category:
        cat = Category.objects.filter(code=filters.category.strip()).first()
        if cat is None:
            raise ValidationFailed(f"分类代码 {filters.category} 不存在", f"no category {filters.category}",
                                   field="category")
        category = str(cat.pk)
    qs = selectors.appeal_list(actor=request.user, status=filters.status, q=filters.q,  # type: ignore[arg-type]
                               department=department, category=category, channel=filters.channel,
                               overdue=filters.overdue)
    start = (filters.page - 1) * filters.page_size
    rows = list(qs[start:start + filters.page_size])
    return {"count": qs.count(), "page": filters.page, "page_size": filters.page_size,
            "results": [_row(a) for a in rows]}


@router.get("/{number}", response=AppealOut)
def appeal_read(request: HttpRequest, number: str):  # type: ignore[no-untyped-def]
    return _detail(request, number)


@router.get("/{number}/files/{attachment_id}", response={200: None})
def appeal_file(request: HttpRequest, number: str, attachment_id: int):  # type: ignore[no-untyped-def]
    """Download a file of the appeal (the same rule as the page: what the caller's timeline shows)."""
    from django.http import FileResponse

    appeal = _get(request, number)
    att = selectors.appeal_attachment(actor=request.user, appeal_pk=appeal.pk,  # type: ignore[arg-type]
                                      attachment_pk=attachment_id)
    response = FileResponse(att.file.open("rb"), as_attachment=True, filename=att.original_name,
                            content_type=att.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    return response


# ------------------------------------------------------------------------------------------- intake


@router.post("", response={200: AppealOut, 201: AppealOut})
def appeal_submit(request: HttpRequest, payload: SubmitIn):  # type: ignore[no-untyped-def]
    actor = request.user
    if not (can(actor, "appeals.submit_own") or can(actor, "appeals.file")):  # type: ignore[arg-type]
        raise NotPermitted("您无权提交诉求", "you may not raise appeals")
    uscc_code = payload.enterprise_uscc.strip().upper()
    if actor.role == Role.ENTERPRISE:  # type: ignore[union-attr]
        own = Enterprise.objects.select_related("region").filter(pk=actor.enterprise_id).first()  # type: ignore[union-attr]
        if own is None or (uscc_code and uscc_code != own.uscc):
            raise NotPermitted("只能为本企业提交诉求", "you can only raise appeals for your own enterprise",
                               field="enterprise_uscc")
        enterprise = own
    else:
        enterprise = Enterprise.objects.select_related("region").filter(uscc=uscc_code).first() if uscc_code else None
        if enterprise is None:
            raise ValidationFailed(f"统一社会信用代码 {uscc_code or '（空）'} 对应的市场主体不存在",
                                   f"no enterprise with credit code {uscc_code or '(empty)'}", field="enterprise_uscc")
    category = Category.objects.filter(code=payload.category_code.strip()).first()
    if category is None:
        raise ValidationFailed(f"分类代码 {payload.category_code} 不存在", f"no category {payload.category_code}",
                               field="category_code")
    meeting = None
    if payload.meeting_id is not None:
        meeting = Meeting.objects.filter(pk=payload.meeting_id).first()
        if meeting is None:
            raise ValidationFailed("会议记录不存在", "no such meeting", field="meeting_id")
    external_id = payload.external_id.strip()
    with _api_fields(enterprise="enterprise_uscc", category="category_code", meeting="meeting_id"):
        appeal = services.appeal_submit(
            actor=actor, enterprise=enterprise, category=category, title=payload.title,  # type: ignore[arg-type]
            content=payload.content, channel=payload.channel, contact_name=payload.contact_name,
            contact_phone=payload.contact_phone, urgency=payload.urgency, show_name=payload.show_name,
            caller=payload.caller, meeting=meeting, external_system=payload.external_system, external_id=external_id,
            attachments=_own_files(request, payload.attachment_ids))
    return Status(200 if appeal.repeated else 201, _detail(request, appeal, fresh=not appeal.repeated))


# ------------------------------------------------------------------------------------------- handling


@router.post("/{number}/dispatch", response=AppealOut)
def appeal_dispatch(request: HttpRequest, number: str, payload: DispatchIn):  # type: ignore[no-untyped-def]
    appeal = _get(request, number)
    require(request.user, "appeals.dispatch")  # type: ignore[arg-type]
    lead = _department(payload.lead_department_code, "lead_department_code")
    assists = [_department(c, "assist_department_codes") for c in payload.assist_department_codes]
    with _api_fields(leader="leader_username"):
        appeal = services.appeal_dispatch(actor=request.user, appeal=appeal, lead=lead, assists=assists,  # type: ignore[arg-type]
                                          leader=_user(payload.leader_username, "leader_username"),
                                          commissioner=_user(payload.commissioner_username, "commissioner_username"))
    return _detail(request, appeal)


@router.post("/{number}/return", response=AppealOut)
def appeal_return(request: HttpRequest, number: str, payload: ReasonIn):  # type: ignore[no-untyped-def]
    appeal = services.appeal_return(actor=request.user, appeal=_get(request, number), reason=payload.reason)  # type: ignore[arg-type]
    return _detail(request, appeal)


@router.post("/{number}/sign", response=AppealOut)
def appeal_sign(request: HttpRequest, number: str):  # type: ignore[no-untyped-def]
    appeal = services.appeal_sign(actor=request.user, appeal=_get(request, number))  # type: ignore[arg-type]
    return _detail(request, appeal)


@router.post("/{number}/contact", response=AppealOut)
def appeal_contact(request: HttpRequest, number: str, payload: NoteIn):  # type: ignore[no-untyped-def]
    appeal = services.appeal_contact(actor=request.user, appeal=_get(request, number), note=payload.note)  # type: ignore[arg-type]
    return _detail(request, appeal)


@router.post("/{number}/assist-opinion", response=AppealOut)
def appeal_assist_opinion(request: HttpRequest, number: str, payload: TextIn):  # type: ignore[no-untyped-def]
    appeal = _get(request, number)
    services.appeal_assist_opinion(actor=request.user, appeal=appeal, text=payload.text)  # type: ignore[arg-type]
    return _detail(request, appeal)


@router.post("/{number}/extensions", response={201: ExtensionOut})
def appeal_extension_request(request: HttpRequest, number: str, payload: ExtensionIn):  # type: ignore[no-untyped-def]
    ext = services.appeal_extension_request(actor=request.user, appeal=_get(request, number),  # type: ignore[arg-type]
                                            days=payload.days, reason=payload.reason)
    return Status(201, _extension_out(ext))


@router.post("/extensions/{extension_id}/decide", response=ExtensionOut)
def appeal_extension_decide(request: HttpRequest, extension_id: int, payload: DecideIn):  # type: ignore[no-untyped-def]
    ext = Extension.objects.filter(pk=extension_id).first()
    if ext is None:
        raise NotFound("延期申请不存在", "no such extension request")
    selectors.appeal_get(actor=request.user, pk=ext.appeal_id)  # type: ignore[arg-type]
    ext = services.appeal_extension_decide(actor=request.user, extension=ext, approve=payload.approve,  # type: ignore[arg-type]
                                           note=payload.note)
    ext = Extension.objects.select_related("requested_by", "decided_by").get(pk=ext.pk)
    return _extension_out(ext)


@router.post("/{number}/reply", response=AppealOut)
def appeal_reply(request: HttpRequest, number: str, payload: ReplyIn):  # type: ignore[no-untyped-def]
    appeal = services.appeal_reply(actor=request.user, appeal=_get(request, number), result=payload.result,  # type: ignore[arg-type]
                                   reply=payload.reply, explanation=payload.explanation,
                                   attachments=_own_files(request, payload.attachment_ids))
    return _detail(request, appeal)


@router.post("/{number}/rate", response=AppealOut)
def appeal_rate(request: HttpRequest, number: str, payload: RateIn):  # type: ignore[no-untyped-def]
    appeal = services.appeal_rate(actor=request.user, appeal=_get(request, number), rating=payload.rating,  # type: ignore[arg-type]
                                  comment=payload.comment)
    return _detail(request, appeal)


@router.post("/{number}/review", response=AppealOut)
def appeal_review(request: HttpRequest, number: str, payload: ReviewIn):  # type: ignore[no-untyped-def]
    appeal = services.appeal_review(actor=request.user, appeal=_get(request, number), reopen=payload.reopen,  # type: ignore[arg-type]
                                    note=payload.note)
    return _detail(request, appeal)


@router.post("/{number}/supervise", response={201: SupervisionOut})
def appeal_supervise(request: HttpRequest, number: str, payload: SuperviseIn):  # type: ignore[no-untyped-def]
    order = services.appeal_supervise(actor=request.user, appeal=_get(request, number),  # type: ignore[arg-type]
                                      instruction=payload.instruction, days=payload.days)
    order = SupervisionOrder.objects.select_related("issued_by").get(pk=order.pk)
    return Status(201, {"id": order.pk, "instruction": order.instruction, "due": order.due,
                        "issued_by": order.issued_by.display_name, "issued_at": order.issued_at})


@router.post("/{number}/follow-up", response={201: EventOut})
def appeal_follow_up(request: HttpRequest, number: str, payload: TextIn):  # type: ignore[no-untyped-def]
    ev = services.appeal_follow_up(actor=request.user, appeal=_get(request, number), text=payload.text)  # type: ignore[arg-type]
    return Status(201, _event_out(ev, _staff(request.user)))


@router.post("/{number}/merge", response=AppealOut)
def appeal_merge(request: HttpRequest, number: str, payload: MergeIn):  # type: ignore[no-untyped-def]
    duplicate = _get(request, number)
    require(request.user, "appeals.dispatch")  # type: ignore[arg-type]
    into = _get(request, payload.into_number, field="into_number")
    with _api_fields(into="into_number"):
        duplicate = services.appeal_merge(actor=request.user, duplicate=duplicate, into=into)  # type: ignore[arg-type]
    return _detail(request, duplicate)
