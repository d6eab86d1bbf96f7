"""A notification as a value: one order event bound for one channel (the shop's webhook or
the staff's Telegram chat), with its stable webhook id and the exact body every attempt and
replay sends; and `NotificationQueue`, the queue it rides in between attempts.

The webhook id is derived from what the event is about (detail-type, order, transaction),
so one event has one id across every retry and `ops notifications replay`, and even the rare
second copy of an event (a crash between publish and commit) carries the same id.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

WEBHOOK: Final = "webhook"
TELEGRAM: Final = "telegram"
CHANNELS: Final = (WEBHOOK, TELEGRAM)


@dataclass(frozen=True)
class Notification:
    channel: str  # WEBHOOK or TELEGRAM
    webhook_id: str  # msg_...: the same for one event on every attempt and replay
    type: str  # the webhook type (`kinds.WEBHOOK_TYPES`): order.paid, ...
    body: str  # what is sent: the webhook's JSON body, or the staff's line
    target: str  # the shop's URL, or the Telegram chat id
    order_code: str | None
    first_at: str  # when the event was first attempted (UTC ISO): the schedule counts from it
    attempt: int = 1  # the attempt this message is for
    due_at: str | None = None  # not before (a wait longer than SQS's longest delay)
    replay: int = 0  # 0, or the operator's replay's number

    def to_json(self) -> str:
        return json.dumps({"notification": asdict(self)}, ensure_ascii=False)

    def next(self, due_at: str | None) -> Notification:
        return replace(self, attempt=self.attempt + 1, due_at=due_at)


def replays(attempts: list[dict[str, Any]], first_at: str) -> list[Notification]:
    """The notifications these logged attempts belong to (each once, per channel), to be
    sent again from their first attempt: the same webhook id and the same body, under the
    next replay number."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for item in sorted(attempts, key=lambda a: (str(a["at"]), int(a["attempt"]))):
        latest[(str(item["pk"]), str(item["channel"]))] = item
    return [
        Notification(
            channel=str(item["channel"]),
            webhook_id=str(item["pk"]),
            type=str(item["type"]),
            body=str(item["body"]),
            target=str(item["target"]),
            order_code=item.get("order_code"),
            first_at=first_at,
            replay=int(item.get("replay", 0)) + 1,
        )
        for item in latest.values()
    ]


def webhook_id(detail_type: str, detail: dict[str, Any], event_id: str) -> str:
    """msg_ and 32 hex digits of what the event is about; the event's own id only when it
    names neither an order nor a transaction."""
    order, transaction = detail.get("order_code"), detail.get("transaction_id")
    about = (
        f"{detail_type}|{order or ''}|{transaction or ''}"
        if order or transaction
        else f"event|{event_id}"
    )
    return "msg_" + hashlib.sha256(about.encode()).hexdigest()[:32]


def webhook_body(webhook_type: str, timestamp: str, detail: dict[str, Any]) -> str:
    """Standard Webhooks' body: {"type", "timestamp", "data"}; the bytes signed and sent."""
    body = {"type": webhook_type, "timestamp": timestamp, "data": detail}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def parse_queue_message(body: str) -> dict[str, Any] | Notification:
    """A notification's queue message (a retry, a replay), or the EventBridge event the
    notification rule delivered (a dict with `detail-type` and `detail`)."""
    value = json.loads(body)
    if not isinstance(value, dict):
        raise ValueError("a notification message must be a JSON object")
    if "notification" in value:
        return Notification(**value["notification"])
    if "detail-type" not in value or not isinstance(value.get("detail"), dict):
        raise ValueError("neither a notification nor an EventBridge event")
    return value


class NotificationQueue:
    """NotificationQueue (a retry waits here, DelaySeconds at most SQS's 900) and its
    dead-letter queue (a notification whose schedule ran out)."""

    MAX_DELAY: Final = 900

    def __init__(self, sqs: Callable[[], SQSClient], queue_url: str, dead_letter_url: str) -> None:
        # The client is made on first use: an event delivered at once never needs it.
        self.sqs, self.queue_url, self.dead_letter_url = sqs, queue_url, dead_letter_url

    def send(self, notification: Notification, delay: int = 0) -> None:
        self.sqs().send_message(
            QueueUrl=self.queue_url,
            MessageBody=notification.to_json(),
            DelaySeconds=max(0, min(self.MAX_DELAY, delay)),
        )

    def dead_letter(self, notification: Notification) -> None:
        self.sqs().send_message(QueueUrl=self.dead_letter_url, MessageBody=notification.to_json())
