import json

from django import template

register = template.Library()


@register.filter
def compact_json(value: object) -> str:
    """Audit before/after values as readable JSON (Chinese kept), '—' when empty."""
    if value in (None, "", {}, []):
        return "—"
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
