"""The orders API's routes, as plain functions of an API Gateway event and `ShopDeps`.

Every request is authenticated first (`auth`), before its body is read: a stranger gets 401
and nothing is read or written. Then its route checks the input (`validation`) and works
through `Orders`; every refusal is a `Problem` (problem+json, 4xx), never a 5xx.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from casso_payments.aws.secrets import CredentialsUnavailable, SecretStore
from casso_payments.events.build import order_cancelled
from casso_payments.orders.codes import canonical_code
from casso_payments.orders.model import CANCELLED, OrderError, OrderExists
from casso_payments.orders.payment_requests import PaymentRequestError, matchable
from casso_payments.orders.vietqr import MAX_DESCRIPTION
from casso_payments.shop.auth import authenticate
from casso_payments.shop.idempotency import Idempotency, checked_key
from casso_payments.shop.problems import FieldError, Problem, answer, invalid, problem_answer
from casso_payments.shop.responses import base_url, order_body, order_detail
from casso_payments.shop.validation import (
    CreateRequest,
    create_request,
    encode_cursor,
    header,
    list_query,
)

if TYPE_CHECKING:
    from casso_payments.aws.bus import Bus
    from casso_payments.orders.repository import Orders
    from casso_payments.settings.orders_api import OrdersApiSettings

GENERATED_DIGITS: Final = 8  # DH + 8 digits: short to type, 90 million codes
GENERATE_ATTEMPTS: Final = 5


@dataclass
class ShopDeps:
    orders: Orders
    bus: Bus
    api_keys: SecretStore[tuple[str, ...]]
    link_key: SecretStore[bytes]
    idempotency: Idempotency
    settings: OrdersApiSettings


Route = Callable[[dict[str, Any], ShopDeps, datetime], dict[str, Any]]


def _view(event: dict[str, Any], deps: ShopDeps) -> dict[str, Any]:
    """What `order_body` needs besides the order."""
    return {
        "base": base_url(event),
        "link_key": deps.link_key.get(),
        "payee": deps.settings.payee,
    }


def _code(event: dict[str, Any]) -> str:
    """The path's order code, canonical; an unusable one names no order (404)."""
    raw = (event.get("pathParameters") or {}).get("code") or ""
    try:
        return canonical_code(raw)
    except ValueError:
        raise Problem(404, "Order not found", f"no order {raw!r}") from None


def _generated_code(pattern: str) -> str:
    """A new code: DH and digits (no leading zero, so it is its own canonical form)."""
    digits = str(secrets.randbelow(9 * 10 ** (GENERATED_DIGITS - 1)) + 10 ** (GENERATED_DIGITS - 1))
    code = "DH" + digits
    try:
        return matchable(code, pattern)
    except (PaymentRequestError, ValueError):
        raise invalid(
            [FieldError("order_code", "required: OrderCodePattern doesn't match DH codes")]
        ) from None


def _create(request: CreateRequest, deps: ShopDeps, now: datetime) -> Any:
    options: dict[str, Any] = {"note": request.description, "payee": deps.settings.payee}
    options |= {"pattern": deps.settings.order_code_pattern, "metadata": request.metadata}
    options |= {"notify_url": request.notify_url}
    if request.expires_in_seconds:
        options["expires_at"] = now + timedelta(seconds=request.expires_in_seconds)
    given = request.order_code is not None
    for _ in range(1 if given else GENERATE_ATTEMPTS):
        code = _given_code(request.order_code) if given else _generated_code(options["pattern"])
        try:
            return deps.orders.create(code, request.amount, now=now, **options)
        except OrderExists:
            if given:
                raise Problem(409, "Order exists", f"an order {code} already exists") from None
        except OrderError as error:
            raise invalid([FieldError("order_code", str(error))]) from None
    raise Problem(503, "Try again", "no free order code was found; try again")


def _given_code(order_code: str | None) -> str:
    """The shop's code, canonical: what a transfer's content can carry whole."""
    try:
        key = canonical_code(order_code or "")
    except ValueError as error:
        raise invalid([FieldError("order_code", str(error))]) from None
    if len(key) > MAX_DESCRIPTION:
        problem = f"{key!r} is over {MAX_DESCRIPTION} characters, more than a transfer keeps"
        raise invalid([FieldError("order_code", problem)])
    return key


def create(event: dict[str, Any], deps: ShopDeps, now: datetime) -> dict[str, Any]:
    headers = event.get("headers") or {}
    request = create_request(
        headers, event.get("body"), allow_loopback=deps.settings.allow_loopback
    )
    key = checked_key(header(headers, "Idempotency-Key"))

    def work() -> dict[str, Any]:
        order = _create(request, deps, now)
        return order_body(order, **_view(event, deps))

    body = deps.idempotency.once(key, asdict(request), work) if key else work()
    return answer(201, body, {"Location": f"/orders/{body['order_code']}"})


def read(event: dict[str, Any], deps: ShopDeps, now: datetime) -> dict[str, Any]:
    code = _code(event)
    order = deps.orders.get(code)
    if order is None:
        raise Problem(404, "Order not found", f"no order {code}")
    return answer(200, order_detail(order, **_view(event, deps)))


def listing(event: dict[str, Any], deps: ShopDeps, now: datetime) -> dict[str, Any]:
    query = list_query(event.get("queryStringParameters"))
    found, after = deps.orders.page(
        limit=query.limit, status=query.status, after=query.created_after, cursor=query.cursor
    )
    view = _view(event, deps)
    return answer(
        200,
        {
            "orders": [order_body(order, **view) for order in found],
            "next_cursor": encode_cursor(after) if after else None,
        },
    )


def cancel(event: dict[str, Any], deps: ShopDeps, now: datetime) -> dict[str, Any]:
    """Cancel an open order and publish `Order Cancelled`; a repeat answers the cancelled
    order, publishing the event only if the first call stopped before it went out."""
    code = _code(event)
    order, _ = deps.orders.cancel(code, now=now)
    if order is None:
        raise Problem(404, "Order not found", f"no order {code}")
    if order.status != CANCELLED:
        raise Problem(409, "Order not open", f"order {code} is {order.status}: not cancellable")
    if not order.cancel_published:
        deps.bus.publish([order_cancelled(order)])
        deps.orders.cancel_done(order.key)
    return answer(200, order_body(order, **_view(event, deps)))


ROUTES: Final[dict[tuple[str, str], Route]] = {
    ("POST", "/orders"): create,
    ("GET", "/orders"): listing,
    ("GET", "/orders/{code}"): read,
    ("POST", "/orders/{code}/cancel"): cancel,
}


def handle(event: dict[str, Any], deps: ShopDeps, *, now: datetime) -> dict[str, Any]:
    """The answer to one request: authenticate, route, answer; a Problem is its answer."""
    try:
        route = ROUTES.get((event.get("httpMethod") or "", event.get("resource") or ""))
        try:
            allowed = authenticate(event.get("headers"), deps.api_keys)
        except CredentialsUnavailable:
            raise Problem(503, "Unavailable", "the API keys can't be read now; try again") from None
        if not allowed:
            raise Problem(
                401,
                "Unauthorized",
                "send Authorization: Bearer <your shop API key>",
                headers={"WWW-Authenticate": 'Bearer realm="orders"'},
            )
        if route is None:
            raise Problem(404, "Not found", "no such route (docs/shop-api.md)")
        return route(event, deps, now)
    except Problem as problem:
        return problem_answer(problem)
