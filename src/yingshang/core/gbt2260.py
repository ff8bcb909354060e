"""GB/T 2260 行政区划代码 (administrative division codes) look-ups.

Pure Python, no Django. The code list ships as ``data/gbt2260.csv`` (columns
``code,name,level``; level is province/prefecture/county). A 6-digit code is
``PPCCDD``: ``PP0000`` a provincial-level division, ``PPCC00`` a
prefecture-level one, anything else a county-level one. County-level units
administered directly by a province (省直辖县级行政单位, e.g. 419001 济源市,
429004 仙桃市, 469001 五指山市, 659001 石河子市) sit under a ``PP90`` block
that has no prefecture row of its own.

Provenance: the 民政部 (Ministry of Civil Affairs) list 中华人民共和国县以上
行政区划代码, 2024 edition (status as of 2024-12-31), transcribed from
``data/2024.txt`` of the GitHub repository ``yescallop/areacodes`` (commit
fedb6b891bb1391ae77cb7e63f2ac8f7e8d15576), which collects the yearly MCA
lists; the level column was derived from the code pattern above. That list,
like the MCA's own, omits the placeholder rows of the municipalities
(``110100 市辖区`` etc.), so they are not in the CSV either: for a district of
Beijing, Tianjin, Shanghai or Chongqing ``prefecture_code`` is ``None``.
71 台湾省, 81 香港特别行政区 and 82 澳门特别行政区 appear as provincial rows
only, as in the MCA list. Counts: 34 provincial, 333 prefecture-level and
2,846 county-level rows (3,213 in all; the 2024 additions 653228 和康县 and
653229 和安县 are included).

12-digit codes are the 统计用区划代码 of the National Bureau of Statistics:
the 6-digit county code, a 3-digit township (乡级) part and a 3-digit village
(村级) part. Only the 6-digit prefix is checked against the list; the
township and village parts are checked for shape only.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

Level = Literal["province", "prefecture", "county"]
CodeLevel = Literal["province", "prefecture", "county", "township", "village"]

DATA_FILE = "gbt2260.csv"
EDITION = "民政部 2024"


@dataclass(frozen=True)
class Region6:
    code: str  # six digits, e.g. "360781"
    name: str  # e.g. "瑞金市"
    level: Level
    province_code: str  # e.g. "360000"
    # e.g. "360700"; a prefecture's own code for a prefecture; None for a province and for a
    # county with no prefecture row (municipal districts, 省直辖县级 units such as 419001)
    prefecture_code: str | None


def _level_of(code: str) -> Level:
    if code[2:] == "0000":
        return "province"
    if code[4:] == "00":
        return "prefecture"
    return "county"


@cache
def _load() -> dict[str, Region6]:
    text = resources.files(__package__).joinpath("data", DATA_FILE).read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    present = {row["code"].strip() for row in rows}
    table: dict[str, Region6] = {}
    for row in rows:
        code, name, level = row["code"].strip(), row["name"].strip(), row["level"].strip()
        if len(code) != 6 or not code.isdigit() or _level_of(code) != level or not name:
            raise ValueError(f"bad row in {DATA_FILE}: {row!r}")
        prefecture: str | None = code[:4] + "00"
        if level == "province" or (level == "county" and prefecture not in present):
            prefecture = None
        table[code] = Region6(
            code=code,
            name=name,
            level=level,  # type: ignore[arg-type]
            province_code=code[:2] + "0000",
            prefecture_code=prefecture,
        )
    return table


def get(code: str) -> Region6 | None:
    """The region with this 6-digit code, or ``None`` if it is not in the list."""
    return _load().get((code or "").strip())


def all_regions() -> list[Region6]:
    """Every row of the list, in code order."""
    return sorted(_load().values(), key=lambda r: r.code)


def is_valid_county_or_higher(code6: str) -> bool:
    """True if ``code6`` is a province, prefecture or county code in the list."""
    return get(code6) is not None


def _not_in_list(code: str) -> ValueError:
    return ValueError(f"区划代码 {code} 不在 GB/T 2260 代码表中 / code {code} is not in the GB/T 2260 list")


def validate_code(code: str) -> str:
    """Check a 6-digit GB/T 2260 code or a 12-digit statistical division code.

    Returns the level: ``province``, ``prefecture`` or ``county`` for a listed
    6-digit code (or a 12-digit code ending in ``000000``), ``township`` for a
    12-digit code ending in ``000`` whose township part is not ``000``, and
    ``village`` for one whose last three digits are not ``000``. A 12-digit
    code below the county level must start with a county-level code, or with
    a prefecture-level city that has no districts (e.g. 441900 东莞市).
    Raises ``ValueError`` with a bilingual message otherwise.
    """
    text = (code or "").strip() if isinstance(code, str) else ""
    if not text:
        raise ValueError("区划代码不能为空 / division code is empty")
    if not text.isascii() or not text.isdigit():
        raise ValueError(f"区划代码 {text} 只能由数字组成 / division code {text} must contain digits only")
    if len(text) not in (6, 12):
        raise ValueError(
            f"区划代码 {text} 应为 6 位或 12 位数字（现为 {len(text)} 位） / "
            f"division code {text} must have 6 or 12 digits (got {len(text)})"
        )
    head = text[:6]
    region = get(head)
    if region is None:
        raise _not_in_list(head)
    if len(text) == 6 or text[6:] == "000000":
        return region.level
    township, village = text[6:9], text[9:]
    if township == "000":
        raise ValueError(
            f"区划代码 {text} 的乡级部分为 000 而村级部分不为 000 / "
            f"code {text} has a village part under township part 000"
        )
    if region.level == "province":
        raise ValueError(
            f"区划代码 {text} 的前 6 位 {head} 是省级代码，不能直接下辖乡级 / "
            f"the first six digits {head} of code {text} are a province, not a county-level code"
        )
    return "township" if village == "000" else "village"
