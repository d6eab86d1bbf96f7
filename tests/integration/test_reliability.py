"""Reliability under concurrency and faults, against a moto server."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from casso_payments.intake import Delivery, receive
from casso_payments.ledger import get_entry
from casso_payments.orders import create_order, get_order
from casso_payments.processing import ProcessorDeps, process
from local.sample_events import LOCAL_SECURE_TOKEN, V1_ITEM
from tests.helpers import drain_queue, fail_calls, ledger_items, published_events, transaction_ids
from tests.integration.conftest import NOW

pytestmark = pytest.mark.integration
THREADS = 50


def all_at_once(work, environments):
    start = threading.Barrier(len(environments))

    def run(environment):
        start.wait()
        return work(environment)

    with ThreadPoolExecutor(max_workers=len(environments)) as pool:
        return list(pool.map(run, environments))


def test_fifty_threads_delivering_one_transaction_make_one_ledger_item_and_one_message(
    server_stack,
):
    body = json.dumps({"error": 0, "data": [V1_ITEM]})
    environments = [server_stack.intake_deps(fresh_clients=True) for _ in range(THREADS)]
    answers = all_at_once(
        lambda deps: receive(
            Delivery({"Secure-Token": LOCAL_SECURE_TOKEN}, body, datetime.now(UTC)), deps
        ),
        environments,
    )
    assert {a.status for a in answers} == {200}
    assert sum(len(a.new) for a in answers) == 1
    assert transaction_ids(ledger_items(server_stack.dynamodb, server_stack.table)) == [1]
    assert len(drain_queue(server_stack.sqs, server_stack.queue_url)) == 1


def test_fifty_threads_processing_one_transaction_change_its_order_once(server_stack):
    create_order(server_stack.dynamodb, server_stack.orders_table, "DH35", 300_000, now=NOW)
    body = json.dumps({"error": 0, "data": [{**V1_ITEM, "amount": 100_000, "description": "DH35"}]})
    receive(Delivery({"Secure-Token": LOCAL_SECURE_TOKEN}, body, NOW), server_stack.intake_deps())
    base = server_stack.processor_deps()
    environments = [
        ProcessorDeps(server_stack.client("dynamodb"), server_stack.client("events"), base.settings)
        for _ in range(THREADS)
    ]
    outcomes = all_at_once(lambda deps: process(1, deps, now=datetime.now(UTC)), environments)
    applied = [o for o in outcomes if o.applied]
    assert len(applied) == 1
    order = get_order(server_stack.dynamodb, server_stack.orders_table, "DH35")
    assert (order.paid_amount, order.payments) == (100_000, {1: 100_000})
    assert get_entry(server_stack.dynamodb, server_stack.table, 1).status == "PROCESSED"


def test_eventbridge_failing_is_retried_reported_and_not_lost(pipeline, server_stack):
    assert pipeline.deliver({**V1_ITEM, "id": 1, "description": "DH35"}) == 200
    heal = fail_calls(pipeline.processor.deps.events, "PutEvents", "InternalException")
    first = pipeline.poll()
    assert (first.received, first.deleted, len(first.failed)) == (1, 0, 1)  # reported, kept
    assert get_entry(server_stack.dynamodb, server_stack.table, 1).status == "RECEIVED"
    heal()
    pipeline.run_processor()
    assert get_entry(server_stack.dynamodb, server_stack.table, 1).outcome == "paid"
    kinds = [kind for kind, _ in published_events(server_stack.sqs, server_stack.events_tap_url)]
    assert kinds == ["Transaction Received", "Order Paid"]
    assert get_order(server_stack.dynamodb, server_stack.orders_table, "DH35").payments == {
        1: 200_500
    }
