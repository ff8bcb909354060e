"""Unit tests for the policy rule engine (yingshang.policies.rules): grammar and validation, plain-language
descriptions, three-valued logic, the scalar and vectorised evaluators agreeing on random rules and data,
explanations, amount formulas; and loading columns from the database."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from yingshang.core.errors import ValidationFailed
from yingshang.policies import rules as R
from yingshang.policies.rules import fields as F
from yingshang.policies.rules.columns import Column, full_years, full_years_between
from yingshang.policies.rules.evaluate import Tri

TOWN_A, TOWN_B, TOWN_C = "360781001000", "360781100000", "360781101000"


def _restore_fact(key: str, saved: tuple[F.Fact, str | None] | None) -> None:
    """Put back the fact registered under ``key`` before the test (the real one of the app that owns it),
    so later test modules in the same process see it; nothing when there was none."""
    R.unregister_fact(key)
    if saved is None:
        return
    fact, f = saved[0], saved[0].field
    R.register_fact(key, f.label_zh, f.label_en, f.type, fact.loader, default=fact.default, choices=f.choices,
                    unit_zh=f.unit_zh, unit_en=f.unit_en, true_zh=f.true_zh, false_zh=f.false_zh, true_en=f.true_en,
                    false_en=f.false_en, actionable=f.actionable)


@pytest.fixture(autouse=True)
def facts_registered() -> Iterator[None]:
    """The cross-module facts the engine's users will register (credit, payouts), faked here; the real
    ones (registered by the supervision and policies apps) are restored afterwards."""
    saved = {key: F.fact_for(key) for key in ("credit.black_list", "payouts.item.*")}
    R.register_fact("credit.black_list", "信用黑名单", "credit black list", "bool", lambda ids, p: {}, default=False,
                    true_zh="在信用黑名单", false_zh="不在信用黑名单", true_en="on the credit black list",
                    false_en="not on the credit black list")
    R.register_fact("payouts.item.*", "事项 {param} 兑现", "payout of item {param}", "bool",
                    lambda ids, p: {int(i): True for i in ids[::2]}, default=False,
                    true_zh="曾获事项 {param} 兑现", false_zh="未获事项 {param} 兑现",
                    true_en="had a payout of item {param}", false_en="had no payout of item {param}")
    yield
    for key, hit in saved.items():
        _restore_fact(key, hit)


def codes(rule: Any, kind: str = "condition") -> list[tuple[str, str]]:
    return [(e.code, e.path) for e in R.validate(rule, kind)]  # type: ignore[arg-type]


V = lambda key: {"var": key}  # noqa: E731
REVENUE = V("figures.revenue_wan.last")


# --- fields -----------------------------------------------------------------------------------------------


def test_field_catalogue_resolves_keys_and_years():
    f = F.resolve("figures.revenue_wan.last")
    assert f is not None and f.key == "figures.revenue_wan.y-1" and f.offset == 1 and f.unit_zh == "万元"
    assert f.label("zh") == "上年营业收入（万元）"
    assert F.resolve("figures.revenue_wan.y-2").label("zh") == "前年营业收入（万元）"  # type: ignore[union-attr]
    assert F.resolve("figures.unemployment_insurance_wan.y-3") is not None
    assert F.resolve("figures.revenue_wan.y-6") is None  # more than five years back
    assert F.resolve("figures.profit_wan.last") is None
    assert F.resolve("payouts.item.JX-01").label("zh") == "事项 JX-01 兑现"  # type: ignore[union-attr]
    assert F.resolve("payouts.item.bad code") is None
    keys = {entry["key"] for entry in F.catalogue()}
    assert {"industry_code", "township", "park", "years_registered", "figures.rd_wan.last",
            "credit.black_list"} <= keys


def test_enum_choices_match_the_enterprise_model():
    from yingshang.enterprises.models import Enterprise

    for key, choices in (("kind", Enterprise.Kind), ("status", Enterprise.Status), ("size_class", Enterprise.Size)):
        field = F.resolve(key)
        assert field is not None
        assert [c.value for c in field.choices] == list(choices.values)


def test_register_fact_rejects_bad_keys():
    with pytest.raises(ValueError):
        R.register_fact("industry_code", "x", "x", "bool", lambda ids, p: {})
    with pytest.raises(ValueError):
        R.register_fact("figures.x", "x", "x", "bool", lambda ids, p: {})


# --- validation ------------------------------------------------------------------------------------------------


def test_valid_rules_have_no_errors():
    rule = {"and": [{"prefix": [V("industry_code"), ["C", "39", "I65", "C391", "3911"]]},
                    {"<=": [2000, REVENUE, 5000]},
                    {"in": [V("township"), [TOWN_A, TOWN_B]]},
                    {"in": [V("park"), [1, None]]},
                    {"==": [V("size_class"), "小型"]},
                    {"===": [V("is_high_tech"), True]},
                    {"!": V("credit.black_list")},
                    V("payouts.item.JX-01"),
                    {">=": [V("registered_on"), "2020-01-01"]},
                    {">=": [{"sum_years": ["rd_wan", 3]}, 100]},
                    {">=": [{"count_years": ["taxes_wan", 3, {">": [V(""), 100]}]}, 2]},
                    {">": [{"/": [V("figures.rd_wan.last"), REVENUE]}, 0.03]}]}
    assert R.validate(rule) == []
    node = R.ensure_valid(rule)
    assert node.type == "bool"


@pytest.mark.parametrize(("rule", "expected"), [
    ({"xor": [V("is_high_tech"), V("is_specialized")]}, [("unknown_operator", "/xor")]),
    ({"and": [V("is_high_tech"), {"eval": "1"}]}, [("unknown_operator", "/and/1/eval")]),
    ({"==": [V("profit"), 1]}, [("unknown_field", "/==/0/var")]),
    ({">": [V("figures.revenue_wan.y-9"), 1]}, [("unknown_field", "/>/0/var")]),
    ({"==": [V("is_high_tech"), 1]}, [("type", "/==/1")]),  # a flag compared with a number
    ({"==": [V("is_high_tech"), REVENUE]}, [("type", "/==")]),
    ({"<": [V("kind"), "company"]}, [("type", "/<")]),  # ordering a text
    ({">": [V("is_high_tech"), False]}, [("type", "/>")]),  # ordering a flag
    ({"==": [V("size_class"), "巨型"]}, [("bad_value", "/==/1")]),  # not a choice
    ({"in": [V("kind"), ["company", "ltd"]]}, [("bad_value", "/in/1/1")]),
    ({"in": [V("industry_code"), ["C39"]]}, [("bad_value", "/in/1/0")]),  # not a class: use prefix
    ({"prefix": [V("industry_code"), ["Z99"]]}, [("bad_value", "/prefix/1/0")]),
    ({"prefix": [V("industry_code"), ["A39"]]}, [("bad_value", "/prefix/1/0")]),  # letter does not match
    ({"prefix": [V("kind"), ["c"]]}, [("type", "/prefix/0")]),
    ({"in": [V("township"), V("park")]}, [("literal_list", "/in/1")]),  # non-literal list
    ({"in": [V("township"), [TOWN_A, V("park")]]}, [("literal_list", "/in/1/1")]),
    ({"in": [V("township"), []]}, [("bad_value", "/in/1")]),
    ({"in": [V("park"), ["一号园"]]}, [("type", "/in/1/0")]),  # parks are ids
    ({"==": [V("kind"), None]}, [("bad_value", "/==/1")]),
    ({">": [REVENUE]}, [("arity", "/>")]),
    ({"!": [V("is_high_tech"), V("is_specialized")]}, [("arity", "/!")]),
    ({"/": [REVENUE, 2, 3]}, [("arity", "/~1")]),  # JSON pointer escapes "/"
    ({"==": [1, 1]}, [("type", "/==")]),  # constant comparison
    ({">": [REVENUE, 0.0000001]}, [("bad_value", "/>/1")]),  # more than 6 decimals
    ({">": [REVENUE, 1e13]}, [("bad_value", "/>/1")]),
    ({">": [REVENUE, "2000"]}, [("type", "/>/1")]),
    ({"<": [V("registered_on"), "2020-13-01"]}, [("bad_value", "/</1")]),
    ({"if": [V("is_high_tech"), 1]}, [("arity", "/if")]),
    ({"if": [V("is_high_tech"), 1, True]}, [("type", "/if/2")]),
    ({">": [{"sum_years": ["rd_wan", 9]}, 1]}, [("bad_value", "/>/0/sum_years/1")]),
    ({">": [{"sum_years": ["profit", 3]}, 1]}, [("unknown_field", "/>/0/sum_years/0")]),
    ({">": [V(""), 1]}, [("unknown_field", "/>/0/var")]),
    ({"and": [V("is_high_tech"), V("figures.employees.last")]}, [("type", "/and/1/var")]),
    ({"and": []}, [("arity", "/and")]),
    ({"==": [V("is_high_tech"), True], "!": V("is_specialized")}, [("syntax", "")]),
])
def test_each_kind_of_mistake_is_reported_with_its_path(rule, expected):
    assert codes(rule) == expected


def test_all_errors_are_collected():
    rule = {"and": [{"foo": []}, {"==": [V("bar"), 1]}, {"<": [V("kind"), 1]}]}
    assert [c for c, _ in codes(rule)] == ["unknown_operator", "unknown_field", "type"]


def test_rule_kind_is_checked():
    assert codes(REVENUE) == [("type", "/var")]  # a number is not a condition
    assert codes(V("is_high_tech"), "amount") == [("type", "/var")]
    assert codes(True) == []  # a constant condition is allowed (always true)
    assert codes(500, "amount") == []  # a fixed amount


def test_huge_and_deep_rules_are_rejected():
    wide = {"or": [{">": [REVENUE, i]} for i in range(400)]}
    assert codes(wide)[0][0] == "too_large"
    deep: Any = V("is_high_tech")
    for _ in range(40):
        deep = {"!": deep}
    assert codes(deep)[0][0] == "too_large"
    long_list = {"in": [V("township"), [f"{i:012d}" for i in range(600)]]}
    assert codes(long_list) == [("too_large", "/in/1")]


def test_labels_check_townships_and_parks_exist():
    labels = R.Labels({"township": {TOWN_A: ("象湖镇", "Xianghu")}, "park": {1: ("经开区", "ETDZ")}})
    assert R.validate({"in": [V("township"), [TOWN_A]]}, labels=labels) == []
    errors = R.validate({"in": [V("township"), [TOWN_B]]}, labels=labels)
    assert [e.code for e in errors] == ["bad_value"]
    assert R.validate({"in": [V("park"), [2]]}, labels=labels)[0].code == "bad_value"


def test_ensure_valid_raises_validation_failed_on_the_rule_field():
    with pytest.raises(ValidationFailed) as exc:
        R.ensure_valid({"and": [{"==": [V("nope"), 1]}, {"bad": 1}]})
    assert exc.value.field == "rule"
    assert "未知字段“nope”" in exc.value.message and "unknown field 'nope'" in exc.value.message_en
    assert len(exc.value.errors) == 2  # type: ignore[attr-defined]
    # an amount formula's errors name the amount field
    with pytest.raises(ValidationFailed) as exc:
        R.ensure_valid({"*": [V("nope"), 2]}, "amount")
    assert exc.value.field == "amount"
    with pytest.raises(ValidationFailed) as exc:
        R.parse({"*": [V("figures.revenue_wan.last"), "x"]}, "amount")
    assert exc.value.field == "amount"


# --- descriptions ------------------------------------------------------------------------------------------------


def test_describe_in_plain_chinese_and_english():
    rule = {"and": [{"prefix": [V("industry_code"), ["C"]]}, {">=": [REVENUE, 2000]}, {"!": V("credit.black_list")}]}
    assert R.describe(rule) == "行业属于 制造业（C） 且 上年营业收入（万元） ≥ 2000 且 不在信用黑名单"
    assert R.describe_en(rule) == ("industry in 制造业 (C) and operating revenue (10k CNY) last year ≥ 2000 "
                                   "and not on the credit black list")


@pytest.mark.parametrize(("rule", "zh"), [
    ({"in": [V("size_class"), ["小型", "微型"]]}, "企业规模属于 小型、微型"),
    ({"!=": [V("kind"), "individual"]}, "主体类型不为 个体工商户"),
    ({"prefix": [V("industry_code"), ["39", "I65"]]}, "行业属于 计算机、通信和其他电子设备制造业（C39）、软件和信息技术服务业（I65）"),
    ({"or": [V("is_high_tech"), {"and": [V("is_specialized"), V("above_designated")]}]},
     "是高新技术企业 或 （是专精特新企业 且 是规上（四上）企业）"),
    ({"!": {"and": [V("is_high_tech"), {">": [REVENUE, 100]}]}}, "不是高新技术企业 或 上年营业收入（万元） ≤ 100"),
    ({"!": {"in": [V("park"), [None]]}}, "所属园区不属于 不在园区"),
    ({"<=": [20, V("figures.employees.last"), 300]}, "20 ≤ 上年从业人员（人） ≤ 300"),
    ({">=": [{"/": [{"-": [REVENUE, V("figures.revenue_wan.y-2")]}, V("figures.revenue_wan.y-2")]}, 0.1]},
     "(上年营业收入（万元） - 前年营业收入（万元）) ÷ 前年营业收入（万元） ≥ 0.1"),
    ({">=": [{"count_years": ["taxes_wan", 3, {">": [V(""), 100]}]}, 2]},
     "近3年中满足“当年纳税额（万元） > 100”的年数 ≥ 2"),
    ({">=": [{"sum_years": ["rd_wan", 3]}, 500]}, "近3年研发投入（万元）合计 ≥ 500"),
    ({"==": [V("is_high_tech"), False]}, "不是高新技术企业"),
    ({">=": [V(["figures.rd_wan.last", 0]), 10]}, "上年研发投入（万元）（缺失按 0） ≥ 10"),
    (V("payouts.item.JX-01"), "曾获事项 JX-01 兑现"),
    ({">=": [V("years_registered"), 3]}, "成立年限（年） ≥ 3"),
])
def test_describe_examples(rule, zh):
    assert R.describe(rule) == zh


def test_describe_amounts_and_labels():
    assert R.describe({"min": [{"*": [0.6, V("figures.unemployment_insurance_wan.last")]}, 50]}) == \
        "较小值(0.6 × 上年失业保险费（万元）, 50)"
    tiers = {"if": [{"==": [V("size_class"), "中型"]}, 30, {"==": [V("size_class"), "小型"]}, 20, 10]}
    assert R.describe(tiers) == "若 企业规模为 中型 则 30；否则若 企业规模为 小型 则 20；否则 10"
    assert R.describe_en(tiers) == "if size class is medium then 30; else if size class is small then 20; else 10"
    labels = R.Labels({"township": {TOWN_A: ("象湖镇", "Xianghu")}})
    assert R.describe({"in": [V("township"), [TOWN_A]]}, labels=labels) == "所属乡镇（街道）属于 象湖镇"
    assert R.describe({"in": [V("township"), [TOWN_A]]}) == f"所属乡镇（街道）属于 {TOWN_A}"


# --- three-valued logic -------------------------------------------------------------------------------------------

T, Fa, U = Tri.TRUE, Tri.FALSE, Tri.UNKNOWN
_FLAG = {T: True, Fa: False, U: None}


@pytest.mark.parametrize(("a", "b", "and_", "or_"), [
    (T, T, T, T), (T, Fa, Fa, T), (T, U, U, T), (Fa, Fa, Fa, Fa), (Fa, U, Fa, U), (U, U, U, U),
    (Fa, T, Fa, T), (U, T, U, T), (U, Fa, Fa, U),
])
def test_kleene_truth_tables(a, b, and_, or_):
    facts = {k: v for k, v in (("is_high_tech", _FLAG[a]), ("is_specialized", _FLAG[b])) if v is not None}
    cols = R.Columns.from_records([facts], keys=["is_high_tech", "is_specialized"])
    for op, want in (("and", and_), ("or", or_)):
        rule = {op: [V("is_high_tech"), V("is_specialized")]}
        assert R.evaluate_one(rule, facts) is want
        out = R.evaluate_columns(rule, cols)
        assert (T if out.true[0] else U if out.unknown[0] else Fa) is want
    negated = R.evaluate_one({"!": V("is_high_tech")}, facts)
    assert negated is {T: Fa, Fa: T, U: U}[a]


def test_missing_values_are_unknown_not_false():
    rule = {">=": [REVENUE, 2000]}
    assert R.evaluate_one(rule, {}) is U
    assert R.evaluate_one(rule, {"figures.revenue_wan.y-1": None}) is U
    assert R.evaluate_one(rule, {"figures.revenue_wan.y-1": Decimal("1999.99")}) is Fa
    assert R.evaluate_one(rule, {"figures.revenue_wan.last": 2000}) is T  # the alias is read too
    assert R.evaluate_one({">=": [V(["figures.revenue_wan.last", 0]), 0]}, {}) is T  # default
    # no park is a known value, not missing data
    assert R.evaluate_one({"in": [V("park"), [1]]}, {"park": None}) is Fa
    assert R.evaluate_one({"in": [V("park"), [1]]}, {}) is U
    assert R.evaluate_one({"in": [V("park"), [None]]}, {"park": None}) is T


def test_prefix_matches_sections_divisions_groups_and_classes():
    for prefix, hit in (("C", True), ("39", True), ("C39", True), ("391", True), ("C3911", True), ("I", False),
                        ("38", False)):
        assert R.evaluate_one({"prefix": [V("industry_code"), [prefix]]}, {"industry_code": "3911"}) is \
            (T if hit else Fa), prefix
    assert R.evaluate_one({"prefix": [V("industry_code"), ["I65"]]}, {"industry_code": "6513"}) is T
    assert R.evaluate_one({"in": [V("industry_code"), ["C3911"]]}, {"industry_code": "3911"}) is T


def test_if_and_count_years_with_unknowns():
    rule = {">=": [{"count_years": ["taxes_wan", 3, {">": [V(""), 100]}]}, 2]}
    full = {"figures.taxes_wan.y-1": 150, "figures.taxes_wan.y-2": 90, "figures.taxes_wan.y-3": 101}
    assert R.evaluate_one(rule, full) is T
    assert R.evaluate_one(rule, {**full, "figures.taxes_wan.y-3": None}) is U
    assert R.evaluate_one({"==": [{"count_years": ["taxes_wan", 3]}, 2]}, {**full, "figures.taxes_wan.y-3": None}) is T
    tiers = {"if": [V("is_high_tech"), 30, 10]}
    assert R.amount_one(tiers, {}) is None
    assert R.amount_one(tiers, {"is_high_tech": False}) == Decimal("100000.00")


# --- explanations ---------------------------------------------------------------------------------------------


def test_explain_gives_each_condition_its_state_and_values():
    rule = {"and": [{"prefix": [V("industry_code"), ["C"]]}, {">=": [REVENUE, 2000]},
                    {"!": V("credit.black_list")}, {">=": [V("figures.employees.last"), 20]}]}
    facts = {"industry_code": "6210", "figures.revenue_wan.y-1": Decimal("2500.5"), "credit.black_list": False}
    leaves = R.explain(rule, facts)
    assert [(leaf.text_zh, leaf.state.label_zh) for leaf in leaves] == [
        ("行业属于 制造业（C）", "不满足"), ("上年营业收入（万元） ≥ 2000", "满足"), ("不在信用黑名单", "满足"),
        ("上年从业人员（人） ≥ 20", "数据缺失")]
    assert leaves[0].values == {"industry_code": "6210"}
    assert leaves[0].values_zh == "行业：正餐服务（H6210）"
    assert leaves[1].values_zh == "上年营业收入（万元）：2500.5"
    assert leaves[3].values_zh == "上年从业人员（人）：缺失" and leaves[3].values_en.endswith("missing")
    assert leaves[1].path == "/and/1/>=" and leaves[2].path == "/and/2/!/var"
    assert R.evaluate_one(rule, facts) is Fa


def test_explain_pushes_negation_down():
    rule = {"!": {"or": [V("is_high_tech"), {"<": [REVENUE, 100]}]}}
    leaves = R.explain(rule, {"is_high_tech": False, "figures.revenue_wan.y-1": 50})
    assert [(leaf.text_zh, leaf.state) for leaf in leaves] == [("不是高新技术企业", T), ("上年营业收入（万元） ≥ 100", Fa)]


# --- amounts -------------------------------------------------------------------------------------------------------

PREMIUM = "figures.unemployment_insurance_wan.y-1"
REFUND = {"min": [{"*": [0.6, V("figures.unemployment_insurance_wan.last")]}, 50]}


@pytest.mark.parametrize(("premium", "yuan"), [
    (Decimal("10"), Decimal("60000.00")),
    (Decimal("83.33"), Decimal("499980.00")),
    (Decimal("100"), Decimal("500000.00")),  # capped at 50万
    (Decimal("0.123457"), Decimal("740.74")),  # 0.0740742 万元 → 0.074074 (to the fen)
    (Decimal("0.000025"), Decimal("0.15")),  # 0.000015 万元 = 0.15 元
    (Decimal("0.000001"), Decimal("0.01")),  # 0.0000006 → 0.000001: half-up, not to even
    (None, None),
])
def test_sixty_percent_capped_at_fifty_wan(premium, yuan):
    facts = {} if premium is None else {PREMIUM: premium}
    assert R.amount_one(REFUND, facts) == yuan
    cols = R.Columns.from_records([facts], keys=[PREMIUM])
    fen, known = R.amount(REFUND, cols)
    assert fen.dtype == np.int64
    assert (bool(known[0]), int(fen[0]) if known[0] else None) == \
        (yuan is not None, None if yuan is None else int(yuan * 100))


def test_rounding_half_up_to_the_fen_at_each_step():
    half = {"*": [V("figures.revenue_wan.last"), 0.5]}
    assert R.amount_fen_one(half, {"figures.revenue_wan.y-1": Decimal("0.000005")}) == 3  # 2.5 fen → 3
    assert R.amount_fen_one(half, {"figures.revenue_wan.y-1": Decimal("-0.000005")}) == -3  # away from zero
    assert R.amount_fen_one({"/": [V("figures.revenue_wan.last"), 3]}, {"figures.revenue_wan.y-1": 1}) == 333333
    assert R.amount_fen_one({"/": [V("figures.revenue_wan.last"), 3]}, {"figures.revenue_wan.y-1": 2}) == 666667


def test_division_by_zero_and_overflow_are_unknown():
    ratio = {"/": [V("figures.rd_wan.last"), V("figures.revenue_wan.last")]}
    facts = {"figures.rd_wan.y-1": 5, "figures.revenue_wan.y-1": 0}
    assert R.amount_one(ratio, facts) is None
    assert R.evaluate_one({">": [ratio, 0.03]}, facts) is U
    cols = R.Columns.from_records([facts, {"figures.rd_wan.y-1": 5, "figures.revenue_wan.y-1": 100}])
    fen, known = R.amount(ratio, cols)
    assert known.tolist() == [False, True] and fen.tolist() == [0, 50_000]
    square = {"*": [V("figures.revenue_wan.last"), V("figures.revenue_wan.last")]}
    assert R.amount_one(square, {"figures.revenue_wan.y-1": 10**6}) == Decimal(10**16)  # 10^12 万元 fits
    assert R.amount_one(square, {"figures.revenue_wan.y-1": 10**6 + 1}) is None  # beyond 10^12: unknown


def test_tiers_by_size_class():
    tiers = {"if": [{"==": [V("size_class"), "中型"]}, 30, {"==": [V("size_class"), "小型"]}, 20, 10]}
    records = [{"size_class": "中型"}, {"size_class": "小型"}, {"size_class": "微型"}, {}]
    assert [R.amount_one(tiers, r) for r in records] == [Decimal("300000.00"), Decimal("200000.00"),
                                                          Decimal("100000.00"), None]
    fen, known = R.amount(tiers, R.Columns.from_records(records))
    assert fen.tolist() == [30_000_000, 20_000_000, 10_000_000, 0] and known.tolist() == [True, True, True, False]


def test_per_employee_amount_capped():
    per_head = {"min": [{"*": [V("figures.employees.last"), 0.1]}, 20]}  # 1000 元 a head, at most 20万
    assert R.amount_one(per_head, {"figures.employees.y-1": 35}) == Decimal("35000.00")
    assert R.amount_one(per_head, {"figures.employees.y-1": 350}) == Decimal("200000.00")


# --- scalar and vectorised evaluators agree -------------------------------------------------------------------

_CLASSES = ["1711", "3911", "3912", "6513", "6210", "0111", "4710", "7010", "5132"]
_PREFIXES = ["C", "39", "C391", "I65", "H", "A01", "1711", "E", "K70"]
_MONEY = ["figures.revenue_wan.y-1", "figures.revenue_wan.y-2", "figures.rd_wan.y-1", "figures.taxes_wan.y-1",
          "figures.taxes_wan.y-2", "figures.taxes_wan.y-3", "figures.rd_wan.y-2", "figures.rd_wan.y-3",
          "figures.unemployment_insurance_wan.y-1", "registered_capital_wan"]
_INTS = ["figures.employees.y-1", "figures.employees.y-2", "years_registered", "figures.layoffs.y-1"]


def _money(rng: random.Random) -> Decimal | int:
    roll = rng.random()
    if roll < 0.1:
        return 0
    if roll < 0.15:  # large, to reach the exact slow paths for products and quotients
        return Decimal(rng.randint(-10**17, 10**18)).scaleb(-6)
    if roll < 0.2:
        return rng.randint(-50, 50)
    return Decimal(rng.randint(0, 10**12)).scaleb(-rng.choice([0, 2, 6]))


def random_record(rng: random.Random) -> dict[str, Any]:
    rec: dict[str, Any] = {}

    def maybe(key: str, value: Any, p_missing: float = 0.15) -> None:
        if rng.random() >= p_missing:
            rec[key] = value

    maybe("kind", rng.choice(["company", "individual", "cooperative"]))
    maybe("status", rng.choice(["active", "closed"]))
    maybe("industry_code", rng.choice(_CLASSES))
    maybe("township", rng.choice([TOWN_A, TOWN_B, TOWN_C]))
    maybe("park", rng.choice([1, 2, None]))
    for flag in ("is_high_tech", "is_specialized", "above_designated", "credit.black_list", "payouts.item.A1"):
        maybe(flag, rng.random() < 0.4)
    maybe("size_class", rng.choice(["大型", "中型", "小型", "微型"]))
    maybe("registered_on", dt.date(2000, 1, 1) + dt.timedelta(days=rng.randint(0, 9000)))
    for key in _MONEY:
        maybe(key, _money(rng), 0.2)
    for key in _INTS:
        maybe(key, rng.randint(0, 500), 0.2)
    return rec


def _number(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth <= 0 or roll < 0.35:
        key = rng.choice(_MONEY + _INTS)
        return V([key, rng.choice([0, 1])]) if rng.random() < 0.1 else V(key)
    if roll < 0.5:
        return rng.choice([0, 1, 2, 0.5, 0.6, 100, 2000, 1e6, -3, 0.000001, 999999.999999])
    if roll < 0.75:
        op = rng.choice(["+", "-", "*", "/", "-1"])
        if op == "-1":
            return {"-": [_number(rng, depth - 1)]}
        count = rng.choice([2, 2, 3]) if op in "+*" else 2
        return {op: [_number(rng, depth - 1) for _ in range(count)]}
    if roll < 0.83:
        return {rng.choice(["min", "max"]): [_number(rng, depth - 1) for _ in range(rng.randint(1, 3))]}
    if roll < 0.9:
        return {"if": [_condition(rng, 0), _number(rng, depth - 1), _number(rng, depth - 1)]}
    if roll < 0.95:
        return {"sum_years": [rng.choice(["taxes_wan", "rd_wan"]), rng.randint(1, 3)]}
    cond = {rng.choice([">", "<=", "=="]): [V(""), rng.choice([0, 100, 5000])]}
    return {"count_years": [rng.choice(["taxes_wan", "rd_wan"]), rng.randint(1, 3)] + ([cond] if rng.random() < 0.6 else [])}


def _expression(rng: random.Random, depth: int) -> Any:
    """A number that is not a bare literal (a comparison needs one)."""
    while True:
        found = _number(rng, depth)
        if isinstance(found, dict):
            return found


def _condition(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth > 0 and roll < 0.3:
        op = rng.choice(["and", "or", "!"])
        if op == "!":
            return {"!": _condition(rng, depth - 1)}
        return {op: [_condition(rng, depth - 1) for _ in range(rng.randint(1, 4))]}
    kind = rng.randrange(11)
    if kind == 0:
        return {rng.choice([">", ">=", "<", "<=", "==", "!="]): [_expression(rng, 2), _number(rng, 2)]}
    if kind == 1:
        return {rng.choice([">", ">=", "<", "<="]): [V(rng.choice(_MONEY + _INTS)), rng.choice([0, 100, 2000])]}
    if kind == 2:
        op = rng.choice(["<", "<="])
        return {op: [rng.choice([0, 100]), _expression(rng, 1), rng.choice([500, 10**6])]}
    if kind == 3:
        field, values = rng.choice([("kind", ["company", "individual", "cooperative"]), ("status", ["active", "closed"]),
                                    ("township", [TOWN_A, TOWN_B, TOWN_C]), ("park", [1, 2, 3, None]),
                                    ("size_class", ["大型", "中型", "小型", "微型"]), ("industry_code", _CLASSES)])
        if rng.random() < 0.5:
            return {"in": [V(field), rng.sample(values, rng.randint(1, len(values)))]}
        return {rng.choice(["==", "!="]): [V(field), rng.choice(values)]}
    if kind == 4:
        return {"prefix": [V("industry_code"), rng.sample(_PREFIXES, rng.randint(1, 3))]}
    if kind == 5:
        flag = rng.choice(["is_high_tech", "is_specialized", "above_designated", "credit.black_list", "payouts.item.A1"])
        return V([flag, rng.random() < 0.5]) if rng.random() < 0.1 else V(flag)
    if kind == 6:
        return {rng.choice(["==", "!="]): [V(rng.choice(["is_high_tech", "above_designated"])), rng.random() < 0.5]}
    if kind == 7:
        return {rng.choice(["<", ">="]): [V("registered_on"), rng.choice(["2005-06-01", "2015-01-01"])]}
    if kind == 8:
        return {"if": [_condition(rng, 0), _condition(rng, 0), _condition(rng, 0)]}
    if kind == 9:
        return {"==": [_condition(rng, 0), _condition(rng, 0)]}
    return {">=": [{"count_years": ["taxes_wan", 3, {">": [V(""), rng.choice([0, 100])]}]}, rng.randint(0, 3)]}


def _state(out: R.Outcome, i: int) -> Tri:
    return Tri.TRUE if out.true[i] else Tri.UNKNOWN if out.unknown[i] else Tri.FALSE


def test_scalar_and_vectorised_evaluators_agree_on_random_rules():
    rng = random.Random(20260601)
    records = [random_record(rng) for _ in range(300)]
    cols = R.Columns.from_records(records)
    rules = [_condition(rng, 3) for _ in range(400)]
    assert all(R.validate(rule) == [] for rule in rules)
    outcomes = R.evaluate_all(dict(enumerate(rules)), cols)  # with shared sub-expressions
    seen = {Tri.TRUE: 0, Tri.FALSE: 0, Tri.UNKNOWN: 0}
    for n, rule in enumerate(rules):
        compiled = R.compile(rule)
        alone = compiled(cols)
        assert np.array_equal(alone.true, outcomes[n].true) and np.array_equal(alone.unknown, outcomes[n].unknown)
        for i, rec in enumerate(records):
            want = compiled.one(rec)
            assert _state(alone, i) is want, (rule, rec)
            seen[want] += 1
    assert min(seen.values()) > 1000  # all three outcomes well represented


def test_scalar_and_vectorised_amounts_agree_on_random_formulas():
    rng = random.Random(7)
    records = [random_record(rng) for _ in range(300)]
    cols = R.Columns.from_records(records)
    known_count = 0
    for _ in range(300):
        formula = _number(rng, 3)
        assert R.validate(formula, "amount") == []
        compiled = R.compile(formula, "amount")
        fen, known = compiled.values(cols)
        for i, rec in enumerate(records):
            want = compiled.value_one(rec)
            assert (int(fen[i]) if known[i] else None) == want, (formula, rec)
            known_count += want is not None
    assert known_count > 20_000


def test_subset_and_facts_for_round_trip():
    rng = random.Random(3)
    records = [random_record(rng) for _ in range(50)]
    cols = R.Columns.from_records(records, ids=np.arange(100, 150))
    one = cols.subset([120])
    assert one.n == 1 and one.ids.tolist() == [120]
    facts = cols.facts_for(120)
    canon = {F.resolve(k).key: v for k, v in records[20].items()}  # type: ignore[union-attr]
    assert facts == canon
    rule = {"or": [{">": [V("figures.revenue_wan.last"), 100]}, V("is_high_tech")]}
    assert _state(R.evaluate_columns(rule, one), 0) is R.evaluate_one(rule, facts)
    mask = np.zeros(50, dtype=bool)
    mask[[3, 7]] = True
    assert cols.subset(mask).ids.tolist() == [103, 107]


def test_facts_are_loaded_through_their_loaders():
    cols = R.Columns(np.array([10, 11, 12, 13]), load_facts=True)
    assert cols.column("payouts.item.JX-01").values.tolist() == [True, False, True, False]
    assert cols.column("credit.black_list").known.all()  # default False for everyone absent


def test_full_years():
    assert full_years_between(dt.date(2023, 3, 1), dt.date(2025, 3, 1)) == 2
    assert full_years_between(dt.date(2023, 3, 1), dt.date(2025, 2, 28)) == 1
    assert full_years_between(dt.date(2020, 2, 29), dt.date(2021, 2, 28)) == 0
    starts = [dt.date(2023, 3, 1), dt.date(2020, 2, 29), dt.date(1999, 12, 31), dt.date(2024, 1, 1)]
    ref = dt.date(2025, 2, 28)
    days = np.array([(d - dt.date(1970, 1, 1)).days for d in starts], dtype=np.int64)
    assert full_years(days, ref).tolist() == [full_years_between(d, ref) for d in starts]


def test_column_zeroes_missing_values():
    col = Column(np.array([5, 7], dtype=np.int64), [True, False])
    assert col.values.tolist() == [5, 0] and not col.all_known


# --- from the database -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_load_columns_reads_the_registry(county):
    from yingshang.core.models import Region
    from yingshang.enterprises.models import Enterprise, YearFigure

    village = Region.objects.create(code="360781100201", name="某村", level="village", parent=county.town_b)
    Enterprise.objects.filter(pk=county.ent_b.pk).update(region=village, registered_on=dt.date(2020, 6, 1),
                                                         registered_capital_wan=Decimal("12.345678"))
    YearFigure.objects.create(enterprise=county.ent_a, year=2024, revenue_wan=Decimal("20000.5"), rd_wan=Decimal("1"))
    YearFigure.objects.filter(enterprise=county.ent_a, year=2025).update(
        unemployment_insurance_wan=Decimal("80.123456"), rd_wan=Decimal("900"))
    cols = R.load_columns(2026, reference_date=dt.date(2026, 3, 1))
    assert cols.ids.tolist() == sorted([county.ent_a.pk, county.ent_b.pk])
    a = cols.facts_for(county.ent_a.pk)
    b = cols.facts_for(county.ent_b.pk)
    assert a["industry_code"] == "1711" and a["township"] == county.town_a.code and a["park"] == county.park.pk
    assert a["figures.revenue_wan.y-1"] == Decimal("25000") and a["figures.employees.y-1"] == 350
    assert a["figures.revenue_wan.y-2"] == Decimal("20000.5")
    assert a["figures.unemployment_insurance_wan.y-1"] == Decimal("80.123456")
    assert a["size_class"] == Enterprise.objects.get(pk=county.ent_a.pk).size_class
    assert "figures.revenue_wan.y-3" not in a and "registered_on" not in a  # missing data
    assert b["township"] == county.town_b.code  # a village's township
    assert b["park"] is None and b["kind"] == "individual"
    assert b["registered_capital_wan"] == Decimal("12.345678") and b["years_registered"] == 5
    assert b["registered_on"] == dt.date(2020, 6, 1)
    assert "above_designated" not in b  # no figures: 四上 cannot be judged

    rule = {"and": [{"prefix": [V("industry_code"), ["C"]]}, {">=": [REVENUE, 2000]},
                    {"!": V("credit.black_list")}, {">=": [{"sum_years": ["rd_wan", 2]}, 901]}]}
    out = R.evaluate_columns(rule, cols)
    row_a = int(cols.rows_of([county.ent_a.pk])[0])
    assert out.true[row_a] and R.evaluate_one(rule, a) is Tri.UNKNOWN  # the fact was not loaded into a
    a = cols.facts_for(county.ent_a.pk, keys=R.required_keys([rule]))
    assert a["credit.black_list"] is False and R.evaluate_one(rule, a) is Tri.TRUE
    fen, known = R.amount(REFUND, cols)
    assert int(fen[row_a]) == 48_074_074 and R.amount_one(REFUND, a) == Decimal("480740.74")

    lazy = cols.column("figures.revenue_wan.y-4")  # loaded on demand
    assert not lazy.known.any()
    one = R.load_columns(2026, [county.ent_b.pk], keys=["figures.revenue_wan.y-1"])
    assert one.ids.tolist() == [county.ent_b.pk] and one.facts_for(county.ent_b.pk)["township"] == county.town_b.code
    assert one.column("figures.rd_wan.y-2").known.tolist() == [False]


@pytest.mark.django_db
def test_db_labels_name_townships_and_parks(county):
    labels = R.db_labels()
    assert R.describe({"in": [V("township"), [county.town_a.code]]}, labels=labels) == "所属乡镇（街道）属于 象湖镇"
    assert R.describe({"==": [V("park"), county.park.pk]}, labels=labels) == "所属园区为 经济技术开发区"
    assert R.validate({"in": [V("park"), [county.park.pk + 99]]}, labels=labels)[0].code == "bad_value"
