"""Unit tests for yingshang.enterprises.sizeclass (pure Python, no database)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from yingshang.enterprises import sizeclass
from yingshang.enterprises.sizeclass import MissingFigure, above_designated_size, classify, size_sector

BIG = 10**9

# The REFERENCE table (统计上大中小微型企业划分办法（2017）), restated independently:
# sector -> (sample class code, {indicator: (大, 中, 小)})
TABLE: dict[str, tuple[str, dict[str, tuple[int, int, int]]]] = {
    "农林牧渔业": ("0111", {"revenue_wan": (20000, 500, 50)}),
    "工业": ("C1711", {"employees": (1000, 300, 20), "revenue_wan": (40000, 2000, 300)}),
    "建筑业": ("4710", {"revenue_wan": (80000, 6000, 300), "assets_wan": (80000, 5000, 300)}),
    "批发业": ("5132", {"employees": (200, 20, 5), "revenue_wan": (40000, 5000, 1000)}),
    "零售业": ("5211", {"employees": (300, 50, 10), "revenue_wan": (20000, 500, 100)}),
    "交通运输业": ("5431", {"employees": (1000, 300, 20), "revenue_wan": (30000, 3000, 200)}),
    "仓储业": ("5920", {"employees": (200, 100, 20), "revenue_wan": (30000, 1000, 100)}),
    "邮政业": ("6020", {"employees": (1000, 300, 20), "revenue_wan": (30000, 2000, 100)}),
    "住宿业": ("6110", {"employees": (300, 100, 10), "revenue_wan": (10000, 2000, 100)}),
    "餐饮业": ("6210", {"employees": (300, 100, 10), "revenue_wan": (10000, 2000, 100)}),
    "信息传输业": ("6311", {"employees": (2000, 100, 10), "revenue_wan": (100000, 1000, 100)}),
    "软件和信息技术服务业": ("6511", {"employees": (300, 100, 10), "revenue_wan": (10000, 1000, 50)}),
    "房地产开发经营": ("7010", {"revenue_wan": (200000, 1000, 100), "assets_wan": (10000, 5000, 2000)}),
    "物业管理": ("7020", {"employees": (1000, 300, 100), "revenue_wan": (5000, 1000, 500)}),
    "租赁和商务服务业": ("7211", {"employees": (300, 100, 10), "assets_wan": (120000, 8000, 100)}),
    "其他未列明行业": ("8010", {"employees": (300, 100, 10)}),
}


def _vectors() -> list[object]:
    cases = []
    for sector, (code, indicators) in TABLE.items():
        for indicator, (large, medium, small) in indicators.items():
            for value, expected in (
                (large, "大型"),
                (large - 1, "中型"),
                (medium, "中型"),
                (medium - 1, "小型"),
                (small, "小型"),
                (small - 1, "微型"),
            ):
                cases.append(
                    pytest.param(
                        code, indicator, value, expected, id=f"{sector}-{indicator}-{value}"
                    )
                )
    return cases


def _figures(indicator: str, value: int) -> dict[str, object]:
    figures: dict[str, object] = {
        "employees": BIG,
        "revenue_wan": Decimal(BIG),
        "assets_wan": Decimal(BIG),
    }
    figures[indicator] = value if indicator == "employees" else Decimal(value)
    return figures


@pytest.mark.parametrize("code,indicator,value,expected", _vectors())
def test_every_boundary_of_every_row(code: str, indicator: str, value: int, expected: str) -> None:
    assert classify(code, **_figures(indicator, value)) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("sector,code", [(s, c) for s, (c, _) in TABLE.items()])
def test_sample_codes_map_to_sector(sector: str, code: str) -> None:
    assert size_sector(code) == sector


def test_module_table_matches_reference() -> None:
    for sector, (_, indicators) in TABLE.items():
        got = {
            t.indicator: (int(t.large), int(t.medium), int(t.small))
            for t in sizeclass.THRESHOLDS[sector]
        }
        assert got == indicators, sector


def test_lowest_of_indicators() -> None:
    # 工业: 1000 employees (大) but revenue 2000 (中) -> 中型
    assert classify("1711", 1000, Decimal(2000), None) == "中型"
    # 工业: revenue 大 but only 19 employees -> 微型
    assert classify("1711", 19, Decimal(50000), None) == "微型"
    # 零售业: employees 中 (50), revenue 小 (100) -> 小型
    assert classify("5211", 50, Decimal(100), None) == "小型"
    # 房地产开发经营: revenue 大 but assets only 中 -> 中型
    assert classify("7010", None, Decimal(200000), Decimal(5000)) == "中型"


def test_industry_code_with_or_without_letter() -> None:
    args = (500, Decimal(5000), None)
    assert classify("C1711", *args) == classify("1711", *args) == classify("c1711", *args) == "中型"


def test_decimal_fractions_at_boundary() -> None:
    assert classify("0111", None, Decimal("49.99"), None) == "微型"
    assert classify("0111", None, Decimal("50.00"), None) == "小型"


def test_unused_indicator_may_be_none() -> None:
    assert classify("0111", None, Decimal(20000), None) == "大型"
    assert classify("8010", 300, None, None) == "大型"


def test_missing_figure_named() -> None:
    with pytest.raises(MissingFigure) as exc:
        classify("1711", 100, None, None)
    assert exc.value.field == "revenue_wan"
    assert "revenue_wan" in str(exc.value) and "营业收入" in str(exc.value)
    assert isinstance(exc.value, ValueError)
    with pytest.raises(MissingFigure) as exc2:
        classify("4710", None, Decimal(1), None)
    assert exc2.value.field == "assets_wan"
    with pytest.raises(MissingFigure) as exc3:
        classify("8010", None, Decimal(1), Decimal(1))
    assert exc3.value.field == "employees"


def test_bad_industry_code() -> None:
    with pytest.raises(ValueError):
        classify("A1711", 1, Decimal(1), Decimal(1))
    with pytest.raises(ValueError):
        size_sector("9999")


@pytest.mark.parametrize(
    "code,sector",
    [
        ("0541", "其他未列明行业"),  # 05 辅助性活动 is not 农林牧渔业
        ("0411", "农林牧渔业"),
        ("0610", "工业"),
        ("4310", "工业"),
        ("4620", "工业"),
        ("5090", "建筑业"),
        ("5810", "交通运输业"),
        ("5821", "交通运输业"),
        ("5910", "仓储业"),
        ("6090", "邮政业"),
        ("6450", "信息传输业"),
        ("6599", "软件和信息技术服务业"),
        ("7030", "其他未列明行业"),
        ("7040", "其他未列明行业"),
        ("7130", "租赁和商务服务业"),
        ("7299", "租赁和商务服务业"),
        ("6621", "其他未列明行业"),  # 金融业 is outside the 2017 method
        ("7310", "其他未列明行业"),
        ("8411", "其他未列明行业"),
    ],
)
def test_sector_mapping(code: str, sector: str) -> None:
    assert size_sector(code) == sector


# --- 四上 ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "code,bound",
    [
        ("0610", 2000),  # 规上工业 B
        ("1711", 2000),  # C
        ("4411", 2000),  # D
        ("5132", 2000),  # 限上批发
        ("5211", 500),  # 限上零售
        ("6110", 200),  # 住宿
        ("6210", 200),  # 餐饮
        ("5431", 2000),  # G 交通运输 (规上服务业)
        ("5920", 2000),  # G 仓储
        ("6020", 2000),  # G 邮政
        ("6511", 2000),  # I
        ("7810", 2000),  # N
        ("8411", 2000),  # Q84 卫生
        ("7020", 1000),  # 物业管理
        ("7030", 1000),  # 房地产中介
        ("7040", 1000),  # 房地产租赁经营
        ("7090", 1000),  # 其他房地产业
        ("7211", 1000),  # L
        ("7310", 1000),  # M
        ("8310", 1000),  # P
        ("8010", 500),  # O
        ("8610", 500),  # R
        ("8514", 500),  # Q85 社会工作
    ],
)
def test_above_designated_size_revenue_bounds(code: str, bound: int) -> None:
    assert above_designated_size(code, Decimal(bound)) is True
    assert above_designated_size(code, Decimal(bound) - Decimal("0.01")) is False


def test_construction_needs_qualification_only() -> None:
    assert above_designated_size("4710", None, has_construction_qualification=True) is True
    assert above_designated_size("4710", Decimal(10**6)) is False


def test_all_real_estate_development_is_four_above() -> None:
    assert above_designated_size("7010", None) is True
    assert above_designated_size("K7010", Decimal(0)) is True


@pytest.mark.parametrize("code", ["0111", "0541", "6621", "9100", "9700"])
def test_sections_a_j_s_t_never_four_above(code: str) -> None:
    assert above_designated_size(code, Decimal(10**9)) is False
    assert above_designated_size(code, None) is False


def test_four_above_missing_revenue() -> None:
    with pytest.raises(MissingFigure) as exc:
        above_designated_size("5211", None)
    assert exc.value.field == "revenue_wan"
