"""The stack's EventBridge bus: events put in batches, every rejection an error.

What each event says is `events.build`'s; this module only carries them. A PutEvents
request takes at most PUT_EVENTS_LIMIT entries and PUT_EVENTS_BYTES in all (entry sizes
counted as EventBridge counts them: Source, DetailType and Detail in UTF-8, plus 14 bytes
for a Time; we count the bus name too, to be safe), so `publish` sends as many requests as
the events need, in order. An entry too big for any request is refused before anything is
sent; `events.build` bounds every detail so none is.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, Final, NamedTuple

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

SOURCE: Final = "casso.payments"  # every event's `source`
PUT_EVENTS_LIMIT: Final = 10  # entries per request
PUT_EVENTS_BYTES: Final = 256 * 1024  # per request, every entry counted


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
        entries: list[PutEventsRequestEntryTypeDef] = [
            {
                "EventBusName": self.name,
                "Source": SOURCE,
                "DetailType": event.detail_type,
                "Detail": json.dumps(event.detail, ensure_ascii=False),
            }
            for event in events
        ]
        for start, end in requests([entry_size(entry) for entry in entries]):
            chunk = events[start:end]
            response = self.client.put_events(Entries=entries[start:end])
            if response.get("FailedEntryCount"):
                failures = [
                    f"{event.detail_type}: {entry.get('ErrorCode')} {entry.get('ErrorMessage', '')}"
                    for event, entry in zip(chunk, response["Entries"], strict=False)
                    if entry.get("ErrorCode")
                ]
                raise PublishError(
                    f"EventBridge rejected {len(failures)} events: {'; '.join(failures)}"
                )


def entry_size(entry: Mapping[str, object]) -> int:
    """An entry's size as PutEvents counts it (and the bus name, which it may not)."""
    text = (value for value in entry.values() if isinstance(value, str))
    return sum(len(value.encode()) for value in text) + 14  # 14: a Time


def requests(sizes: Sequence[int]) -> list[tuple[int, int]]:
    """(start, end) of each request for entries of these sizes, in order: each at most
    PUT_EVENTS_LIMIT entries and PUT_EVENTS_BYTES. Raises PublishError for an entry no
    request can take, before any is sent."""
    too_big = [n for n, size in enumerate(sizes) if size > PUT_EVENTS_BYTES]
    if too_big:
        raise PublishError(
            f"events {too_big} are over the {PUT_EVENTS_BYTES}-byte PutEvents limit on their own"
        )
    bounds: list[tuple[int, int]] = []
    start, total = 0, 0
    for end, size in enumerate(sizes):
        if end - start == PUT_EVENTS_LIMIT or total + size > PUT_EVENTS_BYTES:
            bounds.append((start, end))
            start, total = end, 0
        total += size
    if start < len(sizes):
        bounds.append((start, len(sizes)))
    return bounds
