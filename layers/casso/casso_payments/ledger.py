"""The ledger: a DynamoDB table with one permanent item per Casso transaction id.

Item shapes (README, "The ledger"):

transaction  pk "TXN#<id>", kind "transaction", transaction_id, status RECEIVED|PROCESSED,
             pending (present only while RECEIVED: PendingIndex is sparse; STUCK once the
             reconciler's sweep has given up on it), sweeps (times re-queued), received_at,
             source webhook-v1|webhook-v2|reconcile, the Transaction's fields, and raw:
             the item exactly as Casso sent it (JSON text).
quarantine   pk "QUARANTINE#<sha256 of body>", kind "quarantine", status QUARANTINED,
             reason, generation, received_at, body: the whole delivery as received.
state        pk "STATE#<name>", kind "state": the reconciler's memory (the webhook it
             registered, the lease that lets one run work at a time), never a transaction.

Every write is conditional on the key being new, so the first writer wins and a replay,
a retry or a concurrent copy changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Final

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from casso_payments.payload import Transaction, parse_transaction

RECEIVED: Final = "RECEIVED"
PROCESSED: Final = "PROCESSED"
QUARANTINED: Final = "QUARANTINED"
PENDING_INDEX: Final = "PendingIndex"
STUCK: Final = "STUCK"  # `pending` of an entry the sweep re-queued MaxSweeps times

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def timestamp(moment: datetime) -> str:
    """UTC ISO 8601 with milliseconds: sorts as text, which PendingIndex relies on."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def transaction_key(transaction_id: int) -> dict[str, Any]:
    return {"pk": {"S": f"TXN#{transaction_id}"}}


def to_dynamodb(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in values.items()}


def from_dynamodb(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


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
    fields = {
        k: v for k, v in asdict(transaction).items() if k not in ("id", "raw") and v is not None
    }
    return {
        **transaction_key(transaction.id),
        **to_dynamodb(
            {
                "kind": "transaction",
                "transaction_id": transaction.id,
                "status": RECEIVED,
                "pending": RECEIVED,
                "received_at": received_at,
                "source": source,
                **fields,
                "raw": json.dumps(transaction.raw, ensure_ascii=False, sort_keys=True),
            }
        ),
    }


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
    dynamodb: Any, table: str, transaction: Transaction, *, source: str, now: datetime
) -> RecordResult:
    """Write the transaction if its id is new; otherwise return what is stored."""
    try:
        dynamodb.put_item(
            TableName=table,
            Item=transaction_item(transaction, source=source, received_at=timestamp(now)),
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        old = error.response.get("Item")
        return RecordResult(new=False, existing=entry_from_item(old) if old else None)
    return RecordResult(new=True)


def get_entry(dynamodb: Any, table: str, transaction_id: int) -> LedgerEntry | None:
    item = dynamodb.get_item(
        TableName=table, Key=transaction_key(transaction_id), ConsistentRead=True
    ).get("Item")
    return entry_from_item(item) if item else None


def quarantine_key(body: str) -> dict[str, Any]:
    return {"pk": {"S": f"QUARANTINE#{hashlib.sha256(body.encode()).hexdigest()}"}}


def quarantine_delivery(
    dynamodb: Any, table: str, *, body: str, reason: str, generation: str, now: datetime
) -> bool:
    """Keep a delivery we could not understand, whole. False if this exact body is already kept."""
    try:
        dynamodb.put_item(
            TableName=table,
            Item={
                **quarantine_key(body),
                **to_dynamodb(
                    {
                        "kind": "quarantine",
                        "status": QUARANTINED,
                        "reason": reason,
                        "generation": generation,
                        "received_at": timestamp(now),
                        "body": body,
                    }
                ),
            },
            ConditionExpression="attribute_not_exists(pk)",
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return False
    return True


def mark_processed(
    dynamodb: Any,
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
    try:
        dynamodb.update_item(
            TableName=table,
            Key=transaction_key(transaction_id),
            UpdateExpression=expression + " REMOVE pending",
            ConditionExpression="#status = :received",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=to_dynamodb(values),
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return False
    return True


BATCH_GET_LIMIT = 100


def pending_before(
    dynamodb: Any, table: str, cutoff: datetime, *, limit: int | None = None
) -> list[int]:
    """Ids still RECEIVED that were recorded before `cutoff`, oldest first, at most `limit`
    (the sparse PendingIndex)."""
    ids: list[int] = []
    for page in dynamodb.get_paginator("query").paginate(
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


def get_state(dynamodb: Any, table: str, name: str) -> dict[str, Any] | None:
    """A small named state item kept beside the transactions (e.g. the registered webhook)."""
    item = dynamodb.get_item(
        TableName=table, Key={"pk": {"S": STATE_PREFIX + name}}, ConsistentRead=True
    ).get("Item")
    if not item:
        return None
    values = from_dynamodb(item)
    return {k: v for k, v in values.items() if k not in ("pk", "kind")}


def put_state(dynamodb: Any, table: str, name: str, values: dict[str, Any]) -> None:
    item = {"pk": STATE_PREFIX + name, "kind": "state", **values}
    dynamodb.put_item(TableName=table, Item=to_dynamodb(item))


class NotInLedger(LookupError):
    pass


def reopen_for_replay(dynamodb: Any, table: str, transaction_id: int, *, now: datetime) -> int:
    """Put a transaction back to RECEIVED for an operator's replay; returns its replay number."""
    try:
        item = dynamodb.update_item(
            TableName=table,
            Key=transaction_key(transaction_id),
            UpdateExpression=(
                "SET #status = :received, pending = :received, replayed_at = :at ADD replays :one"
                " REMOVE sweeps"  # a replayed entry gets the sweep's full patience again
            ),
            ConditionExpression="kind = :transaction",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=to_dynamodb(
                {
                    ":received": RECEIVED,
                    ":at": timestamp(now),
                    ":one": 1,
                    ":transaction": "transaction",
                }
            ),
            ReturnValues="UPDATED_NEW",
        )["Attributes"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise NotInLedger(f"transaction {transaction_id} is not in the ledger") from None
        raise
    return int(from_dynamodb(item)["replays"])
