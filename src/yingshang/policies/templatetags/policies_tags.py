"""Template helpers of the policy pages: money in yuan / 万元 from integer fen, status colours, and the
enterprise home page's policy card (which calls the selectors itself, so the home view stays as it is)."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


def _group(digits: str) -> str:
    out = []
    while len(digits) > 3:
        out.insert(0, digits[-3:])
        digits = digits[:-3]
    out.insert(0, digits)
    return ",".join(out)


@register.filter
def masked_account(number: Any) -> str:
    """A bank account for readers who don't pay: the first four and last four digits."""
    from yingshang.enterprises.selectors import mask_id

    return mask_id(str(number or ""))


@register.filter
def pct(value: Any) -> str:
    """A ratio as a percentage with one decimal; — when there is nothing to divide by."""
    return "—" if value is None else f"{float(value) * 100:.1f}%"


@register.filter
def yuan(fen: Any) -> str:
    """Integer fen as yuan with two decimals and thousands separators: 1234567 → 12,345.67 (exact)."""
    if fen is None or fen == "":
        return "—"
    fen = int(fen)
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{_group(str(fen // 100))}.{fen % 100:02d}"


@register.filter
def wan(fen: Any) -> str:
    """Integer fen as 万元 to two decimals, rounded half up, trailing zeros dropped: 2500000 → 2.5,
    463818500 → 463.82 (for headline figures; exact amounts are shown in yuan)."""
    if fen is None or fen == "":
        return "—"
    fen = int(fen)
    sign = "-" if fen < 0 else ""
    hundredths = (abs(fen) + 5_000) // 10_000  # 0.01 万元 = 100 元 = 10,000 fen
    whole, rest = divmod(hundredths, 100)
    frac = f"{rest:02d}".rstrip("0")
    return f"{sign if hundredths else ''}{_group(str(whole))}" + (f".{frac}" if frac else "")


_COLOURS = {
    # documents and items
    "draft": "", "published": "green", "expired": "", "stopped": "",
    # applications
    "submitted": "amber", "reviewing": "amber", "correction": "amber", "notice": "amber", "approved": "green",
    "rejected": "red", "not_accepted": "red", "withdrawn": "", "revoked": "red",
    # lists
    "proposed": "amber", "reviewed": "amber", "final": "green", "cancelled": "",
    # payouts and batches
    "pending": "amber", "paid": "green", "failed": "red", "retried": "", "open": "amber", "exported": "amber",
    "closed": "green",
    # objections
    "upheld": "red", "dismissed": "green",
    # rule outcomes
    "true": "green", "false": "red", "unknown": "amber",
    # modes
    "auto_grant": "green", "instant": "amber", "apply_review": "",
}


@register.filter
def status_css(value: Any) -> str:
    return _COLOURS.get(str(value), "")


@register.simple_tag(takes_context=True)
def policies_home_data(context: template.Context) -> dict[str, Any]:
    """For the enterprise home page: the items it qualifies for and those it misses by one condition."""
    from yingshang.core.errors import DomainError
    from yingshang.core.models import Role

    from .. import selectors

    user = context.get("user")
    if user is None or not user.is_authenticated or user.role != Role.ENTERPRISE or not user.enterprise_id:
        return {"ok": False}
    try:
        view = selectors.enterprise_policy_view(actor=user, enterprise=user.enterprise_id)
    except DomainError:
        return {"ok": False}
    # what the enterprise can act on first: apply now, then waiting (no application needed), then done
    view.qualified.sort(key=lambda q: (0 if q.can_apply else 2 if (q.payout or q.application) else 1, q.item.code))
    view.close.sort(key=lambda c: (0 if c.state == "unknown" else 1, c.item.code))  # data missing: fixable
    return {"ok": True, "qualified": view.qualified[:5], "close": view.close[:3],
            "qualified_count": len(view.qualified), "close_count": len(view.close)}


@register.filter
def period_label(period: Any) -> str:
    """A payout period in words: once → 一次性, 2026 → 2026年, 2026H1 → 2026年上半年, 2026Q3 → 2026年第3季度,
    2026-05 → 2026年5月."""
    from django.utils.translation import gettext as _

    p = str(period or "")
    if p == "once":
        return _("一次性")
    if len(p) == 4 and p.isdigit():
        return _("%s年") % p
    if len(p) == 6 and p[4] == "H":
        return (_("%s年上半年") if p[5] == "1" else _("%s年下半年")) % p[:4]
    if len(p) == 6 and p[4] == "Q":
        return _("%(y)s年第%(q)s季度") % {"y": p[:4], "q": p[5]}
    if len(p) == 7 and p[4] == "-":
        return _("%(y)s年%(m)s月") % {"y": p[:4], "m": int(p[5:])}
    return p


@register.simple_tag(takes_context=True)
def policies_headline(context: template.Context) -> dict[str, Any]:
    """For the office's and leaders' home pages: this year's money paid and enterprises benefited (the
    figures page's totals; the push figures stay on that page)."""
    from yingshang.core.errors import DomainError

    from .. import figures

    user = context.get("user")
    if user is None or not user.is_authenticated:
        return {"ok": False}
    start, end = figures.default_period()
    try:
        fig = figures.benefit_figures(actor=user, group_by="item", date_from=start, date_to=end, awareness=False)
    except DomainError:
        return {"ok": False}
    return {"ok": True, "total": fig.total, "year": start.year, "items": fig.rows[:3]}
