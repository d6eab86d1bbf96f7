"""Events the processor publishes on the stack's EventBridge bus (README, "Events").

Every detail carries `transaction_id` and `order_code` (null when no order matched), so a
consumer can drop the rare copy a crash between publishing and committing can cause.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

SOURCE: Final = "casso.payments"
TRANSACTION_RECEIVED: Final = "Transaction Received"
ORDER_PAID: Final = "Order Paid"
ORDER_PARTIALLY_PAID: Final = "Order Partially Paid"
ORDER_OVERPAID: Final = "Order Overpaid"
PAYMENT_UNMATCHED: Final = "Payment Unmatched"
# A transfer to an order an earlier transaction already settled (refund or review it).
ORDER_EXTRA_PAYMENT: Final = "Order Extra Payment"
# The description names two or more existing orders: a person chooses (`ops settle`).
PAYMENT_NEEDS_REVIEW: Final = "Payment Needs Review"
# Casso's API does not vouch for the transaction: forged or broken delivery, no order change.
PAYMENT_UNCONFIRMED: Final = "Payment Unconfirmed"
# An unpaid order passed its expires_at (transaction_id null: no transfer caused it).
ORDER_EXPIRED: Final = "Order Expired"
# A transfer for an expired order: kept on it, settles nothing until a person accepts it.
LATE_PAYMENT: Final = "Late Payment"
# Money out whose description names an order: recorded on it as a refund.
REFUND_RECORDED: Final = "Refund Recorded"
DETAIL_TYPES = (
    TRANSACTION_RECEIVED,
    ORDER_PAID,
    ORDER_PARTIALLY_PAID,
    ORDER_OVERPAID,
    ORDER_EXTRA_PAYMENT,
    PAYMENT_UNMATCHED,
    PAYMENT_NEEDS_REVIEW,
    PAYMENT_UNCONFIRMED,
    ORDER_EXPIRED,
    LATE_PAYMENT,
    REFUND_RECORDED,
)
PUT_EVENTS_LIMIT = 10


@dataclass(frozen=True)
class PaymentEvent:
    detail_type: str
    detail: dict[str, Any]


class PublishError(RuntimeError):
    """EventBridge did not accept some events; the record is retried."""


def publish(events: Any, bus_name: str, payment_events: Sequence[PaymentEvent]) -> None:
    for start in range(0, len(payment_events), PUT_EVENTS_LIMIT):
        chunk = payment_events[start : start + PUT_EVENTS_LIMIT]
        response = events.put_events(
            Entries=[
                {
                    "EventBusName": bus_name,
                    "Source": SOURCE,
                    "DetailType": event.detail_type,
                    "Detail": json.dumps(event.detail, ensure_ascii=False),
                }
                for event in chunk
            ]
        )
        if response.get("FailedEntryCount"):
            failures = [
                f"{event.detail_type}: {entry.get('ErrorCode')} {entry.get('ErrorMessage', '')}"
                for event, entry in zip(chunk, response["Entries"], strict=False)
                if entry.get("ErrorCode")
            ]
            raise PublishError(
                f"EventBridge rejected {len(failures)} events: {'; '.join(failures)}"
            )
