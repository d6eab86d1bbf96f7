"""The retry schedule: after a failed attempt, when the next is due, and when to give up.

Standard Webhooks' (Svix's) schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h after each
failure, so eight attempts over about 27.6 hours before the notification is dead-lettered.
Locally the stack runs it in seconds (RETRY_DELAYS_SECONDS), as the Casso simulator does
Casso's. The delays are `settings.notifier`'s (DEFAULT_RETRY_DELAYS).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta


def next_due(attempt: int, delays: tuple[float, ...], now: datetime) -> datetime | None:
    """When the attempt after failed attempt `attempt` (1-based) is due; None: give up."""
    if attempt > len(delays):
        return None
    return now + timedelta(seconds=delays[attempt - 1])


def wait_seconds(due: datetime, now: datetime) -> int:
    """Whole seconds until `due` (0 if past); SQS delays a message by whole seconds."""
    return max(0, math.ceil((due - now).total_seconds()))
