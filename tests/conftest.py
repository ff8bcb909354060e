"""Shared fixtures: a small county with named personas (CONVENTIONS.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal

import pytest

os.environ.setdefault("YINGSHANG_TASKS", "immediate")
# Playwright's sync API runs an event loop in the test thread; Django's ORM is still used
# synchronously there (fixtures, assertions).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "Test@pass2026x"


@dataclass
class County:
    county: object
    town_a: object
    town_b: object
    office: object
    dept_a: object
    dept_b: object
    park: object
    ent_a: object
    ent_b: object
    dispatcher: object
    handler_a: object
    head_a: object
    handler_b: object
    leader: object
    inspector: object
    ent_user_a: object
    ent_user_b: object
    auditor: object
    security: object


def make_uscc(seq: int, cls: str = "1") -> str:
    from yingshang.enterprises import uscc

    return uscc.make("9" + cls + "360781" + uscc.make_org_code(f"{seq:08d}"))


def build_county() -> County:
    from yingshang.core.models import Department, Park, Region
    from yingshang.core.services import user_create
    from yingshang.enterprises.models import Enterprise, YearFigure
    from yingshang.enterprises.services import refresh_derived

    prov = Region.objects.create(code="360000000000", name="江西省", level="province")
    pref = Region.objects.create(code="360700000000", name="赣州市", level="prefecture", parent=prov)
    county = Region.objects.create(code="360781000000", name="瑞金市", level="county", parent=pref)
    town_a = Region.objects.create(code="360781001000", name="象湖镇", level="township", parent=county)
    town_b = Region.objects.create(code="360781100000", name="壬田镇", level="township", parent=county)
    office = Department.objects.create(code="YSB", name="营商环境办公室", region=county, is_office=True)
    dept_a = Department.objects.create(code="GXJ", name="工业和信息化局", region=county)
    dept_b = Department.objects.create(code="SCJG", name="市场监督管理局", region=county)
    park = Park.objects.create(name="经济技术开发区", region=town_a)
    ent_a = Enterprise.objects.create(uscc=make_uscc(1), name="瑞金市红都纺织有限公司", kind="company",
                                      industry_code="1711", region=town_a, park=park, contact_phone="13912345678",
                                      legal_rep="张三", legal_rep_id_number="11010519491231002X")
    YearFigure.objects.create(enterprise=ent_a, year=2025, employees=350, revenue_wan=Decimal("25000"),
                              assets_wan=Decimal("18000"))
    refresh_derived(ent_a)
    ent_a.save()
    ent_b = Enterprise.objects.create(uscc=make_uscc(2, "2"), name="壬田镇李四小吃店", kind="individual",
                                      industry_code="6210", region=town_b, contact_phone="13800001111")
    u = lambda name, role, **kw: user_create(actor=None, username=name, password=PASSWORD, role=role,  # noqa: E731
                                             full_name=name, **kw)
    return County(
        county=county, town_a=town_a, town_b=town_b, office=office, dept_a=dept_a, dept_b=dept_b, park=park,
        ent_a=ent_a, ent_b=ent_b,
        dispatcher=u("dispatcher", "dispatcher", department=office),
        handler_a=u("handler_a", "handler", department=dept_a),
        head_a=u("head_a", "head", department=dept_a),
        handler_b=u("handler_b", "handler", department=dept_b),
        leader=u("leader", "leader"),
        inspector=u("inspector", "inspector", department=dept_b),
        ent_user_a=u("ent_a", "enterprise", enterprise=ent_a),
        ent_user_b=u("ent_b", "enterprise", enterprise=ent_b),
        auditor=u("auditor", "auditor"),
        security=u("security", "security"),
    )


@pytest.fixture
def county(db) -> County:  # type: ignore[no-untyped-def]
    return build_county()


@pytest.fixture
def login(client):  # type: ignore[no-untyped-def]
    def _login(user):  # type: ignore[no-untyped-def]
        client.force_login(user)
        return client

    return _login


def close_db_connections() -> None:
    """Close this thread's database connections, wherever Django keeps them.

    Django keeps a thread's connections in asgiref's ``Local(thread_critical=True)``: thread-local
    storage while no event loop runs in the thread, context-local storage while one does.  Playwright's
    sync API (the browser tests) marks its event loop as running in the test thread from its first call
    until the browser closes at the end of the session, so in a worker that runs browser tests the
    tests before the first one and the tests after it use two different connections of one thread, and
    ``connections.close_all()`` reaches only the side of the moment.  The other side's connection, out
    of Django's reach, stays open and keeps the test database from being dropped ("database
    test_yingshang_gwN is being accessed by other users").  This closes both sides."""
    import asyncio

    from django.db import connections

    running = asyncio._get_running_loop()
    other = None if running is not None else asyncio.new_event_loop()
    connections.close_all()
    asyncio._set_running_loop(other)  # the other side: no loop if one runs, a loop if none does
    try:
        connections.close_all()
    finally:
        asyncio._set_running_loop(running)
        if other is not None:
            other.close()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):  # type: ignore[no-untyped-def]
    """pytest-django's, and before the test databases are dropped every connection of this thread is
    closed (``close_db_connections``)."""
    yield
    close_db_connections()


def pytest_configure(config):  # type: ignore[no-untyped-def]
    # A connection left open (a thread's, or one Django lost track of) keeps the test database from being
    # dropped; pytest-django only warns about it, at the very end.  Make it an error.
    config.addinivalue_line("filterwarnings", "error:Error when trying to teardown test databases")


@pytest.fixture(autouse=True)
def _fresh_calendar_cache():  # type: ignore[no-untyped-def]
    from yingshang.core import workdays

    workdays.clear_cache()
    yield
    workdays.clear_cache()


@pytest.fixture(autouse=True)
def _fast_tests(tmp_path, settings):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    # PBKDF2's deliberate slowness is not what these tests measure
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def appeal_county(db) -> County:  # type: ignore[no-untyped-def]
    """The county plus the default appeal categories (re-created: transactional tests flush them)."""
    from yingshang.appeals.defaults import ensure_default_categories

    ensure_default_categories()
    return build_county()


def submit_appeal(county: County, **kw):  # type: ignore[no-untyped-def]
    from yingshang.appeals import services
    from yingshang.appeals.models import Category

    args = {"actor": county.ent_user_a, "enterprise": county.ent_a, "category": Category.objects.get(code="07"),
            "title": "园区厂房频繁停电", "content": "近一个月停电三次，影响生产，请协调供电公司。", "channel": "portal",
            "contact_name": "王经理", "contact_phone": "13912345678"}
    args.update(kw)
    return services.appeal_submit(**args)
