"""Casso's REST API v2: webhooks, transactions, userInfo, sync.

A `requests` session with `Authorization: Apikey <key>` or `Bearer <OAuth2 access token>`,
connect and read timeouts, and retries with back-off (urllib3's Retry, honouring Retry-After
up to RETRY_AFTER_MAX seconds) on connection errors, 429 and 5xx. Reads, PUT and DELETE are
retried; POST is retried only when the request never reached Casso (a retried POST /webhooks
could create a second webhook). With a `Deadline`, no request or retry starts that could not
finish before it: `DeadlineReached` instead.

Casso answers `{"error": <0 or code>, "message": ..., "data": ...}`; a non-zero `error`
becomes a typed exception: `CassoAuthError` (401, bad key or token), `WebhookNotFound` (12)
or `CassoApiError` with Casso's code and message. Paging that never ends (more pages than
`max_pages`, or the same page twice) or can't be followed (a page without an integer
`totalPages` or a `records` array) is a `PagingError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

import requests
from requests.adapters import HTTPAdapter
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from casso_payments.aws.deadline import Deadline, DeadlineReached
from casso_payments.casso.api_auth import CassoAuth
from casso_payments.casso.pages import MalformedPage, Page, read_page
from casso_payments.settings import CASSO_API_BASE_URL

WEBHOOK_NOT_EXISTS: Final = 12
RETRY_STATUSES = (429, 500, 502, 503, 504)
# A Retry-After longer than this is waited this long: a run has minutes, not urllib3's 6 hours.
RETRY_AFTER_MAX: Final = 30


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
    """The API key or the OAuth2 access token was refused."""


class PagingError(CassoError):
    """Casso's paging can't be followed: more pages than the run allows, a page seen twice,
    or a page without a readable `totalPages` or `records` (then how many pages there are,
    or what this one holds, is unknown: ending there would silently skip the rest)."""


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


class _BudgetedRetry(Retry):
    """urllib3's Retry that won't wait, or start another attempt, past the run's deadline."""

    deadline: Deadline = Deadline.never()
    attempt_seconds: float = 0.0

    def new(self, **kw: Any) -> _BudgetedRetry:
        retry = super().new(**kw)
        retry.deadline, retry.attempt_seconds = self.deadline, self.attempt_seconds
        return retry

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        wait = (self.get_retry_after(response) if response is not None else None) or 0.0
        wait = max(wait, self.get_backoff_time())
        self.deadline.require(wait + self.attempt_seconds, "retrying a Casso call")
        super().sleep(response)


def _session(
    retries: int, backoff: float, deadline: Deadline, attempt_seconds: float
) -> requests.Session:
    retry = _BudgetedRetry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "PUT", "DELETE"}),
        respect_retry_after_header=True,
        retry_after_max=RETRY_AFTER_MAX,
        raise_on_status=False,
    )
    retry.deadline, retry.attempt_seconds = deadline, attempt_seconds
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
        auth: CassoAuth | str,
        *,
        base_url: str = CASSO_API_BASE_URL,
        connect_timeout: float = TIMEOUTS[0],
        read_timeout: float = TIMEOUTS[1],
        retries: int = 3,
        backoff: float = 0.5,
        deadline: Deadline | None = None,
    ) -> None:
        if isinstance(auth, str):
            auth = CassoAuth("Apikey", auth)
        if not auth.secret:
            raise CassoAuthError(401, "no Casso API key configured")
        self.auth = auth
        self.base_url = base_url.rstrip("/")
        self._timeout = (connect_timeout, read_timeout)
        self._attempt_seconds = connect_timeout + read_timeout
        self.deadline = deadline or Deadline.never()
        self._session = _session(retries, backoff, self.deadline, self._attempt_seconds)
        self._session.headers.update({"Authorization": auth.header, "Accept": "application/json"})
        self.calls = 0  # requests made (retries included by urllib3 are not counted)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        self.deadline.require(self._attempt_seconds, f"{method} {path}")
        self.calls += 1
        try:
            response = self._session.request(
                method, f"{self.base_url}{path}", timeout=self._timeout, **kwargs
            )
        except DeadlineReached:
            raise
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
        number = int(str(code)) if str(code).lstrip("-").isdigit() else -1  # unreadable: -1
        if code == 401 or response.status_code == 401:
            refused = f"{message or 'Unauthorized'}: Casso refused the {self.auth.what}"
            if self.auth.scheme == "Bearer":
                refused += " (expired or revoked? put a fresh one in the API-key secret)"
            raise CassoAuthError(number, refused, response.status_code)
        if code == WEBHOOK_NOT_EXISTS:
            raise WebhookNotFound(number, message, response.status_code)
        if response.status_code in RETRY_STATUSES:
            raise CassoUnavailable(f"{method} {path}: HTTP {response.status_code}: {message}")
        raise CassoApiError(number, message, response.status_code)

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
        data = self._call("GET", "/transactions", params=params)
        try:
            return read_page(data, asked=page)
        except MalformedPage as error:
            raise PagingError(str(error)) from None

    def transactions(
        self,
        *,
        from_date: date,
        to_date: date | None = None,
        page_size: int = 100,
        newest_first: bool = True,
        max_pages: int | None = None,
    ) -> Iterator[Page]:
        """Every page from `from_date` (inclusive), newest first by default; one page held
        at a time. PagingError when Casso claims more than `max_pages` pages, or serves the
        same records twice (a paging bug would otherwise run until the function's timeout)."""
        page = 1
        seen: dict[tuple[Any, ...], int] = {}
        while True:
            current = self.transactions_page(
                from_date=from_date,
                to_date=to_date,
                page=page,
                page_size=page_size,
                newest_first=newest_first,
            )
            if max_pages is not None and current.total_pages > max_pages:
                raise PagingError(
                    f"Casso reports {current.total_pages} pages of {page_size} from "
                    f"{from_date.isoformat()}, more than the {max_pages} allowed"
                )
            fingerprint = tuple(record.get("id") for record in current.records)
            if current.records and fingerprint in seen:
                raise PagingError(
                    f"Casso served the same {len(current.records)} records as page "
                    f"{seen[fingerprint]} again as page {page}: its paging is broken, stopping"
                )
            seen[fingerprint] = page
            if current.records and current.total_pages < page:
                raise PagingError(
                    f"Casso served {len(current.records)} records as page {page} of "
                    f"{current.total_pages}: its paging is broken, stopping"
                )
            yield current
            if not current.records or page >= current.total_pages:
                return
            if max_pages is not None and page >= max_pages:
                raise PagingError(f"still more pages after the {max_pages} allowed")
            page += 1

    def transaction(self, transaction_id: int) -> dict[str, Any]:
        record: dict[str, Any] = self._call("GET", f"/transactions/{transaction_id}")
        return record

    # Account
    def user_info(self) -> dict[str, Any]:
        info: dict[str, Any] = self._call("GET", "/userInfo")
        return info

    def sync(self, bank_account: str) -> Any:
        return self._call("POST", "/sync", json={"bank_acc_id": bank_account})
