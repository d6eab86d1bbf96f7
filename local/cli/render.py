"""Printing for the local CLI: JSON with DynamoDB's numbers made plain, text tables, and the
`show` view of a stack's orders, ledger and queues."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from typing import Any

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


LEDGER_FIELDS = ("pk", "kind", "status", "source", "outcome", "amount", "description", "reason")


def shown_state(clients: dict[str, Any], resources: dict[str, str]) -> dict[str, Any]:
    """Orders, ledger entries (not the reconciler's state) and queue depths, sorted."""
    from casso_payments.aws.dynamo import from_dynamodb

    def scan(table_name: str) -> list[dict[str, Any]]:
        items = clients["dynamodb"].scan(TableName=resources[table_name])["Items"]
        return [from_dynamodb(i) for i in items]

    orders = (
        {k: o[k] for k in ("order_code", "expected_amount", "paid_amount", "status")}
        | {"transactions": sorted(int(t) for t in o.get("payments", {}))}
        for o in scan("OrdersTable")
    )
    ledger = (
        {k: i.get(k) for k in LEDGER_FIELDS if i.get(k) is not None}
        for i in scan("LedgerTable")
        if i["kind"] != "state"
    )
    return {
        "orders": sorted(orders, key=lambda o: o["order_code"]),
        "ledger": sorted(ledger, key=lambda i: i["pk"]),
        "queues": {
            name: queue_depth(clients["sqs"], resources[name])
            for name in ("TransactionQueue", "TransactionDeadLetterQueue")
        },
    }


def show_tables(shown: dict[str, Any]) -> None:
    print("Orders")
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
                for o in shown["orders"]
            ],
        )
    )
    print("\nLedger")
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
                for i in shown["ledger"]
            ],
        )
    )
    print("\nQueues: " + ", ".join(f"{k} {v}" for k, v in shown["queues"].items()))
