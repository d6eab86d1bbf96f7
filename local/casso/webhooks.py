"""A simulated Casso webhook and its lifecycle, on a scaled clock (`minute` real seconds per
Casso minute), per the rules in casso_payments.casso.delivery:

  ACTIVE    events are sent, failures retried on RETRY_DELAYS_MINUTES;
  PAUSED    after PAUSE_AFTER_MINUTES of continuous failures (since the last success): new
            events, and those waiting for a retry, are HELD, not sent, until replayed;
  DISABLED  after DISABLE_AFTER_MINUTES paused: nothing is sent or held, the held events
            are gone and can't be replayed.
An event is signed once, when its transaction happens; every retry and a replay send the
same bytes and the same X-Casso-Signature timestamp (Casso's page says nothing about
re-signing a retry, so we don't invent it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from casso_payments.casso.delivery import DISABLE_AFTER_MINUTES, PAUSE_AFTER_MINUTES

ACTIVE: Final = "ACTIVE"
PAUSED: Final = "PAUSED"
DISABLED: Final = "DISABLED"

# Event states
PENDING: Final = "PENDING"  # due now or waiting for a retry
DELIVERED: Final = "DELIVERED"
FAILED: Final = "FAIL"  # every retry failed: Casso skips it
HOLDING: Final = "HOLDING"
DROPPED: Final = "DROPPED"  # webhook disabled or deleted


@dataclass
class Event:
    """One transaction for one webhook, as signed when it happened."""

    webhook_id: int
    transaction_id: int
    headers: dict[str, str]
    body: str
    state: str = PENDING
    attempts: int = 0
    replays: int = 0


@dataclass
class SimulatedWebhook:
    id: int
    url: str
    secure_token: str = ""
    income_only: bool = True
    generation: str = "v1"  # webhooks made through the API are v1; V2 is set up in Casso's UI
    checksum_key: str = ""
    status: str = ACTIVE
    failing_since: float | None = None  # scaled-clock time of the first failure since success
    paused_at: float | None = None
    held: list[Event] = field(default_factory=list)

    def api_view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "channel": "webhook",
            "param1": self.url,
            "param2": "",
            "send_only_income": 1 if self.income_only else 0,
        }

    def status_view(self) -> dict[str, Any]:
        """What Casso's UI shows: the status and the events it holds."""
        return {
            **self.api_view(),
            "generation": self.generation,
            "status": self.status,
            "held": [event.transaction_id for event in self.held],
        }

    def refresh(
        self, now: float, minute: float, disable_after: float = DISABLE_AFTER_MINUTES
    ) -> list[Event]:
        """Apply the passage of time: PAUSED long enough becomes DISABLED. Returns the held
        events that are now lost."""
        if self.status != PAUSED or self.paused_at is None:
            return []
        if now - self.paused_at < disable_after * minute:
            return []
        self.status = DISABLED
        lost, self.held = self.held, []
        for event in lost:
            event.state = DROPPED
        return lost

    def succeeded(self) -> None:
        self.failing_since = None

    def failed(self, now: float, minute: float, pause_after: float = PAUSE_AFTER_MINUTES) -> bool:
        """Count a failed attempt; True when it pauses the webhook."""
        if self.failing_since is None:
            self.failing_since = now
        if self.status == ACTIVE and now - self.failing_since >= pause_after * minute:
            self.status, self.paused_at = PAUSED, now
            return True
        return False

    def hold(self, event: Event) -> None:
        event.state = HOLDING
        self.held.append(event)

    def take_held_for_replay(self) -> list[Event]:
        """Casso's "Replay" button: the webhook is active again and its held events go out."""
        if self.status == DISABLED:
            raise ReplayRefused(
                f"webhook {self.id} is DISABLED: its held events can no longer be replayed"
            )
        self.status, self.paused_at, self.failing_since = ACTIVE, None, None
        events, self.held = self.held, []
        for event in events:
            event.state, event.attempts = PENDING, 0
            event.replays += 1
        return events


class ReplayRefused(RuntimeError):
    pass
