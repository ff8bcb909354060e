"""Unified Social Credit Code (统一社会信用代码, GB 32100-2015).

Pure Python, no Django. Wraps python-stdnum's ``stdnum.cn.uscc`` for the C18
check character, but (see shared/design/REFERENCE.md):

* accepts a letter ``A``/``N``/``Y`` in position 1 (stdnum wrongly rejects a
  letter anywhere in positions 1-8);
* reports a failed GB 11714 check digit of the embedded organisation code
  (positions 9-17) as a *warning* only;
* normalises case, spaces, hyphens and full-width characters.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from stdnum.cn import uscc as _stdnum_uscc

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
LENGTH = 18
#: Legal first characters (registering authority): 1-9, A, N, Y.
FIRST_CHARS = "123456789ANY"
#: Weights 3^(i-1) mod 31 for i = 1..17.
WEIGHTS: tuple[int, ...] = tuple(pow(3, i, 31) for i in range(17))
#: GB 11714 weights on the first 8 characters of the organisation code.
ORG_WEIGHTS: tuple[int, ...] = (3, 7, 9, 10, 5, 8, 4, 2)

REGISTERING_AUTHORITIES: dict[str, str] = {
    "1": "机构编制 / institutional establishment",
    "2": "外交 / foreign affairs",
    "3": "司法行政 / justice",
    "4": "文化 / culture",
    "5": "民政 / civil affairs",
    "6": "旅游 / tourism",
    "7": "宗教 / religious affairs",
    "8": "工会 / trade unions",
    "9": "市场监管（工商）/ market regulation",
    "A": "中央军委改革和编制办公室 / military",
    "N": "农业 / agriculture",
    "Y": "其他 / other",
}

ENTITY_CLASSES_MARKET: dict[str, str] = {
    "1": "企业 / enterprise",
    "2": "个体工商户 / individual business",
    "3": "农民专业合作社 / farmers' cooperative",
}

_SEPARATORS = re.compile(r"[\s\-－—–‐‑‒―−]+")


@dataclass(frozen=True)
class UsccResult:
    """Outcome of :func:`check`."""

    code: str
    valid: bool
    reason: str | None = None
    warnings: tuple[str, ...] = ()
    registering_authority: str | None = None
    entity_class: str | None = None
    region_code: str | None = None
    org_code: str | None = None


def normalise(raw: str) -> str:
    """Strip, drop spaces/hyphens (ASCII and full-width), fold full-width to ASCII, upper-case."""
    text = unicodedata.normalize("NFKC", raw or "")
    text = _SEPARATORS.sub("", text)
    return text.strip().upper()


def _value(char: str) -> int:
    return ALPHABET.index(char)


def compute_check_char(first17: str) -> str:
    """Return the C18 check character for the first 17 characters."""
    body = normalise(first17)
    if len(body) != 17:
        raise ValueError(
            f"需要 17 位，实际 {len(body)} 位 / need 17 characters, got {len(body)}"
        )
    for pos, char in enumerate(body, start=1):
        if char not in ALPHABET:
            raise ValueError(
                f"第 {pos} 位字符“{char}”非法 / illegal character {char!r} at position {pos}"
            )
    total = sum(_value(c) * w for c, w in zip(body, WEIGHTS))
    check = ALPHABET[(31 - total % 31) % 31]
    # Cross-check with python-stdnum's implementation of the same formula.
    if check != _stdnum_uscc.calc_check_digit(body):  # pragma: no cover
        raise RuntimeError("USCC check character disagrees with python-stdnum")
    return check


def make(first17: str) -> str:
    """Return the full 18-character code for ``first17`` (used by data generators)."""
    body = normalise(first17)
    return body + compute_check_char(body)


def _org_value(char: str) -> int:
    if char.isdigit():
        return int(char)
    return ord(char) - ord("A") + 10


def compute_org_check_char(body8: str) -> str:
    """GB 11714 check character for the first 8 characters of an organisation code."""
    body = normalise(body8)
    if len(body) != 8 or any(not (c.isdigit() or "A" <= c <= "Z") for c in body):
        raise ValueError(
            f"组织机构代码本体须为 8 位数字或字母：{body8!r} / "
            f"organisation code body must be 8 digits or letters: {body8!r}"
        )
    remainder = 11 - sum(_org_value(c) * w for c, w in zip(body, ORG_WEIGHTS)) % 11
    if remainder == 10:
        return "X"
    if remainder == 11:
        return "0"
    return str(remainder)


def make_org_code(body8: str) -> str:
    """Return the 9-character GB 11714 organisation code (body + check character)."""
    body = normalise(body8)
    return body + compute_org_check_char(body)


def _fail(code: str, zh: str, en: str) -> UsccResult:
    return UsccResult(code=code, valid=False, reason=f"{zh} / {en}")


def check(raw: str) -> UsccResult:
    """Validate a USCC; see module docstring for the rules."""
    code = normalise(raw)
    if not code:
        return _fail(code, "统一社会信用代码为空", "code is empty")
    if len(code) != LENGTH:
        return _fail(
            code,
            f"长度应为 18 位，实际 {len(code)} 位",
            f"wrong length: expected 18, got {len(code)}",
        )
    for pos, char in enumerate(code, start=1):
        if char not in ALPHABET:
            return _fail(
                code,
                f"第 {pos} 位字符“{char}”非法（不得使用 I、O、Z、S、V）",
                f"illegal character {char!r} at position {pos}",
            )
    if code[0] not in FIRST_CHARS:
        return _fail(
            code,
            f"第 1 位登记管理部门代码“{code[0]}”非法，应为 1-9、A、N、Y",
            f"illegal first character {code[0]!r}: expected 1-9, A, N or Y",
        )
    expected = compute_check_char(code[:17])
    if code[17] != expected:
        return _fail(
            code,
            f"校验位错误，应为 {expected}",
            f"check character wrong, expected {expected}",
        )

    warnings: list[str] = []
    org_code = code[8:17]
    try:
        org_expected = compute_org_check_char(org_code[:8])
    except ValueError:  # pragma: no cover - alphabet already checked
        org_expected = ""
    if org_code[8] != org_expected:
        warnings.append(
            f"组织机构代码（第 9-17 位）校验位不符，应为 {org_expected} / "
            f"embedded GB 11714 organisation code check failed, expected {org_expected}"
        )

    entity_class = code[1]
    if code[0] == "9":
        entity_class = ENTITY_CLASSES_MARKET.get(code[1], code[1])
    return UsccResult(
        code=code,
        valid=True,
        reason=None,
        warnings=tuple(warnings),
        registering_authority=REGISTERING_AUTHORITIES.get(code[0], code[0]),
        entity_class=entity_class,
        region_code=code[2:8],
        org_code=org_code,
    )


def is_valid(raw: str) -> bool:
    """True when :func:`check` accepts the code (warnings allowed)."""
    return check(raw).valid
