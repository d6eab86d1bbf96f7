"""The ledger: a DynamoDB table with one permanent item per Casso transaction id.

Item shapes (docs/architecture.md#the-ledger-ledgertable):

transaction  pk "TXN#<id>", kind "transaction", transaction_id, status RECEIVED|PROCESSED,
             pending (present only while RECEIVED: PendingIndex is sparse; STUCK once the
             reconciler's sweep has given up on it), sweeps (times re-queued), received_at,
             source webhook-v1|webhook-v2|reconcile, the Transaction's fields, and raw:
             the item exactly as Casso sent it (JSON text). When the copied fields would
             push the item past DynamoDB's 400 KB, they are left out (`raw` has them all)
             and `fields_omitted` lists them.
quarantine   pk "QUARANTINE#<sha256 of body>": see `quarantine`.
state        pk "STATE#<name>", kind "state": the reconciler's memory (the webhook it
             registered, the lease that lets one run work at a time), never a transaction.

Every write is conditional on the key being new, so the first writer wins and a replay,
a retry or a concurrent copy changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

# from_dynamodb, timestamp and to_dynamodb are also what the ledger's readers (ops, local,
# bench, tests) take from here.
from casso_payments.dynamo import (
    Written,
    from_dynamodb,
    put_if,
    query_pages,
    timestamp,
    to_dynamodb,
    update_if,
)
from casso_payments.item_size import ITEM_BUDGET_BYTES, ItemTooLarge, item_size
from casso_payments.payload import Transaction, parse_transaction

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

RECEIVED: Final = "RECEIVED"
PROCESSED: Final = "PROCESSED"
QUARANTINED: Final = "QUARANTINED"
PENDING_INDEX: Final = "PendingIndex"
STUCK: Final = "STUCK"  # `pending` of an entry the sweep re-queued MaxSweeps times


def transaction_key(transaction_id: int) -> dict[str, Any]:
    return {"pk": {"S": f"TXN#{transaction_id}"}}


@dataclass(frozen=True)
class LedgerEntry:
    """A transaction item as stored."""

    transaction: Transaction
    status: str
    source: str
    received_at: str
    processed_at: str | None = None
    outcome: str | None = None
    # The decision bound at the first attempt (`bindings`), as stored; None before it.
    binding: dict[str, Any] | None = None


@dataclass(frozen=True)
class RecordResult:
    new: bool
    # For a duplicate: the item already stored (its status tells whether it is done).
    existing: LedgerEntry | None = None


def transaction_item(transaction: Transaction, *, source: str, received_at: str) -> dict[str, Any]:
    """The ledger item. Raises ItemTooLarge, or ValueError / RecursionError for a `raw` that
    can't be stored (text DynamoDB refuses; nested past the recursion limit)."""
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
    item = {**transaction_key(transaction.id), **to_dynamodb({**base, **fields})}
    if item_size(item) <= ITEM_BUDGET_BYTES:
        return item
    # The copied fields repeat what `raw` holds (a 205 KB description would be kept twice):
    # keep `raw` and the small fields, leave out the large ones.
    omitted = sorted(k for k, v in fields.items() if isinstance(v, str) and len(v) > 256)
    kept = {k: v for k, v in fields.items() if k not in omitted}
    item = {
        **transaction_key(transaction.id),
        **to_dynamodb({**base, **kept, "fields_omitted": omitted}),
    }
    size = item_size(item)
    if size > ITEM_BUDGET_BYTES:
        raise ItemTooLarge(
            f"transaction {transaction.id}: {size} bytes as a ledger item, "
            f"over the {ITEM_BUDGET_BYTES}-byte budget"
        )
    return item


def entry_from_item(item: dict[str, Any]) -> LedgerEntry:
    values = from_dynamodb(item)
    return LedgerEntry(
        transaction=parse_transaction(json.loads(values["raw"])),
        status=values["status"],
        source=values["source"],
        received_at=values["received_at"],
        processed_at=values.get("processed_at"),
        outcome=values.get("outcome"),
        binding=values.get("binding"),
    )


def record_transaction(
    dynamodb: DynamoDBClient, table: str, transaction: Transaction, *, source: str, now: datetime
) -> RecordResult:
    """Write the transaction if its id is new; otherwise return what is stored."""
    item = transaction_item(transaction, source=source, received_at=timestamp(now))
    return record_item(dynamodb, table, item)


def record_item(dynamodb: DynamoDBClient, table: str, item: dict[str, Any]) -> RecordResult:
    """Put a built transaction item if its key is new; otherwise return what is stored."""
    written = put_if(
        dynamodb,
        TableName=table,
        Item=item,
        ConditionExpression="attribute_not_exists(pk)",
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    if written.written:
        return RecordResult(new=True)
    old = written.old
    return RecordResult(new=False, existing=entry_from_item(old) if old else None)


def update_transaction(
    dynamodb: DynamoDBClient, table: str, transaction_id: int, **request: Any
) -> Written:
    """`update_if` on one transaction item, with `#status` naming its status."""
    return update_if(
        dynamodb,
        TableName=table,
        Key=transaction_key(transaction_id),
        ExpressionAttributeNames={"#status": "status"},
        **request,
    )


def get_entry(dynamodb: DynamoDBClient, table: str, transaction_id: int) -> LedgerEntry | None:
    item = dynamodb.get_item(
        TableName=table, Key=transaction_key(transaction_id), ConsistentRead=True
    ).get("Item")
    return entry_from_item(item) if item else None


def mark_processed(
    dynamodb: DynamoDBClient,
    table: str,
    transaction_id: int,
    *,
    outcome: str,
    order_code: str | None,
    now: datetime,
) -> bool:
    """RECEIVED -> PROCESSED with its outcome; leaves PendingIndex. False if already done."""
    values: dict[str, Any] = {
        ":processed": PROCESSED,
        ":received": RECEIVED,
        ":outcome": outcome,
        ":at": timestamp(now),
    }
    expression = "SET #status = :processed, outcome = :outcome, processed_at = :at"
    if order_code is not None:
        expression += ", order_code = :code"
        values[":code"] = order_code
    return update_transaction(
        dynamodb,
        table,
        transaction_id,
        UpdateExpression=expression + " REMOVE pending",
        ConditionExpression="#status = :received",
        ExpressionAttributeValues=to_dynamodb(values),
    ).written


BATCH_GET_LIMIT = 100


def pending_before(
    dynamodb: DynamoDBClient, table: str, cutoff: datetime, *, limit: int | None = None
) -> list[int]:
    """Ids still RECEIVED that were recorded before `cutoff`, oldest first, at most `limit`
    (the sparse PendingIndex)."""
    ids: list[int] = []
    for page in query_pages(
        dynamodb,
        TableName=table,
        IndexName=PENDING_INDEX,
        KeyConditionExpression="pending = :received AND received_at < :cutoff",
        ExpressionAttributeValues=to_dynamodb(
            {":received": RECEIVED, ":cutoff": timestamp(cutoff)}
        ),
    ):
        ids.extend(int(i["pk"]["S"].removeprefix("TXN#")) for i in page["Items"])
        if limit is not None and len(ids) >= limit:
            return ids[:limit]
    return ids


STATE_PREFIX: Final = "STATE#"


def get_state(dynamodb: DynamoDBClient, table: str, name: str) -> dict[str, Any] | None:
    """A small named state item kept beside the transactions (e.g. the registered webhook)."""
    item = dynamodb.get_item(
        TableName=table, Key={"pk": {"S": STATE_PREFIX + name}}, ConsistentRead=True
    ).get("Item")
    if not item:
        return None
    values = from_dynamodb(item)
    return {k: v for k, v in values.items() if k not in ("pk", "kind")}


def put_state(dynamodb: DynamoDBClient, table: str, name: str, values: dict[str, Any]) -> None:
    item = {"pk": STATE_PREFIX + name, "kind": "state", **values}
    dynamodb.put_item(TableName=table, Item=to_dynamodb(item))


class NotInLedger(LookupError):
    pass


def reopen(
    dynamodb: DynamoDBClient,
    table: str,
    transaction_id: int,
    *,
    now: datetime,
    condition: str = "",
    sets: str = "",
    remove: str = "",
    values: dict[str, Any] | None = None,
) -> int | None:
    """Put a transaction back to RECEIVED (pending again) and count one more replay, if it is
    a transaction and `condition` holds; `sets` and `remove` add to the update, `values` to
    its placeholders. Returns the replay number its queue message must carry, or None when
    refused."""
    written = update_transaction(
        dynamodb,
        table,
        transaction_id,
        UpdateExpression=(
            "SET #status = :received, pending = :received, replayed_at = :at"
            + (f", {sets}" if sets else "")
            + " ADD replays :one"
            + (f" REMOVE {remove}" if remove else "")
        ),
        ConditionExpression="kind = :transaction" + (f" AND {condition}" if condition else ""),
        ExpressionAttributeValues=to_dynamodb(
            {
                ":received": RECEIVED,
                ":at": timestamp(now),
                ":one": 1,
                ":transaction": "transaction",
                **(values or {}),
            }
        ),
        ReturnValues="UPDATED_NEW",
    )
    return int(from_dynamodb(written.attributes)["replays"]) if written.written else None


def reopen_for_replay(
    dynamodb: DynamoDBClient, table: str, transaction_id: int, *, now: datetime
) -> int:
    """Put a transaction back to RECEIVED for an operator's replay; returns its replay number."""
    # A replayed entry gets the sweep's full patience again.
    replays = reopen(dynamodb, table, transaction_id, now=now, remove="sweeps")
    if replays is None:
        raise NotInLedger(f"transaction {transaction_id} is not in the ledger")
    return replays
