"""Quarantined deliveries: a bounded reason, and release / discard through the layer."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError

from casso_payments.casso.payload import Problem
from casso_payments.ledger.repository import body_digest
from casso_payments.receiver import quarantine
from casso_payments.receiver.release import release
from local.cli.sample_events import V1_ITEM
from tests.helpers import drain_queue, fail_calls, ledger_items, transaction_ids

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def test_reason_keeps_the_first_twenty_problems_and_counts_the_rest():
    problems = [Problem(f"data[{n}]", "expected an object", "int", str(n)) for n in range(25)]
    assert quarantine.reason(problems[:20]) == "; ".join(map(str, problems[:20]))
    assert quarantine.reason(problems[:21]).endswith(
        "data[19]: expected an object, got int 19; and 1 more problem"
    )
    assert quarantine.reason(problems).endswith("; and 5 more problems")
    long = Problem("x" * 1000, "missing")
    assert quarantine.reason([long]) == "x" * quarantine.MAX_PROBLEM_CHARS + "..."


def test_the_logged_reason_is_bounded_the_same_way_and_shows_no_value():
    problems = [
        Problem(f"data[{n}].description", "expected text", "list", '["NGUYEN VAN A"]')
        for n in range(25)
    ]
    logged = quarantine.reason(problems, safe=True)
    assert "NGUYEN" not in logged
    assert logged.startswith("data[0].description: expected text, got list (value not logged); ")
    assert logged.endswith("; and 5 more problems")


def keep(stack, body: str) -> str:
    stack.ledger.quarantine(body=body, reason="old", generation="v2", now=NOW)
    return body_digest(body)


def released(stack, key: str):
    return release(stack.ledger, stack.queue, key=key, now=NOW)


def test_a_failed_release_keeps_the_delivery_and_a_second_one_lands_once(stack):
    key = keep(stack, json.dumps({"error": 0, "data": {**V1_ITEM, "id": 31}}))
    heal = fail_calls(stack.sqs, "SendMessageBatch")
    with pytest.raises(ClientError, match="injected fault"):
        released(stack, key)
    heal()
    # Recorded but not queued, and still quarantined: running it again finishes the job.
    assert [i["kind"] for i in ledger_items(stack.dynamodb, stack.table)] == [
        "quarantine",
        "transaction",
    ]
    again = released(stack, key)
    assert (again.new, again.duplicates, again.problems) == ((), (31,), "")
    assert transaction_ids(ledger_items(stack.dynamodb, stack.table)) == [31]
    # The still-unprocessed duplicate is queued (with the V2 generation it came with).
    assert drain_queue(stack.sqs, stack.queue_url) == [
        {"transaction_id": 31, "source": "webhook-v2"}
    ]
    assert stack.ledger.list_quarantined() == []


def test_listing_shows_each_delivery_without_its_body(stack):
    first = keep(stack, "not json")
    (listed,) = stack.ledger.list_quarantined()
    assert (listed.key, listed.generation, listed.body_bytes, listed.body) == (first, "v2", 8, "")
    assert stack.ledger.get_quarantined(first).body == "not json"
    assert stack.ledger.discard_quarantined(first) is True
    assert stack.ledger.discard_quarantined(first) is False  # gone: nothing else deleted
    assert stack.ledger.get_quarantined(first) is None
