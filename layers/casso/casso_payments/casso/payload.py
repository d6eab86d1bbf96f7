"""Casso webhook bodies -> `Transaction`, the one model of a bank transaction.

v1 bodies carry `data` as an array (0..N transactions), V2 bodies as one object; the
transactions API uses v1's field names. Every field has several spellings across those
three, so each model field lists its aliases in order. Unknown fields are kept: `raw` holds
the item exactly as Casso sent it.

Problems are data (`Problem`: which field, what was wrong, what was there), shown as
`<path>: <what was wrong>, got <type> <value>` (e.g. `data[1].amount: expected ...`) so a
quarantined delivery says which field broke it, and logged without the value (`safe`).
"""

from __future__ import annotations

import json
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
class Problem:
    """What was wrong with one part of a delivery. `field`: where (`data[1].amount`);
    `wrong`: what, in our own words; `got` / `value`: the type and (cut) JSON of what was
    there, which can be a customer's name, account number or transfer text: shown whole
    (`str`, kept with the quarantined body), never logged (`safe`)."""

    field: str
    wrong: str
    got: str = ""
    value: str = ""

    def __str__(self) -> str:
        return f"{self.field}: {self.wrong}" + (
            f", got {self.got} {self.value}" if self.got else ""
        )

    @property
    def safe(self) -> str:
        """For logs: which field and what was wrong, without the value that caused it."""
        return f"{self.field}: {self.wrong}" + (
            f", got {self.got} (value not logged)" if self.got else ""
        )


@dataclass(frozen=True)
class ParsedDelivery:
    """What a delivery body held: the transactions understood and the problems found."""

    shape: str  # "v1" (data is an array), "v2" (data is an object) or "unknown"
    transactions: tuple[Transaction, ...] = ()
    problems: tuple[Problem, ...] = ()


class PayloadError(ValueError):
    """One transaction item can't be understood; `problem` names the field."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


# DynamoDB keeps numbers to 38 significant digits; a longer id or amount could not be stored.
MAX_DIGITS = 38


def _wrong(field: str, wrong: str, value: Any) -> Problem:
    """A problem with the value that caused it: its type, and its JSON cut to 40 chars."""
    kind = type(value).__name__
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (RecursionError, ValueError):  # nested past the recursion limit
        return Problem(field, wrong, kind, "(too deeply nested to show)")
    return Problem(field, wrong, kind, f"{text[:40]}{'...' if len(text) > 40 else ''}")


def _whole_number(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError(_wrong(path, "expected a whole number", value))
    if isinstance(value, float) and not value.is_integer():
        raise PayloadError(Problem(path, f"expected a whole number of VND, got {value}"))
    whole = int(value)
    if abs(whole) >= 10**MAX_DIGITS:
        digits = len(str(whole))
        raise PayloadError(Problem(path, f"expected at most {MAX_DIGITS} digits, got {digits}"))
    return whole


def _first(item: dict[str, Any], names: tuple[str, ...]) -> tuple[str, Any]:
    for name in names:
        if item.get(name) is not None:
            return name, item[name]
    return names[0], None


def parse_transaction(item: Any, path: str = "data") -> Transaction:
    """One Casso transaction object (webhook v1 item, V2 data, or API record)."""
    if not isinstance(item, dict):
        raise PayloadError(_wrong(path, "expected an object", item))
    if item.get("id") is None:
        raise PayloadError(Problem(f"{path}.id", "missing (Casso's transaction id is required)"))
    transaction_id = _whole_number(item["id"], f"{path}.id")
    if transaction_id < 0:
        raise PayloadError(Problem(f"{path}.id", f"must not be negative, got {transaction_id}"))
    if item.get("amount") is None:
        raise PayloadError(Problem(f"{path}.amount", "missing"))
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
            raise PayloadError(_wrong(f"{path}.{name}", "expected text", value))
        values[model_field] = value
    return Transaction(id=transaction_id, raw=item, **values)


def parse_delivery(body: Any) -> ParsedDelivery:
    """A parsed JSON webhook body -> its transactions and any problems.

    A v1 batch with some bad items keeps the good ones and reports each bad one.
    """
    if not isinstance(body, dict):
        return ParsedDelivery("unknown", problems=(_wrong("body", "expected an object", body),))
    error = body.get("error", 0)
    if error != 0 or isinstance(error, bool):
        problem = _wrong("error", "Casso reported an error, expected 0", error)
        return ParsedDelivery("unknown", problems=(problem,))
    data = body.get("data")
    if isinstance(data, dict):
        try:
            return ParsedDelivery("v2", transactions=(parse_transaction(data),))
        except PayloadError as problem:
            return ParsedDelivery("v2", problems=(problem.problem,))
    if isinstance(data, list):
        transactions: list[Transaction] = []
        problems: list[Problem] = []
        for index, item in enumerate(data):
            try:
                transactions.append(parse_transaction(item, f"data[{index}]"))
            except PayloadError as problem:
                problems.append(problem.problem)
        return ParsedDelivery("v1", tuple(transactions), tuple(problems))
    if data is None:
        return ParsedDelivery("unknown", problems=(Problem("data", "missing"),))
    expected = "expected an array (v1) or an object (V2)"
    return ParsedDelivery("unknown", problems=(_wrong("data", expected, data),))
