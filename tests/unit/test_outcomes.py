"""One name per outcome: what each outcome stores, publishes and counts stays what deployed
stacks, dashboards, alarms and event consumers already know (byte for byte)."""

from __future__ import annotations

import json

import pytest

from casso_payments.casso.payload import parse_transaction
from casso_payments.events.build import transfer_events
from casso_payments.events.details import DETAIL_TYPES
from casso_payments.events.effect import Effect
from casso_payments.events.outcomes import Outcome
from casso_payments.ledger.entries import LedgerEntry
from casso_payments.orders import model as orders

# (ledger `outcome`, metric, detail-type, order status) as released before `Outcome` existed.
RELEASED = {
    ("paid", "OrdersPaid", "Order Paid", "PAID"),
    ("partially_paid", "OrdersPartiallyPaid", "Order Partially Paid", "PARTIALLY_PAID"),
    ("overpaid", "OrdersOverpaid", "Order Overpaid", "OVERPAID"),
    ("extra_payment", "OrdersExtraPayment", "Order Extra Payment", None),
    ("unmatched", "PaymentsUnmatched", "Payment Unmatched", None),
    ("needs_review", "PaymentsNeedReview", "Payment Needs Review", None),
    ("unconfirmed", "PaymentsUnconfirmed", "Payment Unconfirmed", None),
    ("money_out", "MoneyOut", None, None),
    ("refund", "RefundsRecorded", "Refund Recorded", None),
    ("late", "LatePayments", "Late Payment", "EXPIRED"),
    ("other_account", "OtherAccountTransactions", None, None),
    ("already_processed", "AlreadyProcessed", None, None),
    ("conflict", "PaymentConflicts", "Payment Conflict", None),  # new with Payment Conflict
}


def test_every_outcome_keeps_its_stored_value_metric_and_event():
    assert {(o.value, o.metric, o.detail_type, o.order_status) for o in Outcome} == RELEASED


def test_an_outcome_is_stored_and_published_as_its_plain_value():
    assert json.dumps({"outcome": Outcome.NEEDS_REVIEW}) == '{"outcome": "needs_review"}'
    assert f"{Outcome.PAID}" == "paid"
    assert Outcome("late") is Outcome.LATE


def test_the_bus_publishes_each_outcome_event_and_the_others():
    assert sorted(DETAIL_TYPES) == sorted(
        [o.detail_type for o in Outcome if o.detail_type]
        + ["Transaction Received", "Order Expired", "Order Cancelled"]
        + ["Balance Gap Detected", "Balance Gap Closed"]
    )


def test_an_outcome_without_an_event_of_its_own_publishes_only_transaction_received():
    transaction = parse_transaction({"id": 7, "amount": -5000, "description": "tra lai"})
    entry = LedgerEntry(transaction, "RECEIVED", "webhook-v2", "2026-11-21T12:00:00.000Z")
    published = transfer_events(entry, Effect(Outcome.MONEY_OUT))
    assert [e.detail_type for e in published] == ["Transaction Received"]
    assert published[0].detail["outcome"] == "money_out"


def test_an_order_outcome_without_its_order_refuses_to_make_an_event():
    transaction = parse_transaction({"id": 8, "amount": 5000, "description": "DH1"})
    entry = LedgerEntry(transaction, "RECEIVED", "webhook-v2", "2026-11-21T12:00:00.000Z")
    with pytest.raises(ValueError, match="publishes an event about an order, and has none"):
        transfer_events(entry, Effect(Outcome.PAID, "DH1"))


@pytest.mark.parametrize(
    ("status", "settles", "outcome"),
    [
        (orders.PARTIALLY_PAID, False, Outcome.PARTIALLY_PAID),
        (orders.PAID, True, Outcome.PAID),
        (orders.OVERPAID, True, Outcome.OVERPAID),
        (orders.PAID, False, Outcome.EXTRA_PAYMENT),
        (orders.OVERPAID, False, Outcome.EXTRA_PAYMENT),
    ],
)
def test_a_payment_is_named_by_what_it_did_to_its_order(status, settles, outcome):
    payment = orders.AppliedPayment(amount=1, status=status, paid_amount=1, settles=settles)
    assert Outcome.of_payment(payment) is outcome
    if outcome.order_status is not None:
        assert outcome.order_status == status
