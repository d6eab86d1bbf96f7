"""Design invariant 11, its first half: a transfer Casso vouches for is never lost to a
forgery. A forged v1 delivery squats an id Casso hasn't used yet; when the real transfer
arrives with that id (signed V2, or listed by Casso's API for the reconciler), it replaces
the unapplied forgery and pays the order with the real amount. A forgery that was applied
already is not undone silently: `Payment Conflict` goes out, the order stays as it is, and
the version waits for a person.

The real receiver and processor handlers on a moto server, the real reconciler's steps, and
the Casso simulator (its first transaction id is known, so a forgery can squat it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from casso_payments.aws.queue import TransactionMessage
from casso_payments.casso.payload import parse_transaction
from casso_payments.ledger.repository import Ledger
from casso_payments.ledger.versions import version_key
from casso_payments.processor.process import process
from casso_payments.processor.versions import resolve
from casso_payments.reconciler.run import run
from local.casso.simulator import FIRST_TRANSACTION_ID, CassoSimulator
from tests.helpers import NOW, WEBHOOK_URL, published_events
from tests.integration.test_ops import fake_deployed_stack, ops

pytestmark = pytest.mark.integration


def now_ms() -> int:
    """A V2 signature's timestamp: now, in milliseconds."""
    return int(datetime.now(UTC).timestamp() * 1000)


def squat(amount: int = 0, description: str = "chuyen tien") -> dict[str, Any]:
    """A forged v1 item for the id Casso will give its next transaction."""
    return {
        "id": FIRST_TRANSACTION_ID,
        "tid": "FORGED",
        "amount": amount,
        "description": description,
        "when": datetime.now(UTC).strftime("%Y-%m-%d"),
        "bankSubAccId": "12345678",
    }


def kinds(stack) -> list[str]:
    return [t for t, _ in published_events(stack.sqs, stack.events_tap_url)]


def test_a_forged_v1_squat_then_the_real_signed_delivery_pays_the_order(
    confirming, casso: CassoSimulator, server_stack
):
    pipeline = confirming()
    # Amount 0, no order named: confirmed all the same, and refused (Casso doesn't know it).
    assert pipeline.deliver(squat()) == 200
    pipeline.run_processor()
    assert server_stack.ledger.get(FIRST_TRANSACTION_ID).outcome == "unconfirmed"
    assert kinds(server_stack) == ["Transaction Received", "Payment Unconfirmed"]

    real = casso.add_transaction(200_500, "DH35 thanh toan", deliver=False)
    assert real["id"] == FIRST_TRANSACTION_ID
    answer = pipeline.deliver_v2(real, timestamp_ms=now_ms())
    assert (answer["statusCode"], answer["body"]) == (200, '{"success":true}')
    pipeline.run_processor()

    dh35 = server_stack.orders.get("DH35")
    assert (dh35.status, dh35.paid_amount, list(dh35.payments)) == (
        "PAID",
        200_500,
        [FIRST_TRANSACTION_ID],
    )
    entry = server_stack.ledger.get(FIRST_TRANSACTION_ID)
    assert (entry.source, entry.transaction.amount, entry.outcome, entry.revision) == (
        "webhook-v2",
        200_500,
        "paid",
        1,
    )
    displaced = server_stack.ledger.stored(FIRST_TRANSACTION_ID)["displaced"]
    assert (displaced["source"], displaced["outcome"]) == ("webhook-v1", "unconfirmed")
    (version,) = server_stack.ledger.list_versions()
    assert (version.source, version.state, version.differs) == (
        "webhook-v2",
        "replaced",
        ("amount", "description", "account_number"),
    )
    assert kinds(server_stack) == ["Transaction Received", "Order Paid"]
    # Casso retries the real delivery: now a plain duplicate, nothing more happens.
    assert pipeline.deliver_v2(real, timestamp_ms=now_ms())["statusCode"] == 200
    pipeline.run_processor()
    assert kinds(server_stack) == []
    assert server_stack.orders.get("DH35").paid_amount == 200_500


def test_a_forged_v1_squat_then_the_reconciler_finds_the_real_one_in_casso(
    confirming, casso: CassoSimulator, server_stack
):
    pipeline = confirming()
    assert pipeline.deliver(squat(1_000, "DH36")) == 200
    pipeline.run_processor()
    assert server_stack.ledger.get(FIRST_TRANSACTION_ID).outcome == "unconfirmed"
    published_events(server_stack.sqs, server_stack.events_tap_url)
    # The real transfer's webhook is lost; only Casso's API lists it.
    real = casso.add_transaction(300_000, "DH36 thanh toan", deliver=False)
    assert real["id"] == FIRST_TRANSACTION_ID
    deps = server_stack.reconciler_deps(casso.api_url, WEBHOOK_URL)
    report = run(deps, now=datetime.now(UTC))
    assert report.backfill.missing == []  # the id is there: before, that was the end of it
    assert (report.backfill.versions, report.backfill.conflicts) == ([FIRST_TRANSACTION_ID], 1)
    assert report.metrics()["ConflictingDeliveries"] == 1
    pipeline.run_processor()
    dh36 = server_stack.orders.get("DH36")
    assert (dh36.status, dh36.paid_amount) == ("PAID", 300_000)
    entry = server_stack.ledger.get(FIRST_TRANSACTION_ID)
    assert (entry.source, entry.transaction.amount) == ("reconcile", 300_000)
    assert kinds(server_stack) == ["Transaction Received", "Order Paid"]
    # The next run finds the ledger agreeing with Casso: nothing kept, nothing counted.
    again = run(deps, now=datetime.now(UTC))
    assert (again.backfill.versions, again.backfill.conflicts) == ([], 0)


def test_a_forgery_after_the_real_transfer_changes_nothing_and_is_kept(
    confirming, casso: CassoSimulator, server_stack
):
    pipeline = confirming()
    real = casso.add_transaction(200_500, "DH35 thanh toan", deliver=False)
    assert pipeline.deliver_v2(real, timestamp_ms=now_ms())["statusCode"] == 200
    pipeline.run_processor()
    published_events(server_stack.sqs, server_stack.events_tap_url)
    before = server_stack.ledger.get(real["id"])
    forged = {**squat(1, "DH36"), "id": real["id"]}
    assert pipeline.deliver(forged) == 200  # 200 all the same: Casso must not retry forever
    pipeline.run_processor()
    assert server_stack.ledger.get(real["id"]) == before
    assert server_stack.orders.get("DH35").paid_amount == 200_500
    assert server_stack.orders.get("DH36").payments == {}
    (version,) = server_stack.ledger.list_versions()
    assert (version.source, version.state, version.transaction.amount) == ("webhook-v1", "kept", 1)
    assert kinds(server_stack) == []


def test_a_dry_run_reports_the_versions_it_would_keep_and_keeps_none(
    confirming, casso: CassoSimulator, server_stack
):
    pipeline = confirming()
    assert pipeline.deliver(squat(1_000, "DH36")) == 200
    pipeline.run_processor()
    casso.add_transaction(300_000, "DH36 thanh toan", deliver=False)
    deps = server_stack.reconciler_deps(casso.api_url, WEBHOOK_URL, dry_run=True)
    report = run(deps, now=datetime.now(UTC))
    assert (report.backfill.versions, report.backfill.conflicts) == ([FIRST_TRANSACTION_ID], 0)
    assert server_stack.ledger.list_versions() == []
    assert server_stack.ledger.get(FIRST_TRANSACTION_ID).transaction.amount == 1_000


def test_an_applied_forgery_is_not_undone_silently_it_goes_to_a_person(
    pipeline, casso: CassoSimulator, server_stack
):
    # ConfirmPayments none: the forgery is applied to DH35 before the real one arrives.
    assert pipeline.deliver(squat(1_000, "DH35")) == 200
    pipeline.run_processor()
    assert server_stack.ledger.get(FIRST_TRANSACTION_ID).outcome == "partially_paid"
    published_events(server_stack.sqs, server_stack.events_tap_url)
    real = casso.add_transaction(200_500, "DH35 thanh toan", deliver=False)
    assert pipeline.deliver_v2(real, timestamp_ms=now_ms())["statusCode"] == 200
    pipeline.run_processor()
    dh35 = server_stack.orders.get("DH35")
    assert (dh35.status, dh35.paid_amount) == ("PARTIALLY_PAID", 1_000)  # unchanged
    entry = server_stack.ledger.get(FIRST_TRANSACTION_ID)
    assert (entry.source, entry.transaction.amount) == ("webhook-v1", 1_000)
    published = published_events(server_stack.sqs, server_stack.events_tap_url)
    assert [t for t, _ in published] == ["Payment Conflict"]
    detail = published[0][1]
    assert (detail["order_code"], detail["amount"], detail["source"]) == (
        "DH35",
        200_500,
        "webhook-v2",
    )
    assert (detail["applied_amount"], detail["applied_source"]) == (1_000, "webhook-v1")
    (version,) = server_stack.ledger.list_versions()
    assert (version.key, version.state) == (detail["version"], "person")
    # Redelivered: kept once, published once.
    assert pipeline.deliver_v2(real, timestamp_ms=now_ms())["statusCode"] == 200
    pipeline.run_processor()
    assert kinds(server_stack) == []
    # A person looks, decides, and records it with `ops conflicts settle`.
    stack = fake_deployed_stack(server_stack)
    listed = ops(server_stack.endpoint, "conflicts", "list", "--stack", stack)
    assert listed.returncode == 0, listed.stderr
    assert f"{FIRST_TRANSACTION_ID}  {version.key}  person" in listed.stdout
    assert "1 versions, 1 waiting for a person" in listed.stdout
    settle = ("conflicts", "settle", "--stack", stack, "--id", str(FIRST_TRANSACTION_ID))
    decided = (*settle, "--version", version.key, "--by", "lan", "--note", "refunded 1,000")
    result = ops(server_stack.endpoint, *decided)
    assert result.returncode == 0, result.stderr
    assert f"version {version.key} of transaction {FIRST_TRANSACTION_ID}" in result.stdout
    settled = server_stack.ledger.get_version(FIRST_TRANSACTION_ID, version.key)
    assert (settled.state, settled.note) == ("settled", "refunded 1,000")
    again = ops(server_stack.endpoint, *decided)
    assert again.returncode == 1
    assert "it is settled (only person or kept versions wait for a person)" in again.stderr


@pytest.mark.parametrize("attempt", range(6))
def test_a_replace_racing_the_processor_leaves_exactly_one_version_applied(
    pipeline, server_stack, attempt
):
    """The processor applying the weak version and the resolver replacing it, at the same
    moment, on their own clients: whichever wins, the order holds one version's amount, and
    the other is either superseded or handed to a person, never applied too."""
    forged = {**squat(1_000, "DH35"), "id": 500 + attempt}
    assert pipeline.deliver(forged) == 200
    real = parse_transaction({**forged, "amount": 200_500, "description": "DH35 that"})
    stored = server_stack.ledger.get(forged["id"])
    kept = server_stack.ledger.keep_version(stored, real, source="reconcile", now=NOW)
    assert kept is not None
    assert (kept.open, kept.key) == (True, version_key(real, "reconcile"))
    results: dict[str, Any] = {}
    start = threading.Barrier(2)

    def work(name: str, job: Callable[[Any], Any]) -> None:
        deps = server_stack.processor_deps()
        start.wait()
        results[name] = job(deps)

    threads = [
        threading.Thread(
            target=work,
            args=("weak", lambda deps: process(forged["id"], deps, now=datetime.now(UTC))),
        ),
        threading.Thread(
            target=work,
            args=(
                "strong",
                lambda deps: resolve(forged["id"], kept.key, deps, now=datetime.now(UTC)),
            ),
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    dh35 = server_stack.orders.get("DH35")
    entry = server_stack.ledger.get(forged["id"])
    version = server_stack.ledger.get_version(forged["id"], kept.key)
    assert entry.status == "PROCESSED"
    if version.state == "replaced":  # the stronger one won: the real amount, once
        assert (entry.transaction.amount, dh35.paid_amount) == (200_500, 200_500)
        # The id's own message stopped (Superseded), or read the entry after the replace and
        # worked the new version itself: the order took it once either way.
        assert results["weak"].outcome.value in ("already_processed", "paid")
    else:  # the processor claimed it first: it stands, and a person hears of the other
        assert version.state == "person"
        assert (entry.transaction.amount, dh35.paid_amount) == (1_000, 1_000)
        assert results["strong"].outcome.value == "conflict"
    assert list(dh35.payments) == [forged["id"]]
    message = TransactionMessage(forged["id"], "reconcile", version=kept.key)
    assert TransactionMessage.from_json(message.to_json()) == message


class PausingLedger(Ledger):
    """The real ledger owner, pausing after one method returns until told to go on: a
    chosen interleaving of two real workers, nothing mocked."""

    def __init__(self, ledger: Ledger, method: str) -> None:
        self.table = ledger.table
        self.method, self.reached, self.go_on = method, threading.Event(), threading.Event()

    def __getattribute__(self, name: str) -> Any:
        found = super().__getattribute__(name)
        if name != super().__getattribute__("method"):
            return found

        def paused(*args: Any, **kwargs: Any) -> Any:
            result = found(*args, **kwargs)
            self.reached.set()
            assert self.go_on.wait(timeout=60)
            return result

        return paused


@pytest.mark.parametrize(
    ("pause_after", "wins"),
    [("claim", "weak"), ("bind", "strong")],
    ids=["claimed-first", "replaced-between-bind-and-claim"],
)
def test_each_order_of_the_race_ends_with_one_version_applied(
    pipeline, server_stack, pause_after, wins
):
    forged = {**squat(1_000, "DH35"), "id": 777}
    assert pipeline.deliver(forged) == 200
    real = parse_transaction({**forged, "amount": 200_500, "description": "DH35 that"})
    stored = server_stack.ledger.get(777)
    kept = server_stack.ledger.keep_version(stored, real, source="webhook-v2", now=NOW)
    assert kept is not None
    deps = server_stack.processor_deps()
    pausing = PausingLedger(deps.ledger, pause_after)
    results: dict[str, Any] = {}
    weak = threading.Thread(
        target=lambda: results.setdefault(
            "weak", process(777, replace(deps, ledger=pausing), now=datetime.now(UTC))
        )
    )
    weak.start()
    assert pausing.reached.wait(timeout=60)
    results["strong"] = resolve(777, kept.key, server_stack.processor_deps(), now=datetime.now(UTC))
    pausing.go_on.set()
    weak.join(timeout=60)
    dh35 = server_stack.orders.get("DH35")
    entry = server_stack.ledger.get(777)
    state = server_stack.ledger.get_version(777, kept.key).state
    if wins == "weak":  # claimed: the forgery is applied, the real one goes to a person
        assert (state, results["strong"].outcome.value) == ("person", "conflict")
        assert (entry.transaction.amount, dh35.paid_amount, entry.outcome) == (
            1_000,
            1_000,
            "partially_paid",
        )
        assert [t for t, _ in published_events(server_stack.sqs, server_stack.events_tap_url)] == [
            "Payment Conflict",
            "Transaction Received",
            "Order Partially Paid",
        ]
    else:  # replaced before the claim: the forgery's worker stops, the real one pays
        assert (state, results["weak"].outcome.value) == ("replaced", "already_processed")
        assert (entry.transaction.amount, dh35.paid_amount, entry.outcome) == (
            200_500,
            200_500,
            "paid",
        )
        assert [t for t, _ in published_events(server_stack.sqs, server_stack.events_tap_url)] == [
            "Transaction Received",
            "Order Paid",
        ]
    assert list(dh35.payments) == [777]
