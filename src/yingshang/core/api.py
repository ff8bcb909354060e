from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import File, Router, Schema, Status
from ninja.files import UploadedFile

from . import selectors, services, workdays

router = Router(tags=["core"])


class RegionOut(Schema):
    code: str
    name: str
    level: str
    parent_code: str | None


class DepartmentOut(Schema):
    id: int
    code: str
    name: str
    region_code: str
    parent_id: int | None
    is_office: bool


class WorkdayOut(Schema):
    date: dt.date
    provisional: bool


class BetweenOut(Schema):
    workdays: int
    provisional: bool


class MeOut(Schema):
    username: str
    full_name: str
    role: str
    department_id: int | None
    enterprise_id: int | None


class CalendarYearOut(Schema):
    year: int
    status: str
    source: str


@router.get("/me", response=MeOut)
def me(request: HttpRequest):  # type: ignore[no-untyped-def]
    return request.user


@router.get("/regions", response=list[RegionOut])
def regions(request: HttpRequest, level: str | None = None):  # type: ignore[no-untyped-def]
    return [
        RegionOut(code=r.code, name=r.name, level=r.level, parent_code=r.parent.code if r.parent else None)
        for r in selectors.region_list(level=level).select_related("parent")
    ]


@router.get("/departments", response=list[DepartmentOut])
def departments(request: HttpRequest):  # type: ignore[no-untyped-def]
    return [
        DepartmentOut(id=d.pk, code=d.code, name=d.name, region_code=d.region.code, parent_id=d.parent_id,
                      is_office=d.is_office)
        for d in selectors.department_list(actor=request.user)
    ]


class RegionIn(Schema):
    code: str
    name: str


class DepartmentIn(Schema):
    code: str
    name: str
    short_name: str = ""
    region_code: str
    parent_code: str | None = None
    is_office: bool = False


class OrgImportOut(Schema):
    rows: int
    created: int
    updated: int
    unchanged: int


@router.post("/regions", response=OrgImportOut)
def regions_import(request: HttpRequest, payload: list[RegionIn]):  # type: ignore[no-untyped-def]
    return services.region_import(actor=request.user, rows=[r.dict() for r in payload])


@router.post("/departments", response=OrgImportOut)
def departments_import(request: HttpRequest, payload: list[DepartmentIn]):  # type: ignore[no-untyped-def]
    return services.department_import(actor=request.user, rows=[r.dict() for r in payload])


@router.get("/workdays/add", response=WorkdayOut)
def workdays_add(request: HttpRequest, date: dt.date, n: int):  # type: ignore[no-untyped-def]
    r = workdays.add(date, n)
    return WorkdayOut(date=r.date, provisional=r.provisional)


@router.get("/workdays/between", response=BetweenOut)
def workdays_between(request: HttpRequest, start: dt.date, end: dt.date):  # type: ignore[no-untyped-def]
    n, prov = workdays.between(start, end)
    return BetweenOut(workdays=n, provisional=prov)


@router.post("/calendar/import", response=list[CalendarYearOut])
def calendar_import(request: HttpRequest, file: File[UploadedFile]):  # type: ignore[no-untyped-def]
    years = services.calendar_import(data=file.read(), actor=request.user, source=f"导入 {file.name}")
    return [CalendarYearOut(year=y.year, status=y.status, source=y.source) for y in years]




class AttachmentOut(Schema):
    id: int
    name: str
    size: int
    kind: str
    content_type: str


@router.post("/attachments", response={201: AttachmentOut})
def attachment_upload(request: HttpRequest, file: File[UploadedFile]):  # type: ignore[no-untyped-def]
    """Upload a file (size limit and content check as on the pages); pass its id as one of the
    ``attachment_ids`` of a submission or a reply.  Only its uploader can attach it."""
    from yingshang.core.permissions import BUSINESS_ROLES

    if getattr(request.user, "role", None) not in BUSINESS_ROLES:
        from yingshang.core.errors import NotPermitted

        raise NotPermitted("您无权上传附件", "you may not upload attachments")
    att = services.attachment_store(upload=file, name=file.name or "attachment", actor=request.user)  # type: ignore[arg-type]
    return Status(201, {"id": att.pk, "name": att.original_name, "size": att.size, "kind": att.kind,
                        "content_type": att.content_type})
