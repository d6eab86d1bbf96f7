"""The balance chain through the real handlers (receiver, processor, reconciler), a moto
server and the Casso simulator, whose records carry each account's running balance: a
transaction that the webhook and the API both lack is found by its balance, synced for,
reported once and closed once when it turns up; a late delivery is never a gap; records
without a balance are not checkable, never gapped."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from local.stack.handler import LocalContext
from tests.helpers import WEBHOOK_URL, published_events
from tests.integration.conftest import Pipeline

pytestmark = pytest.mark.integration

ACCOUNT = "88888888"
GAP_EVENTS = ("Balance Gap Detected", "Balance Gap Closed")


@pytest.fixture
def chained(pipeline, casso, load_function) -> Pipeline:
    """The pipeline with the processor able to ask the simulator to sync."""
    processor = load_function("ProcessorFunction", CASSO_API_BASE_URL=casso.api_url)
    return Pipeline(pipeline.stack, pipeline.receiver, processor, pipeline.queue_arn)


@pytest.fixture
def reconcile(casso, load_function) -> Callable[..., dict[str, Any]]:
    """One run of the real reconciler handler; gaps are published as soon as found
    (BALANCE_GAP_MINUTES=0) unless a test says otherwise."""

    def run(**overrides: str) -> dict[str, Any]:
        module = load_function(
            "ReconcilerFunction",
            CASSO_API_BASE_URL=casso.api_url,
            WEBHOOK_URL=WEBHOOK_URL,
            **{"BALANCE_GAP_MINUTES": "0", **overrides},
        )
        summary: dict[str, Any] = module.lambda_handler(
            {}, LocalContext("ReconcilerFunction", timeout_seconds=300)
        )
        return summary

    return run


def gap_events(stack) -> list[tuple[str, dict[str, Any]]]:
    return [
        (kind, detail)
        for kind, detail in published_events(stack.sqs, stack.events_tap_url)
        if kind in GAP_EVENTS
    ]


def test_a_transfer_the_webhook_and_the_api_both_lack_is_found_by_its_balance(
    chained, casso, reconcile, server_stack
):
    first = casso.add_transaction(100_000, "chuyen tien", deliver=False)
    lost = casso.add_transaction(40_000, "DH35 coc", deliver=False, listed=False)
    after = casso.add_transaction(250_000, "DH36 thanh toan", deliver=False)
    assert chained.deliver(first) == 200
    assert chained.deliver(after) == 200
    chained.run_processor()
    # The processor saw the break and asked Casso to sync that account at once.
    assert ACCOUNT in casso.sync_requests

    summary = reconcile()
    assert summary["gaps"]["open"] == [f"{ACCOUNT}#{after['id']}"]
    assert summary["gaps"]["synced"] == [ACCOUNT]
    ((kind, detail),) = gap_events(server_stack)
    assert kind == "Balance Gap Detected"
    assert detail["gap_id"] == f"{ACCOUNT}#{after['id']}"
    assert (detail["account_number"], detail["transaction_id"]) == (ACCOUNT, after["id"])
    assert detail["previous_transaction_id"] == first["id"]
    assert detail["previous_balance"] == first["cusum_balance"]
    assert detail["balance_before"] == after["cusum_balance"] - after["amount"]
    assert detail["missing_amount"] == lost["amount"]

    # Still open: reported once, however many runs see it.
    assert reconcile()["gaps"]["open"] == [f"{ACCOUNT}#{after['id']}"]
    assert gap_events(server_stack) == []

    # Casso lists it at last: the backfill records it, the processor chains it, the gap
    # closes, once.
    casso.list_transaction(lost["id"])
    assert reconcile()["backfill"]["backfilled"] == 1
    chained.run_processor()
    summary = reconcile()
    assert summary["gaps"]["open"] == []
    assert summary["gaps"]["closed"] == [f"{ACCOUNT}#{after['id']}"]
    ((kind, detail),) = gap_events(server_stack)
    assert (kind, detail["gap_id"], detail["missing_amount"]) == (
        "Balance Gap Closed",
        f"{ACCOUNT}#{after['id']}",
        lost["amount"],
    )
    reconcile()
    assert gap_events(server_stack) == []
    # What is left is the account's first transaction, its origin.
    assert [(s.transaction_id, s.origin) for s in server_stack.chain.starts()] == [
        (first["id"], True)
    ]


def test_a_transfer_the_webhook_missed_is_backfilled_before_it_counts_as_a_gap(
    chained, casso, reconcile, server_stack
):
    first = casso.add_transaction(100_000, "chuyen tien", deliver=False)
    missed = casso.add_transaction(40_000, "DH35 coc", deliver=False)
    after = casso.add_transaction(250_000, "DH36", deliver=False)
    chained.deliver(first)
    chained.deliver(after)
    chained.run_processor()
    # Within BalanceGapMinutes: synced and backfilled, never reported.
    summary = reconcile(BALANCE_GAP_MINUTES="60")
    assert summary["gaps"]["waiting"] == [f"{ACCOUNT}#{after['id']}"]
    assert summary["backfill"]["missing"] == [missed["id"]]
    chained.run_processor()
    summary = reconcile(BALANCE_GAP_MINUTES="60")
    assert (summary["gaps"]["open"], summary["gaps"]["chained"]) == (
        [],
        [f"{ACCOUNT}#{after['id']}"],
    )
    assert gap_events(server_stack) == []


def test_an_out_of_order_delivery_is_not_a_gap(chained, casso, reconcile, server_stack):
    records = [
        casso.add_transaction(amount, "chuyen tien", deliver=False)
        for amount in (100_000, -30_000, 55_000, 70_000)
    ]
    # Delivered newest first, each processed before the next arrives.
    for record in reversed(records):
        assert chained.deliver(record) == 200
        chained.run_processor()
    summary = reconcile()
    assert (summary["gaps"]["open"], summary["gaps"]["detected"]) == ([], [])
    assert gap_events(server_stack) == []
    (origin,) = server_stack.chain.starts()
    assert (origin.transaction_id, origin.origin) == (records[0]["id"], True)


def test_transactions_in_the_same_second_still_chain(chained, casso, reconcile, server_stack):
    from datetime import UTC, datetime

    moment = datetime(2026, 11, 21, 5, 0, tzinfo=UTC)
    records = [
        casso.add_transaction(amount, "chuyen tien", deliver=False, when=moment)
        for amount in (10_000, 20_000, 30_000)
    ]
    # In the same second, the ids say nothing either: delivered middle, last, first.
    for record in (records[1], records[2], records[0]):
        chained.deliver(record)
    chained.run_processor()
    summary = reconcile()
    assert summary["gaps"]["open"] == []
    assert gap_events(server_stack) == []


def test_records_without_a_balance_are_not_checkable_never_gapped(
    chained, casso, reconcile, server_stack
):
    records = [
        casso.add_transaction(amount, "chuyen tien", deliver=False, with_balance=False)
        for amount in (100_000, 40_000, 250_000)
    ]
    chained.deliver(records[0])
    chained.deliver(records[2])
    chained.run_processor()
    summary = reconcile()
    assert (summary["gaps"]["starts"], summary["gaps"]["open"]) == (0, [])
    assert gap_events(server_stack) == []
