"""The ledger queries and updates only the reconciler makes (shapes: ledger.py's docstring)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from casso_payments.dynamo import from_dynamodb, query_pages, timestamp, to_dynamodb
from casso_payments.ledger import (
    BATCH_GET_LIMIT,
    PENDING_INDEX,
    RECEIVED,
    STUCK,
    transaction_key,
    update_transaction,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def count_sweep(
    dynamodb: DynamoDBClient,
    table: str,
    transaction_id: int,
    *,
    max_sweeps: int,
    now: datetime,
    not_since: datetime,
) -> bool | None:
    """Count one more re-queue of a RECEIVED entry. True: counted, re-queue it; False: it was
    re-queued `max_sweeps` times already (park it); None: leave it (processed meanwhile, or
    re-queued after `not_since` and still within its grace period)."""
    written = update_transaction(
        dynamodb,
        table,
        transaction_id,
        UpdateExpression="SET swept_at = :now ADD sweeps :one",
        ConditionExpression=(
            "#status = :received AND (attribute_not_exists(sweeps) OR sweeps < :max)"
            " AND (attribute_not_exists(swept_at) OR swept_at < :since)"
        ),
        ExpressionAttributeValues=to_dynamodb(
            {
                ":one": 1,
                ":received": RECEIVED,
                ":max": max_sweeps,
                ":now": timestamp(now),
                ":since": timestamp(not_since),
            }
        ),
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    if written.written:
        return True
    old = from_dynamodb(written.old)
    if old.get("status") == RECEIVED and int(old.get("sweeps", 0)) >= max_sweeps:
        return False
    return None


def park_stuck(dynamodb: DynamoDBClient, table: str, transaction_id: int) -> bool:
    """Move a RECEIVED entry out of the sweep's reach (pending STUCK) for a person to look at;
    `ops replay` (reopen_for_replay) puts it back. False if it was processed meanwhile."""
    return update_transaction(
        dynamodb,
        table,
        transaction_id,
        UpdateExpression="SET pending = :stuck",
        ConditionExpression="#status = :received",
        ExpressionAttributeValues=to_dynamodb({":stuck": STUCK, ":received": RECEIVED}),
    ).written


def count_stuck(dynamodb: DynamoDBClient, table: str) -> int:
    """How many entries the sweep has given up on and wait for a person."""
    total = 0
    for page in query_pages(
        dynamodb,
        TableName=table,
        IndexName=PENDING_INDEX,
        KeyConditionExpression="pending = :stuck",
        ExpressionAttributeValues=to_dynamodb({":stuck": STUCK}),
        Select="COUNT",
    ):
        total += int(page["Count"])
    return total


def delivery_facts(
    dynamodb: DynamoDBClient, table: str, transaction_ids: list[int], *, attempts: int = 5
) -> dict[int, dict[str, Any]]:
    """`source` and `received_at` of those of these ids the ledger holds (absent: missing);
    BatchGetItem, 100 keys a call."""
    found: dict[int, dict[str, Any]] = {}
    unique = list(dict.fromkeys(transaction_ids))
    for start in range(0, len(unique), BATCH_GET_LIMIT):
        request: Mapping[str, Any] = {
            table: {
                "Keys": [transaction_key(t) for t in unique[start : start + BATCH_GET_LIMIT]],
                "ProjectionExpression": "pk, #source, received_at",
                "ExpressionAttributeNames": {"#source": "source"},
                "ConsistentRead": True,
            }
        }
        for _ in range(attempts):
            response = dynamodb.batch_get_item(RequestItems=request)
            for item in response["Responses"][table]:
                values = from_dynamodb(item)
                found[int(values.pop("pk").removeprefix("TXN#"))] = values
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
        else:
            raise RuntimeError(f"DynamoDB left keys unprocessed after {attempts} attempts")
    return found
