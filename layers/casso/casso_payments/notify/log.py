"""The notifications table's owner (`NotificationLog`): every attempt to notify, one item
each, expiring by TTL. Every key and expression of NotificationsTable is here.

Item: pk = the webhook id (msg_...), sk = "<channel>#<at>#<attempt>"; channel, type,
order_code, target (the URL, or the Telegram chat id: never the bot token), attempt,
replay, at (UTC ISO), status (HTTP; 0 = no answer), latency_ms, outcome, error, body (what
was sent, so it can be replayed), first_at, expires_at (epoch seconds, the TTL).
OrderIndex (order_code, at) lists an order's notifications.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from casso_payments.aws.dynamo import Table, from_dynamodb, placeholders, query_pages, timestamp

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# What an attempt came to.
DELIVERED: Final = "delivered"
RETRYING: Final = "retrying"  # failed; another attempt is scheduled
FAILED: Final = "failed"  # failed, and the schedule ran out: dead-lettered
STOPPED: Final = "stopped"  # the receiver answered 410 Gone: no more attempts
REFUSED: Final = "refused"  # the URL failed the SSRF guard: never called
OUTCOMES: Final = (DELIVERED, RETRYING, FAILED, STOPPED, REFUSED)
GAVE_UP: Final = (FAILED, STOPPED, REFUSED)
ORDER_INDEX: Final = "OrderIndex"


@dataclass(frozen=True)
class Attempt:
    webhook_id: str
    channel: str
    type: str
    order_code: str | None
    target: str
    attempt: int
    replay: int
    at: datetime
    status: int
    latency_ms: int
    outcome: str
    body: str
    first_at: str
    error: str = ""


def attempt_item(attempt: Attempt, keep_days: int) -> dict[str, Any]:
    """The item an attempt is logged as (plain values)."""
    at = timestamp(attempt.at)
    item: dict[str, Any] = {
        "pk": attempt.webhook_id,
        "sk": f"{attempt.channel}#{at}#{attempt.attempt}",
        "channel": attempt.channel,
        "type": attempt.type,
        "target": attempt.target,
        "attempt": attempt.attempt,
        "replay": attempt.replay,
        "at": at,
        "status": attempt.status,
        "latency_ms": attempt.latency_ms,
        "outcome": attempt.outcome,
        "body": attempt.body,
        "first_at": attempt.first_at,
        "expires_at": int((attempt.at + timedelta(days=keep_days)).timestamp()),
    }
    if attempt.order_code:  # OrderIndex is sparse: an event with no order isn't in it
        item["order_code"] = attempt.order_code
    if attempt.error:
        item["error"] = attempt.error
    return item


class NotificationLog:
    """NotificationsTable, through one DynamoDB client."""

    def __init__(self, dynamodb: DynamoDBClient, table: str, *, keep_days: int = 30) -> None:
        self.table = Table(dynamodb, table)
        self.keep_days = keep_days

    def record(self, attempt: Attempt) -> None:
        self.table.put(attempt_item(attempt, self.keep_days))

    def of(self, webhook_id: str) -> list[dict[str, Any]]:
        """Every attempt of one notification (both channels), oldest first per channel."""
        pages = query_pages(
            self.table.dynamodb,
            TableName=self.table.name,
            KeyConditionExpression="pk = :id",
            ExpressionAttributeValues=placeholders(id=webhook_id),
            ConsistentRead=True,
        )
        return [from_dynamodb(item) for page in pages for item in page["Items"]]

    def of_order(self, order_code: str) -> list[dict[str, Any]]:
        """Every attempt for one order (canonical code), oldest first."""
        pages = self.table.query(ORDER_INDEX, "order_code = :code", code=order_code)
        return [from_dynamodb(item) for page in pages for item in page["Items"]]

    def since(self, moment: datetime) -> list[dict[str, Any]]:
        """Every attempt at or after `moment`, oldest first, without its TTL (a scan: an
        operator's)."""
        names = {f"#{n}": n for n in _SHOWN}  # every name a placeholder: some are reserved
        projection = ", ".join(names)
        found = self.table.scan("#at >= :since", projection, names, since=timestamp(moment))
        return sorted(found, key=lambda item: str(item["at"]))


# What `since` reads of each attempt: all of it but the TTL.
_SHOWN = (
    *("pk", "sk", "channel", "type", "order_code", "target", "attempt", "replay", "at"),
    *("status", "latency_ms", "outcome", "body", "first_at", "error"),
)
