"""GB/T 4754-2017 国民经济行业分类 (industrial classification) look-ups.

Pure Python, no Django. The full code list ships as ``data/gbt4754_2017.csv``
(columns ``code,name,level``; level is section/division/group/class). Codes are
``A`` (门类 section), ``01`` (大类 division), ``011`` (中类 group) and ``0111``
(小类 class). A group with a single class (class code ending in 0, e.g. 0220)
is listed as a group row with the class's name, as in the standard's table.

Provenance: transcribed from a public MySQL dump of the 2017 list (table
``industry``: code, name, parent; 1772 rows) found through the code-search
index, then checked against the sections of REFERENCE.md. Clean-ups: stray
spaces and a stray "?" removed, ASCII brackets made full-width; the 199
single-class groups (e.g. 022) added from their class rows. Counts: 20
sections, 97 divisions, 473 groups, 1381 classes.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

Level = Literal["section", "division", "group", "class"]

DATA_FILE = "gbt4754_2017.csv"
_LEVEL_BY_LENGTH: dict[int, Level] = {1: "section", 2: "division", 3: "group", 4: "class"}
_CODE_RE = re.compile(r"^([A-Z])?(\d{2,4})?$")


@dataclass(frozen=True)
class Industry:
    code: str  # "C", "17", "171" or "1711"
    name: str
    level: Level
    section: str  # section letter, e.g. "C"
    division: str | None  # two-digit division, None for a section

    @property
    def full_code(self) -> str:
        """Code with its section letter, e.g. ``C1711`` (``C`` for a section)."""
        return self.code if self.level == "section" else self.section + self.code


@cache
def _load() -> dict[str, Industry]:
    text = resources.files(__package__).joinpath("data", DATA_FILE).read_text(encoding="utf-8")
    table: dict[str, Industry] = {}
    section = ""
    for row in csv.DictReader(text.splitlines()):
        code, name, level = row["code"].strip(), row["name"].strip(), row["level"].strip()
        if level == "section":
            section = code
        if _LEVEL_BY_LENGTH.get(len(code)) != level:
            raise ValueError(f"bad row in {DATA_FILE}: {row!r}")
        table[code] = Industry(
            code=code,
            name=name,
            level=level,  # type: ignore[arg-type]
            section=section,
            division=None if level == "section" else code[:2],
        )
    return table


@cache
def _section_by_division() -> dict[str, str]:
    return {i.code: i.section for i in _load().values() if i.level == "division"}


def _split(raw: str) -> tuple[str | None, str]:
    text = (raw or "").strip().upper().replace(" ", "")
    match = _CODE_RE.match(text)
    if not text or not match:
        raise ValueError(
            f"行业代码格式错误：{raw!r} / malformed industry code: {raw!r}"
        )
    letter, digits = match.group(1), match.group(2) or ""
    return letter, digits


def get(code: str) -> Industry | None:
    """Look up ``C1711``, ``1711``, ``c1711``, ``17``, ``C`` … ; None when unknown
    or when the section letter does not match the digits."""
    try:
        letter, digits = _split(code)
    except ValueError:
        return None
    table = _load()
    if not digits:
        return table.get(letter or "")
    found = table.get(digits)
    if found is None or (letter is not None and letter != found.section):
        return None
    return found


def section_of(code: str) -> str | None:
    """Section letter for any known code (``1711`` -> ``C``)."""
    found = get(code)
    return found.section if found else None


def parse_class_code(raw: str) -> str:
    """Normalise to a 4-digit class code; raise ``ValueError`` (bilingual) if unknown,
    not a class, or if the section letter does not match the digits (``A1711``)."""
    letter, digits = _split(raw)
    if len(digits) != 4:
        raise ValueError(
            f"需要 4 位小类代码：{raw!r} / a 4-digit class code is required: {raw!r}"
        )
    found = _load().get(digits)
    if found is None or found.level != "class":
        raise ValueError(
            f"未知的行业小类代码：{raw!r} / unknown GB/T 4754-2017 class code: {raw!r}"
        )
    if letter is not None and letter != found.section:
        raise ValueError(
            f"门类字母 {letter} 与代码 {digits} 不符（应为 {found.section}）/ "
            f"section letter {letter} does not match {digits} (expected {found.section})"
        )
    return digits


def all_classes() -> list[Industry]:
    """All 小类 in code order."""
    return sorted((i for i in _load().values() if i.level == "class"), key=lambda i: i.code)


def all_entries() -> list[Industry]:
    """Every entry (sections, divisions, groups, classes) in file order."""
    return list(_load().values())
