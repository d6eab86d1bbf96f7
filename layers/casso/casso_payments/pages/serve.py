"""One request for a payment page or its status, to an answer.

The link's token is checked first, against the canonical code, before anything is read:
a wrong or missing token (or a code that can't be one) is refused with the same 404 as a
missing order, so no one learns which orders exist, and a stranger costs no table read.
A good one costs one GetItem (the order), and the key is read through its cached
`SecretStore`: a status poll makes at most one DynamoDB call.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from casso_payments.aws.secrets import CredentialsError, CredentialsUnavailable
from casso_payments.orders.codes import canonical_code
from casso_payments.orders.payment_links import token_matches
from casso_payments.orders.payment_requests import Payee
from casso_payments.orders.repository import Orders
from casso_payments.pages import html
from casso_payments.pages.texts import language
from casso_payments.pages.view import status_body, view_of

# Longer than any code a VietQR carries (25) or any token (22): refused unread.
MAX_CODE: Final = 64
MAX_TOKEN: Final = 64

HTML: Final = "text/html; charset=utf-8"
JSON: Final = "application/json"
# The token is in the URL: never cached, never sent on as a referrer, never framed.
COMMON_HEADERS: Final = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
JSON_CSP: Final = "default-src 'none'; frame-ancestors 'none'"


@dataclass(frozen=True)
class PageRequest:
    code: str  # as in the path, any spelling
    token: str  # the link's `t`
    lang: str | None = None  # `?lang=en`
    status: bool = False  # the status JSON rather than the page


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: str
    outcome: str  # for the log line: shown, not_found, unavailable


@dataclass(frozen=True)
class PageDeps:
    orders: Orders
    link_key: Callable[[], bytes]  # the payment-link key (a SecretStore's get)
    payee: Payee | None
    clock: Callable[[], datetime]


def _answer(status: int, body: str, json_body: bool, outcome: str) -> Answer:
    headers = {
        **COMMON_HEADERS,
        "Content-Type": JSON if json_body else HTML,
        "Content-Security-Policy": JSON_CSP if json_body else html.CSP,
    }
    return Answer(status, headers, body, outcome)


def _not_found(request: PageRequest, lang: str) -> Answer:
    if request.status:
        return _answer(404, '{"error":"not found"}', True, "not_found")
    return _answer(404, html.not_found(lang), False, "not_found")


def authorised_code(request: PageRequest, key: Callable[[], bytes]) -> str | None:
    """The canonical code when the request's token is its link's, else None (nothing read)."""
    if not request.token or len(request.token) > MAX_TOKEN or len(request.code) > MAX_CODE:
        return None
    try:
        code = canonical_code(request.code)
    except ValueError:
        return None
    return code if token_matches(key(), code, request.token) else None


def answer(request: PageRequest, deps: PageDeps) -> Answer:
    lang = language(request.lang)
    try:
        code = authorised_code(request, deps.link_key)
    except (CredentialsUnavailable, CredentialsError):
        # No key yet (Secrets Manager unreachable before the first read): try again later.
        body = '{"error":"unavailable"}' if request.status else html.not_found(lang)
        return _answer(503, body, request.status, "unavailable")
    if code is None:
        return _not_found(request, lang)
    order = deps.orders.get(code)
    if order is None:
        return _not_found(request, lang)
    now = deps.clock()
    view = view_of(order, deps.payee, now)
    if request.status:
        body = json.dumps(status_body(view, now), separators=(",", ":"))
        return _answer(200, body, True, "shown")
    return _answer(200, html.page(view, request.token, lang), False, "shown")
