"""A small stateful Casso for tests, the local stack and developers.

It serves Casso's REST API v2 on loopback (the envelope, error codes, API-key check, paging
and date filters) and sends webhooks as Casso does: each new transaction is POSTed to every
registered webhook, v1 (Secure-Token header, `data` array) or V2 (X-Casso-Signature,
`data` object), with a 5 s timeout, strict-mode success check (HTTP 200 and `success` true
or 1) and Casso's retry schedule (Fibonacci minutes from 1, at most 17 retries), time-scaled
so tests run fast. A transaction can be added with its delivery "lost", to exercise
reconciliation; an API outage can be switched on.

    with CassoSimulator(api_key="k", minute=0.01) as casso:   # a Casso minute = 10 ms
        casso.add_transaction(150_000, "DH1234 thanh toan")
        client = CassoClient("k", base_url=casso.api_url)
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import requests
from flask import Flask, Response, request

from casso_payments.webhook_auth import SIGNATURE_HEADER, TOKEN_HEADER, signature_header
from local.loopback import LoopbackServer, require_loopback

VIETNAM = timezone(timedelta(hours=7))
MAX_RETRIES = 17
RETRY_WINDOW_MINUTES = 12 * 60
DELIVERY_TIMEOUT = 5.0


def fibonacci_minutes(count: int = MAX_RETRIES) -> list[int]:
    """Casso's back-off before each retry: 1, 1, 2, 3, 5, ... minutes (cut at 12 hours)."""
    delays, a, b, total = [], 1, 1, 0
    for _ in range(count):
        if total + a > RETRY_WINDOW_MINUTES:
            break
        delays.append(a)
        total += a
        a, b = b, a + b
    return delays


@dataclass
class SimulatedWebhook:
    id: int
    url: str
    secure_token: str = ""
    income_only: bool = True
    generation: str = "v1"  # webhooks made through the API are v1; V2 is set up in Casso's UI
    checksum_key: str = ""

    def api_view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "channel": "webhook",
            "param1": self.url,
            "param2": "",
            "send_only_income": 1 if self.income_only else 0,
        }


@dataclass
class Delivery:
    webhook_id: int
    transaction_id: int
    attempt: int  # 0 = first try, then retries
    status: int | None
    ok: bool
    at: float
    error: str = ""


@dataclass(order=True)
class _Due:
    at: float
    seq: int
    webhook_id: int = field(compare=False)
    transaction_id: int = field(compare=False)
    attempt: int = field(compare=False)


def v2_data(
    record: dict[str, Any], bank: str = "VPBank", bank_short: str = "VPB"
) -> dict[str, Any]:
    """A transaction as a V2 webhook carries it."""
    return {
        "id": record["id"],
        "reference": record["tid"],
        "description": record["description"],
        "amount": record["amount"],
        "runningBalance": record["cusum_balance"],
        "transactionDateTime": record["when"],
        "accountNumber": record["bankSubAccId"],
        "bankName": bank,
        "bankAbbreviation": bank_short,
        "virtualAccountNumber": record.get("virtualAccount", ""),
        "virtualAccountName": record.get("virtualAccountName", ""),
        "counterAccountName": record.get("corresponsiveName", ""),
        "counterAccountNumber": record.get("corresponsiveAccount", ""),
        "counterAccountBankId": record.get("corresponsiveBankId", ""),
        "counterAccountBankName": record.get("corresponsiveBankName", ""),
    }


def webhook_request(
    record: dict[str, Any],
    *,
    generation: str,
    secure_token: str = "",
    checksum_key: str = "",
    timestamp_ms: int,
) -> tuple[dict[str, str], str]:
    """The headers and body Casso sends for one transaction (an API-format record)."""
    headers = {"Content-Type": "application/json", "User-Agent": "Casso-Simulator"}
    if generation == "v2":
        body: dict[str, Any] = {"error": 0, "data": v2_data(record)}
        # Casso's JavaScript signs the text as sent: non-ASCII unescaped.
        headers[SIGNATURE_HEADER] = signature_header(
            body, checksum_key, timestamp_ms, ensure_ascii=False
        )
    else:
        body = {"error": 0, "data": [record]}
        headers[TOKEN_HEADER.lower()] = secure_token
    return headers, json.dumps(body, ensure_ascii=False)


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
    ) -> None:
        require_loopback(host, "Casso simulator")
        self.api_key = api_key
        self.minute = minute  # real seconds per Casso minute
        self.accounts = list(accounts)
        self._host, self._port = host, port
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._webhook_ids = itertools.count(101)
        self._seq = itertools.count()
        self.transactions: dict[int, dict[str, Any]] = {}
        # (when, id) of every transaction, kept sorted as they are added: a page of
        # GET /v2/transactions is two bisections and a slice, whatever its number.
        self._by_when: list[tuple[str, int]] = []
        self.webhooks: dict[int, SimulatedWebhook] = {}
        self.deliveries: list[Delivery] = []
        self.api_calls: list[tuple[str, str]] = []
        self.sync_requests: list[str] = []
        self._balance = opening_balance
        self._outage: tuple[int, int | None] | None = None  # (status, remaining calls or None)
        self._due: list[_Due] = []
        self._in_flight = 0
        self._wake = threading.Condition(self._lock)
        self._stopping = False
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="casso-webhook")
        self._http = requests.Session()
        self._server: LoopbackServer | None = None
        self._sender: threading.Thread | None = None
        self.app = self._make_app()

    # Lifecycle
    def start(self) -> CassoSimulator:
        self._server = LoopbackServer(
            self.app, host=self._host, port=self._port, what="Casso simulator"
        ).start()
        self._sender = threading.Thread(target=self._send_loop, daemon=True, name="casso-sender")
        self._sender.start()
        return self

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._wake.notify_all()
        if self._server is not None:
            self._server.stop()
        if self._sender is not None:
            self._sender.join(5)
        self._pool.shutdown(wait=True, cancel_futures=True)

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
    ) -> dict[str, Any]:
        """A new bank transaction; its webhooks go out now unless `deliver` is False (lost).
        With `generation` ("v1" or "v2"), only the webhooks of that generation get it."""
        moment = (when or datetime.now(UTC)).astimezone(VIETNAM)
        with self._lock:
            transaction_id = next(self._ids)
            self._balance += amount
            record = {
                "id": transaction_id,
                "tid": f"FT{moment:%y%j}{transaction_id:06d}",
                "description": description,
                "amount": amount,
                "cusum_balance": self._balance,
                "when": moment.strftime("%Y-%m-%d %H:%M:%S"),
                "bookingDate": moment.strftime("%Y-%m-%d"),
                "bankSubAccId": account or self.accounts[0],
                "virtualAccount": "",
                "virtualAccountName": "",
                "corresponsiveName": counter_name if amount > 0 else "",
                "corresponsiveAccount": counter_account if amount > 0 else "",
                "corresponsiveBankId": "970415" if amount > 0 else "",
                "corresponsiveBankName": "VietinBank" if amount > 0 else "",
            }
            self.transactions[transaction_id] = record
            bisect.insort(self._by_when, (record["when"], transaction_id))
            if deliver:
                for webhook in self.webhooks.values():
                    if generation and webhook.generation != generation:
                        continue
                    if amount > 0 or not webhook.income_only:
                        self._schedule(webhook.id, transaction_id, 0, time.monotonic())
        return record

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
        """Block until no delivery is due or in flight (retries included)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._due or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._wake.wait(min(remaining, 0.05))
        return True

    # Webhook sender
    def _schedule(self, webhook_id: int, transaction_id: int, attempt: int, at: float) -> None:
        heapq.heappush(self._due, _Due(at, next(self._seq), webhook_id, transaction_id, attempt))
        self._wake.notify_all()

    def _send_loop(self) -> None:
        with self._lock:
            while not self._stopping:
                now = time.monotonic()
                if self._due and self._due[0].at <= now:
                    due = heapq.heappop(self._due)
                    self._in_flight += 1
                    self._pool.submit(self._deliver, due)
                    continue
                wait = (self._due[0].at - now) if self._due else 0.5
                self._wake.wait(max(0.001, min(wait, 0.5)))

    def _deliver(self, due: _Due) -> None:
        try:
            with self._lock:
                webhook = self.webhooks.get(due.webhook_id)
                record = dict(self.transactions[due.transaction_id])
            if webhook is None:
                return  # deleted meanwhile: Casso drops it
            headers, body = webhook_request(
                record,
                generation=webhook.generation,
                secure_token=webhook.secure_token,
                checksum_key=webhook.checksum_key,
                timestamp_ms=int(time.time() * 1000),
            )
            status, ok, error = None, False, ""
            try:
                response = self._http.post(
                    webhook.url, data=body.encode(), headers=headers, timeout=DELIVERY_TIMEOUT
                )
                status = response.status_code
                try:
                    answer = response.json()
                except ValueError:
                    answer = None
                ok = (
                    status == 200
                    and isinstance(answer, dict)
                    and answer.get("success") in (True, 1)
                )
            except requests.RequestException as exc:
                error = type(exc).__name__
            with self._lock:
                self.deliveries.append(
                    Delivery(
                        due.webhook_id,
                        due.transaction_id,
                        due.attempt,
                        status,
                        ok,
                        time.time(),
                        error,
                    )
                )
                delays = fibonacci_minutes()
                if not ok and due.attempt < len(delays) and not self._stopping:
                    later = time.monotonic() + delays[due.attempt] * self.minute
                    self._schedule(due.webhook_id, due.transaction_id, due.attempt + 1, later)
        finally:
            with self._lock:
                self._in_flight -= 1
                self._wake.notify_all()

    # REST API
    def _make_app(self) -> Flask:
        app = Flask("casso-simulator")

        def envelope(
            data: Any, error: int = 0, message: str = "success", status: int = 200
        ) -> Response:
            body = json.dumps(
                {"error": error, "message": message, "data": data}, ensure_ascii=False
            )
            return Response(body, status=status, mimetype="application/json")

        def not_exists() -> Response:
            return envelope(None, 12, "Webhook not exists", 404)

        @app.before_request
        def check() -> Response | None:
            with self._lock:
                self.api_calls.append((request.method, request.path))
                if self._outage is not None:
                    status, remaining = self._outage
                    if remaining is not None:
                        self._outage = (status, remaining - 1) if remaining > 1 else None
                    return Response("upstream unavailable", status=status, mimetype="text/plain")
            scheme, _, key = request.headers.get("Authorization", "").partition(" ")
            if scheme not in ("Apikey", "Bearer") or key != self.api_key:
                return envelope(None, 401, "Unauthorized Access", 401)
            return None

        def webhook_body() -> tuple[dict[str, Any], Response | None]:
            body = request.get_json(silent=True)
            if (
                not isinstance(body, dict)
                or not isinstance(body.get("webhook"), str)
                or not body["webhook"]
            ):
                return {}, envelope(None, 400, "webhook is required", 400)
            return body, None

        @app.post("/v2/webhooks")
        def create_webhook() -> Response:
            body, problem = webhook_body()
            if problem:
                return problem
            webhook = self.add_webhook(
                body["webhook"],
                secure_token=str(body.get("secure_token", "")),
                income_only=bool(body.get("income_only", True)),
            )
            return envelope(webhook.api_view())

        @app.get("/v2/webhooks/<int:webhook_id>")
        def get_webhook(webhook_id: int) -> Response:
            webhook = self.webhooks.get(webhook_id)
            return envelope(webhook.api_view()) if webhook else not_exists()

        @app.put("/v2/webhooks/<int:webhook_id>")
        def update_webhook(webhook_id: int) -> Response:
            body = request.get_json(silent=True) or {}
            with self._lock:
                webhook = self.webhooks.get(webhook_id)
                if webhook is None:
                    return not_exists()
                if "webhook" in body:
                    webhook.url = str(body["webhook"])
                if "secure_token" in body:
                    webhook.secure_token = str(body["secure_token"])
                if "income_only" in body:
                    value = body["income_only"]
                    webhook.income_only = value if isinstance(value, bool) else str(value) == "true"
                return envelope(webhook.api_view())

        @app.delete("/v2/webhooks/<int:webhook_id>")
        def delete_webhook(webhook_id: int) -> Response:
            with self._lock:
                webhook = self.webhooks.pop(webhook_id, None)
            return envelope(webhook.api_view()) if webhook else not_exists()

        @app.delete("/v2/webhooks")
        def delete_by_url() -> Response:
            url = request.args.get("webhook", "")
            with self._lock:
                gone = [w for w in self.webhooks.values() if w.url == url]
                for webhook in gone:
                    del self.webhooks[webhook.id]
            return envelope([w.api_view() for w in gone]) if gone else not_exists()

        @app.get("/v2/transactions")
        def transactions() -> Response:
            try:
                start = date.fromisoformat(request.args.get("fromDate", "2000-01-01"))
                end = date.fromisoformat(request.args.get("toDate", "9999-12-31"))
                page = max(1, int(request.args.get("page", 1)))
                size = min(max(1, int(request.args.get("pageSize", 20))), 1000)
            except ValueError as error:
                return envelope(None, 400, f"bad parameter: {error}", 400)
            descending = request.args.get("sort", "ASC").upper() == "DESC"
            with self._lock:
                # "when" is "YYYY-MM-DD HH:MM:SS": the dates bound it as strings ("\x7f" sorts
                # after any time of the end date).
                first = bisect.bisect_left(self._by_when, (start.isoformat(),))
                last = bisect.bisect_left(self._by_when, (f"{end.isoformat()}\x7f",))
                total = max(0, last - first)
                skip, take = (page - 1) * size, min(size, max(0, total - (page - 1) * size))
                if descending:
                    keys = self._by_when[last - skip - take : last - skip][::-1]
                else:
                    keys = self._by_when[first + skip : first + skip + take]
                records = [self.transactions[transaction_id] for _, transaction_id in keys]
            total_pages = max(1, -(-total // size))
            return envelope(
                {
                    "page": page,
                    "pageSize": size,
                    "nextPage": page + 1 if page < total_pages else None,
                    "prevPage": page - 1 if page > 1 else None,
                    "totalPages": total_pages,
                    "totalRecords": total,
                    "records": records,
                }
            )

        @app.get("/v2/transactions/<int:transaction_id>")
        def transaction(transaction_id: int) -> Response:
            record = self.transactions.get(transaction_id)
            return envelope(record) if record else envelope(None, 404, "Transaction not found", 404)

        @app.get("/v2/userInfo")
        def user_info() -> Response:
            return envelope(
                {
                    "user": {"id": 1, "email": "owner@example.vn"},
                    "business": {"id": 1, "name": "CONG TY TNHH DEMO"},
                    "bankAccs": [
                        {
                            "id": n + 1,
                            "bank": {"bin": "970432", "codeName": "vpbank"},
                            "bankAccountName": "CONG TY TNHH DEMO",
                            "bankSubAccId": account,
                        }
                        for n, account in enumerate(self.accounts)
                    ],
                }
            )

        @app.post("/v2/sync")
        def sync() -> Response:
            body = request.get_json(silent=True) or {}
            account = str(body.get("bank_acc_id", ""))
            if account not in self.accounts:
                return envelope(None, 400, f"bank account {account!r} is not linked", 400)
            with self._lock:
                self.sync_requests.append(account)
            return envelope(None)

        # The simulator's own controls (not Casso's API), for developers and the local tools.
        @app.post("/_simulator/transactions")
        def simulate_transaction() -> Response:
            body = request.get_json(silent=True) or {}
            amount, description = body.get("amount"), body.get("description", "")
            if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
                return envelope(
                    None, 400, "amount: a non-zero whole number of VND is required", 400
                )
            if not isinstance(description, str):
                return envelope(None, 400, "description: text is required", 400)
            generation = body.get("generation")
            if generation not in (None, "v1", "v2"):
                return envelope(None, 400, "generation: v1, v2, or absent for every webhook", 400)
            record = self.add_transaction(
                amount,
                description,
                account=body.get("account"),
                deliver=bool(body.get("deliver", True)),
                generation=generation,
            )
            return envelope(record)

        @app.post("/_simulator/webhooks")
        def simulate_webhook() -> Response:
            body, problem = webhook_body()
            if problem:
                return problem
            generation = body.get("generation", "v1")
            if generation not in ("v1", "v2"):
                return envelope(None, 400, "generation: v1 or v2", 400)
            webhook = self.add_webhook(
                body["webhook"],
                secure_token=str(body.get("secure_token", "")),
                income_only=bool(body.get("income_only", True)),
                generation=generation,
                checksum_key=str(body.get("checksum_key", "")),
            )
            return envelope({**webhook.api_view(), "generation": webhook.generation})

        @app.get("/_simulator/deliveries")
        def simulated_deliveries() -> Response:
            with self._lock:
                return envelope([vars(d) for d in self.deliveries])

        return app


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="local.casso_simulator", description="A local Casso: REST API v2 and webhook sender."
    )
    parser.add_argument("--port", type=int, default=4000, help="port on 127.0.0.1 (default 4000)")
    parser.add_argument("--api-key", default="local-casso-api-key-not-a-secret")
    parser.add_argument(
        "--minute",
        type=float,
        default=1.0,
        help="real seconds per Casso minute in retries (default 1)",
    )
    args = parser.parse_args(argv)
    simulator = CassoSimulator(api_key=args.api_key, port=args.port, minute=args.minute)
    try:
        simulator.start()
    except OSError as error:
        print(f"cannot listen on 127.0.0.1:{args.port}: {error.strerror} (choose --port)")
        return 1
    print(f"Casso simulator: API {simulator.api_url} (Authorization: Apikey {args.api_key})")
    print(f"  add a transaction: POST {simulator.base_url}/_simulator/transactions")
    print('    {"amount": 150000, "description": "DH1234", "deliver": true}')
    print("Ctrl-C stops it.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
