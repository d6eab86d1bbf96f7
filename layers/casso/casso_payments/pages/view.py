"""What the payment page shows of an order, as plain values, and the status JSON it polls.

The page's states: pending, partially paid (what is left, and a VietQR for just that),
paid (PAID or OVERPAID), expired (EXPIRED, or past `expires_at` while still open: the
reconciler may not have run yet, but the buyer must not pay it) and cancelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from casso_payments.aws.dynamo import timestamp
from casso_payments.orders import vietqr
from casso_payments.orders.model import (
    EXPIRED,
    PARTIALLY_PAID,
    SETTLED,
    Order,
    is_due,
)
from casso_payments.orders.payment_requests import Payee, PaymentRequestError, payment_request

# The page's states (what it says), from the order's status.
STATE_PENDING: Final = "pending"
STATE_PARTIAL: Final = "partially_paid"
STATE_PAID: Final = "paid"
STATE_EXPIRED: Final = "expired"
STATE_CANCELLED: Final = "cancelled"
# The orders API's status for a cancelled order (the orders API's constant; a string here,
# so the page needs nothing from it).
CANCELLED: Final = "CANCELLED"
# States in which the page no longer changes by itself: no polling, no refresh.
FINAL_STATES: Final = (STATE_PAID, STATE_EXPIRED, STATE_CANCELLED)


@dataclass(frozen=True)
class PageView:
    order_code: str  # canonical: what the buyer types as the transfer's content
    state: str
    status: str  # the order's own status (EXPIRED once past its expiry while open)
    amount: int
    amount_paid: int
    amount_remaining: int
    expires_at: str | None
    # Where to pay what is still due; None when the page shows no QR (settled, closed, or
    # the stack has no payee).
    vietqr: str | None
    bank_bin: str
    account_number: str
    account_name: str

    @property
    def transfer_content(self) -> str:
        return self.order_code


def state_of(order: Order, now: datetime) -> tuple[str, str]:
    """(page state, status) of `order` at `now`."""
    if order.status == CANCELLED:
        return STATE_CANCELLED, CANCELLED
    if order.status in SETTLED:
        return STATE_PAID, order.status
    if order.status == EXPIRED or is_due(order, now):
        return STATE_EXPIRED, EXPIRED
    if order.status == PARTIALLY_PAID and order.paid_amount > 0:
        return STATE_PARTIAL, order.status
    return STATE_PENDING, order.status


def payee_of(order: Order, payee: Payee | None) -> Payee | None:
    """The stack's payee, or the one in the order's stored VietQR (no name)."""
    if payee is not None:
        return payee
    if not order.vietqr:
        return None
    try:
        parsed = vietqr.parse(order.vietqr)
    except vietqr.VietQRError:
        return None
    return Payee(parsed["bank_bin"], parsed["account"]) if parsed["account"] else None


def view_of(order: Order, payee: Payee | None, now: datetime) -> PageView:
    state, status = state_of(order, now)
    remaining = max(order.expected_amount - order.paid_amount, 0)
    account = payee_of(order, payee)
    qr = None
    if account is not None and state in (STATE_PENDING, STATE_PARTIAL) and remaining > 0:
        if state == STATE_PENDING and order.vietqr:
            qr = order.vietqr  # the very string the order was created with
        else:
            try:
                qr = payment_request(order.order_code, remaining, account)
            except PaymentRequestError:
                qr = None
    return PageView(
        order_code=order.key,
        state=state,
        status=status,
        amount=order.expected_amount,
        amount_paid=order.paid_amount,
        amount_remaining=remaining,
        expires_at=order.expires_at,
        vietqr=qr,
        bank_bin=account.bank_bin if account else "",
        account_number=account.account_number if account else "",
        account_name=account.account_name if account else "",
    )


def status_body(view: PageView, now: datetime) -> dict[str, Any]:
    """The status JSON (`GET /pay/{code}/status`): the orders API's names for the same
    fields, plus the page's `state`."""
    return {
        "order_code": view.order_code,
        "status": view.status,
        "state": view.state,
        "amount": view.amount,
        "amount_paid": view.amount_paid,
        "amount_remaining": view.amount_remaining,
        "expires_at": view.expires_at,
        "transfer_content": view.transfer_content,
        "vietqr": view.vietqr,
        "now": timestamp(now),
        "key": key_of(view),
    }


def key_of(view: PageView) -> str:
    """What changes the page: the page reloads when the status JSON's key differs."""
    return f"{view.state}:{view.amount_paid}"
