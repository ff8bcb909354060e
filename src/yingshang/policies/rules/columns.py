"""The registry as columns, for the vectorised evaluator.

A :class:`Column` is a numpy array of values plus a boolean ``known`` mask (False = missing data):

* numbers and integers: ``int64`` micro-units (6 decimal places; for 万元 one unit is one fen);
* bools: ``bool``;
* dates: ``int64`` days since 1970-01-01;
* text, enums and codes: small unsigned category codes into a ``vocab`` tuple of the distinct values,
  so that ``in`` and ``prefix`` test each distinct value once and then index.

Values at missing rows are zero, so arithmetic on them never overflows or divides by zero.

:class:`Columns` holds the columns of one set of enterprises (by key, see :mod:`.fields`), builds them
from Python dicts (:meth:`Columns.from_records`, for tests and small sets) or from the database
(:func:`load_columns`), loads further columns lazily (cross-module facts through their loaders), and
gives one enterprise's facts back as a dict for the scalar evaluator (:meth:`Columns.facts_for`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from . import fields as F
from .fields import Field, FieldType, Source
from .grammar import SCALE, from_days, from_micro, to_days, to_micro

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
#: ``loader(key, enterprise_ids)``: a column not loaded yet, or None.
Loader = Callable[[str, IntArray], "Column | None"]


def _code_dtype(size: int) -> type[np.unsignedinteger[Any]] | type[np.int32]:
    if size <= 1 << 8:
        return np.uint8
    if size <= 1 << 16:
        return np.uint16
    return np.int32


class Column:
    """Values, a ``known`` mask and, for categorical columns, the vocabulary."""

    __slots__ = ("values", "known", "vocab", "all_known")

    def __init__(self, values: npt.NDArray[Any], known: npt.ArrayLike, vocab: tuple[Any, ...] | None = None):
        known_arr = np.asarray(known, dtype=np.bool_)
        if known_arr.shape != values.shape:
            raise ValueError("values and known differ in length")
        self.all_known = bool(known_arr.all())
        if not self.all_known and vocab is None:
            values = np.where(known_arr, values, np.zeros((), dtype=values.dtype))
        self.values = values
        self.known = known_arr
        self.vocab = vocab

    def __len__(self) -> int:
        return len(self.values)

    def take(self, idx: npt.NDArray[np.intp]) -> Column:
        return Column(self.values[idx], self.known[idx], self.vocab)

    @classmethod
    def missing(cls, n: int, field: Field) -> Column:
        if field.type.categorical:
            return cls(np.zeros(n, dtype=np.uint8), np.zeros(n, dtype=np.bool_), ())
        dtype = np.bool_ if field.type is FieldType.BOOL else np.int64
        return cls(np.zeros(n, dtype=dtype), np.zeros(n, dtype=np.bool_))

    @classmethod
    def from_values(cls, field: Field, values: Sequence[Any], present: Sequence[bool] | None = None) -> Column:
        """Convert Python values (None = missing; for nullable fields ``present`` tells a known None from
        missing) exactly as the scalar evaluator reads them."""
        n = len(values)
        t = field.type
        if t.categorical:
            index: dict[Any, int] = {}
            codes = np.zeros(n, dtype=np.int64)
            known = np.zeros(n, dtype=np.bool_)
            for i, v in enumerate(values):
                ok = present[i] if (field.nullable and present is not None) else v is not None
                if ok:
                    known[i] = True
                    codes[i] = index.setdefault(v, len(index))
            return cls(codes.astype(_code_dtype(len(index))), known, tuple(index))
        if t is FieldType.BOOL:
            known = np.fromiter((v is not None for v in values), dtype=np.bool_, count=n)
            return cls(np.fromiter((bool(v) for v in values), dtype=np.bool_, count=n), known)
        conv = to_days if t is FieldType.DATE else to_micro
        converted = [conv(v) for v in values]
        known = np.fromiter((c is not None for c in converted), dtype=np.bool_, count=n)
        return cls(np.fromiter((c or 0 for c in converted), dtype=np.int64, count=n), known)

    def python(self, i: int, field: Field) -> tuple[bool, Any]:
        """(known, Python value) of row ``i``, the form the scalar evaluator takes."""
        if not self.known[i]:
            return False, None
        v = self.values[i]
        t = field.type
        if self.vocab is not None:
            return True, self.vocab[int(v)]
        if t is FieldType.BOOL:
            return True, bool(v)
        if t is FieldType.DATE:
            return True, from_days(int(v))
        micro = int(v)
        if t is FieldType.INTEGER and micro % SCALE == 0:
            return True, micro // SCALE
        return True, from_micro(micro)


class Columns:
    """Columns of a set of enterprises (``ids``), by canonical field key."""

    def __init__(self, ids: npt.ArrayLike, columns: Mapping[str, Column] | None = None, *,
                 reference_year: int | None = None, loader: Loader | None = None, load_facts: bool = False):
        self.ids: IntArray = np.asarray(ids, dtype=np.int64)
        self.n = len(self.ids)
        self.reference_year = reference_year
        self._cols: dict[str, Column] = {}
        self._loader = loader
        self._load_facts = load_facts
        self._order: npt.NDArray[np.intp] | None = None
        for key, col in (columns or {}).items():
            self.add(key, col)

    # building -------------------------------------------------------------------------------------------------

    def add(self, key: str, column: Column) -> None:
        field = F.resolve(key)
        if field is None:
            raise KeyError(f"unknown field {key!r}")
        if len(column) != self.n:
            raise ValueError(f"column {key!r} has {len(column)} rows, expected {self.n}")
        self._cols[field.key] = column

    @classmethod
    def from_records(cls, records: Sequence[Mapping[str, Any]], *, ids: npt.ArrayLike | None = None,
                     keys: Iterable[str] = (), reference_year: int | None = None) -> Columns:
        """Columns from fact dicts (the form :meth:`facts_for` returns).  A key absent from a record is
        missing data for that enterprise; ``keys`` adds columns even if no record has them."""
        canon: list[dict[str, Any]] = []
        wanted: dict[str, Field] = {}
        for key in keys:
            field = F.resolve(key)
            if field is None:
                raise KeyError(f"unknown field {key!r}")
            wanted[field.key] = field
        for rec in records:
            row: dict[str, Any] = {}
            for key, value in rec.items():
                field = F.resolve(key)
                if field is None:
                    raise KeyError(f"unknown field {key!r}")
                wanted[field.key] = field
                row[field.key] = value
            canon.append(row)
        n = len(canon)
        out = cls(np.arange(n) if ids is None else ids, reference_year=reference_year)
        for key, field in wanted.items():
            values = [r.get(key) for r in canon]
            present = [key in r for r in canon] if field.nullable else None
            out.add(key, Column.from_values(field, values, present))
        return out

    # reading --------------------------------------------------------------------------------------------------

    def __contains__(self, key: str) -> bool:
        field = F.resolve(key)
        return field is not None and field.key in self._cols

    def keys(self) -> list[str]:
        return list(self._cols)

    def column(self, key: str) -> Column:
        """The column for ``key``, loading it (database loader, fact loader) when needed; a column of
        missing values when nothing provides it."""
        col = self._cols.get(key)
        if col is not None:
            return col
        field = F.resolve(key)
        if field is None:
            raise KeyError(f"unknown field {key!r}")
        col = self._cols.get(field.key)
        if col is not None:
            return col
        if self._loader is not None:
            col = self._loader(field.key, self.ids)
        if col is None and field.source is Source.FACT and self._load_facts:
            col = load_fact(field, self.ids)
        if col is None:
            col = Column.missing(self.n, field)
        self.add(field.key, col)
        return col

    def ensure(self, keys: Iterable[str]) -> None:
        for key in keys:
            self.column(key)

    def rows_of(self, enterprise_ids: npt.ArrayLike) -> npt.NDArray[np.intp]:
        """Row numbers of enterprise ids (KeyError if one is absent)."""
        wanted = np.atleast_1d(np.asarray(enterprise_ids, dtype=np.int64))
        if self._order is None:
            self._order = np.argsort(self.ids, kind="stable")
        sorted_ids = self.ids[self._order]
        pos = np.searchsorted(sorted_ids, wanted)
        pos = np.minimum(pos, max(self.n - 1, 0))
        if self.n == 0 or not np.array_equal(sorted_ids[pos], wanted):
            raise KeyError("enterprise id not in these columns")
        return self._order[pos]

    def subset(self, which: npt.ArrayLike) -> Columns:
        """The rows of a boolean mask, or of a list of enterprise ids (in that order)."""
        arr = np.asarray(which)
        idx = np.flatnonzero(arr) if arr.dtype == np.bool_ else self.rows_of(arr)
        out = Columns(self.ids[idx], reference_year=self.reference_year, loader=self._loader,
                      load_facts=self._load_facts)
        out._cols = {k: c.take(idx) for k, c in self._cols.items()}
        return out

    def facts_at(self, row: int, keys: Iterable[str] | None = None) -> dict[str, Any]:
        """Row ``row`` as a fact dict: missing values are left out (a nullable field's known None stays)."""
        if keys is not None:
            self.ensure(keys)
        out: dict[str, Any] = {}
        for key, col in self._cols.items():
            field = F.resolve(key)
            assert field is not None
            known, value = col.python(row, field)
            if known:
                out[key] = value
        return out

    def facts_for(self, enterprise_id: int, keys: Iterable[str] | None = None) -> dict[str, Any]:
        return self.facts_at(int(self.rows_of([enterprise_id])[0]), keys)

    @property
    def nbytes(self) -> int:
        return int(self.ids.nbytes + sum(c.values.nbytes + c.known.nbytes for c in self._cols.values()))


# --- facts from other apps ------------------------------------------------------------------------------------


def load_fact(field: Field, ids: IntArray) -> Column:
    """Ask the fact's loader for ``ids``; a sparse mapping is filled with the fact's default."""
    hit = F.fact_for(field.key)
    assert hit is not None, field.key
    fact, param = hit
    result = fact.loader(ids, param)
    if isinstance(result, Column):
        if len(result) != len(ids):
            raise ValueError(f"fact loader for {field.key!r} returned {len(result)} rows, expected {len(ids)}")
        return result
    n = len(ids)
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    eids = np.fromiter((int(k) for k in result), dtype=np.int64, count=len(result))
    pos = np.minimum(np.searchsorted(sorted_ids, eids), max(n - 1, 0))
    hit_mask = (sorted_ids[pos] == eids) if n else np.zeros(len(eids), dtype=np.bool_)
    col = Column.from_values(field, [fact.default, *result.values()])
    values = np.full(n, col.values[0], dtype=col.values.dtype)
    known = np.full(n, col.known[0], dtype=np.bool_)
    rows = order[pos[hit_mask]]
    values[rows] = col.values[1:][hit_mask]
    known[rows] = col.known[1:][hit_mask]
    return Column(values, known, col.vocab)


# --- derived values ----------------------------------------------------------------------------------------------


def full_years_between(start: dt.date, ref: dt.date) -> int:
    """Completed years from ``start`` to ``ref`` (an enterprise registered 2023-03-01 is 2 full years old on
    2025-03-01, 1 on 2025-02-28)."""
    return ref.year - start.year - ((ref.month, ref.day) < (start.month, start.day))


def full_years(days: IntArray, ref: dt.date) -> IntArray:
    """:func:`full_years_between` over an array of days since 1970-01-01."""
    d = days.astype("datetime64[D]")
    month_start = d.astype("datetime64[M]")
    year = d.astype("datetime64[Y]").astype(np.int64) + 1970
    month = month_start.astype(np.int64) % 12 + 1
    day = (d - month_start).astype(np.int64) + 1
    return np.asarray(ref.year - year - ((ref.month * 100 + ref.day) < (month * 100 + day)), dtype=np.int64)


# --- from the database ---------------------------------------------------------------------------------------------

_CHUNK = 100_000
_ID_CHUNK = 900  # SQLite's host-parameter limit, conservatively
_NULL = -9_000_000_000_000_000_000  # stands for SQL NULL in integer results (real values stay within ±10^18)

# Every column is selected as a non-NULL integer, so that each chunk of rows becomes an int64 matrix in
# one numpy call: per-cell Python work is what makes reading a million rows slow.


def _money_sql(col: str) -> str:
    """Micro-units of a 万元 decimal column (beyond ±10^12 counts as missing)."""
    return f"COALESCE(CASE WHEN ABS({col}) <= 1000000000000 THEN CAST(ROUND({col} * 1000000) AS BIGINT) END, {_NULL})"


def _int_sql(col: str) -> str:
    return f"COALESCE({col}, {_NULL})"


def _flag_sql(cond: str) -> str:
    return f"(CASE WHEN {cond} THEN 1 ELSE 0 END)"


def _choice_sql(col: str, field: Field) -> str:
    """The index of the value among the field's choices, -1 for blank or unknown values."""
    whens = " ".join(f"WHEN '{c.value}' THEN {i}" for i, c in enumerate(field.choices))
    return f"(CASE {col} {whens} ELSE -1 END)"


def _vendor_sql(vendor: str) -> tuple[Callable[[str], str], Callable[[str], str]]:
    """(days since 1970-01-01 of a date column, 4-digit test of a text column) in the backend's dialect."""
    if vendor == "sqlite":
        return (lambda col: f"CAST(julianday({col}) - 2440587.5 AS INTEGER)",
                lambda col: f"{col} GLOB '[0-9][0-9][0-9][0-9]'")
    if vendor == "postgresql":
        return (lambda col: f"({col} - DATE '1970-01-01')", lambda col: f"{col} ~ '^[0-9]{{4}}$'")
    raise NotImplementedError(f"load_columns supports SQLite and PostgreSQL, not {vendor}")


def _fetch_ints(sql: str, width: int, id_column: str, ids: Sequence[int] | None) -> npt.NDArray[np.int64]:
    """An all-integer query as an (rows × width) int64 matrix.  ``sql`` has a ``{where}`` placeholder,
    filled with an ``id_column IN (…)`` filter one batch of ``ids`` at a time (``1=1`` for all rows)."""
    from django.db import connection

    if ids is None and connection.vendor == "postgresql":
        return _copy_ints(sql.replace("{where}", "1=1"), width)
    batches: list[Sequence[int] | None] = [None] if ids is None else [
        ids[i:i + _ID_CHUNK] for i in range(0, len(ids), _ID_CHUNK)]
    parts = [np.zeros((0, width), dtype=np.int64)]
    for batch in batches:
        where = "1=1" if batch is None else f"{id_column} IN ({', '.join(['%s'] * len(batch))})"
        with connection.cursor() as cur:
            cur.execute(sql.replace("{where}", where), list(batch or []))
            while rows := cur.fetchmany(_CHUNK):
                parts.append(np.array(rows, dtype=np.int64).reshape(len(rows), width))
    return np.concatenate(parts)


_COPY_HEADER = 19  # PGCOPY signature (11 bytes), flags (4), header extension length (4)


def _copy_ints(sql: str, width: int) -> npt.NDArray[np.int64]:
    """The whole-table read of :func:`_fetch_ints` on PostgreSQL: ``COPY … TO STDOUT (FORMAT BINARY)`` with
    every column cast to bigint, so that each row has the same size and whole chunks of rows become
    arrays in one numpy call — no Python object per cell, which is what makes a million-row
    ``fetchmany`` take seconds."""
    from django.db import connection

    cols = ", ".join(f"CAST(t.c{i} AS BIGINT)" for i in range(width))
    names = ", ".join(f"c{i}" for i in range(width))
    row = np.dtype([("n", ">i2")] + [(f, t) for i in range(width) for f, t in ((f"l{i}", ">i4"), (f"v{i}", ">i8"))])
    parts = [np.zeros((0, width), dtype=np.int64)]
    buf = bytearray()
    skip = _COPY_HEADER

    def take(data: bytes | bytearray, count: int) -> None:
        rec = np.frombuffer(data, dtype=row, count=count)
        if count and not (np.all(rec["n"] == width) and all(np.all(rec[f"l{i}"] == 8) for i in range(width))):
            raise ValueError("unexpected NULL or column count in COPY output")
        parts.append(np.stack([rec[f"v{i}"].astype(np.int64) for i in range(width)], axis=1))

    with connection.cursor() as cur, cur.cursor.copy(
            f"COPY (SELECT {cols} FROM ({sql}) AS t({names})) TO STDOUT (FORMAT BINARY)") as copy:
        for chunk in copy:
            buf += chunk
            if skip:
                if len(buf) < skip:
                    continue
                del buf[:skip]
                skip = 0
            whole = len(buf) // row.itemsize
            if whole * row.itemsize >= 1 << 22:
                take(buf, whole)
                del buf[:whole * row.itemsize]
    if len(buf) >= 2:
        del buf[-2:]  # the trailer: a field count of -1
    if len(buf) % row.itemsize:
        raise ValueError("truncated COPY output")
    take(buf, len(buf) // row.itemsize)
    return np.concatenate(parts)


def _known(values: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], BoolArray]:
    known = values != _NULL
    return np.where(known, values, 0), known


def _choice_column(codes: npt.NDArray[np.int64], field: Field) -> Column:
    vocab = tuple(c.value for c in field.choices)
    return Column(np.maximum(codes, 0).astype(_code_dtype(len(vocab))), codes >= 0, vocab)


class _DatabaseLoader:
    """Loads enterprise fields and yearly figures with raw SQL into arrays (no model instances)."""

    def __init__(self, reference_year: int, reference_date: dt.date):
        from django.db import connection

        self.reference_year = reference_year
        self.reference_date = reference_date
        self.days_sql, self.digits_sql = _vendor_sql(connection.vendor)
        self.q = connection.ops.quote_name

    def enterprises(self, enterprise_ids: Sequence[int] | None) -> tuple[IntArray, dict[str, Column]]:
        """All enterprise fields in one query."""
        from yingshang.core.models import Region
        from yingshang.enterprises.models import Enterprise

        meta = Enterprise._meta
        c = {f.name: f"e.{self.q(f.column)}" for f in meta.concrete_fields}

        def field(key: str) -> Field:
            found = F.resolve(key)
            assert found is not None
            return found

        flags = " + ".join(f"{1 << bit} * {_flag_sql(cond)}" for bit, cond in enumerate((
            c["is_high_tech"], c["is_specialized"], c["has_construction_qualification"], c["above_designated"],
            f"{c['figures_year']} IS NOT NULL")))
        industry = f"(CASE WHEN {self.digits_sql(c['industry_code'])} THEN CAST({c['industry_code']} AS INTEGER) ELSE -1 END)"
        select = [c["id"], _choice_sql(c["kind"], field("kind")), _choice_sql(c["status"], field("status")),
                  _choice_sql(c["size_class"], field("size_class")), industry, c["region"],
                  f"COALESCE({c['park']}, -1)", flags, _money_sql(c["registered_capital_wan"]),
                  _int_sql(self.days_sql(c["registered_on"]))]
        sql = f"SELECT {', '.join(select)} FROM {self.q(meta.db_table)} e WHERE {{where}}"
        wanted = None if enterprise_ids is None else sorted({int(i) for i in enterprise_ids})
        rows = _fetch_ints(sql, len(select), c["id"], wanted)
        rows = rows[np.argsort(rows[:, 0], kind="stable")]
        ids = np.ascontiguousarray(rows[:, 0])
        n = len(ids)
        everyone = np.ones(n, dtype=np.bool_)
        out: dict[str, Column] = {key: _choice_column(rows[:, i], field(key))
                                  for i, key in ((1, "kind"), (2, "status"), (3, "size_class"))}
        # industry: 4-digit class codes, kept as text in the vocabulary
        distinct, codes = np.unique(rows[:, 4], return_inverse=True)
        vocab = tuple(f"{int(code):04d}" if code >= 0 else None for code in distinct)
        out["industry_code"] = Column(codes.astype(_code_dtype(len(vocab))), rows[:, 4] >= 0, vocab)
        flag_bits = rows[:, 7]
        for bit, key in enumerate(("is_high_tech", "is_specialized", "has_construction_qualification")):
            out[key] = Column((flag_bits >> bit & 1).astype(np.bool_), everyone)
        out["above_designated"] = Column((flag_bits >> 3 & 1).astype(np.bool_), (flag_bits >> 4 & 1).astype(np.bool_))
        out["registered_capital_wan"] = Column(*_known(rows[:, 8]))
        days, registered = _known(rows[:, 9])
        out["registered_on"] = Column(days, registered)
        out["years_registered"] = Column(full_years(days, self.reference_date) * SCALE, registered)
        # township: the region itself, or a village's parent (regions are few: map by id)
        regions = list(Region.objects.values_list("id", "code", "level", "parent__code"))
        max_id = max((r[0] for r in regions), default=0)
        town_of = np.full(max_id + 1, -1, dtype=np.int64)
        towns: dict[str, int] = {}
        for rid, code, level, parent_code in regions:
            town = code if level == Region.Level.TOWNSHIP else parent_code if level == Region.Level.VILLAGE else None
            if town:
                town_of[rid] = towns.setdefault(town, len(towns))
        region_ids = rows[:, 5]
        in_range = (region_ids >= 0) & (region_ids <= max_id)
        town_codes = np.where(in_range, town_of[np.clip(region_ids, 0, max_id)], -1)
        out["township"] = Column(np.maximum(town_codes, 0).astype(_code_dtype(len(towns))), town_codes >= 0,
                                 tuple(towns))
        # park: an id, or None (known: not in a park)
        distinct, codes = np.unique(rows[:, 6], return_inverse=True)
        parks = tuple(None if int(p) < 0 else int(p) for p in distinct)
        out["park"] = Column(codes.astype(_code_dtype(len(parks))), everyone, parks)
        return ids, out

    def figures(self, keys: Iterable[str], ids: IntArray, filter_ids: bool) -> dict[str, Column]:
        """Yearly figures for the needed (figure, year) keys, one query."""
        from yingshang.enterprises.models import YearFigure

        needed: dict[str, Field] = {}
        for key in keys:
            field = F.resolve(key)
            if field is not None and field.source is Source.FIGURE:
                needed[field.key] = field
        if not needed:
            return {}
        meta = YearFigure._meta
        col = {f.name: self.q(f.column) for f in meta.concrete_fields}
        names = sorted({f.figure for f in needed.values() if f.figure})
        years = sorted({self.reference_year - (f.offset or 0) for f in needed.values()})
        select = [col["enterprise"], col["year"]]
        select += [_money_sql(col[name]) if F.FIGURES[name].type is FieldType.NUMBER else _int_sql(col[name])
                   for name in names]
        sql = (f"SELECT {', '.join(select)} FROM {self.q(meta.db_table)} "
               f"WHERE {col['year']} IN ({', '.join(str(int(y)) for y in years)}) AND {{where}}")
        rows = _fetch_ints(sql, len(select), col["enterprise"], [int(i) for i in ids] if filter_ids else None)
        n = len(ids)
        order = np.argsort(ids, kind="stable")
        sorted_ids = ids[order]
        eids, row_years = rows[:, 0], rows[:, 1]
        pos = np.minimum(np.searchsorted(sorted_ids, eids), max(n - 1, 0))
        hit = (sorted_ids[pos] == eids) if n else np.zeros(len(eids), dtype=np.bool_)
        target = order[pos]
        out: dict[str, Column] = {}
        for key, field in needed.items():
            assert field.figure is not None and field.offset is not None
            values, known = _known(rows[:, 2 + names.index(field.figure)])
            if F.FIGURES[field.figure].type is FieldType.INTEGER:
                values = values * SCALE
            sel = hit & (row_years == self.reference_year - field.offset)
            v = np.zeros(n, dtype=np.int64)
            k = np.zeros(n, dtype=np.bool_)
            v[target[sel]] = values[sel]
            k[target[sel]] = known[sel]
            out[key] = Column(v, k)
        return out


def load_columns(reference_year: int, enterprise_ids: Sequence[int] | None = None, *,
                 keys: Iterable[str] | None = None, reference_date: dt.date | None = None,
                 load_facts: bool = True) -> Columns:
    """The registry (or the given enterprises) as :class:`Columns` for ``reference_year`` (the policy's
    year: ``figures.x.last`` is ``reference_year - 1``).

    Enterprise fields are always loaded (one query); yearly figures for ``keys`` (default: every figure
    for the last three years), further figures and facts lazily when a rule asks for them.
    ``years_registered`` counts full years up to ``reference_date`` (default: today)."""
    from django.utils import timezone

    ref_date = reference_date or timezone.localdate()
    loader = _DatabaseLoader(reference_year, ref_date)
    ids, cols = loader.enterprises(enterprise_ids)
    filter_ids = enterprise_ids is not None
    wanted = F.all_keys() if keys is None else list(keys)
    cols.update(loader.figures(wanted, ids, filter_ids))

    def lazy(key: str, for_ids: IntArray) -> Column | None:
        field = F.resolve(key)
        if field is None or field.source is not Source.FIGURE:
            return None
        # a few enterprises: filter by id; many: read the year and keep the rows asked for
        return loader.figures([key], for_ids, len(for_ids) <= 10_000).get(field.key)

    out = Columns(ids, reference_year=reference_year, loader=lazy, load_facts=load_facts)
    for key, col in cols.items():
        out.add(key, col)
    for key in wanted:  # facts asked for up front
        out.column(key)
    return out
