"""One reconciler run at a time: a lease item beside the ledger's transactions.

A run takes the lease with a conditional write that succeeds only when nobody holds it or
the holder's lease has expired; it gives it back at the end. The expiry is the holder's own
deadline, so a run that died (timeout, crash) never blocks the next one for longer than it
could have run. Two runs started together: one writes first, the other sees the lease and
does nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from casso_payments.dynamo import delete_if, from_dynamodb, put_if, timestamp, to_dynamodb
from casso_payments.ledger import STATE_PREFIX

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

LEASE: Final = "reconcile-lease"
_KEY: Final = {"pk": {"S": STATE_PREFIX + LEASE}}


def acquire(
    dynamodb: DynamoDBClient, table: str, *, owner: str, now: datetime, seconds: float
) -> dict[str, Any] | None:
    """Take the lease for `seconds`. None when taken; else who holds it and until when."""
    written = put_if(
        dynamodb,
        TableName=table,
        Item={
            **_KEY,
            **to_dynamodb(
                {
                    "kind": "state",
                    "owner": owner,
                    "acquired_at": timestamp(now),
                    "expires_at": timestamp(now + timedelta(seconds=seconds)),
                }
            ),
        },
        ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
        ExpressionAttributeValues=to_dynamodb({":now": timestamp(now)}),
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    if written.written:
        return None
    held = from_dynamodb(written.old)
    return {k: held.get(k) for k in ("owner", "acquired_at", "expires_at")}


def release(dynamodb: DynamoDBClient, table: str, *, owner: str) -> None:
    """Give the lease back, if it is still ours (an expired one may have been taken over)."""
    delete_if(
        dynamodb,
        TableName=table,
        Key=_KEY,
        ConditionExpression="#owner = :owner",
        ExpressionAttributeNames={"#owner": "owner"},
        ExpressionAttributeValues=to_dynamodb({":owner": owner}),
    )
