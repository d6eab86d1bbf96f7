"""Which events reach the shop and under which webhook type: the one table of them (also
in docs/notifications.md#the-types). Lower-case dotted names, as Standard Webhooks advises."""

from __future__ import annotations

from typing import Final

from casso_payments.events.names import (
    LATE_PAYMENT,
    ORDER_EXPIRED,
    ORDER_EXTRA_PAYMENT,
    ORDER_OVERPAID,
    ORDER_PAID,
    ORDER_PARTIALLY_PAID,
    PAYMENT_NEEDS_REVIEW,
    PAYMENT_UNCONFIRMED,
    REFUND_RECORDED,
)

# Published by the orders API when a shop cancels an order.
ORDER_CANCELLED: Final = "Order Cancelled"

# detail-type -> webhook type. The notification rule (template.yaml) matches exactly these.
WEBHOOK_TYPES: Final[dict[str, str]] = {
    ORDER_PAID: "order.paid",
    ORDER_PARTIALLY_PAID: "order.partially_paid",
    ORDER_OVERPAID: "order.overpaid",
    ORDER_EXTRA_PAYMENT: "order.extra_payment",
    ORDER_EXPIRED: "order.expired",
    ORDER_CANCELLED: "order.cancelled",
    LATE_PAYMENT: "order.late_payment",
    REFUND_RECORDED: "refund.recorded",
    PAYMENT_NEEDS_REVIEW: "payment.needs_review",
    PAYMENT_UNCONFIRMED: "payment.unconfirmed",
}

# The events the shop's staff hear about on Telegram: money came in for an order.
STAFF_TYPES: Final = frozenset({ORDER_PAID, ORDER_PARTIALLY_PAID, LATE_PAYMENT})
