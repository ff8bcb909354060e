"""/api/v1/credit: the red and black lists — read (government roles; an enterprise its own entries),
add, remove (信用修复) and import a file (the office and inspectors)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import HttpRequest
from ninja import File, Query, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import Field

from yingshang.core.errors import ValidationFailed
from yingshang.core.permissions import require
from yingshang.enterprises import uscc as uscc_codes
from yingshang.enterprises.models import Enterprise

from . import credit_file, selectors, services
from .models import CreditListEntry

router = Router(tags=["credit"])


class EntryOut(Schema):
    id: int
    enterprise_uscc: str
    enterprise_name: str
    kind: str
    kind_label: str
    reason: str
    source: str
    document_number: str
    listed_on: dt.date
    expires_on: dt.date | None
    active: bool
    removed_at: dt.datetime | None
    removal: str
    removal_reason: str


class EntryIn(Schema):
    enterprise_uscc: str = Field(min_length=1, max_length=40)
    kind: Literal["red", "black"]
    reason: str = Field(min_length=1, max_length=100)
    source: str = Field(min_length=1, max_length=100)
    listed_on: dt.date
    expires_on: dt.date | None = None
    document_number: str = Field("", max_length=100)


class RemoveIn(Schema):
    reason: str = Field(min_length=1, max_length=300)


class RowProblemOut(Schema):
    row: int
    field: str
    value: str
    message: str
    message_en: str


class ImportOut(Schema):
    rows: int
    created: int
    unchanged: int


class ImportRejectedOut(Schema):
    code: str
    message: str
    message_en: str
    field: str | None
    rows: list[RowProblemOut]


def _out(e: CreditListEntry, today: dt.date) -> dict[str, object]:
    return {"id": e.pk, "enterprise_uscc": e.enterprise.uscc, "enterprise_name": e.enterprise.name, "kind": e.kind,
            "kind_label": str(e.get_kind_display()), "reason": e.reason, "source": e.source,
            "document_number": e.document_number, "listed_on": e.listed_on, "expires_on": e.expires_on,
            "active": e.is_active(today), "removed_at": e.removed_at, "removal": e.removal,
            "removal_reason": e.removal_reason}


class Filters(Schema):
    enterprise_uscc: str = ""
    kind: Literal["", "red", "black"] = ""
    active: bool | None = None
    limit: int = Field(1000, ge=1, le=5000)
    offset: int = Field(0, ge=0)


@router.get("/entries", response=list[EntryOut])
def entry_list(request: HttpRequest, filters: Query[Filters]):  # type: ignore[no-untyped-def]
    """Entries the caller may see, newest listing first; ``active``: only entries active today (true)
    or only removed, expired or not yet effective ones (false)."""
    from django.utils import timezone

    enterprise = None
    if filters.enterprise_uscc:
        enterprise = Enterprise.objects.filter(uscc=uscc_codes.normalise(filters.enterprise_uscc)).only("pk").first()
        if enterprise is None:
            raise ValidationFailed("市场主体库中没有该统一社会信用代码", "no enterprise with this credit code",
                                   field="enterprise_uscc")
    qs = selectors.credit_entries(actor=request.user, enterprise=enterprise, kind=filters.kind,  # type: ignore[arg-type]
                                  active=filters.active)
    today = timezone.localdate()
    return [_out(e, today) for e in qs[filters.offset:filters.offset + filters.limit]]


@router.post("/entries", response={201: EntryOut})
def entry_add(request: HttpRequest, payload: EntryIn):  # type: ignore[no-untyped-def]
    from django.utils import timezone

    require(request.user, "credit.manage")  # type: ignore[arg-type]
    ent = Enterprise.objects.filter(uscc=uscc_codes.normalise(payload.enterprise_uscc)).first()
    if ent is None:
        raise ValidationFailed("市场主体库中没有该统一社会信用代码", "no enterprise with this credit code",
                               field="enterprise_uscc")
    e = services.credit_list_add(actor=request.user, enterprise=ent, kind=payload.kind, reason=payload.reason,  # type: ignore[arg-type]
                                 source=payload.source, listed_on=payload.listed_on, expires_on=payload.expires_on,
                                 document_number=payload.document_number)
    return Status(201, _out(selectors.credit_entry_get(actor=request.user, pk=e.pk), timezone.localdate()))  # type: ignore[arg-type]


@router.post("/entries/{entry_id}/remove", response=EntryOut)
def entry_remove(request: HttpRequest, entry_id: int, payload: RemoveIn):  # type: ignore[no-untyped-def]
    """信用修复 (black list) or 撤销认定 (red list), with the reason."""
    from django.utils import timezone

    require(request.user, "credit.manage")  # type: ignore[arg-type]
    entry = selectors.credit_entry_get(actor=request.user, pk=entry_id)  # type: ignore[arg-type]
    services.credit_list_remove(actor=request.user, entry=entry, reason=payload.reason)  # type: ignore[arg-type]
    return _out(selectors.credit_entry_get(actor=request.user, pk=entry_id), timezone.localdate())  # type: ignore[arg-type]


@router.post("/import", response={200: ImportOut, 400: ImportRejectedOut})
def entry_import(request: HttpRequest, file: File[UploadedFile]):  # type: ignore[no-untyped-def]
    """A CSV or XLSX file (统一社会信用代码, 名单类型 红/黑, 认定原因, 认定部门, 认定日期, 有效期至, 文书号).
    Any bad row: nothing is imported, and ``rows`` lists every bad row with its number and reason."""
    require(request.user, "credit.manage")  # type: ignore[arg-type]
    if file.size and file.size > credit_file.MAX_BYTES:
        raise ValidationFailed("文件不能超过 20 MB", "the file is larger than 20 MB", field="file")
    try:
        result = services.credit_list_import(actor=request.user, data=file.read())  # type: ignore[arg-type]
    except services.ImportRejected as exc:
        return Status(400, {**exc.as_dict(), "rows": [p.as_dict() for p in exc.problems]})
    return result.as_dict()
