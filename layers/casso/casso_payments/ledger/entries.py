"""What the ledger table holds, as plain values: the item shapes and their conversions.
Every read and write of the table is `ledger.repository`'s; this module does no I/O.

Item kinds (docs/architecture.md#the-ledger-ledgertable):

transaction  pk "TXN#<id>", kind "transaction", transaction_id, status RECEIVED|PROCESSED,
             pending (present only while RECEIVED: PendingIndex is sparse; STUCK once the
             reconciler's sweep has given up on it), sweeps (times re-queued), received_at,
             source webhook-v1|webhook-v2|reconcile, the Transaction's fields, and raw:
             the item exactly as Casso sent it (JSON text). When the copied fields would
             push the item past DynamoDB's 400 KB, they are left out (`raw` has them all)
             and `fields_omitted` lists them. Once processed: outcome, processed_at,
             order_code, and `binding` (the order it was bound to, `Binding`).
quarantine   pk "QUARANTINE#<sha256 of body>": a delivery kept whole for a person
             (`QuarantinedDelivery`).
test_call    pk "TESTCALL#<received at>#<source>": Casso's Test Call (`casso.test_calls`).
version      pk "VERSION#<id>#<digest>": another version of a transaction, kept beside its
             entry (`ledger.versions`). A transaction item a stronger version replaced
             counts it in `revision`; the processor's claim before it changes an order is
             `applying` (both conditions of the replace: docs/architecture.md).
state        pk "STATE#<name>", kind "state": the reconciler's memory (the webhook it
             registered, the lease that lets one run work at a time), never a transaction.
"""

from __future__ import annotations

import json
from dataclasses import fields as dataclass_fields
from typing import Any, Final, NamedTuple

from casso_payments.aws.dynamo import to_dynamodb
from casso_payments.aws.item_size import ITEM_BUDGET_BYTES, ItemTooLarge, item_size
from casso_payments.casso.payload import Transaction, parse_transaction

RECEIVED: Final = "RECEIVED"
PROCESSED: Final = "PROCESSED"
QUARANTINED: Final = "QUARANTINED"
STUCK: Final = "STUCK"  # `pending` of an entry the sweep re-queued MaxSweeps times
# Where a transaction came from: its webhook delivery, or the reconciler's backfill.
WEBHOOK_V1: Final = "webhook-v1"
WEBHOOK_V2: Final = "webhook-v2"
RECONCILE: Final = "reconcile"
# A binding's decisions: the order it settles, or none (and why).
ORDER: Final = "order"
UNMATCHED: Final = "unmatched"
NEEDS_REVIEW: Final = "needs_review"


class NotInLedger(LookupError):
    pass


class AlreadyDone(RuntimeError):
    """The transaction was processed while we were deciding; nothing is left to do."""


class Superseded(AlreadyDone):
    """A stronger version replaced the transaction while we were working the old one; the
    replace queued the new version, so this attempt stops without changing anything."""


class Binding(NamedTuple):
    """Which order a transaction settles, decided once and kept on its ledger item (the
    processor decides at the first attempt; a person may decide instead, `ops settle`)."""

    decision: str  # ORDER | UNMATCHED | NEEDS_REVIEW
    order_code: str | None = None
    candidates: tuple[str, ...] = ()  # existing orders a description named
    bound_at: str = ""
    bound_by: str = "processor"  # or ops:<who>
    note: str = ""
    # A person accepted this transfer although its order had expired (`processor.settle`).
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


class LedgerEntry(NamedTuple):
    """A transaction item as stored."""

    transaction: Transaction
    status: str
    source: str
    received_at: str
    processed_at: str | None = None
    outcome: str | None = None
    # The decision bound at the first attempt, as stored; None before it.
    binding: dict[str, Any] | None = None
    # How many times a stronger version replaced its content (`ledger.versions`).
    revision: int = 0
    replays: int = 0  # operators' replays and replaces: a new processor idempotency key each
    claimed: bool = False  # the processor is changing (or changed) an order with it


class RecordResult(NamedTuple):
    """What recording a transaction did: `new`, or a duplicate of what is stored."""

    new: bool
    existing: LedgerEntry | None = None  # for a duplicate: its status tells if it is done


class QuarantinedDelivery(NamedTuple):
    key: str  # the sha256 of the body, hex: what an operator passes to release / discard
    received_at: str
    generation: str
    reason: str
    body_bytes: int
    body: str = ""  # empty in listings, which leave the bodies out


def transaction_item(
    key: dict[str, Any], transaction: Transaction, *, source: str, received_at: str
) -> dict[str, Any]:
    """The ledger item under `key`. Raises ItemTooLarge, or ValueError / RecursionError for a
    `raw` that can't be stored (text DynamoDB refuses; nested past the recursion limit)."""
    # Not asdict(): it would deep-copy `raw`, recursing as deep as the sender nested it.
    fields = {
        f.name: value
        for f in dataclass_fields(transaction)
        if f.name not in ("id", "raw") and (value := getattr(transaction, f.name)) is not None
    }
    base = {
        "kind": "transaction",
        "transaction_id": transaction.id,
        "status": RECEIVED,
        "pending": RECEIVED,
        "received_at": received_at,
        "source": source,
        "raw": json.dumps(transaction.raw, ensure_ascii=False, sort_keys=True),
    }
    item = {**key, **to_dynamodb({**base, **fields})}
    if item_size(item) <= ITEM_BUDGET_BYTES:
        return item
    # The copied fields repeat what `raw` holds (a 205 KB description would be kept twice):
    # keep `raw` and the small fields, leave out the large ones.
    omitted = sorted(k for k, v in fields.items() if isinstance(v, str) and len(v) > 256)
    kept = {k: v for k, v in fields.items() if k not in omitted}
    item = {**key, **to_dynamodb({**base, **kept, "fields_omitted": omitted})}
    size = item_size(item)
    if size > ITEM_BUDGET_BYTES:
        raise ItemTooLarge(
            f"transaction {transaction.id}: {size} bytes as a ledger item, "
            f"over the {ITEM_BUDGET_BYTES}-byte budget"
        )
    return item


def entry_from_values(values: dict[str, Any]) -> LedgerEntry:
    """A transaction item (plain values) as a LedgerEntry."""
    return LedgerEntry(
        transaction=parse_transaction(json.loads(values["raw"])),
        status=values["status"],
        source=values["source"],
        received_at=values["received_at"],
        processed_at=values.get("processed_at"),
        outcome=values.get("outcome"),
        binding=values.get("binding"),
        revision=int(values.get("revision", 0)),
        replays=int(values.get("replays", 0)),
        claimed="applying" in values,
    )


def test_call_values(transaction: Transaction, *, source: str, at: str) -> dict[str, Any]:
    """A Test Call's item (plain values, without its key)."""
    raw = json.dumps(transaction.raw, ensure_ascii=False, sort_keys=True)
    item: dict[str, Any] = {"kind": "test_call", "status": "TEST", "outcome": "test_call"}
    item |= {"source": source, "received_at": at, "amount": transaction.amount, "raw": raw}
    return item | {"description": transaction.description, "reference": transaction.reference}


def quarantined_from(
    values: dict[str, Any], prefix: str, *, with_body: bool
) -> QuarantinedDelivery:
    body = values.get("body", "")
    return QuarantinedDelivery(
        key=values["pk"].removeprefix(prefix),
        received_at=values["received_at"],
        generation=values["generation"],
        reason=values["reason"],
        body_bytes=len(body.encode()),
        body=body if with_body else "",
    )
