"""The reconciler's sweep: re-queue ledger entries still RECEIVED after the grace period.

Bounded three ways: at most MaxRequeuedPerRun entries a run (oldest first, skipping those
re-queued within the grace period, so a backlog moves on rather than retrying the same few),
one re-queue per entry per grace period (its back-off), and at most MaxSweeps re-queues per
entry. An entry that still isn't
processed after that is parked (`pending` STUCK, out of the sweep's reach) and counted in
StuckTransactionsParked until a person deals with it (docs/operations.md#stuck-transactions-parked):
a poison transaction no longer cycles through the dead-letter queue forever.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from casso_payments.aws.deadline import Deadline, DeadlineReached
from casso_payments.aws.queue import TransactionMessage
from casso_payments.reconciler.report import SweepReport

if TYPE_CHECKING:
    from casso_payments.reconciler.deps import ReconcilerDeps

SWEEP: Final = "sweep"
ENTRY_SECONDS: Final = 1.0  # budget asked of the deadline per entry


def sweep(deps: ReconcilerDeps, report: SweepReport, *, now: datetime, deadline: Deadline) -> None:
    settings, ledger = deps.settings, deps.ledger
    cutoff = now - timedelta(minutes=settings.stuck_after_minutes)
    limit = settings.max_requeued_per_run
    if settings.dry_run:
        # What would be re-queued (or parked), ignoring the back-off.
        candidates = ledger.pending_before(cutoff, limit=limit + 1)
        report.capped = len(candidates) > limit
        report.requeued = candidates[:limit]
    else:
        try:
            for transaction_id in ledger.pending_before(cutoff):
                if len(report.requeued) >= limit:
                    report.capped = True
                    break
                deadline.require(ENTRY_SECONDS, f"sweeping transaction {transaction_id}")
                counted = ledger.count_sweep(
                    transaction_id,
                    max_sweeps=settings.max_sweeps,
                    now=now,
                    not_since=cutoff,
                )
                if counted:
                    report.requeued.append(transaction_id)
                elif counted is False and ledger.park_stuck(transaction_id):
                    report.parked.append(transaction_id)
        except DeadlineReached as stop:
            report.stopped = str(stop)
        if report.requeued:
            messages = [TransactionMessage(t, SWEEP) for t in report.requeued]
            deps.queue.send(messages)
    report.parked_total = ledger.count_stuck()
