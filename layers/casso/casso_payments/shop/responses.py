"""An order as the API shows it (docs/openapi/orders.yaml's `Order`): what is still due,
what the buyer types (`transfer_content`), the VietQR for what is still due, and the
payment page's URL; a read adds the transfers on it (`OrderDetail`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from casso_payments.orders.model import OPEN, Order
from casso_payments.orders.payment_links import payment_path
from casso_payments.orders.payment_requests import Payee, PaymentRequestError, payment_request
from casso_payments.shop.validation import header


def base_url(event: Mapping[str, Any]) -> str:
    """The API's public base URL, from the request: its domain and stage (as API Gateway
    gives them; the local stack's HTTP front gives its own)."""
    context = event.get("requestContext") or {}
    headers = event.get("headers") or {}
    domain = context.get("domainName") or header(headers, "Host") or "localhost"
    scheme = header(headers, "X-Forwarded-Proto") or "https"
    stage = context.get("stage")
    return f"{scheme}://{domain}" + (f"/{stage}" if stage else "")


def remaining(order: Order) -> int:
    return max(0, order.expected_amount - order.paid_amount)


def vietqr_due(order: Order, payee: Payee | None) -> str | None:
    """The VietQR for what is still due on an open order; None when nothing can be paid."""
    due = remaining(order)
    if payee is None or due == 0 or order.status not in OPEN:
        return None
    if due == order.expected_amount and order.vietqr:
        return order.vietqr
    try:
        return payment_request(order.key, due, payee)
    except PaymentRequestError:
        return None


def order_body(order: Order, *, base: str, link_key: bytes, payee: Payee | None) -> dict[str, Any]:
    """An order's fields, as every route answers them."""
    return {
        "order_code": order.key,
        "amount": order.expected_amount,
        "status": order.status,
        "amount_paid": order.paid_amount,
        "amount_remaining": remaining(order),
        "transfer_content": order.key,
        "vietqr": vietqr_due(order, payee),
        "payment_url": base + payment_path(link_key, order.key),
        "expires_at": order.expires_at,
        "created_at": order.created_at,
        "description": order.note,
        "metadata": order.metadata,
        "notify_url": order.notify_url,
    }


def _transfers(found: Mapping[int, Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"transaction_id": tid, "amount": int(t["amount"]), "at": t.get("at")}
        for tid, t in sorted(found.items(), key=lambda item: str(item[1].get("at")))
    ]


def order_detail(
    order: Order, *, base: str, link_key: bytes, payee: Payee | None
) -> dict[str, Any]:
    """An order's fields and the transfers on it: payments, refunds, late payments."""
    payments = [
        {**transfer, "source": order.payment_items[transfer["transaction_id"]].get("source")}
        for transfer in _transfers(order.payment_items)
    ]
    return {
        **order_body(order, base=base, link_key=link_key, payee=payee),
        "payments": payments,
        "refunds": _transfers(order.refunds),
        "late_payments": _transfers(order.late),
    }
