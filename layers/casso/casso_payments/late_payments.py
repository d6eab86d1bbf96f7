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
from typing import TYPE_CHECKING, Final

from casso_payments.bindings import ORDER, Binding, CannotSettle, close, reopen_bound
from casso_payments.dynamo import timestamp
from casso_payments.ledger import get_entry
from casso_payments.outcomes import Outcome

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

REFUND_DUE: Final = "refund_due"


def _refused(dynamodb: DynamoDBClient, table: str, transaction_id: int, what: str) -> CannotSettle:
    entry = get_entry(dynamodb, table, transaction_id)
    if entry is None:
        return CannotSettle(f"transaction {transaction_id} is not in the ledger")
    return CannotSettle(
        f"transaction {transaction_id} can't be {what}: it is {entry.status} with outcome "
        f"{entry.outcome!r} (only a processed {Outcome.LATE.value!r} transaction can be)"
    )


def accept(
    dynamodb: DynamoDBClient, table: str, transaction_id: int, *, now: datetime, by: str, note: str
) -> int:
    """Reopen a late payment for the processor to apply to its (expired) order; returns the
    replay number its queue message must carry."""
    entry = get_entry(dynamodb, table, transaction_id)
    bound = (entry.binding or {}).get("order_code") if entry else None
    if entry is None or not bound:
        raise _refused(dynamodb, table, transaction_id, "accepted")
    replays = reopen_bound(
        dynamodb,
        table,
        transaction_id,
        Binding(ORDER, bound, (), timestamp(now), f"ops:{by}", note, accept_late=True),
        now=now,
        was="accepted_from",
        condition="outcome = :late",
        values={":late": Outcome.LATE.value},
    )
    if replays is None:
        raise _refused(dynamodb, table, transaction_id, "accepted")
    return replays


def refund(
    dynamodb: DynamoDBClient, table: str, transaction_id: int, *, now: datetime, by: str, note: str
) -> str:
    """Mark a late payment for refund; returns the order it was kept on."""
    item = close(
        dynamodb,
        table,
        transaction_id,
        outcomes=(Outcome.LATE,),
        sets=(
            "outcome = :refund, refund_marked_at = :at, refund_marked_by = :by, refund_note = :note"
        ),
        values={":refund": REFUND_DUE, ":at": timestamp(now), ":by": f"ops:{by}", ":note": note},
    )
    if item is None:
        raise _refused(dynamodb, table, transaction_id, "marked for refund")
    return str(item.get("order_code") or "")
