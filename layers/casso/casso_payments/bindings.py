"""Which order a transaction settles, decided once and kept on its ledger item.

The processor decides at a transaction's first attempt and writes the decision (`binding`)
on the ledger item *before* it changes any order; every retry reads it back and never
matches again, so an order created later can't draw a transfer already applied elsewhere
(design invariant 7). An operator's `ops settle` writes a binding too, onto the order a
person chose, and reopens the transaction: the processor then applies it by the same path.

Item attribute `binding` (a map): decision (order | unmatched | needs_review), order_code,
candidates (existing orders a description named), bound_at, bound_by (processor | ops), note.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from casso_payments.dynamo import from_dynamodb, timestamp, to_dynamodb
from casso_payments.ledger import PROCESSED, RECEIVED, reopen, transaction_key, update_transaction
from casso_payments.outcomes import Outcome

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ORDER: Final = "order"
UNMATCHED: Final = "unmatched"
NEEDS_REVIEW: Final = "needs_review"
# Outcomes a person may settle onto an order, or mark handled without one.
SETTLEABLE: Final = (Outcome.NEEDS_REVIEW, Outcome.UNMATCHED)
HANDLEABLE: Final = (Outcome.NEEDS_REVIEW, Outcome.UNMATCHED, Outcome.UNCONFIRMED)
HANDLED: Final = "handled"


@dataclass(frozen=True)
class Binding:
    decision: str
    order_code: str | None = None
    candidates: tuple[str, ...] = ()
    bound_at: str = ""
    bound_by: str = "processor"
    note: str = ""
    # A person accepted this transfer although its order had expired (`late_payments`).
    accept_late: bool = False

    def to_item(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "order_code": self.order_code,
            "candidates": list(self.candidates),
            "bound_at": self.bound_at,
            "bound_by": self.bound_by,
            "note": self.note,
            "accept_late": self.accept_late,
        }

    @classmethod
    def from_item(cls, value: dict[str, Any]) -> Binding:
        return cls(
            decision=str(value["decision"]),
            order_code=value.get("order_code"),
            candidates=tuple(value.get("candidates") or ()),
            bound_at=str(value.get("bound_at", "")),
            bound_by=str(value.get("bound_by", "processor")),
            note=str(value.get("note", "")),
            accept_late=bool(value.get("accept_late", False)),
        )


class AlreadyDone(RuntimeError):
    """The transaction was processed while we were deciding; nothing is left to do."""


def bind(dynamodb: DynamoDBClient, table: str, transaction_id: int, binding: Binding) -> Binding:
    """Record `binding` unless the item has one already; returns the binding that holds.

    Conditional on the item being RECEIVED with no binding: of two first attempts racing,
    the first write wins and the other adopts it."""
    written = update_transaction(
        dynamodb,
        table,
        transaction_id,
        UpdateExpression="SET binding = :binding",
        ConditionExpression="attribute_not_exists(binding) AND #status = :received",
        ExpressionAttributeValues=to_dynamodb(
            {":binding": binding.to_item(), ":received": RECEIVED}
        ),
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    if written.written:
        return binding
    old = from_dynamodb(written.old)
    if old.get("binding"):
        return Binding.from_item(old["binding"])
    raise AlreadyDone(f"transaction {transaction_id} is no longer RECEIVED")


class CannotSettle(ValueError):
    """An operator's settle or handled request doesn't fit the transaction's state."""


def _stored(dynamodb: DynamoDBClient, table: str, transaction_id: int) -> dict[str, Any]:
    item = dynamodb.get_item(
        TableName=table, Key=transaction_key(transaction_id), ConsistentRead=True
    ).get("Item")
    if not item or from_dynamodb(item).get("kind") != "transaction":
        raise CannotSettle(f"transaction {transaction_id} is not in the ledger")
    return from_dynamodb(item)


def settle_onto(
    dynamodb: DynamoDBClient,
    table: str,
    transaction_id: int,
    order_code: str,
    *,
    now: datetime,
    by: str,
    note: str = "",
) -> int:
    """Bind a needs_review or unmatched transaction to the order a person chose and reopen it
    for the processor; returns the replay number its queue message must carry."""
    binding = Binding(ORDER, order_code, (), timestamp(now), f"ops:{by}", note)
    replays = reopen_bound(
        dynamodb,
        table,
        transaction_id,
        binding,
        now=now,
        was="settled_from",
        condition=(
            "outcome IN (:review, :unmatched) AND amount > :zero"
            " AND (attribute_not_exists(binding) OR binding.decision <> :order)"
        ),
        values={
            ":review": Outcome.NEEDS_REVIEW.value,
            ":unmatched": Outcome.UNMATCHED.value,
            ":zero": 0,
            ":order": ORDER,
        },
    )
    if replays is None:
        stored = _stored(dynamodb, table, transaction_id)
        bound = (stored.get("binding") or {}).get("order_code")
        raise CannotSettle(
            f"transaction {transaction_id} can't be settled: it is {stored.get('status')}"
            f" with outcome {stored.get('outcome')!r}"
            + (f", already bound to order {bound}" if bound else "")
            + f" (only {' or '.join(SETTLEABLE)} transactions of money in can be)"
        )
    return replays


def reopen_bound(
    dynamodb: DynamoDBClient,
    table: str,
    transaction_id: int,
    binding: Binding,
    *,
    now: datetime,
    was: str,
    condition: str,
    values: dict[str, Any],
) -> int | None:
    """A person's decision: bind a processed transaction to `binding` and reopen it for the
    processor, keeping its outcome in `was`; only if `condition` (on its outcome) holds.
    Returns the replay number its queue message must carry, or None when refused."""
    return reopen(
        dynamodb,
        table,
        transaction_id,
        now=now,
        sets=f"binding = :binding, {was} = outcome",
        condition=f"#status = :processed AND {condition}",
        values={":binding": binding.to_item(), ":processed": PROCESSED, **values},
    )


def close(
    dynamodb: DynamoDBClient,
    table: str,
    transaction_id: int,
    *,
    outcomes: tuple[str, ...],
    sets: str,
    values: dict[str, Any],
) -> dict[str, Any] | None:
    """A person's decision that closes a processed transaction whose outcome is one of
    `outcomes`: `sets` on it, `values` its placeholders. Returns the item after (plain
    values), or None when refused."""
    named = {f":was{i}": str(outcome) for i, outcome in enumerate(outcomes)}
    # IN wants a list; one outcome is the plainer equality.
    was = f"IN ({', '.join(named)})" if len(named) > 1 else "= :was0"
    written = update_transaction(
        dynamodb,
        table,
        transaction_id,
        UpdateExpression=f"SET {sets}",
        ConditionExpression=(f"kind = :transaction AND #status = :processed AND outcome {was}"),
        ExpressionAttributeValues=to_dynamodb(
            {":transaction": "transaction", ":processed": PROCESSED, **named, **values}
        ),
        ReturnValues="ALL_NEW",
    )
    return from_dynamodb(written.attributes) if written.written else None


def mark_handled(
    dynamodb: DynamoDBClient, table: str, transaction_id: int, *, now: datetime, by: str, note: str
) -> str:
    """Close a needs_review, unmatched or unconfirmed transaction without an order; returns
    the outcome it had (kept as `handled_from`)."""
    item = close(
        dynamodb,
        table,
        transaction_id,
        outcomes=HANDLEABLE,
        sets=(
            "handled_from = outcome, outcome = :handled, handled_at = :at, "
            "handled_by = :by, handled_note = :note"
        ),
        values={":handled": HANDLED, ":at": timestamp(now), ":by": f"ops:{by}", ":note": note},
    )
    if item is None:
        stored = _stored(dynamodb, table, transaction_id)
        raise CannotSettle(
            f"transaction {transaction_id} can't be marked handled: it is"
            f" {stored.get('status')} with outcome {stored.get('outcome')!r}"
            f" (only {', '.join(HANDLEABLE)} ones can be)"
        )
    return str(item["handled_from"])
