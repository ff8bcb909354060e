"""Reading the service pages' forms into the arguments of the services.

No rule lives here: a value that cannot be read (a number that is not a number, a department that
does not exist) is refused with the field named; whether the values make sense together (promised
within legal, a bundle's promised limit, …) is for the services to decide."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import QueryDict

from yingshang.core.errors import ValidationFailed
from yingshang.core.models import Department

from .models import Bundle, MaterialForm, ServiceItem, TreeNode

ITEM_TEXT = ("code", "name", "legal_basis", "conditions", "fees", "window", "hours")
ITEM_FLAGS = ("joint_handling", "online", "notify_commit")


def integer(value: str | None, field: str, label: str, *, minimum: int = 0, maximum: int = 9999) -> int:
    text = (value or "").strip()
    if not text.lstrip("-").isdigit():
        raise ValidationFailed(f"{label}须为整数", f"{field} must be a whole number", field=field)
    n = int(text)
    if not minimum <= n <= maximum:
        raise ValidationFailed(
            f"{label}应在 {minimum}–{maximum} 之间", f"{field} must be {minimum}-{maximum}", field=field
        )
    return n


def optional_integer(value: str | None, field: str, label: str, *, minimum: int = 0) -> int | None:
    return None if not (value or "").strip() else integer(value, field, label, minimum=minimum)


def date(value: str | None, field: str, label: str) -> dt.date:
    try:
        return dt.date.fromisoformat((value or "").strip())
    except ValueError:
        raise ValidationFailed(
            f"{label}须为日期（YYYY-MM-DD）", f"{field} must be a date (YYYY-MM-DD)", field=field
        ) from None


def ids(values: list[str]) -> list[int]:
    """The whole numbers among the posted values, in their order, once each."""
    return list(dict.fromkeys(int(v) for v in values if v.strip().isdigit()))


def department(value: str | None, field: str, label: str, *, required: bool = True) -> Department | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise ValidationFailed(f"请选择{label}", f"choose the {field}", field=field)
        return None
    dept = Department.objects.filter(pk=text).first() if text.isdigit() else None
    if dept is None:
        raise ValidationFailed(f"{label}不存在", f"no such {field}", field=field)
    return dept


def item_fields(post: QueryDict, *, editing: bool) -> dict[str, Any]:
    """The keyword arguments of ``item_create`` / ``item_update`` from the item form."""
    fields: dict[str, Any] = {name: post.get(name, "") for name in ITEM_TEXT}
    fields["item_type"] = post.get("item_type", "")
    fields["department"] = department(post.get("department"), "department", "实施部门")
    fields["supervising_department"] = department(
        post.get("supervising_department"), "supervising_department", "监管部门", required=False
    )
    fields["levels"] = post.getlist("levels")
    fields["legal_days"] = integer(post.get("legal_days"), "legal_days", "法定办结时限")
    fields["promised_days"] = integer(post.get("promised_days"), "promised_days", "承诺办结时限")
    for flag in ITEM_FLAGS:
        fields[flag] = post.get(flag) == "1"
    if editing:
        fields["active"] = post.get("active") == "1"
    return fields


def item_values(item: ServiceItem | None, post: QueryDict | None = None) -> dict[str, Any]:
    """What the item form shows: the posted values after a refusal, else the item's own."""
    if post is not None:
        values: dict[str, Any] = {
            k: post.get(k, "")
            for k in (
                *ITEM_TEXT,
                "item_type",
                "department",
                "supervising_department",
                "legal_days",
                "promised_days",
            )
        }
        values.update({flag: post.get(flag) == "1" for flag in (*ITEM_FLAGS, "active")})
        values["levels"] = post.getlist("levels")
        return values
    if item is None:
        return {
            "levels": ["county"],
            "active": True,
            "item_type": "01",
            "hours": "工作日 9:00-12:00，13:30-17:30",
        }
    values = {
        k: getattr(item, k)
        for k in (*ITEM_TEXT, "item_type", "legal_days", "promised_days", *ITEM_FLAGS, "active")
    }
    values["department"] = str(item.department_id)
    values["supervising_department"] = str(item.supervising_department_id or "")
    values["levels"] = item.levels
    return values


def material_fields(post: QueryDict) -> dict[str, Any]:
    form = post.get("form", MaterialForm.ORIGINAL)
    return {
        "name": post.get("name", ""),
        "form": form,
        "copies": integer(post.get("copies") or "1", "copies", "份数", minimum=1, maximum=99),
        "tolerance_allowed": post.get("tolerance_allowed") == "1",
        "note": post.get("note", "").strip(),
    }


def bundle_fields(post: QueryDict) -> dict[str, Any]:
    chosen = ids(post.getlist("items"))
    by_pk = ServiceItem.objects.in_bulk(chosen)
    if len(by_pk) != len(chosen):
        raise ValidationFailed("所选事项不存在", "an item does not exist", field="items")
    return {
        "name": post.get("name", ""),
        "lead_department": department(post.get("lead_department"), "lead_department", "牵头部门"),
        "items": [by_pk[pk] for pk in chosen],
        "promised_days": integer(post.get("promised_days"), "promised_days", "承诺办结时限"),
        "description": post.get("description", ""),
        "window": post.get("window", ""),
    }


def tree_node(value: str | None, field: str = "node", *, required: bool = True) -> TreeNode | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise ValidationFailed("请选择节点", "choose a node", field=field)
        return None
    node = TreeNode.objects.filter(pk=text).first() if text.isdigit() else None
    if node is None:
        raise ValidationFailed("节点不存在", "no such node", field=field)
    return node


def bundles(values: list[str]) -> list[Bundle]:
    return list(Bundle.objects.filter(pk__in=ids(values)))


def items(values: list[str]) -> list[ServiceItem]:
    return list(ServiceItem.objects.filter(pk__in=ids(values)))
