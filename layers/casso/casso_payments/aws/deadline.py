"""A run's time budget: a deadline every step and every Casso call checks before it starts.

Lambda stops a function at its timeout whatever it is doing; a run that checks its deadline
instead stops between two pieces of work, reports what it did, and leaves the rest to the
next run.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Protocol


class DeadlineReached(Exception):
    """Not enough time left for the next piece of work; the run stops cleanly."""


class HasRemainingTime(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


@dataclass(frozen=True)
class Deadline:
    at: float  # on the time.monotonic() clock

    @classmethod
    def never(cls) -> Deadline:
        return cls(math.inf)

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    @classmethod
    def from_context(cls, context: HasRemainingTime, *, reserve_seconds: float) -> Deadline:
        """The invocation's own end, less `reserve_seconds` to report and publish metrics."""
        remaining = context.get_remaining_time_in_millis() / 1000
        return cls.after(max(0.0, remaining - reserve_seconds))

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def require(self, seconds: float, what: str) -> None:
        """Raise DeadlineReached unless `seconds` are left for `what`."""
        left = self.remaining()
        if left < seconds:
            raise DeadlineReached(
                f"stopped before {what}: {max(left, 0):.1f} s left of the run's budget, "
                f"{seconds:.1f} s needed"
            )
