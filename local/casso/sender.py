"""Casso's webhook sender: each event POSTed with a 5 s timeout, strict-mode success check
(HTTP 200 and `success` true or 1), retries on RETRY_DELAYS_MINUTES, and the lifecycle of
local/casso/webhooks.py (pause, hold, replay, disable), all on the scaled clock."""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests

from casso_payments.casso.delivery import (
    DELIVERY_TIMEOUT_SECONDS,
    DISABLE_AFTER_MINUTES,
    PAUSE_AFTER_MINUTES,
    RETRY_DELAYS_MINUTES,
)
from local.casso.webhooks import (
    ACTIVE,
    DELIVERED,
    DISABLED,
    DROPPED,
    FAILED,
    PAUSED,
    Event,
    SimulatedWebhook,
)


@dataclass
class DeliveryAttempt:
    """One attempt, as Casso's delivery history shows it."""

    webhook_id: int
    transaction_id: int
    attempt: int  # 0 = first try (or a replay's first try), then retries
    status: int | None
    ok: bool
    at: float
    error: str = ""
    replay: int = 0  # which replay sent it (0: the original delivery)


@dataclass(order=True)
class _Due:
    at: float
    seq: int
    event: Event = field(compare=False)


class WebhookSender:
    def __init__(
        self,
        *,
        lock: threading.RLock,
        webhooks: dict[int, SimulatedWebhook],
        deliveries: list[DeliveryAttempt],
        minute: float,
        pause_after_minutes: float = PAUSE_AFTER_MINUTES,
        disable_after_minutes: float = DISABLE_AFTER_MINUTES,
        workers: int = 4,
    ) -> None:
        self.minute = minute  # real seconds per Casso minute
        # Casso's rules by default; a test may stretch one to watch another (math.inf: never).
        self.pause_after = pause_after_minutes
        self.disable_after = disable_after_minutes
        self._lock = lock
        self._webhooks = webhooks
        self._deliveries = deliveries
        self._seq = itertools.count()
        self._due: list[_Due] = []
        self._in_flight = 0
        self._wake = threading.Condition(lock)
        self._stopping = False
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="casso-webhook")
        self._http = requests.Session()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, daemon=True, name="casso-sender")
        self._thread.start()

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(5)
        self._pool.shutdown(wait=True, cancel_futures=True)

    # Called with the lock held
    def submit(self, webhook: SimulatedWebhook, event: Event) -> None:
        """A new event: sent now, held (PAUSED) or dropped (DISABLED)."""
        self._refresh(webhook)
        if webhook.status == PAUSED:
            webhook.hold(event)
        elif webhook.status == DISABLED:
            event.state = DROPPED
        else:
            self._schedule(event, time.monotonic())

    def replay(self, webhook: SimulatedWebhook) -> int:
        self._refresh(webhook)
        events = webhook.take_held_for_replay()
        for event in events:
            self._schedule(event, time.monotonic())
        return len(events)

    def _refresh(self, webhook: SimulatedWebhook) -> None:
        webhook.refresh(time.monotonic(), self.minute, self.disable_after)

    def statuses(self) -> list[dict[str, Any]]:
        for webhook in self._webhooks.values():
            self._refresh(webhook)
        return [w.status_view() for w in self._webhooks.values()]

    def _schedule(self, event: Event, at: float) -> None:
        heapq.heappush(self._due, _Due(at, next(self._seq), event))
        self._wake.notify_all()

    def _hold_waiting(self, webhook: SimulatedWebhook) -> None:
        """The webhook just paused: what waits for a retry is held, not sent later."""
        keep = []
        for due in self._due:
            if due.event.webhook_id == webhook.id:
                webhook.hold(due.event)
            else:
                keep.append(due)
        self._due = keep
        heapq.heapify(self._due)

    def wait_idle(self, timeout: float) -> bool:
        """Block until no event is due or in flight (retries included; held ones wait)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._due or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._wake.wait(min(remaining, 0.05))
        return True

    def _loop(self) -> None:
        with self._lock:
            while not self._stopping:
                now = time.monotonic()
                if self._due and self._due[0].at <= now:
                    due = heapq.heappop(self._due)
                    self._in_flight += 1
                    self._pool.submit(self._attempt, due.event)
                    continue
                wait = (self._due[0].at - now) if self._due else 0.5
                self._wake.wait(max(0.001, min(wait, 0.5)))

    def _attempt(self, event: Event) -> None:
        try:
            with self._lock:
                webhook = self._webhooks.get(event.webhook_id)
                if webhook is None:
                    event.state = DROPPED  # deleted meanwhile: Casso drops it
                    return
                self._refresh(webhook)
                if webhook.status != ACTIVE:
                    self.submit(webhook, event)  # held, or dropped
                    return
                url = webhook.url
            status, ok, error = None, False, ""
            try:
                response = self._http.post(
                    url,
                    data=event.body.encode(),
                    headers=event.headers,
                    timeout=DELIVERY_TIMEOUT_SECONDS,
                )
                status = response.status_code
                try:
                    answer = response.json()
                except ValueError:
                    answer = None
                strict = isinstance(answer, dict) and answer.get("success") in (True, 1)
                ok = status == 200 and strict
            except requests.RequestException as exc:
                error = type(exc).__name__
            with self._lock:
                now = time.monotonic()
                self._deliveries.append(
                    DeliveryAttempt(
                        event.webhook_id,
                        event.transaction_id,
                        event.attempts,
                        status,
                        ok,
                        time.time(),
                        error,
                        event.replays,
                    )
                )
                event.attempts += 1
                self._settle(webhook, event, ok, now)
        finally:
            with self._lock:
                self._in_flight -= 1
                self._wake.notify_all()

    def _settle(self, webhook: SimulatedWebhook, event: Event, ok: bool, now: float) -> None:
        if ok:
            event.state = DELIVERED
            webhook.succeeded()
            return
        if webhook.failed(now, self.minute, self.pause_after):
            webhook.hold(event)
            self._hold_waiting(webhook)
            return
        retry = event.attempts - 1  # the retry this would be, from 0
        if retry < len(RETRY_DELAYS_MINUTES) and not self._stopping:
            self._schedule(event, now + RETRY_DELAYS_MINUTES[retry] * self.minute)
        else:
            event.state = FAILED
