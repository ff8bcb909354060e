"""Unit tests for yingshang.enterprises.industries (pure Python, no database)."""

from __future__ import annotations

from collections import Counter

import pytest

from yingshang.enterprises import industries

# REFERENCE "GB/T 4754-2017 sections (门类 → 大类)".
SECTIONS = {
    "A": ("01", "05"),
    "B": ("06", "12"),
    "C": ("13", "43"),
    "D": ("44", "46"),
    "E": ("47", "50"),
    "F": ("51", "52"),
    "G": ("53", "60"),
    "H": ("61", "62"),
    "I": ("63", "65"),
    "J": ("66", "69"),
    "K": ("70", "70"),
    "L": ("71", "72"),
    "M": ("73", "75"),
    "N": ("76", "79"),
    "O": ("80", "82"),
    "P": ("83", "83"),
    "Q": ("84", "85"),
    "R": ("86", "90"),
    "S": ("91", "96"),
    "T": ("97", "97"),
}


def test_counts_per_level() -> None:
    counts = Counter(i.level for i in industries.all_entries())
    assert counts["section"] == 20
    assert counts["division"] == 97
    assert counts["group"] == 473
    # The source list has 1381 小类 (the 2017 text announced 1380; later
    # amendments are cited with more) — see the data file's provenance note.
    assert counts["class"] == 1381
    assert len(industries.all_classes()) == 1381


def test_divisions_and_sections() -> None:
    divisions = [i for i in industries.all_entries() if i.level == "division"]
    codes = sorted(d.code for d in divisions)
    # 01-97 with the standard's gaps (no 98/99; every number 01..97 except none missing)
    assert codes == [f"{n:02d}" for n in range(1, 98)]
    for division in divisions:
        low, high = SECTIONS[division.section]
        assert low <= division.code <= high, division


def test_every_code_has_consistent_parents() -> None:
    codes = {i.code for i in industries.all_entries()}
    for entry in industries.all_entries():
        if entry.level == "class":
            assert entry.code[:3] in codes and entry.code[:2] in codes
        if entry.level == "group":
            assert entry.code[:2] in codes


@pytest.mark.parametrize(
    "code,name",
    [
        ("A", "农、林、牧、渔业"),
        ("0111", "稻谷种植"),
        ("0511", "种子种苗培育活动"),
        ("17", "纺织业"),
        ("1711", "棉纺纱加工"),
        ("3963", "智能无人飞行器制造"),
        ("5211", "百货零售"),
        ("6511", "基础软件开发"),
        ("7010", "房地产开发经营"),
        ("7020", "物业管理"),
        ("7030", "房地产中介服务"),
        ("7040", "房地产租赁经营"),
        ("7090", "其他房地产业"),
        ("8421", "社区卫生服务中心（站）"),
        ("9700", "国际组织"),
    ],
)
def test_sample_names(code: str, name: str) -> None:
    found = industries.get(code)
    assert found is not None
    assert found.name == name


@pytest.mark.parametrize("raw", ["C1711", "1711", "c1711", " C1711 "])
def test_get_class_variants(raw: str) -> None:
    found = industries.get(raw)
    assert found is not None
    assert (found.code, found.level, found.section, found.division) == ("1711", "class", "C", "17")
    assert found.full_code == "C1711"


def test_get_division_section_group() -> None:
    division = industries.get("17")
    section = industries.get("C")
    group = industries.get("171")
    assert division is not None and division.level == "division" and division.section == "C"
    assert section is not None and section.level == "section" and section.name == "制造业"
    assert group is not None and group.name == "棉纺织及印染精加工"


def test_single_class_group_present() -> None:
    group = industries.get("022")
    assert group is not None and group.level == "group" and group.name == "造林和更新"


@pytest.mark.parametrize("raw", ["A1711", "X", "9999", "", "17111", "C-1711"])
def test_get_unknown_or_mismatched(raw: str) -> None:
    assert industries.get(raw) is None


def test_section_of() -> None:
    assert industries.section_of("1711") == "C"
    assert industries.section_of("5211") == "F"
    assert industries.section_of("58") == "G"
    assert industries.section_of("7010") == "K"
    assert industries.section_of("9999") is None


@pytest.mark.parametrize("raw", ["C1711", "1711", "c1711"])
def test_parse_class_code(raw: str) -> None:
    assert industries.parse_class_code(raw) == "1711"


def test_parse_class_code_rejects_section_mismatch() -> None:
    with pytest.raises(ValueError) as exc:
        industries.parse_class_code("A1711")
    message = str(exc.value)
    assert "门类" in message and "section letter" in message and "expected C" in message


@pytest.mark.parametrize("raw", ["9999", "17", "C", "171", "", "abc"])
def test_parse_class_code_rejects_unknown_or_not_class(raw: str) -> None:
    with pytest.raises(ValueError) as exc:
        industries.parse_class_code(raw)
    assert " / " in str(exc.value)


def test_all_classes_sorted_and_unique() -> None:
    codes = [i.code for i in industries.all_classes()]
    assert codes == sorted(codes)
    assert len(codes) == len(set(codes))
    assert all(len(c) == 4 and c.isdigit() for c in codes)
