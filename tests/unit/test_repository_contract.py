"""The fakes (tests/fakes.py) answer as the real owners do.

Every scenario runs on the real `Ledger` and `Orders` (in-process moto) and on `FakeLedger`
and `FakeOrders`, with the same expected answers, refusals included; afterwards both pairs of
tables hold the same items, attribute for attribute. The fakes have the real owners' public
methods with the same signatures, and the scenarios call every one of them. `FakeBus` and
`FakeQueue` deliver what the real bus and queue deliver.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from casso_payments.aws.bus import Bus
from casso_payments.aws.dynamo import timestamp
from casso_payments.aws.queue import TransactionMessage, TransactionQueue
from casso_payments.casso.payload import Transaction, parse_transaction
from casso_payments.events.build import order_expired, transfer_events
from casso_payments.events.effect import Effect
from casso_payments.events.outcomes import Outcome
from casso_payments.ledger.entries import (
    NEEDS_REVIEW,
    ORDER,
    RECONCILE,
    WEBHOOK_V1,
    WEBHOOK_V2,
    AlreadyDone,
    Binding,
    NotInLedger,
    RecordResult,
    Superseded,
)
from casso_payments.ledger.repository import Ledger, body_digest, new_item
from casso_payments.orders.model import (
    AppliedPayment,
    OrderClosed,
    OrderError,
    OrderExists,
    OrderExpired,
)
from casso_payments.orders.repository import Orders
from local.stack.poller import drain_queue
from tests.fakes import FakeBus, FakeLedger, FakeOrders, FakeQueue
from tests.helpers import NOW, ledger_items, published_events

LATER = NOW + timedelta(hours=2)


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def transaction(transaction_id: int, amount: int, description: str = "") -> Transaction:
    return parse_transaction(
        {
            "id": transaction_id,
            "amount": amount,
            "description": description,
            "reference": f"FT{transaction_id}",
            "transactionDateTime": "2026-11-21 18:59:00",
            "accountNumber": "88888888",
        }
    )


def processed(ledger: Any, transaction_id: int, amount: int, outcome: str, **kw: Any) -> None:
    """A transaction recorded at NOW and processed with `outcome`."""
    ledger.record_transaction(transaction(transaction_id, amount), source=WEBHOOK_V2, now=NOW)
    if "binding" in kw:
        assert ledger.bind(transaction_id, kw["binding"]) == kw["binding"]
    code = kw.get("order_code")
    assert ledger.mark_processed(transaction_id, outcome=outcome, order_code=code, now=NOW)


# --- the two tables, real or fake ----------------------------------------------------------


@dataclass
class Tables:
    ledger: Any
    orders: Any
    # Every item of the ledger and of the orders table, in plain values, by pk.
    items: Callable[[], tuple[list[dict[str, Any]], list[dict[str, Any]]]]


def real_tables(stack: Any) -> Tables:
    def items() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        return (
            ledger_items(stack.dynamodb, stack.table),
            ledger_items(stack.dynamodb, stack.orders_table),
        )

    return Tables(stack.ledger, stack.orders, items)


def fake_tables() -> Tables:
    ledger, orders = FakeLedger(), FakeOrders()

    def items() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        return (
            [ledger.items[pk] for pk in sorted(ledger.items)],
            [orders.items[pk] for pk in sorted(orders.items)],
        )

    return Tables(ledger, orders, items)


@pytest.fixture(params=["moto", "fake"])
def tables(request: pytest.FixtureRequest) -> Tables:
    if request.param == "moto":
        return real_tables(request.getfixturevalue("stack"))
    return fake_tables()


# --- scenarios: each runs on both, with the same expectations -----------------------------

Scenario = Callable[[Any, Any], None]
SCENARIOS: dict[str, Scenario] = {}


def scenario(run: Scenario) -> Scenario:
    SCENARIOS[run.__name__] = run
    return run


@scenario
def record_first_writer_wins(ledger: Any, orders: Any) -> None:
    first = ledger.record_transaction(transaction(1, 100_000, "DH1"), source=WEBHOOK_V2, now=NOW)
    assert first == RecordResult(True, None)
    again = ledger.record_transaction(transaction(1, 999, "other"), source=WEBHOOK_V1, now=LATER)
    assert again.new is False
    assert again.existing == ledger.get(1)
    entry = again.existing
    assert (entry.transaction.amount, entry.transaction.description) == (100_000, "DH1")
    assert (entry.status, entry.source, entry.received_at) == (
        "RECEIVED",
        WEBHOOK_V2,
        timestamp(NOW),
    )
    assert (entry.processed_at, entry.outcome, entry.binding) == (None, None, None)
    assert entry.transaction.raw["reference"] == "FT1"
    # Built first, then recorded: the typed item.
    item = new_item(transaction(2, -5, "HOAN TIEN"), source=RECONCILE, received_at="2026-01-01")
    assert ledger.record(item).new is True
    assert ledger.record(item).existing.source == RECONCILE
    stored = ledger.stored(1)
    assert {k: stored[k] for k in ("pk", "kind", "status", "pending", "amount")} == {
        "pk": "TXN#1",
        "kind": "transaction",
        "status": "RECEIVED",
        "pending": "RECEIVED",
        "amount": 100_000,
    }
    assert json.loads(stored["raw"])["description"] == "DH1"
    assert (ledger.get(404), ledger.stored(404)) == (None, None)
    # Copied fields that would push the item past 400 KB are left out; `raw` has them.
    big = ledger.record_transaction(transaction(3, 1, "x" * 205_000), source=WEBHOOK_V2, now=NOW)
    assert big.new is True
    assert ledger.stored(3)["fields_omitted"] == ["description"]
    assert ledger.get(3).transaction.description == "x" * 205_000


@scenario
def bind_once_the_second_adopts_the_first(ledger: Any, orders: Any) -> None:
    ledger.record_transaction(transaction(1, 100_000, "DH1 DH2"), source=WEBHOOK_V2, now=NOW)
    first = Binding(ORDER, "DH1", (), timestamp(NOW))
    second = Binding(NEEDS_REVIEW, None, ("DH1", "DH2"), timestamp(LATER), "ops:lan", "no")
    assert ledger.bind(1, first) == first
    assert ledger.bind(1, second) == first
    assert ledger.get(1).binding == first.to_item()
    assert ledger.mark_processed(1, outcome="paid", order_code="DH1", now=NOW)
    assert ledger.bind(1, second) == first  # processed: still the binding that holds
    # Processed without a binding, or not there at all: nothing is left to bind.
    processed(ledger, 2, 5_000, "unmatched")
    with pytest.raises(AlreadyDone, match="transaction 2 is no longer RECEIVED"):
        ledger.bind(2, first)
    with pytest.raises(AlreadyDone):
        ledger.bind(404, first)
    assert ledger.get(2).binding is None


@scenario
def versions_kept_once_replaced_unless_claimed(ledger: Any, orders: Any) -> None:
    forged = transaction(1, 1_000, "DH1")
    real = transaction(1, 200_000, "DH1 thanh toan")
    ledger.record_transaction(forged, source=WEBHOOK_V1, now=NOW)
    stored = ledger.get(1)
    # A plain duplicate is no version; a different one is, kept once; a stronger one is open.
    assert ledger.keep_version(stored, forged, source=WEBHOOK_V2, now=at(1)) is None
    kept = ledger.keep_version(stored, real, source=WEBHOOK_V2, now=at(1))
    assert (kept.differs, kept.open, kept.new) == (("amount", "description"), True, True)
    again = ledger.keep_version(stored, real, source=WEBHOOK_V2, now=at(2))
    assert (again.key, again.open, again.new) == (kept.key, True, False)
    weaker = ledger.keep_version(stored, transaction(1, 5, "x"), source=WEBHOOK_V1, now=at(3))
    assert (weaker.open, weaker.conflict) == (False, True)
    version = ledger.get_version(1, kept.key)
    assert (version.transaction.amount, version.source, version.state) == (
        200_000,
        "webhook-v2",
        "open",
    )
    assert ledger.get_version(1, "nope") is None
    assert [v.state for v in ledger.list_versions()] == ["open", "kept"]
    assert ledger.set_version_state(1, kept.key, "replaced", was=("open",), resolved_at="t")
    assert not ledger.set_version_state(1, kept.key, "person", was=("open",))
    # Replaced while unclaimed: a new revision, RECEIVED, the old version kept on it.
    item = new_item(real, source=WEBHOOK_V2, received_at=timestamp(at(1)))
    assert not ledger.replace(item, revision=1, replays=0, displaced={"source": WEBHOOK_V1})
    assert ledger.replace(item, revision=0, replays=0, displaced={"source": WEBHOOK_V1})
    entry = ledger.get(1)
    assert (entry.revision, entry.replays, entry.source, entry.transaction.amount) == (
        1,
        1,
        WEBHOOK_V2,
        200_000,
    )
    assert ledger.stored(1)["displaced"] == {"source": WEBHOOK_V1}
    # The processor's writes at the old revision fail; at the new one they hold.
    with pytest.raises(Superseded):
        ledger.bind(1, Binding(ORDER, "DH1", (), timestamp(NOW)), 0)
    assert not ledger.claim(1, revision=0, now=at(4))
    assert not ledger.mark_processed(1, outcome="paid", order_code="DH1", now=at(4))
    assert ledger.claim(1, revision=1, now=at(4))
    assert ledger.get(1).claimed
    # Claimed: no replace, even at the right revision.
    assert not ledger.replace(item, revision=1, replays=1, displaced={})
    assert ledger.mark_processed(1, outcome="paid", order_code="DH1", now=at(5), revision=1)
    # Processed with an outcome that changed no order: replaceable.
    processed(ledger, 2, 5_000, "unmatched")
    other = new_item(transaction(2, 7_000), source=RECONCILE, received_at=timestamp(at(6)))
    assert ledger.replace(other, revision=0, replays=0, displaced={"outcome": "unmatched"})
    assert ledger.get(2).status == "RECEIVED"


@scenario
def mark_processed_only_from_received(ledger: Any, orders: Any) -> None:
    for transaction_id in (1, 2):
        ledger.record_transaction(transaction(transaction_id, 1_000), source=WEBHOOK_V2, now=NOW)
    assert ledger.mark_processed(1, outcome="paid", order_code="DH1", now=at(5)) is True
    assert ledger.mark_processed(1, outcome="unmatched", order_code=None, now=at(9)) is False
    assert ledger.mark_processed(2, outcome="unmatched", order_code=None, now=at(5)) is True
    assert ledger.mark_processed(404, outcome="paid", order_code=None, now=at(5)) is False
    entry = ledger.get(1)
    assert (entry.status, entry.outcome, entry.processed_at) == (
        "PROCESSED",
        "paid",
        timestamp(at(5)),
    )
    one, two = ledger.stored(1), ledger.stored(2)
    assert ("pending" in one, one["order_code"], "order_code" in two) == (False, "DH1", False)


@scenario
def reopen_for_replay_counts_replays(ledger: Any, orders: Any) -> None:
    ledger.record_transaction(transaction(1, 1_000), source=WEBHOOK_V2, now=NOW)
    assert ledger.count_sweep(1, max_sweeps=3, now=NOW, not_since=NOW) is True
    assert ledger.mark_processed(1, outcome="unmatched", order_code=None, now=NOW)
    assert ledger.reopen_for_replay(1, now=at(1)) == 1
    stored = ledger.stored(1)
    assert (stored["status"], stored["pending"], stored["replayed_at"]) == (
        "RECEIVED",
        "RECEIVED",
        timestamp(at(1)),
    )
    assert ("sweeps" in stored, stored["outcome"]) == (False, "unmatched")
    assert ledger.reopen_for_replay(1, now=at(2)) == 2  # RECEIVED already: counted again
    with pytest.raises(NotInLedger, match="transaction 404 is not in the ledger"):
        ledger.reopen_for_replay(404, now=NOW)


@scenario
def rebind_only_what_a_person_may_decide(ledger: Any, orders: Any) -> None:
    settleable = (Outcome.NEEDS_REVIEW, Outcome.UNMATCHED)
    onto = Binding(ORDER, "DH7", (), timestamp(LATER), "ops:lan", "phoned")
    kw: dict[str, Any] = {"now": LATER, "was": "settled_from", "money_in_unbound": True}
    processed(ledger, 1, 100_000, "unmatched")
    assert ledger.rebind(1, onto, outcomes=settleable, **kw) == 1
    stored = ledger.stored(1)
    assert (stored["status"], stored["settled_from"], stored["binding"]["order_code"]) == (
        "RECEIVED",
        "unmatched",
        "DH7",
    )
    assert ledger.rebind(1, onto, outcomes=settleable, **kw) is None  # RECEIVED again
    assert ledger.mark_processed(1, outcome="paid", order_code="DH7", now=LATER)
    assert ledger.rebind(1, onto, outcomes=settleable, **kw) is None  # paid: not settleable
    # Money out is never settled onto an order; money in bound to an order already isn't
    # either, unless the decision doesn't ask for unbound money in (a late payment accepted).
    processed(ledger, 2, -50_000, "unmatched")
    assert ledger.rebind(2, onto, outcomes=settleable, **kw) is None
    bound = Binding(ORDER, "DH8", (), timestamp(NOW))
    processed(ledger, 3, 100_000, "late", binding=bound, order_code="DH8")
    assert ledger.count_sweep(3, max_sweeps=3, now=NOW, not_since=NOW) is None  # processed
    assert ledger.rebind(3, onto, outcomes=("late",), **kw) is None
    accepted = Binding(ORDER, "DH8", (), timestamp(LATER), "ops:lan", accept_late=True)
    replay = ledger.rebind(3, accepted, now=LATER, was="accepted_from", outcomes=(Outcome.LATE,))
    assert replay == 1
    assert ledger.get(3).binding["accept_late"] is True
    assert ledger.rebind(404, onto, outcomes=settleable, **kw) is None


@scenario
def close_a_processed_transaction_once(ledger: Any, orders: Any) -> None:
    handleable = ("needs_review", "unmatched", "unconfirmed")
    processed(ledger, 1, 100_000, "needs_review")
    item = ledger.close(
        1,
        outcomes=handleable,
        keep_as="handled_from",
        outcome="handled",
        handled_at=timestamp(LATER),
        handled_by="ops:lan",
        handled_note="refunded by hand",
    )
    assert (item["handled_from"], item["outcome"], item["handled_by"], item["amount"]) == (
        "needs_review",
        "handled",
        "ops:lan",
        100_000,
    )
    assert ledger.close(1, outcomes=handleable, keep_as="handled_from", outcome="x") is None
    processed(ledger, 2, 100_000, "late", order_code="DH2")
    item = ledger.close(2, outcomes=("late",), outcome="refund_due", refund_note="")
    assert (item["outcome"], item["order_code"], "handled_from" in item) == (
        "refund_due",
        "DH2",
        False,
    )
    ledger.record_transaction(transaction(3, 1), source=WEBHOOK_V2, now=NOW)  # RECEIVED
    assert ledger.close(3, outcomes=handleable, outcome="handled") is None
    assert ledger.close(404, outcomes=handleable, outcome="handled") is None


@scenario
def pending_before_oldest_first_and_stuck(ledger: Any, orders: Any) -> None:
    for transaction_id, seconds in ((1, 2), (2, 0), (3, 1), (4, 3)):
        received = at(seconds)
        ledger.record_transaction(transaction(transaction_id, 1), source=WEBHOOK_V2, now=received)
    assert ledger.mark_processed(4, outcome="paid", order_code=None, now=NOW)
    assert ledger.pending_before(at(10)) == [2, 3, 1]
    assert ledger.pending_before(at(10), limit=2) == [2, 3]
    assert ledger.pending_before(at(1)) == [2]  # recorded before the cutoff, strictly
    assert ledger.count_stuck() == 0
    assert ledger.park_stuck(3) is True
    assert (ledger.park_stuck(4), ledger.park_stuck(404)) == (False, False)
    assert (ledger.pending_before(at(10)), ledger.count_stuck()) == ([2, 1], 1)
    assert ledger.get(3).status == "RECEIVED"
    assert ledger.reopen_for_replay(3, now=LATER) == 1  # a person's replay: pending again
    assert (ledger.pending_before(at(10)), ledger.count_stuck()) == ([2, 3, 1], 0)


@scenario
def count_sweep_true_false_none(ledger: Any, orders: Any) -> None:
    ledger.record_transaction(transaction(1, 1), source=WEBHOOK_V2, now=NOW)
    sweep = ledger.count_sweep
    assert sweep(1, max_sweeps=2, now=at(60), not_since=at(0)) is True
    # Re-queued at 60 s: within its grace period until a later sweep's `not_since` passes it.
    assert sweep(1, max_sweeps=2, now=at(90), not_since=at(60)) is None
    assert sweep(1, max_sweeps=2, now=at(120), not_since=at(61)) is True
    assert sweep(1, max_sweeps=2, now=at(180), not_since=at(121)) is False  # park it
    assert (ledger.stored(1)["sweeps"], ledger.stored(1)["swept_at"]) == (2, timestamp(at(120)))
    assert sweep(1, max_sweeps=3, now=at(180), not_since=at(121)) is True  # a higher limit
    assert ledger.mark_processed(1, outcome="paid", order_code=None, now=at(200))
    assert sweep(1, max_sweeps=9, now=at(300), not_since=at(299)) is None  # processed
    assert sweep(404, max_sweeps=9, now=at(300), not_since=at(299)) is None


@scenario
def delivery_facts_of_the_ids_held(ledger: Any, orders: Any) -> None:
    ledger.record_transaction(transaction(1, 1), source=WEBHOOK_V1, now=NOW)
    ledger.record_transaction(transaction(2, 1), source=RECONCILE, now=at(1))
    facts = ledger.delivery_facts([2, 404, 1, 2])
    assert {t: (f["source"], f["received_at"], f["status"]) for t, f in facts.items()} == {
        1: (WEBHOOK_V1, timestamp(NOW), "RECEIVED"),
        2: (RECONCILE, timestamp(at(1)), "RECEIVED"),
    }
    assert json.loads(facts[1]["raw"])["id"] == 1  # the ledger's version, to compare
    assert ledger.delivery_facts([]) == {}


@scenario
def state_and_the_reconcilers_lease(ledger: Any, orders: Any) -> None:
    assert ledger.get_state("webhook") is None
    ledger.put_state("webhook", {"url": "https://hook.invalid", "id": 7, "events": ["a"]})
    assert ledger.get_state("webhook") == {"url": "https://hook.invalid", "id": 7, "events": ["a"]}
    ledger.put_state("webhook", {"url": "https://other.invalid"})  # replaced whole
    assert ledger.get_state("webhook") == {"url": "https://other.invalid"}
    assert ledger.acquire_lease(owner="a", now=NOW, seconds=60) is None
    held_by_a = {"owner": "a", "acquired_at": timestamp(NOW), "expires_at": timestamp(at(60))}
    assert ledger.acquire_lease(owner="b", now=at(30), seconds=60) == held_by_a
    assert ledger.acquire_lease(owner="a", now=at(30), seconds=60) == held_by_a  # even a
    ledger.release_lease(owner="b")  # not b's to give back
    assert ledger.acquire_lease(owner="b", now=at(60), seconds=60) == held_by_a  # not yet expired
    assert ledger.acquire_lease(owner="b", now=at(61), seconds=60) is None  # expired: taken over
    ledger.release_lease(owner="a")  # a's lease was taken over: b keeps it
    assert ledger.get_state("reconcile-lease")["owner"] == "b"
    ledger.release_lease(owner="b")
    assert ledger.get_state("reconcile-lease") is None
    assert ledger.acquire_lease(owner="c", now=at(62), seconds=1.5) is None
    assert ledger.get_state("reconcile-lease")["expires_at"] == timestamp(at(63.5))
    ledger.release_lease(owner="nobody")


@scenario
def quarantine_once_discard_once(ledger: Any, orders: Any) -> None:
    body = '{"error": 0, "data": "not a list"}'
    key = body_digest(body)
    assert ledger.quarantine(body=body, reason="data: wrong", generation="v1", now=at(5))
    assert not ledger.quarantine(body=body, reason="again", generation="v2", now=at(9))
    assert ledger.quarantine(body="Đ", reason="not JSON", generation="v2", now=NOW)
    listed = ledger.list_quarantined()
    assert [(d.key, d.reason, d.body, d.body_bytes) for d in listed] == [
        (body_digest("Đ"), "not JSON", "", 2),
        (key, "data: wrong", "", len(body)),
    ]
    kept = ledger.get_quarantined(key)
    assert (kept.body, kept.generation, kept.received_at) == (body, "v1", timestamp(at(5)))
    assert ledger.get_quarantined("QUARANTINE#" + key) == kept
    assert ledger.get_quarantined("0" * 64) is None
    assert ledger.discard_quarantined(key) is True
    assert ledger.discard_quarantined(key) is False
    assert ledger.get_quarantined(key) is None
    assert [d.key for d in ledger.list_quarantined()] == [body_digest("Đ")]


@scenario
def every_test_call_kept(ledger: Any, orders: Any) -> None:
    call = transaction(0, 0, "giao dich thu nghiem")
    key = ledger.record_test_call(call, source=WEBHOOK_V2, now=NOW)
    assert key == f"TESTCALL#{timestamp(NOW)}#{WEBHOOK_V2}"
    assert ledger.record_test_call(call, source=WEBHOOK_V1, now=NOW) != key
    assert ledger.get(0) is None  # not a transaction


@scenario
def create_get_existing(ledger: Any, orders: Any) -> None:
    created = orders.create("DH-0035", 200_500, now=NOW, note="shop A")
    assert created == orders.get("dh35")
    assert (created.key, created.status, created.created_at) == ("DH35", "PENDING", timestamp(NOW))
    with pytest.raises(OrderError, match="an order with code DH35 already exists"):
        orders.create("dh.35", 1, now=LATER)
    with pytest.raises(OrderError, match="positive whole number"):
        orders.create("DH36", 0, now=NOW)
    with pytest.raises(OrderError, match="is not after now"):
        orders.create("DH37", 1, now=NOW, expires_at=NOW)
    orders.create("DH38", 1_000, now=NOW, expires_at=LATER)
    assert orders.get("DH38").expires_at == timestamp(LATER)
    assert [o.key for o in orders.existing(["DH38", "DH36", "DH35", "DH99"])] == ["DH38", "DH35"]
    assert (orders.get("DH36"), orders.existing([])) == (None, [])


@scenario
def pay_once_and_reread_when_stale(ledger: Any, orders: Any) -> None:
    orders.create("DH1", 100_000, now=NOW)
    stale = orders.get("DH1")
    pay = orders.pay
    first = pay(stale, transaction_id=1, amount=40_000, tolerance=0, now=at(1))
    assert first.applied is True
    assert first.payment == AppliedPayment(40_000, "PARTIALLY_PAID", 40_000, False)
    assert (first.order.status, first.order.paid_amount, first.order.payments) == (
        "PARTIALLY_PAID",
        40_000,
        {1: 40_000},
    )
    # The same transaction again: from the order given, or from the stale one (read again).
    again = pay(first.order, transaction_id=1, amount=40_000, tolerance=0, now=at(2))
    retried = pay(stale, transaction_id=1, amount=40_000, tolerance=0, now=at(2))
    for result in (again, retried):
        assert (result.applied, result.payment, result.order.paid_amount) == (
            False,
            first.payment,
            40_000,
        )
    settled = pay(stale, transaction_id=2, amount=60_000, tolerance=0, now=at(3))
    assert (settled.applied, settled.payment) == (
        True,
        AppliedPayment(60_000, "PAID", 100_000, True),
    )
    assert settled.order.paid_at == timestamp(at(3))
    extra = pay(stale, transaction_id=3, amount=10_000, tolerance=0, now=at(4))
    assert extra.payment == AppliedPayment(10_000, "OVERPAID", 110_000, False)
    assert extra.order.paid_at == timestamp(at(3))  # the first time it was paid
    late_retry = pay(extra.order, transaction_id=1, amount=40_000, tolerance=0, now=at(5))
    assert late_retry.payment.status == "PARTIALLY_PAID"  # what it produced, not the order now
    orders.create("DH2", 100_000, now=NOW)
    within = pay(orders.get("DH2"), transaction_id=4, amount=99_000, tolerance=1_000, now=NOW)
    assert within.payment == AppliedPayment(99_000, "PAID", 99_000, True)
    orders.create("DH3", 100_000, now=NOW)
    over = pay(orders.get("DH3"), transaction_id=5, amount=101_001, tolerance=1_000, now=NOW)
    assert over.payment == AppliedPayment(101_001, "OVERPAID", 101_001, True)


@scenario
def expiry_only_while_open_and_due(ledger: Any, orders: Any) -> None:
    for code, minutes in (("DH1", 30), ("DH2", 10), ("DH3", 20), ("DH4", 600)):
        orders.create(code, 100_000, now=NOW, expires_at=NOW + timedelta(minutes=minutes))
    orders.create("DH5", 100_000, now=NOW)  # never expires
    assert orders.due(now=LATER, limit=10) == ["DH2", "DH3", "DH1"]
    assert orders.due(now=LATER, limit=2) == ["DH2", "DH3"]
    assert orders.due(now=NOW + timedelta(minutes=10), limit=10) == ["DH2"]  # at its expiry
    orders.pay(orders.get("DH3"), transaction_id=1, amount=100_000, tolerance=0, now=NOW)
    orders.pay(orders.get("DH2"), transaction_id=2, amount=40_000, tolerance=0, now=NOW)
    assert orders.due(now=LATER, limit=10) == ["DH2", "DH1"]  # paid: out of the index
    assert orders.expire("DH1", now=NOW) == (None, False)  # not due yet
    expired, by_us = orders.expire("DH2", now=LATER)
    assert (by_us, expired.status, expired.paid_amount) == (True, "EXPIRED", 40_000)
    assert (expired.expired_at, expired.late) == (timestamp(LATER), {})
    assert orders.expire("DH2", now=LATER) == (expired, False)  # already: found, not by us
    assert orders.expire("DH3", now=LATER) == (None, False)  # paid in time
    assert orders.expire("DH5", now=LATER) == (None, False)  # no expiry
    assert orders.expire("DH404", now=LATER) == (None, False)
    assert orders.due(now=LATER, limit=10) == ["DH2", "DH1"]  # until its event is out
    orders.expiry_done("DH2")
    orders.expiry_done("DH2")
    assert orders.due(now=LATER, limit=10) == ["DH1"]
    with pytest.raises(ClientError, match="ConditionalCheckFailedException"):
        orders.expiry_done("DH404")


@scenario
def an_expired_order_takes_late_payments_once(ledger: Any, orders: Any) -> None:
    soon = NOW + timedelta(minutes=30)
    orders.create("DH1", 100_000, now=NOW, expires_at=soon)
    stale = orders.get("DH1")
    expired, _ = orders.expire("DH1", now=LATER)
    for order in (expired, stale):  # as given, or read again: the order has expired
        with pytest.raises(OrderExpired, match="order DH1 expired at"):
            orders.pay(order, transaction_id=7, amount=100_000, tolerance=0, now=at(7300))
    kept, added = orders.keep_late(expired, transaction_id=7, amount=90_000, now=at(7400))
    assert (added, kept.late[7]["amount"], kept.late[7]["at"]) == (
        True,
        90_000,
        timestamp(at(7400)),
    )
    assert (kept.status, kept.paid_amount, kept.payments) == ("EXPIRED", 0, {})
    assert kept.updated_at == timestamp(at(7400))
    assert orders.keep_late(kept, transaction_id=7, amount=1, now=at(7500)) == (kept, False)
    again, added = orders.keep_late(expired, transaction_id=7, amount=1, now=at(7500))
    assert (again.late, added) == (kept.late, False)
    # A person accepted another transfer late: paid after all.
    accepted = orders.pay(
        kept, transaction_id=8, amount=100_000, tolerance=0, now=at(7600), accept_expired=True
    )
    assert (accepted.applied, accepted.payment.status, accepted.order.status) == (
        True,
        "PAID",
        "PAID",
    )
    assert accepted.order.late == kept.late
    with pytest.raises(OrderError, match=r"\(the order is PAID\)"):
        orders.keep_late(kept, transaction_id=9, amount=1, now=at(7700))
    # A transfer already paid to an order that expired afterwards is never kept late too.
    orders.create("DH2", 100_000, now=NOW, expires_at=soon)
    partly = orders.pay(orders.get("DH2"), transaction_id=10, amount=1, tolerance=0, now=NOW)
    orders.expire("DH2", now=LATER)
    with pytest.raises(OrderError, match=r"transaction 10 can't be kept.*\(the order is EXPIRED\)"):
        orders.keep_late(partly.order, transaction_id=10, amount=1, now=at(7800))
    orders.create("DH3", 100_000, now=NOW)
    with pytest.raises(OrderError, match=r"\(the order is PENDING\)"):
        orders.keep_late(orders.get("DH3"), transaction_id=11, amount=1, now=at(7900))
    orders.create("DH4", 100_000, now=NOW)
    gone = orders.get("DH4")
    with pytest.raises(OrderError, match=r"\(the order is gone\)"):
        orders.keep_late(replace(gone, order_code="DH404"), transaction_id=12, amount=1, now=NOW)


@scenario
def refunds_recorded_once_each_with_its_total(ledger: Any, orders: Any) -> None:
    orders.create("DH1", 100_000, now=NOW)
    paid = orders.pay(orders.get("DH1"), transaction_id=1, amount=100_000, tolerance=0, now=NOW)
    stale = paid.order
    first = orders.add_refund(stale, transaction_id=2, amount=30_000, now=at(1))
    assert (first.recorded, first.amount, first.refunded_amount) == (True, 30_000, 30_000)
    assert (first.order.refunded_amount, first.order.status, first.order.payments) == (
        30_000,
        "PAID",
        {1: 100_000},
    )
    retried = orders.add_refund(stale, transaction_id=2, amount=30_000, now=at(2))
    assert (retried.recorded, retried.amount, retried.refunded_amount) == (False, 30_000, 30_000)
    second = orders.add_refund(stale, transaction_id=3, amount=20_000, now=at(3))
    assert (second.recorded, second.refunded_amount, sorted(second.order.refunds)) == (
        True,
        50_000,
        [2, 3],
    )
    assert orders.add_refund(second.order, transaction_id=2, amount=1, now=at(4)) == (
        orders.add_refund(stale, transaction_id=2, amount=1, now=at(4))
    )


@scenario
def a_cancelled_order_takes_no_payment_and_keeps_transfers_late(ledger: Any, orders: Any) -> None:
    orders.create("DH1", 100_000, now=NOW, expires_at=LATER, metadata={"cart": [1, 2.5]})
    with pytest.raises(OrderExists, match="DH1 already exists"):
        orders.create("dh-01", 5, now=NOW)
    partly = orders.pay(
        orders.get("DH1"), transaction_id=1, amount=40_000, tolerance=0, now=NOW, source="reconcile"
    )
    assert partly.order.payment_items[1]["source"] == "reconcile"
    cancelled, by_us = orders.cancel("dh-0001", now=at(60))
    assert (by_us, cancelled.status, cancelled.cancelled_at) == (
        True,
        "CANCELLED",
        timestamp(at(60)),
    )
    assert (cancelled.paid_amount, cancelled.metadata, cancelled.cancel_published) == (
        40_000,
        {"cart": [1, 2.5]},
        False,
    )
    assert orders.due(now=LATER + timedelta(days=1), limit=10) == []  # it can't expire now
    assert orders.cancel("DH1", now=at(61)) == (cancelled, False)
    orders.cancel_done("DH1")
    assert orders.get("DH1").cancel_published is True
    for order in (cancelled, partly.order):  # as given, or read again: it is cancelled
        with pytest.raises(OrderClosed, match="DH1 was cancelled"):
            orders.pay(order, transaction_id=2, amount=60_000, tolerance=0, now=at(70))
    kept, added = orders.keep_late(cancelled, transaction_id=2, amount=60_000, now=at(80))
    assert (added, kept.status, kept.paid_amount, kept.late[2]["amount"]) == (
        True,
        "CANCELLED",
        40_000,
        60_000,
    )
    orders.create("DH2", 1_000, now=NOW)
    orders.pay(orders.get("DH2"), transaction_id=3, amount=1_000, tolerance=0, now=NOW)
    paid, by_us = orders.cancel("DH2", now=at(90))
    assert (paid.status, by_us) == ("PAID", False)
    assert orders.cancel("DH404", now=at(90)) == (None, False)
    orders.cancel_done("DH404")  # no order: nothing written
    assert orders.get("DH404") is None


@scenario
def orders_are_listed_newest_first_a_page_at_a_time(ledger: Any, orders: Any) -> None:
    for n in range(1, 8):
        orders.create(f"DH{n}", n * 1_000, now=at(n))
    orders.pay(orders.get("DH3"), transaction_id=3, amount=3_000, tolerance=0, now=at(10))
    orders.pay(orders.get("DH6"), transaction_id=6, amount=6_000, tolerance=0, now=at(10))
    first, cursor = orders.page(limit=3)
    assert [o.key for o in first] == ["DH7", "DH6", "DH5"]
    second, cursor = orders.page(limit=3, cursor=cursor)
    assert [o.key for o in second] == ["DH4", "DH3", "DH2"]
    last, cursor = orders.page(limit=3, cursor=cursor)
    assert ([o.key for o in last], cursor) == (["DH1"], None)
    paid, cursor = orders.page(limit=1, status="PAID")
    assert [o.key for o in paid] == ["DH6"]
    paid, cursor = orders.page(limit=1, status="PAID", cursor=cursor)
    assert ([o.key for o in paid], cursor) == (["DH3"], None)
    newer, cursor = orders.page(limit=10, after=timestamp(at(5)))
    assert ([o.key for o in newer], cursor) == (["DH7", "DH6"], None)
    assert orders.page(limit=5, status="CANCELLED") == ([], None)


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_real_owners_and_the_fakes_answer_alike(name: str, tables: Tables) -> None:
    SCENARIOS[name](tables.ledger, tables.orders)


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_real_and_fake_tables_hold_the_same_items_after(name: str, stack: Any) -> None:
    real, fake = real_tables(stack), fake_tables()
    for both in (real, fake):
        SCENARIOS[name](both.ledger, both.orders)
    real_ledger, real_orders = real.items()
    fake_ledger, fake_orders = fake.items()
    assert fake_ledger == real_ledger
    assert fake_orders == real_orders


# --- the same methods, and every one of them called ----------------------------------------

PAIRS = [(Ledger, FakeLedger), (Orders, FakeOrders), (Bus, FakeBus), (TransactionQueue, FakeQueue)]
TEST_ONLY = {"drain"}  # FakeBus: what the test reads back


def methods(owner: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(value)
        for name, value in vars(owner).items()
        if inspect.isfunction(value) and not name.startswith("_")
    }


@pytest.mark.parametrize(("real", "fake"), PAIRS, ids=lambda c: c.__name__)
def test_a_fake_has_its_owners_methods_with_the_same_signatures(real: type, fake: type) -> None:
    real_methods, fake_methods = methods(real), methods(fake)
    assert set(fake_methods) - TEST_ONLY == set(real_methods)
    for name, signature in real_methods.items():
        assert fake_methods[name] == signature, name


class Calls:
    """An owner whose method calls are noted by name."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.called: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        self.called.add(name)
        return getattr(self.target, name)


def test_the_scenarios_call_every_public_method() -> None:
    called: set[str] = set()
    for run in SCENARIOS.values():
        ledger, orders = Calls(FakeLedger()), Calls(FakeOrders())
        run(ledger, orders)
        called |= {f"Ledger.{name}" for name in ledger.called}
        called |= {f"Orders.{name}" for name in orders.called}
    every = {f"{owner.__name__}.{name}" for owner in (Ledger, Orders) for name in methods(owner)}
    assert every - called == set()


# --- the bus and the queue ------------------------------------------------------------------


def test_the_fake_bus_delivers_what_the_real_bus_delivers(stack: Any) -> None:
    fakes = fake_tables()
    fakes.ledger.record_transaction(transaction(4, -50_000, "CHI"), source=WEBHOOK_V2, now=NOW)
    fakes.orders.create("DH1", 100_000, now=NOW, expires_at=NOW + timedelta(minutes=5))
    expired, _ = fakes.orders.expire("DH1", now=LATER)
    money_out = transfer_events(fakes.ledger.get(4), Effect(Outcome.MONEY_OUT))
    events = [order_expired(expired), *money_out, *money_out]
    fake = FakeBus()
    stack.processor_deps().bus.publish(events)
    fake.publish(events)
    delivered = published_events(stack.sqs, stack.events_tap_url)
    assert fake.drain() == delivered
    assert [t for t, _ in delivered] == ["Order Expired", *["Transaction Received"] * 2]
    assert fake.drain() == []


def test_the_fake_queue_sends_what_the_real_queue_sends(stack: Any) -> None:
    messages = [
        TransactionMessage(1, WEBHOOK_V1),
        TransactionMessage(2, RECONCILE, replay=3),
        TransactionMessage(1, WEBHOOK_V2),  # one message per transaction id: the last one
        *(TransactionMessage(n, RECONCILE) for n in range(10, 22)),  # past one batch
    ]
    fake = FakeQueue()
    assert stack.queue.send(messages) == fake.send(messages) == 14
    bodies = drain_queue(stack.sqs, stack.queue_url)
    sent = [TransactionMessage.from_json(json.dumps(body)) for body in bodies]
    by_id = sorted(sent, key=lambda m: m.transaction_id)
    assert by_id == sorted(fake.messages, key=lambda m: m.transaction_id)
    assert fake.messages[:2] == [TransactionMessage(1, WEBHOOK_V2), messages[1]]
    assert fake.send([]) == 0
