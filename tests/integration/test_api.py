"""The JSON API under /api/v1/: its OpenAPI document, the error shape, authentication (bearer token,
session with CSRF), scoping, field-level edit rules, derived figures, working days and the import."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from tests.conftest import County, make_uscc

ERROR_KEYS = {"code", "message", "message_en", "field"}


@pytest.fixture(autouse=True)
def _fast_passwords(settings):  # type: ignore[no-untyped-def]
    """The county creates ten users; the production hasher would take seconds per test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def error(resp, status: int, *, code: str | None = None, field: str | None | object = ...) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    assert resp.status_code == status, resp.content[:500]
    assert resp["Content-Type"].startswith("application/json")
    body = resp.json()
    assert set(body) == ERROR_KEYS, body
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["message_en"], str) and body["message_en"]
    if code is not None:
        assert body["code"] == code, body
    if field is not ...:
        assert body["field"] == field, body
    return body


def payload(c: County, seq: int = 100, **over: Any) -> dict[str, Any]:
    data = {"uscc": make_uscc(seq), "name": "瑞金市新建机械有限公司", "kind": "company", "industry_code": "3411",
            "region": c.town_a.code, "park": c.park.name, "contact_phone": "13611112222"}
    data.update(over)
    return data


def ent_count() -> int:
    from yingshang.enterprises.models import Enterprise

    return Enterprise.objects.count()


# ------------------------------------------------------------------------------------ OpenAPI


def test_openapi_document_lists_paths(county: County, client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    doc = resp.json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for p in ["/api/v1/enterprises", "/api/v1/enterprises/{uscc_code}", "/api/v1/enterprises/{uscc_code}/figures",
              "/api/v1/enterprises/{uscc_code}/figures/{year}", "/api/v1/enterprises/import",
              "/api/v1/enterprises/uscc-check", "/api/v1/regions", "/api/v1/departments", "/api/v1/workdays/add",
              "/api/v1/me"]:
        assert p in paths, p
    assert {"get", "post"} <= set(paths["/api/v1/enterprises"])
    assert {"get", "patch"} <= set(paths["/api/v1/enterprises/{uscc_code}"])
    assert "put" in paths["/api/v1/enterprises/{uscc_code}/figures/{year}"]
    schemes = doc["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values())


# ------------------------------------------------------------------------------------ create + error shape


def test_create_enterprise(county: County, login) -> None:  # type: ignore[no-untyped-def]
    from yingshang.core.models import AuditRecord

    resp = login(county.handler_a).post("/api/v1/enterprises", payload(county), content_type="application/json")
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["uscc"] == make_uscc(100) and body["region_code"] == county.town_a.code
    assert body["park"] == county.park.name
    assert body["contact_phone"] == "136****2222"  # a handler sees it masked even right after creating
    assert AuditRecord.objects.filter(action="enterprise.create", object_id=str(body["id"]),
                                      actor=county.handler_a).exists()


def test_create_with_bad_credit_code(county: County, login) -> None:  # type: ignore[no-untyped-def]
    good = make_uscc(100)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    before = ent_count()
    resp = login(county.dispatcher).post("/api/v1/enterprises", payload(county, uscc=bad), content_type="application/json")
    body = error(resp, 400, code="validation_failed", field="uscc")
    assert "信用代码" in body["message"] and "credit code" in body["message_en"]
    assert ent_count() == before


@pytest.mark.parametrize("region", ["999999999999", "360781000000", ""])
def test_create_with_unknown_or_non_township_region(county: County, login, region: str) -> None:  # type: ignore[no-untyped-def]
    before = ent_count()
    resp = login(county.dispatcher).post("/api/v1/enterprises", payload(county, region=region),
                                         content_type="application/json")
    error(resp, 400, code="validation_failed", field="region")
    assert ent_count() == before


@pytest.mark.parametrize(("over", "field"), [
    ({"industry_code": "99999"}, "industry_code"),
    ({"park": "不存在的园区"}, "park"),
    ({"name": ""}, "name"),
    ({"registered_capital_wan": -1}, "registered_capital_wan"),
    ({"registered_on": "2020-13-45"}, "registered_on"),
])
def test_create_with_other_bad_fields(county: County, login, over: dict[str, Any], field: str) -> None:  # type: ignore[no-untyped-def]
    before = ent_count()
    resp = login(county.dispatcher).post("/api/v1/enterprises", payload(county, **over), content_type="application/json")
    error(resp, 400, field=field)
    assert ent_count() == before


def test_create_missing_required_field(county: County, login) -> None:  # type: ignore[no-untyped-def]
    data = payload(county)
    del data["industry_code"]
    resp = login(county.dispatcher).post("/api/v1/enterprises", data, content_type="application/json")
    error(resp, 400, code="validation_failed", field="industry_code")


def test_create_duplicate_credit_code_is_409(county: County, login) -> None:  # type: ignore[no-untyped-def]
    before = ent_count()
    resp = login(county.dispatcher).post("/api/v1/enterprises", payload(county, uscc=county.ent_a.uscc.lower()),
                                         content_type="application/json")
    error(resp, 409, code="conflict", field="uscc")
    assert ent_count() == before


def test_malformed_json_is_400_json(county: County, login) -> None:  # type: ignore[no-untyped-def]
    resp = login(county.dispatcher).post("/api/v1/enterprises", "{not json", content_type="application/json")
    assert resp.status_code == 400
    assert resp["Content-Type"].startswith("application/json")


# ------------------------------------------------------------------------------------ query parameters, 404


@pytest.mark.parametrize(("query", "field"), [({"page": 0}, "page"), ({"page_size": 501}, "page_size"),
                                              ({"page": "x"}, "page")])
def test_bad_query_param(county: County, login, query: dict[str, Any], field: str) -> None:  # type: ignore[no-untyped-def]
    resp = login(county.dispatcher).get("/api/v1/enterprises", query)
    error(resp, 400, code="validation_failed", field=field)


def test_bad_workday_params(county: County, login) -> None:  # type: ignore[no-untyped-def]
    c = login(county.dispatcher)
    error(c.get("/api/v1/workdays/add", {"date": "2026-02-30", "n": 1}), 400, field="date")
    error(c.get("/api/v1/workdays/add", {"date": "2026-09-30"}), 400, field="n")
    error(c.get("/api/v1/workdays/add", {"date": "2200-01-01", "n": 1}), 400, field="date")


def test_list_paging_and_filters(county: County, login) -> None:  # type: ignore[no-untyped-def]
    c = login(county.dispatcher)
    body = c.get("/api/v1/enterprises", {"page_size": 1, "page": 2}).json()
    assert body["count"] == 2 and body["page"] == 2 and body["page_size"] == 1 and len(body["results"]) == 1
    assert c.get("/api/v1/enterprises", {"page": 3, "page_size": 1}).json()["results"] == []
    only_b = c.get("/api/v1/enterprises", {"kind": "individual"}).json()
    assert [r["uscc"] for r in only_b["results"]] == [county.ent_b.uscc]
    town = c.get("/api/v1/enterprises", {"region": county.town_a.code}).json()
    assert [r["uscc"] for r in town["results"]] == [county.ent_a.uscc]
    county_wide = c.get("/api/v1/enterprises", {"region": county.county.code}).json()
    assert county_wide["count"] == 2


def test_unknown_credit_code_is_404(county: County, login) -> None:  # type: ignore[no-untyped-def]
    c = login(county.dispatcher)
    error(c.get(f"/api/v1/enterprises/{make_uscc(4242)}"), 404, code="not_found")
    error(c.patch(f"/api/v1/enterprises/{make_uscc(4242)}", {"contact_phone": "1"}, content_type="application/json"),
          404, code="not_found")
    error(c.get(f"/api/v1/enterprises/{make_uscc(4242)}/figures"), 404, code="not_found")


def test_read_by_lowercase_code(county: County, login) -> None:  # type: ignore[no-untyped-def]
    resp = login(county.dispatcher).get(f"/api/v1/enterprises/{county.ent_a.uscc.lower()}")
    assert resp.status_code == 200 and resp.json()["uscc"] == county.ent_a.uscc


def test_enterprise_user_cannot_read_another(county: County, login) -> None:  # type: ignore[no-untyped-def]
    c = login(county.ent_user_b)
    error(c.get(f"/api/v1/enterprises/{county.ent_a.uscc}"), 403, code="forbidden")
    error(c.get(f"/api/v1/enterprises/{county.ent_a.uscc}/figures"), 403, code="forbidden")
    assert c.get(f"/api/v1/enterprises/{county.ent_b.uscc}").status_code == 200


def test_uscc_check_is_public(county: County, client) -> None:  # type: ignore[no-untyped-def]
    good = client.get("/api/v1/enterprises/uscc-check", {"code": county.ent_a.uscc}).json()
    assert good["valid"] is True and good["reason"] is None
    bad = client.get("/api/v1/enterprises/uscc-check", {"code": county.ent_a.uscc[:-1] + "Z"}).json()
    assert bad["valid"] is False and bad["reason"]


# ------------------------------------------------------------------------------------ authentication


def test_anonymous_gets_401_json(county: County, client) -> None:  # type: ignore[no-untyped-def]
    error(client.get("/api/v1/enterprises"), 401, code="unauthenticated", field=None)
    before = ent_count()
    error(client.post("/api/v1/enterprises", payload(county), content_type="application/json"), 401)
    assert ent_count() == before


def test_bearer_token(county: County) -> None:
    from yingshang.core.models import AuditRecord
    from yingshang.core.services import api_token_create

    token, raw = api_token_create(actor=county.dispatcher, user=county.dispatcher, name="数据交换")
    assert raw.startswith("ys_") and token.prefix == raw[:8] and raw not in token.digest
    assert AuditRecord.objects.filter(action="api_token.create", actor=county.dispatcher).exists()
    c = Client()
    resp = c.get("/api/v1/enterprises", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert resp.status_code == 200 and resp.json()["count"] == 2
    assert c.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").json()["username"] == "dispatcher"
    # the token carries the user's permissions: the dispatcher sees personal data in full
    rows = {r["uscc"]: r for r in resp.json()["results"]}
    assert rows[county.ent_a.uscc]["contact_phone"] == "13912345678"
    error(c.get("/api/v1/enterprises", HTTP_AUTHORIZATION=f"Bearer {raw}x"), 401, code="unauthenticated")
    error(c.get("/api/v1/enterprises", HTTP_AUTHORIZATION="Bearer ys_wrong"), 401, code="unauthenticated")
    error(c.get("/api/v1/enterprises", HTTP_AUTHORIZATION=f"Token {raw}"), 401, code="unauthenticated")


def test_bearer_token_write_needs_no_csrf(county: County) -> None:
    from yingshang.core.services import api_token_create

    _, raw = api_token_create(actor=county.dispatcher, user=county.dispatcher, name="sys")
    c = Client(enforce_csrf_checks=True)
    resp = c.post("/api/v1/enterprises", payload(county), content_type="application/json",
                  HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert resp.status_code == 201, resp.content


def test_token_of_a_handler_is_scoped_like_the_handler(county: County) -> None:
    from yingshang.core.services import api_token_create

    _, raw = api_token_create(actor=county.security, user=county.ent_user_b, name="企业对接")
    c = Client()
    body = c.get("/api/v1/enterprises", HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    assert [r["uscc"] for r in body["results"]] == [county.ent_b.uscc]
    error(c.get(f"/api/v1/enterprises/{county.ent_a.uscc}", HTTP_AUTHORIZATION=f"Bearer {raw}"), 403)


def test_only_security_creates_tokens_for_others(county: County) -> None:
    from yingshang.core.errors import NotPermitted
    from yingshang.core.models import ApiToken
    from yingshang.core.services import api_token_create

    for actor in (county.handler_a, county.dispatcher, county.auditor):
        with pytest.raises(NotPermitted):
            api_token_create(actor=actor, user=county.leader, name="x")
    assert not ApiToken.objects.exists()


def test_revoked_token_and_inactive_user_are_refused(county: County) -> None:
    from django.utils import timezone

    from yingshang.core.models import ApiToken, User
    from yingshang.core.services import api_token_create

    _, raw = api_token_create(actor=county.handler_a, user=county.handler_a, name="a")
    c = Client()
    assert c.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    User.objects.filter(pk=county.handler_a.pk).update(is_active=False)
    error(c.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}"), 401)
    User.objects.filter(pk=county.handler_a.pk).update(is_active=True)
    ApiToken.objects.update(revoked_at=timezone.now())
    error(c.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}"), 401)


def test_session_write_needs_csrf(county: County) -> None:
    c = Client(enforce_csrf_checks=True)
    c.force_login(county.dispatcher)
    assert c.get("/api/v1/enterprises").status_code == 200  # reads need no token
    before = ent_count()
    resp = c.post("/api/v1/enterprises", payload(county), content_type="application/json")
    assert resp.status_code == 403, resp.content
    assert resp["Content-Type"].startswith("application/json")
    assert set(resp.json()) == ERROR_KEYS
    assert ent_count() == before
    resp = c.patch(f"/api/v1/enterprises/{county.ent_a.uscc}", {"contact_phone": "13700000000"},
                   content_type="application/json")
    assert resp.status_code == 403
    county.ent_a.refresh_from_db()
    assert county.ent_a.contact_phone == "13912345678"
    # with the token from the cookie the same request goes through
    c.get("/enterprises/")  # a page that renders a form sets the CSRF cookie
    csrf = c.cookies["csrftoken"].value
    resp = c.post("/api/v1/enterprises", payload(county), content_type="application/json", HTTP_X_CSRFTOKEN=csrf)
    assert resp.status_code == 201, resp.content
    assert ent_count() == before + 1


# ------------------------------------------------------------------------------------ PATCH rules


def test_enterprise_user_patches_own_contact(county: County, login) -> None:  # type: ignore[no-untyped-def]
    from yingshang.core.models import AuditRecord

    c = login(county.ent_user_a)
    resp = c.patch(f"/api/v1/enterprises/{county.ent_a.uscc}", {"contact_phone": "13755556666", "contact_name": "王五"},
                   content_type="application/json")
    assert resp.status_code == 200, resp.content
    assert resp.json()["contact_phone"] == "13755556666"  # its own phone, in full
    county.ent_a.refresh_from_db()
    assert county.ent_a.contact_phone == "13755556666" and county.ent_a.contact_name == "王五"
    rec = AuditRecord.objects.get(action="enterprise.update", object_id=str(county.ent_a.pk))
    assert rec.actor_id == county.ent_user_a.pk
    assert rec.before["contact_phone"] == "13912345678" and rec.after["contact_phone"] == "13755556666"


@pytest.mark.parametrize("field", ["name", "industry_code", "is_high_tech"])
def test_enterprise_user_cannot_patch_registry_fields(county: County, login, field: str) -> None:  # type: ignore[no-untyped-def]
    from yingshang.core.models import AuditRecord

    value = {"name": "冒名有限公司", "industry_code": "6210", "is_high_tech": True}[field]
    c = login(county.ent_user_a)
    resp = c.patch(f"/api/v1/enterprises/{county.ent_a.uscc}", {field: value, "contact_phone": "13700000000"},
                   content_type="application/json")
    error(resp, 400, code="validation_failed", field=field)
    county.ent_a.refresh_from_db()
    assert county.ent_a.name == "瑞金市红都纺织有限公司" and county.ent_a.industry_code == "1711"
    assert county.ent_a.is_high_tech is False and county.ent_a.contact_phone == "13912345678"
    assert not AuditRecord.objects.filter(action="enterprise.update").exists()


def test_enterprise_user_cannot_patch_another(county: County, login) -> None:  # type: ignore[no-untyped-def]
    resp = login(county.ent_user_b).patch(f"/api/v1/enterprises/{county.ent_a.uscc}", {"contact_phone": "1"},
                                          content_type="application/json")
    error(resp, 403, code="forbidden")
    county.ent_a.refresh_from_db()
    assert county.ent_a.contact_phone == "13912345678"


def test_handler_patches_industry_and_size_is_rederived(county: County, login) -> None:  # type: ignore[no-untyped-def]
    # 350 staff and 25,000 万元 are 中型 in manufacturing (1711) but 大型 in retail (5211, 300+ and 20,000+):
    # the class is recomputed on an industry change, never kept.
    from yingshang.enterprises.models import YearFigure
    from yingshang.enterprises.services import derive_size

    assert county.ent_a.size_class == "中型"
    resp = login(county.handler_a).patch(f"/api/v1/enterprises/{county.ent_a.uscc}", {"industry_code": "5211"},
                                         content_type="application/json")
    assert resp.status_code == 200, resp.content
    fig = YearFigure.objects.get(enterprise=county.ent_a, year=2025)
    expected, _ = derive_size("5211", fig, False)
    assert expected == "大型"
    assert resp.json()["industry_code"] == "5211" and resp.json()["size_class"] == expected
    county.ent_a.refresh_from_db()
    assert county.ent_a.size_class == "大型"


def test_patch_rejects_bad_values_and_changes_nothing(county: County, login) -> None:  # type: ignore[no-untyped-def]
    c = login(county.dispatcher)
    error(c.patch(f"/api/v1/enterprises/{county.ent_a.uscc}", {"industry_code": "abc"},
                  content_type="application/json"), 400, field="industry_code")
    error(c.patch(f"/api/v1/enterprises/{county.ent_a.uscc}", {"name": ""}, content_type="application/json"),
          400, field="name")
    county.ent_a.refresh_from_db()
    assert county.ent_a.industry_code == "1711" and county.ent_a.name == "瑞金市红都纺织有限公司"


# ------------------------------------------------------------------------------------ figures


def test_put_figures_rederives_size_class_with_audit(county: County, login) -> None:  # type: ignore[no-untyped-def]
    from yingshang.core.models import AuditRecord
    from yingshang.enterprises.models import YearFigure

    assert county.ent_a.size_class == "中型" and county.ent_a.figures_year == 2025
    c = login(county.handler_a)
    url = f"/api/v1/enterprises/{county.ent_a.uscc}/figures/2025"
    resp = c.put(url, {"employees": 1200, "revenue_wan": "52000", "assets_wan": "30000"}, content_type="application/json")
    assert resp.status_code == 200, resp.content
    assert resp.json()["year"] == 2025 and resp.json()["employees"] == 1200
    assert Decimal(str(resp.json()["revenue_wan"])) == Decimal("52000")
    county.ent_a.refresh_from_db()
    assert county.ent_a.size_class == "大型" and county.ent_a.above_designated is True
    assert YearFigure.objects.get(enterprise=county.ent_a, year=2025).employees == 1200
    figs = AuditRecord.objects.get(action="enterprise.figures", object_id=str(county.ent_a.pk))
    assert figs.actor_id == county.handler_a.pk
    assert figs.before["employees"] == 350 and figs.after["employees"] == 1200
    derived = AuditRecord.objects.get(action="enterprise.derive_size", object_id=str(county.ent_a.pk))
    assert derived.before["size_class"] == "中型" and derived.after["size_class"] == "大型"
    # visible through the API as well
    assert c.get(f"/api/v1/enterprises/{county.ent_a.uscc}").json()["size_class"] == "大型"
    years = c.get(f"/api/v1/enterprises/{county.ent_a.uscc}/figures").json()
    assert [y["year"] for y in years] == [2025]


def test_put_figures_shrinks_to_micro(county: County, login) -> None:  # type: ignore[no-untyped-def]
    c = login(county.head_a)
    resp = c.put(f"/api/v1/enterprises/{county.ent_a.uscc}/figures/2025", {"employees": 5, "revenue_wan": "50"},
                 content_type="application/json")
    assert resp.status_code == 200, resp.content
    county.ent_a.refresh_from_db()
    assert county.ent_a.size_class == "微型" and county.ent_a.above_designated is False


@pytest.mark.parametrize(("year", "values", "field"), [
    (2025, {"employees": -1}, "employees"),
    (2025, {"revenue_wan": "-5"}, "revenue_wan"),
    (1980, {"employees": 1}, "year"),
    (2999, {"employees": 1}, "year"),
])
def test_put_figures_rejects_bad_input(county: County, login, year: int, values: dict[str, Any], field: str) -> None:  # type: ignore[no-untyped-def]
    from yingshang.core.models import AuditRecord
    from yingshang.enterprises.models import YearFigure

    before_audit = AuditRecord.objects.count()
    resp = login(county.handler_a).put(f"/api/v1/enterprises/{county.ent_a.uscc}/figures/{year}", values,
                                       content_type="application/json")
    error(resp, 400, field=field)
    assert YearFigure.objects.get(enterprise=county.ent_a).employees == 350
    assert not YearFigure.objects.exclude(year=2025).exists()
    assert AuditRecord.objects.count() == before_audit
    county.ent_a.refresh_from_db()
    assert county.ent_a.size_class == "中型"


def test_enterprise_user_cannot_put_own_figures(county: County, login) -> None:  # type: ignore[no-untyped-def]
    resp = login(county.ent_user_a).put(f"/api/v1/enterprises/{county.ent_a.uscc}/figures/2025", {"employees": 5000},
                                        content_type="application/json")
    error(resp, 403, code="forbidden")
    county.ent_a.refresh_from_db()
    assert county.ent_a.size_class == "中型"


# ------------------------------------------------------------------------------------ working days


def test_workdays_after_national_day(county: County, login) -> None:  # type: ignore[no-untyped-def]
    resp = login(county.handler_a).get("/api/v1/workdays/add", {"date": "2026-09-30", "n": 1})
    assert resp.status_code == 200
    assert resp.json() == {"date": "2026-10-08", "provisional": False}


def test_workdays_into_a_provisional_year(county: County, login) -> None:  # type: ignore[no-untyped-def]
    resp = login(county.handler_a).get("/api/v1/workdays/add", {"date": "2026-12-30", "n": 5})
    assert resp.status_code == 200
    assert resp.json() == {"date": "2027-01-07", "provisional": True}


def test_workdays_between(county: County, login) -> None:  # type: ignore[no-untyped-def]
    body = login(county.handler_a).get("/api/v1/workdays/between", {"start": "2026-09-30", "end": "2026-10-08"}).json()
    assert body == {"workdays": 1, "provisional": False}


# ------------------------------------------------------------------------------------ import


def _csv(c: County, *rows: str) -> bytes:
    return ("统一社会信用代码,名称,行业代码,所属乡镇\n" + "\n".join(rows) + "\n").encode()


def test_import_csv_reports_row_errors(county: County, login) -> None:  # type: ignore[no-untyped-def]
    from yingshang.enterprises.models import Enterprise, ImportJob, ImportRowError

    good = make_uscc(100)
    data = _csv(county, f"{good},瑞金市导入一号有限公司,1711,{county.town_a.code}",
                f"91360781NOTVALID0,瑞金市导入二号有限公司,1711,{county.town_a.code}")
    before = ent_count()
    resp = login(county.dispatcher).post("/api/v1/enterprises/import",
                                         {"file": SimpleUploadedFile("registry.csv", data, "text/csv")})
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["created"] == 1 and body["rejected"] == 1 and body["rows"] == 2
    assert body["updated"] == 0 and body["unchanged"] == 0
    (err,) = body["errors"]
    assert err["row"] == 3 and err["field"] == "uscc" and err["reason"]
    assert ent_count() == before + 1
    ent = Enterprise.objects.get(uscc=good)
    assert ent.region_id == county.town_a.pk and ent.name == "瑞金市导入一号有限公司"
    job = ImportJob.objects.get(pk=body["job"])
    assert job.actor_id == county.dispatcher.pk and job.rows_created == 1 and job.rows_rejected == 1
    assert ImportRowError.objects.filter(job=job, row=3, field="uscc").count() == 1


def test_import_same_file_twice_is_idempotent(county: County, login) -> None:  # type: ignore[no-untyped-def]
    data = _csv(county, f"{make_uscc(100)},瑞金市导入一号有限公司,1711,{county.town_a.code}")
    c = login(county.dispatcher)
    first = c.post("/api/v1/enterprises/import", {"file": SimpleUploadedFile("r.csv", data, "text/csv")}).json()
    second = c.post("/api/v1/enterprises/import", {"file": SimpleUploadedFile("r.csv", data, "text/csv")}).json()
    assert first["created"] == 1
    assert second["created"] == 0 and second["unchanged"] == 1 and second["rejected"] == 0


@pytest.mark.parametrize(("row", "field"), [
    ("{good},,1711,{town}", "name"),
    ("{good},某公司,99999,{town}", "industry_code"),
    ("{good},某公司,1711,火星镇", "region"),
])
def test_import_row_level_fields(county: County, login, row: str, field: str) -> None:  # type: ignore[no-untyped-def]
    data = _csv(county, row.format(good=make_uscc(100), town=county.town_a.code))
    before = ent_count()
    body = login(county.dispatcher).post("/api/v1/enterprises/import",
                                         {"file": SimpleUploadedFile("r.csv", data, "text/csv")}).json()
    assert body["created"] == 0 and body["rejected"] == 1
    assert body["errors"][0]["row"] == 2 and body["errors"][0]["field"] == field
    assert ent_count() == before


def test_import_without_file_is_400(county: County, login) -> None:  # type: ignore[no-untyped-def]
    resp = login(county.dispatcher).post("/api/v1/enterprises/import", {})
    body = error(resp, 400, code="validation_failed")
    assert body["field"] == "file", (
        "BUG in yingshang/api.py validation_error(): django-ninja reports a missing upload as "
        "loc=['file', 'file'] (location, parameter); the handler strips *every* 'file' element from loc "
        f"instead of only the leading location, so the error names no field: {body}"
    )
