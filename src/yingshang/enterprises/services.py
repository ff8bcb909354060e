"""Write operations on the registry.  Size class and 四上 status are derived here, whenever the
figures change, and never typed in."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from yingshang.core.audit import Entry, audit_record, audit_record_many, snapshot
from yingshang.core.errors import NotPermitted, ValidationFailed, from_django_validation
from yingshang.core.models import Park, Region, Role, User
from yingshang.core.permissions import can, require

from . import hooks, industries, sizeclass, uscc
from .models import Enterprise, YearFigure

EDITABLE_FIELDS = [
    "name", "kind", "status", "legal_rep", "legal_rep_id_number", "registered_on", "registered_capital_wan",
    "industry_code", "region_id", "park_id", "address", "contact_name", "contact_phone", "is_high_tech",
    "is_specialized", "has_construction_qualification",
]
FIGURE_FIELDS = ["employees", "revenue_wan", "assets_wan", "taxes_wan", "rd_wan", "unemployment_insurance_wan", "layoffs"]
AUDIT_FIELDS = ["uscc"] + EDITABLE_FIELDS + ["size_class", "above_designated", "figures_year"]


def derive_size(industry_code: str, figure: YearFigure | None, has_qualification: bool) -> tuple[str, bool]:
    """(size class or '' when the figures do not allow it, 四上) from one year's figures."""
    if figure is None:
        return "", False
    try:
        size = sizeclass.classify(industry_code, figure.employees, figure.revenue_wan, figure.assets_wan)
    except (sizeclass.MissingFigure, ValueError):
        size = ""
    try:
        above = sizeclass.above_designated_size(industry_code, figure.revenue_wan, has_qualification)
    except ValueError:
        above = False
    return size, bool(above)


def latest_figure(enterprise: Enterprise) -> YearFigure | None:
    return enterprise.figures.order_by("-year").first()


def refresh_derived(enterprise: Enterprise) -> bool:
    """Re-derive size class and 四上 from the latest year's figures; True when they changed."""
    fig = latest_figure(enterprise)
    size, above = derive_size(enterprise.industry_code, fig, enterprise.has_construction_qualification)
    year = fig.year if fig else None
    if (size, above, year) == (enterprise.size_class, enterprise.above_designated, enterprise.figures_year):
        return False
    enterprise.size_class, enterprise.above_designated, enterprise.figures_year = size, above, year
    return True


def _clean_common(data: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    if "uscc" in out:
        res = uscc.check(out["uscc"])
        if not res.valid:
            raise ValidationFailed(f"统一社会信用代码无效：{res.reason}", f"invalid credit code: {res.reason}", field="uscc")
        out["uscc"] = res.code
    if "industry_code" in out:
        try:
            out["industry_code"] = industries.parse_class_code(str(out["industry_code"]))
        except ValueError as exc:
            raise ValidationFailed(f"行业代码无效：{exc}", f"invalid industry code: {exc}", field="industry_code") from None
    if "region" in out:
        region = out.pop("region")
        if not isinstance(region, Region):
            region = Region.objects.filter(code=str(region)).first()
        if region is None or region.level not in {Region.Level.TOWNSHIP, Region.Level.VILLAGE}:
            raise ValidationFailed("所属乡镇不存在", "unknown township/street", field="region")
        out["region_id"] = region.pk
    if "park" in out:
        park = out.pop("park")
        if park not in (None, "") and not isinstance(park, Park):
            park = Park.objects.filter(name=str(park)).first() or Park.objects.filter(pk=park if str(park).isdigit() else 0).first()
            if park is None:
                raise ValidationFailed("园区不存在", "unknown park", field="park")
        out["park_id"] = park.pk if park else None
    return out


@transaction.atomic
def enterprise_create(*, actor: User | None, data: dict[str, Any]) -> Enterprise:
    if actor is not None:
        require(actor, "enterprises.edit")
    data = _clean_common(data)
    if Enterprise.objects.filter(uscc=data.get("uscc")).exists():
        from yingshang.core.errors import Conflict

        raise Conflict("该统一社会信用代码已登记", "an enterprise with this credit code exists", field="uscc")
    unknown = set(data) - set(EDITABLE_FIELDS) - {"uscc"}
    if unknown:
        f = sorted(unknown)[0]
        raise ValidationFailed(f"未知字段 {f}", f"unknown field {f}", field=f)
    ent = Enterprise(**data)
    try:
        ent.full_clean()
    except ValidationError as exc:
        raise from_django_validation(exc) from None
    ent.save()
    audit_record(actor=actor, action="enterprise.create", obj=ent, after=snapshot(ent, AUDIT_FIELDS))
    hooks.changed([ent.pk])
    return ent


OWN_EDITABLE = {"contact_name", "contact_phone", "address"}


@transaction.atomic
def enterprise_update(*, actor: User, enterprise: Enterprise, data: dict[str, Any]) -> Enterprise:
    """Government editors change any field; an enterprise user only its own contact details."""
    if can(actor, "enterprises.edit"):
        allowed = set(EDITABLE_FIELDS) | {"region", "park"}
    elif actor.role == Role.ENTERPRISE and actor.enterprise_id == enterprise.pk:
        allowed = OWN_EDITABLE
    else:
        raise NotPermitted("您无权修改该市场主体", "you may not change this enterprise")
    bad = set(data) - allowed
    if bad:
        f = sorted(bad)[0]
        raise ValidationFailed(f"不能修改字段 {f}", f"field {f} cannot be changed here", field=f)
    ent = Enterprise.objects.select_for_update().get(pk=enterprise.pk)
    before = snapshot(ent, AUDIT_FIELDS)
    for key, value in _clean_common(data).items():
        setattr(ent, key, value)
    refresh_derived(ent)
    try:
        ent.full_clean()
    except ValidationError as exc:
        raise from_django_validation(exc) from None
    after = snapshot(ent, AUDIT_FIELDS)
    if after != before:
        ent.save()
        audit_record(actor=actor, action="enterprise.update", obj=ent,
                     before={k: v for k, v in before.items() if after[k] != v},
                     after={k: v for k, v in after.items() if before[k] != v})
    hooks.changed([ent.pk])
    return ent


def _check_figures(year: int, values: dict[str, Any]) -> dict[str, Any]:
    if not 1990 <= year <= dt.date.today().year:
        raise ValidationFailed(f"年度 {year} 不合理", f"implausible year {year}", field="year")
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in FIGURE_FIELDS:
            raise ValidationFailed(f"未知指标 {key}", f"unknown figure {key}", field=key)
        if value is None or value == "":
            out[key] = None
            continue
        if key in {"employees", "layoffs"}:
            try:
                num: Any = int(value)
            except (TypeError, ValueError):
                raise ValidationFailed(f"{key} 应为整数", f"{key} must be a whole number", field=key) from None
        else:
            try:
                num = Decimal(str(value))
            except ArithmeticError:
                raise ValidationFailed(f"{key} 应为数字", f"{key} must be a number", field=key) from None
        if num < 0:
            raise ValidationFailed(f"{key} 不能为负", f"{key} cannot be negative", field=key)
        out[key] = num
    return out


@transaction.atomic
def year_figure_set(*, actor: User, enterprise: Enterprise, year: int, values: dict[str, Any]) -> YearFigure:
    require(actor, "enterprises.edit")
    clean = _check_figures(year, values)
    ent = Enterprise.objects.select_for_update().get(pk=enterprise.pk)
    fig = YearFigure.objects.filter(enterprise=ent, year=year).first()
    before = snapshot(fig, ["year"] + FIGURE_FIELDS) if fig else None
    if fig is None:
        fig = YearFigure(enterprise=ent, year=year)
    for key, value in clean.items():
        setattr(fig, key, value)
    fig.save()
    audit_record(actor=actor, action="enterprise.figures", obj=ent, before=before,
                 after=snapshot(fig, ["year"] + FIGURE_FIELDS))
    derived_before = snapshot(ent, ["size_class", "above_designated", "figures_year"])
    if refresh_derived(ent):
        ent.save(update_fields=["size_class", "above_designated", "figures_year", "updated_at"])
        audit_record(actor=actor, action="enterprise.derive_size", obj=ent, before=derived_before,
                     after=snapshot(ent, ["size_class", "above_designated", "figures_year"]))
    hooks.changed([enterprise.pk])
    return fig


def bulk_audit(actor: User | None, entries: list[Entry]) -> None:
    audit_record_many(actor=actor, entries=entries)
