"""The office's appeal settings: categories with their working-day limits and keywords (service,
page, API), the suggestion accuracy (page, API, CLI) and the stats rebuild command."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from tests.conftest import County, submit_appeal

from yingshang.appeals import services
from yingshang.appeals.models import Category
from yingshang.core.errors import Conflict, NotPermitted, ValidationFailed


def test_category_services(appeal_county: County) -> None:
    c = appeal_county
    cat = services.category_create(actor=c.dispatcher, code="11", name="供电保障", resolve_days=5,
                                   resolve_days_urgent=1, keywords="停电， 供电,停电", default_department=c.dept_a,
                                   parent=Category.objects.get(code="07"))
    assert cat.keywords == "停电,供电"
    with pytest.raises(Conflict):
        services.category_create(actor=c.dispatcher, code="11", name="x", resolve_days=5, resolve_days_urgent=1)
    with pytest.raises(NotPermitted):
        services.category_create(actor=c.handler_a, code="12", name="x", resolve_days=5, resolve_days_urgent=1)
    for bad, field in (({"resolve_days": 0}, "resolve_days"), ({"resolve_days_urgent": 9}, "resolve_days_urgent"),
                       ({"name": " "}, "name"), ({"parent": cat}, "parent")):
        with pytest.raises(ValidationFailed) as e:
            services.category_update(actor=c.dispatcher, category=cat, **bad)
        assert e.value.field == field
    cat.refresh_from_db()
    assert (cat.resolve_days, cat.resolve_days_urgent, cat.name) == (5, 1, "供电保障")
    # a new limit applies to appeals dispatched afterwards
    services.category_update(actor=c.dispatcher, category=cat, resolve_days=8)
    a = services.appeal_dispatch(actor=c.dispatcher, appeal=submit_appeal(c, category=cat), lead=c.dept_a)
    assert a.resolve_days == 8
    cat = services.category_update(actor=c.dispatcher, category=cat, active=False)
    with pytest.raises(ValidationFailed):
        submit_appeal(c, category=cat)


def test_categories_page_and_api(appeal_county: County) -> None:
    c = appeal_county
    office = Client()
    office.force_login(c.dispatcher)
    page = office.get("/appeals/categories/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "派单建议准确率" in html and "用工" in html
    r = office.post("/appeals/categories/", {"action": "create", "code": "12", "name": "物流运输", "resolve_days": "7",
                                            "resolve_days_urgent": "2", "keywords": "物流,货运"})
    assert r.status_code == 302 and Category.objects.get(code="12").resolve_days == 7
    cat = Category.objects.get(code="12")
    office.post("/appeals/categories/", {"action": "update", "category": cat.pk, "name": "物流运输",
                                        "resolve_days": "7", "resolve_days_urgent": "9"})  # refused
    cat.refresh_from_db()
    assert cat.resolve_days_urgent == 2
    handler = Client()
    handler.force_login(c.handler_a)
    assert handler.get("/appeals/categories/").status_code == 403
    assert "categories-link" in office.get("/appeals/").content.decode()
    assert "categories-link" not in handler.get("/appeals/").content.decode()
    # API
    created = office.post("/api/v1/appeals/categories", {"code": "13", "name": "出口退税", "resolve_days": 5,
                                                         "resolve_days_urgent": 2, "default_department_code": "GXJ"},
                          content_type="application/json")
    assert created.status_code == 201 and created.json()["default_department_code"] == "GXJ"
    patched = office.patch("/api/v1/appeals/categories/13", {"keywords": "退税,出口"}, content_type="application/json")
    assert patched.json()["keywords"] == "退税,出口"
    bad = office.patch("/api/v1/appeals/categories/13", {"parent_code": "nope"}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["field"] == "parent_code"
    bad = office.patch("/api/v1/appeals/categories/13", {"default_department_code": "NOPE"},
                       content_type="application/json")
    assert bad.status_code == 400 and bad.json()["field"] == "default_department_code"
    assert handler.patch("/api/v1/appeals/categories/13", {"keywords": "x"},
                         content_type="application/json").status_code == 403
    assert office.get("/api/v1/appeals/suggest-accuracy").json()["n"] == 0
    assert handler.get("/api/v1/appeals/suggest-accuracy").status_code == 403


def test_cli_accuracy_and_rebuild(appeal_county: County) -> None:
    c = appeal_county
    for _ in range(3):
        services.appeal_dispatch(actor=c.dispatcher, appeal=submit_appeal(c), lead=c.dept_a)
    out = StringIO()
    call_command("appeals", "suggest-accuracy", stdout=out)
    result = json.loads(out.getvalue())
    assert result["n"] == 3 and result["n_test"] == 1
    out = StringIO()
    call_command("appeals", "rebuild-stats", stdout=out)
    assert json.loads(out.getvalue()) == {"rebuilt": 3}
