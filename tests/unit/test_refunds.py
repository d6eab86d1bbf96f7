"""Refunds linked to their orders: recorded once, never changing what paid the order."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from casso_payments.processor.process import process
from tests.helpers import fail_calls
from tests.unit.test_processing import events, fail_mark_processed_once, order, record

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def test_an_overpaid_order_shows_its_excess_refunded(stack):
    order(stack, "DH35", 200_000)
    record(stack, 1, 250_000, "DH35")
    assert process(1, stack.processor_deps(), now=NOW).outcome == "overpaid"
    events(stack)
    record(stack, 2, -50_000, "HOAN TIEN DH35")
    outcome = process(2, stack.processor_deps(), now=NOW)
    assert (outcome.outcome, outcome.effect.order_code, outcome.effect.applied) == (
        "refund",
        "DH35",
        True,
    )
    stored = stack.orders.get("DH35")
    # Which transfers paid it is unchanged; the refund sits beside them.
    assert (stored.status, stored.paid_amount, stored.payments) == (
        "OVERPAID",
        250_000,
        {1: 250_000},
    )
    assert (stored.refunded_amount, list(stored.refunds)) == (50_000, [2])
    assert stack.ledger.get(2).outcome == "refund"
    published = events(stack)
    assert [t for t, _ in published] == ["Transaction Received", "Refund Recorded"]
    refund = published[1][1]
    assert {
        k: refund[k]
        for k in (
            "transaction_id",
            "order_code",
            "amount",
            "refund_amount",
            "refunded_amount",
            "overpaid_by",
            "excess_refunded",
            "refund_transaction_ids",
            "status",
        )
    } == {
        "transaction_id": 2,
        "order_code": "DH35",
        "amount": -50_000,
        "refund_amount": 50_000,
        "refunded_amount": 50_000,
        "overpaid_by": 50_000,
        "excess_refunded": True,
        "refund_transaction_ids": [2],
        "status": "OVERPAID",
    }


def test_two_refunds_add_up_and_each_keeps_its_total(stack):
    order(stack, "DH36", 100_000)
    record(stack, 1, 100_000, "DH36")
    process(1, stack.processor_deps(), now=NOW)
    record(stack, 2, -30_000, "HOAN TIEN DH36 LAN 1")
    record(stack, 3, -20_000, "hoan tien dh-0036 lan 2")
    process(2, stack.processor_deps(), now=NOW)
    process(3, stack.processor_deps(), now=NOW)
    stored = stack.orders.get("DH36")
    assert (stored.refunded_amount, sorted(stored.refunds)) == (50_000, [2, 3])
    assert (stored.status, stored.payments) == ("PAID", {1: 100_000})
    totals = [d["refunded_amount"] for t, d in events(stack) if t == "Refund Recorded"]
    assert totals == [30_000, 50_000]


def test_a_refund_retried_after_a_crash_is_recorded_once(stack):
    order(stack, "DH37", 100_000)
    record(stack, 4, -40_000, "HOAN TIEN DH37")
    # The first attempt dies after recording the refund, before the ledger says PROCESSED.
    heal = fail_mark_processed_once(stack, 4)
    with pytest.raises(Exception, match="InternalServerError"):
        process(4, stack.processor_deps(), now=NOW)
    heal()
    for _ in range(2):  # and the queue delivers it twice more
        retry = process(4, stack.processor_deps(), now=NOW)
    assert retry.outcome == "already_processed"
    stored = stack.orders.get("DH37")
    assert (stored.refunded_amount, list(stored.refunds)) == (40_000, [4])
    assert stack.ledger.get(4).outcome == "refund"
    refunds = [d for t, d in events(stack) if t == "Refund Recorded"]
    # Published by the crashed attempt and its retry, the same both times.
    assert {d["refunded_amount"] for d in refunds} == {40_000}
    assert {d["transaction_id"] for d in refunds} == {4}


def test_a_refund_is_bound_before_it_changes_the_order(stack):
    # An order created after the refund was first seen can't draw it on a retry.
    record(stack, 5, -40_000, "HOAN TIEN DH38")
    heal = fail_calls(stack.clients["events"], "PutEvents", "InternalException")
    with pytest.raises(Exception, match="InternalException"):
        process(5, stack.processor_deps(), now=NOW)
    heal()
    order(stack, "DH38", 100_000)
    assert process(5, stack.processor_deps(), now=NOW).outcome == "money_out"
    assert stack.orders.get("DH38").refunds == {}
