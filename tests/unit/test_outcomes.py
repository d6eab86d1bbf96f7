"""One name per outcome: what each outcome stores, publishes and counts stays what deployed
stacks, dashboards, alarms and event consumers already know (byte for byte)."""

from __future__ import annotations

import json

import pytest

from casso_payments import orders
from casso_payments.outcomes import Outcome
from casso_payments.payment_events import DETAIL_TYPES, PaymentEvent

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
}


def test_every_outcome_keeps_its_stored_value_metric_and_event():
    assert {(o.value, o.metric, o.detail_type, o.order_status) for o in Outcome} == RELEASED


def test_an_outcome_is_stored_and_published_as_its_plain_value():
    assert json.dumps({"outcome": Outcome.NEEDS_REVIEW}) == '{"outcome": "needs_review"}'
    assert f"{Outcome.PAID}" == "paid"
    assert Outcome("late") is Outcome.LATE


def test_the_bus_publishes_each_outcome_event_and_the_two_others():
    assert sorted(DETAIL_TYPES) == sorted(
        [o.detail_type for o in Outcome if o.detail_type]
        + ["Transaction Received", "Order Expired"]
    )


def test_an_outcome_without_an_event_of_its_own_refuses_to_make_one():
    with pytest.raises(ValueError, match="money_out publishes no event"):
        PaymentEvent.of(Outcome.MONEY_OUT, {})


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
