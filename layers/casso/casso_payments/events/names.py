"""The name of every event the stack publishes (its detail-type); what each one's detail holds
is `events.details`, kept apart so that no function's cold start builds those types."""

from __future__ import annotations

from typing import Final

TRANSACTION_RECEIVED: Final = "Transaction Received"
ORDER_PAID: Final = "Order Paid"
ORDER_PARTIALLY_PAID: Final = "Order Partially Paid"
ORDER_OVERPAID: Final = "Order Overpaid"
ORDER_EXTRA_PAYMENT: Final = "Order Extra Payment"
ORDER_EXPIRED: Final = "Order Expired"
LATE_PAYMENT: Final = "Late Payment"
REFUND_RECORDED: Final = "Refund Recorded"
PAYMENT_UNMATCHED: Final = "Payment Unmatched"
PAYMENT_NEEDS_REVIEW: Final = "Payment Needs Review"
PAYMENT_UNCONFIRMED: Final = "Payment Unconfirmed"
# A stronger version of a transaction already applied to an order: a person decides.
PAYMENT_CONFLICT: Final = "Payment Conflict"
BALANCE_GAP_DETECTED: Final = "Balance Gap Detected"
BALANCE_GAP_CLOSED: Final = "Balance Gap Closed"
ORDER_CANCELLED: Final = "Order Cancelled"
