"""Orders that expire unpaid, late payments kept on them, and a person's decision on those."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from casso_payments.aws.deadline import Deadline
from casso_payments.orders.model import OrderError
from casso_payments.processor import settle
from casso_payments.processor.process import process
from casso_payments.processor.settle import CannotSettle
from casso_payments.reconciler.expiry import IN_FLIGHT, expire_due
from casso_payments.reconciler.report import ExpiryReport
from local.stack.template import load_template
from tests.helpers import fail_calls
from tests.unit.test_processing import events, fail_mark_processed_once, record

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=2)
NEXT_RUN = LATER + timedelta(minutes=5)  # the reconciler's next scheduled run


def expiring(stack, code: str, amount: int, minutes: int = 30) -> None:
    stack.orders.create(code, amount, now=NOW, expires_at=NOW + timedelta(minutes=minutes))


def index_keys(stack) -> list[str]:
    # Everything in the sparse index, due or not (a Query on its one partition).
    return stack.orders.due(now=LATER + timedelta(days=999), limit=1000)


def run_expiry(stack, now: datetime) -> ExpiryReport:
    report = ExpiryReport()
    deps = stack.reconciler_deps("http://casso.invalid", "https://hook.invalid/webhook")
    expire_due(deps, report, now=now, deadline=Deadline.never())
    return report


def test_due_orders_come_oldest_first_and_at_most_limit_of_them(stack):
    for n, minutes in enumerate((50, 10, 40, 20, 30, 900), start=1):
        expiring(stack, f"DH{n}", 100_000, minutes=minutes)
    due_at = NOW + timedelta(minutes=60)  # all but DH6
    due = stack.orders.due(now=due_at, limit=3)
    assert due == ["DH2", "DH4", "DH5"]
    every = stack.orders.due(now=due_at, limit=500)
    assert every == ["DH2", "DH4", "DH5", "DH3", "DH1"]


def test_only_orders_with_an_expiry_are_in_the_index(stack):
    expiring(stack, "DH1", 100_000)
    stack.orders.create("DH2", 100_000, now=NOW)
    assert index_keys(stack) == ["DH1"]
    with pytest.raises(OrderError, match="is not after now"):
        stack.orders.create("DH3", 1, now=NOW, expires_at=NOW)


def test_the_reconciler_expires_due_unpaid_orders_once(stack):
    expiring(stack, "DH1", 100_000, minutes=30)  # unpaid, due
    expiring(stack, "DH2", 100_000, minutes=30)  # partly paid, due
    expiring(stack, "DH3", 100_000, minutes=30)  # paid in time
    expiring(stack, "DH4", 100_000, minutes=600)  # not due yet
    record(stack, 1, 40_000, "DH2 lan 1")
    record(stack, 2, 100_000, "DH3")
    process(1, stack.processor_deps(), now=NOW)
    process(2, stack.processor_deps(), now=NOW)
    events(stack)  # drop the payments' events

    report = run_expiry(stack, LATER)
    assert (report.due, sorted(report.expired)) == (2, ["DH1", "DH2"])
    statuses = {c: stack.orders.get(f"DH{c}").status for c in "1234"}
    assert statuses == {"1": "EXPIRED", "2": "EXPIRED", "3": "PAID", "4": "PENDING"}
    assert stack.orders.get("DH2").paid_amount == 40_000
    published = events(stack)
    assert sorted((t, d["order_code"], d["paid_amount"]) for t, d in published) == [
        ("Order Expired", "DH1", 0),
        ("Order Expired", "DH2", 40_000),
    ]
    assert index_keys(stack) == ["DH4"]  # handled ones left the index; the paid one too
    again = run_expiry(stack, LATER)
    assert (again.due, again.expired, events(stack)) == (0, [], [])


def test_a_crash_before_the_event_publishes_it_on_the_next_run(stack):
    expiring(stack, "DH1", 100_000)
    # The first run expired it and died before publishing: still in the index.
    order, by_us = stack.orders.expire("DH1", now=LATER)
    assert (order.status, by_us, order.expiring) == ("EXPIRED", True, True)
    report = run_expiry(stack, NEXT_RUN)
    assert report.expired == ["DH1"]
    assert [(t, d["order_code"]) for t, d in events(stack)] == [("Order Expired", "DH1")]
    assert (run_expiry(stack, NEXT_RUN).expired, events(stack), index_keys(stack)) == ([], [], [])


def expired_events(published: list[tuple[str, dict]]) -> list[str]:
    return [d["order_code"] for t, d in published if t == "Order Expired"]


def test_a_transfer_expiring_the_order_while_a_run_holds_it_publishes_order_expired_once(
    stack, monkeypatch
):
    # The transfer expires and publishes between the run's query and its own expire.
    expiring(stack, "DH20", 200_000)
    record(stack, 20, 200_000, "DH20")
    deps = stack.reconciler_deps("http://casso.invalid", "https://hook.invalid/webhook")
    query = deps.orders.due

    def due_then_the_transfer(**kwargs):
        keys = query(**kwargs)
        assert process(20, stack.processor_deps(), now=LATER).outcome == "late"
        return keys

    monkeypatch.setattr(deps.orders, "due", due_then_the_transfer)
    report = ExpiryReport()
    expire_due(deps, report, now=LATER, deadline=Deadline.never())
    assert (report.due, report.expired) == (1, [])
    assert run_expiry(stack, NEXT_RUN).expired == []
    assert expired_events(events(stack)) == ["DH20"]
    assert (stack.orders.get("DH20").status, index_keys(stack)) == ("EXPIRED", [])


def test_a_run_meeting_an_order_a_transfer_is_still_expiring_leaves_it_to_the_transfer(stack):
    # The run comes after the transfer expired the order, before the transfer publishes.
    expiring(stack, "DH21", 200_000)
    record(stack, 21, 200_000, "DH21")
    processor = stack.processor_deps()
    publish, runs = processor.bus.publish, []

    def a_run_then_publish(published):
        runs.append(run_expiry(stack, LATER))
        publish(published)

    processor.bus.publish = a_run_then_publish
    assert process(21, processor, now=LATER).outcome == "late"
    assert [(r.due, r.expired) for r in runs] == [(1, [])]
    assert run_expiry(stack, NEXT_RUN).expired == []
    assert expired_events(events(stack)) == ["DH21"]
    assert index_keys(stack) == []


def test_a_run_expiring_the_order_first_publishes_order_expired_once(stack, monkeypatch):
    # The transfer read the order unpaid; the run expires it before the transfer tries to.
    expiring(stack, "DH22", 200_000)
    record(stack, 22, 200_000, "DH22")
    processor = stack.processor_deps()
    expire, runs = processor.orders.expire, []

    def a_run_then_expire(key, *, now):
        runs.append(run_expiry(stack, LATER))
        return expire(key, now=now)

    monkeypatch.setattr(processor.orders, "expire", a_run_then_expire)
    done = process(22, processor, now=LATER)
    assert (done.outcome, done.effect.expired) == ("late", None)
    assert [r.expired for r in runs] == [["DH22"]]
    assert run_expiry(stack, NEXT_RUN).expired == []
    published = events(stack)
    assert expired_events(published) == ["DH22"]
    assert [t for t, _ in published] == ["Order Expired", "Transaction Received", "Late Payment"]


def test_a_transfer_dying_between_expiring_and_publishing_leads_to_one_order_expired(stack):
    expiring(stack, "DH23", 200_000)
    record(stack, 23, 200_000, "DH23")
    heal = fail_calls(stack.clients["events"], "PutEvents", "InternalException")
    with pytest.raises(ClientError, match="InternalException"):
        process(23, stack.processor_deps(), now=LATER)
    heal()
    assert stack.orders.get("DH23").status == "EXPIRED"  # expired; its event never went out
    # A run while the transfer could still be publishing leaves it; its retry doesn't
    # expire it again; the next run knows the expirer died and publishes.
    assert run_expiry(stack, LATER).expired == []
    assert process(23, stack.processor_deps(), now=LATER).outcome == "late"
    assert run_expiry(stack, NEXT_RUN).expired == ["DH23"]
    assert run_expiry(stack, NEXT_RUN + timedelta(minutes=5)).expired == []
    assert expired_events(events(stack)) == ["DH23"]
    assert index_keys(stack) == []


def test_a_run_waits_longer_than_a_processor_invocation_lasts():
    processor = load_template()["Resources"]["ProcessorFunction"]["Properties"]
    assert timedelta(seconds=2 * processor["Timeout"]) < IN_FLIGHT


def test_a_transfer_for_an_expired_order_is_kept_late_and_pays_nothing(stack):
    expiring(stack, "DH5", 200_000)
    run_expiry(stack, LATER)
    events(stack)
    record(stack, 7, 200_000, "IBFT DH5")
    outcome = process(7, stack.processor_deps(), now=LATER)
    assert outcome.outcome == "late"
    stored = stack.orders.get("DH5")
    assert (stored.status, stored.paid_amount, stored.payments) == ("EXPIRED", 0, {})
    assert stored.late[7]["amount"] == 200_000
    assert stack.ledger.get(7).outcome == "late"
    published = events(stack)
    assert [t for t, _ in published] == ["Transaction Received", "Late Payment"]
    late = published[1][1]
    assert (late["transaction_id"], late["order_code"], late["late_amount"]) == (7, "DH5", 200_000)


def test_the_processor_expires_a_due_order_the_reconciler_has_not_reached(stack):
    expiring(stack, "DH6", 200_000)
    record(stack, 8, 200_000, "DH6")
    assert process(8, stack.processor_deps(), now=LATER).outcome == "late"
    published = events(stack)
    assert [t for t, _ in published] == ["Transaction Received", "Order Expired", "Late Payment"]
    assert index_keys(stack) == []  # its event is out: the reconciler won't publish it again
    assert run_expiry(stack, LATER).expired == []


def test_a_late_payment_retried_after_a_crash_is_kept_once(stack):
    expiring(stack, "DH9", 200_000)
    record(stack, 9, 150_000, "DH9")
    # The first attempt dies after keeping the transfer, before the ledger says PROCESSED.
    heal = fail_mark_processed_once(stack, 9)
    with pytest.raises(Exception, match="InternalServerError"):
        process(9, stack.processor_deps(), now=LATER)
    heal()
    retry = process(9, stack.processor_deps(), now=LATER + timedelta(minutes=5))
    assert (retry.outcome, retry.effect.applied) == ("late", False)
    stored = stack.orders.get("DH9")
    assert (list(stored.late), stored.late[9]["amount"], stored.paid_amount) == ([9], 150_000, 0)
    assert stack.ledger.get(9).outcome == "late"


def test_accepting_a_late_payment_pays_the_order_once(stack):
    expiring(stack, "DH10", 200_000)
    record(stack, 10, 200_000, "DH10")
    process(10, stack.processor_deps(), now=LATER)
    events(stack)
    number = settle.accept_late(stack.ledger, 10, now=LATER, by="lan", note="ok")
    assert number == 1
    with pytest.raises(CannotSettle, match="only a processed 'late' transaction"):
        settle.accept_late(stack.ledger, 10, now=LATER, by="lan", note="twice")
    for _ in range(2):  # the queue may deliver the reopened transaction twice
        process(10, stack.processor_deps(), now=LATER)
    stored = stack.orders.get("DH10")
    assert (stored.status, stored.paid_amount, stored.payments) == ("PAID", 200_000, {10: 200_000})
    assert stack.ledger.get(10).outcome == "paid"
    assert [t for t, _ in events(stack)] == ["Transaction Received", "Order Paid"]


def test_a_late_payment_marked_for_refund(stack):
    expiring(stack, "DH11", 200_000)
    record(stack, 11, 200_000, "DH11")
    process(11, stack.processor_deps(), now=LATER)
    assert settle.refund_late(stack.ledger, 11, now=LATER, by="lan", note="") == "DH11"
    assert stack.ledger.get(11).outcome == "refund_due"
    with pytest.raises(CannotSettle):
        settle.accept_late(stack.ledger, 11, now=LATER, by="lan", note="")
    assert stack.orders.get("DH11").status == "EXPIRED"


def test_a_payment_racing_the_expiry_cannot_pay_the_expired_order(stack):
    from casso_payments.orders.model import OrderExpired

    expiring(stack, "DH12", 200_000)
    stale = stack.orders.get("DH12")  # read while PENDING
    stack.orders.expire("DH12", now=LATER)
    with pytest.raises(OrderExpired):
        stack.orders.pay(stale, transaction_id=1, amount=200_000, tolerance=0, now=LATER)
    stored = stack.orders.get("DH12")
    assert (stored.status, stored.paid_amount, stored.payments) == ("EXPIRED", 0, {})
