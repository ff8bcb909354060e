"""/api/v1/policies: 惠企政策 over JSON — documents, benefit items and their rules (validate, version,
simulate, explain), matching, applications (即申即享 / 依申报), 免申即享 payout lists with their public
notice and objections, and the payout ledger with its batches, bank file and confirmations — with the
same permissions as the services (they check them; the selectors scope the reads).

Objects are named by their public keys: a document by its id, an item by its code, an application, a
payout list, a payout and a batch by their numbers, an enterprise by its credit code, a department by
its code; materials, list entries and objections by their ids.  Money is integer fen (``*_fen``).

Published documents and items, public notices and objections are public (no login); a caller who is
signed in (token or session) is known there too, so policy staff also see drafts.  A 即申即享
application the data does not support is answered 422 with the usual error fields plus ``missing``:
each condition not met or without data (with the values read) and each required material absent.
Enterprise users get no staff names, internal data or other enterprises' rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from ninja import File, Query, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import Field

from yingshang.core.errors import DomainError, NotFound, NotPermitted, ValidationFailed
from yingshang.core.models import Attachment, Department, Role
from yingshang.core.permissions import can, require
from yingshang.enterprises.models import Enterprise

from . import matching, payouts, selectors, services
from . import rules as R
from .models import (
    Application,
    ApplicationEvent,
    BenefitItem,
    ItemMaterial,
    Objection,
    Payout,
    PayoutBatch,
    PayoutList,
    PayoutListEntry,
    PolicyDocument,
    RuleVersion,
)

router = Router(tags=["policies"])


class _SignedInOrAnonymous:
    """Authentication of the public endpoints: the caller's token or session when given, anonymous
    otherwise.  The session is consulted only when its cookie is sent (a signed-in browser keeps its
    CSRF check; an anonymous objection needs none)."""

    def __call__(self, request: HttpRequest) -> Any:
        from yingshang.api import ActiveSessionAuth, TokenAuth

        user = TokenAuth()(request)
        if not user and request.COOKIES.get(settings.SESSION_COOKIE_NAME):
            user = ActiveSessionAuth()(request)
        return user or "anonymous"


PUBLIC: Any = [_SignedInOrAnonymous()]


# ------------------------------------------------------------------------------------------- schemas


class ErrorOut(Schema):
    code: str
    message: str
    message_en: str
    field: str | None = None


class MissingOut(Schema):
    kind: str = Field(..., description="condition | material | amount")
    text_zh: str
    text_en: str
    state: str = Field("", description="conditions: false (不满足) / unknown (数据缺失)")
    values_zh: str = Field("", description="conditions: the values read")


class NotEligibleOut(ErrorOut):
    missing: list[MissingOut]


class DocumentRow(Schema):
    id: int
    title: str
    issuer: str
    number: str
    issued_on: dt.date | None
    effective_on: dt.date | None
    expires_on: dt.date | None
    status: str
    status_label: str
    topics: list[str]
    industries: list[str]
    item_count: int


class DocumentPage(Schema):
    count: int
    page: int
    page_size: int
    results: list[DocumentRow]


class ItemRow(Schema):
    code: str
    name: str
    mode: str
    mode_label: str
    status: str
    status_label: str
    department_code: str
    department_name: str
    document_id: int
    document_number: str
    document_title: str
    period_kind: str
    budget_fen: int | None
    window_start: dt.date | None
    window_end: dt.date | None
    in_force: bool = Field(..., description="published, with a rule, under a document in force today")


class DocumentOut(DocumentRow):
    text: str
    interpretation: str
    published_at: dt.datetime | None
    expired_at: dt.datetime | None
    attachment_ids: list[int]
    items: list[ItemRow]


class ItemPage(Schema):
    count: int
    page: int
    page_size: int
    results: list[ItemRow]


class MaterialOut(Schema):
    id: int
    name: str
    required: bool
    note: str


class DescribeOut(Schema):
    rule_zh: str
    rule_en: str
    amount_zh: str | None = None
    amount_en: str | None = None


class RuleVersionOut(Schema):
    number: int
    rule: Any
    amount: Any = None
    note: str
    author: str | None = Field(None, description="staff only")
    created_at: dt.datetime
    describe: DescribeOut


class StatusTotalOut(Schema):
    status: str
    label: str
    count: int
    amount_fen: int


class ItemFiguresOut(Schema):
    matches: int
    applications: dict[str, int]
    budget_fen: int | None
    budget_left_fen: int | None
    live_fen: int
    paid_fen: int
    enterprises_paid: int
    by_status: list[StatusTotalOut]


class ItemOut(ItemRow):
    summary: str
    accept_days: int
    review_days: int
    notice_days: int
    materials: list[MaterialOut]
    rule: RuleVersionOut | None
    published_at: dt.datetime | None
    stopped_at: dt.datetime | None
    figures: ItemFiguresOut | None = Field(None, description="staff only")


class DocumentFilters(Schema):
    status: str = ""
    q: str = ""
    topic: str = ""
    page: int = Field(1, ge=1)
    page_size: int = Field(50, ge=1, le=500)


class ItemFilters(Schema):
    document: int | None = Field(None, description="document id")
    mode: str = ""
    status: str = ""
    department: str = Field("", description="department code")
    in_force: bool = False
    q: str = Field("", max_length=100, description="Chinese words (segmented): each in the name, code, summary, "
                                                    "document or department")
    page: int = Field(1, ge=1)
    page_size: int = Field(100, ge=1, le=500)


class DocumentIn(Schema):
    title: str = Field(..., max_length=200)
    issuer: str = Field(..., max_length=100)
    number: str = Field("", max_length=60, description="文号, e.g. 瑞府发〔2025〕12号 (any brackets)")
    issued_on: dt.date | None = None
    effective_on: dt.date | None = None
    expires_on: dt.date | None = None
    text: str = ""
    interpretation: str = ""
    topics: list[str] = Field([], max_length=20)
    industries: list[str] = Field([], max_length=50, description="GB/T 4754-2017 codes: C, C39, I65 …")
    attachment_ids: list[int] = Field([], max_length=20, description="ids from POST /api/v1/attachments")


class DocumentPatch(Schema):
    title: str | None = Field(None, max_length=200)
    issuer: str | None = Field(None, max_length=100)
    number: str | None = Field(None, max_length=60)
    issued_on: dt.date | None = None
    effective_on: dt.date | None = None
    expires_on: dt.date | None = None
    text: str | None = None
    interpretation: str | None = None
    topics: list[str] | None = Field(None, max_length=20)
    industries: list[str] | None = Field(None, max_length=50)
    attachment_ids: list[int] | None = Field(None, max_length=20)


class ReasonIn(Schema):
    reason: str


class MaterialIn(Schema):
    id: int | None = Field(None, description="an existing material of the item (kept and updated)")
    name: str = Field(..., max_length=100)
    required: bool = True
    note: str = Field("", max_length=300)


class ItemIn(Schema):
    document_id: int
    code: str = Field(..., max_length=40)
    name: str = Field(..., max_length=200)
    mode: str = Field(..., description="auto_grant (免申即享) | instant (即申即享) | apply_review (依申报)")
    department_code: str
    period_kind: str = BenefitItem.Period.YEAR
    budget_fen: int | None = Field(None, ge=0)
    window_start: dt.date | None = None
    window_end: dt.date | None = None
    summary: str = ""
    accept_days: int | None = Field(None, ge=0, le=60)
    review_days: int | None = Field(None, ge=0, le=60)
    notice_days: int | None = Field(None, ge=1, le=60)
    materials: list[MaterialIn] = Field([], max_length=50)


class ItemPatch(Schema):
    name: str | None = Field(None, max_length=200)
    mode: str | None = None
    department_code: str | None = None
    period_kind: str | None = None
    budget_fen: int | None = Field(None, ge=0, description="null: no limit")
    window_start: dt.date | None = None
    window_end: dt.date | None = None
    summary: str | None = None
    accept_days: int | None = Field(None, ge=0, le=60)
    review_days: int | None = Field(None, ge=0, le=60)
    notice_days: int | None = Field(None, ge=1, le=60)
    materials: list[MaterialIn] | None = Field(None, max_length=50)


class RuleIn(Schema):
    rule: Any = Field(..., description="eligibility rule (JsonLogic, see GET /policies/fields)")
    amount: Any = Field(None, description="amount formula in 万元 (required for 免申即享 and 即申即享)")
    note: str = Field("", max_length=300)


class RuleErrorOut(Schema):
    field: str = Field(..., description="rule | amount")
    path: str = Field(..., description="JSON pointer into that field, e.g. /and/1/>=/0")
    code: str
    message: str
    message_en: str


class ValidateOut(Schema):
    valid: bool
    errors: list[RuleErrorOut]
    describe: DescribeOut | None


class SimulateIn(RuleIn):
    budget_fen: int | None = Field(None, ge=0)
    sample_size: int = Field(20, ge=0, le=200)


class GroupOut(Schema):
    key: str
    label: str
    count: int
    amount_fen: int


class SimulationOut(Schema):
    enterprises: int
    qualified: int
    unknown: int
    close: int
    total_fen: int
    amount_unknown: int
    budget_fen: int | None
    budget_left_fen: int | None
    over_budget: bool
    by_township: list[GroupOut]
    by_industry: list[GroupOut]
    by_size: list[GroupOut]
    sample: list[dict[str, Any]]
    reference_year: int
    data_as_of: dt.datetime | None
    seconds: float
    describe: DescribeOut


class LeafOut(Schema):
    path: str
    text_zh: str
    text_en: str
    state: str
    state_label: str
    values: dict[str, Any]
    values_zh: str
    values_en: str


class ExplanationOut(Schema):
    item_code: str
    enterprise_uscc: str
    enterprise_name: str
    state: str
    state_label: str
    rule_version: int
    amount_fen: int | None
    conditions: list[LeafOut]


class MatchRunOut(Schema):
    scope: str
    items: int
    enterprises: int
    pairs: int
    inserted: int
    deleted: int
    updated: int
    notified: int
    seconds: float


class MatchRow(Schema):
    enterprise_uscc: str
    enterprise_name: str
    matched_at: dt.datetime
    rule_version: int | None


class MatchPage(Schema):
    count: int
    page: int
    page_size: int
    results: list[MatchRow]


class QualifiedOut(Schema):
    item: ItemRow
    amount_fen: int | None
    period: str
    can_apply: bool
    application_number: str | None
    application_status: str | None
    payout_number: str | None
    payout_status: str | None
    matched_at: dt.datetime | None


class CloseOut(Schema):
    item: ItemRow
    condition_zh: str
    condition_en: str
    state: str
    state_label: str


class EnterprisePoliciesOut(Schema):
    enterprise_uscc: str
    enterprise_name: str
    qualified: list[QualifiedOut]
    close: list[CloseOut]


# --- applications


class MaterialFilesIn(Schema):
    material_id: int = Field(..., description="a material of the item (GET /policies/items/{code})")
    attachment_ids: list[int] = Field(..., min_length=1, max_length=10,
                                      description="ids from POST /api/v1/attachments")


class ApplyIn(Schema):
    item_code: str = Field(..., max_length=40)
    contact_name: str = Field(..., max_length=50)
    contact_phone: str = Field(..., max_length=20)
    statement: str = Field("", max_length=5000)
    period: str | None = Field(None, max_length=10, description="default: the current period of the item")
    materials: list[MaterialFilesIn] = Field([], max_length=50)


class CorrectionRequestIn(Schema):
    material_ids: list[int] = Field([], max_length=50, description="materials of the item to bring again")
    note: str


class CorrectionSubmitIn(Schema):
    materials: list[MaterialFilesIn] = Field([], max_length=50)
    statement: str = Field("", max_length=2000)


class DecideIn(Schema):
    approve: bool
    reason: str
    amount_fen: int | None = Field(None, gt=0, description="approval: the amount; default the formula's")


class ObjectionIn(Schema):
    text: str = Field(..., max_length=5000)
    filer_name: str = Field("", max_length=50, description="required without an account")
    filer_contact: str = Field("", max_length=50)


class ApplicationRow(Schema):
    number: str
    item_code: str
    item_name: str
    mode: str
    enterprise_uscc: str
    enterprise_name: str
    period: str
    status: str
    status_label: str
    amount_fen: int | None
    submitted_at: dt.datetime
    accept_due: dt.date | None
    review_due: dt.date | None
    notice_end: dt.date | None


class ApplicationPage(Schema):
    count: int
    page: int
    page_size: int
    results: list[ApplicationRow]


class AppMaterialOut(Schema):
    material_id: int
    name: str
    round: int
    attachment_id: int
    file_name: str
    uploaded_at: dt.datetime


class PauseOut(Schema):
    start: dt.date
    end: dt.date | None
    requested: list[str]
    note: str


class EventOut(Schema):
    kind: str
    kind_label: str
    from_status: str
    to_status: str
    at: dt.datetime
    text: str
    department: str | None
    actor: str | None = Field(None, description="staff only")
    data: dict[str, Any] | None = Field(None, description="staff only")


class PayoutBrief(Schema):
    number: str
    status: str
    status_label: str
    amount_fen: int
    payable_on: dt.date | None
    paid_at: dt.datetime | None


class ApplicationOut(ApplicationRow):
    contact_name: str
    contact_phone: str
    statement: str
    rule_version: int
    accepted_on: dt.date | None
    due_provisional: bool
    decided_at: dt.datetime | None
    decided_by: str | None = Field(None, description="staff only")
    decision_reason: str
    notice_start: dt.date | None
    materials: list[AppMaterialOut]
    pauses: list[PauseOut]
    payouts: list[PayoutBrief]
    timeline: list[EventOut]


class ApplicationFilters(Schema):
    status: str = ""
    item: str = Field("", description="item code")
    overdue: bool = False
    page: int = Field(1, ge=1)
    page_size: int = Field(50, ge=1, le=500)


# --- lists, objections


class ListRow(Schema):
    number: str
    item_code: str
    item_name: str
    department_code: str
    period: str
    status: str
    status_label: str
    rule_version: int
    count: int
    total_fen: int
    created_at: dt.datetime
    reviewed_at: dt.datetime | None
    notice_start: dt.date | None
    notice_end: dt.date | None
    finalized_at: dt.datetime | None


class ListOut(ListRow):
    excluded: int
    open_objections: int


class ListPage(Schema):
    count: int
    page: int
    page_size: int
    results: list[ListRow]


class ProposeIn(Schema):
    item_code: str = Field(..., max_length=40)
    period: str | None = Field(None, max_length=10)


class NoteIn(Schema):
    note: str = ""


class EntryOut(Schema):
    id: int
    enterprise_uscc: str
    enterprise_name: str
    amount_fen: int
    included: bool
    excluded_reason: str
    excluded_at: dt.datetime | None


class EntryPage(Schema):
    count: int
    page: int
    page_size: int
    results: list[EntryOut]


class NoticeEntryOut(Schema):
    entry: int
    enterprise: str
    uscc: str
    amount_fen: int


class NoticeOut(Schema):
    number: str
    item_code: str
    item_name: str
    department_name: str
    period: str
    status: str
    notice_start: dt.date | None
    notice_end: dt.date | None
    count: int
    total_fen: int
    entries: list[NoticeEntryOut]


class NoticeRow(Schema):
    kind: str = Field(..., description="list | application")
    number: str
    item_code: str
    item_name: str
    notice_end: dt.date | None
    count: int
    total_fen: int
    enterprise_name: str | None = Field(None, description="applications: the applicant")


class ObjectionOut(Schema):
    id: int
    status: str
    status_label: str
    text: str
    created_at: dt.datetime
    list_number: str | None
    entry_id: int | None
    application_number: str | None
    enterprise_uscc: str
    enterprise_name: str
    filer_name: str | None = Field(None, description="staff only")
    filer_contact: str | None = Field(None, description="staff only")
    decided_at: dt.datetime | None
    decision_reason: str


class ObjectionDecideIn(Schema):
    uphold: bool
    reason: str


# --- ledger


class PayoutRow(Schema):
    number: str
    item_code: str
    item_name: str
    enterprise_uscc: str
    enterprise_name: str
    period: str
    amount_fen: int
    status: str
    status_label: str
    payable_on: dt.date | None
    batch_number: str | None
    list_number: str | None
    application_number: str | None
    retry_of: str | None
    paid_at: dt.datetime | None
    bank_reference: str
    failure_reason: str
    payee_name: str | None = Field(None, description="the office and the enterprise itself")
    payee_account: str | None = Field(None, description="the office and the enterprise itself")
    payee_bank: str | None = Field(None, description="the office and the enterprise itself")
    created_at: dt.datetime


class TotalsOut(Schema):
    count: int
    amount_fen: int
    live_fen: int
    paid_fen: int
    enterprises_paid: int
    by_status: list[StatusTotalOut]


class LedgerPage(Schema):
    count: int
    page: int
    page_size: int
    totals: TotalsOut = Field(..., description="over every row the filters select, not only this page")
    results: list[PayoutRow]


class LedgerFilters(Schema):
    item: str = Field("", description="item code")
    status: str = ""
    period: str = ""
    batch: str = Field("", description="batch number")
    enterprise: str = Field("", description="credit code")
    payable: bool = Field(False, description="pending payouts that can go into a batch now")
    page: int = Field(1, ge=1)
    page_size: int = Field(100, ge=1, le=1000)


class FiguresFilters(Schema):
    group_by: str = Field("item", description="item / document / department / township / month")
    date_from: dt.date | None = Field(None, alias="from", description="YYYY-MM-DD (default: 1 January this year)")
    date_to: dt.date | None = Field(None, alias="to", description="YYYY-MM-DD (default: today)")


class FigureRow(Schema):
    key: str = Field(description="item / document / department / region id, or YYYY-MM")
    label: str
    paid_fen: int = Field(description="paid in the period (by the bank's confirmation day), fen")
    payouts: int
    enterprises: int = Field(description="distinct enterprises paid (the total row counts them once)")
    pending_fen: int = Field(description="still pending, created in the period")
    pushed: int = Field(description="precise pushes made in the period")
    read: int
    applied: int
    benefited: int
    read_rate: float | None
    precision: float | None = Field(description="pushes followed by an application or a payout ÷ pushes")


class FiguresOut(Schema):
    group_by: str
    date_from: dt.date
    date_to: dt.date
    department_code: str | None = Field(description="set when the caller sees only its department's items")
    rows: list[FigureRow]
    total: FigureRow
    formulas: dict[str, str]


class BatchIn(Schema):
    item_codes: list[str] = Field([], max_length=100, description="only these items' payouts (default: all)")
    limit: int | None = Field(None, ge=1, le=100_000)


class BatchOut(Schema):
    number: str
    status: str
    status_label: str
    created_at: dt.datetime
    created_by: str | None
    exported_at: dt.datetime | None
    export_sha256: str
    closed_at: dt.datetime | None
    count: int
    total_fen: int
    by_status: list[StatusTotalOut]


class ImportOut(Schema):
    rows: int
    paid: int
    failed: int
    unchanged: int
    batches_closed: list[str]


class RetryIn(Schema):
    payout_numbers: list[str] = Field(..., min_length=1, max_length=1000)


class PayeeIn(Schema):
    account_name: str = Field(..., max_length=200)
    account_no: str = Field(..., max_length=40)
    bank_name: str = Field(..., max_length=100)


class PayeeOut(Schema):
    enterprise_uscc: str
    account_name: str
    account_no: str
    bank_name: str
    updated_at: dt.datetime


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


def _actor(request: HttpRequest) -> Any:
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _staff(actor: Any) -> bool:
    return can(actor, "policies.view")


def _page(qs: Any, page: int, page_size: int) -> tuple[int, list[Any]]:
    start = (page - 1) * page_size
    rows = list(qs[start:start + page_size])
    if page == 1 and len(rows) < page_size:
        return len(rows), rows
    return qs.count(), rows


def _choice(value: str, choices: Any, field: str) -> str:
    if value and value not in choices.values:
        raise ValidationFailed(f"{field} 的值 {value} 无效", f"invalid {field} {value}", field=field)
    return value


def _department(code: str, field: str) -> Department:
    dept = Department.objects.filter(code=(code or "").strip()).first()
    if dept is None:
        raise ValidationFailed(f"部门代码 {code} 不存在", f"no department with code {code}", field=field)
    return dept


def _enterprise(uscc: str, field: str) -> Enterprise:
    ent = Enterprise.objects.filter(uscc=(uscc or "").strip().upper()).first()
    if ent is None:
        raise ValidationFailed(f"统一社会信用代码 {uscc or '（空）'} 对应的市场主体不存在",
                               f"no enterprise with credit code {uscc or '(empty)'}", field=field)
    return ent


def _own_files(request: HttpRequest, ids: list[int], field: str) -> list[Attachment]:
    """Attachments the caller uploaded (``POST /api/v1/attachments``); anything else is refused."""
    if not ids:
        return []
    found = {a.pk: a for a in Attachment.objects.filter(pk__in=ids, uploaded_by=request.user)}  # type: ignore[misc]
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValidationFailed(f"附件 {missing[0]} 不存在或不是您上传的", f"attachment {missing[0]} is not one you uploaded",
                               field=field)
    return [found[i] for i in dict.fromkeys(ids)]


def _materials(request: HttpRequest, rows: list[MaterialFilesIn], field: str = "materials") -> dict[int, Any]:
    out: dict[int, list[Attachment]] = {}
    for r in rows:
        out.setdefault(r.material_id, []).extend(_own_files(request, r.attachment_ids, field))
    return out


def _document(request: HttpRequest, pk: int) -> PolicyDocument:
    return selectors.document_get(actor=_actor(request), pk=pk)


def _item(request: HttpRequest, code: str) -> BenefitItem:
    item = selectors.item_list(actor=_actor(request)).filter(code=(code or "").strip()).first()
    if item is None:
        raise NotFound("兑现事项不存在", "no such item")
    return item


def _item_ref(request: HttpRequest, code: str, field: str) -> BenefitItem:
    """An item named in a request body: an unknown code is bad input (400) naming the field."""
    item = selectors.item_list(actor=_actor(request)).filter(code=(code or "").strip()).first()
    if item is None:
        raise ValidationFailed(f"事项编码 {code} 不存在", f"no item with code {code}", field=field)
    return item


def _application(request: HttpRequest, number: str) -> Application:
    pk = Application.objects.filter(number=(number or "").strip().upper()).values_list("pk", flat=True).first()
    if pk is None:
        raise NotFound("申报不存在", "no such application")
    return selectors.application_get(actor=request.user, pk=pk)  # type: ignore[arg-type]


def _lists(request: HttpRequest) -> QuerySet[PayoutList]:
    return selectors.payout_list_list(actor=request.user)  # type: ignore[arg-type]


def _list(request: HttpRequest, number: str) -> PayoutList:
    plist = _lists(request).filter(number=(number or "").strip().upper()).first()
    if plist is None:
        raise NotFound("拟兑现名单不存在", "no such payout list")
    return plist


def _entry(plist: PayoutList, entry_id: int) -> PayoutListEntry:
    entry = PayoutListEntry.objects.filter(pk=entry_id, payout_list=plist).first()
    if entry is None:
        raise NotFound("名单中没有该条目", "no such entry on this list")
    return entry


def _batch(request: HttpRequest, number: str) -> PayoutBatch:
    require(request.user, "policies.pay")  # type: ignore[arg-type]
    batch = PayoutBatch.objects.filter(number=(number or "").strip().upper()).first()
    if batch is None:
        raise NotFound("拨付批次不存在", "no such batch")
    return batch


def _name(user: Any) -> str | None:
    return user.display_name if user else None


# --- presentation


def _document_row(d: PolicyDocument) -> dict[str, Any]:
    return {"id": d.pk, "title": d.title, "issuer": d.issuer, "number": d.number, "issued_on": d.issued_on,
            "effective_on": d.effective_on, "expires_on": d.expires_on, "status": d.status,
            "status_label": d.get_status_display(), "topics": d.topics, "industries": d.industries,
            "item_count": d.item_count if hasattr(d, "item_count") else d.items.count()}


def _in_force_ids(items: list[BenefitItem]) -> set[int]:
    if not items:
        return set()
    return set(BenefitItem.objects.filter(matching.active_q(), pk__in=[i.pk for i in items])
               .values_list("pk", flat=True))


def _item_row(i: BenefitItem, in_force: set[int]) -> dict[str, Any]:
    return {"code": i.code, "name": i.name, "mode": i.mode, "mode_label": i.get_mode_display(), "status": i.status,
            "status_label": i.get_status_display(), "department_code": i.department.code,
            "department_name": i.department.name, "document_id": i.document_id, "document_number": i.document.number,
            "document_title": i.document.title, "period_kind": i.period_kind, "budget_fen": i.budget_fen,
            "window_start": i.window_start, "window_end": i.window_end, "in_force": i.pk in in_force}


def _describe(rule: Any, amount: Any, labels: R.Labels | None = None) -> dict[str, Any]:
    labels = labels or R.db_labels()
    out: dict[str, Any] = {"rule_zh": R.describe(rule, labels=labels), "rule_en": R.describe_en(rule, labels=labels)}
    if amount is not None:
        out["amount_zh"] = R.describe(amount, labels=labels, kind="amount")
        out["amount_en"] = R.describe_en(amount, labels=labels, kind="amount")
    return out


def _rule_out(rv: RuleVersion, staff: bool, labels: R.Labels | None = None) -> dict[str, Any]:
    return {"number": rv.number, "rule": rv.rule, "amount": rv.amount, "note": rv.note,
            "author": _name(rv.author) if staff else None, "created_at": rv.created_at,
            "describe": _describe(rv.rule, rv.amount, labels)}


def _item_out(request: HttpRequest, code: str) -> dict[str, Any]:
    actor = _actor(request)
    item = _item(request, code)
    staff = _staff(actor)
    out = {**_item_row(item, _in_force_ids([item])), "summary": item.summary, "accept_days": item.accept_days,
           "review_days": item.review_days, "notice_days": item.notice_days,
           "materials": [{"id": m.pk, "name": m.name, "required": m.required, "note": m.note}
                         for m in item.materials.all()],
           "rule": None, "published_at": item.published_at, "stopped_at": item.stopped_at, "figures": None}
    if item.rule is not None:
        rv = RuleVersion.objects.select_related("author").get(pk=item.rule_id)
        out["rule"] = _rule_out(rv, staff)
    if staff:
        f = selectors.item_figures(actor=actor, item=item)
        ledger = f["ledger"]
        out["figures"] = {"matches": f["matches"], "applications": f["applications"], "budget_fen": f["budget_fen"],
                          "budget_left_fen": f["budget_left_fen"], "live_fen": ledger["live_fen"],
                          "paid_fen": ledger["paid_fen"], "enterprises_paid": ledger["enterprises_paid"],
                          "by_status": [vars(t) for t in ledger["by_status"]]}
    return out


def _event_out(ev: ApplicationEvent, staff: bool) -> dict[str, Any]:
    return {"kind": ev.kind, "kind_label": ev.get_kind_display(), "from_status": ev.from_status,
            "to_status": ev.to_status, "at": ev.at, "text": ev.text,
            "department": ev.department.name if ev.department_id else None,
            "actor": _name(ev.actor) if staff else None, "data": ev.data if staff else None}


def _application_row(a: Application) -> dict[str, Any]:
    return {"number": a.number, "item_code": a.item.code, "item_name": a.item.name, "mode": a.item.mode,
            "enterprise_uscc": a.enterprise.uscc, "enterprise_name": a.enterprise.name, "period": a.period,
            "status": a.status, "status_label": a.get_status_display(), "amount_fen": a.amount_fen,
            "submitted_at": a.submitted_at, "accept_due": a.accept_due, "review_due": a.review_due,
            "notice_end": a.notice_end}


def _payout_brief(p: Payout) -> dict[str, Any]:
    return {"number": p.number, "status": p.status, "status_label": p.get_status_display(),
            "amount_fen": p.amount_fen, "payable_on": p.payable_on, "paid_at": p.paid_at}


def _application_out(request: HttpRequest, app: Application | str) -> dict[str, Any]:
    """The application as the caller may see it (re-read through the scoped selector)."""
    a = _application(request, app if isinstance(app, str) else app.number)
    staff = _staff(request.user)
    events = selectors.application_timeline(actor=request.user, application=a)  # type: ignore[arg-type]
    return {
        **_application_row(a), "contact_name": a.contact_name, "contact_phone": a.contact_phone,
        "statement": a.statement, "rule_version": a.rule_version.number, "accepted_on": a.accepted_on,
        "due_provisional": a.due_provisional, "decided_at": a.decided_at,
        "decided_by": _name(a.decided_by) if staff else None, "decision_reason": a.decision_reason,
        "notice_start": a.notice_start,
        "materials": [{"material_id": m.material_id, "name": m.material.name, "round": m.round,
                       "attachment_id": m.attachment_id, "file_name": m.attachment.original_name,
                       "uploaded_at": m.uploaded_at}
                      for m in a.materials.select_related("material", "attachment")],
        "pauses": [{"start": p.start, "end": p.end, "requested": p.requested, "note": p.note} for p in a.pauses.all()],
        "payouts": [_payout_brief(p) for p in a.payouts.order_by("id")],
        "timeline": [_event_out(ev, staff) for ev in events.select_related("department")],
    }


def _list_row(p: PayoutList) -> dict[str, Any]:
    return {"number": p.number, "item_code": p.item.code, "item_name": p.item.name,
            "department_code": p.item.department.code, "period": p.period, "status": p.status,
            "status_label": p.get_status_display(), "rule_version": p.rule_version.number,
            "count": getattr(p, "count", 0) or 0, "total_fen": getattr(p, "total_fen", 0) or 0,
            "created_at": p.created_at, "reviewed_at": p.reviewed_at, "notice_start": p.notice_start,
            "notice_end": p.notice_end, "finalized_at": p.finalized_at}


def _list_out(request: HttpRequest, number: str) -> dict[str, Any]:
    p = _lists(request).select_related("rule_version").filter(number=number).first()
    if p is None:
        raise NotFound("拟兑现名单不存在", "no such payout list")
    return {**_list_row(p), "excluded": p.entries.filter(included=False).count(),
            "open_objections": Objection.objects.filter(entry__payout_list=p, status=Objection.Status.OPEN).count()}


def _entry_out(e: PayoutListEntry) -> dict[str, Any]:
    return {"id": e.pk, "enterprise_uscc": e.enterprise.uscc, "enterprise_name": e.enterprise.name,
            "amount_fen": e.amount_fen, "included": e.included, "excluded_reason": e.excluded_reason,
            "excluded_at": e.excluded_at}


def _objection_out(o: Objection, staff: bool) -> dict[str, Any]:
    if o.entry_id:
        ent = o.entry.enterprise  # type: ignore[union-attr]
        list_number, app_number = o.entry.payout_list.number, None  # type: ignore[union-attr]
    else:
        ent = o.application.enterprise  # type: ignore[union-attr]
        list_number, app_number = None, o.application.number  # type: ignore[union-attr]
    return {"id": o.pk, "status": o.status, "status_label": o.get_status_display(), "text": o.text,
            "created_at": o.created_at, "list_number": list_number, "entry_id": o.entry_id,
            "application_number": app_number, "enterprise_uscc": ent.uscc, "enterprise_name": ent.name,
            "filer_name": o.filer_name if staff else None, "filer_contact": o.filer_contact if staff else None,
            "decided_at": o.decided_at, "decision_reason": o.decision_reason}


def _objection_fresh(pk: int, staff: bool) -> dict[str, Any]:
    o = Objection.objects.select_related("entry__enterprise", "entry__payout_list", "application__enterprise").get(
        pk=pk)
    return _objection_out(o, staff)


def _sees_payee(actor: Any, p: Payout) -> bool:
    return can(actor, "policies.pay") or (actor.role == Role.ENTERPRISE and actor.enterprise_id == p.enterprise_id)


def _payout_row(p: Payout, actor: Any) -> dict[str, Any]:
    payee = _sees_payee(actor, p)
    staff = _staff(actor) or payee
    return {"number": p.number, "item_code": p.item.code, "item_name": p.item.name,
            "enterprise_uscc": p.enterprise.uscc, "enterprise_name": p.enterprise.name, "period": p.period,
            "amount_fen": p.amount_fen, "status": p.status, "status_label": p.get_status_display(),
            "payable_on": p.payable_on, "batch_number": p.batch.number if p.batch_id else None,
            "list_number": p.entry.payout_list.number if p.entry_id else None,  # type: ignore[union-attr]
            "application_number": p.application.number if p.application_id else None,  # type: ignore[union-attr]
            "retry_of": p.retry_of.number if p.retry_of_id else None,  # type: ignore[union-attr]
            "paid_at": p.paid_at, "bank_reference": p.bank_reference if staff else "",
            "failure_reason": p.failure_reason, "payee_name": p.payee_name if payee else None,
            "payee_account": p.payee_account if payee else None, "payee_bank": p.payee_bank if payee else None,
            "created_at": p.created_at}


def _totals(qs: QuerySet[Payout]) -> dict[str, Any]:
    """Counts and sums by status of exactly the rows ``qs`` selects (so the page totals reconcile with
    the rows, whatever the filters)."""
    rows = {r["status"]: r for r in qs.order_by().values("status").annotate(n=Count("id"), s=Sum("amount_fen"))}
    by_status = [{"status": s, "label": str(label), "count": int(rows.get(s, {}).get("n") or 0),
                  "amount_fen": int(rows.get(s, {}).get("s") or 0)} for s, label in Payout.Status.choices]
    return {"count": sum(t["count"] for t in by_status), "amount_fen": sum(t["amount_fen"] for t in by_status),
            "live_fen": sum(t["amount_fen"] for t in by_status if t["status"] in Payout.LIVE),
            "paid_fen": next(t["amount_fen"] for t in by_status if t["status"] == Payout.Status.PAID),
            "enterprises_paid": qs.filter(status=Payout.Status.PAID).order_by().values("enterprise_id").distinct().count(),
            "by_status": by_status}


def _batch_outs(batches: list[PayoutBatch]) -> list[dict[str, Any]]:
    """Batches with their payouts counted and summed by status (one query for all of them)."""
    sums: dict[int, dict[str, tuple[int, int]]] = {b.pk: {} for b in batches}
    for row in (Payout.objects.filter(batch_id__in=list(sums)).order_by().values("batch_id", "status")
                .annotate(n=Count("id"), s=Sum("amount_fen"))):
        sums[row["batch_id"]][row["status"]] = (int(row["n"]), int(row["s"] or 0))
    out = []
    for b in batches:
        by_status = [{"status": s, "label": str(label), "count": sums[b.pk].get(s, (0, 0))[0],
                      "amount_fen": sums[b.pk].get(s, (0, 0))[1]} for s, label in Payout.Status.choices]
        out.append({"number": b.number, "status": b.status, "status_label": b.get_status_display(),
                    "created_at": b.created_at, "created_by": _name(b.created_by), "exported_at": b.exported_at,
                    "export_sha256": b.export_sha256, "closed_at": b.closed_at,
                    "count": sum(t["count"] for t in by_status), "total_fen": sum(t["amount_fen"] for t in by_status),
                    "by_status": by_status})
    return out


def _batch_out(number: str) -> dict[str, Any]:
    return _batch_outs([PayoutBatch.objects.select_related("created_by").get(number=number)])[0]


def _rule_errors(rule: Any, amount: Any) -> list[dict[str, str]]:
    labels = R.db_labels()
    out = [{"field": "rule", "path": e.path, "code": e.code, "message": e.message_zh, "message_en": e.message_en}
           for e in R.validate(rule, "condition", labels=labels)]
    if amount is not None:
        out += [{"field": "amount", "path": e.path, "code": e.code, "message": e.message_zh,
                 "message_en": e.message_en} for e in R.validate(amount, "amount", labels=labels)]
    return out


def _ensure_rule(rule: Any, amount: Any) -> None:
    """A bad rule or formula is refused before anything is written: 400 naming ``rule`` or ``amount``,
    the message giving the JSON pointer of the first error (POST /policies/rules/validate lists all)."""
    errors = _rule_errors(rule, amount)
    if errors:
        e = errors[0]
        where_zh = f"（位置 {e['path']}）" if e["path"] else ""
        where_en = f" (at {e['path']})" if e["path"] else ""
        more_zh = f"；另有 {len(errors) - 1} 处错误" if len(errors) > 1 else ""
        more_en = f"; {len(errors) - 1} more error(s)" if len(errors) > 1 else ""
        raise ValidationFailed(e["message"] + where_zh + more_zh, e["message_en"] + where_en + more_en,
                               field=e["field"], code="rule_invalid")


def _require_editor(request: HttpRequest, item: BenefitItem) -> None:
    services._require_item_editor(request.user, item)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------- documents


@router.get("/documents", response=DocumentPage, auth=PUBLIC)
def document_list(request: HttpRequest, filters: Query[DocumentFilters]):  # type: ignore[no-untyped-def]
    """Published and expired documents (policy staff also see drafts)."""
    _choice(filters.status, PolicyDocument.Status, "status")
    qs = selectors.document_list(actor=_actor(request), status=filters.status, q=filters.q.strip(),
                                 topic=filters.topic.strip())
    count, rows = _page(qs, filters.page, filters.page_size)
    return {"count": count, "page": filters.page, "page_size": filters.page_size,
            "results": [_document_row(d) for d in rows]}


def _document_out(request: HttpRequest, pk: int) -> dict[str, Any]:
    actor = _actor(request)
    d = selectors.document_list(actor=actor).filter(pk=pk).first()
    if d is None:
        _document(request, pk)  # 404 for a draft the caller may not see
        raise NotFound("政策文件不存在", "no such document")
    items = list(selectors.item_list(actor=actor, document=d))
    forced = _in_force_ids(items)
    return {**_document_row(d), "text": d.text, "interpretation": d.interpretation, "published_at": d.published_at,
            "expired_at": d.expired_at, "attachment_ids": sorted(d.attachments.values_list("pk", flat=True)),
            "items": [_item_row(i, forced) for i in items]}


@router.get("/documents/{doc_id}", response=DocumentOut, auth=PUBLIC)
def document_read(request: HttpRequest, doc_id: int):  # type: ignore[no-untyped-def]
    return _document_out(request, doc_id)


DOC_FIELDS = {"attachments": "attachment_ids"}


@router.post("/documents", response={201: DocumentOut})
def document_create(request: HttpRequest, payload: DocumentIn):  # type: ignore[no-untyped-def]
    require(request.user, "policies.edit")  # type: ignore[arg-type]
    data = payload.dict()
    files = _own_files(request, data.pop("attachment_ids"), "attachment_ids")
    with _api_fields(**DOC_FIELDS):
        doc = services.document_create(actor=request.user, attachments=files, **data)  # type: ignore[arg-type]
    return Status(201, _document_out(request, doc.pk))


@router.patch("/documents/{doc_id}", response=DocumentOut)
def document_update(request: HttpRequest, doc_id: int, payload: DocumentPatch):  # type: ignore[no-untyped-def]
    require(request.user, "policies.edit")  # type: ignore[arg-type]
    doc = _document(request, doc_id)
    changes = payload.dict(exclude_unset=True)
    for key in [k for k, v in changes.items() if v is None and k in ("title", "issuer", "number", "text",
                                                                       "interpretation", "topics", "industries")]:
        raise ValidationFailed(f"{key} 不能为空", f"{key} cannot be null", field=key)
    files = None
    if "attachment_ids" in changes:
        files = _own_files(request, changes.pop("attachment_ids") or [], "attachment_ids")
    with _api_fields(**DOC_FIELDS):
        doc = services.document_update(actor=request.user, document=doc, attachments=files, **changes)  # type: ignore[arg-type]
    return _document_out(request, doc.pk)


@router.post("/documents/{doc_id}/publish", response=DocumentOut)
def document_publish(request: HttpRequest, doc_id: int):  # type: ignore[no-untyped-def]
    doc = services.document_publish(actor=request.user, document=_document(request, doc_id))  # type: ignore[arg-type]
    return _document_out(request, doc.pk)


@router.post("/documents/{doc_id}/expire", response=DocumentOut)
def document_expire(request: HttpRequest, doc_id: int, payload: ReasonIn):  # type: ignore[no-untyped-def]
    """The document stops being in force (repealed or replaced): its items stop and leave matching."""
    doc = services.document_expire(actor=request.user, document=_document(request, doc_id),  # type: ignore[arg-type]
                                   reason=payload.reason)
    return _document_out(request, doc.pk)


# ------------------------------------------------------------------------------------------- items


@router.get("/items", response=ItemPage, auth=PUBLIC)
def item_list(request: HttpRequest, filters: Query[ItemFilters]):  # type: ignore[no-untyped-def]
    """Published and stopped items (policy staff also see drafts); ``in_force``: only those in force."""
    _choice(filters.mode, BenefitItem.Mode, "mode")
    _choice(filters.status, BenefitItem.Status, "status")
    actor = _actor(request)
    doc = None
    if filters.document is not None:
        doc = selectors.document_list(actor=actor).filter(pk=filters.document).first()
        if doc is None:
            raise ValidationFailed(f"政策文件 {filters.document} 不存在", f"no document {filters.document}",
                                   field="document")
    dept = _department(filters.department, "department").pk if filters.department else None
    qs = selectors.item_list(actor=actor, document=doc, mode=filters.mode, status=filters.status, department=dept,
                             active_only=filters.in_force, q=filters.q.strip())
    count, rows = _page(qs, filters.page, filters.page_size)
    forced = _in_force_ids(rows)
    return {"count": count, "page": filters.page, "page_size": filters.page_size,
            "results": [_item_row(i, forced) for i in rows]}


@router.get("/items/{code}", response=ItemOut, auth=PUBLIC)
def item_read(request: HttpRequest, code: str):  # type: ignore[no-untyped-def]
    """The item with its materials and its current rule in words (``describe``, Chinese and English);
    staff also get its figures (matches, applications, budget used and paid)."""
    return _item_out(request, code)


ITEM_FIELDS = {"department": "department_code", "document": "document_id"}


@router.post("/items", response={201: ItemOut})
def item_create(request: HttpRequest, payload: ItemIn):  # type: ignore[no-untyped-def]
    require(request.user, "policies.edit")  # type: ignore[arg-type]
    doc = selectors.document_list(actor=request.user).filter(pk=payload.document_id).first()  # type: ignore[arg-type]
    if doc is None:
        raise ValidationFailed(f"政策文件 {payload.document_id} 不存在", f"no document {payload.document_id}",
                               field="document_id")
    data = payload.dict()
    data.pop("document_id")
    data["department"] = _department(data.pop("department_code"), "department_code")
    _choice(data["mode"], BenefitItem.Mode, "mode")
    _choice(data["period_kind"], BenefitItem.Period, "period_kind")
    with _api_fields(**ITEM_FIELDS):
        item = services.item_create(actor=request.user, document=doc, **data)  # type: ignore[arg-type]
    return Status(201, _item_out(request, item.code))


@router.patch("/items/{code}", response=ItemOut)
def item_update(request: HttpRequest, code: str, payload: ItemPatch):  # type: ignore[no-untyped-def]
    require(request.user, "policies.edit")  # type: ignore[arg-type]
    item = _item(request, code)
    changes = payload.dict(exclude_unset=True)
    nullable = {"budget_fen", "window_start", "window_end"}
    for key in [k for k, v in changes.items() if v is None and k not in nullable]:
        raise ValidationFailed(f"{key} 不能为空", f"{key} cannot be null", field=key)
    if "department_code" in changes:
        changes["department"] = _department(changes.pop("department_code"), "department_code")
    for key, choices in (("mode", BenefitItem.Mode), ("period_kind", BenefitItem.Period)):
        if key in changes:
            _choice(changes[key], choices, key)
    materials = changes.pop("materials", None)
    with _api_fields(**ITEM_FIELDS):
        item = services.item_update(actor=request.user, item=item, materials=materials, **changes)  # type: ignore[arg-type]
    return _item_out(request, item.code)


@router.post("/items/{code}/publish", response=ItemOut)
def item_publish(request: HttpRequest, code: str):  # type: ignore[no-untyped-def]
    """Publish (its document must be published and a rule set); the item is matched after commit."""
    item = services.item_publish(actor=request.user, item=_item(request, code))  # type: ignore[arg-type]
    return _item_out(request, item.code)


@router.post("/items/{code}/stop", response=ItemOut)
def item_stop(request: HttpRequest, code: str, payload: ReasonIn):  # type: ignore[no-untyped-def]
    item = services.item_stop(actor=request.user, item=_item(request, code), reason=payload.reason)  # type: ignore[arg-type]
    return _item_out(request, item.code)


# ------------------------------------------------------------------------------------------- rules


@router.get("/fields", response=list[dict[str, Any]], auth=PUBLIC)
def field_catalogue(request: HttpRequest):  # type: ignore[no-untyped-def]
    """Everything a rule may speak about (enterprise fields, yearly figures, registered facts), with
    types, units and choices — what the rule editor offers."""
    return R.catalogue(R.db_labels())


@router.post("/rules/validate", response=ValidateOut)
def rule_validate(request: HttpRequest, payload: RuleIn):  # type: ignore[no-untyped-def]
    """Check a rule and an amount formula without saving anything: every error with the field it is
    in (``rule`` / ``amount``) and its JSON-pointer path; the rule in words when valid."""
    require(request.user, "policies.edit")  # type: ignore[arg-type]
    errors = _rule_errors(payload.rule, payload.amount)
    return {"valid": not errors, "errors": errors,
            "describe": None if errors else _describe(payload.rule, payload.amount)}


@router.get("/items/{code}/rules", response=list[RuleVersionOut])
def rule_versions(request: HttpRequest, code: str):  # type: ignore[no-untyped-def]
    """Every version of the item's rule, the newest first (staff)."""
    item = _item(request, code)
    labels = R.db_labels()
    return [_rule_out(rv, True, labels) for rv in selectors.rule_versions(actor=request.user, item=item)]  # type: ignore[arg-type]


@router.post("/items/{code}/rules", response={201: RuleVersionOut})
def rule_save(request: HttpRequest, code: str, payload: RuleIn):  # type: ignore[no-untyped-def]
    """A new version of the item's rule and amount formula (earlier versions stay); a published item
    is re-matched after commit.  A bad rule is 400 naming ``rule`` or ``amount`` with the error's path."""
    item = _item(request, code)
    _require_editor(request, item)
    _ensure_rule(payload.rule, payload.amount)
    rv = services.item_set_rule(actor=request.user, item=item, rule=payload.rule, amount=payload.amount,  # type: ignore[arg-type]
                                note=payload.note)
    rv = RuleVersion.objects.select_related("author").get(pk=rv.pk)
    return Status(201, _rule_out(rv, True))


@router.post("/simulate", response=SimulationOut)
def simulate(request: HttpRequest, payload: SimulateIn):  # type: ignore[no-untyped-def]
    """A draft rule and amount over the whole registry before publishing: how many qualify (and how
    many cannot be decided for lack of data, how many miss by one condition), by township, industry
    section and size class, a sample, and the cost against the budget."""
    require(request.user, "policies.edit")  # type: ignore[arg-type]
    _ensure_rule(payload.rule, payload.amount)
    sim = matching.simulate(rule=payload.rule, amount=payload.amount, budget_fen=payload.budget_fen,
                            sample_size=payload.sample_size)
    groups = ("by_township", "by_industry", "by_size")
    return {**{k: v for k, v in vars(sim).items() if k not in groups}, **{g: [vars(x) for x in getattr(sim, g)]
                                                                           for g in groups},
            "over_budget": sim.over_budget, "budget_left_fen": sim.budget_left_fen,
            "describe": _describe(payload.rule, payload.amount)}


# ------------------------------------------------------------------------------------------- matching


@router.get("/items/{code}/explanation", response=ExplanationOut)
def explanation(request: HttpRequest, code: str, enterprise_uscc: str = ""):  # type: ignore[no-untyped-def]
    """Why the item's rule holds or not for an enterprise: each condition 满足 / 不满足 / 数据缺失 with
    the values read.  Enterprise users ask about their own enterprise (the default); staff about any."""
    actor = request.user
    item = _item(request, code)
    if actor.role == Role.ENTERPRISE and not enterprise_uscc:  # type: ignore[union-attr]
        ent = Enterprise.objects.filter(pk=actor.enterprise_id).first()  # type: ignore[union-attr]
        if ent is None:
            raise NotPermitted("账号未绑定市场主体", "the account has no enterprise", field="enterprise_uscc")
    else:
        ent = _enterprise(enterprise_uscc, "enterprise_uscc")
    with _api_fields(enterprise="enterprise_uscc"):
        found = selectors.match_explain(actor=actor, enterprise=ent, item=item)  # type: ignore[arg-type]
    leaves = [{"path": lf.path, "text_zh": lf.text_zh, "text_en": lf.text_en, "state": lf.state.value,
               "state_label": lf.state.label_zh, "values": {k: _plain(v) for k, v in lf.values.items()},
               "values_zh": lf.values_zh, "values_en": lf.values_en} for lf in found["leaves"]]
    return {"item_code": item.code, "enterprise_uscc": ent.uscc, "enterprise_name": ent.name,
            "state": found["state"], "state_label": found["state_label"], "rule_version": found["rule_version"],
            "amount_fen": found["amount_fen"], "conditions": leaves}


def _plain(v: Any) -> Any:
    """A value an explanation read, as JSON: dates in ISO form, decimals as exact text ("25000")."""
    if isinstance(v, dt.date | dt.datetime):
        return v.isoformat()
    if isinstance(v, Decimal):
        return format(v.normalize(), "f")
    if v is None or isinstance(v, bool | int | float | str):
        return v
    return str(v)


@router.post("/items/{code}/match", response=MatchRunOut)
def match_item(request: HttpRequest, code: str):  # type: ignore[no-untyped-def]
    """Match the item over the whole registry now and store the changes (the office, or the item's
    department).  Matching also runs nightly and whenever the rule changes."""
    item = _item(request, code)
    _require_editor(request, item)
    report = matching.match_all(items=[item])
    return {k: v for k, v in report.as_dict().items() if k in MatchRunOut.model_fields}


@router.get("/items/{code}/matches", response=MatchPage)
def item_matches(request: HttpRequest, code: str, page: int = 1, page_size: int = 100):  # type: ignore[no-untyped-def]
    """The enterprises the item's current rule holds for (staff)."""
    if page < 1 or not 1 <= page_size <= 1000:
        raise ValidationFailed("分页参数无效", "invalid paging", field="page" if page < 1 else "page_size")
    item = _item(request, code)
    qs = selectors.item_matches(actor=request.user, item=item)  # type: ignore[arg-type]
    count, rows = _page(qs, page, page_size)
    versions = dict(RuleVersion.objects.filter(pk__in={m.rule_version_id for m in rows}).values_list("pk", "number"))
    return {"count": count, "page": page, "page_size": page_size,
            "results": [{"enterprise_uscc": m.enterprise.uscc, "enterprise_name": m.enterprise.name,
                         "matched_at": m.matched_at, "rule_version": versions.get(m.rule_version_id)} for m in rows]}


@router.get("/enterprises/{uscc}/policies", response=EnterprisePoliciesOut)
def enterprise_policies(request: HttpRequest, uscc: str):  # type: ignore[no-untyped-def]
    """'Policies you qualify for' and 'you are close' (one condition missing) for an enterprise: the
    enterprise itself, or staff."""
    ent = Enterprise.objects.filter(uscc=uscc.strip().upper()).first()
    if ent is None:
        raise NotFound("市场主体不存在", "no such enterprise")
    with _api_fields(enterprise="uscc"):
        view = selectors.enterprise_policy_view(actor=request.user, enterprise=ent)  # type: ignore[arg-type]
    services.pushes_mark_read(actor=request.user)  # type: ignore[arg-type]
    items = [q.item for q in view.qualified] + [c.item for c in view.close]
    forced = _in_force_ids(items)
    return {"enterprise_uscc": ent.uscc, "enterprise_name": ent.name,
            "qualified": [{"item": _item_row(q.item, forced), "amount_fen": q.amount_fen, "period": q.period,
                           "can_apply": q.can_apply, "application_number": q.application.number if q.application else None,
                           "application_status": q.application.status if q.application else None,
                           "payout_number": q.payout.number if q.payout else None,
                           "payout_status": q.payout.status if q.payout else None, "matched_at": q.matched_at}
                          for q in view.qualified],
            "close": [{"item": _item_row(c.item, forced), "condition_zh": c.condition_zh,
                       "condition_en": c.condition_en, "state": c.state, "state_label": c.state_label}
                      for c in view.close]}


@router.put("/enterprises/{uscc}/payee-account", response=PayeeOut)
def payee_account_set(request: HttpRequest, uscc: str, payload: PayeeIn):  # type: ignore[no-untyped-def]
    """The account benefits are paid to: set by the enterprise itself or by the office."""
    ent = Enterprise.objects.filter(uscc=uscc.strip().upper()).first()
    if ent is None:
        raise NotFound("市场主体不存在", "no such enterprise")
    with _api_fields(enterprise="uscc"):
        acc = services.payee_account_set(actor=request.user, enterprise=ent, account_name=payload.account_name,  # type: ignore[arg-type]
                                         account_no=payload.account_no, bank_name=payload.bank_name)
    return {"enterprise_uscc": ent.uscc, "account_name": acc.account_name, "account_no": acc.account_no,
            "bank_name": acc.bank_name, "updated_at": acc.updated_at}


# ------------------------------------------------------------------------------------------- applications

APP_FIELDS = {"item": "item_code", "amount_fen": "amount_fen", "enterprise": "enterprise"}


@router.get("/applications", response=ApplicationPage)
def application_list(request: HttpRequest, filters: Query[ApplicationFilters]):  # type: ignore[no-untyped-def]
    """The enterprise its own; a department those for its items; the office and leaders all."""
    _choice(filters.status, Application.Status, "status")
    item = _item_ref(request, filters.item, "item") if filters.item else None
    qs = selectors.application_list(actor=request.user, status=filters.status, item=item,  # type: ignore[arg-type]
                                    overdue=filters.overdue)
    count, rows = _page(qs, filters.page, filters.page_size)
    return {"count": count, "page": filters.page, "page_size": filters.page_size,
            "results": [_application_row(a) for a in rows]}


@router.post("/applications", response={201: ApplicationOut, 422: NotEligibleOut})
def application_apply(request: HttpRequest, payload: ApplyIn):  # type: ignore[no-untyped-def]
    """An enterprise applies.  即申即享: approved at once (201, status ``approved``, payout pending) —
    or 422 with ``missing``: exactly what is missing, nothing stored.  依申报: submitted (201) for
    the item's department to accept."""
    require(request.user, "policies.apply_own")  # type: ignore[arg-type]
    item = _item_ref(request, payload.item_code, "item_code")
    materials = _materials(request, payload.materials)
    try:
        with _api_fields(**APP_FIELDS):
            app = services.application_apply(actor=request.user, item=item, contact_name=payload.contact_name,  # type: ignore[arg-type]
                                              contact_phone=payload.contact_phone, materials=materials,
                                              statement=payload.statement, period=payload.period)
    except services.NotEligible as exc:
        return Status(422, {"code": exc.code, "message": exc.message, "message_en": exc.message_en,
                            "field": exc.field, "missing": [m.as_dict() for m in exc.missing]})
    return Status(201, _application_out(request, app))


@router.get("/applications/{number}", response=ApplicationOut)
def application_read(request: HttpRequest, number: str):  # type: ignore[no-untyped-def]
    return _application_out(request, number)


@router.post("/applications/{number}/accept", response=ApplicationOut)
def application_accept(request: HttpRequest, number: str):  # type: ignore[no-untyped-def]
    """受理: the item's department takes the application; the review clock starts."""
    app = services.application_accept(actor=request.user, application=_application(request, number))  # type: ignore[arg-type]
    return _application_out(request, app)


@router.post("/applications/{number}/not-accept", response=ApplicationOut)
def application_not_accept(request: HttpRequest, number: str, payload: ReasonIn):  # type: ignore[no-untyped-def]
    app = services.application_not_accept(actor=request.user, application=_application(request, number),  # type: ignore[arg-type]
                                          reason=payload.reason)
    return _application_out(request, app)


@router.post("/applications/{number}/corrections", response=ApplicationOut)
def application_request_correction(request: HttpRequest, number: str, payload: CorrectionRequestIn):  # type: ignore[no-untyped-def]
    """补正: one notice listing every material needed; the review clock stops until they arrive."""
    app = _application(request, number)
    mats = {m.pk: m for m in ItemMaterial.objects.filter(item_id=app.item_id, pk__in=payload.material_ids)}
    unknown = [i for i in payload.material_ids if i not in mats]
    if unknown:
        raise ValidationFailed(f"材料 {unknown[0]} 不属于该事项", f"material {unknown[0]} is not this item's",
                               field="material_ids")
    with _api_fields(materials="material_ids"):
        app = services.application_request_correction(actor=request.user, application=app,  # type: ignore[arg-type]
                                                      materials=[mats[i] for i in dict.fromkeys(payload.material_ids)],
                                                      note=payload.note)
    return _application_out(request, app)


@router.post("/applications/{number}/corrections/submit", response=ApplicationOut)
def application_submit_correction(request: HttpRequest, number: str, payload: CorrectionSubmitIn):  # type: ignore[no-untyped-def]
    app = _application(request, number)
    app = services.application_submit_correction(actor=request.user, application=app,  # type: ignore[arg-type]
                                                 materials=_materials(request, payload.materials),
                                                 statement=payload.statement)
    return _application_out(request, app)


@router.post("/applications/{number}/decide", response=ApplicationOut)
def application_decide(request: HttpRequest, number: str, payload: DecideIn):  # type: ignore[no-untyped-def]
    """The department head decides: approval goes on public notice with its payout (amount: the
    formula's on the current data, or lower, or the one given when the item has no formula);
    rejection ends the application with the reasons."""
    app = _application(request, number)
    if payload.approve:
        app = services.application_approve(actor=request.user, application=app, reason=payload.reason,  # type: ignore[arg-type]
                                           amount_fen=payload.amount_fen)
    else:
        app = services.application_reject(actor=request.user, application=app, reason=payload.reason)  # type: ignore[arg-type]
    return _application_out(request, app)


@router.post("/applications/{number}/withdraw", response=ApplicationOut)
def application_withdraw(request: HttpRequest, number: str):  # type: ignore[no-untyped-def]
    app = services.application_withdraw(actor=request.user, application=_application(request, number))  # type: ignore[arg-type]
    return _application_out(request, app)


@router.post("/applications/{number}/objections", response={201: ObjectionOut}, auth=PUBLIC)
def application_object(request: HttpRequest, number: str, payload: ObjectionIn):  # type: ignore[no-untyped-def]
    """公示异议 against an application on public notice: anyone (without an account: name and contact)."""
    app = Application.objects.filter(number=number.strip().upper(), status=Application.Status.NOTICE).first()
    if app is None:
        raise NotFound("公示中的申报不存在", "no such application on notice")
    obj = services.objection_file(actor=_actor(request), application=app, text=payload.text,
                                  filer_name=payload.filer_name, filer_contact=payload.filer_contact)
    return Status(201, _objection_fresh(obj.pk, _staff(_actor(request))))


# ------------------------------------------------------------------------------------------- 免申即享 lists


@router.get("/lists", response=ListPage)
def list_list(request: HttpRequest, item: str = "", status: str = "", page: int = 1,  # type: ignore[no-untyped-def]
              page_size: int = 50):
    """拟兑现名单 (staff; a department sees its items' lists)."""
    _choice(status, PayoutList.Status, "status")
    if page < 1 or not 1 <= page_size <= 500:
        raise ValidationFailed("分页参数无效", "invalid paging", field="page" if page < 1 else "page_size")
    it = _item_ref(request, item, "item") if item else None
    qs = selectors.payout_list_list(actor=request.user, item=it, status=status).select_related("rule_version")  # type: ignore[arg-type]
    count, rows = _page(qs, page, page_size)
    return {"count": count, "page": page, "page_size": page_size, "results": [_list_row(p) for p in rows]}


@router.post("/lists", response={201: ListOut})
def list_propose(request: HttpRequest, payload: ProposeIn):  # type: ignore[no-untyped-def]
    """A 免申即享 item's list for a period (default: the current one): its matched enterprises, checked
    again on the current data, less those already paid or listed, each with its amount."""
    item = _item_ref(request, payload.item_code, "item_code")
    with _api_fields(item="item_code"):
        plist = services.payout_list_propose(actor=request.user, item=item, period=payload.period)  # type: ignore[arg-type]
    return Status(201, _list_out(request, plist.number))


@router.get("/lists/{number}", response=ListOut)
def list_read(request: HttpRequest, number: str):  # type: ignore[no-untyped-def]
    return _list_out(request, _list(request, number).number)


@router.get("/lists/{number}/entries", response=EntryPage)
def list_entries(request: HttpRequest, number: str, included: bool | None = None, page: int = 1,  # type: ignore[no-untyped-def]
                 page_size: int = 100):
    if page < 1 or not 1 <= page_size <= 1000:
        raise ValidationFailed("分页参数无效", "invalid paging", field="page" if page < 1 else "page_size")
    plist = _list(request, number)
    qs = selectors.payout_list_entries(actor=request.user, payout_list=plist)  # type: ignore[arg-type]
    if included is not None:
        qs = qs.filter(included=included)
    count, rows = _page(qs, page, page_size)
    return {"count": count, "page": page, "page_size": page_size, "results": [_entry_out(e) for e in rows]}


@router.post("/lists/{number}/entries/{entry_id}/exclude", response=EntryOut)
def list_exclude(request: HttpRequest, number: str, entry_id: int, payload: ReasonIn):  # type: ignore[no-untyped-def]
    """Department review: take an enterprise off the proposed list, with the reason (the head)."""
    plist = _list(request, number)
    services.payout_list_exclude(actor=request.user, entry=_entry(plist, entry_id), reason=payload.reason)  # type: ignore[arg-type]
    return _entry_out(PayoutListEntry.objects.select_related("enterprise").get(pk=entry_id))


@router.post("/lists/{number}/entries/{entry_id}/restore", response=EntryOut)
def list_restore(request: HttpRequest, number: str, entry_id: int):  # type: ignore[no-untyped-def]
    plist = _list(request, number)
    services.payout_list_restore(actor=request.user, entry=_entry(plist, entry_id))  # type: ignore[arg-type]
    return _entry_out(PayoutListEntry.objects.select_related("enterprise").get(pk=entry_id))


@router.post("/lists/{number}/review", response=ListOut)
def list_review(request: HttpRequest, number: str, payload: NoteIn):  # type: ignore[no-untyped-def]
    """The department head completes the review."""
    plist = services.payout_list_review_complete(actor=request.user, payout_list=_list(request, number),  # type: ignore[arg-type]
                                                 note=payload.note)
    return _list_out(request, plist.number)


@router.post("/lists/{number}/notice", response=ListOut)
def list_notice(request: HttpRequest, number: str):  # type: ignore[no-untyped-def]
    """公示: the reviewed list goes on public notice; its payouts are created now (under the budget),
    payable the working day after the notice ends."""
    with _api_fields(budget="budget_fen"):
        plist = services.payout_list_publish(actor=request.user, payout_list=_list(request, number))  # type: ignore[arg-type]
    return _list_out(request, plist.number)


@router.post("/lists/{number}/finalize", response=ListOut)
def list_finalize(request: HttpRequest, number: str):  # type: ignore[no-untyped-def]
    """公示期满 with no open objection: final (the daily sweep does the same)."""
    plist = services.payout_list_finalize(actor=request.user, payout_list=_list(request, number))  # type: ignore[arg-type]
    return _list_out(request, plist.number)


@router.post("/lists/{number}/cancel", response=ListOut)
def list_cancel(request: HttpRequest, number: str, payload: ReasonIn):  # type: ignore[no-untyped-def]
    plist = services.payout_list_cancel(actor=request.user, payout_list=_list(request, number),  # type: ignore[arg-type]
                                        reason=payload.reason)
    return _list_out(request, plist.number)


def _notice_list(number: str) -> PayoutList:
    plist = (PayoutList.objects.select_related("item__department")
             .filter(number=number.strip().upper(), status__in=[PayoutList.Status.NOTICE, PayoutList.Status.FINAL])
             .first())
    if plist is None:
        raise NotFound("名单未公示", "no such list on notice")
    return plist


@router.get("/notices", response=list[NoticeRow], auth=PUBLIC)
def notices(request: HttpRequest):  # type: ignore[no-untyped-def]
    """What is on public notice now: 免申即享 lists and approved applications (anyone may object)."""
    lists = (PayoutList.objects.filter(status=PayoutList.Status.NOTICE).select_related("item")
             .annotate(n=Count("entries", filter=Q(entries__included=True)),
                       s=Sum("entries__amount_fen", filter=Q(entries__included=True))).order_by("notice_end", "id"))
    apps = (Application.objects.filter(status=Application.Status.NOTICE).select_related("item", "enterprise")
            .order_by("notice_end", "id"))
    return ([{"kind": "list", "number": p.number, "item_code": p.item.code, "item_name": p.item.name,
              "notice_end": p.notice_end, "count": p.n or 0, "total_fen": p.s or 0} for p in lists]
            + [{"kind": "application", "number": a.number, "item_code": a.item.code, "item_name": a.item.name,
                "notice_end": a.notice_end, "count": 1, "total_fen": a.amount_fen or 0,
                "enterprise_name": a.enterprise.name} for a in apps])


@router.get("/lists/{number}/notice", response=NoticeOut, auth=PUBLIC)
def list_public_notice(request: HttpRequest, number: str):  # type: ignore[no-untyped-def]
    """The public notice of a list: names, credit codes and amounts of the enterprises on it."""
    plist = _notice_list(number)
    entries = selectors.public_notice(payout_list=plist)
    return {"number": plist.number, "item_code": plist.item.code, "item_name": plist.item.name,
            "department_name": plist.item.department.name, "period": plist.period, "status": plist.status,
            "notice_start": plist.notice_start, "notice_end": plist.notice_end, "count": len(entries),
            "total_fen": sum(e["amount_fen"] for e in entries), "entries": entries}


@router.post("/lists/{number}/entries/{entry_id}/objections", response={201: ObjectionOut}, auth=PUBLIC)
def list_object(request: HttpRequest, number: str, entry_id: int, payload: ObjectionIn):  # type: ignore[no-untyped-def]
    """公示异议 against an enterprise on a list in notice: anyone (without an account: name and contact)."""
    plist = _notice_list(number)
    entry = _entry(plist, entry_id)
    obj = services.objection_file(actor=_actor(request), entry=entry, text=payload.text,
                                  filer_name=payload.filer_name, filer_contact=payload.filer_contact)
    return Status(201, _objection_fresh(obj.pk, _staff(_actor(request))))


@router.get("/objections", response=list[ObjectionOut])
def objection_list(request: HttpRequest, status: str = Objection.Status.OPEN):  # type: ignore[no-untyped-def]
    """Objections (default: open) against the caller's department's lists and applications (staff)."""
    _choice(status, Objection.Status, "status")
    qs = selectors.objection_list(actor=request.user, status=status)  # type: ignore[arg-type]
    return [_objection_out(o, True) for o in qs.select_related("entry__payout_list")[:1000]]


@router.post("/objections/{objection_id}/decide", response=ObjectionOut)
def objection_decide(request: HttpRequest, objection_id: int, payload: ObjectionDecideIn):  # type: ignore[no-untyped-def]
    """The item's department head decides: upheld takes the enterprise off (its payout cancelled, an
    application revoked); dismissed lets the payout go ahead."""
    obj = Objection.objects.filter(pk=objection_id).first()
    if obj is None:
        raise NotFound("异议不存在", "no such objection")
    obj = services.objection_decide(actor=request.user, objection=obj, uphold=payload.uphold,  # type: ignore[arg-type]
                                    reason=payload.reason)
    return _objection_fresh(obj.pk, True)


# ------------------------------------------------------------------------------------------- the ledger


@router.get("/payouts", response=LedgerPage)
def payout_ledger(request: HttpRequest, filters: Query[LedgerFilters]):  # type: ignore[no-untyped-def]
    """兑现台账: the enterprise its own payouts, a department its items', the office and leaders all;
    ``totals`` count and sum every selected row by status (they reconcile with the rows)."""
    _choice(filters.status, Payout.Status, "status")
    actor = request.user
    item = _item_ref(request, filters.item, "item") if filters.item else None
    batch = None
    if filters.batch:
        batch = PayoutBatch.objects.filter(number=filters.batch.strip().upper()).first()
        if batch is None:
            raise ValidationFailed(f"批次 {filters.batch} 不存在", f"no batch {filters.batch}", field="batch")
    qs = selectors.payout_ledger(actor=actor, item=item, status=filters.status, batch=batch)  # type: ignore[arg-type]
    if filters.period:
        qs = qs.filter(period=filters.period.strip())
    if filters.enterprise:
        qs = qs.filter(enterprise=_enterprise(filters.enterprise, "enterprise"))
    if filters.payable:
        qs = qs.filter(pk__in=services.payable_payouts().values("pk"))
    qs = qs.select_related("entry__payout_list", "application", "retry_of")
    count, rows = _page(qs, filters.page, filters.page_size)
    return {"count": count, "page": filters.page, "page_size": filters.page_size, "totals": _totals(qs),
            "results": [_payout_row(p, actor) for p in rows]}


@router.post("/payouts/retry", response={201: list[PayoutRow]})
def payout_retry(request: HttpRequest, payload: RetryIn):  # type: ignore[no-untyped-def]
    """Failed payouts paid again (the office): each turns ``retried`` and a new pending payout takes its
    place, under the budget again."""
    require(request.user, "policies.pay")  # type: ignore[arg-type]
    numbers = [n.strip().upper() for n in payload.payout_numbers]
    found = {p.number: p for p in Payout.objects.filter(number__in=numbers)}
    unknown = [n for n in numbers if n not in found]
    if unknown:
        raise ValidationFailed(f"兑现编号 {unknown[0]} 不存在", f"no payout {unknown[0]}", field="payout_numbers")
    with _api_fields(payouts="payout_numbers"):
        created = services.payout_retry(actor=request.user, payouts=[found[n] for n in dict.fromkeys(numbers)])  # type: ignore[arg-type]
    rows = Payout.objects.filter(pk__in=[p.pk for p in created]).select_related(
        "item", "enterprise", "batch", "entry__payout_list", "application", "retry_of").order_by("id")
    return Status(201, [_payout_row(p, request.user) for p in rows])


# ------------------------------------------------------------------------------------------- figures


@router.get("/figures", response=FiguresOut)
def policy_figures(request: HttpRequest, filters: Query[FiguresFilters]):  # type: ignore[no-untyped-def]
    """兑现统计: money paid and distinct enterprises benefited, and the pushes' awareness (pushed → read →
    applied → benefited), by item, document, department, township or month.  The office, the dispatcher
    and leaders see the county; a department's staff its own items."""
    from . import figures

    start, end = figures.default_period()
    fig = figures.benefit_figures(actor=request.user, group_by=filters.group_by,  # type: ignore[arg-type]
                                  date_from=filters.date_from or start, date_to=filters.date_to or end)

    def row(r: figures.Row) -> dict[str, Any]:
        return {**{k: getattr(r, k) for k in ("key", "label", "paid_fen", "payouts", "enterprises", "pending_fen",
                                             "pushed", "read", "applied", "benefited", "read_rate", "precision")}}

    return {"group_by": fig.group_by, "date_from": fig.date_from, "date_to": fig.date_to,
            "department_code": fig.department.code if fig.department else None,
            "rows": [row(r) for r in fig.rows], "total": row(fig.total),
            "formulas": {k: str(v) for k, v in figures.FORMULAS.items()}}


@router.get("/batches", response=list[BatchOut])
def batch_list(request: HttpRequest, status: str = ""):  # type: ignore[no-untyped-def]
    _choice(status, PayoutBatch.Status, "status")
    qs = selectors.batch_list(actor=request.user).select_related("created_by")  # type: ignore[arg-type]
    if status:
        qs = qs.filter(status=status)
    return _batch_outs(list(qs[:200]))


@router.post("/batches", response={201: BatchOut})
def batch_create(request: HttpRequest, payload: BatchIn):  # type: ignore[no-untyped-def]
    """拨付批次 of the payable payouts (notice over, no open objection, payee account known)."""
    require(request.user, "policies.pay")  # type: ignore[arg-type]
    items = None
    if payload.item_codes:
        found = {i.code: i for i in BenefitItem.objects.filter(code__in=payload.item_codes)}
        unknown = [c for c in payload.item_codes if c not in found]
        if unknown:
            raise ValidationFailed(f"事项编码 {unknown[0]} 不存在", f"no item with code {unknown[0]}", field="item_codes")
        items = list(found.values())
    with _api_fields(payouts="item_codes" if items else "payouts"):
        batch = services.payout_batch_create(actor=request.user, items=items, limit=payload.limit)  # type: ignore[arg-type]
    return Status(201, _batch_out(batch.number))


@router.post("/batches/confirmations", response=ImportOut)
def batch_confirmations(request: HttpRequest, file: File[UploadedFile]):  # type: ignore[no-untyped-def]
    """The bank's confirmations (CSV, UTF-8 or GBK; columns 兑现编号, 结果, 银行流水号, 失败原因 …).  A file
    with any bad row changes nothing and names every bad row; the same file twice changes nothing."""
    require(request.user, "policies.pay")  # type: ignore[arg-type]
    result = services.payout_confirmations_import(actor=request.user, data=file.read())  # type: ignore[arg-type]
    return vars(result)


@router.get("/batches/{number}", response=BatchOut)
def batch_read(request: HttpRequest, number: str):  # type: ignore[no-untyped-def]
    """A batch with its totals: the office and leaders."""
    batch = selectors.batch_list(actor=request.user).filter(number=(number or "").strip().upper()).first()  # type: ignore[arg-type]
    if batch is None:
        raise NotFound("拨付批次不存在", "no such batch")
    return _batch_out(batch.number)


def _csv(data: bytes, name: str) -> HttpResponse:
    response = HttpResponse(data, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Content-SHA256"] = payouts.sha256(data)
    return response


@router.post("/batches/{number}/export", response={200: None})
def batch_export(request: HttpRequest, number: str):  # type: ignore[no-untyped-def]
    """The payment file for the bank (CSV, UTF-8 with BOM); the batch becomes exported.  Exporting
    again gives the same file."""
    batch = _batch(request, number)
    data = services.payout_batch_export(actor=request.user, batch=batch)  # type: ignore[arg-type]
    return _csv(data, f"payments-{batch.number}.csv")


@router.get("/batches/{number}/payment-file", response={200: None})
def batch_payment_file(request: HttpRequest, number: str):  # type: ignore[no-untyped-def]
    """Download the payment file of an exported (or closed) batch again: the same bytes as exported
    (``X-Content-SHA256`` equals the batch's ``export_sha256``); changes nothing."""
    batch = _batch(request, number)
    if batch.status == PayoutBatch.Status.OPEN:
        raise services._wrong_state("拨付批次", batch.get_status_display(), "下载支付文件（请先导出）",
                                    "download the file of a batch not exported yet")
    data = payouts.export_csv(batch, list(batch.payouts.select_related("enterprise", "item").order_by("id")))
    return _csv(data, f"payments-{batch.number}.csv")
