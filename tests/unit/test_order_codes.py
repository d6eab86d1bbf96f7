"""Order codes in real-looking Vietnamese bank-transfer descriptions."""

from __future__ import annotations

import pytest

from casso_payments.orders.codes import (
    DEFAULT_PATTERN,
    MAX_CODE_DIGITS,
    PatternError,
    canonical_code,
    compile_pattern,
    find_codes,
)

DESCRIPTIONS = [
    # What banks glue on around the customer's text.
    ("MBVCB.3278841.DH1234.CT tu 0123456789 NGUYEN VAN A toi 0071000888 CONG TY ABC", ["DH1234"]),
    ("IBFT DH1234 thanh toan", ["DH1234"]),
    ("DH1234", ["DH1234"]),
    ("dh1234", ["DH1234"]),
    ("Dh1234 chuyen tien", ["DH1234"]),
    ("CT DEN:0123456789 DH1234", ["DH1234"]),
    ("REM Tfr Ac: 0071000888 O@L DH1234 NGUYEN VAN A", ["DH1234"]),
    ("TKThe :0123456789, tai VCB. DH1234-NGUYEN THI B", ["DH1234"]),
    ("FT24300123456 DH1234 THANH TOAN DON HANG", ["DH1234"]),
    ("NHAN TU 0123456789 TRACE 123456 ND DH1234", ["DH1234"]),
    ("QR - DH1234 - Ma giao dich Trace123456", ["DH1234"]),
    ("Ung Ho DH1234.20241003.123456", ["DH1234"]),
    ("MOMO-CASHIN-0909123456-DH1234", ["DH1234"]),
    ("ZP241003123456 DH1234 ZaloPay", ["DH1234"]),
    ("thanhtoanDH1234", ["DH1234"]),
    ("DH1234CT", ["DH1234"]),
    # Separators the customer typed inside the code.
    ("DH-1234", ["DH1234"]),
    ("DH 1234", ["DH1234"]),
    ("dh.1234 thanh toan", ["DH1234"]),
    ("DH_1234", ["DH1234"]),
    ("DH: 1234", ["DH1234"]),
    ("Thanh toan DH#1234", ["DH1234"]),
    # Leading zeros.
    ("DH001234", ["DH1234"]),
    ("dh-0001234 nguyen van a", ["DH1234"]),
    # Diacritics kept by the customer's bank.
    ("Thanh toán đơn hàng ĐH1234", ["DH1234"]),
    ("Chuyển tiền đh 1234 cho shop", ["DH1234"]),
    # Several candidates: all found, first first, each once.
    ("DH1234 DH5678", ["DH1234", "DH5678"]),
    ("Gop DH12 va DH0012 va dh-13", ["DH12", "DH13"]),
    ("TRA LAI DH99, THANH TOAN DH100", ["DH99", "DH100"]),
    # No code.
    ("CHUYEN TIEN AN TRUA", []),
    ("DHL 123456 ship", []),
    ("MBVCB.3278841.0123456789.CT", []),
    ("thanh toan don hang", []),
    ("", []),
    ("DH", []),
    ("DH - - 1234", []),  # more than two separators: not a code
]


@pytest.mark.parametrize(("description", "codes"), DESCRIPTIONS)
def test_codes_found_in_descriptions(description: str, codes: list[str]):
    assert find_codes(description) == codes


def test_table_is_large_enough():
    assert len(DESCRIPTIONS) >= 30


@pytest.mark.parametrize(
    ("code", "canonical"),
    [
        ("DH35", "DH35"),
        ("dh-0035", "DH35"),
        ("ĐH 035", "DH35"),
        ("DH0", "DH0"),
        ("ab.c-007x", "ABC7X"),
    ],
)
def test_canonical_code(code: str, canonical: str):
    assert canonical_code(code) == canonical


# Digits are ASCII digits: any other digit-like character is never read as one, and a code
# whose digits run into one is no code (its ASCII part may be another order's).
NOT_ASCII_DIGITS = [
    ("DH\u0663\u0664", []),  # Arabic-Indic: no digits at all for the pattern
    ("DH12\u0663", []),  # not DH12: the number goes on in digits we can't read
    ("DH\uff11\uff12", []),  # full-width digits, which NFKD would have made "12"
    ("DH\uff11\uff12 DH35", ["DH35"]),
    ("DH12\u00b2", []),  # superscript two
    ("DH\u2460", []),  # circled one
    ("DH\u0967\u0968 thanh toan", []),  # Devanagari
    ("Thanh toán ĐH35 \uff15", ["DH35"]),  # a non-ASCII digit elsewhere changes nothing
    ("DH35\u0663DH36", ["DH36"]),  # DH35 runs into one; DH36 is clean
]


@pytest.mark.parametrize(("description", "codes"), NOT_ASCII_DIGITS)
def test_only_ascii_digits_are_read(description: str, codes: list[str]):
    assert find_codes(description) == codes


def test_the_pattern_reads_ascii_digits_only_whatever_the_configured_pattern_says():
    assert find_codes("ORDER \u0663\u0664 ORDER 34", r"ORDER\s(\d+)") == ["34"]
    assert find_codes("X\u0663\u0664", r"X\w+") == []


@pytest.mark.parametrize(
    ("description", "codes"),
    [
        ("DH" + "1" * 5000, []),
        ("DH" + "1" * 5000 + " DH35", ["DH35"]),
        ("DH" + "0" * 4990 + "35", []),  # leading zeros count: nobody types 4,990 of them
        ("DH" + "9" * MAX_CODE_DIGITS, ["DH" + "9" * MAX_CODE_DIGITS]),
        ("DH" + "9" * (MAX_CODE_DIGITS + 1), []),
    ],
    ids=["5000-digits", "5000-then-a-code", "zeros", "at-the-bound", "past-the-bound"],
)
def test_a_digit_run_longer_than_the_bound_is_no_code(description: str, codes: list[str]):
    assert find_codes(description) == codes


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("DH\u0663", "digits that aren't ASCII"),
        ("DH\uff13", "digits that aren't ASCII"),
        ("DH" + "1" * 5000, f"more than {MAX_CODE_DIGITS} digits"),
    ],
)
def test_an_order_code_with_unreadable_digits_is_refused(code: str, message: str):
    with pytest.raises(ValueError, match=message):
        canonical_code(code)


def test_code_with_nothing_in_it_is_rejected():
    with pytest.raises(ValueError, match="has no letters or digits"):
        canonical_code("--")


def test_custom_pattern_with_a_group():
    pattern = r"ORDER\s*#?\s*([A-Z]{2}\d{4})"
    assert find_codes("thanh toan order #ab0012 nhe", pattern) == ["AB12"]
    assert find_codes("DH1234", pattern) == []


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("DH(", "not a valid regex"),
        ("(DH)(\\d+)", "at most one group"),
        ("\\d*", "matches empty text"),
    ],
)
def test_unusable_pattern_is_explained(pattern: str, message: str):
    with pytest.raises(PatternError, match=message):
        compile_pattern(pattern)


def test_default_pattern_is_the_template_default(template):
    assert template["Parameters"]["OrderCodePattern"]["Default"] == DEFAULT_PATTERN
