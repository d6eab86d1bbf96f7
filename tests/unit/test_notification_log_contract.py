"""`FakeNotificationLog` answers as `NotificationLog` over moto does: the same methods and
signatures, and the same attempts back from each read after the same writes."""

from __future__ import annotations

import inspect
from datetime import timedelta
from typing import Any

from casso_payments.notify.log import Attempt, NotificationLog
from tests.fakes import FakeNotificationLog
from tests.helpers import NOW


def attempt(webhook_id: str, n: int, *, order: str | None, seconds: int, **more: Any) -> Attempt:
    values: dict[str, Any] = {
        "webhook_id": webhook_id,
        "channel": "webhook",
        "type": "order.paid",
        "order_code": order,
        "target": "https://shop.example/hooks",
        "attempt": n,
        "replay": 0,
        "at": NOW + timedelta(seconds=seconds),
        "status": 500,
        "latency_ms": 12,
        "outcome": "retrying",
        "body": '{"type":"order.paid"}',
        "first_at": "2026-11-21T12:00:00.000Z",
    }
    return Attempt(**{**values, **more})


def scenario(log: Any) -> list[Any]:
    log.record(attempt("msg_a", 1, order="DH35", seconds=0, error="HTTPException: boom"))
    log.record(attempt("msg_a", 2, order="DH35", seconds=5, status=200, outcome="delivered"))
    log.record(attempt("msg_b", 1, order=None, seconds=7, status=410, outcome="stopped"))
    log.record(attempt("msg_a", 1, order="DH35", seconds=9, channel="telegram", target="-1"))
    return [
        log.of("msg_a"),
        log.of("msg_b"),
        log.of("msg_none"),
        log.of_order("DH35"),
        log.of_order("DH36"),
        log.since(NOW + timedelta(seconds=5)),
    ]


def test_the_fake_log_answers_as_the_real_one(stack: Any) -> None:
    real = NotificationLog(stack.dynamodb, stack.local.ref("NotificationsTable"))
    assert scenario(FakeNotificationLog()) == scenario(real)


def test_the_fake_log_has_the_real_ones_methods_and_signatures() -> None:
    def methods(owner: type) -> dict[str, inspect.Signature]:
        return {
            name: inspect.signature(value)
            for name, value in vars(owner).items()
            if inspect.isfunction(value) and not name.startswith("_")
        }

    assert methods(FakeNotificationLog) == methods(NotificationLog)
