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


# DynamoDB keeps numbers to 38 significant digits; a longer id or balance could not be stored.
MAX_DIGITS = 38
# The most VND one transaction may move, either way: 10^15 (a quadrillion VND, about 40
# billion USD), a thousand times more than any real bank transfer. Below it, an order's
# total stays far inside DynamoDB's 38 digits however many transfers it adds up, and every
# amount is exact in an event or a shop webhook read as a JavaScript number (2^53, about
# 9 x 10^15). An amount beyond it is not a transfer: the delivery is quarantined.
MAX_AMOUNT = 10**15
INTEGER = "expected a whole number"
NO_FRACTION = "expected a whole number written as an integer (no fraction, no exponent)"


def _wrong(field: str, wrong: str, value: Any) -> Problem:
    """A problem with the value that caused it: its type, and its JSON cut to 40 chars."""
    kind = type(value).__name__
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (RecursionError, ValueError):  # nested past the recursion limit
        return Problem(field, wrong, kind, "(too deeply nested to show)")
    return Problem(field, wrong, kind, f"{text[:40]}{'...' if len(text) > 40 else ''}")


def _whole_number(value: Any, path: str) -> int:
    """A JSON integer, never rounded. Casso's docs and samples write ids, amounts and
    balances as JSON integers, as any JSON serialiser writes a whole number below 10^21;
    `200500.0`, `2.005e5` or `200500.4` is not what Casso sends, and reading it as a Python
    float may already have rounded it (`200500.0000000000000001` is `200500.0`). So a float,
    integral or not, is refused; so is text, even of ASCII digits."""
    if isinstance(value, float):
        raise PayloadError(_wrong(path, NO_FRACTION, value))
    if isinstance(value, bool) or not isinstance(value, int):
        raise PayloadError(_wrong(path, INTEGER, value))
    if abs(value) >= 10**MAX_DIGITS:
        digits = len(str(abs(value)))
        raise PayloadError(Problem(path, f"expected at most {MAX_DIGITS} digits, got {digits}"))
    return value


def _amount(value: Any, path: str) -> int:
    amount = _whole_number(value, path)
    if abs(amount) > MAX_AMOUNT:
        digits = len(str(abs(amount)))
        raise PayloadError(
            Problem(path, f"expected at most 10^15 VND either way, got {digits} digits")
        )
    return amount


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
    values: dict[str, Any] = {"amount": _amount(item["amount"], f"{path}.amount")}
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
