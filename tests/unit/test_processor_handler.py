"""ProcessorFunction's handler on the sample SQS events, after the receiver's sample events."""

from __future__ import annotations

import json

import pytest

from casso_payments.receiver.intake import Delivery, receive
from local.cli.sample_events import LOCAL_SECURE_TOKEN, load_event
from tests.helpers import NOW, captured_handler, loaded_at_cold_start, published_events
from tests.sample_expectations import EXPECTED_PROCESSING, EXPECTED_STATUS, LOCAL_ORDERS


@pytest.fixture
def processor(stack, load_handler_of):
    """The local story's starting point: orders exist, the receiver took every sample event."""
    for code, amount in LOCAL_ORDERS:
        stack.orders.create(code, amount, now=NOW)
    deps = stack.intake_deps()
    for name in EXPECTED_STATUS:
        event = load_event(name)
        receive(Delivery(event["headers"], event["body"], NOW), deps)
    module = load_handler_of(stack, "ProcessorFunction")
    return captured_handler(module, "ProcessorFunction", timeout_seconds=30)


def test_every_sample_event_is_in_the_expectations():
    from local.cli.sample_events import EVENTS

    assert {p.stem for p in EVENTS.glob("processor-*.json")} == set(EXPECTED_PROCESSING)


@pytest.mark.parametrize("name", EXPECTED_PROCESSING)
def test_sample_event_is_processed_as_documented(processor, stack, name):
    outcomes, failures = EXPECTED_PROCESSING[name]
    response = processor(load_event(name))
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == failures
    for transaction_id, outcome in outcomes.items():
        entry = stack.ledger.get(transaction_id)
        assert (entry.status, entry.outcome) == ("PROCESSED", outcome)


def test_the_whole_story_settles_the_orders(processor, stack):
    for name in EXPECTED_PROCESSING:
        processor(load_event(name))
    status = {code: stack.orders.get(code) for code, _ in LOCAL_ORDERS}
    assert {c: (o.status, o.paid_amount) for c, o in status.items()} == {
        "DH35": ("PAID", 200_500),
        "DH36": ("PARTIALLY_PAID", 220_000),
        "DH1234": ("OVERPAID", 250_000),
    }
    kinds = [t for t, _ in published_events(stack.sqs, stack.events_tap_url)]
    assert kinds.count("Transaction Received") == 6
    assert [k for k in kinds if k != "Transaction Received"] == [
        "Order Paid",
        "Order Partially Paid",
        "Order Partially Paid",
        "Payment Unmatched",
        "Refund Recorded",  # the money out names DH35
        "Order Overpaid",
    ]
    assert status["DH35"].refunded_amount == 50_000


def test_redelivered_batch_applies_nothing_twice(processor, stack):
    processor(load_event("processor-partial-pair"))
    published_events(stack.sqs, stack.events_tap_url)
    response = processor(load_event("processor-partial-pair"))
    assert response["batchItemFailures"] == []
    order = stack.orders.get("DH36")
    assert (order.paid_amount, order.payments) == (220_000, {2: 120_000, 3: 100_000})
    assert published_events(stack.sqs, stack.events_tap_url) == []


def test_poisoned_record_is_reported_alone_with_its_reason_logged(processor, stack, capsys):
    response = processor(load_event("processor-poisoned-batch"))
    assert response == {"batchItemFailures": [{"itemIdentifier": "msg-poisoned"}]}
    assert stack.orders.get("DH1234").status == "OVERPAID"
    lines = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")
    ]
    (failure,) = [line for line in lines if line.get("message", "").startswith("record failed")]
    assert failure["message_id"] == "msg-poisoned"
    assert failure["reason"].startswith("ValueError: message body is not JSON")
    metrics = [line for line in lines if "_aws" in line]
    assert metrics[-1]["RecordFailures"] == [1.0]
    assert metrics[-1]["OrdersOverpaid"] == [1.0]


def test_a_batch_whose_every_record_failed_fails_the_invocation_naming_each(processor, stack):
    """Lambda then counts an error (ProcessorErrorsAlarm) and retries the whole batch."""
    from casso_payments.aws.sqs_batch import BatchFailed
    from local.stack.lambda_events import sqs_event, sqs_record

    event = sqs_event(
        [
            sqs_record("not json", message_id="bad-body"),
            sqs_record('{"transaction_id": 999999, "source": "webhook-v1"}', message_id="unknown"),
        ]
    )
    with pytest.raises(BatchFailed) as failed:
        processor(event)
    assert [mid for mid, _ in failed.value.errors] == ["bad-body", "unknown"]
    assert str(failed.value).startswith("all 2 records failed: bad-body: ValueError: message body")
    assert "unknown: MissingTransaction: transaction 999999" in str(failed.value)
    assert published_events(stack.sqs, stack.events_tap_url) == []


@pytest.mark.parametrize("event", [{}, {"Records": []}, {"Records": "x"}])
def test_an_event_that_is_not_an_sqs_batch_is_refused_saying_so(processor, event):
    with pytest.raises(ValueError, match="not an SQS batch: 'Records' is "):
        processor(event)


def test_the_processor_imports_the_casso_client_only_when_it_confirms_a_payment():
    """Cold start: a fresh interpreter loading the handler has not imported requests, the
    Casso client or Powertools Parameters (confirmation imports them on first use), nor
    Powertools' event data classes (sqs_batch's docstring)."""
    lazy = [
        "requests",
        "casso_payments.casso.client",
        "aws_lambda_powertools.utilities.parameters",
        "aws_lambda_powertools.utilities.data_classes",
    ]
    assert loaded_at_cold_start("ProcessorFunction", lazy) == dict.fromkeys(lazy, False)


def test_idempotency_records_keep_the_key_and_data_deployed_stacks_hold(processor, stack):
    """The message reaches Powertools as its dataclass; the key still hashes what the dict
    it replaced gave ([transaction_id, replay]), so records written before still match."""
    import hashlib

    processor(load_event("processor-partial-pair"))
    table = stack.environment("ProcessorFunction")["IDEMPOTENCY_TABLE_NAME"]
    items = stack.dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]
    records = {item["id"]["S"].rsplit("#", 1)[1]: item for item in items}
    for transaction_id in (2, 3):
        key = hashlib.md5(json.dumps([transaction_id, 0]).encode()).hexdigest()  # noqa: S324
        record = records[key]
        assert record["id"]["S"].endswith(".process_once#" + key)
        assert json.loads(record["data"]["S"]) == {
            "outcome": "partially_paid",
            "order_code": "DH36",
        }


@pytest.mark.parametrize(
    "description",
    [
        "DH35\u0663",  # Arabic-Indic digit: DH35 must not be read from DH35٣
        "DH\uff13\uff15",  # full-width digits
        "DH" + "3" * 5000,  # past Python's 4,300-digit int() limit
        "DH" + "0" * 5000 + "35",
    ],
    ids=["arabic-indic", "full-width", "5000-digits", "5000-zeros"],
)
def test_a_description_with_unreadable_digits_is_unmatched_not_a_failure(
    stack, load_handler_of, description
):
    from local.stack.lambda_events import sqs_event, sqs_record

    stack.orders.create("DH35", 200_500, now=NOW)
    item = {"id": 77, "amount": 200_500, "description": description}
    body = json.dumps({"error": 0, "data": [item]}, ensure_ascii=False)
    answer = receive(Delivery({"Secure-Token": LOCAL_SECURE_TOKEN}, body, NOW), stack.intake_deps())
    assert (answer.status, answer.new) == (200, (77,))
    processor = captured_handler(
        load_handler_of(stack, "ProcessorFunction"), "ProcessorFunction", timeout_seconds=30
    )
    message = json.dumps({"transaction_id": 77, "source": "webhook-v1"})
    response = processor(sqs_event([sqs_record(message, message_id="m77")]))
    assert response["batchItemFailures"] == []
    entry = stack.ledger.get(77)
    assert (entry.status, entry.outcome) == ("PROCESSED", "unmatched")
    order = stack.orders.get("DH35")
    assert (order.status, order.paid_amount) == ("PENDING", 0)
