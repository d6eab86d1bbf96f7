"""The processor's logic on in-process moto: outcomes, order effects, events, ledger."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from casso_payments.aws.bus import Bus, PublishError
from casso_payments.events.build import MAX_CANDIDATES, MAX_TEXT_CHARS
from casso_payments.events.outcomes import Outcome
from casso_payments.processor.process import MissingTransaction, process
from casso_payments.receiver.intake import Delivery, receive
from local.cli.sample_events import LOCAL_SECURE_TOKEN, V1_ITEM
from tests.helpers import NOW, eventbridge_limits, fail_calls, published_events


def record(stack, transaction_id: int, amount: int, description: str) -> None:
    item = {**V1_ITEM, "id": transaction_id, "amount": amount, "description": description}
    body = json.dumps({"error": 0, "data": [item]}, ensure_ascii=False)
    answer = receive(Delivery({"Secure-Token": LOCAL_SECURE_TOKEN}, body, NOW), stack.intake_deps())
    assert answer.status == 200


def order(stack, code: str, expected: int) -> None:
    stack.orders.create(code, expected, now=NOW)


def events(stack) -> list[tuple[str, dict]]:
    return published_events(stack.sqs, stack.events_tap_url)


def test_matched_payment_settles_the_order_and_says_so(stack):
    order(stack, "DH35", 200_500)
    record(stack, 1, 200_500, "MBVCB.3278841.DH35.CT tu 0123 NGUYEN VAN A")
    outcome = process(1, stack.processor_deps(), now=NOW)
    assert (outcome.outcome, outcome.effect.order_code, outcome.effect.applied) == (
        "paid",
        "DH35",
        True,
    )
    stored = stack.orders.get("DH35")
    assert (stored.status, stored.paid_amount, stored.payments) == ("PAID", 200_500, {1: 200_500})
    entry = stack.ledger.get(1)
    assert (entry.status, entry.outcome) == ("PROCESSED", "paid")
    published = events(stack)
    assert [t for t, _ in published] == ["Transaction Received", "Order Paid"]
    received, paid = (d for _, d in published)
    assert (received["transaction_id"], received["order_code"], received["outcome"]) == (
        1,
        "DH35",
        "paid",
    )
    assert paid == {
        "transaction_id": 1,
        "order_code": "DH35",
        "amount": 200_500,
        "description": "MBVCB.3278841.DH35.CT tu 0123 NGUYEN VAN A",
        "when": "2020-11-02",
        "account_number": "123456789",
        "reference": "TF80307914",
        "source": "webhook-v1",
        "expected_amount": 200_500,
        "paid_amount": 200_500,
        "remaining": 0,
        "overpaid_by": 0,
        "status": "PAID",
        "transaction_ids": [1],
        "paid_at": "2026-11-21T12:00:00.000Z",
        "truncated": [],
    }


def test_two_partial_transfers(stack):
    order(stack, "DH36", 300_000)
    record(stack, 2, 120_000, "IBFT DH36 thanh toan lan 1")
    record(stack, 3, 100_000, "dh-0036 lan 2")
    assert process(2, stack.processor_deps(), now=NOW).outcome == "partially_paid"
    assert process(3, stack.processor_deps(), now=NOW).outcome == "partially_paid"
    stored = stack.orders.get("DH36")
    assert (stored.status, stored.paid_amount) == ("PARTIALLY_PAID", 220_000)
    partial = [d for t, d in events(stack) if t == "Order Partially Paid"]
    assert [(d["transaction_id"], d["paid_amount"], d["remaining"]) for d in partial] == [
        (2, 120_000, 180_000),
        (3, 220_000, 80_000),
    ]


def test_overpaid(stack):
    order(stack, "DH1234", 200_000)
    record(stack, 9, 250_000, "Thanh toán đơn hàng ĐH1234")
    assert process(9, stack.processor_deps(), now=NOW).outcome == "overpaid"
    (overpaid,) = [d for t, d in events(stack) if t == "Order Overpaid"]
    assert (overpaid["overpaid_by"], overpaid["status"]) == (50_000, "OVERPAID")


def test_tolerance_from_settings(stack):
    order(stack, "DH1", 200_000)
    record(stack, 11, 199_000, "DH1")
    assert process(11, stack.processor_deps(amount_tolerance=1_000), now=NOW).outcome == "paid"


def test_code_naming_no_order_is_unmatched_and_kept(stack):
    order(stack, "DH35", 200_500)
    record(stack, 12, 99_000, "CHUYEN TIEN DH999 DH998")
    outcome = process(12, stack.processor_deps(), now=NOW)
    assert (outcome.outcome, outcome.effect.order_code) == ("unmatched", None)
    entry = stack.ledger.get(12)
    assert (entry.status, entry.outcome) == ("PROCESSED", "unmatched")
    (unmatched,) = [d for t, d in events(stack) if t == "Payment Unmatched"]
    assert (unmatched["order_code"], unmatched["candidates"]) == (None, ["DH999", "DH998"])
    assert stack.orders.get("DH35").paid_amount == 0


def test_first_candidate_naming_an_existing_order_wins(stack):
    order(stack, "DH20", 100_000)
    record(stack, 13, 100_000, "DH10 DH20")
    assert process(13, stack.processor_deps(), now=NOW).effect.order_code == "DH20"


def test_money_out_naming_no_order_is_recorded_never_matched(stack):
    # Money out naming an order is a refund (tests/unit/test_refunds.py); this names none.
    order(stack, "DH35", 200_500)
    record(stack, 4, -50_000, "CHUYEN TIEN DH99 NCC")
    outcome = process(4, stack.processor_deps(), now=NOW)
    assert (outcome.outcome, outcome.effect.order_code) == ("money_out", None)
    assert stack.orders.get("DH35").paid_amount == 0
    assert stack.ledger.get(4).outcome == "money_out"
    assert [t for t, _ in events(stack)] == ["Transaction Received"]


def test_redelivery_of_a_processed_transaction_changes_nothing(stack):
    order(stack, "DH35", 200_500)
    record(stack, 1, 100_000, "DH35")
    process(1, stack.processor_deps(), now=NOW)
    events(stack)
    again = process(1, stack.processor_deps(), now=NOW)
    assert again.outcome == Outcome.ALREADY_PROCESSED
    assert stack.orders.get("DH35").paid_amount == 100_000
    assert events(stack) == []


def test_crash_after_the_order_update_does_not_apply_twice(stack):
    order(stack, "DH35", 200_500)
    record(stack, 1, 100_000, "DH35")
    deps = stack.processor_deps()
    # The ledger's "processed" mark fails once, after the order was updated.
    heal = fail_mark_processed_once(stack, 1)
    with pytest.raises(Exception, match="InternalServerError"):
        process(1, deps, now=NOW)
    assert stack.orders.get("DH35").paid_amount == 100_000
    heal()
    retry = process(1, deps, now=NOW)
    assert (retry.outcome, retry.effect.applied) == ("partially_paid", False)
    assert stack.orders.get("DH35").payments == {1: 100_000}
    assert stack.ledger.get(1).status == "PROCESSED"


def test_eventbridge_failure_fails_the_record_and_leaves_it_pending(stack):
    order(stack, "DH35", 200_500)
    record(stack, 1, 200_500, "DH35")
    heal = fail_calls(stack.clients["events"], "PutEvents", "InternalException")
    with pytest.raises(Exception, match="InternalException"):
        process(1, stack.processor_deps(), now=NOW)
    assert stack.ledger.get(1).status == "RECEIVED"  # retried, not lost
    heal()
    assert process(1, stack.processor_deps(), now=NOW).outcome == "paid"
    assert [t for t, _ in events(stack)] == ["Transaction Received", "Order Paid"]


def test_eventbridge_rejecting_entries_is_a_failure(stack):
    order(stack, "DH35", 200_500)
    record(stack, 1, 200_500, "DH35")

    class Rejecting:
        def put_events(self, Entries):
            return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "Throttled"}, {}]}

    deps = stack.processor_deps()
    deps = replace(deps, bus=Bus(Rejecting, deps.bus.name))
    with pytest.raises(PublishError, match="Transaction Received: Throttled"):
        process(1, deps, now=NOW)
    assert stack.ledger.get(1).status == "RECEIVED"


def test_a_200_kb_description_pays_the_order_and_publishes_it_bounded(stack):
    # Casso passes on whatever the sender wrote; EventBridge takes 256 KB per request.
    lift = eventbridge_limits(stack.clients["events"])
    order(stack, "DH40", 200_000)
    description = "CT DH40 " + "Chuyển tiền mua hàng " * 8_000
    assert len(description.encode()) > 200_000
    record(stack, 40, 200_000, description)
    assert process(40, stack.processor_deps(), now=NOW).outcome == "paid"
    assert process(40, stack.processor_deps(), now=NOW).outcome == "already_processed"
    lift()
    stored = stack.orders.get("DH40")
    assert (stored.status, stored.paid_amount) == ("PAID", 200_000)
    assert stack.ledger.get(40).transaction.description == description  # kept whole
    published = events(stack)
    assert [t for t, _ in published] == ["Transaction Received", "Order Paid"]
    for _, detail in published:
        assert (detail["transaction_id"], detail["truncated"]) == (40, ["description"])
        assert detail["description"] == description[:MAX_TEXT_CHARS]
        assert len(json.dumps(detail, ensure_ascii=False).encode()) < 16 * 1024


def test_a_short_description_is_published_whole(stack):
    order(stack, "DH41", 100_000)
    record(stack, 41, 100_000, "DH41 " + "x" * (MAX_TEXT_CHARS - 5))
    process(41, stack.processor_deps(), now=NOW)
    for _, detail in events(stack):
        assert (len(detail["description"]), detail["truncated"]) == (MAX_TEXT_CHARS, [])


def test_a_description_naming_thousands_of_codes_publishes_the_first_few(stack):
    record(stack, 42, 100_000, " ".join(f"DH{n}" for n in range(1, 2_000)))
    assert process(42, stack.processor_deps(), now=NOW).outcome == "unmatched"
    received, unmatched = events(stack)
    assert unmatched[0] == "Payment Unmatched"
    assert unmatched[1]["candidates"] == [f"DH{n}" for n in range(1, MAX_CANDIDATES + 1)]
    assert unmatched[1]["truncated"] == ["description", "candidates"]
    assert received[1]["truncated"] == ["description"]


def test_id_missing_from_the_ledger_is_an_error(stack):
    with pytest.raises(MissingTransaction, match="transaction 404 is not in the ledger"):
        process(404, stack.processor_deps(), now=NOW)


def fail_mark_processed_once(stack, transaction_id: int):
    """The ledger's PROCESSED mark for one transaction fails, after its order was updated."""
    return fail_calls(
        stack.dynamodb,
        "UpdateItem",
        "InternalServerError",
        when=lambda params: (
            "REMOVE pending" in params["UpdateExpression"]
            and params["Key"]["pk"]["S"] == f"TXN#{transaction_id}"
        ),
    )


def test_a_retry_keeps_the_order_bound_at_the_first_attempt(stack):
    # "DH99 DH36": only DH36 exists, the transfer is applied to it, the mark fails, the
    # business then creates DH99: the retry must not pay DH99 as well.
    order(stack, "DH36", 300_000)
    record(stack, 7, 300_000, "DH99 DH36")
    heal = fail_mark_processed_once(stack, 7)
    with pytest.raises(Exception, match="InternalServerError"):
        process(7, stack.processor_deps(), now=NOW)
    heal()
    order(stack, "DH99", 300_000)
    retry = process(7, stack.processor_deps(), now=NOW)
    assert (retry.outcome, retry.effect.order_code, retry.effect.applied) == ("paid", "DH36", False)
    dh36 = stack.orders.get("DH36")
    dh99 = stack.orders.get("DH99")
    assert (dh36.status, dh36.payments) == ("PAID", {7: 300_000})
    assert (dh99.status, dh99.payments) == ("PENDING", {})
    entry = stack.ledger.get(7)
    assert (entry.outcome, entry.binding["order_code"]) == ("paid", "DH36")
    paid = [d["order_code"] for t, d in events(stack) if t == "Order Paid"]
    assert set(paid) == {"DH36"}  # the retry may repeat it (same transaction id), never DH99


def test_a_retry_replays_the_outcome_its_payment_produced_not_the_order_now(stack):
    # tx2 partially pays, its mark fails; tx4 pays the order off; tx2's retry must still say
    # "partially paid": one "Order Paid" for the order, carried by tx4.
    order(stack, "DH36", 300_000)
    record(stack, 2, 120_000, "DH36 lan 1")
    record(stack, 4, 180_000, "DH36 lan 2")
    heal = fail_mark_processed_once(stack, 2)
    with pytest.raises(Exception, match="InternalServerError"):
        process(2, stack.processor_deps(), now=NOW)
    heal()
    assert process(4, stack.processor_deps(), now=NOW).outcome == "paid"
    retry = process(2, stack.processor_deps(), now=NOW)
    assert (retry.outcome, retry.effect.applied) == ("partially_paid", False)
    assert stack.ledger.get(2).outcome == "partially_paid"
    published = events(stack)
    assert [d["transaction_id"] for t, d in published if t == "Order Paid"] == [4]
    partial = [
        (d["transaction_id"], d["paid_amount"], d["status"])
        for t, d in published
        if t == "Order Partially Paid"
    ]
    assert partial == [(2, 120_000, "PARTIALLY_PAID"), (2, 120_000, "PARTIALLY_PAID")]


def test_a_transfer_to_an_order_already_paid_is_an_extra_payment_not_a_second_paid(stack):
    order(stack, "DH35", 200_500)
    record(stack, 1, 200_500, "DH35")
    record(stack, 2, 200_500, "DH35 again")
    assert process(1, stack.processor_deps(), now=NOW).outcome == "paid"
    extra = process(2, stack.processor_deps(), now=NOW)
    assert (extra.outcome, extra.effect.order.status) == ("extra_payment", "OVERPAID")
    published = events(stack)
    kinds = [t for t, _ in published]
    assert (kinds.count("Order Paid"), "Order Overpaid" in kinds) == (1, False)
    (detail,) = [d for t, d in published if t == "Order Extra Payment"]
    assert (detail["transaction_id"], detail["overpaid_by"], detail["transaction_ids"]) == (
        2,
        200_500,
        [1, 2],
    )


def test_two_existing_orders_named_need_a_person_and_change_nothing(stack):
    order(stack, "DH301", 300_000)
    order(stack, "DH302", 300_000)
    record(stack, 21, 300_000, "DH301 DH302 DH303")
    outcome = process(21, stack.processor_deps(), now=NOW)
    assert (outcome.outcome, outcome.effect.order_code) == ("needs_review", None)
    for code in ("DH301", "DH302"):
        assert stack.orders.get(code).paid_amount == 0
    published = events(stack)
    assert [t for t, _ in published] == ["Transaction Received", "Payment Needs Review"]
    review = published[1][1]
    assert (review["transaction_id"], review["candidates"]) == (21, ["DH301", "DH302"])
    entry = stack.ledger.get(21)
    assert (entry.status, entry.outcome) == ("PROCESSED", "needs_review")
