"""Enterprise size (统计上大中小微型企业划分办法（2017）) and 四上 (above designated size).

Pure Python, no Django. X = employees (从业人员), Y = operating revenue (营业收入,
万元), Z = total assets (资产总额, 万元). Thresholds are lower bounds (>=); below
the 小 bound is 微. The class is the lowest of the per-indicator classes over
the indicators the sector uses (shared/design/REFERENCE.md, "Enterprise size").

Sector mapping from GB/T 4754-2017 class codes (see :func:`size_sector`):

* 农、林、牧、渔业: divisions 01-04. Division 05 (农、林、牧、渔专业及辅助性活动) is
  not in the sector and falls to 其他未列明行业, as in the method's code table.
* 工业: sections B, C, D (06-46), all divisions.
* 建筑业: section E (47-50).
* 批发业: 51; 零售业: 52.
* 交通运输业: 53-58; 仓储业: 59; 邮政业: 60.
* 住宿业: 61; 餐饮业: 62.
* 信息传输业: 63-64; 软件和信息技术服务业: 65.
* 房地产开发经营: 7010; 物业管理: 7020 (other K classes: 其他未列明行业).
* 租赁和商务服务业: section L (71-72).
* 其他未列明行业: everything else. Note: the 2017 method does not cover 金融业
  (section J, classified by the separate financial-enterprise rules); J falls
  through to 其他未列明行业 here only so that a figure is always produced.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from . import industries

Indicator = Literal["employees", "revenue_wan", "assets_wan"]

LARGE, MEDIUM, SMALL, MICRO = "大型", "中型", "小型", "微型"
#: From largest to smallest.
SIZE_CLASSES: tuple[str, ...] = (LARGE, MEDIUM, SMALL, MICRO)

_FIELD_LABELS: dict[str, str] = {
    "employees": "从业人员 / employees",
    "revenue_wan": "营业收入（万元）/ operating revenue (10k CNY)",
    "assets_wan": "资产总额（万元）/ total assets (10k CNY)",
}


class MissingFigure(ValueError):
    """A figure the sector's size rule needs was not supplied."""

    def __init__(self, field: str, sector: str) -> None:
        self.field = field
        self.sector = sector
        label = _FIELD_LABELS.get(field, field)
        super().__init__(
            f"{sector}划分规模需要“{label.split(' / ')[0]}” / "
            f"size class for {sector} needs {label.split(' / ')[-1]} ({field})"
        )


@dataclass(frozen=True)
class Threshold:
    indicator: Indicator
    large: Decimal
    medium: Decimal
    small: Decimal


def _t(indicator: Indicator, large: int, medium: int, small: int) -> Threshold:
    return Threshold(indicator, Decimal(large), Decimal(medium), Decimal(small))


AGRICULTURE = "农林牧渔业"
INDUSTRY = "工业"
CONSTRUCTION = "建筑业"
WHOLESALE = "批发业"
RETAIL = "零售业"
TRANSPORT = "交通运输业"
WAREHOUSING = "仓储业"
POSTAL = "邮政业"
ACCOMMODATION = "住宿业"
CATERING = "餐饮业"
TELECOM = "信息传输业"
SOFTWARE = "软件和信息技术服务业"
REAL_ESTATE_DEV = "房地产开发经营"
PROPERTY_MGMT = "物业管理"
LEASING_BUSINESS = "租赁和商务服务业"
OTHER = "其他未列明行业"

#: The REFERENCE table, one entry per sector.
THRESHOLDS: dict[str, tuple[Threshold, ...]] = {
    AGRICULTURE: (_t("revenue_wan", 20000, 500, 50),),
    INDUSTRY: (_t("employees", 1000, 300, 20), _t("revenue_wan", 40000, 2000, 300)),
    CONSTRUCTION: (_t("revenue_wan", 80000, 6000, 300), _t("assets_wan", 80000, 5000, 300)),
    WHOLESALE: (_t("employees", 200, 20, 5), _t("revenue_wan", 40000, 5000, 1000)),
    RETAIL: (_t("employees", 300, 50, 10), _t("revenue_wan", 20000, 500, 100)),
    TRANSPORT: (_t("employees", 1000, 300, 20), _t("revenue_wan", 30000, 3000, 200)),
    WAREHOUSING: (_t("employees", 200, 100, 20), _t("revenue_wan", 30000, 1000, 100)),
    POSTAL: (_t("employees", 1000, 300, 20), _t("revenue_wan", 30000, 2000, 100)),
    ACCOMMODATION: (_t("employees", 300, 100, 10), _t("revenue_wan", 10000, 2000, 100)),
    CATERING: (_t("employees", 300, 100, 10), _t("revenue_wan", 10000, 2000, 100)),
    TELECOM: (_t("employees", 2000, 100, 10), _t("revenue_wan", 100000, 1000, 100)),
    SOFTWARE: (_t("employees", 300, 100, 10), _t("revenue_wan", 10000, 1000, 50)),
    REAL_ESTATE_DEV: (_t("revenue_wan", 200000, 1000, 100), _t("assets_wan", 10000, 5000, 2000)),
    PROPERTY_MGMT: (_t("employees", 1000, 300, 100), _t("revenue_wan", 5000, 1000, 500)),
    LEASING_BUSINESS: (_t("employees", 300, 100, 10), _t("assets_wan", 120000, 8000, 100)),
    OTHER: (_t("employees", 300, 100, 10),),
}

_DIVISION_SECTORS: dict[str, str] = {
    **{d: AGRICULTURE for d in ("01", "02", "03", "04")},
    "51": WHOLESALE,
    "52": RETAIL,
    **{d: TRANSPORT for d in ("53", "54", "55", "56", "57", "58")},
    "59": WAREHOUSING,
    "60": POSTAL,
    "61": ACCOMMODATION,
    "62": CATERING,
    "63": TELECOM,
    "64": TELECOM,
    "65": SOFTWARE,
}
_SECTION_SECTORS: dict[str, str] = {
    "B": INDUSTRY,
    "C": INDUSTRY,
    "D": INDUSTRY,
    "E": CONSTRUCTION,
    "L": LEASING_BUSINESS,
}
_CLASS_SECTORS: dict[str, str] = {"7010": REAL_ESTATE_DEV, "7020": PROPERTY_MGMT}


def _class(class_code: str) -> industries.Industry:
    code = industries.parse_class_code(class_code)
    found = industries.get(code)
    assert found is not None  # parse_class_code guarantees it
    return found


def size_sector(class_code: str) -> str:
    """Size-classification sector for a GB/T 4754-2017 class (``C1711`` or ``1711``)."""
    found = _class(class_code)
    if found.code in _CLASS_SECTORS:
        return _CLASS_SECTORS[found.code]
    if found.division in _DIVISION_SECTORS:
        return _DIVISION_SECTORS[found.division or ""]
    return _SECTION_SECTORS.get(found.section, OTHER)


def _indicator_class(value: Decimal, threshold: Threshold) -> str:
    if value >= threshold.large:
        return LARGE
    if value >= threshold.medium:
        return MEDIUM
    if value >= threshold.small:
        return SMALL
    return MICRO


def classify(
    class_code: str,
    employees: int | None,
    revenue_wan: Decimal | int | None,
    assets_wan: Decimal | int | None,
) -> str:
    """Return 大型/中型/小型/微型: the lowest class over the sector's indicators.

    Raises :class:`MissingFigure` when an indicator the sector needs is None.
    """
    sector = size_sector(class_code)
    figures: dict[str, Decimal | int | None] = {
        "employees": employees,
        "revenue_wan": revenue_wan,
        "assets_wan": assets_wan,
    }
    result = LARGE
    for threshold in THRESHOLDS[sector]:
        raw = figures[threshold.indicator]
        if raw is None:
            raise MissingFigure(threshold.indicator, sector)
        cls = _indicator_class(Decimal(raw), threshold)
        if SIZE_CLASSES.index(cls) > SIZE_CLASSES.index(result):
            result = cls
    return result


# --- 四上 (above designated size) --------------------------------------------

#: 规上服务业 revenue bounds (万元) by section / division / class.
_SERVICE_2000_SECTIONS = ("G", "I", "N")
_SERVICE_1000_SECTIONS = ("L", "M", "P")
_SERVICE_500_SECTIONS = ("O", "R")


def designated_size_rule(class_code: str) -> tuple[str, Decimal | None]:
    """``(rule, revenue bound)`` for 四上: rule is one of
    ``industry``, ``wholesale``, ``retail``, ``accommodation_catering``,
    ``construction`` (qualification, no bound), ``real_estate_dev`` (always),
    ``services`` or ``none`` (never 四上)."""
    found = _class(class_code)
    section, division, code = found.section, found.division, found.code
    if section in ("B", "C", "D"):
        return "industry", Decimal(2000)
    if division == "51":
        return "wholesale", Decimal(2000)
    if division == "52":
        return "retail", Decimal(500)
    if division in ("61", "62"):
        return "accommodation_catering", Decimal(200)
    if section == "E":
        return "construction", None
    if code == "7010":
        return "real_estate_dev", None
    if section == "K":  # 7020 物业管理, 7030 中介, 7040 租赁, 7090 其他房地产业
        return "services", Decimal(1000)
    if section in _SERVICE_2000_SECTIONS or division == "84":
        return "services", Decimal(2000)
    if section in _SERVICE_1000_SECTIONS:
        return "services", Decimal(1000)
    if section in _SERVICE_500_SECTIONS or division == "85":
        return "services", Decimal(500)
    return "none", None  # A, J, S, T


def above_designated_size(
    class_code: str,
    revenue_wan: Decimal | int | None,
    has_construction_qualification: bool = False,
) -> bool:
    """True for a 四上 unit (规上工业, 限上批零住餐, 有资质建筑业, 房地产开发经营, 规上服务业).

    ``revenue_wan`` is main-business / operating revenue in 万元; it is not needed
    for construction, 7010 or sections that are never 四上 (A, J, S, T), and raises
    :class:`MissingFigure` when needed but None.
    """
    rule, bound = designated_size_rule(class_code)
    if rule == "construction":
        return has_construction_qualification
    if rule == "real_estate_dev":
        return True
    if rule == "none" or bound is None:
        return False
    if revenue_wan is None:
        raise MissingFigure("revenue_wan", size_sector(class_code))
    return Decimal(revenue_wan) >= bound
