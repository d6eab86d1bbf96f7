"""The balance chain's decisions, on the fakes: the processor's part (each transaction joins
its account's chain; a start makes Casso sync once) and the reconciler's gaps step (origin,
gap waiting then detected once, closed once, a former origin turned gap, dry run)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from casso_payments.aws.deadline import Deadline
from casso_payments.casso.payload import Transaction
from casso_payments.ledger.entries import LedgerEntry
from casso_payments.processor.balance import (
    CHAINED,
    NO_ACCOUNT,
    NOT_CHECKABLE,
    START,
    START_NOT_SYNCED,
    join_chain,
)
from casso_payments.reconciler.deps import ReconcilerDeps
from casso_payments.reconciler.gaps import check_gaps
from casso_payments.reconciler.report import GapsReport
from casso_payments.settings.reconciler import ReconcilerSettings
from tests.fakes import FakeBalanceChain, FakeBus
from tests.helpers import NOW

ACCOUNT = "88888888"


class Casso:
    """What the steps ask of Casso here: sync an account (refusing when told to)."""

    def __init__(self, fail: bool = False) -> None:
        self.synced: list[str] = []
        self.fail = fail

    def sync(self, bank_account: str) -> None:
        if self.fail:
            raise RuntimeError("Casso is down")
        self.synced.append(bank_account)


def entry(tid: int, amount: int, balance: int | None, when: str, account: str = ACCOUNT):
    transaction = Transaction(
        id=tid, amount=amount, balance=balance, when=when, account_number=account
    )
    return LedgerEntry(transaction, "RECEIVED", "webhook-v2", "2026-11-21T03:00:00.000Z")


def settings(**overrides: Any) -> ReconcilerSettings:
    env = {
        "LEDGER_TABLE_NAME": "ledger",
        "TRANSACTION_QUEUE_URL": "queue",
        "WEBHOOK_SECRET_ID": "secret",
        "CASSO_API_KEY_SECRET_ID": "key",
        "WEBHOOK_URL": "https://example.invalid/prod/casso/webhook",
    }
    return replace(ReconcilerSettings.from_env(env), **overrides)


class Run:
    def __init__(self, chain: FakeBalanceChain, **overrides: Any) -> None:
        self.chain, self.bus, self.casso = chain, FakeBus(), Casso()
        self.deps = ReconcilerDeps(
            ledger=None,
            queue=None,
            casso=lambda deadline: self.casso,
            secure_token=lambda: "",
            settings=settings(**overrides),
            bus=self.bus,
            chain=chain,
        )

    def __call__(self, now: datetime) -> GapsReport:
        report = GapsReport()
        check_gaps(self.deps, lambda: self.casso, report, now=now, deadline=Deadline.never())
        return report


@pytest.fixture
def chain() -> FakeBalanceChain:
    return FakeBalanceChain()


def join(chain: FakeBalanceChain, *entries: LedgerEntry, casso: Casso | None = None) -> list:
    casso = casso or Casso()
    return [join_chain(e, chain, now=NOW, casso=lambda: casso) for e in entries]


def test_each_transaction_joins_its_chain_and_only_a_start_asks_casso_to_sync(chain):
    casso = Casso()
    found = join(
        chain,
        entry(1, 100, 1_000, "2026-11-21 09:00:00"),
        entry(2, -30, 970, "2026-11-21 09:05:00"),
        entry(3, 10, None, "2026-11-21 09:06:00"),
        entry(4, 10, 980, "2026-11-21 09:07:00", account=""),
        casso=casso,
    )
    assert found == [START, CHAINED, NOT_CHECKABLE, NO_ACCOUNT]
    assert casso.synced == [ACCOUNT]
    assert [s.transaction_id for s in chain.starts()] == [1]
    # A retry joins it again, unchanged, and asks Casso nothing more.
    assert join(chain, entry(1, 100, 1_000, "2026-11-21 09:00:00"), casso=casso) == [START]
    assert casso.synced == [ACCOUNT]


def test_casso_down_never_fails_the_transaction_and_the_start_is_kept(chain):
    failing = Casso(fail=True)
    found = join(chain, entry(1, 100, 1_000, "2026-11-21 09:00:00"), casso=failing)
    assert found == [START_NOT_SYNCED]
    assert [s.transaction_id for s in chain.starts()] == [1]


def test_a_gap_waits_its_minutes_is_detected_once_and_closed_once(chain):
    join(
        chain,
        entry(1, 100, 1_000, "2026-11-21 09:00:00"),
        entry(3, 250, 1_290, "2026-11-21 11:00:00"),  # after a missing 40
    )
    run = Run(chain, balance_gap_minutes=60)
    waiting = run(NOW)
    assert (waiting.open, waiting.waiting, waiting.detected) == (
        [f"{ACCOUNT}#3"],
        [f"{ACCOUNT}#3"],
        [],
    )
    assert run.casso.synced == [ACCOUNT]
    assert run.bus.drain() == []

    later = NOW + timedelta(minutes=61)
    assert run(later).detected == [f"{ACCOUNT}#3"]
    ((kind, detail),) = run.bus.drain()
    assert kind == "Balance Gap Detected"
    assert (detail["previous_transaction_id"], detail["missing_amount"]) == (1, 40)
    again = run(later + timedelta(minutes=15))
    assert (again.open, again.detected, again.waiting) == ([f"{ACCOUNT}#3"], [], [])
    assert run.bus.drain() == []

    join(chain, entry(2, 40, 1_040, "2026-11-21 10:00:00"))
    closed = run(later + timedelta(minutes=30))
    assert (closed.chained, closed.closed, closed.open) == ([f"{ACCOUNT}#3"], [f"{ACCOUNT}#3"], [])
    ((kind, detail),) = run.bus.drain()
    assert (kind, detail["gap_id"], detail["missing_amount"]) == (
        "Balance Gap Closed",
        f"{ACCOUNT}#3",
        40,
    )
    assert run(later + timedelta(minutes=45)).closed == []
    assert [(s.transaction_id, s.origin) for s in chain.starts()] == [(1, True)]


def test_a_former_origin_becomes_a_gap_when_an_earlier_unchained_transaction_turns_up(chain):
    join(chain, entry(5, 100, 1_000, "2026-11-21 09:00:00"))
    run = Run(chain, balance_gap_minutes=60)
    assert run(NOW).open == []
    # Backfilled, days older, and not the one before it: transaction 5 is a gap from now on.
    join(chain, entry(1, 500, 700, "2026-11-18 09:00:00"))
    later = NOW + timedelta(hours=5)
    report = run(later)
    assert (report.open, report.waiting) == ([f"{ACCOUNT}#5"], [f"{ACCOUNT}#5"])
    assert run(later + timedelta(minutes=61)).detected == [f"{ACCOUNT}#5"]


def test_a_dry_run_changes_nothing_and_publishes_nothing(chain):
    join(
        chain,
        entry(1, 100, 1_000, "2026-11-21 09:00:00"),
        entry(3, 250, 1_290, "2026-11-21 11:00:00"),
    )
    before = dict(chain.items)
    run = Run(chain, balance_gap_minutes=0, dry_run=True)
    assert run(NOW).detected == [f"{ACCOUNT}#3"]
    assert (chain.items, run.bus.drain(), run.casso.synced) == (before, [], [])


def test_a_detected_gap_stays_a_gap_when_the_origin_before_it_chains(chain):
    join(
        chain,
        entry(2, 100, 1_000, "2026-11-21 09:00:00"),
        entry(4, 250, 1_290, "2026-11-21 11:00:00"),  # after a missing 40
    )
    run = Run(chain, balance_gap_minutes=0)
    assert run(NOW).detected == [f"{ACCOUNT}#4"]
    # The origin's own predecessor turns up (backfilled): transaction 4 is still a gap.
    join(chain, entry(1, 900, 900, "2026-11-21 08:00:00"))
    report = run(NOW + timedelta(minutes=1))
    assert (report.chained, report.open, report.closed) == ([f"{ACCOUNT}#2"], [f"{ACCOUNT}#4"], [])
    assert [kind for kind, _ in run.bus.drain()] == ["Balance Gap Detected"]
