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

from casso_payments import ledger
from casso_payments.ledger_reconcile import count_stuck, count_sweep, park_stuck
from casso_payments.queue import TransactionMessage, enqueue
from casso_payments.reconcile_report import SweepReport
from casso_payments.run_budget import Deadline, DeadlineReached

if TYPE_CHECKING:
    from casso_payments.reconcile import ReconcilerDeps

SWEEP: Final = "sweep"
ENTRY_SECONDS: Final = 1.0  # budget asked of the deadline per entry


def sweep(deps: ReconcilerDeps, report: SweepReport, *, now: datetime, deadline: Deadline) -> None:
    settings = deps.settings
    table = settings.ledger_table_name
    cutoff = now - timedelta(minutes=settings.stuck_after_minutes)
    limit = settings.max_requeued_per_run
    if settings.dry_run:
        # What would be re-queued (or parked), ignoring the back-off.
        candidates = ledger.pending_before(deps.dynamodb, table, cutoff, limit=limit + 1)
        report.capped = len(candidates) > limit
        report.requeued = candidates[:limit]
    else:
        try:
            for transaction_id in ledger.pending_before(deps.dynamodb, table, cutoff):
                if len(report.requeued) >= limit:
                    report.capped = True
                    break
                deadline.require(ENTRY_SECONDS, f"sweeping transaction {transaction_id}")
                counted = count_sweep(
                    deps.dynamodb,
                    table,
                    transaction_id,
                    max_sweeps=settings.max_sweeps,
                    now=now,
                    not_since=cutoff,
                )
                if counted:
                    report.requeued.append(transaction_id)
                elif counted is False and park_stuck(deps.dynamodb, table, transaction_id):
                    report.parked.append(transaction_id)
        except DeadlineReached as stop:
            report.stopped = str(stop)
        if report.requeued:
            messages = [TransactionMessage(t, SWEEP) for t in report.requeued]
            enqueue(deps.sqs(), settings.transaction_queue_url, messages)
    report.parked_total = count_stuck(deps.dynamodb, table)
