"""ConfirmPayments: a transaction that arrived only with the v1 token changes an order only
once Casso's API vouches for it; Casso's silence delays it, never settles it unconfirmed.
The real receiver and processor handlers, a moto server and the Casso simulator."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.casso.simulator import CassoSimulator
from local.stack.poller import poll_once, queue_depth
from tests.helpers import published_events

pytestmark = pytest.mark.integration


def outcome(stack, transaction_id: int) -> str | None:
    return stack.ledger.get(transaction_id).outcome


def transaction_lookups(casso: CassoSimulator) -> list[str]:
    return [path for method, path in casso.api_calls if path.startswith("/v2/transactions/")]


def test_a_v1_transfer_casso_vouches_for_is_settled(confirming, casso, server_stack):
    pipeline = confirming()
    record = casso.add_transaction(200_500, "DH35 thanh toan", deliver=False)
    assert pipeline.deliver(record) == 200
    pipeline.run_processor()
    assert outcome(server_stack, record["id"]) == "paid"
    assert transaction_lookups(casso) == [f"/v2/transactions/{record['id']}"]
    kinds = [t for t, _ in published_events(server_stack.sqs, server_stack.events_tap_url)]
    assert kinds == ["Transaction Received", "Order Paid"]


@pytest.mark.parametrize(
    ("forge", "reason"),
    [
        (lambda real: {**real, "id": 987_654}, "not found at Casso"),
        (lambda real: {**real, "amount": 200_500}, "amount"),
        (lambda real: {**real, "description": "DH35"}, "description"),
        (lambda real: {**real, "bankSubAccId": "99999999"}, "account_number"),
    ],
    ids=["unknown-id", "amount", "description", "account"],
)
def test_a_forged_v1_delivery_with_the_right_token_changes_no_order(
    confirming, casso, server_stack, forge, reason
):
    pipeline = confirming()
    # A real 1,000 VND transfer naming DH35, and a delivery that differs from it.
    real = casso.add_transaction(1_000, "DH35 an trua", deliver=False)
    forged = forge(real)
    assert pipeline.deliver(forged) == 200
    pipeline.run_processor()
    assert outcome(server_stack, forged["id"]) == "unconfirmed"
    dh35 = server_stack.orders.get("DH35")
    assert (dh35.status, dh35.payments) == ("PENDING", {})
    published = published_events(server_stack.sqs, server_stack.events_tap_url)
    assert [t for t, _ in published] == ["Transaction Received", "Payment Unconfirmed"]
    detail = published[1][1]
    assert (detail["bound_order"], detail["order_code"]) == ("DH35", None)
    assert reason in detail["reason"]


def test_casso_unreachable_delays_the_payment_and_never_settles_it_unconfirmed(
    confirming, casso, server_stack
):
    pipeline = confirming()
    record = casso.add_transaction(200_500, "DH35", deliver=False)
    assert pipeline.deliver(record) == 200
    casso.outage(503)
    first = pipeline.poll()
    assert (first.received, first.deleted, len(first.failed)) == (1, 0, 1)
    entry = server_stack.ledger.get(record["id"])
    assert (entry.status, entry.outcome) == ("RECEIVED", None)
    assert server_stack.orders.get("DH35").payments == {}
    kinds = [t for t, _ in published_events(server_stack.sqs, server_stack.events_tap_url)]
    assert kinds == []
    casso.recover()
    pipeline.run_processor()
    assert outcome(server_stack, record["id"]) == "paid"


def test_the_api_key_missing_delays_the_payment_too(confirming, casso, server_stack):
    server_stack.secretsmanager.put_secret_value(
        SecretId=server_stack.local.ref("CassoApiKeySecret"), SecretString=json.dumps({})
    )
    pipeline = confirming()
    record = casso.add_transaction(200_500, "DH35", deliver=False)
    assert pipeline.deliver(record) == 200
    assert len(pipeline.poll().failed) == 1
    assert server_stack.ledger.get(record["id"]).status == "RECEIVED"
    assert server_stack.orders.get("DH35").payments == {}


def test_v2_deliveries_are_confirmed_only_when_asked(confirming, casso, server_stack):
    record = casso.add_transaction(100_000, "DH36 lan 1", deliver=False)
    assert confirming("v1").deliver_v2(record)["statusCode"] == 200
    confirming("v1").run_processor()
    assert outcome(server_stack, record["id"]) == "partially_paid"
    assert transaction_lookups(casso) == []
    other = casso.add_transaction(100_000, "DH36 lan 2", deliver=False)
    assert confirming("all").deliver_v2({**other, "amount": 200_000})["statusCode"] == 200
    confirming("all").run_processor()
    assert outcome(server_stack, other["id"]) == "unconfirmed"
    assert transaction_lookups(casso) == [f"/v2/transactions/{other['id']}"]


def test_none_settles_v1_deliveries_without_asking_casso(confirming, casso, server_stack):
    pipeline = confirming("none")
    assert pipeline.deliver({"id": 555, "amount": 200_500, "description": "DH35"}) == 200
    pipeline.run_processor()
    assert outcome(server_stack, 555) == "paid"
    assert casso.api_calls == []


def test_a_payment_waiting_for_casso_backs_off_on_its_message_visibility(
    confirming, casso, server_stack
):
    pipeline = confirming()
    asked: list[dict[str, Any]] = []
    sqs = pipeline.processor._sqs()  # the handler's own, made on first use
    sqs.meta.events.register(
        "before-parameter-build.sqs.ChangeMessageVisibility",
        lambda params, **_: asked.append(params),
    )
    record = casso.add_transaction(200_500, "DH35", deliver=False)
    assert pipeline.deliver(record) == 200
    casso.outage(503)
    # As Lambda's event source mapping: a failed record's message is left as the handler set it.
    result = poll_once(
        server_stack.sqs, server_stack.queue_url, pipeline.queue_arn, pipeline.process
    )
    assert len(result.failed) == 1
    # First receive: the shortest back-off, on this very message.
    assert [(p["QueueUrl"], p["VisibilityTimeout"]) for p in asked] == [
        (server_stack.queue_url, 60)
    ]
    assert queue_depth(server_stack.sqs, server_stack.queue_url) == 1
    assert server_stack.ledger.get(record["id"]).status == "RECEIVED"


def test_each_receive_of_a_waiting_payment_backs_off_longer(confirming, casso, server_stack):
    """The back-off follows the record's receive count (SQS's ApproximateReceiveCount, as
    Lambda hands it over): 1, 2, 4, 8 minutes, then 15 on the last receive before the DLQ."""
    pipeline = confirming()
    asked: list[int] = []
    pipeline.processor._sqs().meta.events.register(
        "before-parameter-build.sqs.ChangeMessageVisibility",
        lambda params, **_: asked.append(params["VisibilityTimeout"]),
    )
    record = casso.add_transaction(200_500, "DH35", deliver=False)
    assert pipeline.deliver(record) == 200
    casso.outage(503)
    # Each poll makes the failed message visible again at once: the next receive of it.
    polls = [pipeline.poll() for _ in range(5)]  # MaxReceiveCount's default
    assert [(p.received, len(p.failed)) for p in polls] == [(1, 1)] * 5
    assert asked == [60, 120, 240, 480, 900]
    assert server_stack.ledger.get(record["id"]).status == "RECEIVED"


def test_a_forged_v1_refund_is_not_recorded_on_its_order(confirming, casso, server_stack):
    pipeline = confirming()
    # Money out never seen by Casso, "refunding" DH35: it must not show on the order.
    assert (
        pipeline.deliver({"id": 4040, "amount": -200_500, "description": "HOAN TIEN DH35"}) == 200
    )
    real = casso.add_transaction(-1_000, "HOAN TIEN DH36", deliver=False)
    assert pipeline.deliver(real) == 200
    pipeline.run_processor()
    assert outcome(server_stack, 4040) == "unconfirmed"
    assert outcome(server_stack, real["id"]) == "refund"
    dh35 = server_stack.orders.get("DH35")
    dh36 = server_stack.orders.get("DH36")
    assert (dh35.refunds, dh35.refunded_amount) == ({}, 0)
    assert (list(dh36.refunds), dh36.refunded_amount) == ([real["id"]], 1_000)
    published = published_events(server_stack.sqs, server_stack.events_tap_url)
    assert ("Payment Unconfirmed", None) in [(t, d["order_code"]) for t, d in published]
    assert ("Refund Recorded", "DH36") in [(t, d["order_code"]) for t, d in published]
