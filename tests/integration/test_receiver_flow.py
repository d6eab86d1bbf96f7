"""The receiver against a moto server: each answer with the stores checked afterwards."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from casso_payments.receiver.intake import Delivery, receive
from local.cli.sample_events import LOCAL_SECURE_TOKEN, V1_ITEM, WEBHOOK_PATH, load_event
from local.stack.lambda_events import rest_proxy_event
from tests.helpers import drain_queue, fail_calls, ledger_items, transaction_ids
from tests.integration.conftest import invoke
from tests.sample_expectations import EXPECTED_STATUS

pytestmark = pytest.mark.integration


def v1_event(*items: dict, token: str = LOCAL_SECURE_TOKEN) -> dict:
    body = json.dumps({"error": 0, "data": list(items)}, ensure_ascii=False)
    return rest_proxy_event("POST", WEBHOOK_PATH, headers={"Secure-Token": token}, body=body)


def test_a_delivery_lands_once_in_the_ledger_and_once_on_the_queue(receiver, server_stack):
    response = invoke(receiver, v1_event(V1_ITEM))
    assert (response["statusCode"], json.loads(response["body"])) == (200, {"success": True})
    items = ledger_items(server_stack.dynamodb, server_stack.table)
    assert transaction_ids(items) == [1]
    assert (items[0]["status"], items[0]["pending"], items[0]["amount"]) == (
        "RECEIVED",
        "RECEIVED",
        200500,
    )
    assert drain_queue(server_stack.sqs, server_stack.queue_url) == [
        {"transaction_id": 1, "source": "webhook-v1"}
    ]


def test_twenty_concurrent_copies_of_one_delivery_land_once(server_stack):
    body = json.dumps({"error": 0, "data": [V1_ITEM]})
    # Twenty receiver instances, each with its own clients, all answering at once.
    environments = [server_stack.intake_deps(fresh_clients=True) for _ in range(20)]
    start = threading.Barrier(20)

    def deliver(deps):
        start.wait()
        delivery = Delivery({"Secure-Token": LOCAL_SECURE_TOKEN}, body, datetime.now(UTC))
        return receive(delivery, deps)

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(deliver, environments))
    assert [a.status for a in answers] == [200] * 20
    assert sorted(len(a.new) for a in answers) == [0] * 19 + [1]
    assert sum(len(a.duplicates) for a in answers) == 19
    assert transaction_ids(ledger_items(server_stack.dynamodb, server_stack.table)) == [1]
    assert len(drain_queue(server_stack.sqs, server_stack.queue_url)) == 1


@pytest.mark.parametrize("name", EXPECTED_STATUS)
def test_each_sample_answer_with_the_store_checked(receiver, server_stack, name):
    response = invoke(receiver, load_event(name))
    assert response["statusCode"] == EXPECTED_STATUS[name]
    items = ledger_items(server_stack.dynamodb, server_stack.table)
    queued = sorted(
        m["transaction_id"] for m in drain_queue(server_stack.sqs, server_stack.queue_url)
    )
    expected_ids = {
        "receiver-v1-valid": [1],
        "receiver-v2-valid": [],  # Casso's Test Call: kept as a test, not a transaction
        "receiver-v2-vietnamese": [100245],
        "receiver-duplicate-batch": [1, 2],
        "receiver-v1-second-partial": [3],
        "receiver-v1-money-out": [4],
        "receiver-v1-unmatched": [5],
        "receiver-v2-tampered": [],
        "receiver-missing-credentials": [],
        "receiver-malformed": [],
    }[name]
    assert transaction_ids(items) == expected_ids
    assert queued == expected_ids
    quarantined = [i for i in items if i["kind"] == "quarantine"]
    assert len(quarantined) == (name == "receiver-malformed")
    tests = [i["source"] for i in items if i["kind"] == "test_call"]
    assert tests == (["webhook-v2"] if name == "receiver-v2-valid" else [])


def test_wrong_token_writes_nothing(receiver, server_stack):
    response = invoke(receiver, v1_event(V1_ITEM, token="guess"))
    assert response["statusCode"] == 401
    assert json.loads(response["body"]) == {
        "success": False,
        "error": "Secure-Token does not match",
    }
    assert ledger_items(server_stack.dynamodb, server_stack.table) == []
    assert drain_queue(server_stack.sqs, server_stack.queue_url) == []


def test_oversized_body_answers_413_and_writes_nothing(load_receiver, server_stack):
    receiver = load_receiver(MAX_BODY_BYTES="4096")
    response = invoke(receiver, v1_event(*[{**V1_ITEM, "id": n} for n in range(40)]))
    assert response["statusCode"] == 413
    assert "over the 4096-byte limit" in json.loads(response["body"])["error"]
    assert ledger_items(server_stack.dynamodb, server_stack.table) == []


def test_queue_send_failing_after_the_write_is_recovered_by_casso_retry(
    load_receiver, server_stack
):
    receiver = load_receiver(REQUEUE_AFTER_SECONDS="0")  # Casso's first retry is 1 min later
    heal = fail_calls(receiver.deps.queue.client, "SendMessageBatch", "InternalError")
    first = invoke(receiver, v1_event(V1_ITEM))
    assert first["statusCode"] == 503  # not acknowledged, so Casso retries
    assert transaction_ids(ledger_items(server_stack.dynamodb, server_stack.table)) == [1]
    assert drain_queue(server_stack.sqs, server_stack.queue_url) == []
    heal()
    retry = invoke(receiver, v1_event(V1_ITEM))
    assert retry["statusCode"] == 200
    assert drain_queue(server_stack.sqs, server_stack.queue_url) == [
        {"transaction_id": 1, "source": "webhook-v1"}
    ]
    assert len(ledger_items(server_stack.dynamodb, server_stack.table)) == 1


def test_ledger_throttled_answers_503_and_the_retry_lands_once(receiver, server_stack):
    heal = fail_calls(
        receiver.deps.ledger.table.dynamodb, "PutItem", "ProvisionedThroughputExceededException"
    )
    assert invoke(receiver, v1_event(V1_ITEM))["statusCode"] == 503
    assert ledger_items(server_stack.dynamodb, server_stack.table) == []
    heal()
    assert invoke(receiver, v1_event(V1_ITEM))["statusCode"] == 200
    assert transaction_ids(ledger_items(server_stack.dynamodb, server_stack.table)) == [1]
    assert len(drain_queue(server_stack.sqs, server_stack.queue_url)) == 1
