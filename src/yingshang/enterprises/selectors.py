"""Reads of the registry, scoped: government roles see the whole registry; an enterprise user
only its own enterprise.  Personal data is masked unless the role needs it."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from yingshang.core.errors import NotFound, NotPermitted
from yingshang.core.models import Role, User
from yingshang.core.permissions import can

from . import industries
from .models import Enterprise, ImportJob, YearFigure


def mask_phone(phone: str) -> str:
    if len(phone) >= 7:
        return phone[:3] + "****" + phone[-4:]
    return "*" * len(phone)


def mask_id(number: str) -> str:
    if len(number) >= 8:
        return number[:4] + "*" * (len(number) - 8) + number[-4:]
    return "*" * len(number)


def sees_personal(actor: User, enterprise: Enterprise | None = None) -> bool:
    if can(actor, "enterprises.view_personal"):
        return True
    return enterprise is not None and actor.role == Role.ENTERPRISE and actor.enterprise_id == enterprise.pk


def enterprise_list(*, actor: User, q: str = "", region: str = "", kind: str = "", size: str = "",
                    above: str = "", industry: str = "", park: str = "") -> QuerySet[Enterprise]:
    if actor.role == Role.ENTERPRISE:
        qs = Enterprise.objects.filter(pk=actor.enterprise_id)
    elif can(actor, "enterprises.view_all"):
        qs = Enterprise.objects.all()
    else:
        raise NotPermitted("您无权查看市场主体库", "you may not view the registry")
    if q:
        q = q.strip()
        qs = qs.filter(Q(name__contains=q) | Q(uscc=q.upper()) | Q(legal_rep=q))
    if region:
        qs = qs.filter(Q(region__code=region) | Q(region__parent__code=region))
    if kind:
        qs = qs.filter(kind=kind)
    if size:
        qs = qs.filter(size_class=size)
    if above in {"1", "true"}:
        qs = qs.filter(above_designated=True)
    if industry:
        ind = industry.strip().upper().lstrip("ABCDEFGHIJKLMNOPQRST") or industry
        qs = qs.filter(industry_code__startswith=ind)
    if park:
        qs = qs.filter(park_id=park)
    return qs.select_related("region", "park").order_by("name", "pk")


def enterprise_get(*, actor: User, pk: int) -> Enterprise:
    ent = Enterprise.objects.select_related("region", "park").filter(pk=pk).first()
    if ent is None:
        raise NotFound("市场主体不存在", "no such enterprise")
    if actor.role == Role.ENTERPRISE:
        if actor.enterprise_id != ent.pk:
            raise NotPermitted("只能查看本企业信息", "you can only see your own enterprise")
    elif not can(actor, "enterprises.view_all"):
        raise NotPermitted("您无权查看市场主体库", "you may not view the registry")
    return ent


def enterprise_get_by_uscc(*, actor: User, code: str) -> Enterprise:
    ent = Enterprise.objects.filter(uscc=code.strip().upper()).only("pk").first()
    if ent is None:
        raise NotFound("市场主体不存在", "no such enterprise")
    return enterprise_get(actor=actor, pk=ent.pk)


def enterprise_figures(*, enterprise: Enterprise) -> QuerySet[YearFigure]:
    return YearFigure.objects.filter(enterprise=enterprise).order_by("-year")


def import_jobs(*, actor: User) -> QuerySet[ImportJob]:
    if not can(actor, "enterprises.import"):
        raise NotPermitted("您无权导入", "you may not import")
    return ImportJob.objects.filter(actor=actor).order_by("-started_at")


def import_job_get(*, actor: User, pk: int) -> ImportJob:
    job = import_jobs(actor=actor).filter(pk=pk).first()
    if job is None:
        raise NotFound("导入任务不存在", "no such import job")
    return job


def _industry_name(code: str) -> str:
    ind = industries.get(code)
    return ind.name if ind else ""


def present(ent: Enterprise, actor: User) -> dict[str, object]:
    """The enterprise as a dict for lists, exports and the API, with masking applied."""
    personal = sees_personal(actor, ent)
    return {
        "id": ent.pk, "uscc": ent.uscc, "name": ent.name, "kind": ent.kind, "kind_label": ent.get_kind_display(),
        "status": ent.status, "legal_rep": ent.legal_rep,
        "legal_rep_id_number": ent.legal_rep_id_number if personal else mask_id(ent.legal_rep_id_number),
        "registered_on": ent.registered_on, "registered_capital_wan": ent.registered_capital_wan,
        "industry_code": ent.industry_code, "industry_name": _industry_name(ent.industry_code), "region_code": ent.region.code, "region": ent.region.name,
        "park": ent.park.name if ent.park else None, "address": ent.address, "contact_name": ent.contact_name,
        "contact_phone": ent.contact_phone if personal else mask_phone(ent.contact_phone),
        "is_high_tech": ent.is_high_tech, "is_specialized": ent.is_specialized,
        "size_class": ent.size_class, "above_designated": ent.above_designated, "figures_year": ent.figures_year,
    }
