"""The enterprise profile's credit panel: its active red/black entries, read through the selectors with
the viewer's permissions (so the enterprise page's view stays as it is)."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def enterprise_credit(context: Any, enterprise: Any) -> dict[str, Any] | None:
    """``{% enterprise_credit ent as credit %}``: None when the viewer may not see the lists, else
    ``{"entries": [...], "black": bool, "red": bool}``."""
    from ..selectors import enterprise_credit as active_entries

    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or enterprise is None:
        return None
    entries = active_entries(actor=user, enterprise=enterprise)
    if entries is None:
        return None
    return {"entries": entries, "black": any(e.kind == "black" for e in entries),
            "red": any(e.kind == "red" for e in entries)}
