"""Casso's REST API v2: webhooks, transactions, userInfo, sync.

A `requests` session with `Authorization: Apikey <key>`, connect and read timeouts, and
retries with back-off (urllib3's Retry, honouring Retry-After) on connection errors, 429 and
5xx. Reads, PUT and DELETE are retried; POST is retried only when the request never reached
Casso (a retried POST /webhooks could create a second webhook).

Casso answers `{"error": <0 or code>, "message": ..., "data": ...}`; a non-zero `error`
becomes a typed exception: `CassoAuthError` (401, bad key), `WebhookNotFound` (12) or
`CassoApiError` with Casso's code and message.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

DEFAULT_BASE_URL: Final = "https://oauth.casso.vn/v2"
WEBHOOK_NOT_EXISTS: Final = 12
RETRY_STATUSES = (429, 500, 502, 503, 504)


class CassoError(RuntimeError):
    """Any failure talking to Casso."""


class CassoUnavailable(CassoError):
    """Casso could not be reached, or kept failing after the retries."""


class CassoApiError(CassoError):
    def __init__(self, code: int, message: str, status: int | None = None) -> None:
        super().__init__(f"Casso error {code}: {message}" + (f" (HTTP {status})" if status else ""))
        self.code = code
        self.message = message
        self.status = status


class CassoAuthError(CassoApiError):
    """The API key was refused."""


class WebhookNotFound(CassoApiError):
    """Casso error 12: "Webhook not exists"."""


@dataclass(frozen=True)
class Webhook:
    id: int
    url: str
    income_only: bool

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Webhook:
        return cls(int(data["id"]), str(data.get("param1", "")), bool(data.get("send_only_income")))


@dataclass(frozen=True)
class Page:
    page: int
    total_pages: int
    total_records: int
    records: list[dict[str, Any]]


def _session(retries: int, backoff: float) -> requests.Session:
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "PUT", "DELETE"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


# Seconds to connect to Casso's API and to wait for an answer.
TIMEOUTS = (3.05, 20.0)


class CassoClient:
    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        connect_timeout: float = TIMEOUTS[0],
        read_timeout: float = TIMEOUTS[1],
        retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        if not api_key:
            raise CassoAuthError(401, "no Casso API key configured")
        self.base_url = base_url.rstrip("/")
        self._timeout = (connect_timeout, read_timeout)
        self._session = _session(retries, backoff)
        self._session.headers.update(
            {"Authorization": f"Apikey {api_key}", "Accept": "application/json"}
        )
        self.calls = 0  # requests made (retries included by urllib3 are not counted)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        self.calls += 1
        try:
            response = self._session.request(
                method, f"{self.base_url}{path}", timeout=self._timeout, **kwargs
            )
        except requests.RequestException as error:
            raise CassoUnavailable(f"{method} {path}: {type(error).__name__}: {error}") from error
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "error" not in body:
            if response.status_code in RETRY_STATUSES:
                raise CassoUnavailable(f"{method} {path}: HTTP {response.status_code}")
            raise CassoApiError(-1, f"unexpected answer to {method} {path}", response.status_code)
        code = body.get("error")
        if code in (0, "0"):
            return body.get("data")
        message = str(body.get("message", ""))
        if code == 401 or response.status_code == 401:
            raise CassoAuthError(int(code), message or "Unauthorized", response.status_code)
        if code == WEBHOOK_NOT_EXISTS:
            raise WebhookNotFound(int(code), message, response.status_code)
        if response.status_code in RETRY_STATUSES:
            raise CassoUnavailable(f"{method} {path}: HTTP {response.status_code}: {message}")
        raise CassoApiError(
            int(code) if str(code).lstrip("-").isdigit() else -1, message, response.status_code
        )

    # Webhooks
    def create_webhook(self, url: str, secure_token: str, *, income_only: bool) -> Webhook:
        data = self._call(
            "POST",
            "/webhooks",
            json={"webhook": url, "secure_token": secure_token, "income_only": income_only},
        )
        return Webhook.from_api(data)

    def get_webhook(self, webhook_id: int) -> Webhook:
        return Webhook.from_api(self._call("GET", f"/webhooks/{webhook_id}"))

    def update_webhook(
        self, webhook_id: int, url: str, secure_token: str, *, income_only: bool
    ) -> Webhook:
        data = self._call(
            "PUT",
            f"/webhooks/{webhook_id}",
            json={"webhook": url, "secure_token": secure_token, "income_only": income_only},
        )
        return Webhook.from_api(data)

    def delete_webhook(self, webhook_id: int) -> None:
        self._call("DELETE", f"/webhooks/{webhook_id}")

    def delete_webhooks_by_url(self, url: str) -> list[Webhook]:
        """Delete every webhook with this URL; [] when there was none."""
        try:
            data = self._call("DELETE", "/webhooks", params={"webhook": url})
        except WebhookNotFound:
            return []
        return [Webhook.from_api(item) for item in data or []]

    # Transactions
    def transactions_page(
        self,
        *,
        from_date: date,
        to_date: date | None = None,
        page: int = 1,
        page_size: int = 100,
        newest_first: bool = True,
    ) -> Page:
        params = {
            "fromDate": from_date.isoformat(),
            "page": page,
            "pageSize": page_size,
            "sort": "DESC" if newest_first else "ASC",
        }
        if to_date is not None:
            params["toDate"] = to_date.isoformat()
        data = self._call("GET", "/transactions", params=params) or {}
        return Page(
            page=int(data.get("page", page)),
            total_pages=int(data.get("totalPages", 0)),
            total_records=int(data.get("totalRecords", 0)),
            records=list(data.get("records") or []),
        )

    def transactions(
        self,
        *,
        from_date: date,
        to_date: date | None = None,
        page_size: int = 100,
        newest_first: bool = True,
    ) -> Iterator[Page]:
        """Every page from `from_date` (inclusive), newest first by default; one page held
        at a time."""
        page = 1
        while True:
            current = self.transactions_page(
                from_date=from_date,
                to_date=to_date,
                page=page,
                page_size=page_size,
                newest_first=newest_first,
            )
            yield current
            if not current.records or page >= current.total_pages:
                return
            page += 1

    def transaction(self, transaction_id: int) -> dict[str, Any]:
        return self._call("GET", f"/transactions/{transaction_id}")

    # Account
    def user_info(self) -> dict[str, Any]:
        return self._call("GET", "/userInfo")

    def sync(self, bank_account: str) -> Any:
        return self._call("POST", "/sync", json={"bank_acc_id": bank_account})
