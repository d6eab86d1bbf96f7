"""The bus splits what it publishes into requests EventBridge takes: at most 10 entries and
256 KB each (moto takes any size: `eventbridge_limits` refuses what EventBridge refuses)."""

from __future__ import annotations

import pytest

from casso_payments.aws.bus import PUT_EVENTS_BYTES, Bus, Event, PublishError, requests
from local.stack.poller import drain_queue
from tests.helpers import eventbridge_limits


class Recording:
    def __init__(self) -> None:
        self.requests: list[list[dict]] = []

    def put_events(self, Entries):
        self.requests.append(Entries)
        return {"FailedEntryCount": 0, "Entries": [{"EventId": "x"} for _ in Entries]}


def test_requests_take_at_most_ten_entries_and_256_kb_in_order():
    assert requests([]) == []
    assert requests([100] * 25) == [(0, 10), (10, 20), (20, 25)]
    big = 100 * 1024
    assert requests([big, big, big, 10, 10]) == [(0, 2), (2, 5)]
    assert requests([PUT_EVENTS_BYTES, 1]) == [(0, 1), (1, 2)]


def test_an_entry_no_request_can_take_is_refused_before_anything_is_sent():
    client = Recording()
    bus = Bus(lambda: client, "bus")
    small, huge = Event("Small", {"n": 1}), Event("Huge", {"text": "x" * PUT_EVENTS_BYTES})
    with pytest.raises(PublishError, match=r"events \[1\] are over"):
        bus.publish([small, huge])
    assert client.requests == []


def test_events_over_256_kb_together_all_reach_the_bus(stack):
    lift = eventbridge_limits(stack.clients["events"])
    bus = Bus(lambda: stack.clients["events"], stack.processor_deps().bus.name)
    sent = [Event("Test Event", {"n": n, "text": "ễ" * 25_000}) for n in range(12)]
    bus.publish(sent)  # 12 entries of ~75 KB: 4 requests of 3
    lift()
    arrived = drain_queue(stack.sqs, stack.events_tap_url)
    assert sorted(event["detail"]["n"] for event in arrived) == list(range(12))
