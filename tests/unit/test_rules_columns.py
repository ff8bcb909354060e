"""Reading the registry into columns (yingshang.policies.rules.columns): text columns decoded by numpy,
the id lookups and encodings behind them, full years, batched lazy loads, and — on SQLite and
PostgreSQL — a load of only some columns agreeing with a load of all of them, odd values included."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest

from yingshang.policies import rules as R
from yingshang.policies.rules import columns as C
from yingshang.policies.rules import fields as F

SEP = b"\x1f"


def joined(*texts: str) -> bytes | None:
    return SEP.join(t.encode() for t in texts) if texts else None


# --- text columns -------------------------------------------------------------------------------------------------


def test_choice_decoder_matches_whole_texts_only():
    decode = C._choice_decoder(["company", "individual", "cooperative"])
    texts = ["company", "individual", "", "compan", "companyx", "COMPANY", "cooperative", "co", "individual "]
    assert decode(joined(*texts), len(texts)).tolist() == [0, 1, -1, -1, -1, -1, 2, -1, -1]
    sizes = C._choice_decoder(["大型", "中型", "小型", "微型"])  # several bytes per character
    texts = ["小型", "大", "微型", "", "中型x", "中型"]
    assert sizes(joined(*texts), len(texts)).tolist() == [2, -1, 3, -1, -1, 1]
    assert sizes(joined("微型"), 1).tolist() == [3] and sizes(b"", 1).tolist() == [-1]
    assert sizes(None, 0).tolist() == []


def test_digits_decoder_takes_four_ascii_digits():
    texts = ["0111", "3911", "", "C391", "391", "39111", "1a34", "٣٩١١", "6510"]
    assert C._digits_decoder(joined(*texts), len(texts)).tolist() == [111, 3911, -1, -1, -1, -1, -1, -1, 6510]


def test_texts_that_do_not_split_into_rows_are_refused():
    decode = C._choice_decoder(["active", "closed"])
    with pytest.raises(C._Mismatch):  # a text holding the separator
        decode(joined("active", "clo\x1fsed"), 2)
    with pytest.raises(C._Mismatch):  # NULLs are left out by string_agg
        decode(joined("active"), 2)
    with pytest.raises(C._Mismatch):
        decode(None, 1)


# --- ids, codes, page ranges ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("ids", [np.array([5, 3, 9, 4]), np.array([10**12, 3, 7 * 10**9, 42])])
def test_index_of_finds_rows_of_ids_in_any_order(ids):
    wanted = np.array([9, 3, 1, 10**12, 42, 4, -5, 7 * 10**9, 10**13])
    rows, hit = C._index_of(ids, wanted)
    expected = {int(e): i for i, e in enumerate(ids)}
    assert hit.tolist() == [int(w) in expected for w in wanted]
    assert [int(r) for r, h in zip(rows, hit) if h] == [expected[int(w)] for w in wanted if int(w) in expected]
    rows, hit = C._index_of(np.zeros(0, dtype=np.int64), wanted)
    assert not hit.any()


@pytest.mark.parametrize("values", [np.array([3911, -1, 111, 3911, 6510, -1]), np.array([2**40, 5, -1, 5, 2**40])])
def test_encode_is_unique_with_inverse(values):
    distinct, codes = C._encode(values)
    expected, inverse = np.unique(values, return_inverse=True)
    assert distinct.tolist() == expected.tolist() and codes.tolist() == inverse.reshape(-1).tolist()


def test_page_ranges_cover_the_table_without_overlap():
    assert C._page_ranges("e", 1000, 1) == ["1=1"]
    parts = C._page_ranges("e", 1000, 4)
    assert parts == ["e.ctid < '(250,0)'::tid", "e.ctid >= '(250,0)'::tid AND e.ctid < '(500,0)'::tid",
                     "e.ctid >= '(500,0)'::tid AND e.ctid < '(750,0)'::tid", "e.ctid >= '(750,0)'::tid"]


@pytest.mark.parametrize("ref", [dt.date(2026, 3, 1), dt.date(2024, 2, 29), dt.date(2026, 2, 28), dt.date(2025, 12, 31),
                                 dt.date(2026, 1, 1)])
def test_full_years_agree_with_the_calendar(ref):
    rng = np.random.default_rng(ref.toordinal())
    days = np.concatenate([rng.integers(-25_000, 25_000, size=5000),
                           [C.to_days(d) for d in (dt.date(2020, 2, 29), dt.date(2021, 2, 28), dt.date(2021, 3, 1),
                                                   ref)]])
    got = C.full_years(days, ref)
    assert np.array_equal(got, C._full_years_by_dates(days, ref))
    for i in range(-4, 0):
        assert got[i] == C.full_years_between(C.from_days(int(days[i])), ref)
    extreme = np.array([C.to_days(dt.date(1, 1, 1)), C.to_days(dt.date(2020, 5, 5))])  # outside the fast path
    assert C.full_years(extreme, ref).tolist() == [C.full_years_between(dt.date(1, 1, 1), ref),
                                                   C.full_years_between(dt.date(2020, 5, 5), ref)]


# --- columns ---------------------------------------------------------------------------------------------------------


def test_enterprise_keys_are_the_enterprise_fields():
    assert C.ENTERPRISE_KEYS == {f.key for f in F.ENTERPRISE_FIELDS}


def test_ensure_asks_the_loader_once_for_all_missing_keys():
    calls: list[list[str]] = []

    def loader(keys, ids):  # type: ignore[no-untyped-def]
        calls.append(list(keys))
        return {k: C.Column(np.arange(len(ids), dtype=np.int64) * C.SCALE, np.ones(len(ids), dtype=np.bool_))
                for k in keys if k.startswith("figures.")}

    cols = R.Columns(np.array([1, 2, 3]), loader=loader)
    cols.ensure(["figures.revenue_wan.last", "figures.employees.y-2", "figures.revenue_wan.y-1", "kind"])
    assert calls[0] == ["figures.revenue_wan.y-1", "figures.employees.y-2", "kind"]
    assert cols.column("figures.employees.y-2").values.tolist() == [0, C.SCALE, 2 * C.SCALE]
    assert not cols.column("kind").known.any()  # the loader had none: missing
    n = len(calls)
    cols.ensure(["figures.revenue_wan.last", "kind"])
    assert len(calls) == n  # nothing left to load


def test_resolve_is_remembered_until_facts_change():
    last = C.resolve("figures.revenue_wan.last")
    assert last is C.resolve("figures.revenue_wan.last") and last == F.resolve("figures.revenue_wan.y-1")
    assert C.resolve("test.flag") is None and C.resolve(["not", "a", "key"]) is None  # type: ignore[arg-type]
    R.register_fact("test.flag", "测试", "test", "bool", lambda ids, p: {}, default=False)
    try:
        found = C.resolve("test.flag")
        assert found is not None and found.source is F.Source.FACT
    finally:
        R.unregister_fact("test.flag")
    assert C.resolve("test.flag") is None


# --- from the database (SQLite and PostgreSQL) ------------------------------------------------------------------------


def _odd_registry(county):  # type: ignore[no-untyped-def]
    from tests.conftest import make_uscc

    from yingshang.core.models import Region
    from yingshang.enterprises.models import Enterprise, YearFigure

    village = Region.objects.create(code="360781100201", name="某村", level="village", parent=county.town_b)
    odd = [("C391", "active", "小型"), ("", "act\x1five", ""), ("12", "closed", "中型"), ("0111", "Active", "大型x")]
    for i, (industry, status, size) in enumerate(odd):
        e = Enterprise.objects.create(uscc=make_uscc(500 + i), name=f"奇异数据{i}", kind="cooperative",
                                      status=status, industry_code=industry, size_class=size,
                                      region=village if i % 2 else county.town_a,
                                      registered_capital_wan=Decimal("12.345678") if i else None,
                                      registered_on=dt.date(2016, 2, 29) if i != 2 else None, is_specialized=i == 3)
        YearFigure.objects.create(enterprise=e, year=2025 - i % 3, employees=i * 7, revenue_wan=Decimal(f"{i}.5"),
                                  rd_wan=None if i == 1 else Decimal("0.000001"))
    return Enterprise.objects.order_by("pk").values_list("pk", flat=True)


def _same(a: C.Column, b: C.Column, key: str) -> bool:
    """The same values (categorical columns of different sets of enterprises may number them differently)."""
    field = F.resolve(key)
    assert field is not None and len(a) == len(b)
    return [a.python(i, field) for i in range(len(a))] == [b.python(i, field) for i in range(len(b))]


@pytest.mark.django_db
def test_a_load_of_some_columns_agrees_with_a_load_of_all(county, monkeypatch):
    from django.db import connection

    ids = list(_odd_registry(county))
    mismatches = []
    split = C._split

    def spy(joined, n):  # type: ignore[no-untyped-def]
        try:
            return split(joined, n)
        except C._Mismatch:
            mismatches.append(n)
            raise
    monkeypatch.setattr(C, "_split", spy)
    full = R.load_columns(2026, reference_date=dt.date(2026, 3, 1))
    # PostgreSQL reads the texts and decodes them; the separator in a status sends it back to SQL codes
    assert bool(mismatches) is (connection.vendor == "postgresql")
    keys = ["status", "industry_code", "figures.revenue_wan.last"]
    some = R.load_columns(2026, keys=keys, reference_date=dt.date(2026, 3, 1), all_fields=False)
    assert set(some.keys()) == {"status", "industry_code", "figures.revenue_wan.y-1"}
    assert np.array_equal(some.ids, full.ids) and some.ids.tolist() == ids
    # the rest comes lazily, several keys in one read, and equals the full load
    more = ["kind", "township", "park", "registered_on", "years_registered", "above_designated", "figures.rd_wan.y-1",
            "figures.employees.y-3", "size_class", "registered_capital_wan"]
    some.ensure(more)
    for key in [*keys, *more]:
        assert _same(some.column(key), full.column(key), key), key
    # odd texts are unknown, whichever way they were read
    facts = {eid: full.facts_for(eid) for eid in ids}
    odd = ids[-4:]
    assert [facts[e].get("industry_code") for e in odd] == [None, None, None, "0111"]
    assert [facts[e].get("status") for e in odd] == ["active", None, "closed", None]
    assert [facts[e].get("size_class") for e in odd] == ["小型", None, "中型", None]
    assert facts[odd[1]]["township"] == county.town_b.code and facts[odd[0]]["township"] == county.town_a.code
    assert facts[odd[3]]["registered_capital_wan"] == Decimal("12.345678")
    assert "registered_capital_wan" not in facts[odd[0]]
    assert facts[odd[1]]["years_registered"] == 10 and "registered_on" not in facts[odd[2]]
    # a few enterprises: read by id, in the order asked for
    two = R.load_columns(2026, [odd[2], odd[0]], keys=keys, reference_date=dt.date(2026, 3, 1), all_fields=False)
    assert two.ids.tolist() == sorted([odd[2], odd[0]])
    sub = full.subset(np.array([odd[3], odd[1]]))
    lazy = R.load_columns(2026, keys=["kind"], reference_date=dt.date(2026, 3, 1), all_fields=False).subset(
        np.array([odd[3], odd[1]]))
    for key in ["status", "industry_code", "figures.revenue_wan.y-2", "figures.rd_wan.y-1"]:
        assert _same(lazy.column(key), sub.column(key), key), key


@pytest.mark.parametrize("ids", [np.array([7, 3, 5, 4, 100]), np.array([10**12, 3, 7 * 10**9]), np.array([4, 2, 4])])
def test_sort_order_sorts(ids):
    assert ids[C._sort_order(ids)].tolist() == sorted(ids.tolist())
