"""/api/v1/services: the catalogue (items, materials, bundles, the two life-event trees, XLSX
export and import), cases (办件) with every handling step, monitoring, supervision pushes (审管互动),
好差评 with rectification and contests, and the figures — with the same permissions as the pages
(the services check them; the selectors scope the reads).

Objects are named by their public keys: an item or a bundle by its code, a case by its number, a
department by its code, an enterprise by its credit code; materials, tree nodes, extensions,
pushes, ratings and rectification tasks by their ids.  The catalogue is public to read (service
guides are public), as is rating with the signed link of a case (SMS, QR code, window evaluator).
Enterprise users get no internal notes, events or names of staff."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import File, Query, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import Field

from yingshang.core.errors import DomainError, NotFound, NotPermitted, ValidationFailed
from yingshang.core.models import Attachment, Department, Role
from yingshang.core.permissions import can, require
from yingshang.enterprises.models import Enterprise

from . import catalogue_xlsx, clock, selectors, services
from .conf import warn_days
from .models import (
    Bundle,
    BundleItem,
    Case,
    CaseEvent,
    CaseExtension,
    CaseMaterial,
    Material,
    Rating,
    Rectification,
    ServiceItem,
    SupervisionPush,
    TreeNode,
)

router = Router(tags=["services"])
PUBLIC: Any = None  # ``auth=None``: no login needed (the catalogue; rating with a case's signed link)


# ------------------------------------------------------------------------------------------- schemas


class MaterialOut(Schema):
    id: int
    name: str
    form: str
    form_label: str
    copies: int
    tolerance_allowed: bool
    note: str
    order: int
    template_id: int | None


class ItemRow(Schema):
    code: str
    name: str
    item_type: str
    item_type_label: str
    department_code: str
    department_name: str
    levels: list[str]
    legal_days: int
    promised_days: int
    is_instant: bool
    online: bool
    active: bool


class ItemOut(ItemRow):
    legal_basis: str
    conditions: str
    fees: str
    window: str
    hours: str
    notify_commit: bool
    joint_handling: bool
    extension_cap: int
    supervising_department_code: str | None
    materials: list[MaterialOut]
    bundle_codes: list[str]


class ItemPage(Schema):
    count: int
    page: int
    page_size: int
    results: list[ItemRow]


class MergedMaterialOut(Schema):
    name: str
    form: str
    copies: int
    tolerance_allowed: bool
    template_id: int | None
    material_ids: list[int]
    item_codes: list[str]


class BundleRow(Schema):
    code: str
    name: str
    lead_department_code: str
    lead_department_name: str
    promised_days: int
    active: bool
    item_codes: list[str]


class BundleOut(BundleRow):
    description: str
    window: str
    extension_cap: int
    items: list[ItemRow]
    materials: list[MergedMaterialOut]


class Ref(Schema):
    code: str
    name: str


class NodeOut(Schema):
    id: int
    tree: str
    name: str
    order: int
    parent_id: int | None
    bundles: list[Ref]
    items: list[Ref]
    children: list[NodeOut] = []


NodeOut.model_rebuild()


class TreeOut(Schema):
    tree: str
    tree_label: str
    nodes: list[NodeOut]


class ItemFilters(Schema):
    q: str = ""
    department: str = Field("", description="department code")
    include_inactive: bool = Field(False, description="catalogue editors only")
    page: int = Field(1, ge=1)
    page_size: int = Field(100, ge=1, le=500)


class ItemIn(Schema):
    code: str = Field(..., max_length=64)
    name: str = Field(..., max_length=200)
    item_type: str = Field(..., max_length=2)
    department_code: str
    legal_days: int = Field(..., ge=0, le=3650)
    promised_days: int = Field(..., ge=0, le=3650)
    levels: list[str] = ["county"]
    is_instant: bool | None = Field(None, description="defaults to promised_days == 0")
    legal_basis: str = ""
    conditions: str = ""
    fees: str = ""
    online: bool = False
    window: str = Field("", max_length=200)
    hours: str = Field("", max_length=200)
    notify_commit: bool = False
    joint_handling: bool = False
    supervising_department_code: str | None = None
    active: bool = True


class ItemPatch(Schema):
    name: str | None = Field(None, max_length=200)
    item_type: str | None = Field(None, max_length=2)
    department_code: str | None = None
    legal_days: int | None = Field(None, ge=0, le=3650)
    promised_days: int | None = Field(None, ge=0, le=3650)
    levels: list[str] | None = None
    is_instant: bool | None = None
    legal_basis: str | None = None
    conditions: str | None = None
    fees: str | None = None
    online: bool | None = None
    window: str | None = Field(None, max_length=200)
    hours: str | None = Field(None, max_length=200)
    notify_commit: bool | None = None
    joint_handling: bool | None = None
    supervising_department_code: str | None = Field(None, description="empty string: none")
    active: bool | None = None


class MaterialIn(Schema):
    name: str = Field(..., max_length=200)
    form: str = "original"
    copies: int = Field(1, ge=1, le=100)
    tolerance_allowed: bool = False
    note: str = Field("", max_length=500)
    order: int | None = Field(None, ge=0, le=1000)
    template_id: int | None = Field(None, description="an attachment you uploaded (POST /api/v1/attachments)")


class MaterialPatch(Schema):
    name: str | None = Field(None, max_length=200)
    form: str | None = None
    copies: int | None = Field(None, ge=1, le=100)
    tolerance_allowed: bool | None = None
    note: str | None = Field(None, max_length=500)
    order: int | None = Field(None, ge=0, le=1000)
    template_id: int | None = None


class BundleIn(Schema):
    code: str = Field(..., max_length=64)
    name: str = Field(..., max_length=200)
    lead_department_code: str
    item_codes: list[str] = Field(..., max_length=50)
    promised_days: int = Field(..., ge=0, le=3650)
    description: str = ""
    window: str = Field("", max_length=200)


class BundlePatch(Schema):
    name: str | None = Field(None, max_length=200)
    lead_department_code: str | None = None
    item_codes: list[str] | None = Field(None, max_length=50)
    promised_days: int | None = Field(None, ge=0, le=3650)
    description: str | None = None
    window: str | None = Field(None, max_length=200)
    active: bool | None = None


class NodeIn(Schema):
    tree: str
    name: str = Field(..., max_length=100)
    parent_id: int | None = None
    order: int = Field(0, ge=0, le=1000)
    bundle_codes: list[str] = []
    item_codes: list[str] = []


class NodePatch(Schema):
    name: str | None = Field(None, max_length=100)
    bundle_codes: list[str] | None = None
    item_codes: list[str] | None = None
    parent_id: int | None = Field(None, description="given (even null): move the node under this parent")
    order: int | None = Field(None, ge=0, le=1000)


class RowErrorOut(Schema):
    sheet: str
    row: int
    field: str
    reason: str
    reason_en: str


class ImportOut(Schema):
    items_created: int
    items_updated: int
    materials_created: int
    materials_updated: int
    errors: list[RowErrorOut]


# --- cases


class CaseRow(Schema):
    number: str
    subject_kind: str = Field(..., description="item | bundle")
    subject_code: str
    subject_name: str
    status: str
    status_label: str
    channel: str
    applicant_name: str
    enterprise_uscc: str | None
    department_code: str
    department_name: str
    window: str
    submitted_at: dt.datetime
    accepted_on: dt.date | None
    promised_days: int
    extension_days: int
    due_date: dt.date | None
    due_provisional: bool
    colour: str = Field(..., description="green / yellow / red / overdue while the clock runs; paused; empty")
    finished_on: dt.date | None
    on_time: bool | None
    decision: str


class CasePage(Schema):
    count: int
    page: int
    page_size: int
    results: list[CaseRow]


class CaseMaterialOut(Schema):
    id: int
    name: str
    form: str
    copies: int
    tolerance_allowed: bool
    status: str
    status_label: str
    due_date: dt.date | None
    provided_at: dt.datetime | None
    attachment_id: int | None


class CorrectionItemOut(Schema):
    case_material: int
    name: str
    reason: str


class CorrectionOut(Schema):
    round: int
    items: list[CorrectionItemOut]
    note: str
    requested_on: dt.date
    requested_at: dt.datetime
    completed_on: dt.date | None


class ExtensionOut(Schema):
    id: int
    case_number: str
    days: int
    reason: str
    status: str
    requested_by: str
    requested_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_note: str


class SpecialOut(Schema):
    id: int
    kind: str
    kind_label: str
    note: str
    expected_days: int | None
    start_on: dt.date
    end_on: dt.date | None
    result: str


class PushOut(Schema):
    id: int
    case_number: str
    item_code: str
    item_name: str
    department_code: str
    department_name: str
    pushed_at: dt.datetime
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None
    note: str


class RectificationOut(Schema):
    id: int
    rating_id: int
    case_number: str
    department_code: str
    status: str
    status_label: str
    due_date: dt.date
    due_provisional: bool
    created_at: dt.datetime
    verify_note: str = Field(..., description="staff only (empty for the rater)")
    rater_reached: bool | None
    resolution: str = Field(..., description="staff only (empty for the rater)")
    answer: str
    answered_at: dt.datetime | None
    answered_on_time: bool | None
    appeal_reason: str
    appealed_at: dt.datetime | None
    appeal_reopened: bool | None
    appeal_note: str


class RectificationPage(Schema):
    count: int
    page: int
    page_size: int
    results: list[RectificationOut]


class RatingOut(Schema):
    id: int
    case_number: str
    channel: str
    level: int
    level_label: str
    is_bad: bool
    comment: str
    bad_aspects: list[str]
    rater_name: str
    rated_at: dt.datetime
    voided: bool
    contest_status: str
    contest_reason: str = Field(..., description="staff only")
    contest_note: str = Field(..., description="staff only")
    rectification: RectificationOut | None


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


class CaseInternal(Schema):
    filed_by: str
    handler: str | None
    paused_days: int
    paused_since: dt.date | None
    warned_at: dt.datetime | None
    due_notified_at: dt.datetime | None
    overdue_at: dt.datetime | None
    extensions: list[ExtensionOut]
    pushes: list[PushOut]


class CaseOut(CaseRow):
    applicant_phone: str
    correction_rounds: int
    used_days: int | None
    reason: str
    decided_at: dt.datetime | None
    delivery_method: str
    delivery_note: str
    delivered_at: dt.datetime | None
    materials: list[CaseMaterialOut]
    corrections: list[CorrectionOut]
    special_procedures: list[SpecialOut]
    ratings: list[RatingOut]
    timeline: list[EventOut]
    internal: CaseInternal | None = Field(None, description="null for enterprise users")


class CaseFilters(Schema):
    status: str = ""
    department: str = Field("", description="department code")
    item: str = Field("", description="item code")
    bundle: str = Field("", description="bundle code")
    window: str = ""
    colour: str = Field("", description="green / yellow / red / overdue")
    q: str = Field("", description="case number or applicant name")
    page: int = Field(1, ge=1)
    page_size: int = Field(50, ge=1, le=500)


class PageQuery(Schema):
    page: int = Field(1, ge=1)
    page_size: int = Field(50, ge=1, le=500)


class ProvidedIn(Schema):
    material_id: int
    attachment_id: int | None = Field(None, description="a file you uploaded; staff at a window may omit it "
                                                        "(paper material checked)")


class ApplyIn(Schema):
    item_code: str = Field("", max_length=64)
    bundle_code: str = Field("", max_length=64)
    enterprise_uscc: str = Field("", max_length=40, description="defaults to the enterprise user's own; staff "
                                                                "leave it empty for a person")
    applicant_name: str = Field("", max_length=100)
    applicant_phone: str = Field("", max_length=20)
    provided: list[ProvidedIn] = Field([], max_length=200, description="catalogue material ids")
    window: str = Field("", max_length=200)


class ProvideIn(Schema):
    attachment_id: int | None = None


class ToleratedIn(Schema):
    material_id: int = Field(..., description="a case material id")
    due_date: dt.date


class AcceptIn(Schema):
    provided: list[int] = Field([], max_length=200, description="case material ids checked now")
    tolerated: list[ToleratedIn] = Field([], max_length=200, description="容缺: accepted without, due later")


class ReasonIn(Schema):
    reason: str


class CorrectionItemIn(Schema):
    material_id: int | None = Field(None, description="a case material id, or give a name for a further material")
    name: str = Field("", max_length=200)
    reason: str = Field(..., max_length=500)


class CorrectionIn(Schema):
    items: list[CorrectionItemIn] = Field(..., max_length=100)
    note: str = Field("", max_length=2000)


class CaseProvidedIn(Schema):
    material_id: int = Field(..., description="a case material id")
    attachment_id: int | None = None


class SubmitCorrectionIn(Schema):
    provided: list[CaseProvidedIn] = Field(..., max_length=200)


class ExtensionIn(Schema):
    days: int = Field(..., ge=1, le=100)
    reason: str


class ExtensionDecideIn(Schema):
    approve: bool
    note: str = ""


class SpecialIn(Schema):
    kind: str
    note: str
    expected_days: int | None = Field(None, ge=1, le=365)


class ResultIn(Schema):
    result: str


class DecideIn(Schema):
    approve: bool
    reason: str = ""


class DeliverIn(Schema):
    method: str
    note: str = Field("", max_length=500)


class NoteIn(Schema):
    note: str = ""


class RateIn(Schema):
    channel: str = Rating.Channel.CASE_PAGE
    level: int
    comment: str = Field("", max_length=2000)
    bad_aspects: list[str] = Field([], max_length=10)


class TokenRateIn(Schema):
    token: str = Field(..., max_length=200)
    channel: str = Rating.Channel.SMS
    level: int
    comment: str = Field("", max_length=2000)
    bad_aspects: list[str] = Field([], max_length=10)


class TokenCaseOut(Schema):
    number: str
    subject_name: str
    department_name: str
    status: str
    status_label: str
    finished_on: dt.date | None
    rated_channels: list[str]


class VerifyIn(Schema):
    note: str
    reached: bool


class ResolveIn(Schema):
    outcome: str = Field(..., description="rectified | explained")
    text: str


class AnswerIn(Schema):
    answer: str


class TokenAppealIn(Schema):
    token: str = Field(..., max_length=200)
    reason: str


class AppealDecideIn(Schema):
    reopen: bool
    note: str


class ContestDecideIn(Schema):
    void: bool
    note: str


class MonitorRowOut(Schema):
    department_code: str
    department_name: str
    label: str
    window: str | None
    green: int
    yellow: int
    red: int
    overdue: int
    paused: int
    open: int


class MonitorOut(Schema):
    today: dt.date
    warn_days: int
    yellow_from: dt.date
    green_from: dt.date
    departments: list[MonitorRowOut]
    windows: list[MonitorRowOut]
    total: MonitorRowOut


class FigureRowOut(Schema):
    key: str
    label: str
    applied: int
    applied_online: int
    accepted: int
    rejected: int
    finished: int
    finished_on_time: int
    one_time: int
    instant: int
    ratings: int
    satisfied: int
    bad_ratings: int
    rectifications: int
    rectified_on_time: int
    on_time_rate: float | None
    one_time_rate: float | None
    instant_share: float | None
    online_share: float | None
    avg_used_days: float | None
    avg_promised_days: float | None
    satisfaction_rate: float | None
    bad_share: float | None
    rectify_on_time_rate: float | None


class FiguresOut(Schema):
    group_by: str
    date_from: dt.date
    date_to: dt.date
    formulas: dict[str, str]
    rows: list[FigureRowOut]
    total: FigureRowOut


class FigureFilters(Schema):
    date_from: dt.date | None = Field(None, alias="from", description="default: 1 January of this year")
    date_to: dt.date | None = Field(None, alias="to", description="default: today")
    group_by: str = Field("department", description="item | department | window | staff")


# ------------------------------------------------------------------------------------------- helpers


@contextmanager
def _api_fields(**names: str) -> Iterator[None]:
    """Name the field as the API caller wrote it (``department`` → ``department_code``)."""
    try:
        yield
    except DomainError as exc:
        if exc.field in names:
            exc.field = names[exc.field]
        raise


def _page(qs: Any, page: int, page_size: int) -> tuple[int, list[Any]]:
    start = (page - 1) * page_size
    rows = list(qs[start:start + page_size])
    if page == 1 and len(rows) < page_size:
        return len(rows), rows
    return qs.count(), rows


def _department(code: str, field: str) -> Department:
    dept = Department.objects.filter(code=(code or "").strip()).first()
    if dept is None:
        raise ValidationFailed(f"部门代码 {code} 不存在", f"no department with code {code}", field=field)
    return dept


def _item(code: str, field: str) -> ServiceItem:
    item = ServiceItem.objects.select_related("department").filter(code=(code or "").strip()).first()
    if item is None:
        raise ValidationFailed(f"事项编码 {code} 不存在", f"no item with code {code}", field=field)
    return item


def _bundle(code: str, field: str) -> Bundle:
    bundle = Bundle.objects.select_related("lead_department").filter(code=(code or "").strip()).first()
    if bundle is None:
        raise ValidationFailed(f"一件事编码 {code} 不存在", f"no bundle with code {code}", field=field)
    return bundle


def _items(codes: list[str], field: str) -> list[ServiceItem]:
    found = {i.code: i for i in ServiceItem.objects.filter(code__in=[c.strip() for c in codes])}
    missing = [c for c in codes if c.strip() not in found]
    if missing:
        raise ValidationFailed(f"事项编码 {missing[0]} 不存在", f"no item with code {missing[0]}", field=field)
    return [found[c.strip()] for c in codes]


def _bundles(codes: list[str], field: str) -> list[Bundle]:
    found = {b.code: b for b in Bundle.objects.filter(code__in=[c.strip() for c in codes])}
    missing = [c for c in codes if c.strip() not in found]
    if missing:
        raise ValidationFailed(f"一件事编码 {missing[0]} 不存在", f"no bundle with code {missing[0]}", field=field)
    return [found[c.strip()] for c in codes]


def _own_file(request: HttpRequest, pk: int | None, field: str) -> Attachment | None:
    """An attachment the caller uploaded (``POST /api/v1/attachments``); anything else is refused."""
    if pk is None:
        return None
    att = Attachment.objects.filter(pk=pk, uploaded_by=request.user).first()  # type: ignore[misc]
    if att is None:
        raise ValidationFailed(f"附件 {pk} 不存在或不是您上传的", f"attachment {pk} is not one you uploaded", field=field)
    return att


def _name(user: Any) -> str | None:
    return user.display_name if user else None


def _staff(actor: Any) -> bool:
    """Whoever passed the selector's scoping and is not an enterprise user works for the government."""
    return bool(getattr(actor, "is_authenticated", False)) and getattr(actor, "role", None) != Role.ENTERPRISE


def _actor(request: HttpRequest) -> Any:
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


# --- catalogue presentation


def _material_out(m: Material) -> dict[str, Any]:
    return {"id": m.pk, "name": m.name, "form": m.form, "form_label": m.get_form_display(), "copies": m.copies,
            "tolerance_allowed": m.tolerance_allowed, "note": m.note, "order": m.order, "template_id": m.template_id}


def _item_row(i: ServiceItem) -> dict[str, Any]:
    return {"code": i.code, "name": i.name, "item_type": i.item_type, "item_type_label": i.get_item_type_display(),
            "department_code": i.department.code, "department_name": i.department.name, "levels": i.levels,
            "legal_days": i.legal_days, "promised_days": i.promised_days, "is_instant": i.is_instant,
            "online": i.online, "active": i.active}


def _item_out(code: str) -> dict[str, Any]:
    item = (ServiceItem.objects.select_related("department", "supervising_department")
            .prefetch_related("materials").filter(code=code).first())
    if item is None:
        raise NotFound("事项不存在", "no such item")
    return {**_item_row(item), "legal_basis": item.legal_basis, "conditions": item.conditions, "fees": item.fees,
            "window": item.window, "hours": item.hours, "notify_commit": item.notify_commit,
            "joint_handling": item.joint_handling, "extension_cap": item.extension_cap,
            "supervising_department_code": item.supervising_department.code if item.supervising_department else None,
            "materials": [_material_out(m) for m in item.materials.all()],
            "bundle_codes": list(Bundle.objects.filter(bundle_items__item=item).order_by("code")
                                 .values_list("code", flat=True))}


def _bundle_members() -> Prefetch:
    return Prefetch("bundle_items", queryset=BundleItem.objects.select_related("item__department")
                    .order_by("order", "id"))


def _bundle_row(b: Bundle) -> dict[str, Any]:
    return {"code": b.code, "name": b.name, "lead_department_code": b.lead_department.code,
            "lead_department_name": b.lead_department.name, "promised_days": b.promised_days, "active": b.active,
            "item_codes": [bi.item.code for bi in b.bundle_items.all()]}


def _bundle_out(code: str) -> dict[str, Any]:
    b = Bundle.objects.select_related("lead_department").prefetch_related(_bundle_members()).filter(
        code=code).first()
    if b is None:
        raise NotFound("一件事不存在", "no such bundle")
    return {**_bundle_row(b), "description": b.description, "window": b.window, "extension_cap": b.extension_cap,
            "items": [_item_row(bi.item) for bi in b.bundle_items.all()],
            "materials": [vars(m) for m in selectors.bundle_materials(b)]}


def _node_out(n: TreeNode, children: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"id": n.pk, "tree": n.tree, "name": n.name, "order": n.order, "parent_id": n.parent_id,
            "bundles": [{"code": b.code, "name": b.name} for b in n.bundles.all()],
            "items": [{"code": i.code, "name": i.name} for i in n.items.all()], "children": children or []}


def _tree(tree: str) -> list[dict[str, Any]]:
    nodes = selectors.tree_nodes(tree)
    by_parent: dict[int | None, list[TreeNode]] = {}
    for n in nodes:
        by_parent.setdefault(n.parent_id, []).append(n)

    def build(parent: int | None, depth: int = 0) -> list[dict[str, Any]]:
        if depth > 50:
            return []
        return [_node_out(n, build(n.pk, depth + 1)) for n in by_parent.get(parent, [])]

    return build(None)


def _node(node_id: int) -> TreeNode:
    node = TreeNode.objects.filter(pk=node_id).first()
    if node is None:
        raise NotFound("主题节点不存在", "no such tree node")
    return node


def _node_fresh(node_id: int) -> dict[str, Any]:
    node = TreeNode.objects.prefetch_related("bundles", "items").get(pk=node_id)
    return _node_out(node)


# --- case presentation


def _case(request: HttpRequest, number: str) -> Case:
    pk = Case.objects.filter(number=number.strip().upper()).values_list("pk", flat=True).first()
    if pk is None:
        raise NotFound("办件不存在", "no such case")
    return selectors.case_get(actor=request.user, pk=pk)  # type: ignore[arg-type]


def _colour(c: Case, bounds: clock.ColourBounds) -> str:
    if c.status == Case.Status.ACCEPTED and c.due_date is not None:
        return bounds.colour(c.due_date)
    if c.status in (Case.Status.CORRECTING, Case.Status.SPECIAL):
        return "paused"
    return ""


def _bounds() -> clock.ColourBounds:
    return clock.colour_bounds(timezone.localdate(), warn_days())


def _case_row(c: Case, bounds: clock.ColourBounds) -> dict[str, Any]:
    subject: Any = c.item if c.item_id else c.bundle
    return {"number": c.number, "subject_kind": "item" if c.item_id else "bundle", "subject_code": subject.code,
            "subject_name": subject.name, "status": c.status, "status_label": c.get_status_display(),
            "channel": c.channel, "applicant_name": c.applicant_name,
            "enterprise_uscc": c.applicant_enterprise.uscc if c.applicant_enterprise_id else None,
            "department_code": c.department.code, "department_name": c.department.name, "window": c.window,
            "submitted_at": c.submitted_at, "accepted_on": c.accepted_on, "promised_days": c.promised_days,
            "extension_days": c.extension_days, "due_date": c.due_date, "due_provisional": c.due_provisional,
            "colour": _colour(c, bounds), "finished_on": c.finished_on, "on_time": c.on_time,
            "decision": c.decision}


def _extension_out(e: CaseExtension, number: str) -> dict[str, Any]:
    return {"id": e.pk, "case_number": number, "days": e.days, "reason": e.reason, "status": e.status,
            "requested_by": e.requested_by.display_name, "requested_at": e.requested_at,
            "decided_by": _name(e.decided_by), "decided_at": e.decided_at, "decision_note": e.decision_note}


def _push_out(p: SupervisionPush) -> dict[str, Any]:
    return {"id": p.pk, "case_number": p.case.number, "item_code": p.item.code, "item_name": p.item.name,
            "department_code": p.department.code, "department_name": p.department.name, "pushed_at": p.pushed_at,
            "acknowledged_at": p.acknowledged_at, "acknowledged_by": _name(p.acknowledged_by), "note": p.note}


def _rect_out(r: Rectification, staff: bool, number: str) -> dict[str, Any]:
    return {"id": r.pk, "rating_id": r.rating_id, "case_number": number, "department_code": r.department.code,
            "status": r.status, "status_label": r.get_status_display(), "due_date": r.due_date,
            "due_provisional": r.due_provisional, "created_at": r.created_at,
            "verify_note": r.verify_note if staff else "", "rater_reached": r.rater_reached if staff else None,
            "resolution": r.resolution if staff else "", "answer": r.answer, "answered_at": r.answered_at,
            "answered_on_time": r.answered_on_time, "appeal_reason": r.appeal_reason, "appealed_at": r.appealed_at,
            "appeal_reopened": r.appeal_reopened, "appeal_note": r.appeal_note}


def _rating_out(r: Rating, staff: bool, number: str) -> dict[str, Any]:
    rect = getattr(r, "rectification", None) if r.is_bad else None
    return {"id": r.pk, "case_number": number, "channel": r.channel, "level": r.level,
            "level_label": r.get_level_display(), "is_bad": r.is_bad, "comment": r.comment,
            "bad_aspects": r.bad_aspects, "rater_name": r.rater_name, "rated_at": r.rated_at, "voided": r.voided,
            "contest_status": r.contest_status, "contest_reason": r.contest_reason if staff else "",
            "contest_note": r.contest_note if staff else "",
            "rectification": _rect_out(rect, staff, number) if rect is not None else None}


def _rating_fresh(pk: int, staff: bool) -> dict[str, Any]:
    r = Rating.objects.select_related("case", "rectification__department").get(pk=pk)
    return _rating_out(r, staff, r.case.number)


def _event_out(ev: CaseEvent, staff: bool) -> dict[str, Any]:
    return {"kind": ev.kind, "kind_label": ev.get_kind_display(), "from_status": ev.from_status,
            "to_status": ev.to_status, "at": ev.at, "text": ev.text,
            "department": ev.department.name if ev.department else None,
            "actor": _name(ev.actor) if staff else None, "internal": ev.internal, "data": ev.data if staff else None}


def _detail(request: HttpRequest, case: Case | str) -> dict[str, Any]:
    """The case as the actor may see it (re-read through the scoped selector)."""
    actor = request.user
    c = _case(request, case if isinstance(case, str) else case.number)
    staff = _staff(actor)
    ratings = list(c.ratings.select_related("rectification__department").order_by("rated_at", "id"))
    out: dict[str, Any] = {
        **_case_row(c, _bounds()), "applicant_phone": c.applicant_phone, "correction_rounds": c.correction_rounds,
        "used_days": c.used_days, "reason": c.reason, "decided_at": c.decided_at,
        "delivery_method": c.delivery_method, "delivery_note": c.delivery_note, "delivered_at": c.delivered_at,
        "materials": [
            {"id": m.pk, "name": m.name, "form": m.form, "copies": m.copies, "tolerance_allowed": m.tolerance_allowed,
             "status": m.status, "status_label": m.get_status_display(), "due_date": m.due_date,
             "provided_at": m.provided_at, "attachment_id": m.attachment_id}
            for m in c.materials.order_by("order", "id")],
        "corrections": [
            {"round": k.round, "items": k.items, "note": k.note, "requested_on": k.requested_on,
             "requested_at": k.requested_at, "completed_on": k.completed_on} for k in c.corrections.order_by("round")],
        "special_procedures": [
            {"id": p.pk, "kind": p.kind, "kind_label": p.get_kind_display(), "note": p.note,
             "expected_days": p.expected_days, "start_on": p.start_on, "end_on": p.end_on, "result": p.result}
            for p in c.special_procedures.order_by("start_on", "id")],
        "ratings": [_rating_out(r, staff, c.number) for r in ratings],
        "timeline": [_event_out(ev, staff) for ev in selectors.case_timeline(actor=actor, case=c)],  # type: ignore[arg-type]
        "internal": None,
    }
    if staff:
        out["internal"] = {
            "filed_by": c.filed_by.display_name, "handler": _name(c.handler), "paused_days": c.paused_days,
            "paused_since": c.paused_since, "warned_at": c.warned_at, "due_notified_at": c.due_notified_at,
            "overdue_at": c.overdue_at,
            "extensions": [_extension_out(e, c.number) for e in
                           c.extensions.select_related("requested_by", "decided_by").order_by("requested_at", "id")],
            "pushes": [_push_out(p) for p in
                       c.pushes.select_related("case", "item", "department", "acknowledged_by").order_by("pushed_at")],
        }
    return out


def _token_case(token: str) -> Case:
    case = services.case_for_rating_token(token)
    if case is None:
        raise NotPermitted("评价链接无效", "invalid rating link", field="token")
    return case


# ------------------------------------------------------------------------------------------- catalogue: reads


@router.get("/items", response=ItemPage, auth=PUBLIC)
def item_list(request: HttpRequest, filters: Query[ItemFilters]):  # type: ignore[no-untyped-def]
    """The public catalogue; catalogue editors may include items no longer in use."""
    dept = _department(filters.department, "department").pk if filters.department else None
    active = None if filters.include_inactive and can(_actor(request), "services.catalogue_edit") else True
    qs = selectors.item_list(q=filters.q, department=dept, active=active)
    count, rows = _page(qs, filters.page, filters.page_size)
    return {"count": count, "page": filters.page, "page_size": filters.page_size,
            "results": [_item_row(i) for i in rows]}


@router.get("/items/{code}", response=ItemOut, auth=PUBLIC)
def item_read(request: HttpRequest, code: str):  # type: ignore[no-untyped-def]
    out = _item_out(code)
    if not out["active"] and not can(_actor(request), "services.catalogue_edit"):
        raise NotFound("事项不存在", "no such item")
    return out


@router.get("/bundles", response=list[BundleRow], auth=PUBLIC)
def bundle_list(request: HttpRequest):  # type: ignore[no-untyped-def]
    qs = Bundle.objects.select_related("lead_department").prefetch_related(_bundle_members()).order_by("code")
    if not can(_actor(request), "services.catalogue_edit"):
        qs = qs.filter(active=True)
    return [_bundle_row(b) for b in qs]


@router.get("/bundles/{code}", response=BundleOut, auth=PUBLIC)
def bundle_read(request: HttpRequest, code: str):  # type: ignore[no-untyped-def]
    out = _bundle_out(code)
    if not out["active"] and not can(_actor(request), "services.catalogue_edit"):
        raise NotFound("一件事不存在", "no such bundle")
    return out


@router.get("/trees/{tree}", response=TreeOut, auth=PUBLIC)
def tree_read(request: HttpRequest, tree: str):  # type: ignore[no-untyped-def]
    """One life-event tree (enterprise | personal), nested, with the bundles and items of each node."""
    nodes = _tree(tree)
    return {"tree": tree, "tree_label": str(TreeNode.Tree(tree).label), "nodes": nodes}


# ------------------------------------------------------------------------------------------- catalogue: writes

ITEM_FIELDS = {"department": "department_code", "supervising_department": "supervising_department_code"}


@router.post("/items", response={201: ItemOut})
def item_create(request: HttpRequest, payload: ItemIn):  # type: ignore[no-untyped-def]
    require(request.user, "services.catalogue_edit")  # type: ignore[arg-type]
    data = payload.dict()
    data["department"] = _department(data.pop("department_code"), "department_code")
    sup = data.pop("supervising_department_code")
    data["supervising_department"] = _department(sup, "supervising_department_code") if sup else None
    with _api_fields(**ITEM_FIELDS):
        item = services.item_create(actor=request.user, **data)  # type: ignore[arg-type]
    return Status(201, _item_out(item.code))


@router.patch("/items/{code}", response=ItemOut)
def item_update(request: HttpRequest, code: str, payload: ItemPatch):  # type: ignore[no-untyped-def]
    require(request.user, "services.catalogue_edit")  # type: ignore[arg-type]
    item = ServiceItem.objects.filter(code=code).first()
    if item is None:
        raise NotFound("事项不存在", "no such item")
    changes = payload.dict(exclude_unset=True)
    for key in [k for k, v in changes.items() if v is None and k != "supervising_department_code"]:
        raise ValidationFailed(f"{key} 不能为空", f"{key} cannot be null", field=key)
    if "department_code" in changes:
        changes["department"] = _department(changes.pop("department_code"), "department_code")
    if "supervising_department_code" in changes:
        sup = changes.pop("supervising_department_code")
        changes["supervising_department"] = _department(sup, "supervising_department_code") if sup else None
    with _api_fields(**ITEM_FIELDS):
        item = services.item_update(actor=request.user, item=item, **changes)  # type: ignore[arg-type]
    return _item_out(item.code)


@router.post("/items/{code}/materials", response={201: MaterialOut})
def material_add(request: HttpRequest, code: str, payload: MaterialIn):  # type: ignore[no-untyped-def]
    require(request.user, "services.catalogue_edit")  # type: ignore[arg-type]
    item = ServiceItem.objects.filter(code=code).first()
    if item is None:
        raise NotFound("事项不存在", "no such item")
    data = payload.dict()
    data["template"] = _own_file(request, data.pop("template_id"), "template_id")
    with _api_fields(template="template_id"):
        m = services.material_add(actor=request.user, item=item, **data)  # type: ignore[arg-type]
    return Status(201, _material_out(m))


def _material(material_id: int) -> Material:
    m = Material.objects.filter(pk=material_id).first()
    if m is None:
        raise NotFound("材料不存在", "no such material")
    return m


@router.patch("/materials/{material_id}", response=MaterialOut)
def material_update(request: HttpRequest, material_id: int, payload: MaterialPatch):  # type: ignore[no-untyped-def]
    require(request.user, "services.catalogue_edit")  # type: ignore[arg-type]
    m = _material(material_id)
    changes = payload.dict(exclude_unset=True)
    for key in [k for k, v in changes.items() if v is None and k != "template_id"]:
        raise ValidationFailed(f"{key} 不能为空", f"{key} cannot be null", field=key)
    if "template_id" in changes:
        changes["template"] = _own_file(request, changes.pop("template_id"), "template_id")
    with _api_fields(template="template_id"):
        m = services.material_update(actor=request.user, material=m, **changes)  # type: ignore[arg-type]
    return _material_out(m)


@router.delete("/materials/{material_id}", response={204: None})
def material_remove(request: HttpRequest, material_id: int):  # type: ignore[no-untyped-def]
    require(request.user, "services.catalogue_edit")  # type: ignore[arg-type]
    services.material_remove(actor=request.user, material=_material(material_id))  # type: ignore[arg-type]
    return Status(204, None)


BUNDLE_FIELDS = {"items": "item_codes", "lead_department": "lead_department_code"}


@router.post("/bundles", response={201: BundleOut})
def bundle_create(request: HttpRequest, payload: BundleIn):  # type: ignore[no-untyped-def]
    require(request.user, "services.catalogue_edit")  # type: ignore[arg-type]
    lead = _department(payload.lead_department_code, "lead_department_code")
    items = _items(payload.item_codes, "item_codes")
    with _api_fields(**BUNDLE_FIELDS):
        bundle = services.bundle_create(actor=request.user, code=payload.code, name=payload.name,  # type: ignore[arg-type]
                                        lead_department=lead, items=items, promised_days=payload.promised_days,
                                        description=payload.description, window=payload.window)
    return Status(201, _bundle_out(bundle.code))


@router.patch("/bundles/{code}", response=BundleOut)
def bundle_update(request: HttpRequest, code: str, payload: BundlePatch):  # type: ignore[no-untyped-def]
    require(request.user, "services.catalogue_edit")  # type: ignore[arg-type]
    bundle = Bundle.objects.filter(code=code).first()
    if bundle is None:
        raise NotFound("一件事不存在", "no such bundle")
    changes = payload.dict(exclude_unset=True)
    for key in [k for k, v in changes.items() if v is None]:
        raise ValidationFailed(f"{key} 不能为空", f"{key} cannot be null", field=key)
    if "lead_department_code" in changes:
        changes["lead_department"] = _department(changes.pop("lead_department_code"), "lead_department_code")
    if "item_codes" in changes:
        changes["items"] = _items(changes.pop("item_codes"), "item_codes")
    with _api_fields(**BUNDLE_FIELDS):
        bundle = services.bundle_update(actor=request.user, bundle=bundle, **changes)  # type: ignore[arg-type]
    return _bundle_out(bundle.code)


NODE_FIELDS = {"bundles": "bundle_codes", "items": "item_codes", "parent": "parent_id"}


@router.post("/tree-nodes", response={201: NodeOut})
def tree_node_create(request: HttpRequest, payload: NodeIn):  # type: ignore[no-untyped-def]
    require(request.user, "services.catalogue_edit")  # type: ignore[arg-type]
    parent = None
    if payload.parent_id is not None:
        parent = TreeNode.objects.filter(pk=payload.parent_id).first()
        if parent is None:
            raise ValidationFailed("上级节点不存在", "no such parent node", field="parent_id")
    bundles = _bundles(payload.bundle_codes, "bundle_codes")
    items = _items(payload.item_codes, "item_codes")
    with _api_fields(**NODE_FIELDS):
        node = services.tree_node_create(actor=request.user, tree=payload.tree, name=payload.name,  # type: ignore[arg-type]
                                         parent=parent, order=payload.order, bundles=bundles, items=items)
    return Status(201, _node_fresh(node.pk))


@router.patch("/tree-nodes/{node_id}", response=NodeOut)
def tree_node_update(request: HttpRequest, node_id: int, payload: NodePatch):  # type: ignore[no-untyped-def]
    """Rename, set the bundles and items, or move (``parent_id``, ``order``) a node."""
    require(request.user, "services.catalogue_edit")  # type: ignore[arg-type]
    node = _node(node_id)
    changes = payload.dict(exclude_unset=True)
    for key in [k for k, v in changes.items() if v is None and k != "parent_id"]:
        raise ValidationFailed(f"{key} 不能为空", f"{key} cannot be null", field=key)
    bundles = _bundles(changes["bundle_codes"], "bundle_codes") if "bundle_codes" in changes else None
    items = _items(changes["item_codes"], "item_codes") if "item_codes" in changes else None
    with _api_fields(**NODE_FIELDS):
        if {"name", "bundle_codes", "item_codes"} & set(changes):
            node = services.tree_node_update(actor=request.user, node=node, name=changes.get("name"),  # type: ignore[arg-type]
                                             bundles=bundles, items=items)
        if "parent_id" in changes or "order" in changes:
            parent = node.parent
            if "parent_id" in changes:
                parent = None
                if changes["parent_id"] is not None:
                    parent = TreeNode.objects.filter(pk=changes["parent_id"]).first()
                    if parent is None:
                        raise ValidationFailed("上级节点不存在", "no such parent node", field="parent_id")
            node = services.tree_node_move(actor=request.user, node=node, parent=parent,  # type: ignore[arg-type]
                                           order=changes.get("order"))
    return _node_fresh(node.pk)


@router.delete("/tree-nodes/{node_id}", response={204: None})
def tree_node_delete(request: HttpRequest, node_id: int):  # type: ignore[no-untyped-def]
    require(request.user, "services.catalogue_edit")  # type: ignore[arg-type]
    services.tree_node_delete(actor=request.user, node=_node(node_id))  # type: ignore[arg-type]
    return Status(204, None)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/catalogue/export", response={200: None})
def catalogue_export(request: HttpRequest):  # type: ignore[no-untyped-def]
    """The whole catalogue as XLSX (sheets 事项 and 材料); it imports back unchanged."""
    data = catalogue_xlsx.catalogue_export(actor=request.user)  # type: ignore[arg-type]
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="catalogue-{timezone.localdate():%Y%m%d}.xlsx"'
    return response


@router.post("/catalogue/import", response=ImportOut)
def catalogue_import(request: HttpRequest, file: File[UploadedFile]):  # type: ignore[no-untyped-def]
    """Upsert items and materials from an XLSX file row by row: every bad row is reported with its
    sheet, row, field and reason; the good rows are kept."""
    rep = catalogue_xlsx.catalogue_import(actor=request.user, stream=file.file)  # type: ignore[arg-type]
    return {"items_created": rep.items_created, "items_updated": rep.items_updated,
            "materials_created": rep.materials_created, "materials_updated": rep.materials_updated,
            "errors": [vars(e) for e in rep.errors]}


# ------------------------------------------------------------------------------------------- cases: reads


@router.get("/cases", response=CasePage)
def case_list(request: HttpRequest, filters: Query[CaseFilters]):  # type: ignore[no-untyped-def]
    dept = _department(filters.department, "department").pk if filters.department else None
    item = _item(filters.item, "item").pk if filters.item else None
    bundle = _bundle(filters.bundle, "bundle").pk if filters.bundle else None
    qs = selectors.case_list(actor=request.user, status=filters.status, department=dept, item=item,  # type: ignore[arg-type]
                             bundle=bundle, window=filters.window, colour=filters.colour, q=filters.q)
    count, rows = _page(qs, filters.page, filters.page_size)
    bounds = _bounds()
    return {"count": count, "page": filters.page, "page_size": filters.page_size,
            "results": [_case_row(c, bounds) for c in rows]}


@router.get("/cases/{number}", response=CaseOut)
def case_read(request: HttpRequest, number: str):  # type: ignore[no-untyped-def]
    return _detail(request, number)


@router.get("/monitor", response=MonitorOut)
def monitor(request: HttpRequest):  # type: ignore[no-untyped-def]
    """Open cases by time left, per department and per window: the office and leaders see all, a
    department's staff their own."""
    m = selectors.case_monitor(actor=request.user)  # type: ignore[arg-type]
    depts = {pk: (code, name) for pk, code, name in Department.objects.filter(
        pk__in={r.department_id for r in m.windows}).values_list("pk", "code", "name")}

    def row(r: selectors.MonitorRow) -> dict[str, Any]:
        code, name = depts.get(r.department_id, ("", ""))
        return {"department_code": code, "department_name": name, "label": r.label,
                "window": r.window, "green": r.green, "yellow": r.yellow, "red": r.red, "overdue": r.overdue,
                "paused": r.paused, "open": r.open}

    return {"today": m.today, "warn_days": warn_days(), "yellow_from": m.bounds.yellow_from,
            "green_from": m.bounds.green_from, "departments": [row(r) for r in m.departments],
            "windows": [row(r) for r in m.windows], "total": row(m.total)}


@router.get("/overdue", response=CasePage)
def overdue_list(request: HttpRequest, paging: Query[PageQuery]):  # type: ignore[no-untyped-def]
    """Running cases past their due date, the longest overdue first."""
    qs = selectors.case_overdue_list(actor=request.user).select_related("applicant_enterprise")  # type: ignore[arg-type]
    count, rows = _page(qs, paging.page, paging.page_size)
    bounds = _bounds()
    return {"count": count, "page": paging.page, "page_size": paging.page_size,
            "results": [_case_row(c, bounds) for c in rows]}


@router.get("/figures", response=FiguresOut)
def figures(request: HttpRequest, filters: Query[FigureFilters]):  # type: ignore[no-untyped-def]
    """Case, rating and rectification figures of a period (see ``formulas`` for each definition)."""
    today = timezone.localdate()
    date_from = filters.date_from or dt.date(today.year, 1, 1)
    date_to = filters.date_to or today
    f = selectors.case_figures(actor=request.user, date_from=date_from, date_to=date_to,  # type: ignore[arg-type]
                               group_by=filters.group_by)

    def row(r: selectors.FigureRow) -> dict[str, Any]:
        return {name: getattr(r, name) for name in FigureRowOut.model_fields}

    return {"group_by": f.group_by, "date_from": date_from, "date_to": date_to,
            "formulas": {k: str(v) for k, v in selectors.FORMULAS.items()}, "rows": [row(r) for r in f.rows],
            "total": row(f.total)}


# ------------------------------------------------------------------------------------------- cases: intake


@router.post("/cases", response={201: CaseOut})
def case_apply(request: HttpRequest, payload: ApplyIn):  # type: ignore[no-untyped-def]
    """Apply for an item or a bundle: an enterprise user online for their own enterprise (with the
    files they uploaded), or the handling department's staff at a window (paper checked, or scans)."""
    actor = request.user
    if not (can(actor, "services.apply_own") or can(actor, "services.handle")):  # type: ignore[arg-type]
        raise NotPermitted("您无权申请办件", "you may not file cases")
    if bool(payload.item_code.strip()) == bool(payload.bundle_code.strip()):
        raise ValidationFailed("请选择一个事项或一件事", "give item_code or bundle_code", field="item_code")
    item = _item(payload.item_code, "item_code") if payload.item_code.strip() else None
    bundle = _bundle(payload.bundle_code, "bundle_code") if item is None else None
    uscc_code = payload.enterprise_uscc.strip().upper()
    if actor.role == Role.ENTERPRISE:  # type: ignore[union-attr]
        enterprise = Enterprise.objects.filter(pk=actor.enterprise_id).first()  # type: ignore[union-attr]
        if enterprise is None or (uscc_code and uscc_code != enterprise.uscc):
            raise NotPermitted("只能为本企业申请", "you can only apply for your own enterprise", field="enterprise_uscc")
    else:
        enterprise = Enterprise.objects.filter(uscc=uscc_code).first() if uscc_code else None
        if uscc_code and enterprise is None:
            raise ValidationFailed(f"统一社会信用代码 {uscc_code} 对应的市场主体不存在",
                                   f"no enterprise with credit code {uscc_code}", field="enterprise_uscc")
    provided: dict[int, Attachment | None] = {}
    for p in payload.provided:
        provided[p.material_id] = _own_file(request, p.attachment_id, "provided")
    subject_field = "item_code" if item is not None else "bundle_code"
    with _api_fields(item=subject_field, enterprise="enterprise_uscc", materials="provided"):
        case = services.case_apply(actor=actor, item=item, bundle=bundle, enterprise=enterprise,  # type: ignore[arg-type]
                                   applicant_name=payload.applicant_name, applicant_phone=payload.applicant_phone,
                                   provided=provided, window=payload.window)
    return Status(201, _detail(request, case))


@router.post("/cases/{number}/materials/{material_id}/provide", response=CaseOut)
def case_material_provide(request: HttpRequest, number: str, material_id: int, payload: ProvideIn):  # type: ignore[no-untyped-def]
    """A missing material before acceptance, or a tolerated (容缺) one afterwards."""
    case = _case(request, number)
    row = CaseMaterial.objects.filter(pk=material_id, case=case).first()
    if row is None:
        raise NotFound("该办件没有这项材料", "no such material on this case")
    att = _own_file(request, payload.attachment_id, "attachment_id")
    with _api_fields(attachment="attachment_id"):
        services.case_material_provide(actor=request.user, case=case, material=row, attachment=att)  # type: ignore[arg-type]
    return _detail(request, case)


# ------------------------------------------------------------------------------------------- cases: handling


@router.post("/cases/{number}/accept", response=CaseOut)
def case_accept(request: HttpRequest, number: str, payload: AcceptIn):  # type: ignore[no-untyped-def]
    case = _case(request, number)
    tolerated = {t.material_id: t.due_date for t in payload.tolerated}
    with _api_fields(materials="provided"):
        case = services.case_accept(actor=request.user, case=case, provided=payload.provided,  # type: ignore[arg-type]
                                    tolerated=tolerated)
    return _detail(request, case)


@router.post("/cases/{number}/reject", response=CaseOut)
def case_reject(request: HttpRequest, number: str, payload: ReasonIn):  # type: ignore[no-untyped-def]
    case = services.case_reject(actor=request.user, case=_case(request, number), reason=payload.reason)  # type: ignore[arg-type]
    return _detail(request, case)


@router.post("/cases/{number}/corrections", response={201: CaseOut})
def case_request_correction(request: HttpRequest, number: str, payload: CorrectionIn):  # type: ignore[no-untyped-def]
    """补正: one notice listing every missing item at once; the clock stops."""
    case = _case(request, number)
    rows = {m.pk: m for m in CaseMaterial.objects.filter(case=case)}
    items: list[tuple[CaseMaterial | str, str]] = []
    for it in payload.items:
        if it.material_id is not None:
            if it.material_id not in rows:
                raise ValidationFailed(f"材料 {it.material_id} 不属于该办件", "the material is not on this case",
                                       field="items")
            items.append((rows[it.material_id], it.reason))
        else:
            items.append((it.name, it.reason))
    services.case_request_correction(actor=request.user, case=case, items=items, note=payload.note)  # type: ignore[arg-type]
    return Status(201, _detail(request, case))


@router.post("/cases/{number}/corrections/submit", response=CaseOut)
def case_submit_correction(request: HttpRequest, number: str, payload: SubmitCorrectionIn):  # type: ignore[no-untyped-def]
    case = _case(request, number)
    provided = {p.material_id: _own_file(request, p.attachment_id, "provided") for p in payload.provided}
    case = services.case_submit_correction(actor=request.user, case=case, provided=provided)  # type: ignore[arg-type]
    return _detail(request, case)


@router.post("/cases/{number}/extensions", response={201: ExtensionOut})
def case_extension_request(request: HttpRequest, number: str, payload: ExtensionIn):  # type: ignore[no-untyped-def]
    case = _case(request, number)
    ext = services.case_extension_request(actor=request.user, case=case, days=payload.days,  # type: ignore[arg-type]
                                          reason=payload.reason)
    ext = CaseExtension.objects.select_related("requested_by", "decided_by").get(pk=ext.pk)
    return Status(201, _extension_out(ext, case.number))


@router.post("/extensions/{extension_id}/decide", response=ExtensionOut)
def case_extension_decide(request: HttpRequest, extension_id: int, payload: ExtensionDecideIn):  # type: ignore[no-untyped-def]
    ext = CaseExtension.objects.select_related("case").filter(pk=extension_id).first()
    if ext is None:
        raise NotFound("延期申请不存在", "no such extension request")
    selectors.case_get(actor=request.user, pk=ext.case_id)  # type: ignore[arg-type]
    ext = services.case_extension_decide(actor=request.user, extension=ext, approve=payload.approve,  # type: ignore[arg-type]
                                         note=payload.note)
    ext = CaseExtension.objects.select_related("requested_by", "decided_by", "case").get(pk=ext.pk)
    return _extension_out(ext, ext.case.number)


@router.post("/cases/{number}/special", response={201: SpecialOut})
def case_special_start(request: HttpRequest, number: str, payload: SpecialIn):  # type: ignore[no-untyped-def]
    """特别程序 (hearing, testing, inspection, expert review): the clock stops."""
    p = services.case_special_start(actor=request.user, case=_case(request, number), kind=payload.kind,  # type: ignore[arg-type]
                                    note=payload.note, expected_days=payload.expected_days)
    return Status(201, {"id": p.pk, "kind": p.kind, "kind_label": p.get_kind_display(), "note": p.note,
                        "expected_days": p.expected_days, "start_on": p.start_on, "end_on": p.end_on,
                        "result": p.result})


@router.post("/cases/{number}/special/end", response=CaseOut)
def case_special_end(request: HttpRequest, number: str, payload: ResultIn):  # type: ignore[no-untyped-def]
    case = services.case_special_end(actor=request.user, case=_case(request, number), result=payload.result)  # type: ignore[arg-type]
    return _detail(request, case)


@router.post("/cases/{number}/decide", response=CaseOut)
def case_decide(request: HttpRequest, number: str, payload: DecideIn):  # type: ignore[no-untyped-def]
    case = services.case_decide(actor=request.user, case=_case(request, number), approve=payload.approve,  # type: ignore[arg-type]
                                reason=payload.reason)
    return _detail(request, case)


@router.post("/cases/{number}/deliver", response=CaseOut)
def case_deliver(request: HttpRequest, number: str, payload: DeliverIn):  # type: ignore[no-untyped-def]
    case = services.case_deliver(actor=request.user, case=_case(request, number), method=payload.method,  # type: ignore[arg-type]
                                 note=payload.note)
    return _detail(request, case)


# ------------------------------------------------------------------------------------------- 审管互动


@router.get("/pushes", response=list[PushOut])
def push_list(request: HttpRequest):  # type: ignore[no-untyped-def]
    """Approvals pushed to a supervising department and not yet acknowledged."""
    qs = selectors.supervision_pending(actor=request.user).select_related("acknowledged_by")  # type: ignore[arg-type]
    return [_push_out(p) for p in qs[:1000]]


@router.post("/pushes/{push_id}/acknowledge", response=PushOut)
def push_acknowledge(request: HttpRequest, push_id: int, payload: NoteIn):  # type: ignore[no-untyped-def]
    push = SupervisionPush.objects.filter(pk=push_id).first()
    if push is None:
        raise NotFound("推送不存在", "no such push")
    push = services.supervision_acknowledge(actor=request.user, push=push, note=payload.note)  # type: ignore[arg-type]
    push = SupervisionPush.objects.select_related("case", "item", "department", "acknowledged_by").get(pk=push.pk)
    return _push_out(push)


# ------------------------------------------------------------------------------------------- 好差评


@router.post("/cases/{number}/ratings", response={201: RatingOut})
def case_rate(request: HttpRequest, number: str, payload: RateIn):  # type: ignore[no-untyped-def]
    """The applicant rates an ended case, once per channel (一次一评)."""
    case = _case(request, number)
    rating = services.case_rate(actor=request.user, case=case, channel=payload.channel, level=payload.level,  # type: ignore[arg-type]
                                comment=payload.comment, bad_aspects=payload.bad_aspects)
    return Status(201, _rating_fresh(rating.pk, _staff(request.user)))


@router.get("/ratings/by-token", response=TokenCaseOut, auth=PUBLIC)
def rating_link(request: HttpRequest, token: str):  # type: ignore[no-untyped-def]
    """What the SMS / QR rating link shows before rating: the case, not the applicant's data."""
    case = _token_case(token)
    subject: Any = case.item if case.item_id else case.bundle
    return {"number": case.number, "subject_name": subject.name, "department_name": case.department.name,
            "status": case.status, "status_label": case.get_status_display(), "finished_on": case.finished_on,
            "rated_channels": sorted(case.ratings.values_list("channel", flat=True))}


@router.post("/ratings/by-token", response={201: RatingOut}, auth=PUBLIC)
def rate_by_token(request: HttpRequest, payload: TokenRateIn):  # type: ignore[no-untyped-def]
    """Rating with the signed link of a case (SMS link, QR guide, window evaluator): no account needed."""
    case = _token_case(payload.token)
    rating = services.case_rate(actor=_actor(request), case=case, channel=payload.channel, level=payload.level,
                                comment=payload.comment, bad_aspects=payload.bad_aspects, token=payload.token)
    return Status(201, _rating_fresh(rating.pk, False))


def _rating(rating_id: int) -> Rating:
    rating = Rating.objects.select_related("case").filter(pk=rating_id).first()
    if rating is None:
        raise NotFound("评价不存在", "no such rating")
    return rating


@router.post("/ratings/{rating_id}/contest", response=RatingOut)
def rating_contest(request: HttpRequest, rating_id: int, payload: ReasonIn):  # type: ignore[no-untyped-def]
    """The rated department contests a bad rating as malicious (恶意差评)."""
    rating = services.rating_contest(actor=request.user, rating=_rating(rating_id), reason=payload.reason)  # type: ignore[arg-type]
    return _rating_fresh(rating.pk, True)


@router.post("/ratings/{rating_id}/contest/decide", response=RatingOut)
def rating_contest_decide(request: HttpRequest, rating_id: int, payload: ContestDecideIn):  # type: ignore[no-untyped-def]
    rating = services.rating_contest_decide(actor=request.user, rating=_rating(rating_id), void=payload.void,  # type: ignore[arg-type]
                                            note=payload.note)
    return _rating_fresh(rating.pk, True)


def _rect(rect_id: int) -> Rectification:
    rect = Rectification.objects.select_related("rating__case").filter(pk=rect_id).first()
    if rect is None:
        raise NotFound("整改任务不存在", "no such rectification task")
    return rect


def _rect_fresh(pk: int, staff: bool) -> dict[str, Any]:
    r = Rectification.objects.select_related("rating__case", "department").get(pk=pk)
    return _rect_out(r, staff, r.rating.case.number)


@router.get("/rectifications", response=RectificationPage)
def rectification_list(request: HttpRequest, paging: Query[PageQuery], status: str = ""):  # type: ignore[no-untyped-def]
    if status and status not in Rectification.Status.values:
        raise ValidationFailed(f"状态 {status} 无效", f"invalid status {status}", field="status")
    qs = selectors.rectification_list(actor=request.user, status=status)  # type: ignore[arg-type]
    count, rows = _page(qs, paging.page, paging.page_size)
    return {"count": count, "page": paging.page, "page_size": paging.page_size,
            "results": [_rect_out(r, True, r.rating.case.number) for r in rows]}


@router.post("/rectifications/{rect_id}/verify", response=RectificationOut)
def rectification_verify(request: HttpRequest, rect_id: int, payload: VerifyIn):  # type: ignore[no-untyped-def]
    rect = services.rectification_verify(actor=request.user, rectification=_rect(rect_id), note=payload.note,  # type: ignore[arg-type]
                                         reached=payload.reached)
    return _rect_fresh(rect.pk, True)


@router.post("/rectifications/{rect_id}/resolve", response=RectificationOut)
def rectification_resolve(request: HttpRequest, rect_id: int, payload: ResolveIn):  # type: ignore[no-untyped-def]
    rect = services.rectification_resolve(actor=request.user, rectification=_rect(rect_id),  # type: ignore[arg-type]
                                          outcome=payload.outcome, text=payload.text)
    return _rect_fresh(rect.pk, True)


@router.post("/rectifications/{rect_id}/answer", response=RectificationOut)
def rectification_answer(request: HttpRequest, rect_id: int, payload: AnswerIn):  # type: ignore[no-untyped-def]
    rect = services.rectification_answer(actor=request.user, rectification=_rect(rect_id),  # type: ignore[arg-type]
                                         answer=payload.answer)
    return _rect_fresh(rect.pk, True)


@router.post("/rectifications/{rect_id}/appeal", response=RectificationOut)
def rectification_appeal(request: HttpRequest, rect_id: int, payload: ReasonIn):  # type: ignore[no-untyped-def]
    """The rater (signed in) does not accept the answer; once."""
    rect = services.rectification_appeal(actor=request.user, rectification=_rect(rect_id),  # type: ignore[arg-type]
                                         reason=payload.reason)
    return _rect_fresh(rect.pk, _staff(request.user))


@router.post("/rectifications/{rect_id}/appeal-by-token", response=RectificationOut, auth=PUBLIC)
def rectification_appeal_by_token(request: HttpRequest, rect_id: int, payload: TokenAppealIn):  # type: ignore[no-untyped-def]
    """The rater without an account appeals with the case's rating link."""
    rect = _rect(rect_id)
    if _token_case(payload.token).pk != rect.rating.case_id:
        raise NotPermitted("评价链接无效", "invalid rating link", field="token")
    rect = services.rectification_appeal(actor=None, rectification=rect, reason=payload.reason, token=payload.token)
    return _rect_fresh(rect.pk, False)


@router.post("/rectifications/{rect_id}/appeal/decide", response=RectificationOut)
def rectification_appeal_decide(request: HttpRequest, rect_id: int, payload: AppealDecideIn):  # type: ignore[no-untyped-def]
    rect = services.rectification_appeal_decide(actor=request.user, rectification=_rect(rect_id),  # type: ignore[arg-type]
                                                reopen=payload.reopen, note=payload.note)
    return _rect_fresh(rect.pk, True)
