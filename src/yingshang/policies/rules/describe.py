"""Rules in plain Chinese (and English), as a policy officer reads them.

    >>> describe({"and": [{"prefix": [{"var": "industry_code"}, ["C"]]},
    ...                   {">=": [{"var": "figures.revenue_wan.last"}, 2000]}]})
    '行业属于 制造业（C） 且 上年营业收入（万元） ≥ 2000'

Enum values and codes are shown by their labels; townships and parks by name when a
:class:`~.fields.Labels` is given (``fields.db_labels()``), by code otherwise.  Negations are pushed
down to the conditions (``!`` over ``and`` reads as ``或`` of the negated parts), which is also how
:func:`.evaluate.explain` lists the conditions.
"""

from __future__ import annotations

from typing import Any

from .fields import Field, Labels, value_label
from .grammar import (
    BOOL,
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
    format_number,
    from_days,
    parse,
)

_SYM = {"==": "=", "!=": "≠", "<": "<", "<=": "≤", ">": ">", ">=": "≥"}
_NEG = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_JOIN = {("and", "zh"): " 且 ", ("or", "zh"): " 或 ", ("and", "en"): " and ", ("or", "en"): " or "}
_ARITH = {"+": " + ", "-": " - ", "*": " × ", "/": " ÷ "}
_PREC = {"+": 1, "-": 1, "*": 2, "/": 2}


def describe(rule: Any, *, lang: str = "zh", labels: Labels | None = None, kind: Kind = "any") -> str:
    """A rule (JsonLogic or a parsed :class:`~.grammar.Node`) in words; raises ``RuleInvalid``."""
    return text(parse(rule, kind), lang, labels)


def describe_en(rule: Any, *, labels: Labels | None = None, kind: Kind = "any") -> str:
    return describe(rule, lang="en", labels=labels, kind=kind)


def _wrap(s: str, lang: str) -> str:
    return f"（{s}）" if lang == "zh" else f"({s})"


def _values(field: Field, values: tuple[Any, ...], lang: str, labels: Labels | None) -> str:
    sep = "、" if lang == "zh" else ", "
    return sep.join(value_label(field, v, lang, labels) for v in values)


def _prefixes(field: Field, prefixes: tuple[str, ...], lang: str) -> str:
    assert field.codes is not None
    labels = [field.codes.label(p)[0 if lang == "zh" else 1] for p in prefixes]
    return ("、" if lang == "zh" else ", ").join(labels)


def _var_label(node: Var, lang: str, labels: Labels | None) -> str:
    return node.field.label(lang) + _default_suffix(node, lang, labels)


def _default_suffix(node: Var, lang: str, labels: Labels | None) -> str:
    """``（缺失按 0）`` for a var with a default."""
    if not node.has_default:
        return ""
    if node.type == BOOL:
        shown = ("是" if node.default else "否") if lang == "zh" else ("true" if node.default else "false")
    elif node.type == "num":
        shown = format_number(node.default)
    elif node.type == "date":
        shown = from_days(node.default).isoformat()
    else:
        shown = value_label(node.field, node.default, lang, labels)
    return f"（缺失按 {shown}）" if lang == "zh" else f" (or {shown} if missing)"


def _bool_var_cmp(node: Cmp) -> tuple[Var, bool] | None:
    """``{"==": [{"var": "is_high_tech"}, true]}`` → (the var, True)."""
    if node.type != BOOL or len(node.args) != 2 or node.args[0].type != BOOL:
        return None
    a, b = node.args
    var, lit = (a, b) if isinstance(a, Var) else (b, a)
    if not isinstance(var, Var) or not isinstance(lit, Lit):
        return None
    return var, bool(lit.value) != (node.ops[0] == "!=")


def text(node: Node, lang: str = "zh", labels: Labels | None = None) -> str:
    """The words for one node of a parsed rule."""
    zh = lang == "zh"
    if isinstance(node, Logic):
        parts = []
        for arg in node.args:
            s = text(arg, lang, labels)
            needs = (isinstance(arg, Logic) and arg.op != node.op) or isinstance(arg, If) or (
                isinstance(arg, Not) and isinstance(arg.arg, Logic) and arg.arg.op == node.op)
            parts.append(_wrap(s, lang) if needs and len(node.args) > 1 else s)
        return _JOIN[(node.op, lang)].join(parts)
    if isinstance(node, Not):
        return negated_text(node.arg, lang, labels)
    if isinstance(node, Var):
        if node.type == BOOL:
            return node.field.phrase(True, lang) + _default_suffix(node, lang, labels)
        return _var_label(node, lang, labels)
    if isinstance(node, Lit):
        if node.type == BOOL:
            return ("是" if node.value else "否") if zh else ("true" if node.value else "false")
        if node.type == "date":
            return from_days(node.value).isoformat()
        return format_number(node.value)
    if isinstance(node, Cmp):
        found = _bool_var_cmp(node)
        if found is not None:
            return found[0].field.phrase(found[1], lang)
        args = [_operand(a, lang, labels) for a in node.args]
        out = args[0]
        for op, operand in zip(node.ops, args[1:]):
            out += f" {_SYM[op]} {operand}"
        return out
    if isinstance(node, Member):
        label = _var_label(node.var, lang, labels)
        vals = _values(node.var.field, node.values, lang, labels)
        if node.op == "in":
            return f"{label}属于 {vals}" if zh else f"{label} is one of {vals}"
        if node.op == "==":
            return f"{label}为 {vals}" if zh else f"{label} is {vals}"
        return f"{label}不为 {vals}" if zh else f"{label} is not {vals}"
    if isinstance(node, Prefix):
        label = _var_label(node.var, lang, labels)
        vals = _prefixes(node.var.field, node.prefixes, lang)
        return f"{label}属于 {vals}" if zh else f"{label} in {vals}"
    if isinstance(node, Arith):
        if len(node.args) == 1:
            return "-" + _arith_operand(node.args[0], 3, lang, labels)
        prec = _PREC[node.op]
        out = _arith_operand(node.args[0], prec, lang, labels)
        for arg in node.args[1:]:
            # a - (b + c), a / (b * c): the right operand of - and / needs brackets at equal precedence
            need = prec + 1 if node.op in ("-", "/") else prec
            out += _ARITH[node.op] + _arith_operand(arg, need, lang, labels)
        return out
    if isinstance(node, Extremum):
        inner = ", ".join(text(a, lang, labels) for a in node.args)
        if len(node.args) == 1:
            return inner
        name = ({"min": "较小值", "max": "较大值"} if zh else {"min": "min", "max": "max"})[node.op]
        return f"{name}({inner})"
    if isinstance(node, If):
        parts = []
        for i in range(0, len(node.args) - 1, 2):
            cond, value = text(node.args[i], lang, labels), _operand(node.args[i + 1], lang, labels)
            if zh:
                parts.append(f"{'否则若' if i else '若'} {cond} 则 {value}")
            else:
                parts.append(f"{'else if' if i else 'if'} {cond} then {value}")
        last = _operand(node.args[-1], lang, labels)
        parts.append(f"否则 {last}" if zh else f"else {last}")
        return ("；" if zh else "; ").join(parts)
    if isinstance(node, SumYears):
        label = node.figure.label(lang)
        return f"近{node.years}年{label}合计" if zh else f"total {label} over the last {node.years} years"
    if isinstance(node, CountYears):
        label = node.figure.label_zh if zh else node.figure.label_en
        if node.cond is None:
            return (f"近{node.years}年有{label}数据的年数" if zh
                    else f"number of the last {node.years} years with {label} data")
        cond = text(node.cond, lang, labels)
        return (f"近{node.years}年中满足“{cond}”的年数" if zh
                else f"number of the last {node.years} years where {cond}")
    if isinstance(node, Current):
        return f"当年{node.field.label('zh')}" if zh else f"{node.field.label('en')} that year"
    raise TypeError(f"cannot describe {type(node).__name__}")


def _operand(node: Node, lang: str, labels: Labels | None) -> str:
    s = text(node, lang, labels)
    return _wrap(s, lang) if isinstance(node, If | Logic) else s


def _arith_operand(node: Node, need: int, lang: str, labels: Labels | None) -> str:
    s = text(node, lang, labels)
    if isinstance(node, If):
        return _wrap(s, lang)
    if isinstance(node, Arith):
        prec = 3 if len(node.args) == 1 else _PREC[node.op]
        if prec < need:
            return f"({s})"
    return s


def negated_text(node: Node, lang: str = "zh", labels: Labels | None = None) -> str:
    """The words for the negation of a condition, pushed down to its parts."""
    zh = lang == "zh"
    if isinstance(node, Not):
        return text(node.arg, lang, labels)
    if isinstance(node, Logic):
        dual = Logic(node.path, node.key, node.type, "or" if node.op == "and" else "and",
                     tuple(Not(a.path, f"not({a.key})", BOOL, a) for a in node.args))
        return text(dual, lang, labels)
    if isinstance(node, Var) and node.type == BOOL:
        return node.field.phrase(False, lang) + _default_suffix(node, lang, labels)
    if isinstance(node, Cmp):
        found = _bool_var_cmp(node)
        if found is not None:
            return found[0].field.phrase(not found[1], lang)
        if len(node.ops) == 1:
            flipped = Cmp(node.path, node.key, node.type, (_NEG[node.ops[0]],), node.args)
            return text(flipped, lang, labels)
    if isinstance(node, Member):
        if node.op == "in":
            label = _var_label(node.var, lang, labels)
            vals = _values(node.var.field, node.values, lang, labels)
            return f"{label}不属于 {vals}" if zh else f"{label} is none of {vals}"
        flipped_member = Member(node.path, node.key, node.type, "!=" if node.op == "==" else "==", node.var,
                                node.values)
        return text(flipped_member, lang, labels)
    if isinstance(node, Prefix):
        label = _var_label(node.var, lang, labels)
        vals = _prefixes(node.var.field, node.prefixes, lang)
        return f"{label}不属于 {vals}" if zh else f"{label} not in {vals}"
    s = text(node, lang, labels)
    return f"并非（{s}）" if zh else f"not ({s})"
