"""A person's decision on a late payment (a transfer kept on an order that had expired).

`accept`: the order takes the transfer after all. The transaction's binding gets
`accept_late` and the transaction is reopened for the processor, which applies it by its
usual path (conditional on the transfer not being on the order yet, `Order Paid` at most once
per order); so an accept retried or run twice pays the order once.
`refund`: the money goes back; the ledger item says so (outcome `refund_due`) until the
refund, a money-out transfer naming the order, arrives and is linked (`refunds`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from botocore.exceptions import ClientError

from casso_payments.bindings import ORDER, Binding, CannotSettle, reopen_bound
from casso_payments.ledger import (
    PROCESSED,
    from_dynamodb,
    get_entry,
    timestamp,
    to_dynamodb,
    transaction_key,
)

LATE: Final = "late"
REFUND_DUE: Final = "refund_due"


def _refused(dynamodb: Any, table: str, transaction_id: int, what: str) -> CannotSettle:
    entry = get_entry(dynamodb, table, transaction_id)
    if entry is None:
        return CannotSettle(f"transaction {transaction_id} is not in the ledger")
    return CannotSettle(
        f"transaction {transaction_id} can't be {what}: it is {entry.status} with outcome "
        f"{entry.outcome!r} (only a processed {LATE!r} transaction can be)"
    )


def accept(
    dynamodb: Any, table: str, transaction_id: int, *, now: datetime, by: str, note: str
) -> int:
    """Reopen a late payment for the processor to apply to its (expired) order; returns the
    replay number its queue message must carry."""
    entry = get_entry(dynamodb, table, transaction_id)
    bound = (entry.binding or {}).get("order_code") if entry else None
    if entry is None or not bound:
        raise _refused(dynamodb, table, transaction_id, "accepted")
    binding = Binding(ORDER, bound, (), timestamp(now), f"ops:{by}", note, accept_late=True)
    replays = reopen_bound(
        dynamodb,
        table,
        transaction_id,
        binding,
        now=now,
        was="accepted_from",
        condition="outcome = :late",
        values={":late": LATE},
    )
    if replays is None:
        raise _refused(dynamodb, table, transaction_id, "accepted")
    return replays


def refund(
    dynamodb: Any, table: str, transaction_id: int, *, now: datetime, by: str, note: str
) -> str:
    """Mark a late payment for refund; returns the order it was kept on."""
    try:
        item = dynamodb.update_item(
            TableName=table,
            Key=transaction_key(transaction_id),
            UpdateExpression=(
                "SET outcome = :refund, refund_marked_at = :at, refund_marked_by = :by, "
                "refund_note = :note"
            ),
            ConditionExpression="kind = :transaction AND #status = :processed AND outcome = :late",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=to_dynamodb(
                {
                    ":refund": REFUND_DUE,
                    ":at": timestamp(now),
                    ":by": f"ops:{by}",
                    ":note": note,
                    ":transaction": "transaction",
                    ":processed": PROCESSED,
                    ":late": LATE,
                }
            ),
            ReturnValues="ALL_NEW",
        )["Attributes"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        raise _refused(dynamodb, table, transaction_id, "marked for refund") from None
    return str(from_dynamodb(item).get("order_code") or "")
