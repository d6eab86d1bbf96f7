"""The reconciler's gaps step: decide what each balance-chain start is, and tell a person
about a gap that stays open (docs/architecture.md#the-balance-chain).

The processor keeps every transaction whose balance before no known transaction reached as
a chain start (`processor.balance`). Each run, for each start:
  chained  a transaction now ends at its balance before (a late delivery, a backfill): it
           is forgotten, and if `Balance Gap Detected` went out for it, `Balance Gap Closed`
           goes out now;
  origin   the account's earliest start, when no transaction of the account is known from
           an earlier second: its first known one, not a gap (if an earlier one turns up
           later, it becomes a gap, found then);
  gap      open: its account is synced at once (this step runs before the backfill, which
           then pulls the window); once open BalanceGapMinutes, `Balance Gap Detected` goes
           out (the account, the transactions either side, the missing amount), once.
Events go out before the write that records them, under the run's lease: a crash between
can repeat one, never lose it, and each carries `gap_id` for consumers to drop the copy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from casso_payments.aws.deadline import Deadline
from casso_payments.aws.dynamo import parse_timestamp, timestamp
from casso_payments.casso.client import CassoClient
from casso_payments.chain.links import Gap
from casso_payments.events.build import balance_gap
from casso_payments.reconciler.report import GapsReport
from casso_payments.settings import accepts_account

if TYPE_CHECKING:
    from casso_payments.aws.bus import Bus
    from casso_payments.chain.repository import BalanceChain
    from casso_payments.reconciler.deps import ReconcilerDeps

SECONDS_PER_START = 1.0  # budget asked of the deadline to look at one start


def check_gaps(
    deps: ReconcilerDeps,
    casso: Callable[[], CassoClient],
    report: GapsReport,
    *,
    now: datetime,
    deadline: Deadline,
) -> None:
    chain, bus = deps.chain, deps.bus
    if chain is None or bus is None:
        return
    settings = deps.settings
    starts = [g for g in chain.starts() if accepts_account(settings.account_numbers, g.account)]
    report.starts = len(starts)
    unchained: dict[str, list[Gap]] = {}
    for gap in starts:
        deadline.require(SECONDS_PER_START, "checking the next balance chain start")
        if chain.reached(gap.account, gap.balance):
            _chained(gap, chain, bus, report, now=now, dry_run=settings.dry_run)
        else:
            unchained.setdefault(gap.account, []).append(gap)
    grace = timedelta(minutes=settings.balance_gap_minutes)
    for account, account_starts in sorted(unchained.items()):
        # The earliest start (time, then id: same-second ties) is the account's origin, if
        # no transaction of the account is known from an earlier second.
        gaps = sorted(account_starts, key=lambda g: (g.when, g.transaction_id))
        if chain.previous(account, gaps[0].when) is None:
            origin = gaps.pop(0)
            if not origin.origin and not settings.dry_run:
                chain.classify(origin, origin=True, found_at=origin.found_at)
        fresh = False  # a gap not yet reported: sync its account now
        for gap in gaps:
            deadline.require(SECONDS_PER_START, "checking the next balance gap")
            fresh |= _open(gap, chain, bus, report, now=now, grace=grace, dry_run=settings.dry_run)
        if fresh:
            if not settings.dry_run:
                casso().sync(account)
            report.synced.append(account)


def _chained(
    gap: Gap, chain: BalanceChain, bus: Bus, report: GapsReport, *, now: datetime, dry_run: bool
) -> None:
    """A transaction now ends at the start's balance before: forget it; close its gap."""
    report.chained.append(gap.key)
    if dry_run:
        return
    if gap.detected_at is not None:
        bus.publish([balance_gap(gap, closed_at=timestamp(now))])
        report.closed.append(gap.key)
    chain.remove_start(gap)


def _open(
    gap: Gap,
    chain: BalanceChain,
    bus: Bus,
    report: GapsReport,
    *,
    now: datetime,
    grace: timedelta,
    dry_run: bool,
) -> bool:
    """An open gap: waiting (synced, backfilled) until `grace` is up, then detected, once.
    True: it was not reported before this run."""
    at = timestamp(now)
    if gap.origin:  # an earlier transaction turned up: a gap from now on
        gap = replace(gap, origin=False, found_at=at)
        if not dry_run:
            chain.classify(gap, origin=False, found_at=at)
    report.open.append(gap.key)
    if gap.detected_at is not None:
        return False
    if now - parse_timestamp(gap.found_at) < grace:
        report.waiting.append(gap.key)
        return True
    previous = chain.previous(gap.account, gap.when, gap.transaction_id)
    detected = replace(
        gap,
        detected_at=at,
        previous_id=previous.transaction_id if previous else None,
        previous_balance=previous.balance if previous else None,
    )
    report.detected.append(gap.key)
    if not dry_run:
        bus.publish([balance_gap(detected)])
        chain.mark_detected(detected)
    return True
