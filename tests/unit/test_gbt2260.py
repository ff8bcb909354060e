"""Unit tests for yingshang.core.gbt2260 (pure Python, no database)."""

from __future__ import annotations

from collections import Counter

import pytest

from yingshang.core import gbt2260


def test_counts_per_level_are_plausible() -> None:
    counts = Counter(r.level for r in gbt2260.all_regions())
    assert counts["province"] == 34
    assert 330 <= counts["prefecture"] <= 340
    assert 2800 <= counts["county"] <= 2900
    assert set(counts) == {"province", "prefecture", "county"}


def test_codes_are_unique_and_well_formed() -> None:
    regions = gbt2260.all_regions()
    codes = [r.code for r in regions]
    assert len(codes) == len(set(codes))
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    for r in regions:
        assert gbt2260.get(r.province_code) is not None, r
        if r.prefecture_code is not None:
            assert gbt2260.get(r.prefecture_code) is not None, r


@pytest.mark.parametrize(
    ("code", "name", "level"),
    [
        ("110000", "北京市", "province"),
        ("110101", "东城区", "county"),
        ("360000", "江西省", "province"),
        ("360700", "赣州市", "prefecture"),
        ("360781", "瑞金市", "county"),
        ("440300", "深圳市", "prefecture"),
        ("650000", "新疆维吾尔自治区", "province"),
        ("500000", "重庆市", "province"),
        ("710000", "台湾省", "province"),
        ("810000", "香港特别行政区", "province"),
        ("820000", "澳门特别行政区", "province"),
    ],
)
def test_spot_codes(code: str, name: str, level: str) -> None:
    region = gbt2260.get(code)
    assert region is not None
    assert region.name == name
    assert region.level == level
    assert gbt2260.is_valid_county_or_higher(code)


def test_region_parents() -> None:
    ruijin = gbt2260.get("360781")
    assert ruijin is not None
    assert ruijin.province_code == "360000"
    assert ruijin.prefecture_code == "360700"
    ganzhou = gbt2260.get("360700")
    assert ganzhou is not None and ganzhou.prefecture_code == "360700"
    jiangxi = gbt2260.get("360000")
    assert jiangxi is not None and jiangxi.prefecture_code is None
    # Municipal districts: the 110100 市辖区 placeholder row is not in the list.
    dongcheng = gbt2260.get("110101")
    assert dongcheng is not None
    assert dongcheng.province_code == "110000"
    assert dongcheng.prefecture_code is None
    assert gbt2260.get("110100") is None


def test_unknown_codes() -> None:
    assert gbt2260.get("999999") is None
    assert gbt2260.get("") is None
    assert not gbt2260.is_valid_county_or_higher("999999")
    assert not gbt2260.is_valid_county_or_higher("360799")


@pytest.mark.parametrize(
    ("code", "level"),
    [
        ("360781", "county"),
        ("360700", "prefecture"),
        ("360000", "province"),
        ("360781000000", "county"),
        ("360781001000", "township"),
        ("360781001201", "village"),
        ("441900003000", "township"),  # 东莞市: prefecture-level city without districts
        (" 360781 ", "county"),
    ],
)
def test_validate_code_levels(code: str, level: str) -> None:
    assert gbt2260.validate_code(code) == level


def test_validate_code_not_in_list() -> None:
    with pytest.raises(ValueError) as exc:
        gbt2260.validate_code("999999")
    msg = str(exc.value)
    assert "区划代码 999999 不在 GB/T 2260 代码表中" in msg
    assert "code 999999 is not in the GB/T 2260 list" in msg
    with pytest.raises(ValueError, match="not in the GB/T 2260 list"):
        gbt2260.validate_code("999999001000")


def test_validate_code_wrong_length() -> None:
    with pytest.raises(ValueError, match="6 or 12 digits") as exc:
        gbt2260.validate_code("36078100100")
    assert "got 11" in str(exc.value)
    with pytest.raises(ValueError, match="6 or 12 digits"):
        gbt2260.validate_code("3607")


def test_validate_code_non_digits() -> None:
    with pytest.raises(ValueError, match="digits only") as exc:
        gbt2260.validate_code("36078a")
    assert "只能由数字组成" in str(exc.value)
    with pytest.raises(ValueError, match="digits only"):
        gbt2260.validate_code("３６０７８１")  # full-width digits
    with pytest.raises(ValueError, match="empty"):
        gbt2260.validate_code("")


def test_validate_code_malformed_12_digit() -> None:
    with pytest.raises(ValueError, match="township part 000"):
        gbt2260.validate_code("360781000201")
    with pytest.raises(ValueError, match="province"):
        gbt2260.validate_code("360000001000")
