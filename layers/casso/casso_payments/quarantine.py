"""Quarantined deliveries: authenticated bodies the code could not understand, kept whole in
the ledger for a person, who lists them, releases one (replays it through the intake once
the code understands it) or discards one (`python -m ops quarantine ...`).

Item: pk "QUARANTINE#<sha256 of body>", kind "quarantine", status QUARANTINED, reason (the
first MAX_PROBLEMS_SHOWN problems and a count of the rest), generation, received_at, body
(the whole delivery as received). The body is at most MaxBodyBytes (350,000 at most) and
the reason is bounded, so the item always fits DynamoDB's 400 KB.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from casso_payments.dynamo import delete_if, from_dynamodb, put_if, timestamp, to_dynamodb
from casso_payments.payload import Problem

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

QUARANTINED: Final = "QUARANTINED"
PREFIX: Final = "QUARANTINE#"
MAX_PROBLEMS_SHOWN: Final = 20
MAX_PROBLEM_CHARS: Final = 300


class NotQuarantined(LookupError):
    """No quarantined delivery has this key."""


@dataclass(frozen=True)
class QuarantinedDelivery:
    key: str  # the sha256 of the body, hex: what an operator passes to release / discard
    received_at: str
    generation: str
    reason: str
    body_bytes: int
    body: str = ""  # empty in listings, which leave the bodies out


def reason(problems: Sequence[Problem], *, safe: bool = False) -> str:
    """The problems as one bounded line: a delivery with 130,000 bad items must still fit an
    item (and a log line). `safe`: as logs show them, without the values (`Problem.safe`)."""
    lines = (p.safe if safe else str(p) for p in problems[:MAX_PROBLEMS_SHOWN])
    shown = [p if len(p) <= MAX_PROBLEM_CHARS else p[:MAX_PROBLEM_CHARS] + "..." for p in lines]
    rest = len(problems) - len(shown)
    if rest:
        shown.append(f"and {rest} more problem{'s' if rest > 1 else ''}")
    return "; ".join(shown)


def body_digest(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


def quarantine_key(body: str) -> dict[str, Any]:
    return _key(body_digest(body))


def _key(digest: str) -> dict[str, Any]:
    return {"pk": {"S": PREFIX + digest.removeprefix(PREFIX)}}


def quarantine_delivery(
    dynamodb: DynamoDBClient, table: str, *, body: str, reason: str, generation: str, now: datetime
) -> bool:
    """Keep a delivery we could not understand, whole. False if this exact body is already kept."""
    return put_if(
        dynamodb,
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
    ).written


def _delivery(values: dict[str, Any], *, with_body: bool) -> QuarantinedDelivery:
    body = values.get("body", "")
    return QuarantinedDelivery(
        key=values["pk"].removeprefix(PREFIX),
        received_at=values["received_at"],
        generation=values["generation"],
        reason=values["reason"],
        body_bytes=len(body.encode()),
        body=body if with_body else "",
    )


def list_quarantined(dynamodb: DynamoDBClient, table: str) -> list[QuarantinedDelivery]:
    """Every quarantined delivery, oldest first. A scan of the ledger (there is no index on
    kind): fine for an operator now and then, not for a hot path."""
    found: list[QuarantinedDelivery] = []
    for page in dynamodb.get_paginator("scan").paginate(
        TableName=table,
        FilterExpression="#kind = :quarantine",
        # A scan reads (and pays for) whole items anyway; the bodies are measured, not kept.
        ProjectionExpression="pk, received_at, generation, reason, body",
        ExpressionAttributeNames={"#kind": "kind"},
        ExpressionAttributeValues={":quarantine": {"S": "quarantine"}},
        ConsistentRead=True,
    ):
        found.extend(_delivery(from_dynamodb(item), with_body=False) for item in page["Items"])
    return sorted(found, key=lambda d: (d.received_at, d.key))


def get_quarantined(dynamodb: DynamoDBClient, table: str, key: str) -> QuarantinedDelivery:
    item = dynamodb.get_item(TableName=table, Key=_key(key), ConsistentRead=True).get("Item")
    if not item or item.get("kind", {}).get("S") != "quarantine":
        raise NotQuarantined(f"no quarantined delivery {key}")
    return _delivery(from_dynamodb(item), with_body=True)


def discard(dynamodb: DynamoDBClient, table: str, key: str) -> None:
    """Delete one quarantined delivery (and nothing else: the condition checks its kind)."""
    deleted = delete_if(
        dynamodb,
        TableName=table,
        Key=_key(key),
        ConditionExpression="#kind = :quarantine",
        ExpressionAttributeNames={"#kind": "kind"},
        ExpressionAttributeValues={":quarantine": {"S": "quarantine"}},
    )
    if not deleted.written:
        raise NotQuarantined(f"no quarantined delivery {key}")
