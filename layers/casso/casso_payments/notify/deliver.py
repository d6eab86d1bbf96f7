"""One queue message worked: an order event turned into its notifications (the shop's
webhook, the staff's line), or a notification whose next attempt is due; each attempted,
logged, and then delivered, scheduled again, or dead-lettered.

An attempt is one POST. A 2xx within the timeout delivers; a 410 stops; a URL the SSRF guard
refuses is never called and is dead-lettered; anything else (no answer, a redirect, 4xx,
5xx, a failed DNS lookup) is retried on the schedule, then dead-lettered. The message of a
retry carries its attempt number and the exact body, so every attempt and every replay sends
the same bytes under the same webhook id.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from casso_payments.aws.dynamo import parse_timestamp, timestamp
from casso_payments.notify.kinds import STAFF_TYPES, WEBHOOK_TYPES
from casso_payments.notify.log import (
    DELIVERED,
    FAILED,
    REFUSED,
    RETRYING,
    STOPPED,
    Attempt,
    NotificationLog,
)
from casso_payments.notify.message import (
    TELEGRAM,
    WEBHOOK,
    Notification,
    NotificationQueue,
    parse_queue_message,
    webhook_body,
    webhook_id,
)
from casso_payments.notify.schedule import next_due, wait_seconds
from casso_payments.notify.send import GONE, Answer, post
from casso_payments.notify.signing import SigningKeys
from casso_payments.notify.telegram import send_message_body, send_message_url, staff_line
from casso_payments.notify.url_guard import Resolver, UnsafeUrl, check_notify_url
from casso_payments.settings.notifier import NotifierSettings

WAITING = "waiting"  # received before its attempt was due: sent back to wait


@dataclass(frozen=True)
class NotifierDeps:
    settings: NotifierSettings
    log: NotificationLog
    queue: NotificationQueue
    signing_keys: Callable[[], SigningKeys]
    telegram_token: Callable[[], str]  # "" when none is set
    order_url: Callable[[str], str | None]  # the order's own notify_url (one read)
    resolve: Resolver = socket.getaddrinfo
    clock: Callable[[], datetime] | None = None  # when an answer came; None: now, in UTC


def notifications_of(
    event: dict[str, Any], deps: NotifierDeps, now: datetime
) -> list[Notification]:
    """What one order event becomes: a webhook when there is a URL for its order, a staff
    line when Telegram is on and the event is one the staff hear about."""
    detail_type, detail = str(event["detail-type"]), dict(event["detail"])
    kind = WEBHOOK_TYPES.get(detail_type)
    if kind is None:
        return []
    message_id = webhook_id(detail_type, detail, str(event.get("id", "")))
    order = detail.get("order_code") or None
    first_at = timestamp(now)
    found = []
    url = (deps.order_url(order) if order else None) or deps.settings.notify_url
    if url:
        body = webhook_body(kind, str(event.get("time") or first_at), detail)
        found.append(Notification(WEBHOOK, message_id, kind, body, url, order, first_at))
    chat = deps.settings.telegram_chat_id
    line = staff_line(detail_type, detail) if detail_type in STAFF_TYPES else None
    if chat and line and deps.telegram_token():
        found.append(Notification(TELEGRAM, message_id, kind, line, chat, order, first_at))
    return found


def handle(body: str, deps: NotifierDeps, now: datetime) -> list[str]:
    """Work one queue message; the outcome of each of its notifications."""
    parsed = parse_queue_message(body)
    if isinstance(parsed, Notification):
        return [step(parsed, deps, now)]
    return [step(n, deps, now) for n in notifications_of(parsed, deps, now)]


def step(notification: Notification, deps: NotifierDeps, now: datetime) -> str:
    """Attempt `notification` if due, log it, and schedule what comes next."""
    if notification.due_at and (wait := wait_seconds(parse_timestamp(notification.due_at), now)):
        deps.queue.send(notification, wait)
        return WAITING
    answer, refused = attempt(notification, deps, now)
    done_at = deps.clock() if deps.clock else now
    due: datetime | None = None
    if answer.ok(deps.settings.timeout_seconds):
        outcome = DELIVERED
    elif refused:
        outcome = REFUSED
    elif answer.status == GONE:
        outcome = STOPPED
    else:
        due = next_due(notification.attempt, deps.settings.retry_delays, done_at)
        outcome = RETRYING if due else FAILED
    deps.log.record(
        Attempt(
            webhook_id=notification.webhook_id,
            channel=notification.channel,
            type=notification.type,
            order_code=notification.order_code,
            target=notification.target,
            attempt=notification.attempt,
            replay=notification.replay,
            at=now,
            status=answer.status,
            latency_ms=answer.latency_ms,
            outcome=outcome,
            body=notification.body,
            first_at=notification.first_at,
            error=answer.error,
        )
    )
    if due is not None:
        deps.queue.send(notification.next(timestamp(due)), wait_seconds(due, done_at))
    elif outcome in (FAILED, REFUSED):
        deps.queue.dead_letter(notification)
    return outcome


def attempt(notification: Notification, deps: NotifierDeps, now: datetime) -> tuple[Answer, bool]:
    """One POST; (its answer, whether the SSRF guard refused the URL)."""
    settings = deps.settings
    if notification.channel == WEBHOOK:
        url = notification.target
        headers = deps.signing_keys().sign(notification.webhook_id, now, notification.body)
        body = notification.body.encode()
    else:
        token = deps.telegram_token()
        url = send_message_url(settings.telegram_api_base_url, token)
        headers = {"content-type": "application/json"}
        body = send_message_body(notification.target, notification.body)
    try:
        checked = check_notify_url(
            url, allow_loopback=settings.allow_loopback, resolve=deps.resolve
        )
    except UnsafeUrl as error:
        return Answer(0, 0, _safe(str(error), deps)), True
    except OSError as error:  # DNS failed: a later attempt may resolve
        return Answer(0, 0, _safe(f"resolving the host: {error}", deps)), False
    answer = post(checked, body, headers, settings.timeout_seconds)
    return Answer(answer.status, answer.latency_ms, _safe(answer.error, deps)), False


def _safe(text: str, deps: NotifierDeps) -> str:
    """`text` without the bot token (it is part of the Bot API's URL)."""
    if not text or not deps.settings.telegram_chat_id:
        return text
    token = deps.telegram_token()
    return text.replace(token, "<bot token>") if token else text
