"""The office's settings of the appeals module: the category tree with its working-day limits and
the keywords of the rule-based suggestion, and how accurate the learned suggestion is."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from yingshang.core.errors import DomainError, ValidationFailed
from yingshang.core.models import Department
from yingshang.core.permissions import require
from yingshang.core.views import domain_errors

from . import services, suggest
from .models import Category


def _int(raw: str | None, field: str) -> int:
    try:
        return int((raw or "").strip())
    except ValueError:
        raise ValidationFailed("请输入整数", "a whole number is required", field=field) from None


def _values(p: Any) -> dict[str, Any]:
    parent = Category.objects.filter(pk=p.get("parent")).first() if (p.get("parent") or "").isdigit() else None
    dept = Department.objects.filter(pk=p.get("default_department"), is_office=False).first() \
        if (p.get("default_department") or "").isdigit() else None
    return {"name": p.get("name", ""), "parent": parent, "resolve_days": _int(p.get("resolve_days"), "resolve_days"),
            "resolve_days_urgent": _int(p.get("resolve_days_urgent"), "resolve_days_urgent"),
            "default_department": dept, "keywords": p.get("keywords", "")}


@login_required
@domain_errors
def categories_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(user, "appeals.configure")  # type: ignore[arg-type]
    if request.method == "POST":
        p = request.POST
        try:
            if p.get("action") == "create":
                cat = services.category_create(actor=user, code=p.get("code", ""), **_values(p))  # type: ignore[arg-type]
                messages.success(request, f"已新增分类 {cat.code} {cat.name}")
            else:
                cat = Category.objects.filter(pk=p.get("category")).first() \
                    if (p.get("category") or "").isdigit() else None
                if cat is None:
                    raise ValidationFailed("分类不存在", "no such category", field="category")
                services.category_update(actor=user, category=cat, active=p.get("active") == "on",  # type: ignore[arg-type]
                                         **_values(p))
                messages.success(request, f"分类 {cat.code} 已保存")
        except DomainError as exc:
            messages.error(request, f"{exc.message} / {exc.message_en}")
        return redirect("appeals:categories")
    cats = list(Category.objects.select_related("parent", "default_department").order_by("code"))
    return render(request, "appeals/categories.html", {
        "categories": cats, "departments": Department.objects.filter(is_office=False).order_by("code"),
        "accuracy": suggest.evaluate_current(),
    })
