"""联合惩戒: an enterprise on the credit black list receives no benefit, whatever an item's rule says.

The list belongs to another module (supervision), which registers the fact ``credit.black_list`` with the
rule engine; this module only reads that fact, so policies never import supervision.  Without a
registered list nobody is excluded.

* :func:`effective_rule` — the rule the engine evaluates: the officer's rule and "not on the credit black
  list" (unless the rule already speaks of the black list).  Matching, explanations, 即申即享 checks, list
  proposals and simulations all evaluate it, so a black-listed enterprise never matches and is told why.
* :func:`black_listed` — who is on the list today, for the decisions taken later (approving an
  application, putting a list on notice)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .rules import fields as F

BLACK_LIST = "credit.black_list"
NOT_BLACK_LISTED: dict[str, Any] = {"!": {"var": BLACK_LIST}}
EXCLUSION_REASON = "列入信用黑名单（联合惩戒，不得享受惠企政策）"


def active() -> bool:
    """A credit module has registered the black list."""
    return F.fact_for(BLACK_LIST) is not None


def _mentions(rule: Any) -> bool:
    if isinstance(rule, dict):
        if rule.get("var") == BLACK_LIST or (isinstance(rule.get("var"), list) and rule["var"][:1] == [BLACK_LIST]):
            return True
        return any(_mentions(v) for v in rule.values())
    if isinstance(rule, list):
        return any(_mentions(v) for v in rule)
    return False


def effective_rule(rule: Any) -> Any:
    """The officer's rule with "not on the credit black list" added as a last top-level condition."""
    if rule is None or not active() or _mentions(rule):
        return rule
    if isinstance(rule, dict) and len(rule) == 1 and "and" in rule and isinstance(rule["and"], list):
        return {"and": [*rule["and"], NOT_BLACK_LISTED]}
    return {"and": [rule, NOT_BLACK_LISTED]}


def black_listed(enterprise_ids: Iterable[int]) -> set[int]:
    """The enterprises among ``enterprise_ids`` on the credit black list today."""
    found = F.fact_for(BLACK_LIST)
    ids = sorted({int(i) for i in enterprise_ids})
    if found is None or not ids:
        return set()
    wanted = set(ids)
    return {int(k) for k, v in found[0].loader(ids, None).items() if v and int(k) in wanted}
