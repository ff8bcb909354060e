"""The policy rule language and matching engine (惠企政策 规则引擎).

Eligibility rules and amount formulas are JSON in a subset of **JsonLogic** (https://jsonlogic.com),
the representation rule-builder UIs (react-awesome-query-builder, jQuery QueryBuilder plug-ins, …)
already speak, plus four operators of our own (``prefix``, ``sum_years``, ``count_years`` and the
3-argument ``<``/``<=`` range that JsonLogic itself has).  Rules are data: they are parsed into a typed
tree and interpreted — never ``eval``-ed, never code.

Grammar
=======

A rule is one JSON value.  An operation is an object with exactly one key, the operator, whose value
is the list of arguments (a single argument may be written without the list)::

    rule        := operation | literal
    operation   := {"<operator>": [argument, …]}
    literal     := number | true | false | "text" | [literal, …]   (lists only where noted)

Field references
----------------
``{"var": "<field>"}`` reads a field; ``{"var": ["<field>", <default>]}`` uses ``<default>`` when the
value is missing.  Fields (see :mod:`.fields` and ``fields.catalogue()``):

* enterprise: ``kind`` ``status`` ``industry_code`` ``township`` ``park`` ``is_high_tech``
  ``is_specialized`` ``has_construction_qualification`` ``size_class`` ``above_designated``
  ``registered_capital_wan`` ``registered_on`` ``years_registered``;
* yearly figures relative to the reference year: ``figures.<figure>.last`` (= ``y-1``, last year),
  ``figures.<figure>.y-2`` … ``y-5`` for ``employees`` ``revenue_wan`` ``assets_wan`` ``taxes_wan``
  ``rd_wan`` ``unemployment_insurance_wan`` ``layoffs`` (money in 万元);
* facts registered by other apps (:func:`register_fact`), e.g. ``credit.black_list``,
  ``payouts.item.<item code>``.

Conditions (type: true/false)
-----------------------------
===========================================  ==================================================================
``{"and": [c, …]}`` ``{"or": [c, …]}``        all / any (three-valued, see below)
``{"!": c}``                                  not
``{"==": [a, b]}`` ``{"!=": [a, b]}``         equal / different (``===``/``!==`` accepted as synonyms)
``{"<": [a, b]}`` ``<=`` ``>`` ``>=``         numbers and dates only
``{"<=": [a, x, b]}`` ``{"<": [a, x, b]}``    range: a ≤ x ≤ b, a < x < b
``{"in": [{"var": f}, [v, …]]}``              membership of a text/enum/code field in a literal list
``{"prefix": [{"var": f}, ["C39", …]]}``      code prefix: industry section ``C``, division ``39`` or ``C39``,
                                              group ``391``/``C391`` or class ``3911``
``{"var": "<bool field>"}``                    a flag used as a condition
===========================================  ==================================================================

Numbers (conditions and amount formulas)
----------------------------------------
``+`` ``*`` (2 or more arguments), ``-`` (1 or 2), ``/`` (2), ``min`` ``max`` (1 or more),
``{"if": [c1, v1, c2, v2, …, else]}`` (tiers), ``{"sum_years": ["rd_wan", 3]}`` (total of the last 3
years), ``{"count_years": ["taxes_wan", 3]}`` (years with data) and
``{"count_years": ["taxes_wan", 3, {">": [{"var": ""}, 100]}]}`` (years meeting a condition on that
year's value, ``{"var": ""}``).

Types are checked before a rule is saved (:func:`validate`, :func:`ensure_valid`): unknown operators
and fields, comparing a flag with a number, ordering a text, an enum value that is not a choice, an
unknown industry code, a non-literal list in ``in``, wrong argument counts, more than 6 decimal places,
and rules larger than 500 nodes or deeper than 24 levels are all errors, each with a JSON-pointer path
and a message in Chinese and English.

Semantics: missing data is *unknown* (数据缺失) and propagates by Kleene logic; numbers are exact
decimals with 6 places (one fen of 万元), each operation rounded half-up; division by zero and overflow
are unknown.  Amount formulas are in 万元; results are whole fen.  Details in :mod:`.evaluate`.

Examples
========
Manufacturing (section C) or software (I65), last year's revenue at least 2000 万元, not on the credit
black list::

    {"and": [
        {"prefix": [{"var": "industry_code"}, ["C", "I65"]]},
        {">=": [{"var": "figures.revenue_wan.last"}, 2000]},
        {"!": {"var": "credit.black_list"}}]}
    → 行业属于 制造业（C）、软件和信息技术服务业（I65） 且 上年营业收入（万元） ≥ 2000 且 不在信用黑名单

High-tech, R&D at least 3% of revenue, in two townships, 20–300 employees::

    {"and": [{"var": "is_high_tech"},
             {">=": [{"/": [{"var": "figures.rd_wan.last"}, {"var": "figures.revenue_wan.last"}]}, 0.03]},
             {"in": [{"var": "township"}, ["360781001000", "360781100000"]]},
             {"<=": [20, {"var": "figures.employees.last"}, 300]}]}

Revenue grew by 10% or more, taxes above 100 万元 in at least 2 of the last 3 years::

    {"and": [{">=": [{"var": "figures.revenue_wan.last"}, {"*": [1.1, {"var": "figures.revenue_wan.y-2"}]}]},
             {">=": [{"count_years": ["taxes_wan", 3, {">": [{"var": ""}, 100]}]}, 2]}]}

Amount: 60% of last year's unemployment-insurance premiums, at most 50 万元::

    {"min": [{"*": [0.6, {"var": "figures.unemployment_insurance_wan.last"}]}, 50]}

Amount tiers by size class (万元)::

    {"if": [{"==": [{"var": "size_class"}, "中型"]}, 30, {"==": [{"var": "size_class"}, "小型"]}, 20, 10]}

Use
===
``ensure_valid(rule)`` before saving; ``describe(rule)`` to show it; ``load_columns(year)`` then
``evaluate_all({item_id: rule, …}, columns)`` to match the registry; ``explain(rule, facts)`` for one
enterprise (``columns.facts_for(enterprise_id)``); ``amount(formula, columns)`` / ``amount_one``.
"""

from .columns import Column, Columns, load_columns
from .describe import describe, describe_en
from .evaluate import (
    Compiled,
    Leaf,
    Outcome,
    Tri,
    amount,
    amount_fen_one,
    amount_one,
    compile,
    evaluate_all,
    evaluate_columns,
    evaluate_one,
    explain,
    required_keys,
)
from .fields import FieldType, Labels, catalogue, db_labels, register_fact, resolve, unregister_fact
from .grammar import RuleError, RuleInvalid, ensure_valid, parse, validate

__all__ = [
    "Column", "Columns", "Compiled", "FieldType", "Labels", "Leaf", "Outcome", "RuleError", "RuleInvalid", "Tri",
    "amount", "amount_fen_one", "amount_one", "catalogue", "compile", "db_labels", "describe", "describe_en",
    "ensure_valid", "evaluate_all", "evaluate_columns", "evaluate_one", "explain", "load_columns", "parse",
    "register_fact", "required_keys", "resolve", "unregister_fact", "validate",
]
