"""Events the processor publishes on the stack's EventBridge bus (docs/events.md).

Every detail carries `transaction_id` and `order_code` (null when no order matched), so a
consumer can drop the rare copy a crash between publishing and committing can cause.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from casso_payments.outcomes import Outcome

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

SOURCE: Final = "casso.payments"
# Every processed transaction's, with its outcome; then its outcome's own (Outcome).
TRANSACTION_RECEIVED: Final = "Transaction Received"
# An unpaid order passed its expires_at (transaction_id null: no transfer caused it).
ORDER_EXPIRED: Final = "Order Expired"
DETAIL_TYPES: Final = (
    TRANSACTION_RECEIVED,
    *(o.detail_type for o in Outcome if o.detail_type),
    ORDER_EXPIRED,
)
PUT_EVENTS_LIMIT = 10


@dataclass(frozen=True)
class PaymentEvent:
    detail_type: str
    detail: dict[str, Any]

    @classmethod
    def of(cls, outcome: Outcome, detail: dict[str, Any]) -> PaymentEvent:
        """The event an outcome publishes (it must have one)."""
        if outcome.detail_type is None:
            raise ValueError(f"outcome {outcome} publishes no event of its own")
        return cls(outcome.detail_type, detail)


class PublishError(RuntimeError):
    """EventBridge did not accept some events; the record is retried."""


def publish(
    events: EventBridgeClient, bus_name: str, payment_events: Sequence[PaymentEvent]
) -> None:
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
