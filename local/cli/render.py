"""Printing for the local CLI: JSON with DynamoDB's numbers made plain, text tables, the
`show` view of a stack's orders, ledger and queues (every Scan page of them), and amounts
read back as the CLI prints them."""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
from collections import Counter
from decimal import Decimal
from typing import Any

from local.cli.stack_client import command
from local.stack.poller import queue_depth


def plain(value: Any) -> Any:
    """DynamoDB's Decimals as the whole numbers they are (VND, ids); the layer's records
    (an order's applied payments) as their fields."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain(dataclasses.asdict(value))
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(v) for v in value]
    return value


def print_json(value: Any) -> None:
    print(json.dumps(plain(value), indent=2, ensure_ascii=False, default=str))


def table(headers: list[str], rows: list[list[Any]]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=False)]
    lines = [headers, ["-" * w for w in widths], *rows]
    return "\n".join(
        ("  " + "  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True))).rstrip()
        for line in lines
    )


# An amount as the CLI prints it ("200,500"), typed plainly ("200500") or grouped by spaces
# or underscores ("200 500", "200_500"); negative for money out. VND has no fractions.
AMOUNT = re.compile(r"-?(?:\d+|\d{1,3}(?:,\d{3})+|\d{1,3}(?: \d{3})+|\d{1,3}(?:_\d{3})+)")


def vnd_amount(text: str) -> int:
    """An argparse type: a whole number of VND, as typed or as the CLI prints it."""
    value = text.strip()
    if AMOUNT.fullmatch(value):
        return int(re.sub(r"[ ,_]", "", value))
    raise argparse.ArgumentTypeError(
        f"{text!r} is not a whole number of VND: write it as 200500 or 200,500 "
        "(no fractions, no currency)"
    )


def scan_items(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    """Every item of a table, following every Scan page (one page holds at most 1 MB)."""
    from casso_payments.aws.dynamo import from_dynamodb

    pages = dynamodb.get_paginator("scan").paginate(TableName=table)
    return [from_dynamodb(item) for page in pages for item in page["Items"]]


LEDGER_FIELDS = ("pk", "kind", "status", "source", "outcome", "amount", "description", "reason")
# The ledger's kinds in the order `show` lists them: what a person looks for first.
KIND_ORDER = ("transaction", "test_call", "quarantine")
SHOWN_ROWS = 100  # per table, by default; `show --all` lists every row


def _ledger_order(item: dict[str, Any]) -> tuple[int, int, str]:
    kind = item.get("kind", "")
    rank = KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
    return rank, int(item.get("transaction_id") or 0), item["pk"]


def shown_state(clients: dict[str, Any], resources: dict[str, str]) -> dict[str, Any]:
    """Orders, ledger entries (not the reconciler's state; transactions first) and queue
    depths, from every page of each table."""

    def scan(table_name: str) -> list[dict[str, Any]]:
        return scan_items(clients["dynamodb"], resources[table_name])

    orders = (
        {k: o[k] for k in ("order_code", "expected_amount", "paid_amount", "status")}
        | {"transactions": sorted(int(t) for t in o.get("payments", {}))}
        for o in scan("OrdersTable")
    )
    ledger = (
        {k: i.get(k) for k in LEDGER_FIELDS if i.get(k) is not None}
        for i in sorted(scan("LedgerTable"), key=_ledger_order)
        if i["kind"] != "state"
    )
    return {
        "orders": sorted(orders, key=lambda o: o["order_code"]),
        "ledger": list(ledger),
        "queues": {
            name: queue_depth(clients["sqs"], resources[name])
            for name in ("TransactionQueue", "TransactionDeadLetterQueue")
        },
    }


def _each(items: list[dict[str, Any]], key: str) -> str:
    """How many of each `key`: " (PAID: 2, PENDING: 1)"; "" for none."""
    counted = sorted(Counter(str(i.get(key, "-")) for i in items).items())
    return " (" + ", ".join(f"{k}: {n:,}" for k, n in counted) + ")" if items else ""


def _left_out(rows: list[dict[str, Any]], shown: int, key: str, what: str) -> str:
    """The one line that says what a capped table left out, and how to see it."""
    rest = rows[shown:]
    if not rest:
        return ""
    return (
        f"\n  ... and {len(rest):,} more {what}{_each(rest, key)}: "
        f"`{command('show --all')}` lists all"
    )


def show_tables(shown: dict[str, Any], *, rows: int | None = SHOWN_ROWS) -> None:
    """The tables; each lists at most `rows` rows (None: all) and says what it left out."""
    orders, ledger = shown["orders"], shown["ledger"]
    cap = len(orders) + len(ledger) if rows is None else rows
    print(f"Orders: {len(orders):,}{_each(orders, 'status')}")
    print(
        table(
            ["order", "expected", "paid", "status", "transactions"],
            [
                [
                    o["order_code"],
                    f"{o['expected_amount']:,}",
                    f"{o['paid_amount']:,}",
                    o["status"],
                    ",".join(map(str, o["transactions"])) or "-",
                ]
                for o in orders[:cap]
            ],
        )
        + _left_out(orders, cap, "status", "orders")
    )
    print(f"\nLedger: {len(ledger):,}{_each(ledger, 'kind')}")
    print(
        table(
            ["key", "status", "source", "outcome", "amount", "description / reason"],
            [
                [
                    i["pk"][:28],
                    i["status"],
                    i.get("source", "-"),
                    i.get("outcome", "-"),
                    f"{i['amount']:,}" if "amount" in i else "-",
                    (i.get("description") or i.get("reason", ""))[:48],
                ]
                for i in ledger[:cap]
            ],
        )
        + _left_out(ledger, cap, "kind", "ledger entries")
    )
    print("\nQueues: " + ", ".join(f"{k} {v}" for k, v in shown["queues"].items()))
