"""Orders that expire unpaid, and the transfers that arrive after.

An order created with `expires_at` carries `expiring` (the sparse ExpiringIndex's key) while
it may still expire. Past its expiry, a PENDING or PARTIALLY_PAID order becomes EXPIRED
(`expire`, conditional on the status, so a payment and an expiry racing can't both win), an
`Order Expired` event goes out, and only then `expiring` is removed (`done`): a crash between
the two leaves the order in the index and the next run publishes the event again (it carries
the order code, for consumers to drop the copy). The reconciler finds due orders with one
Query on the index (`due`), never a scan; the processor expires one itself when a transfer
finds it past its expiry before the reconciler has.

A transfer for an EXPIRED order is kept on it as a late payment (`record_late`, once, like
payments) and settles nothing: a person accepts it (`late_payments.accept`) or refunds it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from casso_payments.dynamo import from_dynamodb, query_pages, timestamp, to_dynamodb
from casso_payments.orders import (
    EXPIRED,
    EXPIRING,
    OPEN,
    Order,
    OrderError,
    get_order,
    update_order,
)
from casso_payments.payload import Transaction

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

INDEX: Final = "ExpiringIndex"


def is_due(order: Order, now: datetime) -> bool:
    if order.status not in OPEN or not order.expires_at:
        return False
    return order.expires_at <= timestamp(now)


def due(dynamodb: DynamoDBClient, table: str, *, now: datetime, limit: int) -> list[str]:
    """Keys of orders whose expiry has passed and still carry `expiring`, oldest first."""
    keys: list[str] = []
    for page in query_pages(
        dynamodb,
        TableName=table,
        IndexName=INDEX,
        KeyConditionExpression="expiring = :due AND expires_at <= :now",
        ExpressionAttributeValues=to_dynamodb({":due": EXPIRING, ":now": timestamp(now)}),
        Limit=limit,
    ):
        keys += [item["pk"]["S"] for item in page.get("Items", [])]
        if len(keys) >= limit:
            return keys[:limit]
    return keys


def expire(
    dynamodb: DynamoDBClient, table: str, key: str, *, now: datetime
) -> tuple[Order | None, bool]:
    """Make the order EXPIRED if it is still open and due: (the order when it is EXPIRED,
    None when it was paid in time; whether this call expired it)."""
    at = timestamp(now)
    written = update_order(
        dynamodb,
        table,
        key,
        UpdateExpression=(
            "SET #status = :expired, expired_at = :at, updated_at = :at, "
            "late_payments = if_not_exists(late_payments, :none)"
        ),
        ConditionExpression="#status IN (:pending, :partial) AND expires_at <= :at",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues=to_dynamodb(
            {
                ":expired": EXPIRED,
                ":at": at,
                ":none": {},
                ":pending": OPEN[0],
                ":partial": OPEN[1],
            }
        ),
        ReturnValues="ALL_NEW",
    )
    if written.written:
        return get_order(dynamodb, table, from_dynamodb(written.attributes)["pk"]), True
    current = get_order(dynamodb, table, key)
    if current is None or current.status != EXPIRED:
        if current is not None and current.status not in OPEN:
            done(dynamodb, table, key)  # settled: nothing will expire it any more
        return None, False
    return current, False


def done(dynamodb: DynamoDBClient, table: str, key: str) -> None:
    """The order's expiry is handled (event published, or paid in time): out of the index."""
    dynamodb.update_item(
        TableName=table,
        Key={"pk": {"S": key}},
        UpdateExpression="REMOVE expiring",
        ConditionExpression="attribute_exists(pk)",
    )


def expired_event(order: Order) -> dict[str, Any]:
    """`Order Expired`'s detail: no transaction caused it."""
    return {"transaction_id": None, "order_code": order.key, **expired_state(order)}


def expired_state(order: Order) -> dict[str, Any]:
    return {
        "expected_amount": order.expected_amount,
        "paid_amount": order.paid_amount,
        "status": EXPIRED,
        "expires_at": order.expires_at,
        "expired_at": order.expired_at,
    }


def record_late(
    dynamodb: DynamoDBClient, table: str, order: Order, transaction: Transaction, *, now: datetime
) -> tuple[Order, bool]:
    """Keep a transfer on its EXPIRED order as a late payment, once; (order, newly added)."""
    transaction_id, amount = transaction.id, transaction.amount
    if transaction_id in order.late:
        return order, False
    written = update_order(
        dynamodb,
        table,
        order.key,
        UpdateExpression="SET late_payments.#tid = :late, updated_at = :at",
        ConditionExpression=(
            "#status = :expired AND attribute_not_exists(late_payments.#tid)"
            " AND attribute_not_exists(payments.#tid)"
        ),
        ExpressionAttributeNames={"#tid": str(transaction_id), "#status": "status"},
        ExpressionAttributeValues=to_dynamodb(
            {
                ":late": {"amount": amount, "at": timestamp(now)},
                ":at": timestamp(now),
                ":expired": EXPIRED,
            }
        ),
        ReturnValues="ALL_NEW",
    )
    if written.written:
        return get_order(dynamodb, table, from_dynamodb(written.attributes)["pk"]) or order, True
    current = get_order(dynamodb, table, order.key)
    if current is not None and transaction_id in current.late:
        return current, False
    raise OrderError(
        f"order {order.key}: transaction {transaction_id} can't be kept as a late payment"
        f" (the order is {current.status if current else 'gone'})"
    )
