"""Receiver -> queue -> processor against a moto server, with the local SQS poller."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from casso_payments.aws.sqs_batch import BatchFailed
from local.cli.sample_events import V1_ITEM
from tests.helpers import drain_queue, published_events

pytestmark = pytest.mark.integration


def event_kinds(server_stack) -> list[str]:
    return [kind for kind, _ in published_events(server_stack.sqs, server_stack.events_tap_url)]


def test_transfer_confirms_its_order_end_to_end(pipeline, server_stack):
    assert (
        pipeline.deliver({**V1_ITEM, "id": 1, "description": "MBVCB.3278841.DH35.CT tu 0123"})
        == 200
    )
    pipeline.run_processor()
    order = server_stack.orders.get("DH35")
    assert (order.status, order.payments) == ("PAID", {1: 200_500})
    assert server_stack.ledger.get(1).outcome == "paid"
    assert event_kinds(server_stack) == ["Transaction Received", "Order Paid"]
    assert drain_queue(server_stack.sqs, server_stack.queue_url) == []


def test_duplicates_and_redelivery_apply_once(pipeline, server_stack):
    item = {**V1_ITEM, "id": 2, "amount": 120_000, "description": "IBFT DH36 lan 1"}
    for _ in range(3):
        assert pipeline.deliver(item) == 200
    pipeline.run_processor()
    # SQS redelivers a message already handled (at-least-once), and a batch is replayed.
    body = json.dumps({"transaction_id": 2, "source": "webhook-v1"})
    for _ in range(2):
        server_stack.sqs.send_message(QueueUrl=server_stack.queue_url, MessageBody=body)
    pipeline.run_processor()
    pipeline.process(pipeline.message(body))
    order = server_stack.orders.get("DH36")
    assert (order.paid_amount, order.payments, order.status) == (
        120_000,
        {2: 120_000},
        "PARTIALLY_PAID",
    )
    assert event_kinds(server_stack) == ["Transaction Received", "Order Partially Paid"]


def test_poisoned_record_fails_alone_and_reaches_the_dlq_after_max_receives(pipeline, server_stack):
    server_stack.sqs.send_message(
        QueueUrl=server_stack.queue_url, MessageBody='{"transaction_id": "x"}'
    )
    assert pipeline.deliver({**V1_ITEM, "id": 1, "description": "DH35"}) == 200
    first = pipeline.poll()
    assert (first.received, first.deleted, len(first.failed)) == (2, 1, 1)
    assert server_stack.orders.get("DH35").status == "PAID"
    max_receives = int(server_stack.local.ref("MaxReceiveCount"))
    polls = [pipeline.poll() for _ in range(max_receives)]
    # Received MaxReceiveCount times in all, then moved by the redrive policy, not dropped.
    assert [p.received for p in polls] == [1] * (max_receives - 1) + [0]
    assert drain_queue(server_stack.sqs, server_stack.queue_url) == []
    assert drain_queue(server_stack.sqs, server_stack.dlq_url) == [{"transaction_id": "x"}]


def test_concurrent_processing_of_one_transaction_applies_and_publishes_once(
    pipeline, server_stack, load_function
):
    assert pipeline.deliver({**V1_ITEM, "id": 1, "description": "DH35"}) == 200
    drain_queue(server_stack.sqs, server_stack.queue_url)
    second_environment = load_function("ProcessorFunction")
    body = json.dumps({"transaction_id": 1, "source": "webhook-v1"})
    # Hold the first processor inside its work (at the event publish) while the second runs.
    inside, release = threading.Event(), threading.Event()

    def hold(**_: Any) -> None:
        inside.set()
        release.wait(10)

    pipeline.processor.deps.bus.client.meta.events.register(
        "before-parameter-build.eventbridge.PutEvents", hold
    )
    first: dict = {}
    worker = threading.Thread(target=lambda: first.update(pipeline.process(pipeline.message(body))))
    worker.start()
    assert inside.wait(10)
    # The second sees the first in progress: its record fails, to be retried. (A batch whose
    # every record failed fails the invocation, so Lambda retries the whole batch.)
    with pytest.raises(BatchFailed, match="all 1 records failed: second: "):
        pipeline.process(pipeline.message(body, message_id="second"), second_environment)
    release.set()
    worker.join(10)
    assert first["batchItemFailures"] == []
    order = server_stack.orders.get("DH35")
    assert order.payments == {1: 200_500}
    assert event_kinds(server_stack) == ["Transaction Received", "Order Paid"]
    # The retry, later, finds the work done.
    assert pipeline.process(pipeline.message(body), second_environment)["batchItemFailures"] == []
    assert event_kinds(server_stack) == []
