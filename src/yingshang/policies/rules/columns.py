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
(:func:`load_columns`: all enterprise fields or only those asked for; on PostgreSQL outside a transaction
read by several connections sharing one snapshot), loads further columns lazily (several in one read;
cross-module facts through their loaders), and gives one enterprise's facts back as a dict for the scalar
evaluator (:meth:`Columns.facts_for`).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

import numpy as np
import numpy.typing as npt

from . import fields as F
from .fields import Field, FieldType, Source
from .grammar import SCALE, from_days, from_micro, to_days, to_micro

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
#: ``loader(keys, enterprise_ids)``: columns not loaded yet, by canonical key (those it cannot give left out).
Loader = Callable[[Sequence[str], IntArray], "Mapping[str, Column]"]


_resolved: dict[str, Field | None] = {}
_resolved_version = [-1]


def resolve(key: str) -> Field | None:
    """:func:`.fields.resolve`, remembered (a figure's field is built anew on each call there) until a fact
    is registered or removed."""
    if not isinstance(key, str):
        return None
    version = F.registry_version()
    if _resolved_version[0] != version or len(_resolved) > 10_000:
        _resolved.clear()
        _resolved_version[0] = version
    try:
        return _resolved[key]
    except KeyError:
        found = _resolved[key] = F.resolve(key)
        return found


def _code_dtype(size: int) -> type[np.unsignedinteger[Any]] | type[np.int32]:
    if size <= 1 << 8:
        return np.uint8
    if size <= 1 << 16:
        return np.uint16
    return np.int32


class Column:
    """Values, a ``known`` mask and, for categorical columns, the vocabulary."""

    __slots__ = ("values", "known", "vocab", "all_known")

    def __init__(self, values: npt.NDArray[Any], known: npt.ArrayLike, vocab: tuple[Any, ...] | None = None, *,
                 zeroed: bool = False):
        """``zeroed``: the caller vouches that the values of unknown rows are zero already."""
        known_arr = np.asarray(known, dtype=np.bool_)
        if known_arr.shape != values.shape:
            raise ValueError("values and known differ in length")
        self.all_known = bool(known_arr.all())
        if not self.all_known and vocab is None and not zeroed:
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
        field = resolve(key)
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
            field = resolve(key)
            if field is None:
                raise KeyError(f"unknown field {key!r}")
            wanted[field.key] = field
        for rec in records:
            row: dict[str, Any] = {}
            for key, value in rec.items():
                field = resolve(key)
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
        field = resolve(key)
        return field is not None and field.key in self._cols

    def keys(self) -> list[str]:
        return list(self._cols)

    def column(self, key: str) -> Column:
        """The column for ``key``, loading it (database loader, fact loader) when needed; a column of
        missing values when nothing provides it."""
        col = self._cols.get(key)
        if col is not None:
            return col
        field = resolve(key)
        if field is None:
            raise KeyError(f"unknown field {key!r}")
        col = self._cols.get(field.key)
        if col is not None:
            return col
        if self._loader is not None:
            self._take(self._loader([field.key], self.ids))
            col = self._cols.get(field.key)
        if col is None and field.source is Source.FACT and self._load_facts:
            col = load_fact(field, self.ids)
        if col is None:
            col = Column.missing(self.n, field)
        self.add(field.key, col)
        return col

    def ensure(self, keys: Iterable[str]) -> None:
        """Load the columns of ``keys`` not loaded yet, with one call of the loader for all of them."""
        missing: list[str] = []
        for key in keys:
            field = resolve(key)
            if field is None:
                raise KeyError(f"unknown field {key!r}")
            if field.key not in self._cols and field.key not in missing:
                missing.append(field.key)
        if len(missing) > 1 and self._loader is not None:
            self._take(self._loader(missing, self.ids))
        for key in missing:
            self.column(key)

    def _take(self, loaded: Mapping[str, Column]) -> None:
        """Columns a loader gave (those asked for and any read with them), keeping those already here."""
        for key, col in loaded.items():
            if key not in self._cols:
                self.add(key, col)

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
        out._cols = {k: c.take(idx) for k, c in list(self._cols.items())}  # (another thread may add columns)
        return out

    def facts_at(self, row: int, keys: Iterable[str] | None = None) -> dict[str, Any]:
        """Row ``row`` as a fact dict: missing values are left out (a nullable field's known None stays)."""
        if keys is not None:
            self.ensure(keys)
        out: dict[str, Any] = {}
        for key, col in self._cols.items():
            field = resolve(key)
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
    col = Column.from_values(field, [fact.default, *result.values()])
    values = np.full(n, col.values[0], dtype=col.values.dtype)
    known = np.full(n, col.known[0], dtype=np.bool_)
    if result:
        eids = np.fromiter((int(k) for k in result), dtype=np.int64, count=len(result))
        rows, hit = _index_of(ids, eids)
        values[rows[hit]] = col.values[1:][hit]
        known[rows[hit]] = col.known[1:][hit]
    return Column(values, known, col.vocab)


# --- derived values ----------------------------------------------------------------------------------------------


def full_years_between(start: dt.date, ref: dt.date) -> int:
    """Completed years from ``start`` to ``ref`` (an enterprise registered 2023-03-01 is 2 full years old on
    2025-03-01, 1 on 2025-02-28)."""
    return ref.year - start.year - ((ref.month, ref.day) < (start.month, start.day))


def full_years(days: IntArray, ref: dt.date) -> IntArray:
    """:func:`full_years_between` over an array of days since 1970-01-01.

    An enterprise registered on day D has k full years on ``ref`` exactly when D is on or before ``ref``
    moved back k years (29 February to the 28th in other years): one sorted array of those days over the
    years present, searched once for each day of the range the registry spans."""
    if len(days) == 0:
        return np.zeros(0, dtype=np.int64)
    epoch = dt.date(1970, 1, 1).toordinal()
    low = dt.date.fromordinal(int(days.min()) + epoch).year if int(days.min()) + epoch >= 1 else 0
    high = dt.date.fromordinal(int(days.max()) + epoch).year if int(days.max()) + epoch <= 3_652_059 else 10_000
    if low < 2 or high > 9_998:
        return _full_years_by_dates(days, ref)
    years = np.arange(low - 1, high + 2)  # ascending: their anniversaries of ref, ascending too
    thresholds = np.fromiter((dt.date(int(y), ref.month, min(ref.day, 28 if ref.month == 2 and not _leap(int(y))
                                                             else ref.day)).toordinal() - epoch for y in years),
                             dtype=np.int64, count=len(years))
    first, last = int(days.min()), int(days.max())
    span = np.arange(first, last + 1, dtype=np.int64)  # every day present or between: a lookup table
    table = (ref.year - years[np.searchsorted(thresholds, span, side="left")]).astype(np.int64)  # first anniversary ≥ D
    return table[days - first]


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _full_years_by_dates(days: IntArray, ref: dt.date) -> IntArray:
    d = days.astype("datetime64[D]")
    month_start = d.astype("datetime64[M]")
    year = d.astype("datetime64[Y]").astype(np.int64) + 1970
    month = month_start.astype(np.int64) % 12 + 1
    day = (d - month_start).astype(np.int64) + 1
    return np.asarray(ref.year - year - ((ref.month * 100 + ref.day) < (month * 100 + day)), dtype=np.int64)


# --- from the database ---------------------------------------------------------------------------------------------
# Every column is read as integers, so that a result becomes int64 arrays in a few numpy calls: per-cell Python
# work is what makes reading a million rows slow.  On PostgreSQL each column of a result comes back as one value
# (``string_agg``): big-endian int64s (``int8send``), or, for short text columns, the texts themselves joined by
# a separator and decoded into codes by numpy (cheaper for the server than a CASE or a regular expression per
# row).  One row whatever the size of the table, so no Python work per row at all (``COPY`` sends a message per
# row, and receiving a million of them costs the client more than the whole query costs the server).
# Whole-table reads outside a transaction can be split into page ranges read concurrently on several
# connections sharing one snapshot (PostgreSQL runs each query on one core).

_ID_CHUNK = 900  # SQLite's host-parameter limit, conservatively
_FETCH = 100_000
_NULL = -9_000_000_000_000_000_000  # stands for SQL NULL in integer results (real values stay within ±10^18)
_SEP = 0x1F  # joins the texts of a text column (unit separator)
_PAGES_PER_RANGE = 256  # the smallest share of a table worth a connection of its own (8 kB pages: 2 MB)

Rows = list[IntArray]  # a result's columns
#: ``decode(joined texts, rows)``: a text column's values as integer codes (-1: none).
TextDecoder = Callable[[bytes | None, int], "npt.NDArray[Any]"]

#: The parts of the enterprise query and the keys each gives.
_ENTERPRISE_PARTS: dict[str, tuple[str, ...]] = {
    "kind": ("kind",), "status": ("status",), "size_class": ("size_class",), "industry": ("industry_code",),
    "region": ("township",), "park": ("park",),
    "flags": ("is_high_tech", "is_specialized", "has_construction_qualification", "above_designated"),
    "capital": ("registered_capital_wan",), "registered": ("registered_on", "years_registered"),
}
#: Keys read from the enterprise table (fields and the values derived from them).
ENTERPRISE_KEYS = frozenset(k for keys in _ENTERPRISE_PARTS.values() for k in keys)


def _money_sql(col: str, vendor: str) -> str:
    """Micro-units of a 万元 decimal column (beyond ±10^12 counts as missing).  PostgreSQL's cast of a
    numeric to bigint rounds half away from zero itself (as ROUND does); SQLite's truncates."""
    micro = f"CAST({col} * 1000000 AS BIGINT)" if vendor == "postgresql" else f"CAST(ROUND({col} * 1000000) AS BIGINT)"
    return f"COALESCE(CASE WHEN ABS({col}) <= 1000000000000 THEN {micro} END, {_NULL})"


def _int_sql(col: str) -> str:
    return f"COALESCE({col}, {_NULL})"


def _flag_sql(cond: str) -> str:
    return f"(CASE WHEN {cond} THEN 1 ELSE 0 END)"


def _choice_sql(col: str, choices: Sequence[str]) -> str:
    """The index of the value among ``choices``, -1 for blank or unknown values."""
    whens = " ".join(f"WHEN '{c}' THEN {i}" for i, c in enumerate(choices))
    return f"(CASE {col} {whens} ELSE -1 END)"


def _vendor_sql(vendor: str) -> tuple[Callable[[str], str], Callable[[str], str]]:
    """(days since 1970-01-01 of a date column, 4-digit test of a text column) in the backend's dialect."""
    if vendor == "sqlite":
        return (lambda col: f"CAST(julianday({col}) - 2440587.5 AS INTEGER)",
                lambda col: f"{col} GLOB '[0-9][0-9][0-9][0-9]'")
    if vendor == "postgresql":
        return (lambda col: f"({col} - DATE '1970-01-01')", lambda col: f"{col} ~ '^[0-9]{{4}}$'")
    raise NotImplementedError(f"load_columns supports SQLite and PostgreSQL, not {vendor}")


# text columns decoded by numpy ---------------------------------------------------------------------------------------


class _Mismatch(ValueError):
    """Joined texts that do not split into one text per row (a NULL, or a text holding the separator)."""


def _split(joined: bytes | None, n: int) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """The bytes, and the start and length of each row's text."""
    buf = np.frombuffer(joined or b"", dtype=np.uint8)
    if n == 0:
        if joined is not None:
            raise _Mismatch("texts without rows")
        return buf, np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    seps = np.flatnonzero(buf == _SEP)
    if joined is None or len(seps) != n - 1:
        raise _Mismatch("texts and rows differ in number")
    starts = np.empty(n, dtype=np.intp)
    starts[0], starts[1:] = 0, seps + 1
    lengths = np.empty(n, dtype=np.intp)
    np.subtract(seps, starts[:-1], out=lengths[:-1])
    lengths[-1] = len(buf) - starts[-1]
    return buf, starts, lengths


def _bytes_at(buf: npt.NDArray[np.uint8], starts: npt.NDArray[np.intp], j: int) -> npt.NDArray[np.uint8]:
    """Byte ``j`` of each text; only meaningful where the text has more than ``j`` bytes."""
    if len(buf) == 0:
        return np.zeros(len(starts), dtype=np.uint8)
    return np.take(buf, starts + j, mode="clip")


def _choice_decoder(choices: Sequence[str]) -> TextDecoder:
    """Texts → the index of the text among ``choices``, -1 for any other text (as :func:`_choice_sql`)."""
    encoded = [c.encode() for c in choices]
    assert len(encoded) < 127

    def decode(joined: bytes | None, n: int) -> npt.NDArray[Any]:
        buf, starts, lengths = _split(joined, n)
        out = np.full(n, -1, dtype=np.int8)
        columns: dict[int, npt.NDArray[np.uint8]] = {}  # byte j of each text
        for i, choice in enumerate(encoded):
            hit = lengths == len(choice)
            for j, byte in enumerate(choice):
                if j not in columns:
                    columns[j] = _bytes_at(buf, starts, j)
                hit &= columns[j] == byte
            out[hit] = i
        return out
    return decode


def _digits_decoder(joined: bytes | None, n: int) -> npt.NDArray[Any]:
    """Texts → the number of a text of exactly 4 ASCII digits, -1 for any other text."""
    buf, starts, lengths = _split(joined, n)
    ok = lengths == 4
    code = np.zeros(n, dtype=np.int16)
    for j in range(4):
        digit = _bytes_at(buf, starts, j) - np.uint8(ord("0"))  # wraps below '0': one test for both ends
        ok &= digit <= 9
        code *= 10
        code += digit
    code[~ok] = -1
    return code


@functools.cache
def _pg_loaders() -> tuple[type, type]:
    """psycopg loaders for the aggregates: a binary ``bytea`` of big-endian int64s as a numpy array (no
    Python bytes in between), a binary ``text`` as the bytes it is sent as (UTF-8), not decoded."""
    from psycopg import pq
    from psycopg.adapt import Loader

    class Int64sLoader(Loader):
        format = pq.Format.BINARY

        def load(self, data: Any) -> IntArray:
            return np.frombuffer(data, dtype=">i8").astype(np.int64)

    class RawTextLoader(Loader):
        format = pq.Format.BINARY

        def load(self, data: Any) -> bytes:
            return bytes(data)

    return Int64sLoader, RawTextLoader


# reading ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Query:
    """A SELECT from ``table`` (as ``alias``) with a ``{where}`` placeholder, every column an integer.  On
    PostgreSQL, the columns with a decoder are selected as ``texts[i]`` instead and decoded by numpy."""

    columns: tuple[str, ...]
    source: str  # "FROM … WHERE …{where}"
    table: str
    alias: str
    id_column: str
    texts: Mapping[int, tuple[str, TextDecoder]] = dataclass_field(default_factory=dict)

    @property
    def width(self) -> int:
        return len(self.columns)

    def sql(self, where: str) -> str:
        return f"SELECT {', '.join(self.columns)} {self.source.replace('{where}', where)}"


def _pg_read(conn: Any, query: _Query, where: str, params: Sequence[Any] | None = None) -> Rows:
    """A query's columns on PostgreSQL, each sent as one value (see above)."""
    import psycopg

    def run(texts: Mapping[int, tuple[str, TextDecoder]]) -> Rows:
        exprs = [texts[i][0] if i in texts else c for i, c in enumerate(query.columns)]
        aggs = ", ".join(f"string_agg(t.c{i}, E'\\x1f')" if i in texts else
                         f"string_agg(int8send(CAST(t.c{i} AS BIGINT)), '')" for i in range(query.width))
        names = ", ".join(f"c{i}" for i in range(query.width))
        sql = f"SELECT {aggs} FROM (SELECT {', '.join(exprs)} {query.source.replace('{where}', where)}) AS t({names})"
        # Django's cursors bind parameters client-side, which cannot return binary results
        ints, texts_loader = _pg_loaders()
        with psycopg.Cursor(conn) as raw:
            raw.adapters.register_loader("bytea", ints)
            raw.adapters.register_loader("text", texts_loader)
            raw.execute(sql, params, binary=True)
            row = raw.fetchone()
        assert row is not None
        empty = np.zeros(0, dtype=np.int64)
        n = len(next((v for i, v in enumerate(row) if i not in texts and v is not None), empty))
        out: Rows = []
        for i, value in enumerate(row):
            if i in texts:
                out.append(texts[i][1](value, n))
            else:
                values = empty if value is None else value
                if len(values) != n:
                    raise ValueError("columns of different lengths")
                out.append(values)
        return out

    try:
        return run(query.texts)
    except _Mismatch:  # a NULL or a separator in a text: the integer form of those columns
        return run({})


def _read(query: _Query, ids: Sequence[int] | None) -> Rows:
    """The query's rows (only those of the enterprise ``ids`` if given) on this thread's connection."""
    from django.db import connection

    if ids is not None and len(ids) == 0:
        return [np.zeros(0, dtype=np.int64) for _ in range(query.width)]
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        if ids is None:
            return _pg_read(connection.connection, query, "1=1")
        return _pg_read(connection.connection, query, f"{query.id_column} = ANY(%s::bigint[])", [list(ids)])
    batches: list[Sequence[int] | None] = [None] if ids is None else [
        ids[i:i + _ID_CHUNK] for i in range(0, len(ids), _ID_CHUNK)]
    parts = [np.zeros((0, query.width), dtype=np.int64)]
    for batch in batches:
        where = "1=1" if batch is None else f"{query.id_column} IN ({', '.join(['%s'] * len(batch))})"
        with connection.cursor() as cur:
            cur.execute(query.sql(where), list(batch or []))
            while rows := cur.fetchmany(_FETCH):
                parts.append(np.array(rows, dtype=np.int64).reshape(len(rows), query.width))
    matrix = np.concatenate(parts)
    return [np.ascontiguousarray(matrix[:, i]) for i in range(query.width)]


def read_connections() -> int:
    """POLICY_READ_CONNECTIONS (default: the number of cores, 2 to 4): connections a whole-registry read
    uses on PostgreSQL outside a transaction, the caller's included."""
    import os

    from django.conf import settings

    found = getattr(settings, "POLICY_READ_CONNECTIONS", None)
    return max(1, int(found)) if found is not None else max(2, min(4, os.cpu_count() or 2))


def _page_ranges(alias: str, pages: int, parts: int) -> list[str]:
    """Conditions splitting a table into ``parts`` ranges of pages (TID range scans, PostgreSQL ≥ 14); the
    first and last are open-ended so that no row is left out."""
    if parts <= 1:
        return ["1=1"]
    bounds = [pages * i // parts for i in range(1, parts)]
    out = [f"{alias}.ctid < '({bounds[0]},0)'::tid"]
    out += [f"{alias}.ctid >= '({a},0)'::tid AND {alias}.ctid < '({b},0)'::tid" for a, b in zip(bounds, bounds[1:])]
    out.append(f"{alias}.ctid >= '({bounds[-1]},0)'::tid")
    return out


def _read_parallel(queries: Sequence[_Query], connections: int) -> list[Rows]:
    """Whole-table reads split into page ranges and read by ``connections`` connections — the caller's
    and threads' own (closed when done) — that share one snapshot: the result is what one transaction
    would read."""
    import queue
    import re
    from concurrent.futures import ThreadPoolExecutor

    from django.db import DatabaseError, connection, transaction

    results: list[list[Rows | None]] = []
    tasks: queue.SimpleQueue[tuple[int, int, str]] = queue.SimpleQueue()

    def drain() -> None:
        while True:
            try:
                task = tasks.get_nowait()
            except queue.Empty:
                return
            qi, part, where = task
            try:
                connection.ensure_connection()
                results[qi][part] = _pg_read(connection.connection, queries[qi], where)
            except BaseException:
                tasks.put(task)  # for the caller's connection to read
                raise

    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cur.execute("SELECT pg_export_snapshot()")
            snapshot = str(cur.fetchone()[0])  # type: ignore[index]
            split = connection.pg_version >= 140000  # type: ignore[attr-defined]
            for qi, q in enumerate(queries):
                pages = 0
                if split:  # measured after the snapshot was taken: every row it sees lies below
                    cur.execute("SELECT pg_relation_size(%s) / current_setting('block_size')::int", [q.table])
                    pages = int(cur.fetchone()[0])  # type: ignore[index]
                ranges = _page_ranges(q.alias, pages, min(4 * connections, pages // _PAGES_PER_RANGE))
                results.append([None] * len(ranges))
                for part, where in enumerate(ranges):
                    tasks.put((qi, part, where))
        if not re.fullmatch(r"[0-9A-Fa-f-]+", snapshot):
            raise ValueError(f"unexpected snapshot id {snapshot!r}")

        def worker() -> None:
            try:
                with transaction.atomic():
                    with connection.cursor() as cur:
                        cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                        cur.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
                    drain()
            except DatabaseError:
                pass  # no connection to spare (or it failed): the caller's reads what is left, or fails itself
            finally:
                connection.close()

        helpers = min(connections - 1, tasks.qsize() - 1)
        with ThreadPoolExecutor(max_workers=max(helpers, 1)) as pool:
            futures = [pool.submit(worker) for _ in range(helpers)]
            drain()
            for f in futures:
                f.result()
        drain()  # whatever a helper could not read
    out: list[Rows] = []
    for q, parts in zip(queries, results):
        assert all(p is not None for p in parts)
        out.append([np.concatenate([p[i] for p in parts if p is not None]) for i in range(q.width)])
    return out


def _read_all(queries: Sequence[_Query], ids: Sequence[int] | None, parallel: bool) -> list[Rows]:
    from django.db import connection

    if not queries:
        return []
    if ids is None and parallel and connection.vendor == "postgresql" and not connection.in_atomic_block:
        connections = read_connections()
        if connections > 1:
            return _read_parallel(queries, connections)
    return [_read(q, ids) for q in queries]


# from integers to columns ------------------------------------------------------------------------------------------


def _index_of(ids: IntArray, wanted: IntArray) -> tuple[npt.NDArray[np.intp], BoolArray]:
    """For each of ``wanted``, its row in ``ids`` (unique, any order) and whether it is there at all."""
    n = len(ids)
    if n == 0 or len(wanted) == 0:
        return np.zeros(len(wanted), dtype=np.intp), np.zeros(len(wanted), dtype=np.bool_)
    low, high = int(ids.min()), int(ids.max())
    if high - low <= max(4 * n, 1 << 16):  # dense ids (the usual case): a lookup table
        table = np.full(high - low + 1, -1, dtype=np.intp)
        table[ids - low] = np.arange(n, dtype=np.intp)
        if int(wanted.min()) >= low and int(wanted.max()) <= high:
            rows = table[wanted - low]
        else:
            inside = (wanted >= low) & (wanted <= high)
            rows = np.where(inside, table[np.clip(wanted - low, 0, high - low)], -1)
        hit = rows >= 0
        rows[~hit] = 0
        return rows, hit
    order = np.argsort(ids, kind="stable")
    pos = np.minimum(np.searchsorted(ids[order], wanted), n - 1)
    return order[pos], ids[order][pos] == wanted


def _sort_order(ids: IntArray) -> npt.NDArray[np.intp]:
    """The permutation sorting unique ``ids``: by their places in the range they span when it is dense (the
    usual case: linear time), else ``argsort``."""
    low, high = int(ids.min()), int(ids.max())
    if high - low > max(4 * len(ids), 1 << 16):
        return np.argsort(ids, kind="stable")
    table = np.full(high - low + 1, -1, dtype=np.intp)
    table[ids - low] = np.arange(len(ids), dtype=np.intp)
    order = table[table >= 0]
    if len(order) != len(ids):  # not unique after all
        return np.argsort(ids, kind="stable")
    return order


def _encode(values: IntArray) -> tuple[IntArray, IntArray]:
    """(sorted distinct values, index of each value among them): ``np.unique(…, return_inverse=True)``,
    in linear time when the values span a small range."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    low, high = int(values.min()), int(values.max())
    if high - low > 1 << 20:
        distinct, codes = np.unique(values, return_inverse=True)
        return distinct, codes.reshape(-1)
    seen = np.zeros(high - low + 1, dtype=np.bool_)
    seen[values - low] = True
    index = np.cumsum(seen, dtype=np.int64) - 1
    return np.flatnonzero(seen).astype(np.int64) + low, index[values - low]


def _known(values: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], BoolArray]:
    known = values != _NULL
    return np.where(known, values, 0), known


def _choices(key: str) -> tuple[str, ...]:
    return tuple(c.value for c in _field(key).choices)


def _choice_column(codes: npt.NDArray[np.int64], key: str) -> Column:
    vocab = _choices(key)
    return Column(np.maximum(codes, 0).astype(_code_dtype(len(vocab))), codes >= 0, vocab)


def _align(col: Column, rows: npt.NDArray[np.intp], hit: BoolArray) -> Column:
    """A column re-ordered to other ids (``rows`` into it, ``hit`` False where an id is not there)."""
    values = col.values[rows]
    if not hit.all():
        values = np.where(hit, values, np.zeros((), dtype=values.dtype))
    return Column(values, col.known[rows] & hit, col.vocab)


def _field(key: str) -> Field:
    found = resolve(key)
    assert found is not None, key
    return found


class _DatabaseLoader:
    """Reads enterprise fields and yearly figures with raw SQL into arrays (no model instances)."""

    def __init__(self, reference_year: int, reference_date: dt.date):
        from django.db import connection

        self.reference_year = reference_year
        self.reference_date = reference_date
        self.vendor = connection.vendor
        self.days_sql, self.digits_sql = _vendor_sql(connection.vendor)
        self.q = connection.ops.quote_name

    def read(self, keys: Iterable[str], enterprise_ids: Sequence[int] | None = None, *,
             target: IntArray | None = None, parallel: bool = False) -> tuple[IntArray, dict[str, Column]]:
        """The enterprise fields and figures among ``keys`` (others are ignored) of the registry or of
        ``enterprise_ids``, aligned to the enterprises read (sorted ids) or to ``target``."""
        fields = {f.key: f for f in (resolve(k) for k in keys) if f is not None}
        own = set(fields) & ENTERPRISE_KEYS
        figures = {k: f for k, f in sorted(fields.items()) if f.source is Source.FIGURE}
        queries: list[_Query] = []
        parts: list[str] | None = None
        if target is None or own:
            query, parts = self.enterprise_query(own)
            queries.append(query)
        if figures:
            query, names, years = self.figure_query(figures)
            queries.append(query)
        ids = None if enterprise_ids is None else sorted({int(i) for i in enterprise_ids})
        results = _read_all(queries, ids, parallel)
        out: dict[str, Column] = {}
        if parts is not None:
            found, cols = self.enterprise_columns(results[0], parts)
            if target is None:
                target = found
            else:
                rows, hit = _index_of(found, target)
                cols = {k: _align(c, rows, hit) for k, c in cols.items()}
            out.update(cols)
        assert target is not None
        if figures:
            out.update(self.figure_columns(results[-1], names, years, figures, target))
        return target, out

    # enterprises

    def enterprise_query(self, keys: Iterable[str]) -> tuple[_Query, list[str]]:
        """The SELECT of the enterprise fields ``keys`` need (id first) and the parts it reads."""
        from yingshang.enterprises.models import Enterprise

        meta = Enterprise._meta
        c = {f.name: f"e.{self.q(f.column)}" for f in meta.concrete_fields}
        keys = set(keys)
        parts = [p for p, given in _ENTERPRISE_PARTS.items() if keys & set(given)]
        flags = " + ".join(f"{1 << bit} * {_flag_sql(cond)}" for bit, cond in enumerate((
            c["is_high_tech"], c["is_specialized"], c["has_construction_qualification"], c["above_designated"],
            f"{c['figures_year']} IS NOT NULL")))
        sql = {
            "kind": _choice_sql(c["kind"], _choices("kind")),
            "status": _choice_sql(c["status"], _choices("status")),
            "size_class": _choice_sql(c["size_class"], _choices("size_class")),
            "industry": f"(CASE WHEN {self.digits_sql(c['industry_code'])} THEN CAST({c['industry_code']} AS INTEGER) "
                        f"ELSE -1 END)",
            "region": f"COALESCE({c['region']}, -1)",
            "park": f"COALESCE({c['park']}, -1)",
            "flags": flags,
            "capital": _money_sql(c["registered_capital_wan"], self.vendor),
            "registered": _int_sql(self.days_sql(c["registered_on"])),
        }
        texts: dict[str, tuple[str, TextDecoder]] = {
            "kind": (c["kind"], _choice_decoder(_choices("kind"))),
            "status": (c["status"], _choice_decoder(_choices("status"))),
            "size_class": (c["size_class"], _choice_decoder(_choices("size_class"))),
            "industry": (c["industry_code"], _digits_decoder),
        }
        return _Query((c["id"], *(sql[p] for p in parts)), f"FROM {self.q(meta.db_table)} e WHERE {{where}}",
                      meta.db_table, "e", c["id"],
                      {i: texts[p] for i, p in enumerate(parts, start=1) if p in texts}), parts

    def enterprise_columns(self, rows: Rows, parts: Sequence[str]) -> tuple[IntArray, dict[str, Column]]:
        ids = rows[0]
        order: npt.NDArray[np.intp] | None = None
        if len(ids) > 1 and not bool(np.all(ids[1:] > ids[:-1])):  # read in the table's order
            order = _sort_order(ids)
            ids = ids[order]
        n = len(ids)
        everyone = np.ones(n, dtype=np.bool_)
        out: dict[str, Column] = {}
        for part, values in zip(parts, rows[1:]):
            if order is not None:
                values = values[order]
            if part in ("kind", "status", "size_class"):
                out[part] = _choice_column(values, part)
            elif part == "industry":  # 4-digit class codes, kept as text in the vocabulary
                distinct, codes = _encode(values)
                vocab = tuple(f"{int(code):04d}" if code >= 0 else None for code in distinct)
                out["industry_code"] = Column(codes.astype(_code_dtype(len(vocab))), values >= 0, vocab)
            elif part == "region":
                out["township"] = self._township(values)
            elif part == "park":  # an id, or None (known: not in a park)
                distinct, codes = _encode(values)
                parks = tuple(None if int(p) < 0 else int(p) for p in distinct)
                out["park"] = Column(codes.astype(_code_dtype(len(parks))), everyone, parks)
            elif part == "flags":
                for bit, key in enumerate(("is_high_tech", "is_specialized", "has_construction_qualification")):
                    out[key] = Column((values >> bit & 1).astype(np.bool_), everyone)
                out["above_designated"] = Column((values >> 3 & 1).astype(np.bool_), (values >> 4 & 1).astype(np.bool_))
            elif part == "capital":
                out["registered_capital_wan"] = Column(*_known(values))
            elif part == "registered":
                days, registered = _known(values)
                out["registered_on"] = Column(days, registered)
                out["years_registered"] = Column(full_years(days, self.reference_date) * SCALE, registered)
        return ids, out

    def _township(self, region_ids: IntArray) -> Column:
        """The region itself, or a village's parent (regions are few: map by id)."""
        from django.db import connection

        from yingshang.core.models import Region

        meta = Region._meta
        column = {name: self.q(meta.get_field(name).column) for name in ("id", "code", "level", "parent")}
        where = ""
        if len(region_ids) <= 1000:  # a few enterprises: only their regions
            where = f"WHERE r.{column['id']} IN ({', '.join(str(int(i)) for i in np.unique(region_ids)) or 'NULL'})"
        with connection.cursor() as cur:
            cur.execute(f"SELECT r.{column['id']}, r.{column['code']}, r.{column['level']}, p.{column['code']} "
                        f"FROM {self.q(meta.db_table)} r LEFT JOIN {self.q(meta.db_table)} p "
                        f"ON p.{column['id']} = r.{column['parent']} {where} ORDER BY r.{column['code']}")
            regions = cur.fetchall()
        max_id = max((r[0] for r in regions), default=0)
        town_of = np.full(max_id + 1, -1, dtype=np.int64)
        towns: dict[str, int] = {}
        for rid, code, level, parent_code in regions:
            town = code if level == Region.Level.TOWNSHIP else parent_code if level == Region.Level.VILLAGE else None
            if town:
                town_of[rid] = towns.setdefault(town, len(towns))
        values = np.maximum(town_of, 0).astype(_code_dtype(len(towns)))
        known = town_of >= 0
        if len(region_ids) and (int(region_ids.min()) < 0 or int(region_ids.max()) > max_id):
            inside = (region_ids >= 0) & (region_ids <= max_id)
            at = np.where(inside, region_ids, 0)
            return Column(values[at], known[at] & inside, tuple(towns))
        return Column(values[region_ids], known[region_ids], tuple(towns))

    # yearly figures

    def figure_query(self, fields: Mapping[str, Field]) -> tuple[_Query, list[str], list[int]]:
        """The SELECT of the (figure, year) pairs of ``fields``: one row per enterprise and year, the
        enterprise, the year (if several) and the figures."""
        from yingshang.enterprises.models import YearFigure

        meta = YearFigure._meta
        col = {f.name: f"y.{self.q(f.column)}" for f in meta.concrete_fields}
        names = sorted({f.figure for f in fields.values() if f.figure})
        years = sorted({self.reference_year - (f.offset or 0) for f in fields.values()})
        select = [col["enterprise"]] + ([col["year"]] if len(years) > 1 else [])
        select += [_money_sql(col[name], self.vendor) if F.FIGURES[name].type is FieldType.NUMBER
                   else _int_sql(col[name]) for name in names]
        source = (f"FROM {self.q(meta.db_table)} y "
                  f"WHERE {col['year']} IN ({', '.join(str(int(y)) for y in years)}) AND {{where}}")
        return _Query(tuple(select), source, meta.db_table, "y", col["enterprise"]), names, years

    def figure_columns(self, rows: Rows, names: Sequence[str], years: Sequence[int], fields: Mapping[str, Field],
                       ids: IntArray) -> dict[str, Column]:
        n = len(ids)
        first = 2 if len(years) > 1 else 1
        target, hit = _index_of(ids, rows[0])
        of_year: dict[int, tuple[npt.NDArray[np.intp] | None, npt.NDArray[np.intp]]] = {}  # year → (rows, theirs)
        for year in years:
            if len(years) == 1 and hit.all():  # one year, every row an enterprise read: no selection
                of_year[year] = None, target
                continue
            sel = np.flatnonzero(hit if len(years) == 1 else hit & (rows[1] == year))
            of_year[year] = sel, target[sel]
        out: dict[str, Column] = {}
        for key, field in fields.items():
            assert field.figure is not None and field.offset is not None
            sel, at = of_year[self.reference_year - field.offset]
            column = rows[first + names.index(field.figure)]
            picked = column.copy() if sel is None else column[sel]
            known = picked != _NULL
            picked[~known] = 0
            if F.FIGURES[field.figure].type is FieldType.INTEGER:
                picked *= SCALE
            v = np.zeros(n, dtype=np.int64)
            k = np.zeros(n, dtype=np.bool_)
            v[at] = picked
            k[at] = known
            out[key] = Column(v, k, zeroed=True)
        return out


def load_columns(reference_year: int, enterprise_ids: Sequence[int] | None = None, *,
                 keys: Iterable[str] | None = None, reference_date: dt.date | None = None,
                 load_facts: bool = True, all_fields: bool = True, parallel: bool = False) -> Columns:
    """The registry (or the given enterprises) as :class:`Columns` for ``reference_year`` (the policy's
    year: ``figures.x.last`` is ``reference_year - 1``).

    Enterprise fields are all loaded (one query) unless ``all_fields`` is False, when only those among
    ``keys`` are; yearly figures for ``keys`` (default: every figure for the last three years) and the
    facts among them up front; further fields, figures and facts lazily when a rule asks for them.
    ``years_registered`` counts full years up to ``reference_date`` (default: today).  ``parallel``: on
    PostgreSQL outside a transaction, whole-registry reads (lazy ones too) are split between
    :func:`read_connections` connections sharing one snapshot."""
    from django.utils import timezone

    ref_date = reference_date or timezone.localdate()
    loader = _DatabaseLoader(reference_year, ref_date)
    wanted = F.all_keys() if keys is None else list(keys)
    ids, cols = loader.read({*wanted, *(ENTERPRISE_KEYS if all_fields else ())}, enterprise_ids, parallel=parallel)

    def lazy(keys: Sequence[str], for_ids: IntArray) -> dict[str, Column]:
        # a few enterprises: filter by id; many: read the whole table and keep the rows asked for
        few = len(for_ids) <= 10_000
        return loader.read(keys, for_ids if few else None, target=for_ids, parallel=parallel and not few)[1]

    out = Columns(ids, reference_year=reference_year, loader=lazy, load_facts=load_facts)
    for key, col in cols.items():
        out.add(key, col)
    out.ensure(wanted)  # facts asked for up front
    return out
