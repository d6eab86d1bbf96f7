"""The stack's EventBridge bus: events put in batches, every rejection an error.

What each event says is `events.build`'s; this module only carries them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, Final, NamedTuple

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

SOURCE: Final = "casso.payments"  # every event's `source`
PUT_EVENTS_LIMIT: Final = 10


class Event(NamedTuple):
    detail_type: str
    detail: Mapping[str, Any]


class PublishError(RuntimeError):
    """EventBridge did not accept some events; the record is retried."""


class Bus:
    """One event bus. The client is made on first use (`client` is a factory): most
    reconciler runs publish nothing, and each client made costs a cold start 4-6 ms
    (docs/benchmarks.md#cold-start)."""

    def __init__(self, client: Callable[[], EventBridgeClient], name: str) -> None:
        self._client, self.name = client, name

    @cached_property
    def client(self) -> EventBridgeClient:
        return self._client()

    def publish(self, events: Sequence[Event]) -> None:
        for start in range(0, len(events), PUT_EVENTS_LIMIT):
            chunk = events[start : start + PUT_EVENTS_LIMIT]
            response = self.client.put_events(
                Entries=[
                    {
                        "EventBusName": self.name,
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
