"""`order`: create an order (with its VietQR when the stack has a payee), or show one; --qr
draws the code."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

import boto3

from casso_payments.orders.model import OrderError
from casso_payments.orders.repository import Orders
from ops.commands import Failed, Outputs, failing_on
from ops.qr import payee_from, render


def cmd_order(args: argparse.Namespace, outputs: Outputs) -> str:
    dynamodb, table = boto3.client("dynamodb"), outputs["OrdersTableName"]
    payee = payee_from(outputs)
    if args.qr and payee is None:
        raise Failed("the stack has no payee: deploy with PayeeBankBin and PayeeAccountNumber")
    if args.amount is not None:
        with failing_on(OrderError):
            Orders(dynamodb, table).create(
                args.order,
                args.amount,
                now=datetime.now(UTC),
                note=args.note,
                payee=payee,
                pattern=outputs.get("OrderCodePattern") or None,
            )
    order = Orders(dynamodb, table).get(args.order)
    if order is None:
        raise Failed(f"no order {args.order!r}: give --amount to create it")
    lines = [f"order {order.key}: {order.expected_amount:,} VND, {order.status}"]
    if order.vietqr:
        lines.append(f"VietQR: {order.vietqr}")
    if args.qr:
        if not order.vietqr:
            raise Failed(f"order {order.key} has no VietQR (created before the payee was set)")
        svg = Path(args.dir) / f"{order.key}.svg"
        lines += [render(order.vietqr, svg), f"wrote {svg}"]
    return "\n".join(lines)
