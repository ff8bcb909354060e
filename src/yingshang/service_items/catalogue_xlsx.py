"""Import and export of the item catalogue as XLSX: a sheet 事项 (one row per item, upserted by
code) and a sheet 材料 (one row per material, upserted by item code and material name).

Every row is validated on its own through the same services as the pages (``item_create``,
``item_update``, ``material_add``, ``material_update``) inside its own savepoint: a bad row is
reported with its sheet, row number, field and reason, and the good rows are kept.  Material
templates (attachments) are not part of the file."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.utils import translation

from yingshang.core.errors import DomainError, ValidationFailed
from yingshang.core.models import Department, User
from yingshang.core.permissions import require

from . import services
from .models import ItemType, Material, MaterialForm, ServiceItem

ITEM_SHEET, MATERIAL_SHEET = "事项", "材料"

# field → headings (the first is written on export)
ITEM_COLUMNS: dict[str, list[str]] = {
    "code": ["事项编码", "code"],
    "name": ["事项名称", "name"],
    "item_type": ["事项类型", "item_type"],
    "department": ["实施部门", "实施部门代码", "department"],
    "levels": ["办理层级", "levels"],
    "legal_basis": ["设定依据", "legal_basis"],
    "legal_days": ["法定时限（工作日）", "法定时限", "legal_days"],
    "promised_days": ["承诺时限（工作日）", "承诺时限", "promised_days"],
    "is_instant": ["即办件", "is_instant"],
    "joint_handling": ["联合办理", "joint_handling"],
    "conditions": ["受理条件", "conditions"],
    "fees": ["收费标准", "fees"],
    "online": ["网上办理", "online"],
    "window": ["办理窗口", "window"],
    "hours": ["办理时间", "hours"],
    "notify_commit": ["告知承诺制", "告知承诺", "notify_commit"],
    "supervising_department": ["监管部门", "监管部门代码", "supervising_department"],
    "active": ["在用", "active"],
}
MATERIAL_COLUMNS: dict[str, list[str]] = {
    "item": ["事项编码", "item"],
    "name": ["材料名称", "name"],
    "form": ["材料形式", "form"],
    "copies": ["份数", "copies"],
    "tolerance_allowed": ["可容缺", "容缺", "tolerance_allowed"],
    "note": ["说明", "note"],
    "order": ["排序", "order"],
}
ITEM_REQUIRED = ["code", "name", "item_type", "department", "legal_days", "promised_days"]
MATERIAL_REQUIRED = ["item", "name"]

TRUE = {"是", "1", "true", "y", "yes", "√", "有"}
FALSE = {"否", "0", "false", "n", "no", "", "无", "×"}
LEVEL_WORDS = {"县": "county", "县级": "county", "县区": "county", "county": "county",
               "乡镇": "township", "乡镇级": "township", "乡镇（街道）": "township", "乡镇街道": "township",
               "街道": "township", "township": "township",
               "村": "village", "村级": "village", "村（社区）": "village", "村社区": "village", "社区": "village",
               "village": "village"}
LEVEL_LABELS = {"county": "县级", "township": "乡镇级", "village": "村级"}
def _words(choices: Any) -> dict[str, str]:
    """Label → value in Chinese and in English, whatever language the process happens to be in
    (the labels are lazy: reading them at import time would freeze the first request's language)."""
    out: dict[str, str] = {}
    for language in ("zh-hans", "en"):
        with translation.override(language):
            out.update({str(label): value for value, label in choices})
    return out


FORM_WORDS = _words(MaterialForm.choices) | {v: v for v in MaterialForm.values}
TYPE_WORDS = _words(ItemType.choices)


@dataclass
class RowError:
    sheet: str
    row: int
    field: str
    reason: str
    reason_en: str


@dataclass
class ImportReport:
    items_created: int = 0
    items_updated: int = 0
    materials_created: int = 0
    materials_updated: int = 0
    errors: list[RowError] = field(default_factory=list)


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip()


def _bool(name: str, v: Any) -> bool:
    s = _text(v).lower()
    if s in TRUE:
        return True
    if s in FALSE:
        return False
    raise ValidationFailed(f"「{v}」不是 是/否", f"{v!r} is not yes/no", field=name)


def _int(name: str, v: Any) -> int:
    s = _text(v)
    if not re.fullmatch(r"\d{1,4}", s):
        raise ValidationFailed(f"「{v}」不是非负整数", f"{v!r} is not a whole number", field=name)
    return int(s)


def _department(name: str, v: Any) -> Department:
    s = _text(v)
    dept = Department.objects.filter(code=s).first() or Department.objects.filter(name=s).first()
    if dept is None:
        raise ValidationFailed(f"部门「{s}」不存在", f"unknown department {s!r}", field=name)
    return dept


def _item_type(v: Any) -> str:
    s = _text(v)
    if s.isdigit() and len(s) < 2:
        s = s.zfill(2)
    if s in ItemType.values:
        return s
    if s in TYPE_WORDS:
        return TYPE_WORDS[s]
    raise ValidationFailed(f"事项类型「{s}」无效", f"unknown item type {s!r}", field="item_type")


def _levels(v: Any) -> list[str]:
    parts = [p for p in re.split(r"[、,，/;；\s]+", _text(v)) if p]
    out = []
    for p in parts:
        if p not in LEVEL_WORDS:
            raise ValidationFailed(f"办理层级「{p}」无效（县级、乡镇级、村级）", f"unknown level {p!r}", field="levels")
        out.append(LEVEL_WORDS[p])
    return out


def _rows(ws: Any) -> Iterator[tuple[int, list[Any]]]:
    for n, values in enumerate(ws.iter_rows(values_only=True), start=1):
        yield n, list(values)


def _header(values: list[Any], columns: dict[str, list[str]]) -> dict[int, str]:
    lookup = {h.lower(): f for f, hs in columns.items() for h in hs}
    return {i: lookup[_text(v).lower()] for i, v in enumerate(values) if _text(v).lower() in lookup}


def _parse_item(raw: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in ITEM_REQUIRED:
        if not _text(raw.get(f)):
            raise ValidationFailed(f"{ITEM_COLUMNS[f][0]}不能为空", f"{f} is required", field=f)
    for f, v in raw.items():
        if f in ("code", "name", "legal_basis", "conditions", "fees", "window", "hours"):
            out[f] = _text(v)
        elif f == "item_type":
            out[f] = _item_type(v)
        elif f == "department":
            out[f] = _department(f, v)
        elif f == "supervising_department":
            out[f] = _department(f, v) if _text(v) else None
        elif f == "levels":
            if _text(v):
                out[f] = _levels(v)
        elif f in ("legal_days", "promised_days"):
            out[f] = _int(f, v)
        elif f in ("is_instant", "joint_handling", "online", "notify_commit", "active"):
            if _text(v):
                out[f] = _bool(f, v)
    return out


def _parse_material(raw: dict[str, Any]) -> dict[str, Any]:
    for f in MATERIAL_REQUIRED:
        if not _text(raw.get(f)):
            raise ValidationFailed(f"{MATERIAL_COLUMNS[f][0]}不能为空", f"{f} is required", field=f)
    out: dict[str, Any] = {"item": _text(raw["item"]), "name": _text(raw["name"])}
    if _text(raw.get("form")):
        form = _text(raw["form"])
        if form not in FORM_WORDS:
            raise ValidationFailed(f"材料形式「{form}」无效（原件/复印件/原件及复印件）", f"unknown form {form!r}",
                                   field="form")
        out["form"] = FORM_WORDS[form]
    if _text(raw.get("copies")):
        out["copies"] = _int("copies", raw["copies"])
    if _text(raw.get("tolerance_allowed")):
        out["tolerance_allowed"] = _bool("tolerance_allowed", raw["tolerance_allowed"])
    if "note" in raw:
        out["note"] = _text(raw["note"])
    if _text(raw.get("order")):
        out["order"] = _int("order", raw["order"])
    return out


def _sheet_rows(wb: Any, title: str, columns: dict[str, list[str]]) -> Iterator[tuple[int, dict[str, Any]]]:
    if title not in wb.sheetnames:
        return
    rows = _rows(wb[title])
    header: dict[int, str] | None = None
    for n, values in rows:
        if header is None:
            header = _header(values, columns)
            continue
        if all(_text(v) == "" for v in values):
            continue
        yield n, {f: values[i] if i < len(values) else None for i, f in header.items()}


def _error(report: ImportReport, sheet: str, n: int, exc: DomainError) -> None:
    report.errors.append(RowError(sheet, n, exc.field or "", exc.message, exc.message_en))


def catalogue_import(*, actor: User, stream: IO[bytes]) -> ImportReport:
    """Upsert the catalogue from an XLSX file, row by row (see the module docstring)."""
    require(actor, "services.catalogue_edit")
    from openpyxl import load_workbook

    try:
        wb = load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable upload is the user's error
        raise ValidationFailed("无法读取 XLSX 文件", f"cannot read the XLSX file ({type(exc).__name__})",
                               field="file") from None
    if ITEM_SHEET not in wb.sheetnames and MATERIAL_SHEET not in wb.sheetnames:
        raise ValidationFailed(f"文件须包含「{ITEM_SHEET}」或「{MATERIAL_SHEET}」工作表",
                               "the file needs a sheet named 事项 or 材料", field="file")
    report = ImportReport()
    for n, raw in _sheet_rows(wb, ITEM_SHEET, ITEM_COLUMNS):
        try:
            data = _parse_item(raw)
            existing = ServiceItem.objects.filter(code=data["code"]).first()
            if existing is None:
                services.item_create(actor=actor, **data)
                report.items_created += 1
            else:
                services.item_update(actor=actor, item=existing, **data)
                report.items_updated += 1
        except DomainError as exc:
            _error(report, ITEM_SHEET, n, exc)
    for n, raw in _sheet_rows(wb, MATERIAL_SHEET, MATERIAL_COLUMNS):
        try:
            data = _parse_material(raw)
            item = ServiceItem.objects.filter(code=data.pop("item")).first()
            if item is None:
                raise ValidationFailed("事项编码不存在", "no item with this code", field="item")
            existing_m = Material.objects.filter(item=item, name=data["name"]).first()
            if existing_m is None:
                services.material_add(actor=actor, item=item, **data)
                report.materials_created += 1
            else:
                data.pop("name")
                services.material_update(actor=actor, material=existing_m, **data)
                report.materials_updated += 1
        except DomainError as exc:
            _error(report, MATERIAL_SHEET, n, exc)
    wb.close()
    return report


def _yn(v: bool) -> str:
    return "是" if v else "否"


def catalogue_export(*, actor: User) -> bytes:
    """The whole catalogue (active and inactive items) as an XLSX file that imports back unchanged."""
    require(actor, "services.catalogue_edit")
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(ITEM_SHEET)
    ws.append([hs[0] for hs in ITEM_COLUMNS.values()])
    items = ServiceItem.objects.select_related("department", "supervising_department").order_by("code")
    for it in items:
        ws.append([
            it.code, it.name, it.item_type, it.department.code, "、".join(LEVEL_LABELS[lv] for lv in it.levels),
            it.legal_basis, it.legal_days, it.promised_days, _yn(it.is_instant), _yn(it.joint_handling),
            it.conditions, it.fees, _yn(it.online), it.window, it.hours, _yn(it.notify_commit),
            it.supervising_department.code if it.supervising_department else "", _yn(it.active),
        ])
    wm = wb.create_sheet(MATERIAL_SHEET)
    wm.append([hs[0] for hs in MATERIAL_COLUMNS.values()])
    for m in Material.objects.select_related("item").order_by("item__code", "order", "id"):
        wm.append([m.item.code, m.name, m.get_form_display(), m.copies, _yn(m.tolerance_allowed), m.note, m.order])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
