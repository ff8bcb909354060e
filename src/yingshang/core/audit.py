"""The hash-chained, append-only audit trail.

``audit_record`` must be called inside the service's transaction: it locks the chain head
(``SELECT … FOR UPDATE`` on PostgreSQL; SQLite serialises writers itself), so records from
several processes get consecutive sequence numbers and each hash covers the previous one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from .db import insert_many
from .models import AuditHead, AuditRecord, User

GENESIS = "0" * 64


def _default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    raise TypeError(f"not serialisable: {type(value)!r}")


def to_json(value: Any) -> Any:
    """Normalise a before/after snapshot into plain JSON values (so the hash is stable)."""
    if value is None:
        return None
    return json.loads(json.dumps(value, default=_default, ensure_ascii=False, sort_keys=True))


def snapshot(instance: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    names = fields or [f.attname for f in instance._meta.concrete_fields]
    return to_json({name: getattr(instance, name) for name in names})


def compute_hash(prev_hash: str, seq: int, at: str, actor_id: int | None, action: str, object_type: str,
                 object_id: str, before: Any, after: Any) -> str:
    payload = json.dumps(
        [prev_hash, seq, at, actor_id, action, object_type, object_id, before, after],
        ensure_ascii=False, sort_keys=True, separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass
class Entry:
    action: str
    object_type: str
    object_id: str
    object_repr: str
    before: Any = None
    after: Any = None


def _lock_head() -> AuditHead:
    head = AuditHead.objects.select_for_update().filter(id=1).first()
    if head is None:  # the very first record
        AuditHead.objects.get_or_create(id=1)
        head = AuditHead.objects.select_for_update().get(id=1)
    return head


def audit_record_many(*, actor: User | None, entries: list[Entry]) -> list[AuditRecord]:
    """Append several records in one go (bulk import); same chain rules as ``audit_record``."""
    if not entries:
        return []
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit records must be written inside the service's transaction")
    head = _lock_head()
    now = timezone.now()
    at = now.isoformat()
    actor_id = actor.pk if actor else None
    actor_repr = (actor.display_name if actor else "system")[:150]
    rows = []
    seq, prev = head.seq, head.hash
    for e in entries:
        seq += 1
        before, after = to_json(e.before), to_json(e.after)
        digest = compute_hash(prev, seq, at, actor_id, e.action, e.object_type, str(e.object_id), before, after)
        rows.append(AuditRecord(
            seq=seq, at=now, actor_id=actor_id, actor_repr=actor_repr, action=e.action,
            object_type=e.object_type, object_id=str(e.object_id), object_repr=e.object_repr[:200],
            before=before, after=after, prev_hash=prev, hash=digest,
        ))
        prev = digest
    insert_many(AuditRecord, rows)
    head.seq, head.hash = seq, prev
    head.save(update_fields=["seq", "hash"])
    return rows


def audit_record(*, actor: User | None, action: str, obj: models.Model | None = None, object_type: str = "",
                 object_id: str = "", object_repr: str = "", before: Any = None, after: Any = None) -> AuditRecord:
    if obj is not None:
        object_type = object_type or obj._meta.label
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)
    return audit_record_many(actor=actor, entries=[Entry(action, object_type, object_id, object_repr, before, after)])[0]


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""


def audit_verify() -> VerifyResult:
    """Re-compute the chain from the start; report the first record that does not match."""
    prev = GENESIS
    expected_seq = 0
    checked = 0
    for rec in AuditRecord.objects.order_by("seq").iterator(chunk_size=2000):
        expected_seq += 1
        if rec.seq != expected_seq:
            return VerifyResult(False, checked, expected_seq, f"记录缺失 / record {expected_seq} missing")
        if rec.prev_hash != prev:
            return VerifyResult(False, checked, rec.seq, "前一哈希不符 / previous hash mismatch")
        digest = compute_hash(prev, rec.seq, rec.at.isoformat(), rec.actor_id, rec.action, rec.object_type,
                              rec.object_id, rec.before, rec.after)
        if digest != rec.hash:
            return VerifyResult(False, checked, rec.seq, "内容被篡改 / content altered")
        prev = rec.hash
        checked += 1
    head = AuditHead.objects.filter(id=1).first()
    if head and (head.seq != expected_seq or head.hash != prev):
        return VerifyResult(False, checked, expected_seq + 1, "链尾记录被删除 / records removed at the end")
    return VerifyResult(True, checked)
