"""Parsing and validation of rules: JsonLogic in, a typed syntax tree (or a list of errors) out.

The grammar is documented in the package docstring (``yingshang.policies.rules``).  Everything
downstream — :mod:`.describe`, both evaluators in :mod:`.evaluate` — works on the tree built here,
so a rule that passed :func:`validate` can always be described and evaluated.

Numbers: every numeric value is a decimal with 6 places, held as an integer count of millionths
("micro-units"; for money in 万元 one micro-unit is exactly one fen).  See :func:`to_micro`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal

from yingshang.core.errors import ValidationFailed

from . import fields as F
from .fields import Field, FieldType, Labels

Kind = Literal["condition", "amount", "any"]

SCALE = 10**6  # micro-units per unit
LIMIT = 10**18  # |value| in micro-units beyond which a result is treated as missing (overflow)
LITERAL_LIMIT = 10**12  # |literal| in units
EPOCH = dt.date(1970, 1, 1)

MAX_DEPTH = 24
MAX_NODES = 500
MAX_LIST = 500
MAX_STRING = 64

# node value types
BOOL, NUM, DATE, CAT = "bool", "num", "date", "cat"
_TYPE_ZH = {BOOL: "条件（真/假）", NUM: "数值", DATE: "日期", CAT: "文本/类别"}
_TYPE_EN = {BOOL: "a condition (true/false)", NUM: "a number", DATE: "a date", CAT: "a text/category"}

CMP_OPS = ("==", "!=", "<", "<=", ">", ">=")
_ALIASES = {"===": "==", "!==": "!="}


# --- numbers -------------------------------------------------------------------------------------------------


def to_micro(value: Any) -> int | None:
    """A fact value as micro-units, rounded half-up to 6 places; None for missing, not a number,
    or beyond ±10^12."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        out = value * SCALE
    else:
        try:
            d = value if isinstance(value, Decimal) else Decimal(repr(value) if isinstance(value, float) else value)
            if not d.is_finite():
                return None
            out = int((d * SCALE).to_integral_value(ROUND_HALF_UP))
        except (InvalidOperation, TypeError, ValueError):
            return None
    return out if -LIMIT <= out <= LIMIT else None


def from_micro(micro: int) -> Decimal:
    return Decimal(micro).scaleb(-6)


def format_number(micro: int) -> str:
    text = format(from_micro(micro).normalize(), "f")
    return text


def round_div(n: int, d: int) -> int:
    """n / d rounded half away from zero (ROUND_HALF_UP), exact on Python ints."""
    q, r = divmod(abs(n), abs(d))
    if 2 * r >= abs(d):
        q += 1
    return -q if (n < 0) != (d < 0) else q


def to_days(value: Any) -> int | None:
    """A date (or ISO ``YYYY-MM-DD`` text) as days since 1970-01-01."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, dt.date):
        return (value - EPOCH).days
    return None


def from_days(days: int) -> dt.date:
    return EPOCH + dt.timedelta(days=days)


# --- errors --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleError:
    path: str  # JSON pointer into the rule, e.g. "/and/1/>=/0"
    code: str  # unknown_operator, unknown_field, type, arity, literal_list, bad_value, too_large, syntax
    message_zh: str
    message_en: str


class RuleInvalid(ValidationFailed):
    """A rule with errors; ``errors`` holds all of them, the message is the first."""

    def __init__(self, errors: list[RuleError], field: str = "rule"):
        first = errors[0]
        where_zh = f"（位置 {first.path}）" if first.path else ""
        where_en = f" (at {first.path})" if first.path else ""
        super().__init__(first.message_zh + where_zh, first.message_en + where_en, field=field)
        self.errors = errors


# --- the syntax tree ------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Node:
    path: str
    key: str  # canonical text: equal keys evaluate equally (used to share work between rules)
    type: str  # BOOL, NUM, DATE or CAT


@dataclass(frozen=True, eq=False)
class Lit(Node):
    value: Any  # micro-units (NUM), bool, days (DATE)


@dataclass(frozen=True, eq=False)
class Var(Node):
    field: Field
    default: Any = None  # converted like a literal; None: no default
    has_default: bool = False


@dataclass(frozen=True, eq=False)
class Current(Node):
    """``{"var": ""}`` inside ``count_years``: the figure of the year being counted."""

    field: Field


@dataclass(frozen=True, eq=False)
class Logic(Node):
    op: str  # "and" | "or"
    args: tuple[Node, ...]


@dataclass(frozen=True, eq=False)
class Not(Node):
    arg: Node


@dataclass(frozen=True, eq=False)
class Cmp(Node):
    ops: tuple[str, ...]  # one op, or two for the between form a <= x < b
    args: tuple[Node, ...]


@dataclass(frozen=True, eq=False)
class Member(Node):
    """A categorical field against literal values: ``in`` a list, or ``==`` / ``!=`` one value."""

    op: str  # "in" | "==" | "!="
    var: Var
    values: tuple[Any, ...]


@dataclass(frozen=True, eq=False)
class Prefix(Node):
    var: Var
    prefixes: tuple[str, ...]  # normalised (full industry codes, e.g. "C39")


@dataclass(frozen=True, eq=False)
class Arith(Node):
    op: str  # + - * /
    args: tuple[Node, ...]


@dataclass(frozen=True, eq=False)
class Extremum(Node):
    op: str  # min | max
    args: tuple[Node, ...]


@dataclass(frozen=True, eq=False)
class If(Node):
    args: tuple[Node, ...]  # cond, value, cond, value, …, else


@dataclass(frozen=True, eq=False)
class SumYears(Node):
    figure: Field
    years: int

    def keys(self) -> list[str]:
        return [F.figure_key(self.figure.key, k) for k in range(1, self.years + 1)]


@dataclass(frozen=True, eq=False)
class CountYears(Node):
    figure: Field
    years: int
    cond: Node | None

    def keys(self) -> list[str]:
        return [F.figure_key(self.figure.key, k) for k in range(1, self.years + 1)]


def children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Logic | Cmp | Arith | Extremum | If):
        return node.args
    if isinstance(node, Not):
        return (node.arg,)
    if isinstance(node, Member | Prefix):
        return (node.var,)
    if isinstance(node, CountYears) and node.cond is not None:
        return (node.cond,)
    return ()


def walk(node: Node) -> Iterator[Node]:
    yield node
    for child in children(node):
        yield from walk(child)


def var_keys(node: Node) -> set[str]:
    """The column keys a rule reads (for loading only what is needed)."""
    keys: set[str] = set()
    for n in walk(node):
        if isinstance(n, Var):
            keys.add(n.field.key)
        elif isinstance(n, SumYears | CountYears):
            keys.update(n.keys())
    return keys


# --- the parser -------------------------------------------------------------------------------------------------


def _ptr(path: str, *parts: object) -> str:
    for p in parts:
        path += "/" + str(p).replace("~", "~0").replace("/", "~1")
    return path


@dataclass(frozen=True)
class _Raw:
    """A JSON literal whose type is fixed by its context."""

    value: Any
    path: str


class _Abort(Exception):
    pass


def _node_type(field: Field) -> str:
    if field.type.numeric:
        return NUM
    if field.type is FieldType.BOOL:
        return BOOL
    if field.type is FieldType.DATE:
        return DATE
    return CAT


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


class _Parser:
    def __init__(self, labels: Labels | None):
        self.labels = labels
        self.errors: list[RuleError] = []
        self.nodes = 0
        self.unwrapped: set[str] = set()

    # errors
    def err(self, path: str, code: str, zh: str, en: str) -> None:
        self.errors.append(RuleError(path or "", code, zh, en))

    def type_err(self, path: str, want: str, got: str) -> None:
        self.err(path, "type", f"此处应为{_TYPE_ZH[want]}，实际是{_TYPE_ZH[got]}",
                 f"expected {_TYPE_EN[want]} here, got {_TYPE_EN[got]}")

    def arity(self, path: str, op: str, zh: str, en: str) -> None:
        gap = " " if zh[:1].isdigit() else ""
        self.err(path, "arity", f"“{op}”需要{gap}{zh}", f"'{op}' takes {en}")

    # entry
    def parse(self, rule: Any, kind: Kind) -> Node | None:
        try:
            node = self.expr(rule, "", 0, None)
            if kind == "condition":
                return self.expect(node, BOOL)
            if kind == "amount":
                return self.expect(node, NUM)
            if isinstance(node, _Raw):
                self.err("", "type", "规则不能只是一个常量", "a rule cannot be a bare constant")
                return None
            return node
        except _Abort:
            return None

    def expr(self, obj: Any, path: str, depth: int, cur: Field | None) -> Node | _Raw | None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            self.err(path, "too_large", f"规则过大（超过 {MAX_NODES} 个节点）",
                     f"rule too large (more than {MAX_NODES} nodes)")
            raise _Abort
        if depth > MAX_DEPTH:
            self.err(path, "too_large", f"规则嵌套过深（超过 {MAX_DEPTH} 层）",
                     f"rule nested too deeply (more than {MAX_DEPTH} levels)")
            raise _Abort
        if not isinstance(obj, dict):
            return _Raw(obj, path)
        if len(obj) != 1:
            self.err(path, "syntax", "每个运算对象必须恰好有一个运算符", "each operation must have exactly one operator")
            return None
        key, args = next(iter(obj.items()))
        raw_op = str(key)
        op: str = _ALIASES.get(raw_op, raw_op)
        here = _ptr(path, raw_op)
        handler = _HANDLERS.get(op)
        if handler is None:
            self.err(here, "unknown_operator", f"未知运算符“{raw_op}”", f"unknown operator '{raw_op}'")
            return None
        if op != "var" and not isinstance(args, list):
            args = [args]  # JsonLogic's shorthand for one argument: {"!": {"var": "x"}}
            self.unwrapped.add(here)
        return handler(self, op, args, here, depth + 1, cur)

    def child(self, path: str, i: int) -> str:
        """Path of argument ``i`` (the shorthand single argument sits at the operator's own path)."""
        return path if path in self.unwrapped else _ptr(path, i)

    def sub(self, args: list[Any], path: str, depth: int, cur: Field | None) -> list[Node | _Raw | None]:
        return [self.expr(a, self.child(path, i), depth, cur) for i, a in enumerate(args)]

    # typing of children
    def expect(self, node: Node | _Raw | None, want: str) -> Node | None:
        if node is None:
            return None
        if isinstance(node, _Raw):
            return self.literal(node, want)
        if node.type != want:
            self.type_err(node.path, want, node.type)
            return None
        return node

    def literal(self, raw: _Raw, want: str) -> Lit | None:
        v, path = raw.value, raw.path
        if want == BOOL:
            if isinstance(v, bool):
                return Lit(path, "true" if v else "false", BOOL, v)
            self.err(path, "type", f"此处应为条件或 true/false，而不是 {_show(v)}",
                     f"expected a condition or true/false here, not {_show(v)}")
            return None
        if want == NUM:
            micro = self.number(v, path)
            return None if micro is None else Lit(path, f"#{micro}", NUM, micro)
        if want == DATE:
            days = to_days(v) if isinstance(v, str) and len(v) == 10 else None
            if days is None:
                self.err(path, "bad_value", f"日期应写成 YYYY-MM-DD，而不是 {_show(v)}",
                         f"dates are written YYYY-MM-DD, not {_show(v)}")
                return None
            return Lit(path, f"@{days}", DATE, days)
        self.err(path, "type", f"此处不能是常量 {_show(v)}", f"a constant ({_show(v)}) is not allowed here")
        return None

    def number(self, v: Any, path: str) -> int | None:
        if isinstance(v, bool) or not isinstance(v, int | float | Decimal):
            self.err(path, "type", f"此处应为数值，而不是 {_show(v)}", f"expected a number here, not {_show(v)}")
            return None
        if isinstance(v, float) and not math.isfinite(v):
            self.err(path, "bad_value", "数值无效", "invalid number")
            return None
        d = Decimal(repr(v)) if isinstance(v, float) else Decimal(v)
        if not d.is_finite() or abs(d) > LITERAL_LIMIT:
            self.err(path, "bad_value", f"数值超出范围（绝对值不超过 {LITERAL_LIMIT}）",
                     f"number out of range (at most {LITERAL_LIMIT} in absolute value)")
            return None
        exponent = d.normalize().as_tuple().exponent
        if isinstance(exponent, int) and exponent < -6:
            self.err(path, "bad_value", f"数值 {v} 最多保留 6 位小数", f"number {v} has more than 6 decimal places")
            return None
        return int(d * SCALE)

    def category(self, field: Field, v: Any, path: str) -> tuple[bool, Any]:
        """Validate one literal value of a categorical field; (ok, normalised value)."""
        label = field.label_zh
        if v is None:
            if field.nullable:
                return True, None
            self.err(path, "bad_value", f"“{label}”不能与空值比较", f"'{field.label_en}' cannot be compared with null")
            return False, None
        if field.codes is not None:
            code = field.codes.exact(v) if isinstance(v, str) else None
            if code is None:
                self.err(path, "bad_value", f"{_show(v)} 不是有效的{label}小类代码（按门类、大类匹配请用“prefix”）",
                         f"{_show(v)} is not a valid {field.label_en} class code (use 'prefix' for sections, "
                         f"divisions or groups)")
                return False, None
            return True, code
        if field.choices:
            if field.choice(v) is None:
                opts = "、".join(f"{c.value}（{c.label_zh}）" if c.value != c.label_zh else str(c.value)
                                for c in field.choices)
                opts_en = ", ".join(f"{c.value} ({c.label_en})" for c in field.choices)
                self.err(path, "bad_value", f"{_show(v)} 不是“{label}”的可选值（可选：{opts}）",
                         f"{_show(v)} is not a choice of '{field.label_en}' (choices: {opts_en})")
                return False, None
            return True, v
        if field.int_values:
            ok = isinstance(v, int) and not isinstance(v, bool)
        else:
            ok = isinstance(v, str) and 0 < len(v) <= MAX_STRING
        if not ok:
            kind_zh, kind_en = ("编号（整数）", "an id (integer)") if field.int_values else ("文本", "a text")
            self.err(path, "type", f"“{label}”的取值应为{kind_zh}，而不是 {_show(v)}",
                     f"values of '{field.label_en}' are {kind_en}, not {_show(v)}")
            return False, None
        if field.dynamic and self.labels is not None and self.labels.knows(field.key) \
                and not self.labels.has(field.key, v):
            self.err(path, "bad_value", f"{_show(v)} 不是已有的“{label}”", f"{_show(v)} is not a known '{field.label_en}'")
            return False, None
        return True, v

    # handlers -------------------------------------------------------------------------------------------------

    def h_var(self, op: str, args: Any, path: str, depth: int, cur: Field | None) -> Node | None:
        if isinstance(args, list):
            if not 1 <= len(args) <= 2:
                self.arity(path, "var", "1 个字段名，可另加 1 个缺省值", "a field name and optionally a default")
                return None
            name, default = args[0], (args[1] if len(args) == 2 else None)
            has_default = len(args) == 2
        else:
            name, default, has_default = args, None, False
        if not isinstance(name, str):
            self.err(path, "type", "字段名应为文本", "a field name must be a text")
            return None
        if name == "":
            if cur is None:
                self.err(path, "unknown_field", "空字段名只能用在 count_years 的条件中",
                         "the empty field name is only allowed inside a count_years condition")
                return None
            return Current(path, f"cur({cur.key})", NUM, cur)
        field = F.resolve(name)
        if field is None:
            hint_zh = hint_en = ""
            if name.startswith("figures."):
                hint_zh = f"；年度数据写作 figures.<指标>.last 或 figures.<指标>.y-2 … y-{F.MAX_YEARS_BACK}"
                hint_en = f"; yearly figures are figures.<name>.last or figures.<name>.y-2 … y-{F.MAX_YEARS_BACK}"
            self.err(path, "unknown_field", f"未知字段“{name}”{hint_zh}", f"unknown field '{name}'{hint_en}")
            return None
        t = _node_type(field)
        conv: Any = None
        if has_default:
            dpath = _ptr(path, 1)
            if t == CAT:
                ok, conv = self.category(field, default, dpath)
                if not ok:
                    return None
            else:
                lit = self.literal(_Raw(default, dpath), t)
                if lit is None:
                    return None
                conv = lit.value
        key = f"var({field.key}" + (f",{_show(conv)})" if has_default else ")")
        return Var(path, key, t, field, conv, has_default)

    def h_logic(self, op: str, args: list[Any], path: str, depth: int, cur: Field | None) -> Node | None:
        if not args:
            self.arity(path, op, "至少 1 个条件", "at least one condition")
            return None
        kids = [self.expect(k, BOOL) for k in self.sub(args, path, depth, cur)]
        if any(k is None for k in kids):
            return None
        nodes = tuple(k for k in kids if k is not None)
        return Logic(path, f"{op}({','.join(k.key for k in nodes)})", BOOL, op, nodes)

    def h_not(self, op: str, args: list[Any], path: str, depth: int, cur: Field | None) -> Node | None:
        if len(args) != 1:
            self.arity(path, op, "1 个条件", "exactly one condition")
            return None
        kid = self.expect(self.expr(args[0], self.child(path, 0), depth, cur), BOOL)
        return None if kid is None else Not(path, f"not({kid.key})", BOOL, kid)

    def h_cmp(self, op: str, args: list[Any], path: str, depth: int, cur: Field | None) -> Node | None:
        between = op in ("<", "<=") and len(args) == 3
        if len(args) != 2 and not between:
            extra_zh = "（“<”“<=”也可以 3 个参数表示区间）" if op in ("<", "<=") else ""
            extra_en = " (or three for a range with < and <=)" if op in ("<", "<=") else ""
            self.arity(path, op, f"2 个参数{extra_zh}", f"two arguments{extra_en}")
            return None
        kids = self.sub(args, path, depth, cur)
        if any(k is None for k in kids):
            return None
        nodes = [k for k in kids if isinstance(k, Node)]
        if not nodes:
            self.err(path, "type", "比较的两侧不能都是常量", "a comparison needs a field or expression on one side")
            return None
        types = {n.type for n in nodes}
        if len(types) > 1:
            a, b = sorted(types)
            self.err(path, "type", f"不能比较{_TYPE_ZH[a]}与{_TYPE_ZH[b]}", f"cannot compare {_TYPE_EN[a]} with {_TYPE_EN[b]}")
            return None
        t = types.pop()
        ordered = op not in ("==", "!=")
        if t == CAT:
            var = nodes[0]
            if ordered:
                name_zh, name_en = (var.field.label_zh, var.field.label_en) if isinstance(var, Var) else ("", "")
                self.err(path, "type", f"“{name_zh}”是文本/类别字段，不能比较大小（请用 in 或 prefix）",
                         f"'{name_en}' is a text/category field and cannot be ordered (use 'in' or 'prefix')")
                return None
            raws = [k for k in kids if isinstance(k, _Raw)]
            if len(nodes) != 1 or not isinstance(var, Var) or len(raws) != 1:
                self.err(path, "type", "文本/类别字段只能与具体取值比较",
                         "a text/category field can only be compared with a literal value")
                return None
            ok, value = self.category(var.field, raws[0].value, raws[0].path)
            if not ok:
                return None
            return Member(path, f"mem({op},{var.key},{_show(value)})", BOOL, op, var, (value,))
        if ordered and t == BOOL:
            self.err(path, "type", "条件（真/假）不能比较大小", "conditions (true/false) cannot be ordered")
            return None
        typed: list[Node] = []
        for k in kids:
            n = self.literal(k, t) if isinstance(k, _Raw) else k
            if n is None:
                return None
            typed.append(n)
        ops = (op, op) if between else (op,)
        return Cmp(path, f"cmp({','.join(ops)};{','.join(n.key for n in typed)})", BOOL, ops, tuple(typed))

    def categorical_var(self, op: str, arg: Any, path: str, depth: int, cur: Field | None,
                        want: tuple[FieldType, ...]) -> Var | None:
        node = self.expr(arg, self.child(path, 0), depth, cur)
        if node is None:
            return None
        if not isinstance(node, Var) or node.field.type not in want:
            kinds = "行业代码等代码字段" if want == (FieldType.CODE,) else "文本、类别或代码字段"
            kinds_en = "a code field such as the industry" if want == (FieldType.CODE,) else "a text, category or code field"
            self.err(self.child(path, 0), "type", f"“{op}”的第一个参数应为{kinds}", f"the first argument of '{op}' must be {kinds_en}")
            return None
        return node

    def h_in(self, op: str, args: list[Any], path: str, depth: int, cur: Field | None) -> Node | None:
        if len(args) != 2:
            self.arity(path, op, "2 个参数：字段和取值列表", "two arguments: a field and a list of values")
            return None
        var = self.categorical_var(op, args[0], path, depth, cur, (FieldType.STRING, FieldType.ENUM, FieldType.CODE))
        values = args[1]
        lpath = self.child(path, 1)
        if not isinstance(values, list):
            self.err(lpath, "literal_list", "“in”的第二个参数必须是取值列表（如 [\"a\", \"b\"]）",
                     "the second argument of 'in' must be a literal list of values (e.g. [\"a\", \"b\"])")
            return None
        if not values:
            self.err(lpath, "bad_value", "取值列表不能为空", "the list of values must not be empty")
            return None
        if len(values) > MAX_LIST:
            self.err(lpath, "too_large", f"取值列表过长（最多 {MAX_LIST} 项）", f"list too long (at most {MAX_LIST} values)")
            return None
        if var is None:
            return None
        out: list[Any] = []
        for i, v in enumerate(values):
            if isinstance(v, dict | list):
                self.err(_ptr(lpath, i), "literal_list", "取值列表只能包含常量", "the list may only hold literal values")
                return None
            ok, value = self.category(var.field, v, _ptr(lpath, i))
            if not ok:
                return None
            if value not in out:
                out.append(value)
        return Member(path, f"mem(in,{var.key},{_show(out)})", BOOL, "in", var, tuple(out))

    def h_prefix(self, op: str, args: list[Any], path: str, depth: int, cur: Field | None) -> Node | None:
        if len(args) != 2:
            self.arity(path, op, "2 个参数：代码字段和前缀列表", "two arguments: a code field and a list of prefixes")
            return None
        var = self.categorical_var(op, args[0], path, depth, cur, (FieldType.CODE,))
        raw = args[1]
        lpath = self.child(path, 1)
        values = [raw] if isinstance(raw, str) else raw
        if not isinstance(values, list):
            self.err(lpath, "literal_list", "“prefix”的第二个参数必须是代码列表（如 [\"C39\", \"I65\"]）",
                     "the second argument of 'prefix' must be a literal list of codes (e.g. [\"C39\", \"I65\"])")
            return None
        if not values:
            self.err(lpath, "bad_value", "代码列表不能为空", "the list of codes must not be empty")
            return None
        if len(values) > MAX_LIST:
            self.err(lpath, "too_large", f"代码列表过长（最多 {MAX_LIST} 项）", f"list too long (at most {MAX_LIST} codes)")
            return None
        if var is None:
            return None
        assert var.field.codes is not None
        out: list[str] = []
        for i, v in enumerate(values):
            code = var.field.codes.prefix(v) if isinstance(v, str) else None
            if code is None:
                self.err(_ptr(lpath, i), "bad_value", f"{_show(v)} 不是有效的{var.field.label_zh}代码",
                         f"{_show(v)} is not a valid {var.field.label_en} code")
                return None
            if code not in out:
                out.append(code)
        return Prefix(path, f"prefix({var.key},{_show(out)})", BOOL, var, tuple(out))

    def h_arith(self, op: str, args: list[Any], path: str, depth: int, cur: Field | None) -> Node | None:
        ok = {"+": len(args) >= 2, "*": len(args) >= 2, "-": len(args) in (1, 2), "/": len(args) == 2}[op]
        if not ok:
            zh, en = {"+": ("至少 2 个参数", "at least two arguments"), "*": ("至少 2 个参数", "at least two arguments"),
                      "-": ("1 或 2 个参数", "one or two arguments"), "/": ("2 个参数", "two arguments")}[op]
            self.arity(path, op, zh, en)
            return None
        kids = [self.expect(k, NUM) for k in self.sub(args, path, depth, cur)]
        if any(k is None for k in kids):
            return None
        nodes = tuple(k for k in kids if k is not None)
        return Arith(path, f"{op}({','.join(k.key for k in nodes)})", NUM, op, nodes)

    def h_extremum(self, op: str, args: list[Any], path: str, depth: int, cur: Field | None) -> Node | None:
        if not args:
            self.arity(path, op, "至少 1 个参数", "at least one argument")
            return None
        kids = [self.expect(k, NUM) for k in self.sub(args, path, depth, cur)]
        if any(k is None for k in kids):
            return None
        nodes = tuple(k for k in kids if k is not None)
        return Extremum(path, f"{op}({','.join(k.key for k in nodes)})", NUM, op, nodes)

    def h_if(self, op: str, args: list[Any], path: str, depth: int, cur: Field | None) -> Node | None:
        if len(args) < 3 or len(args) % 2 == 0:
            self.arity(path, op, "奇数个参数：条件、值、……、否则的值", "an odd number of arguments: condition, value, …, "
                       "else-value")
            return None
        kids = self.sub(args, path, depth, cur)
        if any(k is None for k in kids):
            return None
        conds = [kids[i] for i in range(0, len(kids) - 1, 2)]
        branches = [kids[i] for i in range(1, len(kids) - 1, 2)] + [kids[-1]]
        typed_conds = [self.expect(c, BOOL) for c in conds]
        types = {b.type for b in branches if isinstance(b, Node)}
        if not types:
            first = branches[0].value  # type: ignore[union-attr]
            types = {BOOL if isinstance(first, bool) else NUM}
        if len(types) > 1 or next(iter(types)) not in (NUM, BOOL):
            self.err(path, "type", "“if”的各分支应同为数值或同为条件", "the branches of 'if' must all be numbers or all "
                     "conditions")
            return None
        t = types.pop()
        typed_branches = [self.expect(b, t) for b in branches]
        if any(c is None for c in typed_conds) or any(b is None for b in typed_branches):
            return None
        ordered: list[Node] = []
        for i, c in enumerate(typed_conds):
            ordered += [c, typed_branches[i]]  # type: ignore[list-item]
        ordered.append(typed_branches[-1])  # type: ignore[arg-type]
        return If(path, f"if({','.join(n.key for n in ordered)})", t, tuple(ordered))

    def figure_years(self, op: str, args: list[Any], path: str) -> tuple[Field, int] | None:
        name, years = args[0], args[1]
        figure = F.FIGURES.get(name) if isinstance(name, str) else None
        if figure is None:
            names = "、".join(F.FIGURES)
            self.err(self.child(path, 0), "unknown_field", f"未知的年度指标 {_show(name)}（可选：{names}）",
                     f"unknown yearly figure {_show(name)} (choices: {', '.join(F.FIGURES)})")
            return None
        if isinstance(years, bool) or not isinstance(years, int) or not 1 <= years <= F.MAX_YEARS_BACK:
            self.err(self.child(path, 1), "bad_value", f"年数应为 1 到 {F.MAX_YEARS_BACK} 的整数",
                     f"the number of years must be an integer from 1 to {F.MAX_YEARS_BACK}")
            return None
        return figure, years

    def h_sum_years(self, op: str, args: list[Any], path: str, depth: int, cur: Field | None) -> Node | None:
        if len(args) != 2:
            self.arity(path, op, "2 个参数：年度指标名和年数", "two arguments: a yearly figure and a number of years")
            return None
        found = self.figure_years(op, args, path)
        if found is None:
            return None
        figure, years = found
        return SumYears(path, f"sum_years({figure.key},{years})", NUM, figure, years)

    def h_count_years(self, op: str, args: list[Any], path: str, depth: int, cur: Field | None) -> Node | None:
        if len(args) not in (2, 3):
            self.arity(path, op, "2 或 3 个参数：年度指标名、年数，可另加条件", "two or three arguments: a yearly figure, "
                       "a number of years and optionally a condition")
            return None
        found = self.figure_years(op, args, path)
        if found is None:
            return None
        figure, years = found
        cond = None
        if len(args) == 3:
            cond = self.expect(self.expr(args[2], self.child(path, 2), depth, figure), BOOL)
            if cond is None:
                return None
        key = f"count_years({figure.key},{years}" + (f",{cond.key})" if cond else ")")
        return CountYears(path, key, NUM, figure, years, cond)


_HANDLERS: dict[str, Callable[..., Node | None]] = {
    "var": _Parser.h_var,
    "and": _Parser.h_logic,
    "or": _Parser.h_logic,
    "!": _Parser.h_not,
    **{op: _Parser.h_cmp for op in CMP_OPS},
    "in": _Parser.h_in,
    "prefix": _Parser.h_prefix,
    **{op: _Parser.h_arith for op in ("+", "-", "*", "/")},
    "min": _Parser.h_extremum,
    "max": _Parser.h_extremum,
    "if": _Parser.h_if,
    "sum_years": _Parser.h_sum_years,
    "count_years": _Parser.h_count_years,
}

OPERATORS = tuple(_HANDLERS) + tuple(_ALIASES)


def _parse(rule: Any, kind: Kind, labels: Labels | None) -> tuple[Node | None, list[RuleError]]:
    if kind not in ("condition", "amount", "any"):
        raise ValueError(f"kind must be 'condition', 'amount' or 'any', not {kind!r}")
    p = _Parser(labels)
    node = p.parse(rule, kind)
    if p.errors:
        return None, p.errors
    assert node is not None
    return node, []


def validate(rule: Any, kind: Kind = "condition", *, labels: Labels | None = None) -> list[RuleError]:
    """All errors of a rule (empty when valid).  ``labels`` (see :func:`fields.db_labels`) also checks
    that townships and parks exist."""
    return _parse(rule, kind, labels)[1]


def ensure_valid(rule: Any, kind: Kind = "condition", *, labels: Labels | None = None) -> Node:
    """The parsed rule; raises :class:`RuleInvalid` (a ``ValidationFailed`` on field ``rule``, or
    ``amount`` for an amount formula)."""
    node, errors = _parse(rule, kind, labels)
    if errors:
        raise RuleInvalid(errors, "amount" if kind == "amount" else "rule")
    assert node is not None
    return node


_CACHE: dict[tuple[str, str, int], tuple[Node | None, list[RuleError]]] = {}
_CACHE_SIZE = 4096


def _cache_text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=lambda o: f"<{type(o).__name__}:{o}>")


def parse(rule: Any, kind: Kind = "condition") -> Node:
    """Like :func:`ensure_valid` without database checks, cached by the rule's canonical JSON
    (and the fact registry's version).  A :class:`Node` is returned as it is."""
    if isinstance(rule, Node):
        return rule
    try:
        key = (_cache_text(rule), kind, F.registry_version())
    except (TypeError, ValueError):
        raise RuleInvalid([RuleError("", "syntax", "规则不是有效的 JSON", "the rule is not valid JSON")],
                          "amount" if kind == "amount" else "rule") from None
    hit = _CACHE.get(key)
    if hit is None:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.clear()
        hit = _CACHE[key] = _parse(rule, kind, None)
    node, errors = hit
    if errors:
        raise RuleInvalid(list(errors), "amount" if kind == "amount" else "rule")
    assert node is not None
    return node
