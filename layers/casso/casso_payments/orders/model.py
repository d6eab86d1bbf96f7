"""An order as plain values: its statuses, the item's shape, and a new order checked.
Every read and write of the orders table is `orders.repository`'s; this module does no I/O.

The business's systems create orders (`Orders.create`, or any DynamoDB client writing the
item shape in docs/architecture.md); the processor applies matched transfers (`Orders.pay`).

Item: pk (canonical order code, see `order_codes`), order_code (as created),
expected_amount, status, created_at, updated_at, paid_amount, paid_at, note, and payments:
a map of Casso transaction id -> {amount, at, status, paid_amount, settles}: the transfer and
what it produced (the order's status and paid amount right after it, and whether it is the
one that settled the order). Every change is conditional on that map not holding the
transaction yet, so one transaction can never be applied to an order twice; a retry reads
back what the transfer produced instead of the order's current state (design invariant 7).
Optional: vietqr (`payment_requests`), expires_at / expiring / expired_at / late_payments
(an order that expires unpaid: `Orders.expire`, `Orders.keep_late`), refunds /
refunded_amount (money out naming the order: `Orders.add_refund`), and from the shop's
orders API: metadata (the shop's JSON object, stored as JSON text), notify_url (where the
shop wants its webhooks), listed (ListedIndex's key), cancelled_at (`Orders.cancel`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, NamedTuple, TypedDict

from casso_payments.aws.dynamo import timestamp
from casso_payments.orders.codes import DEFAULT_PATTERN, canonical_code
from casso_payments.orders.payment_requests import (
    Payee,
    PaymentRequestError,
    matchable,
    payment_request,
)

if TYPE_CHECKING:

    class OrderOptions(TypedDict, total=False):
        """`new_order`'s optional arguments, which `Orders.create` passes on."""

        note: str
        payee: Payee | None
        pattern: str | None
        expires_at: datetime | None
        metadata: dict[str, Any] | None
        notify_url: str | None


PENDING: Final = "PENDING"
PARTIALLY_PAID: Final = "PARTIALLY_PAID"
PAID: Final = "PAID"
OVERPAID: Final = "OVERPAID"
# Past its expires_at while unpaid (`order_expiry`): transfers are kept as late payments.
EXPIRED: Final = "EXPIRED"
# Cancelled by the shop while open (`Orders.cancel`): transfers are kept as late payments.
CANCELLED: Final = "CANCELLED"
STATUSES = (PENDING, PARTIALLY_PAID, PAID, OVERPAID, EXPIRED, CANCELLED)
SETTLED = (PAID, OVERPAID)
OPEN = (PENDING, PARTIALLY_PAID)
# Closed unpaid: a transfer for one is kept (`Orders.keep_late`), never paid, until a person
# decides.
CLOSED = (EXPIRED, CANCELLED)
# The sparse ExpiringIndex's partition: set on orders with an expiry while it may still fire.
EXPIRING: Final = "due"
# ListedIndex's partition: every order created through `new_order` carries it, so the
# orders API lists them newest first with a Query (never a Scan).
LISTED: Final = "order"


class OrderError(ValueError):
    """An order can't be created or changed as asked; the message says why."""


@dataclass(frozen=True)
class AppliedPayment:
    """What one transfer did to its order, kept with it so a retry reports the same."""

    amount: int
    status: str  # the order's status right after this transfer
    paid_amount: int  # the order's paid amount right after it
    # This transfer took the order from unpaid to PAID or OVERPAID: exactly one per order.
    settles: bool


@dataclass(frozen=True)
class Order:
    order_code: str
    expected_amount: int
    status: str
    created_at: str
    paid_amount: int = 0
    payments: dict[int, int] = field(default_factory=dict)  # Casso transaction id -> VND
    paid_at: str | None = None
    updated_at: str | None = None
    note: str = ""
    applied: dict[int, AppliedPayment] = field(default_factory=dict, compare=False)
    # The NAPAS VietQR string a checkout shows (`vietqr`), when the stack has a payee.
    vietqr: str | None = None
    expires_at: str | None = None
    expired_at: str | None = None
    # Still in ExpiringIndex (`expiring`): its expiry may fire, or fired and its `Order
    # Expired` is not out yet (`orders.repository` says who publishes it).
    expiring: bool = field(default=False, compare=False)
    # Transfers that arrived once the order had expired: id -> {amount, at}; kept, not paid.
    late: dict[int, dict[str, Any]] = field(default_factory=dict, compare=False)
    # Money-out transfers naming the order (`refunds`): id -> {amount, at}; amount > 0.
    refunds: dict[int, dict[str, Any]] = field(default_factory=dict, compare=False)
    # The shop's own JSON object, given when it created the order (the orders API).
    metadata: dict[str, Any] | None = field(default=None, compare=False)
    # Where the shop wants this order's events as webhooks (the notifier reads it).
    notify_url: str | None = None
    cancelled_at: str | None = None
    # Its `Order Cancelled` went out (`Orders.cancel_done`): a repeated cancel publishes
    # only while this is False.
    cancel_published: bool = field(default=False, compare=False)
    # The payments map as stored, by id: amount, at, and source (webhook-v1, webhook-v2,
    # reconcile) when the processor kept it.
    payment_items: dict[int, dict[str, Any]] = field(default_factory=dict, compare=False)

    @property
    def refunded_amount(self) -> int:
        return sum(int(r["amount"]) for r in self.refunds.values())

    @property
    def key(self) -> str:
        return canonical_code(self.order_code)


def settle(expected: int, paid: int, tolerance: int = 0) -> str:
    """The order status for `paid` VND against `expected`, within `tolerance` either way."""
    if paid > expected + tolerance:
        return OVERPAID
    if paid >= expected - tolerance:
        return PAID
    return PARTIALLY_PAID if paid > 0 else PENDING


def _applied(values: dict[str, Any]) -> dict[int, AppliedPayment]:
    applied = {}
    for tid, payment in values.get("payments", {}).items():
        amount = int(payment["amount"])
        applied[int(tid)] = AppliedPayment(
            amount,
            # Items written before these were kept: the order's state is the best we know.
            str(payment.get("status", values["status"])),
            int(payment.get("paid_amount", values.get("paid_amount", 0))),
            bool(payment.get("settles", False)),
        )
    return applied


def order_from_values(values: dict[str, Any]) -> Order:
    """An order item (plain values) as an Order."""
    return Order(
        order_code=values["order_code"],
        expected_amount=int(values["expected_amount"]),
        status=values["status"],
        created_at=values["created_at"],
        paid_amount=int(values.get("paid_amount", 0)),
        payments={int(tid): int(p["amount"]) for tid, p in values.get("payments", {}).items()},
        paid_at=values.get("paid_at"),
        updated_at=values.get("updated_at"),
        note=values.get("note", ""),
        applied=_applied(values),
        vietqr=values.get("vietqr"),
        expires_at=values.get("expires_at"),
        expired_at=values.get("expired_at"),
        expiring=values.get("expiring") == EXPIRING,
        late={int(t): dict(v) for t, v in (values.get("late_payments") or {}).items()},
        refunds={int(t): dict(v) for t, v in (values.get("refunds") or {}).items()},
        metadata=json.loads(values["metadata"]) if values.get("metadata") else None,
        notify_url=values.get("notify_url"),
        cancelled_at=values.get("cancelled_at"),
        cancel_published=bool(values.get("cancel_published")),
        payment_items={int(t): dict(p) for t, p in values.get("payments", {}).items()},
    )


def new_order(
    order_code: str,
    expected_amount: int,
    *,
    now: datetime,
    note: str = "",
    payee: Payee | None = None,
    pattern: str | None = None,
    expires_at: datetime | None = None,
    metadata: dict[str, Any] | None = None,
    notify_url: str | None = None,
) -> tuple[Order, dict[str, Any]]:
    """A PENDING order and its item, checked; nothing written. Raises OrderError if the code
    is unusable or the amount isn't a positive whole number of VND. With a `payee`, the
    order keeps its VietQR; with a `pattern` (the default one when there is a payee), a code
    the pattern can't find back in a description is refused. With `expires_at` (after
    `now`), the order expires then if still unpaid (`order_expiry`)."""
    try:
        key = canonical_code(order_code)
    except ValueError as error:
        raise OrderError(str(error)) from None
    if (
        isinstance(expected_amount, bool)
        or not isinstance(expected_amount, int)
        or expected_amount <= 0
    ):
        raise OrderError(
            f"expected_amount must be a positive whole number of VND, got {expected_amount!r}"
        )
    try:
        if pattern is not None or payee is not None:
            matchable(order_code, pattern or DEFAULT_PATTERN)
        qr = payment_request(order_code, expected_amount, payee) if payee else None
    except PaymentRequestError as error:
        raise OrderError(str(error)) from None
    order = Order(
        order_code,
        expected_amount,
        PENDING,
        timestamp(now),
        updated_at=timestamp(now),
        note=note,
        vietqr=qr,
        expires_at=timestamp(expires_at) if expires_at else None,
        expiring=expires_at is not None,
        metadata=metadata,
        notify_url=notify_url,
    )
    item: dict[str, Any] = {
        "pk": key,
        "order_code": order_code,
        "expected_amount": expected_amount,
        "status": PENDING,
        "created_at": order.created_at,
        "updated_at": order.created_at,
        "paid_amount": 0,
        "payments": {},
        "note": note,
        "listed": LISTED,
    }
    if metadata is not None:  # JSON text: DynamoDB has no floats, and this keeps it exact
        item["metadata"] = json.dumps(metadata, ensure_ascii=False, separators=(",", ":"))
    if notify_url:
        item["notify_url"] = notify_url
    if qr:
        item["vietqr"] = qr
    if expires_at is not None:
        if expires_at <= now:
            raise OrderError(f"expires_at {timestamp(expires_at)} is not after now")
        item |= {"expires_at": order.expires_at, "expiring": EXPIRING}
    return order, item


class OrderExists(OrderError):
    """An order with the same canonical code exists already."""


class OrderClosed(OrderError):
    """The order was closed unpaid (EXPIRED or CANCELLED) before this transfer reached it:
    the transfer is a late payment."""


class OrderExpired(OrderClosed):
    """The order expired before this transfer reached it: the transfer is a late payment."""


class PaymentResult(NamedTuple):
    order: Order
    applied: bool  # False: this transaction had already been applied to this order
    payment: AppliedPayment  # what this transfer produced, the first time it was applied


class RefundResult(NamedTuple):
    order: Order
    recorded: bool  # False: this transfer was already on the order (a retry)
    amount: int  # VND sent back, positive
    refunded_amount: int  # the order's refunded total right after this refund


def refund_result(order: Order, transaction_id: int, recorded: bool) -> RefundResult:
    refund = order.refunds[transaction_id]
    amount, total = int(refund["amount"]), int(refund.get("refunded_amount", 0))
    return RefundResult(order, recorded, amount, total)


def is_due(order: Order, now: datetime) -> bool:
    """Past its expiry while still open: the order should be EXPIRED."""
    if order.status not in OPEN or not order.expires_at:
        return False
    return order.expires_at <= timestamp(now)
