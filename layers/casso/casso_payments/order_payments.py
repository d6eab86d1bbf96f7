"""Transfers applied to orders, once each (the item's `payments` map: `orders`' docstring).

Optimistic: each write is conditional on the paid amount and status read and on the
transaction not being on the order yet; a concurrent change re-reads and tries again. So one
transaction is never applied twice, exactly one transfer per order settles it, and a retry
reads back what the transfer produced instead of the order's current state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from casso_payments import orders
from casso_payments.dynamo import timestamp, to_dynamodb
from casso_payments.orders import AppliedPayment, Order

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class OrderExpired(orders.OrderError):
    """The order expired before this transfer reached it: the transfer is a late payment."""


@dataclass(frozen=True)
class PaymentResult:
    order: Order
    applied: bool  # False: this transaction had already been applied to this order
    payment: AppliedPayment  # what this transfer produced, the first time it was applied


def apply_payment(
    dynamodb: DynamoDBClient,
    table: str,
    order: Order,
    *,
    transaction_id: int,
    amount: int,
    tolerance: int,
    now: datetime,
    attempts: int = 5,
    accept_expired: bool = False,
) -> PaymentResult:
    """Add a transfer to an order, once. Optimistic: the write is conditional on the paid
    amount we read and on the transaction not being there yet; a concurrent change re-reads.
    An EXPIRED order takes no payment (OrderExpired) unless a person accepted it late."""
    for _ in range(attempts):
        if transaction_id in order.applied:
            return PaymentResult(order, False, order.applied[transaction_id])
        if order.status == orders.EXPIRED and not accept_expired:
            raise OrderExpired(f"order {order.key} expired at {order.expired_at}")
        paid = order.paid_amount + amount
        status = orders.settle(order.expected_amount, paid, tolerance)
        # Writes are serialised by the paid_amount condition, so exactly one transfer per
        # order sees an unsettled order before it and a settled one after it.
        settles = status in orders.SETTLED and order.status not in orders.SETTLED
        payment = AppliedPayment(amount, status, paid, settles)
        at = timestamp(now)
        written = orders.update_order(
            dynamodb,
            table,
            order.key,
            UpdateExpression=(
                "SET payments.#tid = :payment, paid_amount = :paid, #status = :status, "
                "updated_at = :at"
                + (
                    # Settled: it can't expire any more, so it leaves ExpiringIndex.
                    ", paid_at = if_not_exists(paid_at, :at) REMOVE expiring"
                    if status in (orders.PAID, orders.OVERPAID)
                    else ""
                )
            ),
            # The status must be the one read: an order that expired meanwhile takes
            # the transfer as a late payment instead.
            ConditionExpression=(
                "attribute_exists(pk) AND paid_amount = :before AND #status = :was"
                " AND attribute_not_exists(payments.#tid)"
            ),
            ExpressionAttributeNames={"#tid": str(transaction_id), "#status": "status"},
            ExpressionAttributeValues=to_dynamodb(
                {
                    ":payment": {
                        "amount": amount,
                        "at": at,
                        "status": status,
                        "paid_amount": paid,
                        "settles": settles,
                    },
                    ":paid": paid,
                    ":status": status,
                    ":at": at,
                    ":before": order.paid_amount,
                    ":was": order.status,
                }
            ),
            ReturnValues="ALL_NEW",
        )
        if not written.written:
            order = orders.reread(dynamodb, table, order, "being paid")
            continue
        return PaymentResult(orders.order_from_item(written.attributes), True, payment)
    raise orders.OrderError(f"order {order.key} kept changing; gave up after {attempts} attempts")
