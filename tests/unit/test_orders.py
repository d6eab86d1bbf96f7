"""Orders: creating, finding by any spelling, settling with the amount rules."""

from __future__ import annotations

import pytest

from casso_payments.orders.model import (
    OVERPAID,
    PAID,
    PARTIALLY_PAID,
    PENDING,
    OrderError,
    new_order,
    settle,
)
from tests.helpers import NOW


@pytest.mark.parametrize(
    ("expected", "paid", "tolerance", "status"),
    [
        (200_000, 0, 0, PENDING),
        (200_000, 150_000, 0, PARTIALLY_PAID),
        (200_000, 199_999, 0, PARTIALLY_PAID),
        (200_000, 200_000, 0, PAID),
        (200_000, 200_001, 0, OVERPAID),
        (200_000, 199_000, 1_000, PAID),  # within tolerance below
        (200_000, 201_000, 1_000, PAID),  # within tolerance above
        (200_000, 198_999, 1_000, PARTIALLY_PAID),
        (200_000, 201_001, 1_000, OVERPAID),
    ],
)
def test_amount_rules(expected, paid, tolerance, status):
    assert settle(expected, paid, tolerance) == status


def test_create_and_get_by_any_spelling(stack):
    order = stack.orders.create("DH0035", 200_500, now=NOW, note="shop A")
    assert (order.status, order.paid_amount, order.key) == (PENDING, 0, "DH35")
    for spelling in ("DH0035", "dh35", "DH-35", "dh.0035"):
        found = stack.orders.get(spelling)
        assert (found.order_code, found.expected_amount, found.note) == (
            "DH0035",
            200_500,
            "shop A",
        )
    assert stack.orders.get("DH36") is None


@pytest.mark.parametrize(
    ("code", "amount", "message"),
    [
        ("--", 1000, "has no letters or digits"),
        ("DH1", 0, "expected_amount must be a positive whole number of VND, got 0"),
        ("DH1", 10.5, "got 10.5"),
        ("DH1", "1000", "got '1000'"),
    ],
)
def test_create_rejects_bad_input(code, amount, message):
    with pytest.raises(OrderError, match=message):
        new_order(code, amount, now=NOW)


def test_create_refuses_a_second_order_with_the_same_canonical_code(stack):
    stack.orders.create("DH35", 1000, now=NOW)
    with pytest.raises(OrderError, match="an order with code DH35 already exists"):
        stack.orders.create("dh-0035", 5000, now=NOW)
    assert stack.orders.get("DH35").expected_amount == 1000


def test_existing_orders_are_those_the_codes_name_in_their_order(stack):
    stack.orders.create("DH20", 1000, now=NOW)
    stack.orders.create("DH30", 1000, now=NOW)
    found = stack.orders.existing(["DH10", "DH30", "DH20"])
    assert [o.key for o in found] == ["DH30", "DH20"]
    assert stack.orders.existing(["DH10"]) == []


def pay(stack, order, transaction_id, amount, tolerance=0):
    return stack.orders.pay(
        order, transaction_id=transaction_id, amount=amount, tolerance=tolerance, now=NOW
    )


def test_partial_transfers_add_up_to_paid(stack):
    order = stack.orders.create("DH36", 300_000, now=NOW)
    first = pay(stack, order, 2, 120_000)
    assert (first.applied, first.order.status, first.order.paid_amount) == (
        True,
        PARTIALLY_PAID,
        120_000,
    )
    assert first.order.paid_at is None
    second = pay(stack, first.order, 3, 180_000)
    assert (second.order.status, second.order.paid_amount) == (PAID, 300_000)
    assert second.order.payments == {2: 120_000, 3: 180_000}
    assert second.order.paid_at == "2026-11-21T12:00:00.000Z"


def test_one_transaction_is_never_applied_twice(stack):
    order = stack.orders.create("DH36", 300_000, now=NOW)
    pay(stack, order, 2, 120_000)
    # Even from a stale copy of the order that doesn't show the payment yet.
    again = pay(stack, order, 2, 120_000)
    assert again.applied is False
    stored = stack.orders.get("DH36")
    assert (stored.paid_amount, stored.payments) == (120_000, {2: 120_000})


def test_stale_read_from_a_concurrent_payment_is_retried_not_lost(stack):
    order = stack.orders.create("DH36", 300_000, now=NOW)
    pay(stack, order, 2, 120_000)
    # Another transfer applied from the same (now stale) read: it must add to 120,000.
    result = pay(stack, order, 3, 180_000)
    assert (result.applied, result.order.paid_amount, result.order.status) == (True, 300_000, PAID)


def test_overpaid_and_tolerance(stack):
    order = stack.orders.create("DH1234", 200_000, now=NOW)
    assert pay(stack, order, 100245, 250_000).order.status == OVERPAID
    near = stack.orders.create("DH77", 200_000, now=NOW)
    assert pay(stack, near, 5, 199_500, tolerance=1_000).order.status == PAID
