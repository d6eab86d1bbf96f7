"""Casso's webhook delivery rules, as this project reads them (docs/casso.md).
The Casso simulator follows them; the receiver and the runbook are built for them.

Casso's page (../shared/casso/webhook-delivery.txt) contradicts itself: "retry for the next
12 hours, the first after 1 minute, the wait growing to the next Fibonacci value each time"
and "up to 17 retries". 17 Fibonacci waits from 1 minute add up to 4,180 minutes (about 70
hours), not 12. We keep the three precise statements (17 retries, first after 1 minute,
Fibonacci) and drop the round "12 hours": a receiver must expect a retry, carrying its
original signature, up to about 70 hours after the transaction, which is the safe side for
de-duplication, signature age and secret rotation. The 24-hour pause usually stops a failing
webhook's retries first.
"""

from __future__ import annotations

from typing import Final


def _fibonacci(count: int) -> tuple[int, ...]:
    waits, a, b = [], 1, 1
    for _ in range(count):
        waits.append(a)
        a, b = b, a + b
    return tuple(waits)


# THE retry schedule: minutes waited before each of the 17 retries of a failed delivery.
RETRY_DELAYS_MINUTES: Final[tuple[int, ...]] = _fibonacci(17)
# Continuous failures for this long pause the webhook: new events are HELD, not sent.
PAUSE_AFTER_MINUTES: Final = 24 * 60
# Paused this long: DISABLED, and held events can no longer be replayed.
DISABLE_AFTER_MINUTES: Final = 7 * 24 * 60
# Casso waits this long for an answer before it counts the attempt as failed.
DELIVERY_TIMEOUT_SECONDS: Final = 5.0
