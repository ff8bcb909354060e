"""Evaluating rules: one enterprise at a time (scalar) or the whole registry at once (vectorised).

Both evaluators implement the same semantics, and the tests check that they agree exactly:

* **Three-valued (Kleene) logic.**  A condition on missing data is *unknown* (数据缺失).  ``and`` is
  false if any part is false, else unknown if any part is unknown, else true; ``or`` is the dual;
  ``!`` keeps unknown.  Comparisons, ``in`` and ``prefix`` are unknown when a value they read is
  missing; an ``if`` whose deciding condition is unknown is unknown.
* **Exact decimal arithmetic.**  Numbers are decimals with 6 places, held as integers of micro-units
  (for 万元, one micro-unit is one fen).  Each ``+ - * /`` result is rounded half away from zero
  (ROUND_HALF_UP) to 6 places; a result beyond ±10^12 is treated as missing (overflow), and so is a
  division by zero.  No floats: the vectorised evaluator computes in ``int64`` and hands the rare
  rows whose intermediate product would not fit to Python integers (floats only pick those rows).
* **Amounts** are formulas in 万元; their result, rounded to 6 places of 万元, is a whole number of
  fen.  :func:`amount` returns ``int64`` fen, :func:`amount_one` a ``Decimal`` in 元 (2 places).

The scalar evaluator reads a fact dict ({field key: value}, missing keys = missing data; the form of
:meth:`.columns.Columns.facts_for`); the vectorised one reads :class:`.columns.Columns` and returns,
for a condition, two boolean arrays ``(true, unknown)``.  :func:`evaluate_all` evaluates many rules
over one set of columns and computes a sub-expression shared by several rules only once.
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, NamedTuple, TypeVar

import numpy as np
import numpy.typing as npt

from . import fields as F
from .columns import Column, Columns
from .describe import negated_text, text
from .fields import Labels, value_label
from .grammar import (
    BOOL,
    CAT,
    LIMIT,
    NUM,
    SCALE,
    Arith,
    Cmp,
    CountYears,
    Current,
    Extremum,
    If,
    Kind,
    Lit,
    Logic,
    Member,
    Node,
    Not,
    Prefix,
    SumYears,
    Var,
    parse,
    round_div,
    to_days,
    to_micro,
    var_keys,
    walk,
)

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
K = TypeVar("K", bound=Hashable)


class Tri(StrEnum):
    """A condition's outcome: 满足 / 不满足 / 数据缺失."""

    TRUE = "true"
    FALSE = "false"
    UNKNOWN = "unknown"

    @property
    def label_zh(self) -> str:
        return {"true": "满足", "false": "不满足", "unknown": "数据缺失"}[self.value]

    @property
    def label_en(self) -> str:
        return {"true": "met", "false": "not met", "unknown": "missing data"}[self.value]

    @classmethod
    def of(cls, value: bool | None) -> Tri:
        return cls.UNKNOWN if value is None else cls.TRUE if value else cls.FALSE


class Outcome(NamedTuple):
    """A condition over many enterprises: ``true`` and ``unknown`` masks (false = neither)."""

    true: BoolArray
    unknown: BoolArray

    @property
    def false(self) -> BoolArray:
        return ~(self.true | self.unknown)


_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
_MISSING = object()  # a categorical value that is missing (None can be a known value: "not in a park")

# --- scalar arithmetic on micro-units (Python ints, exact) --------------------------------------------------


def _in_range(r: int) -> int | None:
    return r if -LIMIT <= r <= LIMIT else None


def _add(a: int, b: int) -> int | None:
    return _in_range(a + b)


def _sub(a: int, b: int) -> int | None:
    return _in_range(a - b)


def _mul(a: int, b: int) -> int | None:
    return _in_range(round_div(a * b, SCALE))


def _div(a: int, b: int) -> int | None:
    return None if b == 0 else _in_range(round_div(a * SCALE, b))


_SCALAR_ARITH: dict[str, Callable[[int, int], int | None]] = {"+": _add, "-": _sub, "*": _mul, "/": _div}

# --- the scalar evaluator: the tree compiled to nested closures ---------------------------------------------
# Fact dicts use canonical keys (``figures.x.y-1``); ``figures.x.last`` is read too, for hand-made dicts.


def _alias(key: str) -> str | None:
    return key[:-3] + "last" if key.startswith("figures.") and key.endswith(".y-1") else None


def _fact(facts: Mapping[str, Any], key: str) -> Any:
    v = facts.get(key)
    if v is None:
        alt = _alias(key)
        if alt is not None:
            v = facts.get(alt)
    return v


ScalarFn = Callable[[Mapping[str, Any], Any], Any]


def _scalar(node: Node) -> ScalarFn:
    if isinstance(node, Lit):
        value = node.value
        return lambda facts, cur: value
    if isinstance(node, Current):
        return lambda facts, cur: cur
    if isinstance(node, Var):
        return _scalar_var(node)
    if isinstance(node, Logic):
        fns = tuple(_scalar(a) for a in node.args)
        if node.op == "and":
            def and_(facts: Mapping[str, Any], cur: Any) -> bool | None:
                unknown = False
                for fn in fns:
                    r = fn(facts, cur)
                    if r is False:
                        return False
                    if r is None:
                        unknown = True
                return None if unknown else True
            return and_

        def or_(facts: Mapping[str, Any], cur: Any) -> bool | None:
            unknown = False
            for fn in fns:
                r = fn(facts, cur)
                if r is True:
                    return True
                if r is None:
                    unknown = True
            return None if unknown else False
        return or_
    if isinstance(node, Not):
        inner = _scalar(node.arg)

        def not_(facts: Mapping[str, Any], cur: Any) -> bool | None:
            r = inner(facts, cur)
            return None if r is None else not r
        return not_
    if isinstance(node, Cmp):
        fns = tuple(_scalar(a) for a in node.args)
        ops = tuple(_OPS[o] for o in node.ops)

        def cmp(facts: Mapping[str, Any], cur: Any) -> bool | None:
            values = []
            for fn in fns:
                v = fn(facts, cur)
                if v is None:
                    return None
                values.append(v)
            return all(op(values[i], values[i + 1]) for i, op in enumerate(ops))
        return cmp
    if isinstance(node, Member):
        var = _scalar_var(node.var)
        values = frozenset(node.values)
        negate = node.op == "!="

        def member(facts: Mapping[str, Any], cur: Any) -> bool | None:
            v = var(facts, cur)
            if v is _MISSING:
                return None
            return (v in values) != negate
        return member
    if isinstance(node, Prefix):
        var = _scalar_var(node.var)
        assert node.var.field.codes is not None
        full = node.var.field.codes.full
        prefixes = node.prefixes

        def prefix(facts: Mapping[str, Any], cur: Any) -> bool | None:
            v = var(facts, cur)
            if v is _MISSING:
                return None
            return (full(v) if isinstance(v, str) else str(v)).startswith(prefixes)
        return prefix
    if isinstance(node, Arith):
        fns = tuple(_scalar(a) for a in node.args)
        if len(fns) == 1:
            only = fns[0]

            def negate_(facts: Mapping[str, Any], cur: Any) -> int | None:
                v = only(facts, cur)
                return None if v is None else -v
            return negate_
        step = _SCALAR_ARITH[node.op]

        def arith(facts: Mapping[str, Any], cur: Any) -> int | None:
            acc: int | None = fns[0](facts, cur)
            for fn in fns[1:]:
                if acc is None:
                    return None
                v = fn(facts, cur)
                if v is None:
                    return None
                acc = step(acc, v)
            return acc
        return arith
    if isinstance(node, Extremum):
        fns = tuple(_scalar(a) for a in node.args)
        pick = min if node.op == "min" else max

        def extremum(facts: Mapping[str, Any], cur: Any) -> int | None:
            values: list[int] = []
            for fn in fns:
                v = fn(facts, cur)
                if v is None:
                    return None
                values.append(v)
            return pick(values)
        return extremum
    if isinstance(node, If):
        fns = tuple(_scalar(a) for a in node.args)

        def if_(facts: Mapping[str, Any], cur: Any) -> Any:
            for i in range(0, len(fns) - 1, 2):
                c = fns[i](facts, cur)
                if c is None:
                    return None
                if c:
                    return fns[i + 1](facts, cur)
            return fns[-1](facts, cur)
        return if_
    if isinstance(node, SumYears):
        keys = tuple(node.keys())

        def sum_years(facts: Mapping[str, Any], cur: Any) -> int | None:
            acc: int | None = 0
            for key in keys:
                v = to_micro(_fact(facts, key))
                if v is None or acc is None:
                    return None
                acc = _add(acc, v)
            return acc
        return sum_years
    if isinstance(node, CountYears):
        keys = tuple(node.keys())
        cond = _scalar(node.cond) if node.cond is not None else None

        def count_years(facts: Mapping[str, Any], cur: Any) -> int | None:
            count = 0
            for key in keys:
                v = to_micro(_fact(facts, key))
                if cond is None:
                    count += v is not None
                    continue
                r = cond(facts, v)
                if r is None:
                    return None
                count += r
            return count * SCALE
        return count_years
    raise TypeError(f"cannot evaluate {type(node).__name__}")


def _scalar_var(node: Var) -> ScalarFn:
    key, default, has_default = node.field.key, node.default, node.has_default
    if node.type == CAT:
        nullable = node.field.nullable
        fallback = default if has_default else _MISSING

        def cat(facts: Mapping[str, Any], cur: Any) -> Any:
            if key in facts:
                v = facts[key]
                if v is not None or nullable:
                    return v
            return fallback
        return cat
    conv: Callable[[Any], Any]
    if node.type == NUM:
        conv = to_micro
    elif node.type == BOOL:
        conv = bool
    else:
        conv = to_days

    alt = _alias(key)

    def var(facts: Mapping[str, Any], cur: Any) -> Any:
        v = facts.get(key)
        if v is None and alt is not None:
            v = facts.get(alt)
        r = None if v is None else conv(v)
        if r is None and has_default:
            return default
        return r
    return var


# --- the vectorised evaluator --------------------------------------------------------------------------------
# Results by node type: BOOL → (t, f) masks (unknown = neither); NUM/DATE → (values, known or None for
# "all known"), values zero where unknown, possibly numpy scalars for literals; CAT → a Column.

_FAST_PRODUCT = 9.0e18  # |a*b| below this (estimated in floats) fits int64
_FAST_DIVIDEND = 9_000_000_000_000  # |a| * SCALE fits int64


@dataclass
class _Ctx:
    cols: Columns
    cache: dict[str, Any]
    remaining: Counter[str] | None  # uses left of sub-expressions shared between rules

    @property
    def n(self) -> int:
        return self.cols.n


VecFn = Callable[[_Ctx, Any], Any]


def _and_known(*ks: BoolArray | None) -> BoolArray | None:
    out: BoolArray | None = None
    for k in ks:
        if k is not None:
            out = k if out is None else out & k
    return out


def _mask(v: Any, k: BoolArray | None) -> Any:
    return v if k is None else np.where(k, v, 0)


def _rdiv_vec(n: Any, d: Any) -> Any:
    """n / d rounded half away from zero, elementwise on int64 (d != 0)."""
    an, ad = np.abs(n), np.abs(d)
    q, r = np.divmod(an, ad)
    up = r >= ad - r
    negative = (np.asarray(n) < 0) != (np.asarray(d) < 0)
    if isinstance(q, np.ndarray) and q.ndim:  # a new array: in place, no temporaries of the registry's size
        q += up
        np.negative(q, out=q, where=negative)
        return q
    q = q + up
    return np.where(negative, -q, q)


def _slow(n: int, a: Any, b: Any, rows: IntArray, step: Callable[[int, int], int | None],
          out: IntArray, known: BoolArray) -> None:
    """Exact Python-int arithmetic for the rows the int64 fast path cannot hold."""
    a_full, b_full = np.broadcast_to(a, (n,)), np.broadcast_to(b, (n,))
    for i in rows:
        r = step(int(a_full[i]), int(b_full[i]))
        out[i] = 0 if r is None else r
        known[i] = r is not None


def _vec_arith(op: str, n: int, a: Any, ka: BoolArray | None, b: Any, kb: BoolArray | None) -> tuple[Any, Any]:
    k = _and_known(ka, kb)
    if op in ("+", "-"):
        r = a + b if op == "+" else a - b
        ok = np.abs(r) <= LIMIT
        if not np.all(ok):
            k = ok if k is None else k & ok
        return _mask(r, k), k
    if op == "*":
        est = np.abs(np.asarray(a, dtype=np.float64) * np.asarray(b, dtype=np.float64))
        big = est >= _FAST_PRODUCT
        if not np.any(big):
            return _rdiv_vec(a * b, SCALE), k
        out = np.array(np.broadcast_to(_rdiv_vec(np.where(big, 0, a) * b, SCALE), (n,)), dtype=np.int64)
        known = np.ones(n, dtype=np.bool_) if k is None else k.copy()
        rows = np.flatnonzero(np.broadcast_to(big, (n,)) & known)
        _slow(n, a, b, rows, _mul, out, known)
        return _mask(out, known), known
    # division
    nonzero = b != 0
    k = _and_known(k, None if np.all(nonzero) else nonzero)
    safe_b = np.where(nonzero, b, 1)
    big = np.abs(a) > _FAST_DIVIDEND
    if not np.any(big):
        r = _rdiv_vec(a * SCALE, safe_b)
    else:
        r = _rdiv_vec(np.where(big, 0, a) * SCALE, safe_b)
    ok = np.abs(r) <= LIMIT
    known = np.array(np.broadcast_to(ok if k is None else k & ok, (n,)))
    out = np.array(np.broadcast_to(r, (n,)), dtype=np.int64)
    if np.any(big):
        rows = np.flatnonzero(np.broadcast_to(big, (n,)) & np.broadcast_to(True if k is None else k, (n,)))
        _slow(n, a, b, rows, _div, out, known)
    return _mask(out, known), (None if known.all() else known)


def _vector(node: Node) -> VecFn:
    fn = _vector_uncached(node)
    if isinstance(node, Lit | Var | Current):
        return fn
    key = node.key

    def cached(ctx: _Ctx, cur: Any) -> Any:
        remaining = ctx.remaining
        if cur is not None or remaining is None or key not in remaining:
            return fn(ctx, cur)
        hit = ctx.cache.get(key)
        if hit is None:
            hit = ctx.cache[key] = fn(ctx, cur)
        remaining[key] -= 1
        if remaining[key] <= 0:
            del remaining[key]
            ctx.cache.pop(key, None)
        return hit
    return cached


def _vector_uncached(node: Node) -> VecFn:
    if isinstance(node, Lit):
        value = node.value
        if node.type == BOOL:
            return lambda ctx, cur: (np.full(ctx.n, value), np.full(ctx.n, not value))
        scalar = np.int64(value)
        return lambda ctx, cur: (scalar, None)
    if isinstance(node, Current):
        return lambda ctx, cur: cur
    if isinstance(node, Var):
        return _vector_var(node)
    if isinstance(node, Logic):
        fns = tuple(_vector(a) for a in node.args)
        is_and = node.op == "and"

        def logic(ctx: _Ctx, cur: Any) -> tuple[BoolArray, BoolArray]:
            t, f = fns[0](ctx, cur)
            for fn in fns[1:]:
                t2, f2 = fn(ctx, cur)
                t, f = (t & t2, f | f2) if is_and else (t | t2, f & f2)
            return t, f
        return logic
    if isinstance(node, Not):
        inner = _vector(node.arg)

        def not_(ctx: _Ctx, cur: Any) -> tuple[BoolArray, BoolArray]:
            t, f = inner(ctx, cur)
            return f, t
        return not_
    if isinstance(node, Cmp):
        return _vector_cmp(node)
    if isinstance(node, Member | Prefix):
        return _vector_categorical(node)
    if isinstance(node, Arith):
        fns = tuple(_vector(a) for a in node.args)
        op = node.op

        def arith(ctx: _Ctx, cur: Any) -> tuple[Any, Any]:
            v, k = fns[0](ctx, cur)
            if len(fns) == 1:
                return -v, k
            for fn in fns[1:]:
                v2, k2 = fn(ctx, cur)
                v, k = _vec_arith(op, ctx.n, v, k, v2, k2)
            return v, k
        return arith
    if isinstance(node, Extremum):
        fns = tuple(_vector(a) for a in node.args)
        pick = np.minimum if node.op == "min" else np.maximum

        def extremum(ctx: _Ctx, cur: Any) -> tuple[Any, Any]:
            v, k = fns[0](ctx, cur)
            for fn in fns[1:]:
                v2, k2 = fn(ctx, cur)
                v, k = pick(v, v2), _and_known(k, k2)
            return _mask(v, k), k
        return extremum
    if isinstance(node, If):
        return _vector_if(node)
    if isinstance(node, SumYears):
        keys = tuple(node.keys())

        def sum_years(ctx: _Ctx, cur: Any) -> tuple[Any, Any]:
            v: Any = np.int64(0)
            k: BoolArray | None = None
            for key in keys:
                col = ctx.cols.column(key)
                v, k = _vec_arith("+", ctx.n, v, k, col.values, None if col.all_known else col.known)
            return v, k
        return sum_years
    if isinstance(node, CountYears):
        return _vector_count(node)
    raise TypeError(f"cannot evaluate {type(node).__name__}")


def _vector_var(node: Var) -> VecFn:
    key, default, has_default = node.field.key, node.default, node.has_default
    if node.type == CAT:
        def cat(ctx: _Ctx, cur: Any) -> Column:
            col = ctx.cols.column(key)
            if not has_default or col.all_known:
                return col
            vocab = col.vocab or ()
            if default in vocab:
                code, new_vocab = vocab.index(default), vocab
            else:
                code, new_vocab = len(vocab), (*vocab, default)
            values = np.where(col.known, col.values.astype(np.int64), code)
            return Column(values, np.ones(ctx.n, dtype=np.bool_), new_vocab)
        return cat
    if node.type == BOOL:
        def boolean(ctx: _Ctx, cur: Any) -> tuple[BoolArray, BoolArray]:
            col = ctx.cols.column(key)
            v = col.values
            if col.all_known:
                return v, ~v
            if has_default:
                v = np.where(col.known, v, bool(default))
                return v, ~v
            return v & col.known, ~v & col.known
        return boolean

    def value(ctx: _Ctx, cur: Any) -> tuple[Any, Any]:
        col = ctx.cols.column(key)
        if col.all_known:
            return col.values, None
        if has_default:
            return np.where(col.known, col.values, default), None
        return col.values, col.known
    return value


def _vector_cmp(node: Cmp) -> VecFn:
    fns = tuple(_vector(a) for a in node.args)
    ops = tuple(_OPS[o] for o in node.ops)
    if node.args[0].type == BOOL:
        equal = node.ops[0] == "=="

        def bool_cmp(ctx: _Ctx, cur: Any) -> tuple[BoolArray, BoolArray]:
            t1, f1 = fns[0](ctx, cur)
            t2, f2 = fns[1](ctx, cur)
            same, differ = (t1 & t2) | (f1 & f2), (t1 & f2) | (f1 & t2)
            return (same, differ) if equal else (differ, same)
        return bool_cmp

    def cmp(ctx: _Ctx, cur: Any) -> tuple[BoolArray, BoolArray]:
        results = [fn(ctx, cur) for fn in fns]
        c = ops[0](results[0][0], results[1][0])
        if len(ops) == 2:
            c = c & ops[1](results[1][0], results[2][0])
        c = np.broadcast_to(c, (ctx.n,))
        k = _and_known(*(r[1] for r in results))
        if k is None:
            return c, ~c
        return c & k, ~c & k
    return cmp


def _vector_categorical(node: Member | Prefix) -> VecFn:
    var = _vector_var(node.var)
    if isinstance(node, Member):
        values = frozenset(node.values)
        negate = node.op == "!="

        def test(v: Any) -> bool:
            return (v in values) != negate
    else:
        assert node.var.field.codes is not None
        full = node.var.field.codes.full
        prefixes = node.prefixes

        def test(v: Any) -> bool:
            return (full(v) if isinstance(v, str) else str(v)).startswith(prefixes)

    def categorical(ctx: _Ctx, cur: Any) -> tuple[BoolArray, BoolArray]:
        col: Column = var(ctx, cur)
        if not col.vocab:
            nothing = np.zeros(ctx.n, dtype=np.bool_)
            return nothing, nothing
        table = np.fromiter((test(v) for v in col.vocab), dtype=np.bool_, count=len(col.vocab))
        hit = table[col.values]
        if col.all_known:
            return hit, ~hit
        return hit & col.known, ~hit & col.known
    return categorical


def _vector_if(node: If) -> VecFn:
    fns = tuple(_vector(a) for a in node.args)
    if node.type == BOOL:
        def if_bool(ctx: _Ctx, cur: Any) -> tuple[BoolArray, BoolArray]:
            t = np.zeros(ctx.n, dtype=np.bool_)
            f = np.zeros(ctx.n, dtype=np.bool_)
            rest = np.ones(ctx.n, dtype=np.bool_)
            for i in range(0, len(fns) - 1, 2):
                ct, cf = fns[i](ctx, cur)
                vt, vf = fns[i + 1](ctx, cur)
                take = rest & ct
                t, f, rest = t | (take & vt), f | (take & vf), rest & cf
            et, ef = fns[-1](ctx, cur)
            return t | (rest & et), f | (rest & ef)
        return if_bool

    def if_num(ctx: _Ctx, cur: Any) -> tuple[Any, Any]:
        out = np.zeros(ctx.n, dtype=np.int64)
        known = np.zeros(ctx.n, dtype=np.bool_)
        rest = np.ones(ctx.n, dtype=np.bool_)
        for i in range(0, len(fns) - 1, 2):
            ct, cf = fns[i](ctx, cur)
            v, k = fns[i + 1](ctx, cur)
            take = rest & ct
            out = np.where(take, v, out)
            known |= take if k is None else take & k
            rest = rest & cf
        v, k = fns[-1](ctx, cur)
        out = np.where(rest, v, out)
        known |= rest if k is None else rest & k
        return _mask(out, known), known
    return if_num


def _vector_count(node: CountYears) -> VecFn:
    keys = tuple(node.keys())
    cond = _vector(node.cond) if node.cond is not None else None

    def count_years(ctx: _Ctx, cur: Any) -> tuple[Any, Any]:
        count = np.zeros(ctx.n, dtype=np.int64)
        unknown = np.zeros(ctx.n, dtype=np.bool_)
        for key in keys:
            col = ctx.cols.column(key)
            if cond is None:
                count += col.known
                continue
            t, f = cond(ctx, (col.values, None if col.all_known else col.known))
            count += t
            unknown |= ~(t | f)
        return _mask(count * SCALE, ~unknown), (None if cond is None else ~unknown)
    return count_years


# --- compiled rules --------------------------------------------------------------------------------------------


class Compiled:
    """A parsed rule with both evaluators ready.  Build once, evaluate often."""

    def __init__(self, rule: Any, kind: Kind = "condition"):
        self.node = parse(rule, kind)
        self.kind = kind
        self.type = self.node.type
        self._scalar = _scalar(self.node)
        self._vector = _vector(self.node)

    def keys(self) -> set[str]:
        """Column keys the rule reads."""
        return var_keys(self.node)

    # one enterprise
    def one(self, facts: Mapping[str, Any]) -> Tri:
        if self.type != BOOL:
            raise TypeError("not a condition")
        return Tri.of(self._scalar(facts, None))

    def value_one(self, facts: Mapping[str, Any]) -> int | None:
        """A numeric rule's value in micro-units (for 万元: fen), None when unknown."""
        if self.type != NUM:
            raise TypeError("not a number")
        return self._scalar(facts, None)  # type: ignore[no-any-return]

    # many enterprises
    def __call__(self, cols: Columns, *, _ctx: _Ctx | None = None) -> Outcome:
        if self.type != BOOL:
            raise TypeError("not a condition")
        ctx = _ctx or _Ctx(cols, {}, None)
        t, f = self._vector(ctx, None)
        t = np.broadcast_to(t, (cols.n,))
        f = np.broadcast_to(f, (cols.n,))
        return Outcome(np.array(t, dtype=np.bool_), ~(t | f))

    def values(self, cols: Columns) -> tuple[IntArray, BoolArray]:
        """A numeric rule's values in micro-units and the known mask."""
        if self.type != NUM:
            raise TypeError("not a number")
        v, k = self._vector(_Ctx(cols, {}, None), None)
        known = np.ones(cols.n, dtype=np.bool_) if k is None else np.array(np.broadcast_to(k, (cols.n,)))
        out = np.array(np.broadcast_to(v, (cols.n,)), dtype=np.int64)
        out[~known] = 0
        return out, known


def compile(rule: Any, kind: Kind = "condition") -> Compiled:
    """Parse once; evaluate with ``compiled(columns)`` or ``compiled.one(facts)``."""
    return rule if isinstance(rule, Compiled) else Compiled(rule, kind)


def evaluate_one(rule: Any, facts: Mapping[str, Any]) -> Tri:
    """One enterprise, one condition (the naive per-enterprise interpreter)."""
    return compile(rule).one(facts)


def evaluate_columns(rule: Any, cols: Columns) -> Outcome:
    """One condition over many enterprises."""
    return compile(rule)(cols)


def evaluate_all(rules: Mapping[K, Any], cols: Columns) -> dict[K, Outcome]:
    """Every rule over the same columns; a sub-expression used by several rules is computed once (and
    dropped after its last use, so memory stays bounded)."""
    compiled = {name: compile(rule) for name, rule in rules.items()}
    uses: Counter[str] = Counter()
    for c in compiled.values():
        for n in walk(c.node):
            if not isinstance(n, Lit | Var | Current):
                uses[n.key] += 1
    shared = Counter({key: count for key, count in uses.items() if count > 1})
    ctx = _Ctx(cols, {}, shared)
    return {name: c(cols, _ctx=ctx) for name, c in compiled.items()}


# --- amounts ------------------------------------------------------------------------------------------------------


def amount_fen_one(formula: Any, facts: Mapping[str, Any]) -> int | None:
    """An amount formula (in 万元) for one enterprise, as whole fen; None when it cannot be computed."""
    return compile(formula, "amount").value_one(facts)


def amount_one(formula: Any, facts: Mapping[str, Any]) -> Decimal | None:
    """An amount formula (in 万元) for one enterprise, as 元 with 2 places (``Decimal``)."""
    fen = amount_fen_one(formula, facts)
    return None if fen is None else Decimal(fen).scaleb(-2)


def amount(formula: Any, cols: Columns) -> tuple[IntArray, BoolArray]:
    """An amount formula (in 万元) over many enterprises: ``int64`` fen and the known mask."""
    return compile(formula, "amount").values(cols)


def fen_to_yuan(fen: int) -> Decimal:
    return Decimal(int(fen)).scaleb(-2)


# --- explanations -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Leaf:
    """One condition of a rule for one enterprise: 满足 / 不满足 / 数据缺失, with the values it read."""

    path: str
    text_zh: str
    text_en: str
    state: Tri
    values: dict[str, Any]  # field key → the enterprise's value (None: missing)
    values_zh: str
    values_en: str


def _leaves(node: Node, negated: bool, out: list[tuple[Node, bool]]) -> None:
    if isinstance(node, Logic):
        for arg in node.args:
            _leaves(arg, negated, out)
    elif isinstance(node, Not):
        _leaves(node.arg, not negated, out)
    else:
        out.append((node, negated))


def _read(node: Node) -> list[Var | tuple[Any, str]]:
    """The values a condition reads: vars, and the yearly keys of sum_years/count_years."""
    found: list[Any] = []
    for n in walk(node):
        if isinstance(n, Var):
            found.append(n)
        elif isinstance(n, SumYears | CountYears):
            for key in n.keys():
                field = F.resolve(key)
                found.append((field, key))
    return found


def explain(rule: Any, facts: Mapping[str, Any], *, labels: Labels | None = None) -> list[Leaf]:
    """Each condition of a rule (negations pushed down, as in :func:`.describe.describe`) with its state
    for one enterprise and the values it read."""
    node = parse(rule, "condition")
    pairs: list[tuple[Node, bool]] = []
    _leaves(node, False, pairs)
    out: list[Leaf] = []
    for leaf, negated in pairs:
        r = _scalar(leaf)(facts, None)
        if negated and r is not None:
            r = not r
        values: dict[str, Any] = {}
        shown_zh: list[str] = []
        shown_en: list[str] = []
        for item in _read(leaf):
            field, key = (item.field, item.field.key) if isinstance(item, Var) else item
            if key in values:
                continue
            v = _fact(facts, key)
            missing = v is None and not (field.nullable and key in facts)
            values[key] = v
            shown_zh.append(f"{field.label('zh')}：{'缺失' if missing else value_label(field, v, 'zh', labels)}")
            shown_en.append(f"{field.label('en')}: {'missing' if missing else value_label(field, v, 'en', labels)}")
        say = negated_text if negated else text
        out.append(Leaf(leaf.path, say(leaf, "zh", labels), say(leaf, "en", labels), Tri.of(r), values,
                        "；".join(shown_zh), "; ".join(shown_en)))
    return out


def required_keys(rules: Iterable[Any], kind: Kind = "condition") -> set[str]:
    """Column keys a set of rules reads (to load only those)."""
    keys: set[str] = set()
    for rule in rules:
        keys |= compile(rule, kind).keys()
    return keys
