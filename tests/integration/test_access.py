"""Permissions seen from outside: every page and every JSON endpoint, for every persona.

The matrix tests below request each URL as each persona and check the status code; the tests
after them check what is *shown* (row scoping, masking of personal data, exports), that refused
writes leave nothing changed (separation of duties, 三权分立), and that list pages and the list
API do a constant number of queries however many enterprises there are (no N+1).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from tests.conftest import PASSWORD, County, make_uscc

PHONE_FULL = "13912345678"
PHONE_MASKED = "139****5678"

ANON = "anonymous"
DISPATCHER, HANDLER_A, HEAD_A, HANDLER_B = "dispatcher", "handler_a", "head_a", "handler_b"
LEADER, INSPECTOR, ENT_A, ENT_B = "leader", "inspector", "ent_user_a", "ent_user_b"
AUDITOR, SECURITY = "auditor", "security"

PERSONAS = [ANON, DISPATCHER, HANDLER_A, HEAD_A, HANDLER_B, LEADER, INSPECTOR, ENT_A, ENT_B, AUDITOR, SECURITY]
GOVERNMENT = {DISPATCHER, HANDLER_A, HEAD_A, HANDLER_B, LEADER, INSPECTOR}
ENTERPRISE_USERS = {ENT_A, ENT_B}
SIGNED_IN = set(PERSONAS) - {ANON}
EDITORS = {DISPATCHER, HANDLER_A, HEAD_A, HANDLER_B}  # enterprises.edit


@pytest.fixture(autouse=True)
def _fast_passwords(settings):  # type: ignore[no-untyped-def]
    """The county creates ten users; the production hasher would take seconds per test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _as(client, county: County, persona: str):  # type: ignore[no-untyped-def]
    if persona != ANON:
        client.force_login(getattr(county, persona))
    return client


def _import_job(c: County):  # type: ignore[no-untyped-def]
    from yingshang.enterprises.models import ImportJob

    return ImportJob.objects.create(file_name="x.csv", file_sha256="0" * 64, actor=c.dispatcher, status="done")


def _expect(ok: set[str], *, anon: int = 302, ok_status: int = 200, refused: int = 403) -> dict[str, int]:
    return {p: anon if p == ANON else ok_status if p in ok else refused for p in PERSONAS}


# ------------------------------------------------------------------------------------ pages (GET)

PAGES: dict[str, tuple[Callable[[County], str], dict[str, int]]] = {
    "home": (lambda c: reverse("core:home"), _expect(SIGNED_IN)),
    "inbox": (lambda c: reverse("core:inbox"), _expect(SIGNED_IN)),
    "departments": (lambda c: reverse("core:departments"), _expect(GOVERNMENT | {SECURITY})),
    # another department's staff list: only the dispatcher, the security admin and its own people
    "department_a": (lambda c: reverse("core:department", args=[c.dept_a.pk]),
                     _expect({DISPATCHER, SECURITY, HANDLER_A, HEAD_A})),
    "department_b": (lambda c: reverse("core:department", args=[c.dept_b.pk]),
                     _expect({DISPATCHER, SECURITY, HANDLER_B, INSPECTOR})),
    "calendar": (lambda c: reverse("core:calendar"), _expect({DISPATCHER, HEAD_A, LEADER})),
    "audit": (lambda c: reverse("core:audit"), _expect({AUDITOR})),
    "accounts": (lambda c: reverse("core:users"), _expect({SECURITY})),
    "enterprise_list": (lambda c: reverse("enterprises:list"), _expect(GOVERNMENT | ENTERPRISE_USERS)),
    "enterprise_export": (lambda c: reverse("enterprises:export"), _expect(GOVERNMENT | ENTERPRISE_USERS)),
    "enterprise_a": (lambda c: reverse("enterprises:detail", args=[c.ent_a.pk]), _expect(GOVERNMENT | {ENT_A})),
    "enterprise_b": (lambda c: reverse("enterprises:detail", args=[c.ent_b.pk]), _expect(GOVERNMENT | {ENT_B})),
    "import": (lambda c: reverse("enterprises:import"), _expect({DISPATCHER})),
    "import_template": (lambda c: reverse("enterprises:import_template"), _expect({DISPATCHER})),
    "import_job": (lambda c: reverse("enterprises:import_job", args=[_import_job(c).pk]), _expect({DISPATCHER})),
    "import_errors": (lambda c: reverse("enterprises:import_errors", args=[_import_job(c).pk]), _expect({DISPATCHER})),
}


def _observe(client, county: County, url: str, check: Callable[[str, Any], None]) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Request ``url`` as every persona in turn (one county per URL keeps the matrix fast on
    PostgreSQL); returns persona -> status so that a failure shows the whole row of the matrix."""
    seen: dict[str, int] = {}
    for persona in PERSONAS:
        client.logout()
        resp = _as(client, county, persona).get(url)
        seen[persona] = resp.status_code
        check(persona, resp)
    return seen


@pytest.mark.parametrize("page", list(PAGES))
def test_page_access(county: County, client, page: str) -> None:  # type: ignore[no-untyped-def]
    """url name x persona -> expected status; anonymous visitors are sent to the login page."""
    url_of, expected = PAGES[page]
    url = url_of(county)

    def check(persona: str, resp: Any) -> None:
        if persona == ANON:
            assert resp["Location"].startswith(reverse("core:login") + "?next=")
        elif resp.status_code == 403:
            assert "core/error.html" in [t.name for t in resp.templates]

    assert _observe(client, county, url, check) == expected, url


@pytest.mark.parametrize("persona", PERSONAS)
def test_public_pages(county: County, client, persona: str) -> None:  # type: ignore[no-untyped-def]
    c = _as(client, county, persona)
    assert c.get(reverse("core:healthz")).json() == {"status": "ok"}
    if persona == ANON:
        assert c.get(reverse("core:login")).status_code == 200


def test_missing_objects_are_404(county: County, login) -> None:  # type: ignore[no-untyped-def]
    c = login(county.dispatcher)
    assert c.get(reverse("enterprises:detail", args=[999999])).status_code == 404
    assert c.get(reverse("core:department", args=[999999])).status_code == 404
    assert c.get(reverse("enterprises:import_job", args=[999999])).status_code == 404


def test_login_form_then_redirect_back(county: County, client) -> None:  # type: ignore[no-untyped-def]
    target = reverse("enterprises:list")
    resp = client.get(target)
    assert resp.status_code == 302
    resp = client.post(reverse("core:login"), {"username": "dispatcher", "password": PASSWORD, "next": target})
    assert resp.status_code == 302 and resp["Location"] == target
    assert client.get(target).status_code == 200
    bad = client.post(reverse("core:login"), {"username": "dispatcher", "password": "wrong-password"})
    assert bad.status_code == 401


def test_logout_needs_post(county: County, login) -> None:  # type: ignore[no-untyped-def]
    c = login(county.handler_a)
    assert c.get(reverse("core:logout")).status_code == 405
    assert c.post(reverse("core:logout")).status_code == 302
    assert c.get(reverse("core:home")).status_code == 302


# ------------------------------------------------------------------------------------ pages (POST)


def _new_user_form(c: County) -> dict[str, str]:
    return {"username": "newbie", "password": "Another@pass2026", "role": "handler", "full_name": "新人",
            "department": str(c.dept_a.pk)}


@pytest.mark.parametrize("persona", sorted(SIGNED_IN - {SECURITY}))
def test_account_create_refused_for_all_but_security(county: County, client, persona: str) -> None:  # type: ignore[no-untyped-def]
    from yingshang.core.models import User

    before = User.objects.count()
    resp = _as(client, county, persona).post(reverse("core:users"), _new_user_form(county))
    assert resp.status_code == 403
    assert User.objects.count() == before
    assert not User.objects.filter(username="newbie").exists()


def test_account_create_by_security(county: County, login) -> None:  # type: ignore[no-untyped-def]
    from yingshang.core.models import AuditRecord, User

    resp = login(county.security).post(reverse("core:users"), _new_user_form(county))
    assert resp.status_code == 302
    user = User.objects.get(username="newbie")
    assert user.role == "handler" and user.department_id == county.dept_a.pk
    assert AuditRecord.objects.filter(action="user.create", object_id=str(user.pk), actor=county.security).exists()


@pytest.mark.parametrize("persona", sorted(SIGNED_IN - {SECURITY}))
def test_account_lock_and_deactivate_refused(county: County, client, persona: str) -> None:  # type: ignore[no-untyped-def]
    from yingshang.core.models import User

    target = county.handler_b
    User.objects.filter(pk=target.pk).update(failed_logins=3)
    c = _as(client, county, persona)
    assert c.post(reverse("core:user_active", args=[target.pk]), {"active": "0"}).status_code == 403
    assert c.post(reverse("core:user_unlock", args=[target.pk])).status_code == 403
    target.refresh_from_db()
    assert target.is_active and target.failed_logins == 3


def test_account_lock_and_deactivate_by_security(county: County, login) -> None:  # type: ignore[no-untyped-def]
    from yingshang.core.models import User

    target = county.handler_b
    User.objects.filter(pk=target.pk).update(failed_logins=3)
    c = login(county.security)
    assert c.post(reverse("core:user_unlock", args=[target.pk])).status_code == 302
    assert c.post(reverse("core:user_active", args=[target.pk]), {"active": "0"}).status_code == 302
    target.refresh_from_db()
    assert not target.is_active and target.failed_logins == 0
    # a deactivated account is shut out of pages and the API, even with a live session
    assert c.get(reverse("core:users")).status_code == 200
    other = login(target)
    assert other.get(reverse("core:home")).status_code == 302
    assert other.get("/api/v1/me").status_code == 401


def test_account_pages_refuse_anonymous_posts(county: County, client) -> None:  # type: ignore[no-untyped-def]
    from yingshang.core.models import User

    before = User.objects.count()
    assert client.post(reverse("core:users"), _new_user_form(county)).status_code == 302
    assert client.post(reverse("core:user_active", args=[county.handler_b.pk]), {"active": "0"}).status_code == 302
    assert User.objects.count() == before
    county.handler_b.refresh_from_db()
    assert county.handler_b.is_active


CALENDAR_CSV = b"date,kind,name\n2027-01-01,holiday,\xe5\x85\x83\xe6\x97\xa6\n"


@pytest.mark.parametrize("persona", [HEAD_A, LEADER, HANDLER_A, AUDITOR, SECURITY, ENT_A])
def test_calendar_upload_refused(county: County, client, persona: str) -> None:  # type: ignore[no-untyped-def]
    from yingshang.core.models import CalendarYear

    resp = _as(client, county, persona).post(reverse("core:calendar"),
                                             {"file": SimpleUploadedFile("c.csv", CALENDAR_CSV)})
    assert resp.status_code == 403
    assert not CalendarYear.objects.filter(year=2027, status="official").exclude(source="chinesecalendar").exists()


def test_calendar_upload_by_dispatcher(county: County, login) -> None:  # type: ignore[no-untyped-def]
    from yingshang.core.models import CalendarYear

    resp = login(county.dispatcher).post(reverse("core:calendar"), {"file": SimpleUploadedFile("c.csv", CALENDAR_CSV)})
    assert resp.status_code == 302
    assert CalendarYear.objects.get(year=2027).status == "official"


IMPORT_CSV = ("统一社会信用代码,名称,行业代码,所属乡镇\n" + make_uscc(300) + ",导入测试有限公司,1711,360781001000\n").encode()


@pytest.mark.parametrize("persona", sorted(SIGNED_IN - {DISPATCHER}))
def test_import_upload_refused(county: County, client, persona: str) -> None:  # type: ignore[no-untyped-def]
    from yingshang.enterprises.models import Enterprise, ImportJob

    before = Enterprise.objects.count()
    resp = _as(client, county, persona).post(reverse("enterprises:import"),
                                             {"file": SimpleUploadedFile("e.csv", IMPORT_CSV)})
    assert resp.status_code == 403
    assert Enterprise.objects.count() == before
    assert not ImportJob.objects.exists()


def test_import_upload_by_dispatcher(county: County, login) -> None:  # type: ignore[no-untyped-def]
    from yingshang.enterprises.models import Enterprise, ImportJob

    c = login(county.dispatcher)
    resp = c.post(reverse("enterprises:import"), {"file": SimpleUploadedFile("e.csv", IMPORT_CSV)})
    job = ImportJob.objects.get()
    assert resp.status_code == 302 and resp["Location"] == reverse("enterprises:import_job", args=[job.pk])
    assert Enterprise.objects.filter(uscc=make_uscc(300)).exists()
    assert c.get(resp["Location"]).status_code == 200
    # without a file: a 400 page, nothing created
    assert c.post(reverse("enterprises:import"), {}).status_code == 400
    assert ImportJob.objects.count() == 1


def test_import_job_of_another_dispatcher_is_404(county: County, login) -> None:  # type: ignore[no-untyped-def]
    from yingshang.core.services import user_create

    other = user_create(actor=None, username="dispatcher2", password=PASSWORD, role="dispatcher",
                        department=county.office)
    job = _import_job(county)
    assert login(other).get(reverse("enterprises:import_job", args=[job.pk])).status_code == 404


def test_notification_of_another_user_cannot_be_read(county: County, login) -> None:  # type: ignore[no-untyped-def]
    from yingshang.core.services import notify

    notify(recipients=[county.handler_a], title="新诉求", url="/inbox/")
    from yingshang.core.models import Notification

    note = Notification.objects.get(recipient=county.handler_a)
    assert login(county.handler_b).post(reverse("core:inbox_read", args=[note.pk])).status_code == 404
    note.refresh_from_db()
    assert note.read_at is None
    assert login(county.handler_a).post(reverse("core:inbox_read", args=[note.pk])).status_code == 302
    note.refresh_from_db()
    assert note.read_at is not None


# ------------------------------------------------------------------------------------ API matrix

API_GET: dict[str, tuple[Callable[[County], str], dict[str, int]]] = {
    "me": (lambda c: "/api/v1/me", _expect(SIGNED_IN, anon=401)),
    "regions": (lambda c: "/api/v1/regions", _expect(SIGNED_IN, anon=401)),
    "departments": (lambda c: "/api/v1/departments", _expect(GOVERNMENT | {SECURITY}, anon=401)),
    "workdays_add": (lambda c: "/api/v1/workdays/add?date=2026-09-30&n=1", _expect(SIGNED_IN, anon=401)),
    "workdays_between": (lambda c: "/api/v1/workdays/between?start=2026-09-30&end=2026-10-09",
                         _expect(SIGNED_IN, anon=401)),
    "enterprises": (lambda c: "/api/v1/enterprises", _expect(GOVERNMENT | ENTERPRISE_USERS, anon=401)),
    "enterprise_a": (lambda c: f"/api/v1/enterprises/{c.ent_a.uscc}", _expect(GOVERNMENT | {ENT_A}, anon=401)),
    "enterprise_b": (lambda c: f"/api/v1/enterprises/{c.ent_b.uscc}", _expect(GOVERNMENT | {ENT_B}, anon=401)),
    "figures_a": (lambda c: f"/api/v1/enterprises/{c.ent_a.uscc}/figures", _expect(GOVERNMENT | {ENT_A}, anon=401)),
    "uscc_check": (lambda c: f"/api/v1/enterprises/uscc-check?code={c.ent_a.uscc}", _expect(SIGNED_IN, anon=200)),
    "openapi": (lambda c: "/api/v1/openapi.json", _expect(SIGNED_IN, anon=200)),
}


def _assert_error_shape(resp, status: int, code: str | None = None) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    assert resp.status_code == status, resp.content[:500]
    assert resp["Content-Type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"code", "message", "message_en", "field"}, body
    if code:
        assert body["code"] == code
    return body


@pytest.mark.parametrize("endpoint", list(API_GET))
def test_api_get_access(county: County, client, endpoint: str) -> None:  # type: ignore[no-untyped-def]
    """endpoint x persona -> expected status; refusals are JSON errors (401 unauthenticated, 403 forbidden)."""
    url_of, expected = API_GET[endpoint]
    url = url_of(county)

    def check(persona: str, resp: Any) -> None:
        want = expected[persona]
        if resp.status_code == want and want != 200:
            _assert_error_shape(resp, want, "unauthenticated" if want == 401 else "forbidden")

    assert _observe(client, county, url, check) == expected, url


def _create_payload(seq: int, c: County) -> dict[str, Any]:
    return {"uscc": make_uscc(seq), "name": f"测试企业{seq}", "industry_code": "1711", "region": c.town_a.code}


@pytest.mark.parametrize("persona", PERSONAS)
def test_api_create_access(county: County, client, persona: str) -> None:  # type: ignore[no-untyped-def]
    from yingshang.enterprises.models import Enterprise

    before = Enterprise.objects.count()
    resp = _as(client, county, persona).post("/api/v1/enterprises", _create_payload(500, county),
                                             content_type="application/json")
    if persona in EDITORS:
        assert resp.status_code == 201, resp.content
        assert Enterprise.objects.count() == before + 1
    else:
        _assert_error_shape(resp, 401 if persona == ANON else 403)
        assert Enterprise.objects.count() == before


@pytest.mark.parametrize("persona", PERSONAS)
def test_api_patch_access(county: County, client, persona: str) -> None:  # type: ignore[no-untyped-def]
    resp = _as(client, county, persona).patch(f"/api/v1/enterprises/{county.ent_a.uscc}",
                                              {"contact_phone": "13700000000"}, content_type="application/json")
    county.ent_a.refresh_from_db()
    if persona in EDITORS | {ENT_A}:
        assert resp.status_code == 200, resp.content
        assert county.ent_a.contact_phone == "13700000000"
    else:
        _assert_error_shape(resp, 401 if persona == ANON else 403)
        assert county.ent_a.contact_phone == PHONE_FULL


@pytest.mark.parametrize("persona", PERSONAS)
def test_api_figures_put_access(county: County, client, persona: str) -> None:  # type: ignore[no-untyped-def]
    from yingshang.enterprises.models import YearFigure

    resp = _as(client, county, persona).put(f"/api/v1/enterprises/{county.ent_a.uscc}/figures/2024",
                                            {"employees": 10}, content_type="application/json")
    if persona in EDITORS:
        assert resp.status_code == 200, resp.content
        assert YearFigure.objects.filter(enterprise=county.ent_a, year=2024, employees=10).exists()
    else:
        _assert_error_shape(resp, 401 if persona == ANON else 403)
        assert not YearFigure.objects.filter(enterprise=county.ent_a, year=2024).exists()


@pytest.mark.parametrize("persona", PERSONAS)
def test_api_import_access(county: County, client, persona: str) -> None:  # type: ignore[no-untyped-def]
    from yingshang.enterprises.models import Enterprise

    before = Enterprise.objects.count()
    resp = _as(client, county, persona).post("/api/v1/enterprises/import",
                                             {"file": SimpleUploadedFile("e.csv", IMPORT_CSV, "text/csv")})
    if persona == DISPATCHER:
        assert resp.status_code == 200, resp.content
        assert resp.json()["created"] == 1
    else:
        _assert_error_shape(resp, 401 if persona == ANON else 403)
        assert Enterprise.objects.count() == before


@pytest.mark.parametrize("persona", PERSONAS)
def test_api_calendar_import_access(county: County, client, persona: str) -> None:  # type: ignore[no-untyped-def]
    from yingshang.core.models import CalendarYear

    resp = _as(client, county, persona).post("/api/v1/calendar/import",
                                             {"file": SimpleUploadedFile("c.csv", CALENDAR_CSV, "text/csv")})
    if persona == DISPATCHER:
        assert resp.status_code == 200, resp.content
        assert resp.json()[0]["year"] == 2027 and resp.json()[0]["status"] == "official"
    else:
        _assert_error_shape(resp, 401 if persona == ANON else 403)
        assert not CalendarYear.objects.filter(year=2027).exclude(source="chinesecalendar").filter(status="official").exists()


# ------------------------------------------------------------------------------------ what is shown


def test_enterprise_user_list_shows_only_own_row(county: County, login) -> None:  # type: ignore[no-untyped-def]
    c = login(county.ent_user_a)
    page = c.get(reverse("enterprises:list")).content.decode()
    assert county.ent_a.name in page and county.ent_a.uscc in page
    assert county.ent_b.name not in page and county.ent_b.uscc not in page
    # a search for the other enterprise finds nothing
    found = c.get(reverse("enterprises:list"), {"q": county.ent_b.uscc}).content.decode()
    assert county.ent_b.name not in found
    api = c.get("/api/v1/enterprises").json()
    assert api["count"] == 1 and [r["uscc"] for r in api["results"]] == [county.ent_a.uscc]
    api = c.get("/api/v1/enterprises", {"q": county.ent_b.uscc}).json()
    assert api["count"] == 0 and api["results"] == []


def test_government_list_shows_both(county: County, login) -> None:  # type: ignore[no-untyped-def]
    for user in (county.dispatcher, county.handler_b, county.leader, county.inspector):
        page = login(user).get(reverse("enterprises:list")).content.decode()
        assert county.ent_a.name in page and county.ent_b.name in page, user.username


def test_htmx_list_returns_rows_fragment(county: County, login) -> None:  # type: ignore[no-untyped-def]
    resp = login(county.dispatcher).get(reverse("enterprises:list"), {"q": "红都"}, HTTP_HX_REQUEST="true")
    html = resp.content.decode()
    assert resp.status_code == 200 and "<html" not in html.lower()
    assert county.ent_a.name in html and county.ent_b.name not in html


@pytest.mark.parametrize(("persona", "full"), [(DISPATCHER, True), (HANDLER_A, False), (LEADER, False),
                                               (INSPECTOR, False), (ENT_A, True)])
def test_phone_masking_on_list_detail_and_api(county: County, client, persona: str, full: bool) -> None:  # type: ignore[no-untyped-def]
    c = _as(client, county, persona)
    shown, hidden = (PHONE_FULL, PHONE_MASKED) if full else (PHONE_MASKED, PHONE_FULL)
    for url in (reverse("enterprises:list"), reverse("enterprises:detail", args=[county.ent_a.pk])):
        html = c.get(url).content.decode()
        assert shown in html, url
        assert hidden not in html, url
    rows = {r["uscc"]: r for r in c.get("/api/v1/enterprises").json()["results"]}
    assert rows[county.ent_a.uscc]["contact_phone"] == shown
    one = c.get(f"/api/v1/enterprises/{county.ent_a.uscc}").json()
    assert one["contact_phone"] == shown
    id_number = "11010519491231002X"
    assert one["legal_rep_id_number"] == (id_number if full else "1101**********002X")


def test_enterprise_user_b_sees_own_phone_but_not_others(county: County, login) -> None:  # type: ignore[no-untyped-def]
    c = login(county.ent_user_b)
    assert c.get(f"/api/v1/enterprises/{county.ent_b.uscc}").json()["contact_phone"] == "13800001111"
    html = c.get(reverse("enterprises:list")).content.decode()
    assert "13800001111" in html and PHONE_FULL not in html and PHONE_MASKED not in html


def _export_rows(resp) -> list[tuple[Any, ...]]:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    assert resp.status_code == 200
    assert resp["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(resp.content), read_only=True)
    return [tuple(r) for r in wb.worksheets[0].iter_rows(values_only=True)]


def test_export_for_enterprise_user_has_only_own_row(county: County, login) -> None:  # type: ignore[no-untyped-def]
    rows = _export_rows(login(county.ent_user_a).get(reverse("enterprises:export")))
    assert rows[0][0] == "统一社会信用代码"
    body = rows[1:]
    assert len(body) == 1
    assert body[0][0] == county.ent_a.uscc and body[0][1] == county.ent_a.name
    assert body[0][12] == PHONE_FULL
    flat = " ".join(str(v) for r in rows for v in r)
    assert county.ent_b.uscc not in flat and county.ent_b.name not in flat


def test_export_masks_for_handler_and_is_full_for_dispatcher(county: County, login, client) -> None:  # type: ignore[no-untyped-def]
    rows = _export_rows(login(county.handler_a).get(reverse("enterprises:export")))
    by_code = {r[0]: r for r in rows[1:]}
    assert set(by_code) == {county.ent_a.uscc, county.ent_b.uscc}
    assert by_code[county.ent_a.uscc][12] == PHONE_MASKED
    client.logout()
    rows = _export_rows(login(county.dispatcher).get(reverse("enterprises:export")))
    assert {r[0]: r for r in rows[1:]}[county.ent_a.uscc][12] == PHONE_FULL


def test_audit_page_shows_records_to_the_auditor(county: County, login) -> None:  # type: ignore[no-untyped-def]
    html = login(county.auditor).get(reverse("core:audit")).content.decode()
    assert "user.create" in html or "handler_a" in html


def test_department_page_lists_own_staff(county: County, login) -> None:  # type: ignore[no-untyped-def]
    html = login(county.handler_b).get(reverse("core:department", args=[county.dept_b.pk])).content.decode()
    assert "inspector" in html and "handler_b" in html
    assert "handler_a" not in html


# ------------------------------------------------------------------------------------ separation of duties


@pytest.mark.parametrize("persona", [AUDITOR, SECURITY])
def test_platform_roles_cannot_write_business_data(county: County, client, persona: str) -> None:  # type: ignore[no-untyped-def]
    from yingshang.core.models import AuditRecord
    from yingshang.enterprises.models import Enterprise

    before_ents, before_audit = Enterprise.objects.count(), AuditRecord.objects.count()
    c = _as(client, county, persona)
    body = _assert_error_shape(c.post("/api/v1/enterprises", _create_payload(600, county),
                                      content_type="application/json"), 403, "forbidden")
    assert body["message"] and body["message_en"]
    _assert_error_shape(c.patch(f"/api/v1/enterprises/{county.ent_a.uscc}", {"name": "改名"},
                                content_type="application/json"), 403)
    _assert_error_shape(c.put(f"/api/v1/enterprises/{county.ent_a.uscc}/figures/2025", {"employees": 1},
                              content_type="application/json"), 403)
    assert Enterprise.objects.count() == before_ents
    assert AuditRecord.objects.count() == before_audit
    county.ent_a.refresh_from_db()
    assert county.ent_a.name == "瑞金市红都纺织有限公司"


def test_auditor_cannot_create_token_for_someone_else(county: County) -> None:
    from yingshang.core.errors import NotPermitted
    from yingshang.core.models import ApiToken
    from yingshang.core.services import api_token_create

    with pytest.raises(NotPermitted):
        api_token_create(actor=county.auditor, user=county.dispatcher, name="steal")
    assert not ApiToken.objects.exists()


# ------------------------------------------------------------------------------------ query counts


def _add_enterprises(c: County, n: int) -> None:
    from yingshang.enterprises.models import Enterprise

    Enterprise.objects.bulk_create([
        Enterprise(uscc=make_uscc(1000 + i), name=f"瑞金市批量{i:03d}有限公司", kind="company", industry_code="1711",
                   region=c.town_a if i % 2 else c.town_b, park=c.park if i % 3 == 0 else None,
                   contact_phone=f"1390000{i:04d}")
        for i in range(n)
    ])


def _queries(client, url: str, **extra: Any) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as ctx:
        resp = client.get(url, **extra)
    assert resp.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("url", ["/enterprises/", "/api/v1/enterprises", "/enterprises/export.xlsx"])
@pytest.mark.parametrize("persona", [DISPATCHER, HANDLER_A])
def test_list_query_count_is_constant(county: County, client, django_assert_max_num_queries,  # type: ignore[no-untyped-def]
                                      url: str, persona: str) -> None:
    from yingshang.enterprises.models import Enterprise

    c = _as(client, county, persona)
    c.get(url)  # warm caches (calendar, session)
    with_two = _queries(c, url)
    _add_enterprises(county, 30)
    assert Enterprise.objects.count() == 32
    with django_assert_max_num_queries(with_two):
        resp = c.get(url)
    assert resp.status_code == 200
    if url.startswith("/api/"):
        assert resp.json()["count"] == 32 and len(resp.json()["results"]) == 32
    elif url == "/enterprises/":
        assert len(re.findall(r'href="/enterprises/\d+/"', resp.content.decode())) == 25  # one page of 25
    # an absolute guard as well, so that a regression in the fixed part shows too
    assert with_two <= 20, f"{url} does {with_two} queries"
