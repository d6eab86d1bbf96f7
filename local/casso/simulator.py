"""A small stateful Casso for tests, the local stack and developers.

It serves Casso's REST API v2 on loopback (the envelope, error codes, API-key check, paging
and date filters) and sends webhooks as Casso does: each new transaction is POSTed to every
registered webhook, v1 (Secure-Token header, `data` array) or V2 (X-Casso-Signature,
`data` object), with a 5 s timeout, strict-mode success check (HTTP 200 and `success` true
or 1), Casso's retry schedule (17 retries, Fibonacci minutes from 1) and its webhook
lifecycle (PAUSED after 24 h of failures, new events HOLDING until replayed, DISABLED after
7 days paused), time-scaled so tests run fast (local/casso/). A transaction can be added
with its delivery "lost", to exercise reconciliation; an API outage can be switched on.

    with CassoSimulator(api_key="k", minute=0.01) as casso:   # a Casso minute = 10 ms
        casso.add_transaction(150_000, "DH1234 thanh toan")
        client = CassoClient("k", base_url=casso.api_url)
"""

from __future__ import annotations

import bisect
import itertools
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from flask import Flask

from casso_payments.casso.delivery import (
    DISABLE_AFTER_MINUTES,
    PAUSE_AFTER_MINUTES,
    RETRY_DELAYS_MINUTES,
)
from local.casso.account_api import register_account_api, register_gate
from local.casso.api import register_controls, register_webhook_api
from local.casso.sender import DeliveryAttempt, WebhookSender
from local.casso.webhooks import Event, SimulatedWebhook
from local.casso.wire import v2_data, webhook_request
from local.stack.loopback import LoopbackServer, require_loopback

__all__ = ["CassoSimulator", "DeliveryAttempt", "SimulatedWebhook", "v2_data", "webhook_request"]

VIETNAM = timezone(timedelta(hours=7))
# The simulator's transaction ids start here, far above the sample events' (0 to a few
# hundred thousand), so a sample event sent to a running stack never takes the ledger entry
# of a simulated transaction, and the reconciler still backfills every simulated one.
FIRST_TRANSACTION_ID = 5_000_001


def fibonacci_minutes() -> list[int]:
    """Casso's wait before each retry, in minutes (casso_payments.casso.delivery)."""
    return list(RETRY_DELAYS_MINUTES)


class CassoSimulator:
    def __init__(
        self,
        api_key: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        minute: float = 0.01,
        accounts: tuple[str, ...] = ("88888888",),
        opening_balance: int = 25_000_000,
        pause_after_minutes: float = PAUSE_AFTER_MINUTES,
        disable_after_minutes: float = DISABLE_AFTER_MINUTES,
    ) -> None:
        require_loopback(host, "Casso simulator")
        self.api_key = api_key
        # OAuth2 access tokens accepted as `Bearer` (a test adds and revokes them).
        self.access_tokens: set[str] = set()
        self.minute = minute  # real seconds per Casso minute
        self.accounts = list(accounts)
        self._host, self._port = host, port
        self._lock = threading.RLock()
        self._ids = itertools.count(FIRST_TRANSACTION_ID)
        self._webhook_ids = itertools.count(101)
        self.transactions: dict[int, dict[str, Any]] = {}
        self.unlisted: set[int] = set()  # ids the transactions API doesn't list (yet)
        # (when, id) of every transaction, kept sorted as they are added: a page of
        # GET /v2/transactions is two bisections and a slice, whatever its number.
        self._by_when: list[tuple[str, int]] = []
        self.webhooks: dict[int, SimulatedWebhook] = {}
        self.deliveries: list[DeliveryAttempt] = []
        self.api_calls: list[tuple[str, str]] = []
        self.sync_requests: list[str] = []
        # Each account's running balance: every record carries it after the transaction.
        self.opening_balance = opening_balance
        self.balances = {account: opening_balance for account in self.accounts}
        self._outage: tuple[int, int | None] | None = None  # (status, remaining calls or None)
        self.sender = WebhookSender(
            lock=self._lock,
            webhooks=self.webhooks,
            deliveries=self.deliveries,
            minute=minute,
            pause_after_minutes=pause_after_minutes,
            disable_after_minutes=disable_after_minutes,
        )
        self._server: LoopbackServer | None = None
        self.app = self._make_app()

    # Lifecycle
    def start(self) -> CassoSimulator:
        self._server = LoopbackServer(
            self.app, host=self._host, port=self._port, what="Casso simulator"
        ).start()
        self.sender.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        self.sender.stop()

    def __enter__(self) -> CassoSimulator:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the Casso simulator is not started")
        return self._server.base_url

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the Casso simulator is not started")
        return self._server.port

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/v2"

    # State changes a test or a developer makes
    def add_transaction(
        self,
        amount: int,
        description: str,
        *,
        account: str | None = None,
        when: datetime | None = None,
        deliver: bool = True,
        generation: str | None = None,
        counter_name: str = "NGUYEN VAN A",
        counter_account: str = "0123456789",
        listed: bool = True,
        with_balance: bool = True,
    ) -> dict[str, Any]:
        """A new bank transaction; its webhooks go out now unless `deliver` is False (lost).
        With `generation` ("v1" or "v2"), only the webhooks of that generation get it.
        `listed` False: the transactions API lacks it too, until `list_transaction`.
        Every record carries its account's balance after it, unless `with_balance` is False
        (a bank whose records have none)."""
        moment = (when or datetime.now(UTC)).astimezone(VIETNAM)
        account = account or self.accounts[0]
        with self._lock:
            transaction_id = next(self._ids)
            balance = self.balances.get(account, self.opening_balance) + amount
            self.balances[account] = balance
            record = {
                "id": transaction_id,
                "tid": f"FT{moment:%y%j}{transaction_id:06d}",
                "description": description,
                "amount": amount,
                "cusum_balance": balance,
                "when": moment.strftime("%Y-%m-%d %H:%M:%S"),
                "bookingDate": moment.strftime("%Y-%m-%d"),
                "bankSubAccId": account,
                "virtualAccount": "",
                "virtualAccountName": "",
                "corresponsiveName": counter_name if amount > 0 else "",
                "corresponsiveAccount": counter_account if amount > 0 else "",
                "corresponsiveBankId": "970415" if amount > 0 else "",
                "corresponsiveBankName": "VietinBank" if amount > 0 else "",
            }
            if not with_balance:
                del record["cusum_balance"]
            self.transactions[transaction_id] = record
            if listed:
                bisect.insort(self._by_when, (record["when"], transaction_id))
            else:
                self.unlisted.add(transaction_id)
            if deliver:
                for webhook in self.webhooks.values():
                    if generation and webhook.generation != generation:
                        continue
                    if amount > 0 or not webhook.income_only:
                        self._new_event(webhook, record)
        return record

    def list_transaction(self, transaction_id: int) -> None:
        """The transactions API lists a transaction it lacked (`add_transaction(listed=False)`)."""
        with self._lock:
            if transaction_id in self.unlisted:
                self.unlisted.discard(transaction_id)
                key = (self.transactions[transaction_id]["when"], transaction_id)
                bisect.insort(self._by_when, key)

    def _new_event(self, webhook: SimulatedWebhook, record: dict[str, Any]) -> None:
        # Signed once, now: retries and replays resend these very bytes (local/casso/webhooks).
        headers, body = webhook_request(
            record,
            generation=webhook.generation,
            secure_token=webhook.secure_token,
            checksum_key=webhook.checksum_key,
            timestamp_ms=int(time.time() * 1000),
        )
        self.sender.submit(webhook, Event(webhook.id, record["id"], headers, body))

    def replay(self, webhook_id: int) -> int:
        """Casso UI's "Replay": resume a paused webhook and send the events it held."""
        with self._lock:
            webhook = self.webhooks.get(webhook_id)
            if webhook is None:
                raise KeyError(webhook_id)
            return self.sender.replay(webhook)

    def webhook_statuses(self) -> list[dict[str, Any]]:
        """Each webhook's status (ACTIVE, PAUSED, DISABLED) and the events it holds."""
        with self._lock:
            return self.sender.statuses()

    def add_webhook(
        self,
        url: str,
        *,
        secure_token: str = "",
        income_only: bool = True,
        generation: str = "v1",
        checksum_key: str = "",
    ) -> SimulatedWebhook:
        """A webhook as set up in Casso's UI (V2 webhooks, with their checksum key)."""
        with self._lock:
            webhook = SimulatedWebhook(
                next(self._webhook_ids), url, secure_token, income_only, generation, checksum_key
            )
            self.webhooks[webhook.id] = webhook
            return webhook

    def outage(self, status: int = 503, calls: int | None = None) -> None:
        """The API answers `status` to the next `calls` requests (None: until `recover()`)."""
        with self._lock:
            self._outage = (status, calls)

    def recover(self) -> None:
        with self._lock:
            self._outage = None

    def wait_for_deliveries(self, timeout: float = 10.0) -> bool:
        """Block until no delivery is due or in flight (retries included; held ones wait)."""
        return self.sender.wait_idle(timeout)

    # REST API
    def _make_app(self) -> Flask:
        app = Flask("casso-simulator")
        register_gate(app, self)
        register_webhook_api(app, self)
        register_account_api(app, self)
        register_controls(app, self)
        return app


if __name__ == "__main__":
    from local.casso.cli import main

    raise SystemExit(main())
