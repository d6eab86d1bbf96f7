"""VietQR payment requests: the NAPAS VietQR string a checkout shows as a QR code.

A VietQR is an EMVCo merchant-presented QR payload: fields of ID (2 digits), length (2
digits) and value, some holding fields of their own, ending with a CRC. Every Vietnamese
banking app reads one and fills in the beneficiary, the amount and the transfer's
description, so the customer types nothing and the order code arrives as the shop wrote it.

    00 01                     payload format
    01 11 | 12                static (no amount) | dynamic (with an amount)
    38 00 A000000727          NAPAS
       01 00 <acquirer BIN>   the beneficiary's bank ...
          01 <account>        ... and account
       02 QRIBFTTA            inter-bank transfer to an account
    53 704                    VND
    54 <amount>               when given
    58 VN
    62 08 <description>       the purpose of the transfer: the order code
    63 <CRC>                  CRC-16/CCITT-FALSE over everything before it, "6304" included
"""

from __future__ import annotations

import binascii
import re
from typing import Any

NAPAS_GUID = "A000000727"
SERVICE_ACCOUNT_TRANSFER = "QRIBFTTA"
CURRENCY_VND = "704"
COUNTRY = "VN"
STATIC, DYNAMIC = "11", "12"

# The spec's limits (NAPAS IBFT on VietQR, EMVCo): the longest value of each field.
MAX_ACCOUNT = 19
MAX_AMOUNT_DIGITS = 13
MAX_DESCRIPTION = 25
MAX_FIELD = 99
MAX_PAYLOAD = 512
# What reaches the shop unchanged: banks strip diacritics and most punctuation from a
# transfer's description, so only letters, digits and spaces are refused nothing.
SURVIVES_TRANSFER = re.compile(r"[A-Za-z0-9 ]*")


class VietQRError(ValueError):
    """A VietQR that can't be made or read; the message names the field and the problem."""


def crc16(text: str) -> str:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) as 4 upper-case hex digits."""
    return f"{binascii.crc_hqx(text.encode(), 0xFFFF):04X}"


def _field(field_id: str, value: str) -> str:
    if len(value) > MAX_FIELD:
        raise VietQRError(
            f"field {field_id}: {len(value)} characters, over the {MAX_FIELD} allowed"
        )
    return f"{field_id}{len(value):02d}{value}"


def _check(bank_bin: str, account: str, amount: int | None, description: str) -> None:
    if not re.fullmatch(r"\d{6}", bank_bin or ""):
        raise VietQRError(f"bank_bin: expected the bank's 6-digit NAPAS BIN, got {bank_bin!r}")
    if not re.fullmatch(rf"[A-Za-z0-9]{{1,{MAX_ACCOUNT}}}", account or ""):
        raise VietQRError(
            f"account: expected 1 to {MAX_ACCOUNT} letters or digits, got {account!r}"
        )
    if amount is not None and (
        isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0
    ):
        raise VietQRError(f"amount: expected a positive whole number of VND, got {amount!r}")
    if amount is not None and len(str(amount)) > MAX_AMOUNT_DIGITS:
        raise VietQRError(f"amount: {amount} has more than {MAX_AMOUNT_DIGITS} digits")
    if len(description) > MAX_DESCRIPTION:
        raise VietQRError(
            f"description: {len(description)} characters, over the {MAX_DESCRIPTION} a "
            "VietQR's purpose field carries"
        )
    if not SURVIVES_TRANSFER.fullmatch(description):
        stripped = sorted(set(SURVIVES_TRANSFER.sub("", description)))
        raise VietQRError(
            f"description: {''.join(stripped)!r} would not survive the transfer (banks strip "
            "diacritics and punctuation); use letters, digits and spaces"
        )


def payload(bank_bin: str, account: str, amount: int | None, description: str) -> str:
    """The VietQR string for a transfer of `amount` VND (None: the payer types it) to
    `account` at the bank `bank_bin`, with `description` as the transfer's description."""
    _check(bank_bin, account, amount, description)
    beneficiary = _field("00", bank_bin) + _field("01", account)
    merchant = (
        _field("00", NAPAS_GUID)
        + _field("01", beneficiary)
        + _field("02", SERVICE_ACCOUNT_TRANSFER)
    )
    text = (
        _field("00", "01")
        + _field("01", STATIC if amount is None else DYNAMIC)
        + _field("38", merchant)
        + _field("53", CURRENCY_VND)
        + (_field("54", str(amount)) if amount is not None else "")
        + _field("58", COUNTRY)
        + (_field("62", _field("08", description)) if description else "")
        + "6304"
    )
    text += crc16(text)
    if len(text) > MAX_PAYLOAD:
        raise VietQRError(f"payload: {len(text)} characters, over the {MAX_PAYLOAD} allowed")
    return text


def _fields(text: str, where: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    position = 0
    while position < len(text):
        head = text[position : position + 4]
        if len(head) < 4 or not head.isdigit():
            raise VietQRError(f"{where}: malformed field at character {position}")
        field_id, length = head[:2], int(head[2:])
        value = text[position + 4 : position + 4 + length]
        if len(value) != length:
            raise VietQRError(f"{where}: field {field_id} is cut short")
        fields[field_id] = value
        position += 4 + length
    return fields


def parse(text: str) -> dict[str, Any]:
    """Read a VietQR string back, after checking its CRC: `bank_bin`, `account`, `amount`
    (None when the payer types it) and `description`. VietQRError says what is wrong."""
    text = text.strip()
    if len(text) < 8 or text[-8:-4] != "6304":
        raise VietQRError("crc: the payload does not end with a 6304 CRC field")
    if crc16(text[:-4]) != text[-4:].upper():
        raise VietQRError(f"crc: {text[-4:]} does not match the payload ({crc16(text[:-4])})")
    root = _fields(text[:-8], "payload")
    if root.get("00") != "01":
        raise VietQRError("00: not an EMVCo payload (format indicator is not 01)")
    merchant = _fields(root.get("38", ""), "38")
    if merchant.get("00") != NAPAS_GUID:
        raise VietQRError(f"38: not a NAPAS VietQR (GUID {merchant.get('00')!r})")
    beneficiary = _fields(merchant.get("01", ""), "38/01")
    amount = root.get("54")
    if amount is not None and not amount.isdigit():
        raise VietQRError(f"54: amount {amount!r} is not a whole number of VND")
    return {
        "bank_bin": beneficiary.get("00", ""),
        "account": beneficiary.get("01", ""),
        "amount": int(amount) if amount is not None else None,
        "description": _fields(root.get("62", ""), "62").get("08", ""),
    }
