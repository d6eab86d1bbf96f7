"""VietQR payment requests: the exact NAPAS string, read back, and clear refusals."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casso_payments.orders.vietqr import MAX_DESCRIPTION, VietQRError, crc16, parse, payload

# Published example: the README of github.com/subiz/vietqr (a Go VietQR generator), "Sinh mã
# chuyển khoản 120.000 vào STK 0011001932418 ngân hàng Vietin với ghi chú 'ủng hộ lũ lụt'",
# i.e. vietqr.Generate(120000, "970415", "0011001932418", "ủng hộ lũ lụt"), whose
# description the library folds to "ung ho lu lut".
PUBLISHED = (
    "00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA"
    "530370454061200005802VN62170813ung ho lu lut6304C15C"
)


def test_the_published_example_is_reproduced_character_for_character():
    assert payload("970415", "0011001932418", 120_000, "ung ho lu lut") == PUBLISHED


def test_the_published_example_reads_back():
    assert parse(PUBLISHED) == {
        "bank_bin": "970415",
        "account": "0011001932418",
        "amount": 120_000,
        "description": "ung ho lu lut",
    }


def test_crc_is_ccitt_false():
    assert crc16("123456789") == "29B1"  # the catalogued check value of CRC-16/CCITT-FALSE


def test_without_an_amount_the_qr_is_static_and_the_payer_types_it():
    text = payload("970436", "1234567890", None, "DH35")
    assert text.startswith("000201010211")
    assert "54" not in text[text.index("5303704") + 7 : text.index("5802VN")]
    assert parse(text)["amount"] is None


@given(
    bank_bin=st.from_regex(r"\d{6}", fullmatch=True),
    account=st.from_regex(r"[A-Za-z0-9]{1,19}", fullmatch=True),
    amount=st.none() | st.integers(min_value=1, max_value=10**13 - 1),
    description=st.from_regex(r"[A-Za-z0-9 ]{0,25}", fullmatch=True),
)
def test_every_valid_request_round_trips(bank_bin, account, amount, description):
    text = payload(bank_bin, account, amount, description)
    assert parse(text) == {
        "bank_bin": bank_bin,
        "account": account,
        "amount": amount,
        "description": description,
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("97041", "1", 1, "DH1"), "bank_bin: expected the bank's 6-digit NAPAS BIN"),
        (("9704150", "1", 1, "DH1"), "bank_bin: expected the bank's 6-digit NAPAS BIN"),
        (("97041a", "1", 1, "DH1"), "bank_bin"),
        (("970415", "", 1, "DH1"), "account: expected 1 to 19 letters or digits"),
        (("970415", "1" * 20, 1, "DH1"), "account: expected 1 to 19"),
        (("970415", "1", 0, "DH1"), "amount: expected a positive whole number of VND"),
        (("970415", "1", -5, "DH1"), "amount: expected a positive whole number of VND"),
        (("970415", "1", 10.5, "DH1"), "amount: expected a positive whole number of VND"),
        (("970415", "1", True, "DH1"), "amount: expected a positive whole number of VND"),
        (("970415", "1", 10**13, "DH1"), "amount: 10000000000000 has more than 13 digits"),
        (("970415", "1", 1, "D" * 26), f"over the {MAX_DESCRIPTION} a VietQR's purpose field"),
        (("970415", "1", 1, "Đơn DH35"), "would not survive the transfer"),
        (("970415", "1", 1, "DH-35"), "'-' would not survive the transfer"),
    ],
)
def test_what_cannot_be_paid_as_asked_is_refused_naming_the_field(args, message):
    with pytest.raises(VietQRError, match=re.escape(message)):
        payload(*args)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (PUBLISHED[:-4] + "C15D", "crc: C15D does not match the payload"),
        (PUBLISHED.replace("120000", "920000"), "crc: C15C does not match"),
        (PUBLISHED[:-8], "does not end with a 6304 CRC field"),
        ("hello", "does not end with a 6304 CRC field"),
    ],
)
def test_a_damaged_or_foreign_string_is_refused(text, message):
    with pytest.raises(VietQRError, match=message):
        parse(text)


def test_a_non_napas_emvco_string_is_refused():
    body = "000201010211" + "2610" + "0006ABCDEF" + "5303704" + "5802VN" + "6304"
    with pytest.raises(VietQRError, match="38: not a NAPAS VietQR"):
        parse(body + crc16(body))
