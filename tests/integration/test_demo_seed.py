"""The demo county generator (``yingshang seed``)."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from django.conf import settings
from django.core.management import call_command
from stdnum.cn import ric

from yingshang.core import demo
from yingshang.core.audit import audit_verify
from yingshang.core.models import AuditRecord, Department, Park, Region, User
from yingshang.core.services import login_attempt
from yingshang.enterprises import industries, uscc
from yingshang.enterprises.models import Enterprise, YearFigure
from yingshang.enterprises.services import refresh_derived

N, SEED = 400, 7


@pytest.fixture(autouse=True)
def _fast_hasher(settings):  # type: ignore[no-untyped-def]
    # the demo accounts' passwords are hashed with the slow production hasher otherwise
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def seeded(db):  # type: ignore[no-untyped-def]
    return demo.build_demo_county(enterprises=N, seed=SEED)


def _key(records: list[demo.EnterpriseRecord]) -> list[tuple]:
    return sorted(
        (r.uscc, r.name, r.kind, r.industry_code, r.legal_rep_id_number, r.registered_on, r.township_code,
         tuple((f.year, f.employees, f.revenue_wan, f.assets_wan) for f in r.figures))
        for r in records
    )


def test_generators_are_pure_and_reproducible():
    regions = demo.generate_regions(SEED)
    assert [(r.code, r.name) for r in regions] == [(r.code, r.name) for r in demo.generate_regions(SEED)]
    first = demo.generate_enterprises(SEED, N)
    again = demo.generate_enterprises(SEED, N)
    assert _key(first) == _key(again)
    other = demo.generate_enterprises(SEED + 1, N)
    assert _key(first) != _key(other)
    # a longer run starts with the same entities (one stream, drawn in order)
    assert [r.uscc for r in demo.generate_enterprises(SEED, N + 50)[:N]] == [r.uscc for r in first]


def test_region_codes_are_well_formed():
    regions = demo.generate_regions(SEED)
    codes = [r.code for r in regions]
    assert len(codes) == len(set(codes))
    assert all(len(c) == 12 and c.isdigit() for c in codes)
    towns = [r for r in regions if r.level == "township"]
    assert len(towns) == 15
    for t in towns:
        assert t.code.startswith("360781") and t.code.endswith("000")
        assert t.name.endswith(("街道", "镇", "乡"))
        kids = [r for r in regions if r.parent_code == t.code]
        assert 2 <= len(kids) <= 4
        assert all(k.code[:9] == t.code[:9] and k.code[9:] != "000" for k in kids)


@pytest.mark.django_db
def test_counts_and_structure(seeded):  # type: ignore[no-untyped-def]
    county = Region.objects.get(code="360781000000")
    assert county.level == "county" and county.parent.code == "360700000000"
    assert Region.objects.filter(parent=county, level="township").count() == 15
    assert Region.objects.count() == seeded["regions"] == len(demo.generate_regions(SEED))
    assert Department.objects.count() == seeded["departments"] == 13
    assert Department.objects.filter(is_office=True).count() == 1
    assert Park.objects.count() == seeded["parks"] == 2
    assert Enterprise.objects.count() == seeded["enterprises"] == N
    assert YearFigure.objects.count() == seeded["year_figures"] > 0
    assert Enterprise.objects.filter(region__level="township", region__parent=county).count() == N
    # parks' enterprises sit in the park's township
    for ent in Enterprise.objects.filter(park__isnull=False).select_related("park"):
        assert ent.region_id == ent.park.region_id
    # audit: one record per department/park, the regions, each 1000 enterprises, each account
    assert AuditRecord.objects.filter(action="demo.seed", object_type="enterprises.Enterprise").count() == 1
    assert AuditRecord.objects.filter(action="demo.seed").count() == 1 + 13 + 2 + 1
    assert AuditRecord.objects.filter(action="user.create").count() == len(seeded["accounts"])
    assert audit_verify().ok


@pytest.mark.django_db
def test_database_matches_the_pure_generator(seeded):  # type: ignore[no-untyped-def]
    expected = sorted((r.uscc, r.name) for r in demo.generate_enterprises(SEED, N))
    assert sorted(Enterprise.objects.values_list("uscc", "name")) == expected


@pytest.mark.django_db
def test_identifiers_are_valid(seeded):  # type: ignore[no-untyped-def]
    rows = list(Enterprise.objects.values_list("uscc", "kind", "industry_code", "legal_rep_id_number",
                                               "contact_phone", "registered_on"))
    assert len({r[0] for r in rows}) == N
    class_of = {"company": "1", "individual": "2", "cooperative": "3"}
    for code, kind, industry, id_number, phone, registered_on in rows:
        res = uscc.check(code)
        assert res.valid and not res.warnings, (code, res)
        assert code[0] == "9" and code[1] == class_of[kind] and code[2:8] == "360781"
        assert industries.parse_class_code(industry) == industry
        assert ric.is_valid(id_number), id_number
        assert len(phone) == 11 and phone[0] == "1" and phone[1] in "3456789"
        assert demo.REGISTRATION_START <= registered_on <= demo.REGISTRATION_END


@pytest.mark.django_db
def test_shares_sizes_and_figures(seeded):  # type: ignore[no-untyped-def]
    kinds = Counter(Enterprise.objects.values_list("kind", flat=True))
    assert abs(kinds["individual"] / N - 0.75) < 0.06
    assert abs(kinds["company"] / N - 0.23) < 0.06
    assert 0 < kinds["cooperative"] / N < 0.05
    assert Enterprise.objects.filter(above_designated=True).exists()
    companies = Enterprise.objects.filter(kind="company")
    small = companies.filter(size_class__in=["小型", "微型"]).count()
    assert small / companies.count() > 0.85
    # every company has figures for each year since 2023 it existed; individuals only the last year
    for ent in companies.prefetch_related("figures"):
        years = sorted(f.year for f in ent.figures.all())
        assert years == [y for y in (2023, 2024, 2025) if y >= ent.registered_on.year]
    assert not YearFigure.objects.filter(enterprise__kind="individual").exclude(year=2025).exists()
    with_figs = Enterprise.objects.filter(kind="individual", figures__isnull=False).distinct().count()
    assert 0.2 < with_figs / kinds["individual"] < 0.4
    # money is kept to the fen
    for value in YearFigure.objects.values_list("revenue_wan", flat=True)[:200]:
        assert value == value.quantize(type(value)("0.01"))
    # the bulk derivation agrees with the service's
    for ent in Enterprise.objects.all():
        assert not refresh_derived(ent), ent.uscc


@pytest.mark.django_db
def test_demo_accounts_log_in(seeded):  # type: ignore[no-untyped-def]
    names = [a[0] for a in seeded["accounts"]]
    for expected in ("dispatcher", "leader", "handler_gxj", "head_gxj", "handler_scjg", "head_scjg",
                     "handler_rsj", "head_rsj", "inspector", "auditor", "security", "ent1"):
        assert expected in names
    for username in names:
        user = login_attempt(username=username, password=settings.DEMO_PASSWORD)
        assert user.is_demo and user.full_name
    assert User.objects.get(username="dispatcher").department.is_office
    assert User.objects.get(username="head_gxj").department.code == "GXJ"
    for user in User.objects.filter(role="enterprise"):
        assert user.enterprise.kind == "company" and user.enterprise.above_designated


@pytest.mark.django_db
def test_refuses_a_second_county(seeded):  # type: ignore[no-untyped-def]
    with pytest.raises(demo.DemoCountyExists):
        demo.build_demo_county(enterprises=10, seed=SEED)
    out = io.StringIO()
    call_command("seed", "--enterprises", "10", "--if-empty", stdout=out)
    assert "已存在" in out.getvalue()
    assert Enterprise.objects.count() == N


@pytest.mark.django_db
def test_seed_command(db):  # type: ignore[no-untyped-def]
    out = io.StringIO()
    call_command("seed", "--enterprises", "120", "--seed", "3", "--appeals", "0", "--cases", "0", "--policies", "0",
                 stdout=out)
    text = out.getvalue()
    assert Enterprise.objects.count() == 120
    assert settings.DEMO_PASSWORD in text and "dispatcher" in text and "四上" in text
    # the credit lists are seeded with the county: a few black and red entries, the same for the same seed
    from yingshang.supervision.models import CreditListEntry

    assert "信用红黑名单" in text and CreditListEntry.objects.exists()
