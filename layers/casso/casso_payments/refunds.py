"""Refunds linked to their orders: money out whose description names one order.

The processor binds such a transfer to its order first (`bindings`, as for payments), then
records it here, once: `refunds` (transaction id -> {amount, at, refunded_amount}) and the
order's `refunded_amount`, conditional on the transfer not being there yet and on the total
read (so concurrent refunds serialise, and each keeps the total it produced, which a retry
reports again). A refund never touches `payments`, `paid_amount` or `status`: which
transfers paid the order stays what it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from casso_payments.dynamo import timestamp, to_dynamodb
from casso_payments.orders import Order, OrderError, get_order, reread, update_order

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass(frozen=True)
class RefundResult:
    order: Order
    recorded: bool  # False: this transfer was already on the order (a retry)
    amount: int  # VND sent back, positive
    refunded_amount: int  # the order's refunded total right after this refund


def _result(order: Order, transaction_id: int, recorded: bool) -> RefundResult:
    refund = order.refunds[transaction_id]
    return RefundResult(
        order, recorded, int(refund["amount"]), int(refund.get("refunded_amount", 0))
    )


def record_refund(
    dynamodb: DynamoDBClient,
    table: str,
    order: Order,
    *,
    transaction_id: int,
    amount: int,
    now: datetime,
    attempts: int = 5,
) -> RefundResult:
    """Record `amount` VND (positive) sent back for `order`, once."""
    # Orders written before refunds existed (or by other systems) have no map to add to.
    dynamodb.update_item(
        TableName=table,
        Key={"pk": {"S": order.key}},
        UpdateExpression="SET refunds = if_not_exists(refunds, :none)",
        ConditionExpression="attribute_exists(pk)",
        ExpressionAttributeValues=to_dynamodb({":none": {}}),
    )
    at = timestamp(now)
    for _ in range(attempts):
        if transaction_id in order.refunds:
            return _result(order, transaction_id, False)
        before = order.refunded_amount
        total = before + amount
        written = update_order(
            dynamodb,
            table,
            order.key,
            UpdateExpression=(
                "SET refunds.#tid = :refund, refunded_amount = :total, updated_at = :at"
            ),
            ConditionExpression="attribute_not_exists(refunds.#tid) AND ("
            + ("attribute_not_exists(refunded_amount) OR " if before == 0 else "")
            + "refunded_amount = :before)",
            ExpressionAttributeNames={"#tid": str(transaction_id)},
            ExpressionAttributeValues=to_dynamodb(
                {
                    ":refund": {"amount": amount, "at": at, "refunded_amount": total},
                    ":total": total,
                    ":at": at,
                    ":before": before,
                }
            ),
        )
        if not written.written:
            order = reread(dynamodb, table, order, "refunding")
            continue
        current = get_order(dynamodb, table, order.key)
        return _result(current or order, transaction_id, True)
    raise OrderError(f"order {order.key} kept changing; gave up after {attempts} attempts")


def refund_detail(order: Order, result: RefundResult) -> dict[str, Any]:
    """The order as this refund left it (the same on a retry)."""
    overpaid_by = max(0, order.paid_amount - order.expected_amount)
    return {
        "refund_amount": result.amount,
        "refunded_amount": result.refunded_amount,
        "expected_amount": order.expected_amount,
        "paid_amount": order.paid_amount,
        "status": order.status,
        "overpaid_by": overpaid_by,
        # An overpaid order's excess, sent back: what a shop reconciling OVERPAID looks for.
        "excess_refunded": overpaid_by > 0 and result.refunded_amount >= overpaid_by,
        "refund_transaction_ids": sorted(
            t
            for t, r in order.refunds.items()
            if int(r.get("refunded_amount", 0)) <= result.refunded_amount
        ),
    }
