"""Casso webhook bodies -> `Transaction`, the one model of a bank transaction.

v1 bodies carry `data` as an array (0..N transactions), V2 bodies as one object; the
transactions API uses v1's field names. Every field has several spellings across those
three, so each model field lists its aliases in order. Unknown fields are kept: `raw` holds
the item exactly as Casso sent it.

Problems are reported as `<path>: <what was wrong>` (e.g. `data[1].amount: expected ...`)
so a quarantined delivery says which field broke it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

# model field -> Casso names, v1 / API first, then V2.
ALIASES: dict[str, tuple[str, ...]] = {
    "reference": ("tid", "reference"),
    "description": ("description",),
    "balance": ("cusum_balance", "runningBalance"),
    "when": ("when", "transactionDateTime"),
    "account_number": ("bank_sub_acc_id", "subAccId", "bankSubAccId", "accountNumber"),
    "bank_name": ("bankName", "bankAbbreviation"),
    "virtual_account": ("virtualAccount", "virtualAccountNumber"),
    "virtual_account_name": ("virtualAccountName",),
    "counter_account_name": ("corresponsiveName", "counterAccountName"),
    "counter_account_number": ("corresponsiveAccount", "counterAccountNumber"),
    "counter_bank_id": ("corresponsiveBankId", "counterAccountBankId"),
    "counter_bank_name": ("corresponsiveBankName", "counterAccountBankName"),
}
TEXT_FIELDS = tuple(name for name in ALIASES if name != "balance")


@dataclass(frozen=True)
class Transaction:
    """One Casso bank transaction. `amount` is whole VND, negative for money out."""

    id: int
    amount: int
    description: str = ""
    reference: str = ""
    balance: int | None = None
    when: str = ""
    account_number: str = ""
    bank_name: str = ""
    virtual_account: str = ""
    virtual_account_name: str = ""
    counter_account_name: str = ""
    counter_account_number: str = ""
    counter_bank_id: str = ""
    counter_bank_name: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class ParsedDelivery:
    """What a delivery body held: the transactions understood and the problems found."""

    shape: str  # "v1" (data is an array), "v2" (data is an object) or "unknown"
    transactions: tuple[Transaction, ...] = ()
    problems: tuple[str, ...] = ()


class PayloadError(ValueError):
    """One transaction item can't be understood; the message names the field."""


# DynamoDB keeps numbers to 38 significant digits; a longer id or amount could not be stored.
MAX_DIGITS = 38


def _describe(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (RecursionError, ValueError):  # nested past the recursion limit
        return f"{type(value).__name__} (too deeply nested to show)"
    return f"{type(value).__name__} {text[:40]}{'...' if len(text) > 40 else ''}"


_VALUE_SHOWN = re.compile(r"(got [a-z]+) .*$")


def redact(problem: str) -> str:
    """A problem without the value that caused it, for logs: field values can be a
    customer's name, account number or transfer text (the ledger keeps the full reason)."""
    return _VALUE_SHOWN.sub(r"\1 (value not logged)", problem)


def _whole_number(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError(f"{path}: expected a whole number, got {_describe(value)}")
    if isinstance(value, float):
        if not value.is_integer():
            raise PayloadError(f"{path}: expected a whole number of VND, got {value}")
        value = int(value)
    if abs(value) >= 10**MAX_DIGITS:
        raise PayloadError(f"{path}: expected at most {MAX_DIGITS} digits, got {len(str(value))}")
    return value


def _first(item: dict[str, Any], names: tuple[str, ...]) -> tuple[str, Any]:
    for name in names:
        if item.get(name) is not None:
            return name, item[name]
    return names[0], None


def parse_transaction(item: Any, path: str = "data") -> Transaction:
    """One Casso transaction object (webhook v1 item, V2 data, or API record)."""
    if not isinstance(item, dict):
        raise PayloadError(f"{path}: expected an object, got {_describe(item)}")
    if item.get("id") is None:
        raise PayloadError(f"{path}.id: missing (Casso's transaction id is required)")
    transaction_id = _whole_number(item["id"], f"{path}.id")
    if transaction_id < 0:
        raise PayloadError(f"{path}.id: must not be negative, got {transaction_id}")
    if item.get("amount") is None:
        raise PayloadError(f"{path}.amount: missing")
    values: dict[str, Any] = {"amount": _whole_number(item["amount"], f"{path}.amount")}
    name, balance = _first(item, ALIASES["balance"])
    if balance is not None:
        values["balance"] = _whole_number(balance, f"{path}.{name}")
    for model_field in TEXT_FIELDS:
        name, value = _first(item, ALIASES[model_field])
        if value is None:
            continue
        # Account numbers and bank ids sometimes arrive as numbers.
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise PayloadError(f"{path}.{name}: expected text, got {_describe(value)}")
        values[model_field] = value
    return Transaction(id=transaction_id, raw=item, **values)


def parse_delivery(body: Any) -> ParsedDelivery:
    """A parsed JSON webhook body -> its transactions and any problems.

    A v1 batch with some bad items keeps the good ones and reports each bad one.
    """
    if not isinstance(body, dict):
        return ParsedDelivery(
            "unknown", problems=(f"body: expected an object, got {_describe(body)}",)
        )
    error = body.get("error", 0)
    if error != 0 or isinstance(error, bool):
        return ParsedDelivery(
            "unknown", problems=(f"error: Casso reported error {_describe(error)}, expected 0",)
        )
    data = body.get("data")
    if isinstance(data, dict):
        try:
            return ParsedDelivery("v2", transactions=(parse_transaction(data),))
        except PayloadError as problem:
            return ParsedDelivery("v2", problems=(str(problem),))
    if isinstance(data, list):
        transactions: list[Transaction] = []
        problems: list[str] = []
        for index, item in enumerate(data):
            try:
                transactions.append(parse_transaction(item, f"data[{index}]"))
            except PayloadError as problem:
                problems.append(str(problem))
        return ParsedDelivery("v1", tuple(transactions), tuple(problems))
    if data is None:
        return ParsedDelivery("unknown", problems=("data: missing",))
    return ParsedDelivery(
        "unknown",
        problems=(f"data: expected an array (v1) or an object (V2), got {_describe(data)}",),
    )
