"""Unit tests for yingshang.enterprises.uscc (pure Python, no database)."""

from __future__ import annotations

import pytest

from yingshang.enterprises import uscc

# Real codes whose C18 and embedded GB 11714 digit were verified by computation.
REAL_VALID = ["91350100M000100Y43", "91110000802100433B", "91110000600037341L"]


def _weighted_check(first17: str) -> str:
    """Independent re-implementation of GB 32100 C18 for cross-checking."""
    total = sum(uscc.ALPHABET.index(c) * (3 ** i % 31) for i, c in enumerate(first17))
    return uscc.ALPHABET[(31 - total % 31) % 31]


def test_alphabet_excludes_i_o_z_s_v() -> None:
    assert uscc.ALPHABET == "0123456789ABCDEFGHJKLMNPQRTUWXY"
    assert len(uscc.ALPHABET) == 31
    assert not set("IOZSV") & set(uscc.ALPHABET)


def test_weights_are_powers_of_three_mod_31() -> None:
    assert uscc.WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


@pytest.mark.parametrize("code", REAL_VALID)
def test_real_codes_valid_without_warnings(code: str) -> None:
    assert _weighted_check(code[:17]) == code[17]
    result = uscc.check(code)
    assert result.valid
    assert result.reason is None
    assert result.warnings == ()
    assert result.code == code
    assert result.region_code == code[2:8]
    assert result.org_code == code[8:17]
    assert result.registering_authority is not None
    assert uscc.is_valid(code)


def test_parts_of_market_regulated_enterprise() -> None:
    result = uscc.check("91350100M000100Y43")
    assert result.region_code == "350100"
    assert result.org_code == "M000100Y4"
    assert result.entity_class is not None and "企业" in result.entity_class
    assert result.registering_authority is not None and "市场监管" in result.registering_authority


@pytest.mark.parametrize("first", ["A", "N", "Y", "1", "5"])
def test_letter_and_digit_first_chars_accepted(first: str) -> None:
    body = first + "1110000" + uscc.make_org_code("60003734")
    assert len(body) == 17
    code = uscc.make(body)
    assert code[17] == uscc.compute_check_char(body) == _weighted_check(body)
    result = uscc.check(code)
    assert result.valid, result.reason
    assert result.warnings == ()


def test_stdnum_alone_rejects_letter_first_but_we_accept() -> None:
    from stdnum.cn import uscc as stdnum_uscc

    code = uscc.make("A1110000600037341")
    assert not stdnum_uscc.is_valid(code)
    assert uscc.is_valid(code)


@pytest.mark.parametrize(
    "raw",
    [
        "91350100m000100y43",
        " 91350100M000100Y43 ",
        "9135 0100 M000 100Y 43",
        "913501-00M000-100Y43",
        "913501－00M000—100Y43",
        "９１３５０１００Ｍ０００１００Ｙ４３",
        "91350100M000100Y43\n",
    ],
)
def test_normalisation(raw: str) -> None:
    assert uscc.normalise(raw) == "91350100M000100Y43"
    result = uscc.check(raw)
    assert result.valid
    assert result.code == "91350100M000100Y43"


def test_wrong_check_char() -> None:
    result = uscc.check("91350100M000100Y44")
    assert not result.valid
    assert result.reason == "校验位错误，应为 3 / check character wrong, expected 3"


def test_empty() -> None:
    result = uscc.check("  ")
    assert not result.valid
    assert result.reason is not None and "empty" in result.reason and "为空" in result.reason


@pytest.mark.parametrize("raw,length", [("9135010", 7), ("91350100M000100Y431", 19)])
def test_wrong_length_reports_actual_length(raw: str, length: int) -> None:
    result = uscc.check(raw)
    assert not result.valid
    assert result.reason is not None
    assert f"got {length}" in result.reason and f"实际 {length} 位" in result.reason


@pytest.mark.parametrize("bad", ["I", "O", "Z", "S", "V"])
def test_forbidden_letters_rejected_with_position(bad: str) -> None:
    code = "91350100M000100Y43"
    raw = code[:9] + bad + code[10:]
    result = uscc.check(raw)
    assert not result.valid
    assert result.reason is not None
    assert "position 10" in result.reason and repr(bad) in result.reason
    assert "第 10 位" in result.reason


@pytest.mark.parametrize("first", ["0", "B", "C", "X"])
def test_illegal_first_character(first: str) -> None:
    code = uscc.make(first + "1350100M000100Y4")
    result = uscc.check(code)
    assert not result.valid
    assert result.reason is not None and "first character" in result.reason


def test_reasons_are_distinct() -> None:
    reasons = {
        uscc.check("").reason,
        uscc.check("123").reason,
        uscc.check("91350100M000100I43").reason,
        uscc.check(uscc.make("01350100M000100Y4")).reason,
        uscc.check("91350100M000100Y44").reason,
    }
    assert len(reasons) == 5
    assert None not in reasons


def test_gb11714_failure_is_warning_only() -> None:
    # Org code 60003734 has check digit 1; use 2 and make C18 right.
    assert uscc.make_org_code("60003734") == "600037341"
    code = uscc.make("91110000600037342")
    result = uscc.check(code)
    assert result.valid
    assert result.reason is None
    assert len(result.warnings) == 1
    assert "GB 11714" in result.warnings[0] and "expected 1" in result.warnings[0]


@pytest.mark.parametrize(
    "body,expected",
    [
        ("60003734", "600037341"),
        ("80210043", "802100433"),
        ("M000100Y", "M000100Y4"),
    ],
)
def test_make_org_code(body: str, expected: str) -> None:
    assert uscc.make_org_code(body) == expected


def test_org_check_maps_10_to_x_and_11_to_0() -> None:
    results = {uscc.compute_org_check_char(f"{n:08d}") for n in range(0, 3000)}
    assert "X" in results and "0" in results
    # sum of weights*0 = 0 -> 11 - 0 = 11 -> "0"
    assert uscc.compute_org_check_char("00000000") == "0"


def test_compute_check_char_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        uscc.compute_check_char("123")
    with pytest.raises(ValueError):
        uscc.compute_check_char("91350100M000100I4")


def test_result_is_frozen() -> None:
    result = uscc.check(REAL_VALID[0])
    with pytest.raises(AttributeError):
        result.valid = False  # type: ignore[misc]
