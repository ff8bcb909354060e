"""Changes to the credit red and black lists.

Each is one transaction that checks the permission first, writes its audit records and tells the
enterprises app's listeners (policy matching) which enterprises changed, so they are re-checked after
commit: a black-listed enterprise drops out of the benefits whose rules exclude the black list, a
repaired one comes back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from yingshang.core.audit import Entry, audit_record, audit_record_many, snapshot
from yingshang.core.errors import Conflict, NotFound, ValidationFailed, from_django_validation
from yingshang.core.models import User
from yingshang.core.permissions import require
from yingshang.enterprises import hooks
from yingshang.enterprises import uscc as uscc_codes
from yingshang.enterprises.models import Enterprise

from . import credit_file
from .models import CreditListEntry

Kind = CreditListEntry.Kind
Removal = CreditListEntry.Removal

#: How a list is written in files and forms.
KIND_WORDS: dict[str, str] = {
    "红": Kind.RED, "红名单": Kind.RED, "red": Kind.RED, "守信": Kind.RED,
    "黑": Kind.BLACK, "黑名单": Kind.BLACK, "black": Kind.BLACK, "失信": Kind.BLACK,
}
EXPIRY_REASON = "到期"
AUDIT_FIELDS = ["enterprise_id", "kind", "reason", "source", "document_number", "listed_on", "expires_on",
                "removed_at", "removed_by_id", "removal", "removal_reason"]
_BATCH = 2000


def parse_kind(value: Any) -> str:
    kind = KIND_WORDS.get(credit_file.text(value).lower())
    if kind is None:
        raise ValidationFailed("名单类型应为 红 或 黑", "the list must be red or black", field="kind")
    return kind


@dataclass(frozen=True)
class _Clean:
    kind: str
    reason: str
    source: str
    document_number: str
    listed_on: dt.date
    expires_on: dt.date | None


def _clean(*, kind: str, reason: str, source: str, listed_on: dt.date | None, expires_on: dt.date | None,
           document_number: str, today: dt.date) -> _Clean:
    """The entry's own values, checked; ValidationFailed names the field at fault."""
    kind = parse_kind(kind)
    reason, source, number = (reason or "").strip(), (source or "").strip(), (document_number or "").strip()
    if not reason:
        raise ValidationFailed("请填写认定原因", "the reason is required", field="reason")
    if len(reason) > 100:
        raise ValidationFailed("认定原因不超过 100 字", "the reason is at most 100 characters", field="reason")
    if not source:
        raise ValidationFailed("请填写认定部门", "the listing authority is required", field="source")
    if len(source) > 100:
        raise ValidationFailed("认定部门不超过 100 字", "the authority is at most 100 characters", field="source")
    if len(number) > 100:
        raise ValidationFailed("文书号不超过 100 字", "the document number is at most 100 characters",
                               field="document_number")
    if listed_on is None:
        raise ValidationFailed("请填写认定日期", "the listing date is required", field="listed_on")
    if listed_on > today:
        raise ValidationFailed("认定日期不能晚于今天", "the listing date cannot be in the future", field="listed_on")
    if listed_on.year < 2000:
        raise ValidationFailed("认定日期不合理", "implausible listing date", field="listed_on")
    if expires_on is not None:
        if expires_on <= listed_on:
            raise ValidationFailed("有效期至须晚于认定日期", "the entry must expire after it was listed",
                                   field="expires_on")
        if expires_on <= today:
            raise ValidationFailed("有效期已届满，无需列入", "the entry would already have expired",
                                   field="expires_on")
    return _Clean(kind, reason, source, number, listed_on, expires_on)


def _repr(entry: CreditListEntry, enterprise: Enterprise | None = None) -> str:
    ent = enterprise or entry.enterprise
    return f"{ent.name}（{ent.uscc}）{entry.get_kind_display()}：{entry.reason}"


def _lock_enterprises(ids: Iterable[int]) -> None:
    """One change per enterprise at a time (two offices adding the same entry queue here)."""
    ids = sorted(set(ids))
    for i in range(0, len(ids), _BATCH):
        list(Enterprise.objects.select_for_update().filter(pk__in=ids[i:i + _BATCH]).values_list("pk", flat=True))


def _expire(rows: list[tuple[int, int, str]], now: dt.datetime) -> int:
    """Mark these live entries (id, enterprise id, description) expired; audit and tell the listeners."""
    done: list[tuple[int, int, str]] = []
    for i in range(0, len(rows), _BATCH):
        chunk = rows[i:i + _BATCH]
        ids = [pk for pk, _e, _r in chunk]
        # conditional: an entry removed meanwhile (by repair or another sweep) is left alone
        expired = set(CreditListEntry.objects.filter(pk__in=ids, removed_at__isnull=True)
                      .values_list("pk", flat=True))
        CreditListEntry.objects.filter(pk__in=expired, removed_at__isnull=True).update(
            removed_at=now, removal=Removal.EXPIRED, removal_reason=EXPIRY_REASON)
        done += [r for r in chunk if r[0] in expired]
    audit_record_many(actor=None, entries=[
        Entry("credit.expire", CreditListEntry._meta.label, str(pk), text, None,
              {"removed_at": now, "removal": Removal.EXPIRED, "removal_reason": EXPIRY_REASON})
        for pk, _e, text in done])
    hooks.changed(e for _pk, e, _r in done)
    return len(done)


def _rows(qs: Any) -> list[tuple[int, int, str]]:
    """(id, enterprise id, description for the audit trail) of these entries."""
    return [(pk, e, f"{name}（{code}）{Kind(kind).label}：{reason}") for pk, e, name, code, kind, reason in
            qs.order_by("pk").values_list("pk", "enterprise_id", "enterprise__name", "enterprise__uscc", "kind",
                                          "reason")]


def _stale(day: dt.date, enterprise_ids: Iterable[int]) -> list[tuple[int, int, str]]:
    """Live entries of these enterprises whose end date has come."""
    return _rows(CreditListEntry.objects.filter(removed_at__isnull=True, expires_on__lte=day,
                                                enterprise_id__in=list(enterprise_ids)))


@transaction.atomic
def credit_list_add(*, actor: User, enterprise: Enterprise, kind: str, reason: str, source: str,
                    listed_on: dt.date | None, expires_on: dt.date | None = None,
                    document_number: str = "") -> CreditListEntry:
    """Put an enterprise on the red or black list.  Refused: bad dates (expiry not after listing, already
    expired, listed in the future) and a second live entry of the same list and reason (Conflict)."""
    require(actor, "credit.manage")
    now = timezone.now()
    today = timezone.localdate(now)
    c = _clean(kind=kind, reason=reason, source=source, listed_on=listed_on, expires_on=expires_on,
               document_number=document_number, today=today)
    _lock_enterprises([enterprise.pk])
    stale = _stale(today, [enterprise.pk])
    if stale:  # expired but not swept yet: record it, so it neither blocks nor counts as a duplicate
        _expire(stale, now)
    if CreditListEntry.objects.filter(enterprise=enterprise, kind=c.kind, reason=c.reason,
                                      removed_at__isnull=True).exists():
        raise Conflict(f"该市场主体已在{Kind(c.kind).label}中（{c.reason}），不能重复列入",
                       f"the enterprise is already on the {c.kind} list for this reason", field="reason")
    entry = CreditListEntry(enterprise=enterprise, kind=c.kind, reason=c.reason, source=c.source,
                            document_number=c.document_number, listed_on=c.listed_on, expires_on=c.expires_on,
                            created_by=actor)
    try:
        entry.full_clean()
    except ValidationError as exc:
        raise from_django_validation(exc) from None
    entry.save()
    audit_record(actor=actor, action="credit.add", obj=entry, object_repr=_repr(entry, enterprise),
                 after=snapshot(entry, AUDIT_FIELDS))
    hooks.changed([enterprise.pk])
    return entry


@transaction.atomic
def credit_list_remove(*, actor: User, entry: CreditListEntry, reason: str) -> CreditListEntry:
    """Take an entry off its list before it expires: 信用修复 for the black list, 撤销认定 for the red
    list, with the reason.  Removing an entry that is already removed or expired is a Conflict."""
    require(actor, "credit.manage")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("请填写移出理由（如：已履行法定义务，完成信用修复）", "a reason is required",
                               field="reason")
    if len(reason) > 300:
        raise ValidationFailed("移出理由不超过 300 字", "the reason is at most 300 characters", field="reason")
    _lock_enterprises([entry.enterprise_id])
    found = CreditListEntry.objects.select_for_update().filter(pk=entry.pk).first()
    if found is None:
        raise NotFound("名单记录不存在", "no such credit-list entry")
    entry = found
    now = timezone.now()
    if entry.removed_at is not None:
        raise Conflict(f"该记录已于 {timezone.localtime(entry.removed_at):%Y-%m-%d} 移出（{entry.get_removal_display()}）",
                       "the entry has already been removed")
    if entry.expires_on is not None and entry.expires_on <= timezone.localdate(now):
        raise Conflict(f"该记录已于 {entry.expires_on:%Y-%m-%d} 到期", "the entry has already expired")
    before = snapshot(entry, AUDIT_FIELDS)
    entry.removed_at, entry.removed_by, entry.removal_reason = now, actor, reason
    entry.removal = Removal.REPAIR if entry.kind == Kind.BLACK else Removal.REVOKED
    entry.save(update_fields=["removed_at", "removed_by", "removal", "removal_reason"])
    audit_record(actor=actor, action="credit.remove", obj=entry, object_repr=_repr(entry), before=before,
                 after=snapshot(entry, AUDIT_FIELDS))
    hooks.changed([entry.enterprise_id])
    return entry


def credit_lists_expire(*, day: dt.date | None = None) -> int:
    """Mark the live entries whose end date has come (``expires_on`` ≤ ``day``, default today) as removed
    with the reason 到期; returns how many.  Idempotent, safe to run in several schedulers at once (rows
    another run holds are skipped and the update is conditional).  Registered as the daily periodic job
    ``supervision.credit_expire``.

    Queries already treat such entries as inactive from their end date on; this records it and tells
    the listeners, so policy matches change on the day."""
    day = day or timezone.localdate()
    now = timezone.now()
    total = 0
    while True:
        with transaction.atomic():
            skip = connection.features.has_select_for_update_skip_locked
            ids = list(CreditListEntry.objects.select_for_update(skip_locked=skip)
                       .filter(removed_at__isnull=True, expires_on__lte=day).order_by("pk")
                       .values_list("pk", flat=True)[:_BATCH])
            if not ids:
                return total
            total += _expire(_rows(CreditListEntry.objects.filter(pk__in=ids)), now)
        if len(ids) < _BATCH:
            return total


# --------------------------------------------------------------------------------------------- import


@dataclass(frozen=True)
class RowProblem:
    row: int
    field: str
    value: str
    message: str
    message_en: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "value": self.value, "message": self.message,
                "message_en": self.message_en}


class ImportRejected(ValidationFailed):
    """A file with bad rows: nothing was imported; ``problems`` names every bad row."""

    def __init__(self, problems: list[RowProblem]):
        shown = "；".join(f"第 {p.row} 行 {credit_file.LABELS.get(p.field, p.field)}：{p.message}" for p in problems[:20])
        more = f"（另有 {len(problems) - 20} 处）" if len(problems) > 20 else ""
        super().__init__(f"文件有 {len(problems)} 处错误，未导入任何记录：{shown}{more}",
                         f"{len(problems)} bad row(s); nothing imported", field="file")
        self.problems = problems


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    unchanged: int = 0  # rows identical to a live entry (importing a file twice changes nothing)
    entry_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "created": self.created, "unchanged": self.unchanged}


@transaction.atomic
def credit_list_import(*, actor: User, data: bytes) -> ImportResult:
    """Add the entries of a CSV or XLSX file (统一社会信用代码, 名单类型 红/黑, 认定原因, 认定部门, 认定日期,
    有效期至, 文书号).  Every row is checked first; a file with any bad row changes nothing and
    :class:`ImportRejected` lists every bad row with its number and reason.  A row equal to an entry
    already live is counted as unchanged."""
    require(actor, "credit.manage")
    rows = credit_file.read_rows(data)
    now = timezone.now()
    today = timezone.localdate(now)
    problems: list[RowProblem] = []
    codes = {uscc_codes.normalise(credit_file.text(r.cells.get("uscc"))) for r in rows}
    codes.discard("")
    by_code: dict[str, Enterprise] = {}
    ordered = sorted(codes)
    for i in range(0, len(ordered), _BATCH):
        by_code.update({e.uscc: e for e in Enterprise.objects.filter(uscc__in=ordered[i:i + _BATCH])
                        .only("pk", "uscc", "name")})
    _lock_enterprises(e.pk for e in by_code.values())
    stale = _stale(today, [e.pk for e in by_code.values()]) if by_code else []
    if stale:
        _expire(stale, now)
    live: dict[tuple[int, str, str], CreditListEntry] = {}
    ent_ids = sorted(e.pk for e in by_code.values())
    for i in range(0, len(ent_ids), _BATCH):
        for e in CreditListEntry.objects.filter(enterprise_id__in=ent_ids[i:i + _BATCH], removed_at__isnull=True):
            live[(e.enterprise_id, e.kind, e.reason)] = e
    seen: dict[tuple[int, str, str], int] = {}
    new: list[tuple[Enterprise, _Clean]] = []
    result = ImportResult(rows=len(rows))
    for row in rows:
        raw = row.cells
        code = uscc_codes.normalise(credit_file.text(raw.get("uscc")))
        try:
            if not code:
                raise ValidationFailed("统一社会信用代码不能为空", "the credit code is required", field="uscc")
            ent = by_code.get(code)
            if ent is None:
                check = uscc_codes.check(code)
                if not check.valid:
                    raise ValidationFailed(f"统一社会信用代码无效（{check.reason}）", "invalid credit code",
                                           field="uscc")
                raise ValidationFailed("市场主体库中没有该统一社会信用代码", "no enterprise with this credit code",
                                       field="uscc")
            try:
                listed_on = credit_file.parse_date(raw.get("listed_on"))
            except credit_file.CellError as exc:
                raise ValidationFailed(exc.message, exc.message_en, field="listed_on") from None
            try:
                expires_on = credit_file.parse_date(raw.get("expires_on"))
            except credit_file.CellError as exc:
                raise ValidationFailed(exc.message, exc.message_en, field="expires_on") from None
            c = _clean(kind=credit_file.text(raw.get("kind")), reason=credit_file.text(raw.get("reason")),
                       source=credit_file.text(raw.get("source")), listed_on=listed_on, expires_on=expires_on,
                       document_number=credit_file.text(raw.get("document_number")), today=today)
            key = (ent.pk, c.kind, c.reason)
            if key in seen:
                raise ValidationFailed(f"与第 {seen[key]} 行重复（同一主体、名单类型和认定原因）",
                                       f"repeats row {seen[key]}", field="reason")
            seen[key] = row.number
            existing = live.get(key)
            if existing is not None:
                if (existing.source, existing.document_number, existing.listed_on, existing.expires_on) == (
                        c.source, c.document_number, c.listed_on, c.expires_on):
                    result.unchanged += 1
                    continue
                raise ValidationFailed(f"该主体已有同类型、同原因的有效记录（{existing.listed_on:%Y-%m-%d} 认定），"
                                       "如需更正请先移出", "a live entry for this list and reason exists",
                                       field="reason")
            new.append((ent, c))
        except ValidationFailed as exc:
            problems.append(RowProblem(row.number, exc.field or "", credit_file.text(raw.get(exc.field or "", ""))[:100],
                                       exc.message, exc.message_en))
    if problems:
        raise ImportRejected(problems)
    entries = [CreditListEntry(enterprise=ent, kind=c.kind, reason=c.reason, source=c.source,
                               document_number=c.document_number, listed_on=c.listed_on, expires_on=c.expires_on,
                               created_by=actor) for ent, c in new]
    CreditListEntry.objects.bulk_create(entries, batch_size=_BATCH)
    if entries and entries[0].pk is None:  # a backend that does not return ids
        created = {(e.enterprise_id, e.kind, e.reason): e for e in CreditListEntry.objects.filter(
            enterprise_id__in={e.enterprise_id for e in entries}, removed_at__isnull=True)}
        entries = [created[(e.enterprise_id, e.kind, e.reason)] for e in entries]
    ents = {ent.pk: ent for ent, _c in new}
    audit_record_many(actor=actor, entries=[
        Entry("credit.add", CreditListEntry._meta.label, str(e.pk), _repr(e, ents[e.enterprise_id]), None,
              {**snapshot(e, AUDIT_FIELDS), "import": True}) for e in entries])
    hooks.changed(e.enterprise_id for e in entries)
    result.created = len(entries)
    result.entry_ids = [e.pk for e in entries]
    return result
