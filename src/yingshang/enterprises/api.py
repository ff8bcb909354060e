from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.http import HttpRequest
from ninja import File, Query, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import Field

from . import importer, selectors, services, uscc

router = Router(tags=["enterprises"])


class EnterpriseOut(Schema):
    id: int
    uscc: str
    name: str
    kind: str
    kind_label: str
    status: str
    legal_rep: str
    legal_rep_id_number: str
    registered_on: dt.date | None
    registered_capital_wan: Decimal | None
    industry_code: str
    industry_name: str
    region_code: str
    region: str
    park: str | None
    address: str
    contact_name: str
    contact_phone: str
    is_high_tech: bool
    is_specialized: bool
    size_class: str
    above_designated: bool
    figures_year: int | None


class Page(Schema):
    count: int
    page: int
    page_size: int
    results: list[EnterpriseOut]


class Filters(Schema):
    q: str = ""
    region: str = ""
    kind: str = ""
    size: str = ""
    above: str = ""
    industry: str = ""
    page: int = Field(1, ge=1)
    page_size: int = Field(50, ge=1, le=500)


class EnterpriseIn(Schema):
    uscc: str = Field(..., min_length=1, max_length=40)
    name: str = Field(..., min_length=1, max_length=200)
    kind: str = "company"
    industry_code: str
    region: str = Field(..., description="12 位乡镇区划代码")
    park: str | None = None
    legal_rep: str = ""
    registered_on: dt.date | None = None
    registered_capital_wan: Decimal | None = Field(None, ge=0)
    address: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    is_high_tech: bool = False
    is_specialized: bool = False


class EnterprisePatch(Schema):
    name: str | None = None
    address: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    industry_code: str | None = None
    is_high_tech: bool | None = None
    is_specialized: bool | None = None


class FiguresIn(Schema):
    employees: int | None = Field(None, ge=0)
    revenue_wan: Decimal | None = Field(None, ge=0)
    assets_wan: Decimal | None = Field(None, ge=0)
    taxes_wan: Decimal | None = Field(None, ge=0)
    rd_wan: Decimal | None = Field(None, ge=0)
    unemployment_insurance_wan: Decimal | None = Field(None, ge=0)
    layoffs: int | None = Field(None, ge=0)


class FigureOut(FiguresIn):
    year: int


class ImportOut(Schema):
    job: int
    rows: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    errors: list[dict]  # type: ignore[type-arg]


class UsccOut(Schema):
    code: str
    valid: bool
    reason: str | None
    warnings: list[str]


@router.get("", response=Page)
def enterprise_list(request: HttpRequest, filters: Query[Filters]):  # type: ignore[no-untyped-def]
    qs = selectors.enterprise_list(actor=request.user, q=filters.q, region=filters.region, kind=filters.kind,
                                   size=filters.size, above=filters.above, industry=filters.industry)
    start = (filters.page - 1) * filters.page_size
    rows = list(qs[start:start + filters.page_size])
    return {"count": qs.count(), "page": filters.page, "page_size": filters.page_size,
            "results": [selectors.present(e, request.user) for e in rows]}


@router.post("", response={201: EnterpriseOut})
def enterprise_create(request: HttpRequest, payload: EnterpriseIn):  # type: ignore[no-untyped-def]
    ent = services.enterprise_create(actor=request.user, data=payload.dict())
    ent = selectors.enterprise_get(actor=request.user, pk=ent.pk)
    return Status(201, selectors.present(ent, request.user))


@router.get("/uscc-check", response=UsccOut, auth=None)
def uscc_check(request: HttpRequest, code: str):  # type: ignore[no-untyped-def]
    r = uscc.check(code)
    return UsccOut(code=r.code, valid=r.valid, reason=r.reason, warnings=list(r.warnings))


@router.post("/import", response=ImportOut)
def enterprise_import(request: HttpRequest, file: File[UploadedFile]):  # type: ignore[no-untyped-def]
    rep = importer.import_enterprises(stream=file.file, name=file.name or "upload", actor=request.user)
    return {**rep.as_dict(), "errors": [{"row": r, "field": f, "value": v, "reason": m} for r, f, v, m in rep.errors[:1000]]}


@router.get("/{uscc_code}", response=EnterpriseOut)
def enterprise_read(request: HttpRequest, uscc_code: str):  # type: ignore[no-untyped-def]
    ent = selectors.enterprise_get_by_uscc(actor=request.user, code=uscc_code)
    return selectors.present(ent, request.user)


@router.patch("/{uscc_code}", response=EnterpriseOut)
def enterprise_patch(request: HttpRequest, uscc_code: str, payload: EnterprisePatch):  # type: ignore[no-untyped-def]
    ent = selectors.enterprise_get_by_uscc(actor=request.user, code=uscc_code)
    ent = services.enterprise_update(actor=request.user, enterprise=ent, data=payload.dict(exclude_unset=True))
    return selectors.present(selectors.enterprise_get(actor=request.user, pk=ent.pk), request.user)


@router.get("/{uscc_code}/figures", response=list[FigureOut])
def figures(request: HttpRequest, uscc_code: str):  # type: ignore[no-untyped-def]
    ent = selectors.enterprise_get_by_uscc(actor=request.user, code=uscc_code)
    return list(selectors.enterprise_figures(enterprise=ent))


@router.put("/{uscc_code}/figures/{year}", response=FigureOut)
def figures_put(request: HttpRequest, uscc_code: str, year: int, payload: FiguresIn):  # type: ignore[no-untyped-def]
    ent = selectors.enterprise_get_by_uscc(actor=request.user, code=uscc_code)
    return services.year_figure_set(actor=request.user, enterprise=ent, year=year, values=payload.dict())
