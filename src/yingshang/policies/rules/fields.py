"""The field catalogue: everything a rule may speak about.

Three sources:

* enterprise fields (``industry_code``, ``township``, ``is_high_tech`` …) — columns of
  ``enterprises.Enterprise``, some derived (``size_class``, ``above_designated``, ``years_registered``);
* yearly figures relative to the reference year — ``figures.<figure>.last`` (reference year − 1, also
  written ``figures.<figure>.y-1``) back to ``figures.<figure>.y-5``, from ``enterprises.YearFigure``;
* cross-module facts that other apps register with :func:`register_fact` (``credit.black_list``,
  ``payouts.item.<code>`` …), each with a loader returning a column for a list of enterprise ids.

Pure Python: no Django import at module level.  Labels of townships and parks (database rows) come
from a :class:`Labels` object, built from the database by :func:`db_labels`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any

from yingshang.enterprises import industries

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from .columns import Column

#: How many years back a rule may look (``figures.x.y-5`` is the oldest).
MAX_YEARS_BACK = 5


class FieldType(StrEnum):
    NUMBER = "number"  # decimal, 6 places (money in 万元 to the fen)
    INTEGER = "integer"
    BOOL = "bool"
    STRING = "string"
    ENUM = "enum"  # one of ``choices`` (or, for dynamic enums, of the database rows)
    CODE = "code"  # hierarchical code, prefix-matchable (industry)
    DATE = "date"

    @property
    def numeric(self) -> bool:
        return self in (FieldType.NUMBER, FieldType.INTEGER)

    @property
    def categorical(self) -> bool:
        return self in (FieldType.STRING, FieldType.ENUM, FieldType.CODE)


class Source(StrEnum):
    ENTERPRISE = "enterprise"
    DERIVED = "derived"
    FIGURE = "figure"
    FACT = "fact"


@dataclass(frozen=True)
class Choice:
    value: Any  # str, or int for parks
    label_zh: str
    label_en: str


@dataclass(frozen=True)
class CodeSystem:
    """How a ``code`` field's values are matched and labelled.

    ``prefix`` normalises a prefix written in a rule to the form matched against ``full`` data values
    (None when the prefix is not a known code); ``exact`` normalises a value for ``==``/``in``;
    ``label`` gives the display label of a (normalised) prefix."""

    prefix: Callable[[str], str | None]
    exact: Callable[[str], str | None]
    full: Callable[[str], str]
    label: Callable[[str], tuple[str, str]]
    example: str


@dataclass(frozen=True)
class Field:
    key: str  # canonical var name, e.g. "figures.revenue_wan.y-1"
    label_zh: str
    label_en: str
    type: FieldType
    source: Source
    origin: str  # where the value comes from, for the catalogue page
    unit_zh: str = ""
    unit_en: str = ""
    choices: tuple[Choice, ...] = ()
    dynamic: bool = False  # choices are database rows (townships, parks), labelled through Labels
    int_values: bool = False  # values are integer ids (parks) rather than strings
    nullable: bool = False  # None is a known value ("不在园区"), not missing data
    none_zh: str = ""
    none_en: str = ""
    true_zh: str = ""  # phrase when a bool field is true ("是高新技术企业")
    false_zh: str = ""
    true_en: str = ""
    false_en: str = ""
    codes: CodeSystem | None = None
    figure: str | None = None  # figures: the YearFigure field
    offset: int | None = None  # figures: years before the reference year (1 = last year)
    param: str | None = None  # parametric facts: the parameter (an item code)
    # the enterprise can change it by acting (a certification, a capital increase, a credit repair);
    # not: where it is, what it does, its history — "you are close" only names actionable conditions
    actionable: bool = False

    def choice(self, value: Any) -> Choice | None:
        for c in self.choices:
            if c.value == value:
                return c
        return None

    def label(self, lang: str = "zh") -> str:
        """Display label with year and unit: ``上年营业收入（万元）``."""
        if lang == "zh":
            base = (year_word(self.offset) if self.offset else "") + self.label_zh
            return f"{base}（{self.unit_zh}）" if self.unit_zh else base
        base = f"{self.label_en} ({self.unit_en})" if self.unit_en else self.label_en
        return f"{base} {year_word(self.offset, 'en')}" if self.offset else base

    def phrase(self, value: bool, lang: str = "zh") -> str:
        """``是高新技术企业`` / ``不是高新技术企业`` for a bool field."""
        if lang == "zh":
            return (self.true_zh or f"是{self.label_zh}") if value else (self.false_zh or f"不是{self.label_zh}")
        return (self.true_en or f"is {self.label_en}") if value else (self.false_en or f"is not {self.label_en}")


def year_word(offset: int, lang: str = "zh") -> str:
    if lang == "zh":
        return {1: "上年", 2: "前年", 3: "大前年"}.get(offset, f"{offset}年前")
    return "last year" if offset == 1 else f"{offset} years ago"


# --- industry codes (GB/T 4754-2017) ----------------------------------------------------------------
# The registry stores 4-digit class codes ("3911"); rules may name a section ("C"), division ("39" or
# "C39"), group ("391"/"C391") or class.  Prefix matching works on full codes, section letter first:
# "C3911".startswith("C39").


def _industry_prefix(raw: str) -> str | None:
    found = industries.get(raw) if isinstance(raw, str) else None
    return found.full_code if found else None


def _industry_exact(raw: str) -> str | None:
    try:
        return industries.parse_class_code(raw)
    except (ValueError, TypeError):
        return None


@cache
def _industry_full(code: str) -> str:
    section = industries.section_of(code)
    return (section + code) if section and code[:1].isdigit() else code


def _industry_label(code: str) -> tuple[str, str]:
    found = industries.get(code)
    if found is None:
        return code, code
    return f"{found.name}（{found.full_code}）", f"{found.name} ({found.full_code})"


INDUSTRY_CODES = CodeSystem(prefix=_industry_prefix, exact=_industry_exact, full=_industry_full,
                            label=_industry_label, example="C39")


# --- the catalogue -------------------------------------------------------------------------------------
# Enum choices restate enterprises.models.Enterprise.Kind/Status/Size (kept pure; a unit test checks
# that they agree with the model).

ENTERPRISE_FIELDS: tuple[Field, ...] = (
    Field("kind", "主体类型", "kind of entity", FieldType.ENUM, Source.ENTERPRISE, "Enterprise.kind",
          choices=(Choice("company", "企业", "company"), Choice("individual", "个体工商户", "individual business"),
                   Choice("cooperative", "农民专业合作社", "farmers' cooperative"))),
    Field("status", "登记状态", "registration status", FieldType.ENUM, Source.ENTERPRISE, "Enterprise.status",
          choices=(Choice("active", "存续", "active"), Choice("closed", "注销", "closed"))),
    Field("industry_code", "行业", "industry", FieldType.CODE, Source.ENTERPRISE,
          "Enterprise.industry_code (GB/T 4754-2017 class code)", codes=INDUSTRY_CODES),
    Field("township", "所属乡镇（街道）", "township", FieldType.ENUM, Source.ENTERPRISE,
          "Enterprise.region: the township, or a village's parent township (region code)", dynamic=True),
    Field("park", "所属园区", "park", FieldType.ENUM, Source.ENTERPRISE, "Enterprise.park (park id)",
          dynamic=True, int_values=True, nullable=True, none_zh="不在园区", none_en="not in a park"),
    Field("is_high_tech", "高新技术企业", "high-tech enterprise", FieldType.BOOL, Source.ENTERPRISE,
          "Enterprise.is_high_tech", actionable=True),
    Field("is_specialized", "专精特新企业", "specialised SME (专精特新)", FieldType.BOOL, Source.ENTERPRISE,
          "Enterprise.is_specialized", actionable=True),
    Field("has_construction_qualification", "建筑业资质", "construction qualification", FieldType.BOOL,
          Source.ENTERPRISE, "Enterprise.has_construction_qualification", true_zh="有建筑业资质",
          false_zh="无建筑业资质", true_en="has a construction qualification",
          false_en="has no construction qualification", actionable=True),
    Field("size_class", "企业规模", "size class", FieldType.ENUM, Source.DERIVED,
          "Enterprise.size_class (derived from the latest figures)",
          choices=(Choice("大型", "大型", "large"), Choice("中型", "中型", "medium"), Choice("小型", "小型", "small"),
                   Choice("微型", "微型", "micro"))),
    Field("above_designated", "规上（四上）企业", "above designated size (四上)", FieldType.BOOL, Source.DERIVED,
          "Enterprise.above_designated (derived; missing when the enterprise has no figures)"),
    Field("registered_capital_wan", "注册资本", "registered capital", FieldType.NUMBER, Source.ENTERPRISE,
          "Enterprise.registered_capital_wan", unit_zh="万元", unit_en="10k CNY", actionable=True),
    Field("registered_on", "成立日期", "registration date", FieldType.DATE, Source.ENTERPRISE,
          "Enterprise.registered_on"),
    Field("years_registered", "成立年限", "years since registration", FieldType.INTEGER, Source.DERIVED,
          "full years from Enterprise.registered_on to the reference date", unit_zh="年", unit_en="years"),
)

#: YearFigure fields, by name.
FIGURES: dict[str, Field] = {
    f.key: f
    for f in (
        Field("employees", "从业人员", "employees", FieldType.INTEGER, Source.FIGURE, "YearFigure.employees",
              unit_zh="人", unit_en="persons"),
        Field("revenue_wan", "营业收入", "operating revenue", FieldType.NUMBER, Source.FIGURE,
              "YearFigure.revenue_wan", unit_zh="万元", unit_en="10k CNY"),
        Field("assets_wan", "资产总额", "total assets", FieldType.NUMBER, Source.FIGURE, "YearFigure.assets_wan",
              unit_zh="万元", unit_en="10k CNY"),
        Field("taxes_wan", "纳税额", "taxes paid", FieldType.NUMBER, Source.FIGURE, "YearFigure.taxes_wan",
              unit_zh="万元", unit_en="10k CNY"),
        Field("rd_wan", "研发投入", "R&D spending", FieldType.NUMBER, Source.FIGURE, "YearFigure.rd_wan",
              unit_zh="万元", unit_en="10k CNY"),
        Field("unemployment_insurance_wan", "失业保险费", "unemployment-insurance premiums", FieldType.NUMBER,
              Source.FIGURE, "YearFigure.unemployment_insurance_wan", unit_zh="万元", unit_en="10k CNY"),
        Field("layoffs", "裁员人数", "layoffs", FieldType.INTEGER, Source.FIGURE, "YearFigure.layoffs",
              unit_zh="人", unit_en="persons"),
    )
}

_BY_KEY: dict[str, Field] = {f.key: f for f in ENTERPRISE_FIELDS}
_FIGURE_RE = re.compile(r"^figures\.([a-z_]+)\.(last|y-(\d))$")


def figure_key(figure: str, offset: int) -> str:
    return f"figures.{figure}.y-{offset}"


def figure_field(figure: str, offset: int) -> Field | None:
    base = FIGURES.get(figure)
    if base is None or not 1 <= offset <= MAX_YEARS_BACK:
        return None
    return replace(base, key=figure_key(figure, offset), figure=figure, offset=offset)


# --- cross-module facts ----------------------------------------------------------------------------------

#: ``loader(enterprise_ids, param)`` returns either a Column aligned with ``enterprise_ids`` or a sparse
#: mapping {enterprise id: value}; ids absent from the mapping take the fact's ``default`` (None: missing).
FactLoader = Callable[["npt.NDArray[np.int64]", "str | None"], "Column | Mapping[int, Any]"]

_FACT_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+(\.\*)?$")
_PARAM_RE = re.compile(r"^[A-Za-z0-9_\-]{1,40}$")


@dataclass(frozen=True)
class Fact:
    field: Field  # template; for a parametric fact the labels may contain "{param}"
    loader: FactLoader
    default: Any
    parametric: bool


_FACTS: dict[str, Fact] = {}
_version = 0  # bumped on every (un)registration so parsed-rule caches notice


def registry_version() -> int:
    return _version


def register_fact(key: str, label_zh: str, label_en: str, type: FieldType | str, loader: FactLoader, *,
                  default: Any = None, choices: Sequence[Choice] = (), unit_zh: str = "", unit_en: str = "",
                  true_zh: str = "", false_zh: str = "", true_en: str = "", false_en: str = "",
                  actionable: bool = False) -> None:
    """Let another app add a fact rules can use.

    ``key`` is dotted (``credit.black_list``); a key ending in ``.*`` is parametric: ``payouts.item.*``
    makes ``payouts.item.JX-01`` valid, labels may use ``{param}``, and the loader receives the
    parameter.  Registering a key again replaces it (apps register in ``ready()``)."""
    global _version
    if not _FACT_KEY_RE.match(key) or key.startswith("figures.") or key in _BY_KEY:
        raise ValueError(f"bad fact key {key!r}")
    parametric = key.endswith(".*")
    template = Field(key, label_zh, label_en, FieldType(type), Source.FACT, f"fact {key}", unit_zh=unit_zh,
                     unit_en=unit_en, choices=tuple(choices), true_zh=true_zh, false_zh=false_zh,
                     true_en=true_en, false_en=false_en, actionable=actionable)
    _FACTS[key] = Fact(template, loader, default, parametric)
    _version += 1


def unregister_fact(key: str) -> None:
    global _version
    _FACTS.pop(key, None)
    _version += 1


def registered_facts() -> list[Fact]:
    return list(_FACTS.values())


def fact_for(key: str) -> tuple[Fact, str | None] | None:
    """The registered fact behind a var name, and its parameter."""
    if key in _FACTS:
        return _FACTS[key], None
    head, _, param = key.rpartition(".")
    fact = _FACTS.get(head + ".*")
    if fact is not None and _PARAM_RE.match(param):
        return fact, param
    return None


def _fact_field(fact: Fact, key: str, param: str | None) -> Field:
    t = fact.field
    if param is None:
        return t

    def fmt(s: str) -> str:
        return s.replace("{param}", param)

    return replace(t, key=key, label_zh=fmt(t.label_zh), label_en=fmt(t.label_en), true_zh=fmt(t.true_zh),
                   false_zh=fmt(t.false_zh), true_en=fmt(t.true_en), false_en=fmt(t.false_en), param=param)


# --- look-up ----------------------------------------------------------------------------------------------


def resolve(key: str) -> Field | None:
    """The field behind a var name (``figures.revenue_wan.last`` → canonical ``figures.revenue_wan.y-1``);
    None when unknown."""
    if not isinstance(key, str):
        return None
    found = _BY_KEY.get(key)
    if found is not None:
        return found
    m = _FIGURE_RE.match(key)
    if m:
        return figure_field(m.group(1), 1 if m.group(2) == "last" else int(m.group(3)))
    hit = fact_for(key)
    if hit is not None:
        return _fact_field(hit[0], key, hit[1])
    return None


def all_keys(years_back: int = 3) -> list[str]:
    """Enterprise fields plus figures for the last ``years_back`` years (facts not included)."""
    keys = [f.key for f in ENTERPRISE_FIELDS]
    keys += [figure_key(name, off) for off in range(1, years_back + 1) for name in FIGURES]
    return keys


# --- labels of database-backed values (townships, parks) ----------------------------------------------------


class Labels:
    """Known values and labels of dynamic enum fields: {field key: {value: (label_zh, label_en)}}."""

    def __init__(self, values: Mapping[str, Mapping[Any, tuple[str, str]]] | None = None):
        self._values = {k: dict(v) for k, v in (values or {}).items()}

    def knows(self, field_key: str) -> bool:
        return field_key in self._values

    def has(self, field_key: str, value: Any) -> bool:
        return value in self._values.get(field_key, {})

    def label(self, field_key: str, value: Any) -> tuple[str, str] | None:
        return self._values.get(field_key, {}).get(value)

    def choices(self, field_key: str) -> list[Choice]:
        return [Choice(v, zh, en) for v, (zh, en) in self._values.get(field_key, {}).items()]


def db_labels() -> Labels:
    """Townships and parks from the database (a county has tens of them)."""
    from yingshang.core.models import Park, Region

    towns = {code: (name, name) for code, name in
             Region.objects.filter(level=Region.Level.TOWNSHIP).values_list("code", "name")}
    parks = {pk: (name, name) for pk, name in Park.objects.values_list("pk", "name")}
    return Labels({"township": towns, "park": parks})


def value_label(field: Field, value: Any, lang: str = "zh", labels: Labels | None = None) -> str:
    """Display form of a value of ``field``: enum labels, industry names, ``不在园区`` for no park."""
    zh = lang == "zh"
    if isinstance(value, bool):
        return ("是" if value else "否") if zh else ("yes" if value else "no")
    if field.type.numeric and isinstance(value, int | float | Decimal):
        return format(Decimal(repr(value) if isinstance(value, float) else value).normalize(), "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    if value is None and field.nullable:
        return field.none_zh if zh else field.none_en
    choice = field.choice(value)
    if choice is not None:
        return choice.label_zh if zh else choice.label_en
    if field.dynamic and labels is not None:
        found = labels.label(field.key, value)
        if found is not None:
            return found[0] if zh else found[1]
    if field.codes is not None and isinstance(value, str):
        zh_label, en_label = field.codes.label(value)
        return zh_label if zh else en_label
    return str(value)


# --- catalogue for the rule editor -----------------------------------------------------------------------


def _describe_field(f: Field, labels: Labels | None) -> dict[str, Any]:
    choices = list(f.choices) or (labels.choices(f.key) if (f.dynamic and labels) else [])
    out: dict[str, Any] = {"key": f.key, "label_zh": f.label_zh, "label_en": f.label_en, "type": f.type.value,
                           "source": f.source.value, "origin": f.origin, "unit_zh": f.unit_zh, "unit_en": f.unit_en}
    if choices:
        out["choices"] = [{"value": c.value, "label_zh": c.label_zh, "label_en": c.label_en} for c in choices]
    if f.nullable:
        out["none_label_zh"], out["none_label_en"] = f.none_zh, f.none_en
    if f.codes is not None:
        out["prefix_example"] = f.codes.example
    return out


def catalogue(labels: Labels | None = None) -> list[dict[str, Any]]:
    """Every field as JSON for the rule editor: enterprise fields, figure templates
    (``figures.<name>.last`` … ``y-5``) and registered facts."""
    out = [_describe_field(f, labels) for f in ENTERPRISE_FIELDS]
    for f in FIGURES.values():
        entry = _describe_field(f, labels)
        entry["key"] = f"figures.{f.key}.last"
        entry["years"] = ["last"] + [f"y-{n}" for n in range(2, MAX_YEARS_BACK + 1)]
        out.append(entry)
    out += [_describe_field(fact.field, labels) for fact in _FACTS.values()]
    return out
