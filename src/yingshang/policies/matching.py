"""The matching engine (精准匹配): every active item's rule over the whole registry, vectorised.

A full run loads the registry once as :class:`~.rules.Columns` (only the fields the active rules
read), evaluates every rule with :func:`~.rules.evaluate_all` (sub-expressions shared between rules
computed once), and compares the pairs found with the stored :class:`~.models.Match` rows item by
item as sorted numpy arrays: only the differences are written — new pairs with ``COPY`` (PostgreSQL),
vanished pairs deleted by id lists, and the rule version of an item's pairs moved on when its rule
changed.  A second run over unchanged data writes nothing.

* :func:`match_all` — every active item (or some: ``items=``) over the registry; matches of items that
  are no longer active are dropped.  Run nightly (``yingshang policies match``) and, for one item,
  whenever its rule changes or it is published (``services``, via a task).
* :func:`rematch_enterprises` — the enterprises whose data changed (import, edit, figures, credit
  lists) against every active item: the other apps call it after their change commits.
* :func:`enterprise_outcomes` — one enterprise against every active item with the scalar evaluator,
  for its pages: eligible (with the amount) and *close* (exactly one condition of the rule's
  top-level conjunction not met or missing).  Close pairs are computed on demand rather than stored:
  at registry scale they outnumber the eligible pairs several times over and are only ever read for
  one enterprise.
* :func:`simulate` — a draft rule and amount formula over the registry before publishing, on columns
  the process keeps for a few minutes; a process's first simulation reads only the columns its rule needs
  (on PostgreSQL on several connections at once), the amount's and the groupings' for the qualified only.

Runs are serialised with an advisory lock (PostgreSQL; SQLite serialises writers itself), so a
nightly run and an enterprise's re-match never interleave their writes.  Newly matched enterprises
with accounts are told once per item (:class:`~.models.MatchNotice`), in-app and on the channels of
``POLICY_PUSH_CHANNELS``.

The reference year of every rule is the current calendar year (``figures.x.last`` = last year).
"""

from __future__ import annotations

import datetime as dt
import struct
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from yingshang.enterprises import industries

from . import credit
from . import rules as R
from .models import BenefitItem, Match, MatchNotice, MatchRun, PolicyDocument, RuleVersion
from .rules import fields as F

IntArray = npt.NDArray[np.int64]
_LOCK_KEY = 0x5953_4D41  # "YSMA": the matching runs' advisory lock


def today() -> dt.date:
    return timezone.localdate()


def reference_year(day: dt.date | None = None) -> int:
    return (day or today()).year


def push_channels() -> tuple[str, ...]:
    """POLICY_PUSH_CHANNELS (default ("sms",)): channels besides the in-app inbox for 精准推送."""
    return tuple(getattr(settings, "POLICY_PUSH_CHANNELS", ("sms",)))


def full_run_threshold() -> int:
    """POLICY_REMATCH_FULL_THRESHOLD (default 200,000): from this many changed enterprises on, a
    re-match reads the whole registry rather than filtering by id."""
    return int(getattr(settings, "POLICY_REMATCH_FULL_THRESHOLD", 200_000))


# --------------------------------------------------------------------------------------------- items


def active_q(day: dt.date | None = None, prefix: str = "") -> Q:
    """Items that take part in matching on ``day``: published, with a rule, under a published document
    in force (effective and not past its expiry date)."""
    day = day or today()
    p = prefix
    return (Q(**{f"{p}status": BenefitItem.Status.PUBLISHED, f"{p}rule__isnull": False,
                 f"{p}document__status": PolicyDocument.Status.PUBLISHED})
            & (Q(**{f"{p}document__effective_on__isnull": True}) | Q(**{f"{p}document__effective_on__lte": day}))
            & (Q(**{f"{p}document__expires_on__isnull": True}) | Q(**{f"{p}document__expires_on__gte": day})))


def active_items(day: dt.date | None = None) -> QuerySet[BenefitItem]:
    return (BenefitItem.objects.filter(active_q(day)).select_related("rule", "document", "department")
            .order_by("id"))


def window_open(item: BenefitItem, day: dt.date | None = None) -> bool:
    day = day or today()
    return (item.window_start is None or item.window_start <= day) and (item.window_end is None or day <= item.window_end)


def reachable(item: BenefitItem, day: dt.date | None = None) -> bool:
    """The enterprise can receive it (免申即享) or apply for it now (window open)."""
    return item.mode == BenefitItem.Mode.AUTO_GRANT or window_open(item, day)


# --------------------------------------------------------------------------------------------- rules

_cache_lock = threading.Lock()
_compiled: dict[tuple[int, int, str], R.Compiled] = {}


def _compile(rv: RuleVersion, kind: str) -> R.Compiled | None:
    source = credit.effective_rule(rv.rule) if kind == "condition" else rv.amount
    if source is None:
        return None
    key = (rv.pk, F.registry_version(), kind)
    found = _compiled.get(key)
    if found is None:
        found = R.compile(source, kind)  # type: ignore[arg-type]
        with _cache_lock:
            if len(_compiled) > 2000:
                _compiled.clear()
            _compiled[key] = found
    return found


def forget_rule_version(rv_id: int) -> None:
    """A rule version id is being used for a new version: drop what this process remembers under it.
    SQLite hands the id of a rolled-back version to the next one; a process that compiled the rolled-back
    version would otherwise keep serving it (the caches are keyed by version id: versions never change)."""
    with _cache_lock:
        for cache in (_compiled, _keys):
            for k in [k for k in cache if k[0] == rv_id]:
                cache.pop(k, None)
        for k in [k for k in _all_keys if rv_id in k[0]]:
            _all_keys.pop(k, None)


def compiled_rule(rv: RuleVersion) -> R.Compiled:
    found = _compile(rv, "condition")
    assert found is not None
    return found


def compiled_amount(rv: RuleVersion) -> R.Compiled | None:
    return _compile(rv, "amount")


def conjuncts(rule: Any) -> list[Any]:
    """The top-level conditions of a rule: the parts of its ``and`` (nested ``and`` s flattened), or the
    rule itself."""
    if isinstance(rule, Mapping) and len(rule) == 1 and "and" in rule:
        args = rule["and"]
        out: list[Any] = []
        for a in args if isinstance(args, list) else [args]:
            out.extend(conjuncts(a))
        return out
    return [rule]


_keys: dict[tuple[int, int, str], frozenset[str]] = {}


def _keys_of(rv_id: int, kind: str, compiled: R.Compiled) -> frozenset[str]:
    key = (rv_id, F.registry_version(), kind)
    found = _keys.get(key)
    if found is None:
        found = _keys[key] = frozenset(compiled.keys())
    return found


_all_keys: dict[tuple[frozenset[int], int], frozenset[str]] = {}


def _keys_of_all(rules: Mapping[int, R.Compiled]) -> frozenset[str]:
    """The column keys of compiled rules by version id (the union remembered: re-matches ask every time)."""
    key = (frozenset(rules), F.registry_version())
    found = _all_keys.get(key)
    if found is None:
        union: set[str] = set()
        for rv_id, rule in rules.items():
            union |= _keys_of(rv_id, "condition", rule)
        found = frozenset(union)
        with _cache_lock:
            if len(_all_keys) > 64:
                _all_keys.clear()
            _all_keys[key] = found
    return found


def keys_of(rvs: Iterable[RuleVersion], *, amounts: bool = False) -> set[str]:
    """The column keys the rules (and amount formulas) read."""
    keys: set[str] = set()
    for rv in rvs:
        keys |= _keys_of(rv.pk, "condition", compiled_rule(rv))
        if amounts and rv.amount is not None:
            amount = compiled_amount(rv)
            if amount is not None:
                keys |= _keys_of(rv.pk, "amount", amount)
    return keys


_active_sql: dict[dt.date, tuple[str, tuple[Any, ...]]] = {}


def _active_rules(day: dt.date | None = None) -> dict[int, int]:
    """{item id: current rule version id} of the active items, without loading the rules (the query is
    built once a day: this runs on every re-match)."""
    day = day or today()
    found = _active_sql.get(day)
    if found is None:
        qs = BenefitItem.objects.filter(active_q(day)).order_by("pk").values_list("pk", "rule_id")
        found = qs.query.sql_with_params()
        with _cache_lock:
            if len(_active_sql) > 16:
                _active_sql.clear()
            _active_sql[day] = found
    with connection.cursor() as cur:
        cur.execute(*found)
        return {int(pk): int(rv) for pk, rv in cur.fetchall()}


def active_rule_keys(day: dt.date | None = None) -> frozenset[str]:
    """Every column key the active items' rules read (one query; the rules and their keys are cached)."""
    return _keys_of_all(_compiled_by_id(v for v in _active_rules(day).values() if v))


def _compiled_by_id(rv_ids: Iterable[int]) -> dict[int, R.Compiled]:
    """Compiled rules by version id: from the cache, reading only the versions not compiled yet."""
    version = F.registry_version()
    out: dict[int, R.Compiled] = {}
    missing = []
    for pk in set(rv_ids):
        found = _compiled.get((pk, version, "condition"))
        if found is None:
            missing.append(pk)
        else:
            out[pk] = found
    if missing:
        for pk, rule in RuleVersion.objects.filter(pk__in=missing).values_list("pk", "rule"):
            out[pk] = R.compile(credit.effective_rule(rule))
            with _cache_lock:
                _compiled[(pk, version, "condition")] = out[pk]
    return out


def evaluate(items: Sequence[BenefitItem], cols: R.Columns) -> dict[int, npt.NDArray[np.bool_]]:
    """Which rows of ``cols`` each item's current rule holds for (vectorised, shared sub-expressions
    computed once)."""
    outcomes = R.evaluate_all({it.pk: compiled_rule(it.rule) for it in items if it.rule is not None}, cols)
    return {pk: o.true for pk, o in outcomes.items()}


# --------------------------------------------------------------------------------------------- storage
# Stored pairs are read as numpy arrays and written with COPY on PostgreSQL; plain SQL elsewhere.

_TABLE = Match._meta.db_table
_EPOCH_2000 = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def _is_pg() -> bool:
    return connection.vendor == "postgresql"


def _lock() -> None:
    if _is_pg():
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])


def _int_width(model_field: Any) -> int:
    target = model_field.target_field if model_field.is_relation else model_field
    return 8 if target.get_internal_type() in ("BigAutoField", "BigIntegerField", "PositiveBigIntegerField") else 4


def _numpy_array_loader() -> type:
    from psycopg import pq
    from psycopg.adapt import Loader

    class Int8ArrayToNumpy(Loader):
        """A binary ``bigint[]`` as a numpy array in one call (no Python int per element)."""

        format = pq.Format.BINARY

        def load(self, data: Any) -> IntArray:
            ndim, _hasnull, _oid = struct.unpack_from(">iii", data, 0)
            if ndim == 0:
                return np.zeros(0, dtype=np.int64)
            n = struct.unpack_from(">i", data, 12)[0]
            rec = np.frombuffer(data, dtype=np.dtype([("l", ">i4"), ("v", ">i8")]), count=n, offset=20)
            return rec["v"].astype(np.int64)

    return Int8ArrayToNumpy


def stored_pairs(item_ids: Sequence[int]) -> dict[int, IntArray]:
    """The stored enterprise ids of each item, sorted."""
    return _stored(item_ids)[0]


def _stored(item_ids: Sequence[int]) -> tuple[dict[int, IntArray], dict[int, tuple[int, int]]]:
    """The stored enterprise ids of each item (sorted) and the range of rule versions its pairs name."""
    pairs: dict[int, IntArray] = {}
    versions: dict[int, tuple[int, int]] = {}
    if not item_ids:
        return pairs, versions
    if _is_pg():
        import psycopg

        connection.ensure_connection()
        # Django's cursors bind parameters client-side, which cannot return binary results
        with psycopg.Cursor(connection.connection) as raw:
            raw.adapters.register_loader(1016, _numpy_array_loader())
            raw.execute(f"SELECT item_id, array_agg(enterprise_id::bigint), min(rule_version_id), max(rule_version_id) "
                        f"FROM {_TABLE} WHERE item_id = ANY(%s) GROUP BY item_id", [list(item_ids)], binary=True)
            for item_id, ids, low, high in raw.fetchall():
                pairs[int(item_id)] = np.sort(ids)
                versions[int(item_id)] = (int(low), int(high))
        return pairs, versions
    found: dict[int, list[int]] = defaultdict(list)
    for item_id, ent, rv in Match.objects.filter(item_id__in=item_ids).values_list(
            "item_id", "enterprise_id", "rule_version_id").iterator(chunk_size=20_000):
        found[item_id].append(ent)
        low, high = versions.get(item_id, (rv, rv))
        versions[item_id] = (min(low, rv), max(high, rv))
    return {k: np.sort(np.asarray(v, dtype=np.int64)) for k, v in found.items()}, versions


def _insert(item_ids: IntArray, ent_ids: IntArray, rv_ids: IntArray, now: dt.datetime) -> None:
    n = len(ent_ids)
    if n == 0:
        return
    if _is_pg():
        widths = [_int_width(Match._meta.get_field(f)) for f in ("item", "enterprise", "rule_version")]
        row = np.dtype([("n", ">i2")] + [x for i, w in enumerate(widths) for x in (
            (f"l{i}", ">i4"), (f"v{i}", f">i{w}"))] + [("l3", ">i4"), ("v3", ">i8")])
        micros = int((now - _EPOCH_2000).total_seconds() * 1_000_000)
        header = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
        sql = f"COPY {_TABLE} (item_id, enterprise_id, rule_version_id, matched_at) FROM STDIN (FORMAT BINARY)"
        step = 500_000
        with connection.cursor() as cur, cur.cursor.copy(sql) as copy:
            copy.write(header)
            for s in range(0, n, step):
                part = slice(s, min(n, s + step))
                rec = np.empty(part.stop - part.start, dtype=row)
                rec["n"] = 4
                for i, (w, values) in enumerate(zip(widths, (item_ids, ent_ids, rv_ids))):
                    rec[f"l{i}"] = w
                    rec[f"v{i}"] = values[part]
                rec["l3"], rec["v3"] = 8, micros
                copy.write(rec.tobytes())
            copy.write(b"\xff\xff")
        return
    stamp = connection.ops.adapt_datetimefield_value(now)
    rows = [(int(i), int(e), int(r), stamp) for i, e, r in zip(item_ids, ent_ids, rv_ids)]
    with connection.cursor() as cur:
        for s in range(0, n, 5000):
            cur.executemany(f"INSERT INTO {_TABLE} (item_id, enterprise_id, rule_version_id, matched_at) "
                            f"VALUES (%s, %s, %s, %s)", rows[s:s + 5000])


def _delete(item_id: int, ent_ids: IntArray) -> None:
    if len(ent_ids) == 0:
        return
    with connection.cursor() as cur:
        if _is_pg():
            cur.execute(f"DELETE FROM {_TABLE} WHERE item_id = %s AND enterprise_id = ANY(%s::bigint[])",
                        [item_id, "{" + ",".join(map(str, ent_ids.tolist())) + "}"])
            return
        for s in range(0, len(ent_ids), 900):
            part = ent_ids[s:s + 900].tolist()
            cur.execute(f"DELETE FROM {_TABLE} WHERE item_id = %s AND enterprise_id IN ({', '.join(['%s'] * len(part))})",
                        [item_id, *part])


def _delete_pairs(pairs: Sequence[tuple[int, int]]) -> None:
    """Delete (item, enterprise) pairs, a few thousand per statement."""
    with connection.cursor() as cur:
        for s in range(0, len(pairs), 5000):
            values = ", ".join(f"({int(i)}, {int(e)})" for i, e in pairs[s:s + 5000])  # integers: nothing to quote
            cur.execute(f"DELETE FROM {_TABLE} WHERE (item_id, enterprise_id) IN (VALUES {values})")


def _move_version(item_id: int, rv_id: int, ent_ids: Sequence[int] | None = None) -> int:
    """Point an item's pairs (or those of some enterprises) at the current rule version."""
    qs = Match.objects.filter(item_id=item_id).exclude(rule_version_id=rv_id)
    if ent_ids is not None:
        qs = qs.filter(enterprise_id__in=list(ent_ids))
    return qs.update(rule_version_id=rv_id)


def _drop_inactive(active_ids: Sequence[int]) -> int:
    with connection.cursor() as cur:
        if active_ids:
            cur.execute(f"DELETE FROM {_TABLE} WHERE item_id NOT IN ({', '.join(['%s'] * len(active_ids))})",
                        list(active_ids))
        else:
            cur.execute(f"DELETE FROM {_TABLE}")
        return max(cur.rowcount, 0)


def drop_matches(item_ids: Sequence[int]) -> int:
    """Remove the pairs of items leaving matching (stopped, document expired); waits for a running
    match so that it cannot write them back."""
    if not item_ids:
        return 0
    _lock()
    with connection.cursor() as cur:
        cur.execute(f"DELETE FROM {_TABLE} WHERE item_id IN ({', '.join(['%s'] * len(item_ids))})", list(item_ids))
        return max(cur.rowcount, 0)


# --------------------------------------------------------------------------------------------- runs


@dataclass
class MatchReport:
    scope: str
    items: int = 0
    enterprises: int = 0
    pairs: int = 0  # eligible pairs found by this run (over its scope)
    inserted: int = 0
    deleted: int = 0
    updated: int = 0
    notified: int = 0
    load_s: float = 0.0
    eval_s: float = 0.0
    persist_s: float = 0.0
    seconds: float = 0.0
    new_pairs: list[tuple[int, int]] = field(default_factory=list, repr=False)  # (item, enterprise), small runs

    @property
    def written(self) -> int:
        return self.inserted + self.deleted + self.updated

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in self.__dict__.items() if k != "new_pairs"}


def match_all(*, items: Iterable[BenefitItem] | None = None, day: dt.date | None = None,
              push: bool = True) -> MatchReport:
    """Match every active item (or the given ones) over the whole registry and persist the changes.

    Called outside a transaction on PostgreSQL, the registry and the stored pairs are read by several
    connections at once (PostgreSQL runs each query on one core) under a session-level advisory lock
    taken before reading, so no other run writes in between; inside a transaction (tests, callers
    with uncommitted data) everything is read on the caller's connection."""
    started, t0 = timezone.now(), time.perf_counter()
    day = day or today()
    active = list(active_items(day))
    active_ids = [it.pk for it in active]
    if items is None:
        target, scope = active, MatchRun.Scope.ALL
    else:
        wanted = {it.pk for it in items}
        target, scope = [it for it in active if it.pk in wanted], MatchRun.Scope.ITEMS
    report = MatchReport(scope=scope, items=len(target))
    keys = keys_of(it.rule for it in target)
    parallel = _is_pg() and not connection.in_atomic_block and bool(target)
    if parallel:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", [_LOCK_KEY])
    try:
        cols: R.Columns | None = None
        stored: Any = None
        if parallel:
            cols, stored = _load_parallel(reference_year(day), keys, [it.pk for it in target], day)
        with transaction.atomic():
            if not parallel:
                _lock()
            if scope == MatchRun.Scope.ALL:
                report.deleted += _drop_inactive(active_ids)
            elif items is not None:
                gone = [pk for pk in {it.pk for it in items} if pk not in set(active_ids)]
                report.deleted += drop_matches(gone)
            if target:
                if cols is None:
                    cols = R.load_columns(reference_year(day), keys=keys, reference_date=day, all_fields=False)
                t1 = time.perf_counter()
                masks = evaluate(target, cols)
                t2 = time.perf_counter()
                report.load_s, report.eval_s, report.enterprises = t1 - t0, t2 - t1, cols.n
                _persist_full(target, cols.ids, masks, report, stored)
                report.persist_s = time.perf_counter() - t2
            if push:
                report.notified = push_new_matches(item_ids=[it.pk for it in target], day=day)
            report.seconds = time.perf_counter() - t0
            MatchRun.objects.create(scope=scope, started_at=started, finished_at=timezone.now(),
                                    reference_year=reference_year(day), items=report.items,
                                    enterprises=report.enterprises, pairs=report.pairs, inserted=report.inserted,
                                    deleted=report.deleted, updated=report.updated, notified=report.notified,
                                    seconds=report.seconds)
    finally:
        if parallel:
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_KEY])
    return report


def _load_parallel(year: int, keys: set[str], item_ids: list[int], day: dt.date) -> tuple[R.Columns, Any]:
    """The registry as columns and the items' stored pairs, read concurrently: the registry by
    :func:`~.rules.columns.read_connections` connections sharing one snapshot, the stored pairs on one more."""
    from concurrent.futures import ThreadPoolExecutor

    def stored() -> Any:
        try:
            return _stored(item_ids)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pairs = pool.submit(stored)
        cols = R.load_columns(year, keys=keys, reference_date=day, all_fields=False, parallel=True)
        return cols, pairs.result()


def _persist_full(items: Sequence[BenefitItem], ids: IntArray, masks: Mapping[int, npt.NDArray[np.bool_]],
                  report: MatchReport, stored: Any = None) -> None:
    pairs, versions = stored if stored is not None else _stored([it.pk for it in items])
    now = timezone.now()
    ins_items: list[IntArray] = []
    ins_ents: list[IntArray] = []
    ins_rvs: list[IntArray] = []
    for it in items:
        new = ids[masks[it.pk]]  # ids are sorted: so is every subset
        old = pairs.get(it.pk, np.zeros(0, dtype=np.int64))
        report.pairs += len(new)
        added = np.setdiff1d(new, old, assume_unique=True)
        removed = np.setdiff1d(old, new, assume_unique=True)
        _delete(it.pk, removed)
        report.deleted += len(removed)
        if len(old) > len(removed) and versions.get(it.pk, (it.rule_id, it.rule_id)) != (it.rule_id, it.rule_id):
            report.updated += _move_version(it.pk, it.rule_id)  # type: ignore[arg-type]
        if len(added):
            ins_items.append(np.full(len(added), it.pk, dtype=np.int64))
            ins_ents.append(added)
            ins_rvs.append(np.full(len(added), it.rule_id, dtype=np.int64))
    if ins_ents:
        _insert(np.concatenate(ins_items), np.concatenate(ins_ents), np.concatenate(ins_rvs), now)
        report.inserted += sum(len(a) for a in ins_ents)


def rematch_enterprises(enterprise_ids: Iterable[int], *, day: dt.date | None = None,
                        push: bool = True) -> MatchReport:
    """Re-match enterprises whose data changed against every active item; persist the changes.

    The enterprises app calls it after an import, an edit or new figures commit, the credit app after
    a red/black-list change — with the ids of the enterprises concerned.  Ids of deleted enterprises
    simply lose their matches.  Very large sets read the whole registry (:func:`match_all`)."""
    ids = sorted({int(i) for i in enterprise_ids})
    if not ids:
        return MatchReport(scope=MatchRun.Scope.ENTERPRISES)
    if len(ids) >= full_run_threshold():
        return match_all(day=day, push=push)
    t0 = time.perf_counter()
    day = day or today()
    current = _active_rules(day)  # item → rule version
    rules = _compiled_by_id(current.values())
    report = MatchReport(scope=MatchRun.Scope.ENTERPRISES, items=len(current))
    with transaction.atomic():
        _lock()
        keys = _keys_of_all(rules)
        found: set[tuple[int, int]] = set()
        n = 0
        if current:
            cols = R.load_columns(reference_year(day), ids, keys=keys, reference_date=day, all_fields=False)
            n = cols.n
            t1 = time.perf_counter()
            if cols.n <= 64:  # a few enterprises: the scalar interpreter on each one's facts
                for row in range(cols.n):
                    facts = cols.facts_at(row)
                    eid = int(cols.ids[row])
                    for item_id, rv_id in current.items():
                        if rules[rv_id].one(facts) is R.Tri.TRUE:
                            found.add((item_id, eid))
            else:
                outcomes = R.evaluate_all({item_id: rules[rv_id] for item_id, rv_id in current.items()}, cols)
                for item_id, o in outcomes.items():
                    found.update((item_id, int(e)) for e in cols.ids[o.true])
            report.load_s, report.eval_s = t1 - t0, time.perf_counter() - t1
        report.enterprises, report.pairs = n, len(found)
        t2 = time.perf_counter()
        item_ids = list(current)
        stored: dict[tuple[int, int], int] = {}
        if item_ids:
            items_sql = ", ".join(map(str, item_ids))  # integers from the database: no parameters to quote
            with connection.cursor() as cur:
                for s in range(0, len(ids), 5000):
                    ents_sql = ", ".join(map(str, ids[s:s + 5000]))
                    cur.execute(f"SELECT item_id, enterprise_id, rule_version_id FROM {_TABLE} "
                                f"WHERE item_id IN ({items_sql}) AND enterprise_id IN ({ents_sql})")
                    stored.update(((int(i), int(e)), int(rv)) for i, e, rv in cur.fetchall())
        added = sorted(found - stored.keys())
        removed = sorted(stored.keys() - found)
        _delete_pairs(removed)
        report.deleted += len(removed)
        moved: dict[int, list[int]] = defaultdict(list)
        for (i, e), rv in stored.items():
            if (i, e) in found and rv != current[i]:
                moved[i].append(e)
        for i, ents in moved.items():
            report.updated += _move_version(i, current[i], ents)
        if added:
            arr = np.asarray(added, dtype=np.int64)
            _insert(arr[:, 0], arr[:, 1], np.asarray([current[i] for i, _e in added], dtype=np.int64), timezone.now())
            report.inserted += len(added)
        report.new_pairs = added
        report.persist_s = time.perf_counter() - t2
        if push and added:
            report.notified = push_new_matches(item_ids=sorted({i for i, _e in added}),
                                               enterprise_ids=sorted({e for _i, e in added}), day=day)
    report.seconds = time.perf_counter() - t0
    return report


def rematch_on_commit(enterprise_ids: Iterable[int]) -> None:
    """Schedule :func:`rematch_enterprises` for after the current transaction commits (as a task)."""
    ids = sorted({int(i) for i in enterprise_ids})
    if not ids:
        return

    def run() -> None:
        from .tasks import rematch_enterprises_task

        rematch_enterprises_task.enqueue(enterprise_ids=ids)

    transaction.on_commit(run)


# --------------------------------------------------------------------------------------------- push


def push_new_matches(*, item_ids: Sequence[int] | None = None, enterprise_ids: Sequence[int] | None = None,
                     day: dt.date | None = None) -> int:
    """精准推送: tell each enterprise with an account about the items it matches and has not been told
    about — only items it can receive (免申即享) or apply for now — once per item, ever.  One message per
    person per run; returns the number of (enterprise, item) pairs told."""
    from yingshang.core.models import Role, User
    from yingshang.core.services import notify

    day = day or today()
    # the people first: most re-matched enterprises have no account, and then nothing else is read
    users = User.objects.filter(role=Role.ENTERPRISE, is_active=True, enterprise__isnull=False)
    if enterprise_ids is not None:
        users = users.filter(enterprise_id__in=list(enterprise_ids))
    people: dict[int, list[User]] = defaultdict(list)
    for u in users:
        people[u.enterprise_id].append(u)  # type: ignore[index]
    if not people:
        return 0
    found = active_items(day)
    if item_ids is not None:
        found = found.filter(pk__in=list(item_ids))
    items = {it.pk: it for it in found if reachable(it, day)}
    if not items:
        return 0
    told = set(MatchNotice.objects.filter(enterprise_id__in=list(people), item_id__in=list(items))
               .values_list("enterprise_id", "item_id"))
    pending: dict[int, list[BenefitItem]] = defaultdict(list)
    for item_id, ent in Match.objects.filter(item_id__in=list(items), enterprise_id__in=list(people)).values_list(
            "item_id", "enterprise_id"):
        if (ent, item_id) not in told:
            pending[ent].append(items[item_id])
    if not pending:
        return 0
    now = timezone.now()
    MatchNotice.objects.bulk_create([MatchNotice(enterprise_id=ent, item_id=it.pk, notified_at=now)
                                     for ent, its in pending.items() for it in its], ignore_conflicts=True)
    for ent, its in pending.items():
        its.sort(key=lambda it: it.code)
        if len(its) == 1:
            it = its[0]
            title = f"您符合惠企政策「{it.name}」的条件（{it.get_mode_display()}）"
        else:
            title = f"您符合 {len(its)} 项惠企政策的条件"
        body = "；".join(f"{it.name}（{it.get_mode_display()}）：{_how(it)}" for it in its)
        notify(recipients=people[ent], title=title[:200], body=body, url="/policies/mine/", channels=push_channels())
    return sum(len(v) for v in pending.values())


def _how(item: BenefitItem) -> str:
    if item.mode == BenefitItem.Mode.AUTO_GRANT:
        return "无需申请，经部门审核和公示后直接兑现"
    if item.mode == BenefitItem.Mode.INSTANT:
        return "在线申请，条件满足即时核准"
    end = f"，截止 {item.window_end}" if item.window_end else ""
    return f"请在申报期内提交申报{end}"


# --------------------------------------------------------------------------------------------- one enterprise


@dataclass(frozen=True)
class Gap:
    """The one condition an enterprise misses for an item."""

    index: int  # position among the rule's top-level conditions
    text_zh: str
    text_en: str
    state: R.Tri  # FALSE (不满足) or UNKNOWN (数据缺失)


@dataclass
class EnterpriseOutcome:
    item: BenefitItem
    state: R.Tri
    amount_fen: int | None = None  # eligible: the amount formula on the current data
    gap: Gap | None = None  # close: the one condition missing


def enterprise_facts(enterprise_id: int, keys: Iterable[str], day: dt.date | None = None) -> dict[str, Any] | None:
    cols = R.load_columns(reference_year(day), [enterprise_id], keys=keys)
    if cols.n == 0:
        return None
    return cols.facts_at(0)


def _conjunct_compiled(rv: RuleVersion) -> list[R.Compiled]:
    key = (rv.pk, F.registry_version(), "conjuncts")
    found = _compiled.get(key)
    if found is None:
        found = [R.compile(c) for c in conjuncts(credit.effective_rule(rv.rule))]
        with _cache_lock:
            _compiled[key] = found  # type: ignore[assignment]
    return found  # type: ignore[return-value]


def outcome_for(item: BenefitItem, facts: Mapping[str, Any], labels: R.Labels | None = None) -> EnterpriseOutcome:
    """One item for one enterprise's facts: eligible (with amount), close (with the gap) or not."""
    rv = item.rule
    assert rv is not None
    state = compiled_rule(rv).one(facts)
    if state is R.Tri.TRUE:
        amount = compiled_amount(rv)
        return EnterpriseOutcome(item, state, amount.value_one(facts) if amount is not None else None)
    parts = _conjunct_compiled(rv)
    if len(parts) >= 2:
        states = [p.one(facts) for p in parts]
        missing = [i for i, s in enumerate(states) if s is not R.Tri.TRUE]
        if len(missing) == 1:
            i = missing[0]
            cond = conjuncts(credit.effective_rule(rv.rule))[i]
            return EnterpriseOutcome(item, state, gap=Gap(i, R.describe(cond, labels=labels),
                                                          R.describe_en(cond, labels=labels), states[i]))
    return EnterpriseOutcome(item, state)


def enterprise_outcomes(enterprise_id: int, *, day: dt.date | None = None,
                        items: Sequence[BenefitItem] | None = None) -> list[EnterpriseOutcome]:
    """Every active item (or the given ones) for one enterprise, on its current data."""
    items = list(items) if items is not None else list(active_items(day))
    items = [it for it in items if it.rule is not None]
    if not items:
        return []
    facts = enterprise_facts(enterprise_id, keys_of((it.rule for it in items), amounts=True), day)  # type: ignore[misc]
    if facts is None:
        return []
    labels = R.db_labels()
    return [outcome_for(it, facts, labels) for it in items]


# --------------------------------------------------------------------------------------------- simulation

_registry_lock = threading.Lock()
_registry: dict[str, Any] = {}


def simulation_cache_seconds() -> float:
    """POLICY_SIMULATION_CACHE_SECONDS (default 600): how long a process reuses the registry columns it
    loaded for simulations (a simulation is an estimate; a change to a few enterprises in the meantime
    does not move it)."""
    return float(getattr(settings, "POLICY_SIMULATION_CACHE_SECONDS", 600))


def _registry_snapshot(keys: Iterable[str], *, day: dt.date | None = None,
                       max_age: float | None = None) -> tuple[R.Columns, dt.datetime]:
    """The registry columns for simulations and when they were read (the first of them).

    A process reads only the columns its simulations need — the first one those of its rule, later ones
    add theirs — so that the first simulation after a start does not wait for the whole registry (the
    amount and the groupings are read for the qualified enterprises only, see :func:`_qualified`).  On
    PostgreSQL the columns are read by several connections sharing one snapshot
    (:func:`~.rules.columns.read_connections`).  Kept for ``max_age`` seconds."""
    year = reference_year(day)
    ref_date = day or today()
    max_age = simulation_cache_seconds() if max_age is None else max_age
    keys = set(keys)
    with _registry_lock:
        cached = _registry.get("cols")
        if (cached is None or _registry.get("day") != (year, ref_date)
                or time.monotonic() - _registry["at"] > max_age):
            loaded_at = timezone.now()
            cached = R.load_columns(year, keys=keys, reference_date=ref_date, all_fields=False, parallel=True)
            _registry.update(cols=cached, day=(year, ref_date), at=time.monotonic(), loaded_at=loaded_at)
        else:
            cached.ensure(keys)
        return cached, _registry["loaded_at"]


def registry_columns(keys: Iterable[str], *, day: dt.date | None = None, max_age: float | None = None) -> R.Columns:
    """The whole registry as columns for simulations, kept in this process for ``max_age`` seconds;
    further keys load lazily into the cached columns."""
    return _registry_snapshot(keys, day=day, max_age=max_age)[0]


_BY_ID = 10_000  # up to this many qualified enterprises, their further columns are read by id


def _qualified(cols: R.Columns, which: npt.NDArray[np.bool_], keys: Iterable[str], *, cached: bool) -> R.Columns:
    """The columns of the enterprises ``which`` selects, with ``keys``: taken from ``cols`` when it has them,
    else read by id for a few thousand enterprises, or for the whole registry into ``cols`` (the cached
    registry columns when ``cached``) for more."""
    keys = list(keys)
    if int(np.count_nonzero(which)) > _BY_ID and any(k not in cols for k in keys):
        if cached:
            with _registry_lock:
                cols.ensure(keys)
        else:
            cols.ensure(keys)
    sub = cols.subset(which)
    sub.ensure(keys)
    return sub


def drop_registry_cache() -> None:
    with _registry_lock:
        _registry.clear()


@dataclass
class Group:
    key: str
    label: str
    count: int
    amount_fen: int


@dataclass
class Simulation:
    enterprises: int  # registry size
    qualified: int
    unknown: int  # the rule cannot be decided for lack of data
    close: int  # exactly one top-level condition missing
    total_fen: int  # sum of the computable amounts of the qualified
    amount_unknown: int  # qualified whose amount cannot be computed (data missing)
    budget_fen: int | None
    by_township: list[Group]
    by_industry: list[Group]
    by_size: list[Group]
    sample: list[dict[str, Any]]
    reference_year: int
    data_as_of: dt.datetime | None
    seconds: float = 0.0

    @property
    def over_budget(self) -> bool:
        return self.budget_fen is not None and self.total_fen > self.budget_fen

    @property
    def budget_left_fen(self) -> int | None:
        return None if self.budget_fen is None else self.budget_fen - self.total_fen


def _groups(codes: npt.NDArray[Any], vocab: Sequence[Any], known: npt.NDArray[np.bool_], fen: IntArray,
            labels: Sequence[tuple[str, str]]) -> list[Group]:
    """Counts and amount sums per category (int64 sums: money never goes through floats)."""
    size = len(vocab) + 1  # the last slot: unknown
    idx = np.where(known, codes.astype(np.int64), len(vocab))
    counts = np.bincount(idx, minlength=size)
    sums = np.zeros(size, dtype=np.int64)
    np.add.at(sums, idx, fen)
    out = [Group(key, label, int(counts[i]), int(sums[i])) for i, (key, label) in enumerate(labels) if counts[i]]
    if counts[-1]:
        out.append(Group("", "未知", int(counts[-1]), int(sums[-1])))
    return sorted(out, key=lambda g: (-g.count, g.key))


def simulate(*, rule: Any, amount: Any = None, budget_fen: int | None = None, sample_size: int = 20,
             day: dt.date | None = None, columns: R.Columns | None = None) -> Simulation:
    """A draft rule and amount formula over the registry: how many qualify, which, by township, industry
    section and size class, and the cost against the budget.  Raises ``RuleInvalid`` for a bad rule."""
    from yingshang.enterprises.models import Enterprise

    t0 = time.perf_counter()
    R.ensure_valid(rule, "condition")
    if amount is not None:
        R.ensure_valid(amount, "amount")
    effective = credit.effective_rule(rule)  # and not on the credit black list, as matching evaluates it
    cond = R.compile(effective)
    amt = R.compile(amount, "amount") if amount is not None else None
    parts = [R.compile(c) for c in conjuncts(effective)]
    as_of: dt.datetime | None = None
    if columns is not None:
        cols = columns
    else:
        cols, as_of = _registry_snapshot(cond.keys(), day=day)
    outcomes = R.evaluate_all({("rule", 0): cond, **{("part", i): p for i, p in enumerate(parts)}}, cols)
    true = outcomes[("rule", 0)].true
    close = 0
    if len(parts) >= 2:
        missing = np.zeros(cols.n, dtype=np.uint8)
        for i in range(len(parts)):
            missing += ~outcomes[("part", i)].true
        close = int(np.count_nonzero(missing == 1))
    # the amount and the groupings are needed for the qualified only
    sub = _qualified(cols, true, (amt.keys() if amt else set()) | {"township", "industry_code", "size_class"},
                     cached=columns is None)
    if amt is not None and sub.n:
        fen, fen_known = R.amount(amt, sub)
        fen = np.where(fen_known, fen, 0)
    else:
        fen, fen_known = np.zeros(sub.n, dtype=np.int64), np.zeros(sub.n, dtype=np.bool_)
    labels = R.db_labels()
    town = sub.column("township")
    town_vocab = town.vocab or ()
    by_township = _groups(town.values, town_vocab, town.known, fen,
                          [(c, (labels.label("township", c) or (c, c))[0]) for c in town_vocab])
    ind = sub.column("industry_code")
    sections = sorted({industries.section_of(c) or "" for c in (ind.vocab or ()) if c})
    sec_index = {s: i for i, s in enumerate(sections)}
    sec_codes = np.asarray([sec_index.get(industries.section_of(c) or "", 0) if c else 0 for c in (ind.vocab or ())]
                           or [0], dtype=np.int64)
    ind_codes = sec_codes[ind.values.astype(np.int64)] if sub.n else np.zeros(0, dtype=np.int64)
    by_industry = _groups(ind_codes, sections, ind.known, fen,
                          [(s, _section_name(s)) for s in sections])
    size = sub.column("size_class")
    by_size = _groups(size.values, size.vocab or (), size.known, fen, [(s, s) for s in (size.vocab or ())])
    sample_ids = [int(i) for i in sub.ids[:sample_size]]
    names = dict(Enterprise.objects.filter(pk__in=sample_ids).values_list("pk", "name"))
    fen_by_id = {int(i): (int(f) if k else None) for i, f, k in zip(sub.ids[:sample_size], fen[:sample_size],
                                                                    fen_known[:sample_size])}
    sample = [{"id": i, "name": names.get(i, ""), "amount_fen": fen_by_id[i]} for i in sample_ids]
    return Simulation(
        enterprises=cols.n, qualified=int(true.sum()), unknown=int(outcomes[("rule", 0)].unknown.sum()), close=close,
        total_fen=int(fen.sum()), amount_unknown=int((~fen_known).sum()) if amt is not None else 0,
        budget_fen=budget_fen, by_township=by_township, by_industry=by_industry, by_size=by_size, sample=sample,
        reference_year=cols.reference_year or reference_year(day),
        data_as_of=as_of, seconds=time.perf_counter() - t0)


def _section_name(section: str) -> str:
    found = industries.get(section) if section else None
    return f"{found.name}（{section}）" if found else (section or "未知")
