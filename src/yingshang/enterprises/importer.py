"""Streaming import of the registry from XLSX or CSV.

* Rows are read one at a time (openpyxl read-only mode, ``csv`` on a text stream): a 100k-row file
  is never held in memory whole.
* Every row is validated; a bad row is reported with its row number, field and reason and the
  valid rows are kept.
* Rows are written in batches, each batch one transaction that also writes its audit records and
  error rows and advances the job's counters.  A killed process loses only the batch in flight,
  which the database rolls back; re-running the file upserts by credit code, so it is idempotent:
  importing the same file twice changes nothing the second time.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from stdnum.cn import ric

from yingshang.core.audit import Entry, audit_record_many
from yingshang.core.db import insert_many
from yingshang.core.models import Park, Region, User
from yingshang.core.permissions import require

from . import hooks, industries, uscc
from .models import Enterprise, ImportJob, ImportRowError, YearFigure
from .services import AUDIT_FIELDS, FIGURE_FIELDS, derive_size

# Column headings governments use, mapped to our field names.  The first heading of each field is
# the one we write in templates and exports.
COLUMNS: dict[str, list[str]] = {
    "uscc": ["统一社会信用代码", "信用代码", "uscc", "credit_code"],
    "name": ["名称", "企业名称", "主体名称", "name"],
    "kind": ["主体类型", "类型", "kind"],
    "status": ["登记状态", "status"],
    "legal_rep": ["法定代表人", "法定代表人/经营者", "经营者", "legal_rep"],
    "legal_rep_id_number": ["法定代表人证件号", "证件号码", "legal_rep_id_number"],
    "registered_on": ["成立日期", "registered_on"],
    "registered_capital_wan": ["注册资本（万元）", "注册资本(万元)", "注册资本", "registered_capital_wan"],
    "industry_code": ["行业代码", "国民经济行业代码", "industry_code"],
    "region": ["所属乡镇", "乡镇街道", "区划代码", "region"],
    "park": ["所属园区", "园区", "park"],
    "address": ["住所", "地址", "address"],
    "contact_name": ["联系人", "contact_name"],
    "contact_phone": ["联系电话", "contact_phone"],
    "is_high_tech": ["高新技术企业", "is_high_tech"],
    "is_specialized": ["专精特新", "is_specialized"],
    "has_construction_qualification": ["建筑业资质", "has_construction_qualification"],
    "year": ["年度", "year"],
    "employees": ["从业人员", "从业人数", "employees"],
    "revenue_wan": ["营业收入（万元）", "营业收入(万元)", "营业收入", "revenue_wan"],
    "assets_wan": ["资产总额（万元）", "资产总额(万元)", "资产总额", "assets_wan"],
    "taxes_wan": ["纳税额（万元）", "纳税额(万元)", "纳税额", "taxes_wan"],
    "rd_wan": ["研发投入（万元）", "研发投入(万元)", "研发投入", "rd_wan"],
    "unemployment_insurance_wan": ["失业保险费（万元）", "失业保险费(万元)", "失业保险费", "unemployment_insurance_wan"],
    "layoffs": ["裁员人数", "layoffs"],
}
HEADING_TO_FIELD = {h.strip().lower(): f for f, hs in COLUMNS.items() for h in hs}
LABELS = {f: hs[0] for f, hs in COLUMNS.items()}
REQUIRED = ["uscc", "name", "industry_code", "region"]

KINDS = {"企业": "company", "公司": "company", "company": "company", "个体工商户": "individual", "个体": "individual",
         "individual": "individual", "农民专业合作社": "cooperative", "合作社": "cooperative", "cooperative": "cooperative"}
STATUSES = {"存续": "active", "在业": "active", "active": "active", "注销": "closed", "吊销": "closed", "closed": "closed"}
TRUE = {"是", "1", "true", "y", "yes", "√", "有"}
FALSE = {"否", "0", "false", "n", "no", "", "无"}
PHONE = re.compile(r"^[0-9+\-() ]{5,20}$")
DATE_CN = re.compile(r"^(\d{4})[年/.\-](\d{1,2})[月/.\-](\d{1,2})日?$")


class RowError(Exception):
    def __init__(self, field: str, value: Any, reason: str):
        super().__init__(reason)
        self.field, self.value, self.reason = field, value, reason


@dataclass
class Report:
    job_id: int
    rows_total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[tuple[int, str, str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"job": self.job_id, "rows": self.rows_total, "created": self.created, "updated": self.updated,
                "unchanged": self.unchanged, "rejected": self.rejected}


# ----------------------------------------------------------------------------- reading


def _read_xlsx(stream: IO[bytes]) -> Iterator[tuple[int, list[Any]]]:
    """Rows of the first sheet, parsed in a helper process (see ``xlsx_stream``)."""
    import tempfile

    from .xlsx_stream import iter_xlsx_rows

    path = getattr(stream, "name", None)
    if isinstance(path, str) and Path(path).is_file():
        yield from iter_xlsx_rows(path)
        return
    with tempfile.NamedTemporaryFile(suffix=".xlsx") as tmp:  # an upload held in memory
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            tmp.write(chunk)
        tmp.flush()
        yield from iter_xlsx_rows(tmp.name)


def _read_csv(stream: IO[bytes]) -> Iterator[tuple[int, list[Any]]]:
    head = stream.read(65536)
    stream.seek(0)
    encoding = "utf-8-sig"
    try:
        head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the sample's end
            encoding = "gb18030"  # Excel on Chinese Windows saves CSV in GBK
    text = codecs.getreader(encoding)(stream)
    yield from enumerate(csv.reader(text), start=1)


def read_rows(stream: IO[bytes], name: str) -> Iterator[tuple[int, list[Any]]]:
    magic = stream.read(4)
    stream.seek(0)
    if magic.startswith(b"PK"):
        return _read_xlsx(stream)
    if name.lower().endswith((".xlsx", ".xlsm")):
        raise ValueError("不是有效的 XLSX 文件 / not a valid XLSX file")
    return _read_csv(stream)


# ----------------------------------------------------------------------------- validation


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip()


def _decimal(fieldname: str, v: Any) -> Decimal | None:
    s = _text(v).replace(",", "")
    if s == "":
        return None
    try:
        d = Decimal(s)
    except InvalidOperation:
        raise RowError(fieldname, v, "应为数字 / must be a number") from None
    if not d.is_finite() or d < 0:
        raise RowError(fieldname, v, "不能为负数 / cannot be negative")
    if d >= Decimal("1e13"):
        raise RowError(fieldname, v, "数值过大 / too large")
    return d.quantize(Decimal("0.000001"))


def _int(fieldname: str, v: Any) -> int | None:
    s = _text(v).replace(",", "")
    if s == "":
        return None
    try:
        d = Decimal(s)
    except InvalidOperation:
        raise RowError(fieldname, v, "应为整数 / must be a whole number") from None
    if d != d.to_integral_value() or d < 0 or d > 10_000_000:
        raise RowError(fieldname, v, "应为非负整数 / must be a non-negative whole number")
    return int(d)


def _date(fieldname: str, v: Any) -> dt.date | None:
    if v is None or v == "":
        return None
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    s = _text(v)
    m = DATE_CN.match(s)
    try:
        if m:
            d = dt.date(int(m[1]), int(m[2]), int(m[3]))
        else:
            d = dt.date.fromisoformat(s)
    except ValueError:
        raise RowError(fieldname, v, "日期格式应为 2020-01-31 / date must look like 2020-01-31") from None
    if d > dt.date.today() or d.year < 1949:
        raise RowError(fieldname, v, "日期不合理 / implausible date")
    return d


def _bool(fieldname: str, v: Any) -> bool:
    s = _text(v).lower()
    if s in TRUE:
        return True
    if s in FALSE:
        return False
    raise RowError(fieldname, v, "应为 是/否 / must be yes/no")


class Validator:
    def __init__(self) -> None:
        self.regions = {r.code: r.pk for r in Region.objects.filter(level__in=[Region.Level.TOWNSHIP, Region.Level.VILLAGE])}
        self.region_names = {r.name: r.pk for r in Region.objects.filter(level=Region.Level.TOWNSHIP)}
        self.parks = dict(Park.objects.values_list("name", "pk"))
        self.this_year = dt.date.today().year

    def row(self, raw: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in REQUIRED:
            if _text(raw.get(f)) == "":
                raise RowError(f, "", f"{LABELS[f]}不能为空 / {f} is required")
        res = uscc.check(_text(raw["uscc"]))
        if not res.valid:
            raise RowError("uscc", raw["uscc"], res.reason or "invalid")
        out["uscc"] = res.code
        name = _text(raw["name"])
        if len(name) > 200:
            raise RowError("name", name[:50], "名称超过 200 字 / name longer than 200 characters")
        out["name"] = name
        kind = _text(raw.get("kind"))
        if kind:
            if kind.lower() not in KINDS:
                raise RowError("kind", kind, "主体类型应为 企业/个体工商户/农民专业合作社 / unknown kind")
            out["kind"] = KINDS[kind.lower()]
        else:
            out["kind"] = {"2": "individual", "3": "cooperative"}.get(res.code[1], "company") if res.code[0] == "9" else "company"
        status = _text(raw.get("status"))
        if status:
            if status.lower() not in STATUSES:
                raise RowError("status", status, "登记状态应为 存续/注销 / unknown status")
            out["status"] = STATUSES[status.lower()]
        try:
            out["industry_code"] = industries.parse_class_code(_text(raw["industry_code"]))
        except ValueError as exc:
            raise RowError("industry_code", raw["industry_code"], str(exc)) from None
        region = _text(raw["region"])
        region_id = self.regions.get(region) or self.region_names.get(region)
        if region_id is None:
            raise RowError("region", region, "所属乡镇不存在（填12位区划代码或乡镇名称）/ unknown township")
        out["region_id"] = region_id
        park = _text(raw.get("park"))
        if park:
            if park not in self.parks:
                raise RowError("park", park, "园区不存在 / unknown park")
            out["park_id"] = self.parks[park]
        elif "park" in raw:
            out["park_id"] = None
        for f in ("legal_rep", "address", "contact_name"):
            if f in raw:
                out[f] = _text(raw[f])[: 200 if f == "address" else 50]
        if "legal_rep_id_number" in raw:
            idn = _text(raw["legal_rep_id_number"]).upper()
            if idn and not ric.is_valid(idn):
                raise RowError("legal_rep_id_number", idn[:6] + "…", "身份证号码无效 / invalid ID card number")
            out["legal_rep_id_number"] = idn
        if "contact_phone" in raw:
            phone = _text(raw["contact_phone"])
            if phone and not PHONE.match(phone):
                raise RowError("contact_phone", phone, "电话号码格式无效 / invalid phone number")
            out["contact_phone"] = phone
        if "registered_on" in raw:
            out["registered_on"] = _date("registered_on", raw["registered_on"])
        if "registered_capital_wan" in raw:
            out["registered_capital_wan"] = _decimal("registered_capital_wan", raw["registered_capital_wan"])
        for f in ("is_high_tech", "is_specialized", "has_construction_qualification"):
            if f in raw:
                out[f] = _bool(f, raw[f])
        figures: dict[str, Any] = {}
        for f in FIGURE_FIELDS:
            if f in raw and _text(raw[f]) != "":
                figures[f] = _int(f, raw[f]) if f in {"employees", "layoffs"} else _decimal(f, raw[f])
        year_text = _text(raw.get("year"))
        if figures or year_text:
            year = _int("year", year_text)
            if year is None:
                raise RowError("year", "", "填写了年度指标但缺少年度 / figures given without a year")
            if not 1990 <= year <= self.this_year:
                raise RowError("year", year, "年度不合理 / implausible year")
            out["_year"] = year
            out["_figures"] = figures
        return out


# ----------------------------------------------------------------------------- writing

ENT_FIELDS = [f for f in AUDIT_FIELDS if f not in {"uscc", "size_class", "above_designated", "figures_year"}]


def _write_batch(job: ImportJob, actor: User | None, batch: list[tuple[int, dict[str, Any]]],
                 errors: list[tuple[int, str, str, str]], report: Report) -> None:
    """Upsert one batch in one transaction: enterprises by credit code, yearly figures by
    (enterprise, year), re-derived size class, audit records, error rows and job counters."""
    with transaction.atomic():
        codes = {rec["uscc"] for _, rec in batch}
        existing = {e.uscc: e for e in Enterprise.objects.filter(uscc__in=codes)}
        to_create: dict[str, Enterprise] = {}
        new_figures: dict[str, dict[int, dict[str, Any]]] = {}
        changed: dict[str, tuple[Enterprise, dict[str, Any]]] = {}  # code -> (enterprise, values before)
        fig_recs: list[tuple[str, int, dict[str, Any]]] = []
        for _, rec in batch:
            code = rec["uscc"]
            attrs = {k: v for k, v in rec.items() if not k.startswith("_") and k != "uscc"}
            if "_year" in rec:
                fig_recs.append((code, rec["_year"], rec["_figures"]))
            ent = existing.get(code) or to_create.get(code)
            if ent is None:
                to_create[code] = Enterprise(uscc=code, **attrs)
                continue
            diff = {k: v for k, v in attrs.items() if getattr(ent, k) != v}
            if diff and ent.pk is not None:
                earlier = changed[code][1] if code in changed else {}
                changed[code] = (ent, {**{k: getattr(ent, k) for k in diff}, **earlier})
            for k, v in diff.items():
                setattr(ent, k, v)

        # New enterprises: their figures are all in this batch, so derive before inserting.
        for code, year, values in fig_recs:
            if code in to_create:
                new_figures.setdefault(code, {}).setdefault(year, {}).update(values)
        for code, ent in to_create.items():
            years = new_figures.get(code)
            if years:
                latest_year = max(years)
                fig = YearFigure(year=latest_year, **years[latest_year])
                ent.size_class, ent.above_designated = derive_size(ent.industry_code, fig, ent.has_construction_qualification)
                ent.figures_year = latest_year
        if to_create:
            insert_many(Enterprise, list(to_create.values()))
            for code, pk in Enterprise.objects.filter(uscc__in=list(to_create)).values_list("uscc", "pk"):
                to_create[code].pk = pk
                existing[code] = to_create[code]
            insert_many(YearFigure, [YearFigure(enterprise_id=to_create[c].pk, year=y, **v)
                                     for c, years in new_figures.items() for y, v in years.items()])

        # Existing enterprises: upsert figures, then re-derive where anything changed.
        old_recs = [(c, y, v) for c, y, v in fig_recs if c not in to_create]
        ids = {existing[c].pk for c, _, _ in old_recs}
        figs = {(f.enterprise_id, f.year): f for f in YearFigure.objects.filter(enterprise_id__in=ids)} if ids else {}
        fig_new: dict[tuple[int, int], YearFigure] = {}
        fig_changed: dict[tuple[int, int], YearFigure] = {}
        figures_changed: set[str] = set()
        for code, year, values in old_recs:
            key = (existing[code].pk, year)
            fig = figs.get(key) or fig_new.get(key)
            if fig is None:
                fig_new[key] = YearFigure(enterprise_id=key[0], year=year, **values)
                figures_changed.add(code)
                continue
            diff = {k: v for k, v in values.items() if getattr(fig, k) != v}
            for k, v in diff.items():
                setattr(fig, k, v)
            if diff:
                figures_changed.add(code)
                if fig.pk is not None:
                    fig_changed[key] = fig
        insert_many(YearFigure, list(fig_new.values()))
        if fig_changed:
            YearFigure.objects.bulk_update(list(fig_changed.values()), FIGURE_FIELDS, batch_size=500)
        touched = {existing[c].pk: existing[c] for c in figures_changed | set(changed)}
        if touched:
            latest: dict[int, YearFigure] = {}
            for fig in YearFigure.objects.filter(enterprise_id__in=list(touched)).order_by("enterprise_id", "-year"):
                latest.setdefault(fig.enterprise_id, fig)
            for pk, ent in touched.items():
                size, above = derive_size(ent.industry_code, latest.get(pk), ent.has_construction_qualification)
                year = latest[pk].year if pk in latest else None
                if (size, above, year) != (ent.size_class, ent.above_designated, ent.figures_year):
                    before = changed[ent.uscc][1] if ent.uscc in changed else {}
                    changed[ent.uscc] = (ent, {"size_class": ent.size_class, "above_designated": ent.above_designated,
                                               "figures_year": ent.figures_year, **before})
                    ent.size_class, ent.above_designated, ent.figures_year = size, above, year
        if changed:
            Enterprise.objects.bulk_update(
                [e for e, _ in changed.values()],
                ENT_FIELDS + ["size_class", "above_designated", "figures_year", "updated_at"], batch_size=500,
            )

        entries = [
            Entry("enterprise.import_create", "enterprises.Enterprise", str(ent.pk), ent.name, None,
                  {"uscc": code, **{k: getattr(ent, k) for k in ENT_FIELDS}, "size_class": ent.size_class,
                   "figures_years": sorted(new_figures.get(code, {}))})
            for code, ent in to_create.items()
        ]
        entries += [
            Entry("enterprise.import_update", "enterprises.Enterprise", str(ent.pk), ent.name, before,
                  {k: getattr(ent, k) for k in before})
            for ent, before in changed.values()
        ]
        entries += [
            Entry("enterprise.import_figures", "enterprises.Enterprise", str(existing[c].pk), existing[c].name, None,
                  {"years": sorted(y for cc, y, _ in old_recs if cc == c)})
            for c in sorted(figures_changed - set(changed))
        ]
        audit_record_many(actor=actor, entries=entries)
        hooks.changed([ent.pk for ent in to_create.values()] + [ent.pk for ent, _ in changed.values()]
                      + [existing[c].pk for c in figures_changed])
        insert_many(ImportRowError, [ImportRowError(job=job, row=r, field=f, value=str(v)[:200], reason=m[:300])
                                     for r, f, v, m in errors])
        created, updated = len(to_create), len(set(changed) | figures_changed)
        report.created += created
        report.updated += updated
        report.unchanged += len(codes) - created - updated
        report.rejected += len(errors)
        report.errors.extend(errors)
        ImportJob.objects.filter(pk=job.pk).update(
            rows_total=report.rows_total, rows_created=report.created, rows_updated=report.updated,
            rows_unchanged=report.unchanged, rows_rejected=report.rejected,
        )


def import_enterprises(*, stream: IO[bytes], name: str, actor: User | None, batch_rows: int | None = None) -> Report:
    """Import a registry file.  Returns the report; the job and its error rows stay in the database
    (the error report is downloadable as XLSX)."""
    if actor is not None:
        require(actor, "enterprises.import")
    digest = hashlib.sha256()
    for chunk in iter(lambda: stream.read(1 << 20), b""):
        digest.update(chunk)
    stream.seek(0)
    job = ImportJob.objects.create(file_name=name[:255], file_sha256=digest.hexdigest(), actor=actor)
    report = Report(job_id=job.pk)
    batch_rows = batch_rows or settings.IMPORT_BATCH_ROWS
    try:
        rows = read_rows(stream, name)
        header: list[str | None] | None = None
        validator = Validator()
        batch: list[tuple[int, dict[str, Any]]] = []
        errors: list[tuple[int, str, str, str]] = []
        seen_in_batch = 0
        for number, values in rows:
            if header is None:
                if not any(_text(v) for v in values):
                    continue
                header = [HEADING_TO_FIELD.get(_text(v).lower()) for v in values]
                missing = [LABELS[f] for f in REQUIRED if f not in header]
                if missing:
                    raise ValueError(f"缺少必填列：{'、'.join(missing)} / required columns missing: {', '.join(missing)}")
                continue
            if not any(_text(v) for v in values):
                continue
            report.rows_total += 1
            raw = {f: values[i] if i < len(values) else None for i, f in enumerate(header) if f}
            try:
                batch.append((number, validator.row(raw)))
            except RowError as exc:
                errors.append((number, exc.field, _text(exc.value), exc.reason))
            seen_in_batch += 1
            if seen_in_batch >= batch_rows:
                _write_batch(job, actor, batch, errors, report)
                batch, errors, seen_in_batch = [], [], 0
        if header is None:
            raise ValueError("文件为空 / the file is empty")
        _write_batch(job, actor, batch, errors, report)
    except Exception as exc:
        ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.FAILED, finished_at=timezone.now(),
                                                   message=str(exc)[:1000])
        raise
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.DONE, finished_at=timezone.now())
    return report


def import_file(path: str | Path, *, actor: User | None) -> Report:
    p = Path(path)
    with p.open("rb") as fh:
        return import_enterprises(stream=fh, name=p.name, actor=actor)


def error_report_xlsx(job: ImportJob) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("错误行")
    ws.append(["行号 row", "字段 field", "列名 column", "值 value", "原因 reason"])
    for err in job.errors.all().iterator():
        ws.append([err.row, err.field, LABELS.get(err.field, err.field), err.value, err.reason])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def template_headers() -> list[str]:
    return [LABELS[f] for f in COLUMNS]
