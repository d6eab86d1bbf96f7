"""The receiver's answers, each with the stores checked afterwards (in-process moto)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from casso_payments.casso.webhook_auth import signature_header
from casso_payments.receiver.intake import Delivery, receive
from local.cli.sample_events import LOCAL_CREDENTIALS, LOCAL_SECURE_TOKEN, OFFICIAL_VECTOR, V1_ITEM
from tests.helpers import NOW, drain_queue, fail_calls, ledger_items, transaction_ids

V1_HEADERS = {"secure-token": LOCAL_SECURE_TOKEN}


def v1(*items: dict, at: datetime = NOW, headers: dict | None = None) -> Delivery:
    body = json.dumps({"error": 0, "data": list(items)}, ensure_ascii=False)
    return Delivery(headers=V1_HEADERS if headers is None else headers, body=body, received_at=at)


def v2(data: dict, at: datetime = NOW) -> Delivery:
    body = {"error": 0, "data": data}
    header = signature_header(body, LOCAL_CREDENTIALS["checksum_key"], int(at.timestamp() * 1000))
    return Delivery({"X-Casso-Signature": header}, json.dumps(body, ensure_ascii=False), at)


def test_new_transaction_lands_once_in_ledger_and_queue(stack):
    answer = receive(v1(V1_ITEM), stack.intake_deps())
    assert (answer.status, answer.body) == (200, {"success": True})
    assert answer.outcome == "accepted"
    entry = stack.ledger.get(1)
    assert (entry.status, entry.source) == ("RECEIVED", "webhook-v1")
    assert entry.transaction.raw == V1_ITEM
    assert drain_queue(stack.sqs, stack.queue_url) == [
        {"transaction_id": 1, "source": "webhook-v1"}
    ]


def test_official_v2_vector_is_casso_test_call_recorded_as_a_test_not_a_payment(stack):
    body = json.dumps(OFFICIAL_VECTOR["body"])
    delivery = Delivery(OFFICIAL_VECTOR["headers"], body, NOW)
    answer = receive(delivery, stack.intake_deps())
    # Casso's "Test Call" passes only on 200 {"success": true}.
    assert (answer.status, answer.body, answer.generation) == (200, {"success": True}, "v2")
    assert (answer.outcome, answer.new, answer.test_calls) == ("test_call", (), 1)
    assert answer.metrics() == {"Deliveries": 1, "TestCalls": 1}
    assert stack.ledger.get(0) is None
    (test,) = ledger_items(stack.dynamodb, stack.table)
    assert (test["kind"], test["source"], test["received_at"]) == (
        "test_call",
        "webhook-v2",
        "2026-11-21T12:00:00.000Z",
    )
    assert (test["amount"], test["reference"]) == (599_000, "MA_GIAO_DICH_THU_NGHIEM")
    assert drain_queue(stack.sqs, stack.queue_url) == []


def test_v1_shaped_test_call_is_a_test_and_a_real_item_beside_it_is_a_payment(stack):
    test_item = {
        **V1_ITEM,
        "id": 0,
        "tid": "MA_GIAO_DICH_THU_NGHIEM",
        "description": "Giao dịch thử nghiệm",
        "amount": 599_000,
    }
    answer = receive(v1(test_item, V1_ITEM), stack.intake_deps())
    assert (answer.status, answer.outcome, answer.new, answer.test_calls) == (
        200,
        "accepted",
        (1,),
        1,
    )
    items = ledger_items(stack.dynamodb, stack.table)
    assert transaction_ids(items) == [1]
    assert [(i["kind"], i["source"]) for i in items if i["kind"] == "test_call"] == [
        ("test_call", "webhook-v1")
    ]
    assert [m["transaction_id"] for m in drain_queue(stack.sqs, stack.queue_url)] == [1]


def test_id_zero_without_casso_test_markers_is_an_ordinary_transaction(stack):
    answer = receive(v1({**V1_ITEM, "id": 0}), stack.intake_deps())
    assert (answer.outcome, answer.new, answer.test_calls) == ("accepted", (0,), 0)


def test_duplicate_is_acknowledged_and_changes_nothing(stack):
    deps = stack.intake_deps()
    receive(v1(V1_ITEM), deps)
    before = ledger_items(stack.dynamodb, stack.table)
    drain_queue(stack.sqs, stack.queue_url)
    answer = receive(v1(V1_ITEM, at=NOW + timedelta(seconds=5)), deps)
    assert (answer.status, answer.body, answer.outcome) == (200, {"success": True}, "duplicate")
    assert (answer.duplicates, answer.conflicts) == ((1,), ())
    assert ledger_items(stack.dynamodb, stack.table) == before
    assert drain_queue(stack.sqs, stack.queue_url) == []


def test_same_id_other_content_is_a_conflict_kept_beside_the_first(stack):
    deps = stack.intake_deps()
    receive(v1(V1_ITEM), deps)
    first = stack.ledger.get(V1_ITEM["id"])
    drain_queue(stack.sqs, stack.queue_url)
    # Same id, different content, no stronger source: the ledger's version stands, the other
    # is kept beside it, counted, and answered 200 as a conflict (never a plain duplicate).
    other = {**V1_ITEM, "amount": 999}
    for seconds in (5, 6):
        answer = receive(v1(other, at=NOW + timedelta(seconds=seconds)), deps)
        assert (answer.status, answer.body, answer.outcome) == (200, {"success": True}, "conflict")
        assert (answer.conflicts, answer.versions) == ((V1_ITEM["id"],), ())
        assert answer.metrics()["ConflictingDeliveries"] == 1
    assert stack.ledger.get(V1_ITEM["id"]) == first
    (version,) = stack.ledger.list_versions()  # kept once however often it comes
    assert (version.transaction.amount, version.source, version.state) == (
        999,
        "webhook-v1",
        "kept",
    )
    assert version.differs == ("amount",)
    assert drain_queue(stack.sqs, stack.queue_url) == []


def test_batch_with_repeats_records_each_id_once_and_queues_each_once(stack):
    deps = stack.intake_deps()
    receive(v1(V1_ITEM), deps)
    drain_queue(stack.sqs, stack.queue_url)
    items = [V1_ITEM, {**V1_ITEM, "id": 2}, {**V1_ITEM, "id": 2}, {**V1_ITEM, "id": 3}]
    answer = receive(v1(*items, at=NOW + timedelta(seconds=1)), deps)
    assert (answer.new, answer.duplicates) == ((2, 3), (1, 2))
    assert transaction_ids(ledger_items(stack.dynamodb, stack.table)) == [1, 2, 3]
    queued = sorted(m["transaction_id"] for m in drain_queue(stack.sqs, stack.queue_url))
    assert queued == [2, 3]


def test_more_than_ten_new_transactions_are_all_queued(stack):
    items = [{**V1_ITEM, "id": n} for n in range(100, 125)]
    answer = receive(v1(*items), stack.intake_deps())
    assert len(answer.new) == 25
    assert sorted(m["transaction_id"] for m in drain_queue(stack.sqs, stack.queue_url)) == list(
        range(100, 125)
    )


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "no Secure-Token or X-Casso-Signature header"),
        ({"secure-token": "wrong"}, "Secure-Token does not match"),
        ({"X-Casso-Signature": "t=1,v1=abcd"}, "X-Casso-Signature does not match the body"),
    ],
)
def test_bad_credentials_answer_401_and_write_nothing(stack, headers, reason):
    answer = receive(v1(V1_ITEM, headers=headers), stack.intake_deps())
    assert (answer.status, answer.body) == (401, {"success": False, "error": reason})
    assert ledger_items(stack.dynamodb, stack.table) == []
    assert drain_queue(stack.sqs, stack.queue_url) == []


def test_malformed_json_is_quarantined_whole_and_acknowledged(stack):
    text = '{"error": 0, "data": [{"id": 3, "amount": 10000, "descri'
    answer = receive(Delivery(V1_HEADERS, text, NOW), stack.intake_deps())
    assert (answer.status, answer.body, answer.outcome) == (200, {"success": True}, "quarantined")
    (item,) = ledger_items(stack.dynamodb, stack.table)
    assert item["kind"] == "quarantine"
    assert item["status"] == "QUARANTINED"
    assert item["body"] == text
    assert item["reason"].startswith("body: not valid JSON")
    assert item["generation"] == "v1"
    assert drain_queue(stack.sqs, stack.queue_url) == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            {"error": 0, "data": [{"amount": 5}]},
            "data[0].id: missing (Casso's transaction id is required)",
        ),
        (
            {"error": 0, "data": [{"id": 5, "amount": "5"}]},
            'data[0].amount: expected a whole number, got str "5"',
        ),
        ({"error": 2, "data": []}, "error: Casso reported an error, expected 0, got int 2"),
    ],
)
def test_authenticated_but_not_understood_is_quarantined_with_reason(stack, body, reason):
    text = json.dumps(body)
    answer = receive(Delivery(V1_HEADERS, text, NOW), stack.intake_deps())
    assert (answer.status, answer.outcome, answer.quarantined) == (200, "quarantined", True)
    (item,) = ledger_items(stack.dynamodb, stack.table)
    assert (item["reason"], item["body"]) == (reason, text)


def test_batch_with_one_bad_item_keeps_the_good_ones_and_quarantines_the_delivery(stack):
    text = json.dumps({"error": 0, "data": [V1_ITEM, {"amount": 7}]})
    answer = receive(Delivery(V1_HEADERS, text, NOW), stack.intake_deps())
    assert (answer.status, answer.new, answer.quarantined) == (200, (1,), True)
    items = ledger_items(stack.dynamodb, stack.table)
    assert transaction_ids(items) == [1]
    (quarantined,) = [i for i in items if i["kind"] == "quarantine"]
    assert quarantined["body"] == text
    assert [m["transaction_id"] for m in drain_queue(stack.sqs, stack.queue_url)] == [1]


def test_same_bad_delivery_twice_is_kept_once(stack):
    deps = stack.intake_deps()
    delivery = Delivery(V1_HEADERS, "not json", NOW)
    assert receive(delivery, deps).quarantined
    again = receive(delivery, deps)
    assert (again.status, again.quarantined) == (200, False)
    assert len(ledger_items(stack.dynamodb, stack.table)) == 1


def test_oversized_body_answers_413_and_writes_nothing(stack):
    deps = stack.intake_deps(max_body_bytes=2048)
    big = {**V1_ITEM, "description": "x" * 4000}
    answer = receive(v1(big), deps)
    assert answer.status == 413
    assert answer.body == {"success": False, "error": answer.reason}
    assert "over the 2048-byte limit" in answer.reason
    assert ledger_items(stack.dynamodb, stack.table) == []


def test_empty_v1_batch_is_acknowledged(stack):
    answer = receive(v1(), stack.intake_deps())
    assert (answer.status, answer.outcome) == (200, "empty")
    assert ledger_items(stack.dynamodb, stack.table) == []


def test_ledger_failure_before_the_write_answers_503_then_the_retry_lands_once(stack):
    deps = stack.intake_deps()
    heal = fail_calls(stack.dynamodb, "PutItem", "ProvisionedThroughputExceededException")
    answer = receive(v1(V1_ITEM), deps)
    assert (answer.status, answer.outcome) == (503, "unavailable")
    assert answer.body == {"success": False, "error": "temporarily unavailable"}
    assert drain_queue(stack.sqs, stack.queue_url) == []
    heal()
    retry = receive(v1(V1_ITEM, at=NOW + timedelta(minutes=1)), deps)
    assert (retry.status, retry.new) == (200, (1,))
    assert transaction_ids(ledger_items(stack.dynamodb, stack.table)) == [1]
    assert [m["transaction_id"] for m in drain_queue(stack.sqs, stack.queue_url)] == [1]


def test_queue_failure_after_the_write_answers_503_and_casso_retry_requeues(stack):
    deps = stack.intake_deps()
    heal = fail_calls(stack.sqs, "SendMessageBatch")
    answer = receive(v1(V1_ITEM), deps)
    assert answer.status == 503  # not acknowledged: Casso retries, first after 1 minute
    assert stack.ledger.get(1).status == "RECEIVED"
    heal()
    assert drain_queue(stack.sqs, stack.queue_url) == []
    retry = receive(v1(V1_ITEM, at=NOW + timedelta(minutes=1)), deps)
    assert (retry.status, retry.duplicates, retry.requeued) == (200, (1,), (1,))
    assert drain_queue(stack.sqs, stack.queue_url) == [
        {"transaction_id": 1, "source": "webhook-v1"}
    ]


def test_copy_arriving_within_the_requeue_grace_is_not_queued_again(stack):
    deps = stack.intake_deps()
    receive(v1(V1_ITEM), deps)
    drain_queue(stack.sqs, stack.queue_url)
    copy = receive(v1(V1_ITEM, at=NOW + timedelta(seconds=29)), deps)
    assert copy.requeued == ()
    assert drain_queue(stack.sqs, stack.queue_url) == []


def test_processed_transaction_redelivered_later_is_not_queued_again(stack):
    deps = stack.intake_deps()
    receive(v1(V1_ITEM), deps)
    drain_queue(stack.sqs, stack.queue_url)
    stack.dynamodb.update_item(
        TableName=stack.table,
        Key={"pk": {"S": "TXN#1"}},
        UpdateExpression="SET #s = :p REMOVE pending",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":p": {"S": "PROCESSED"}},
    )
    replay = receive(v1(V1_ITEM, at=NOW + timedelta(days=3)), deps)
    assert (replay.status, replay.duplicates, replay.requeued) == (200, (1,), ())
    assert drain_queue(stack.sqs, stack.queue_url) == []


def test_secrets_manager_unavailable_answers_503_and_writes_nothing(stack):
    fail_calls(stack.secretsmanager, "GetSecretValue", "ThrottlingException")
    answer = receive(v1(V1_ITEM), stack.intake_deps())
    assert answer.status == 503
    assert ledger_items(stack.dynamodb, stack.table) == []


def test_v2_vietnamese_description_is_stored_as_sent(stack):
    data = {
        **OFFICIAL_VECTOR["body"]["data"],
        "id": 77,
        "description": "Thanh toán DH1234 Nguyễn Văn Á",
    }
    answer = receive(v2(data), stack.intake_deps())
    assert answer.status == 200
    entry = stack.ledger.get(77)
    assert entry.transaction.description == "Thanh toán DH1234 Nguyễn Văn Á"
    assert entry.transaction.raw == data


def record_calls(*clients) -> list[str]:
    calls: list[str] = []
    for client in clients:
        client.meta.events.register(
            "before-call",
            lambda model, **_: calls.append(model.name),
            unique_id=f"count-{id(client)}",
        )
    return calls


def test_acknowledging_takes_only_the_ledger_write_and_the_queue_send(stack):
    deps = stack.intake_deps()
    deps.credentials.get()  # warm, as after the first delivery of an execution environment
    calls = record_calls(stack.dynamodb, stack.sqs, stack.secretsmanager)
    receive(v1(V1_ITEM), deps)
    assert calls == ["PutItem", "SendMessageBatch"]
    calls.clear()
    receive(v1(V1_ITEM, at=NOW + timedelta(seconds=1)), deps)
    assert calls == ["PutItem"]  # a duplicate: the failed conditional put says all we need
    calls.clear()
    receive(v1(*[{**V1_ITEM, "id": n} for n in range(10, 22)]), deps)
    assert calls == ["PutItem"] * 12 + ["SendMessageBatch"] * 2
