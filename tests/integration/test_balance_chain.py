"""The balance chain through the real handlers (receiver, processor, reconciler), a moto
server and the Casso simulator, whose records carry each account's running balance: a
transaction that the webhook and the API both lack is found by its balance, synced for,
reported once and closed once when it turns up; a late delivery is never a gap; records
without a balance are not checkable, never gapped."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta, timezone
from typing import Any

import pytest

from local.stack.handler import LocalContext
from local.stack.template import ROOT
from tests.helpers import WEBHOOK_URL, published_events
from tests.integration.conftest import Pipeline

pytestmark = pytest.mark.integration

ACCOUNT = "88888888"
VIETNAM = timezone(timedelta(hours=7))
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


def ops_statement(server_stack, *args: str) -> subprocess.CompletedProcess:
    name = f"deployed-{uuid.uuid4().hex[:6]}"
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {
            "BalanceChainTableName": {"Value": server_stack.local.ref("BalanceChainTable")}
        },
    }
    server_stack.client("cloudformation").create_stack(
        StackName=name, TemplateBody=json.dumps(template)
    )
    return subprocess.run(
        [sys.executable, "-m", "ops", "statement", "--stack", name, *args],
        cwd=ROOT,
        env={**os.environ, "AWS_ENDPOINT_URL": server_stack.endpoint or ""},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_daily_statement_shows_balances_money_sources_and_the_gap(
    chained, casso, reconcile, server_stack
):
    # Yesterday, 10:00 in Vietnam: inside the reconciler's look-back window.
    yesterday = datetime.now(VIETNAM).date() - timedelta(days=1)
    day = datetime.combine(yesterday, time(10), tzinfo=VIETNAM)
    at = [day + timedelta(minutes=m) for m in range(4)]
    first = casso.add_transaction(100_000, "chuyen tien", deliver=False, when=at[0])
    out = casso.add_transaction(-30_000, "phi", deliver=False, when=at[1])  # API only
    lost = casso.add_transaction(40_000, "DH35", deliver=False, when=at[2], listed=False)
    last = casso.add_transaction(250_000, "DH36", deliver=False, when=at[3])
    assert chained.deliver(first) == 200
    assert chained.deliver_v2(last)["statusCode"] == 200
    chained.run_processor()
    reconcile()  # backfills the money out (IncomeOnly webhooks never send it)
    chained.run_processor()
    reconcile()

    result = ops_statement(server_stack, "--account", ACCOUNT, "--date", yesterday.isoformat())
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "opening balance  25,000,000 VND" in text
    assert "closing balance  25,360,000 VND" in text
    assert "money in         350,000 VND" in text
    assert "money out        30,000 VND" in text
    assert "transactions     3 (webhook-v1 1, webhook-v2 1, reconcile 1)" in text
    assert f"before transaction {last['id']}: {lost['amount']:,} VND missing" in text
    assert f"(after {out['id']})" in text

    result = ops_statement(
        server_stack, "--account", ACCOUNT, "--date", yesterday.isoformat(), "--csv"
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows == [
        {
            "account": ACCOUNT,
            "date": yesterday.isoformat(),
            "opening_balance": "25000000",
            "closing_balance": "25360000",
            "money_in": "350000",
            "money_out": "30000",
            "transactions": "3",
            "webhook_v1": "1",
            "webhook_v2": "1",
            "backfill": "1",
            "gaps": "1",
            "missing_amount": "40000",
            "checkable": "yes",
        }
    ]


def test_the_statement_of_records_without_a_balance_says_not_checkable(
    chained, casso, server_stack
):
    moment = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)
    record = casso.add_transaction(
        100_000, "chuyen tien", deliver=False, with_balance=False, when=moment
    )
    chained.deliver(record)
    chained.run_processor()
    result = ops_statement(server_stack, "--account", ACCOUNT, "--date", "2026-11-21")
    assert result.returncode == 0, result.stderr
    assert "opening balance  not checkable" in result.stdout
    assert "gaps             0" in result.stdout


def test_a_forged_delivery_cannot_fill_a_gap(pipeline, casso, load_function, reconcile):
    """A v1 delivery carrying the right token and the missing balance, unknown to Casso:
    Casso disowns it (unconfirmed), so it never joins the chain and the gap stays open."""
    processor = load_function(
        "ProcessorFunction", CASSO_API_BASE_URL=casso.api_url, CONFIRM_PAYMENTS="v1"
    )
    confirming = Pipeline(pipeline.stack, pipeline.receiver, processor, pipeline.queue_arn)
    first = casso.add_transaction(100_000, "chuyen tien", deliver=False)
    lost = casso.add_transaction(40_000, "DH35 coc", deliver=False, listed=False)
    after = casso.add_transaction(250_000, "chuyen tien", deliver=False)
    assert confirming.deliver(first) == 200
    assert confirming.deliver(after) == 200
    assert confirming.deliver({**lost, "id": 987_654}) == 200
    confirming.run_processor()
    assert pipeline.stack.ledger.get(987_654).outcome == "unconfirmed"
    summary = reconcile()
    assert summary["gaps"]["detected"] == [f"{ACCOUNT}#{after['id']}"]
    kinds = [kind for kind, _ in gap_events(pipeline.stack)]
    assert kinds == ["Balance Gap Detected"]
