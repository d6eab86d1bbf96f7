"""The processor's logic on the in-memory fakes (tests/fakes.py), no AWS at all: outcomes,
order effects, the events published and the ledger, as tests/unit/test_processing.py checks
them on moto. The contract test (tests/unit/test_repository_contract.py) keeps the fakes
answering as the real owners do."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, cast

import boto3
import pytest

from casso_payments.aws.bus import Bus
from casso_payments.casso.payload import parse_transaction
from casso_payments.events.outcomes import Outcome
from casso_payments.ledger.repository import Ledger
from casso_payments.orders.repository import Orders
from casso_payments.processor.deps import ProcessorDeps
from casso_payments.processor.process import MissingTransaction, Processed, process
from casso_payments.settings.processor import ProcessorSettings
from tests.fakes import FakeBus, FakeLedger, FakeOrders
from tests.helpers import NOW

LATER = NOW + timedelta(hours=2)
ENVIRONMENT = {
    "LEDGER_TABLE_NAME": "ledger",
    "ORDERS_TABLE_NAME": "orders",
    "IDEMPOTENCY_TABLE_NAME": "idempotency",
    "EVENT_BUS_NAME": "payments",
    "CONFIRM_PAYMENTS": "none",
}


class Crash(RuntimeError):
    """The processor died here (a failed call, a timeout): its message is retried."""


class Shop:
    """The processor's dependencies, all fakes, and the steps the tests take with them."""

    def __init__(self, **environment: str) -> None:
        self.ledger, self.orders, self.bus = FakeLedger(), FakeOrders(), FakeBus()
        settings = ProcessorSettings.from_env({**ENVIRONMENT, **environment})
        # The fakes in the owners' places (their methods alike: the contract test).
        ledger, orders, bus = (
            cast(Ledger, self.ledger),
            cast(Orders, self.orders),
            cast(Bus, self.bus),
        )
        self.deps = ProcessorDeps(ledger, orders, bus, settings, casso=None)

    def order(self, code: str, expected: int, **options: Any) -> None:
        self.orders.create(code, expected, now=NOW, **options)

    def record(self, transaction_id: int, amount: int, description: str) -> None:
        transfer = {
            "id": transaction_id,
            "amount": amount,
            "description": description,
            "reference": f"FT{transaction_id}",
            "transactionDateTime": "2026-11-21 18:59:00",
            "accountNumber": "88888888",
        }
        recorded = self.ledger.record_transaction(
            parse_transaction(transfer), source="webhook-v2", now=NOW
        )
        assert recorded.new

    def process(self, transaction_id: int, now: datetime = NOW) -> Processed:
        return process(transaction_id, self.deps, now=now)

    def events(self) -> list[tuple[str, dict[str, Any]]]:
        return self.bus.drain()


@contextmanager
def crashing(target: object, method: str) -> Iterator[None]:
    """`target.method` fails while in the block: the processor dies there."""

    def crash(*args: Any, **kwargs: Any) -> None:
        raise Crash(method)

    setattr(target, method, crash)
    try:
        with pytest.raises(Crash, match=method):
            yield
    finally:
        delattr(target, method)


@pytest.fixture(autouse=True)
def no_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any AWS client made here fails the test: the logic runs on the fakes alone."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"an AWS client was made: {args}")

    monkeypatch.setattr(boto3.session.Session, "client", refuse)


@pytest.fixture
def shop() -> Shop:
    return Shop()


def test_matched_payment_settles_the_order_and_says_so(shop):
    shop.order("DH35", 200_500)
    shop.record(1, 200_500, "MBVCB.3278841.DH35.CT tu 0123 NGUYEN VAN A")
    outcome = shop.process(1)
    assert (outcome.outcome, outcome.effect.order_code, outcome.effect.applied) == (
        "paid",
        "DH35",
        True,
    )
    assert outcome.events == ("Transaction Received", "Order Paid")
    stored = shop.orders.get("DH35")
    assert (stored.status, stored.paid_amount, stored.payments) == ("PAID", 200_500, {1: 200_500})
    entry = shop.ledger.get(1)
    assert (entry.status, entry.outcome, entry.binding["order_code"]) == (
        "PROCESSED",
        "paid",
        "DH35",
    )
    received, paid = shop.events()
    assert received == (
        "Transaction Received",
        {
            "transaction_id": 1,
            "order_code": "DH35",
            "amount": 200_500,
            "description": "MBVCB.3278841.DH35.CT tu 0123 NGUYEN VAN A",
            "when": "2026-11-21 18:59:00",
            "account_number": "88888888",
            "reference": "FT1",
            "source": "webhook-v2",
            "truncated": [],
            "outcome": "paid",
            "confirmation": "not-required",
        },
    )
    assert paid == (
        "Order Paid",
        {
            **{k: received[1][k] for k in ("transaction_id", "order_code", "amount")},
            **{k: received[1][k] for k in ("description", "when", "account_number")},
            **{k: received[1][k] for k in ("reference", "source", "truncated")},
            "expected_amount": 200_500,
            "paid_amount": 200_500,
            "remaining": 0,
            "overpaid_by": 0,
            "status": "PAID",
            "transaction_ids": [1],
            "paid_at": "2026-11-21T12:00:00.000Z",
        },
    )


def test_two_partial_transfers(shop):
    shop.order("DH36", 300_000)
    shop.record(2, 120_000, "IBFT DH36 thanh toan lan 1")
    shop.record(3, 100_000, "dh-0036 lan 2")
    assert shop.process(2).outcome == "partially_paid"
    assert shop.process(3).outcome == "partially_paid"
    stored = shop.orders.get("DH36")
    assert (stored.status, stored.paid_amount) == ("PARTIALLY_PAID", 220_000)
    partial = [d for t, d in shop.events() if t == "Order Partially Paid"]
    assert [(d["transaction_id"], d["paid_amount"], d["remaining"]) for d in partial] == [
        (2, 120_000, 180_000),
        (3, 220_000, 80_000),
    ]
    assert [d["transaction_ids"] for d in partial] == [[2], [2, 3]]


def test_overpaid(shop):
    shop.order("DH1234", 200_000)
    shop.record(9, 250_000, "Thanh toán đơn hàng ĐH1234")
    assert shop.process(9).outcome == "overpaid"
    (overpaid,) = [d for t, d in shop.events() if t == "Order Overpaid"]
    assert (overpaid["overpaid_by"], overpaid["status"], overpaid["order_code"]) == (
        50_000,
        "OVERPAID",
        "DH1234",
    )
    assert shop.orders.get("DH1234").status == "OVERPAID"


def test_tolerance_from_settings():
    shop = Shop(AMOUNT_TOLERANCE="1000")
    shop.order("DH1", 200_000)
    shop.record(11, 199_000, "DH1")
    assert shop.process(11).outcome == "paid"
    assert shop.orders.get("DH1").status == "PAID"


def test_code_naming_no_order_is_unmatched_and_kept(shop):
    shop.order("DH35", 200_500)
    shop.record(12, 99_000, "CHUYEN TIEN DH999 DH998")
    outcome = shop.process(12)
    assert (outcome.outcome, outcome.effect.order_code) == ("unmatched", None)
    entry = shop.ledger.get(12)
    assert (entry.status, entry.outcome, entry.binding["decision"]) == (
        "PROCESSED",
        "unmatched",
        "unmatched",
    )
    published = shop.events()
    assert [t for t, _ in published] == ["Transaction Received", "Payment Unmatched"]
    unmatched = published[1][1]
    assert (unmatched["order_code"], unmatched["candidates"]) == (None, ["DH999", "DH998"])
    assert shop.orders.get("DH35").paid_amount == 0


def test_first_candidate_naming_an_existing_order_wins(shop):
    shop.order("DH20", 100_000)
    shop.record(13, 100_000, "DH10 DH20")
    assert shop.process(13).effect.order_code == "DH20"


def test_two_existing_orders_named_need_a_person_and_change_nothing(shop):
    shop.order("DH301", 300_000)
    shop.order("DH302", 300_000)
    shop.record(21, 300_000, "DH301 DH302 DH303")
    outcome = shop.process(21)
    assert (outcome.outcome, outcome.effect.order_code) == ("needs_review", None)
    for code in ("DH301", "DH302"):
        assert shop.orders.get(code).paid_amount == 0
    published = shop.events()
    assert [t for t, _ in published] == ["Transaction Received", "Payment Needs Review"]
    review = published[1][1]
    assert (review["transaction_id"], review["candidates"]) == (21, ["DH301", "DH302"])
    entry = shop.ledger.get(21)
    assert (entry.status, entry.outcome) == ("PROCESSED", "needs_review")
    assert entry.binding["candidates"] == ["DH301", "DH302"]


def test_money_out_naming_no_order_is_recorded_never_matched(shop):
    shop.order("DH35", 200_500)
    shop.record(4, -50_000, "CHUYEN TIEN DH99 NCC")
    outcome = shop.process(4)
    assert (outcome.outcome, outcome.effect.order_code) == ("money_out", None)
    assert shop.orders.get("DH35").paid_amount == 0
    assert shop.ledger.get(4).outcome == "money_out"
    assert [t for t, _ in shop.events()] == ["Transaction Received"]


def test_other_accounts_never_settle():
    shop = Shop(ACCOUNT_NUMBERS="123456789")
    shop.order("DH35", 200_500)
    shop.record(5, 200_500, "DH35")  # to 88888888
    assert shop.process(5).outcome == "other_account"
    assert shop.orders.get("DH35").paid_amount == 0
    assert shop.ledger.get(5).binding is None  # never decided
    assert [t for t, _ in shop.events()] == ["Transaction Received"]


def test_redelivery_of_a_processed_transaction_changes_nothing(shop):
    shop.order("DH35", 200_500)
    shop.record(1, 100_000, "DH35")
    shop.process(1)
    shop.events()
    again = shop.process(1)
    assert (again.outcome, again.events) == (Outcome.ALREADY_PROCESSED, ())
    assert shop.orders.get("DH35").paid_amount == 100_000
    assert shop.events() == []


def test_id_missing_from_the_ledger_is_an_error(shop):
    with pytest.raises(MissingTransaction, match="transaction 404 is not in the ledger"):
        shop.process(404)


def test_a_failed_publish_leaves_the_transaction_pending_and_the_retry_completes_it(shop):
    shop.order("DH35", 200_500)
    shop.record(1, 200_500, "DH35")
    with crashing(shop.bus, "publish"):
        shop.process(1)
    assert shop.ledger.get(1).status == "RECEIVED"  # retried, not lost
    assert shop.orders.get("DH35").status == "PAID"  # applied before the publish
    retry = shop.process(1)
    assert (retry.outcome, retry.effect.applied) == ("paid", False)
    assert [t for t, _ in shop.events()] == ["Transaction Received", "Order Paid"]
    assert shop.ledger.get(1).status == "PROCESSED"


def test_crash_after_the_order_update_does_not_apply_twice(shop):
    shop.order("DH35", 200_500)
    shop.record(1, 100_000, "DH35")
    with crashing(shop.ledger, "mark_processed"):
        shop.process(1)
    assert shop.orders.get("DH35").paid_amount == 100_000
    retry = shop.process(1)
    assert (retry.outcome, retry.effect.applied) == ("partially_paid", False)
    assert shop.orders.get("DH35").payments == {1: 100_000}
    assert shop.ledger.get(1).status == "PROCESSED"
    # The crashed attempt published too: the same event, which consumers drop by its id.
    partial = [d for t, d in shop.events() if t == "Order Partially Paid"]
    assert partial[0] == partial[1]


def test_a_retry_keeps_the_order_bound_at_the_first_attempt(shop):
    # "DH99 DH36": only DH36 exists, the transfer is applied to it, the mark fails, the
    # business then creates DH99: the retry must not pay DH99 as well.
    shop.order("DH36", 300_000)
    shop.record(7, 300_000, "DH99 DH36")
    with crashing(shop.ledger, "mark_processed"):
        shop.process(7)
    shop.order("DH99", 300_000)
    retry = shop.process(7)
    assert (retry.outcome, retry.effect.order_code, retry.effect.applied) == ("paid", "DH36", False)
    dh36, dh99 = shop.orders.get("DH36"), shop.orders.get("DH99")
    assert (dh36.status, dh36.payments) == ("PAID", {7: 300_000})
    assert (dh99.status, dh99.payments) == ("PENDING", {})
    entry = shop.ledger.get(7)
    assert (entry.outcome, entry.binding["order_code"]) == ("paid", "DH36")
    paid = [d["order_code"] for t, d in shop.events() if t == "Order Paid"]
    assert paid == ["DH36", "DH36"]  # the retry repeats it (same transaction id), never DH99


def test_a_retry_before_any_order_change_keeps_its_binding_too(shop):
    # Bound as unmatched, then the publish failed; the order it names is created meanwhile.
    shop.record(8, 300_000, "DH40")
    with crashing(shop.bus, "publish"):
        shop.process(8)
    shop.order("DH40", 300_000)
    assert shop.process(8).outcome == "unmatched"
    assert shop.orders.get("DH40").payments == {}


def test_a_retry_replays_the_outcome_its_payment_produced_not_the_order_now(shop):
    shop.order("DH36", 300_000)
    shop.record(2, 120_000, "DH36 lan 1")
    shop.record(4, 180_000, "DH36 lan 2")
    with crashing(shop.ledger, "mark_processed"):
        shop.process(2)
    assert shop.process(4).outcome == "paid"
    retry = shop.process(2)
    assert (retry.outcome, retry.effect.applied) == ("partially_paid", False)
    assert shop.ledger.get(2).outcome == "partially_paid"
    published = shop.events()
    assert [d["transaction_id"] for t, d in published if t == "Order Paid"] == [4]
    partial = [
        (d["transaction_id"], d["paid_amount"], d["status"])
        for t, d in published
        if t == "Order Partially Paid"
    ]
    assert partial == [(2, 120_000, "PARTIALLY_PAID"), (2, 120_000, "PARTIALLY_PAID")]


def test_a_transfer_to_an_order_already_paid_is_an_extra_payment_not_a_second_paid(shop):
    shop.order("DH35", 200_500)
    shop.record(1, 200_500, "DH35")
    shop.record(2, 200_500, "DH35 again")
    assert shop.process(1).outcome == "paid"
    extra = shop.process(2)
    assert (extra.outcome, extra.effect.order.status) == ("extra_payment", "OVERPAID")
    published = shop.events()
    kinds = [t for t, _ in published]
    assert (kinds.count("Order Paid"), "Order Overpaid" in kinds) == (1, False)
    (detail,) = [d for t, d in published if t == "Order Extra Payment"]
    assert (detail["transaction_id"], detail["overpaid_by"], detail["transaction_ids"]) == (
        2,
        200_500,
        [1, 2],
    )


def test_an_overpaid_orders_excess_refunded(shop):
    shop.order("DH35", 200_000)
    shop.record(1, 250_000, "DH35")
    assert shop.process(1).outcome == "overpaid"
    shop.events()
    shop.record(2, -50_000, "HOAN TIEN DH35")
    outcome = shop.process(2)
    assert (outcome.outcome, outcome.effect.order_code, outcome.effect.applied) == (
        "refund",
        "DH35",
        True,
    )
    stored = shop.orders.get("DH35")
    assert (stored.status, stored.paid_amount, stored.payments) == (
        "OVERPAID",
        250_000,
        {1: 250_000},
    )
    assert (stored.refunded_amount, list(stored.refunds)) == (50_000, [2])
    assert shop.ledger.get(2).outcome == "refund"
    published = shop.events()
    assert [t for t, _ in published] == ["Transaction Received", "Refund Recorded"]
    refund = published[1][1]
    assert {k: refund[k] for k in ("transaction_id", "order_code", "amount", "status")} == {
        "transaction_id": 2,
        "order_code": "DH35",
        "amount": -50_000,
        "status": "OVERPAID",
    }
    assert (refund["refund_amount"], refund["refunded_amount"], refund["overpaid_by"]) == (
        50_000,
        50_000,
        50_000,
    )
    assert (refund["excess_refunded"], refund["refund_transaction_ids"]) == (True, [2])


def test_a_refund_retried_after_a_crash_is_recorded_once(shop):
    shop.order("DH37", 100_000)
    shop.record(4, -40_000, "HOAN TIEN DH37")
    with crashing(shop.ledger, "mark_processed"):
        shop.process(4)
    retry = shop.process(4)
    assert (retry.outcome, retry.effect.applied) == ("refund", False)
    assert shop.process(4).outcome == "already_processed"
    stored = shop.orders.get("DH37")
    assert (stored.refunded_amount, list(stored.refunds)) == (40_000, [4])
    refunds = [d for t, d in shop.events() if t == "Refund Recorded"]
    assert [(d["transaction_id"], d["refunded_amount"]) for d in refunds] == [(4, 40_000)] * 2


def test_a_transfer_for_an_expired_order_is_kept_late_and_pays_nothing(shop):
    shop.order("DH5", 200_000, expires_at=NOW + timedelta(minutes=30))
    expired, by_us = shop.orders.expire("DH5", now=LATER)  # the reconciler's expiry
    assert (expired.status, by_us) == ("EXPIRED", True)
    shop.orders.expiry_done("DH5")
    shop.record(7, 200_000, "IBFT DH5")
    outcome = shop.process(7, now=LATER)
    assert (outcome.outcome, outcome.effect.order_code) == ("late", "DH5")
    stored = shop.orders.get("DH5")
    assert (stored.status, stored.paid_amount, stored.payments) == ("EXPIRED", 0, {})
    assert stored.late[7]["amount"] == 200_000
    assert shop.ledger.get(7).outcome == "late"
    published = shop.events()
    assert [t for t, _ in published] == ["Transaction Received", "Late Payment"]
    late = published[1][1]
    assert (late["transaction_id"], late["order_code"], late["late_amount"]) == (7, "DH5", 200_000)
    assert (late["status"], late["expired_at"]) == ("EXPIRED", "2026-11-21T14:00:00.000Z")


def test_the_processor_expires_a_due_order_the_reconciler_has_not_reached(shop):
    shop.order("DH6", 200_000, expires_at=NOW + timedelta(minutes=30))
    shop.record(8, 200_000, "DH6")
    assert shop.process(8, now=LATER).outcome == "late"
    published = shop.events()
    assert [t for t, _ in published] == ["Transaction Received", "Order Expired", "Late Payment"]
    assert (published[1][1]["order_code"], published[1][1]["transaction_id"]) == ("DH6", None)
    assert shop.orders.due(now=LATER, limit=10) == []  # its event is out


def test_a_late_payment_retried_after_a_crash_is_kept_once(shop):
    shop.order("DH9", 200_000, expires_at=NOW + timedelta(minutes=30))
    shop.record(9, 150_000, "DH9")
    with crashing(shop.ledger, "mark_processed"):
        shop.process(9, now=LATER)
    retry = shop.process(9, now=LATER + timedelta(minutes=5))
    assert (retry.outcome, retry.effect.applied) == ("late", False)
    stored = shop.orders.get("DH9")
    assert (list(stored.late), stored.late[9]["amount"], stored.paid_amount) == ([9], 150_000, 0)
    assert shop.ledger.get(9).outcome == "late"


def test_paid_in_time_an_order_never_expires(shop):
    shop.order("DH10", 200_000, expires_at=NOW + timedelta(minutes=30))
    shop.record(10, 200_000, "DH10")
    assert shop.process(10).outcome == "paid"
    assert shop.orders.due(now=LATER, limit=10) == []
    assert shop.orders.expire("DH10", now=LATER) == (None, False)
