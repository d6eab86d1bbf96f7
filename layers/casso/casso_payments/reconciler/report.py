"""What one reconciler run did, step by step: its log line and its metrics."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

LIST_IN_LOG = 50  # ids per list in the log line; the counts are whole


@dataclass
class StepReport:
    ok: bool = True
    error: str = ""
    # Set when the run's deadline stopped the step part-way: what's left is the next run's.
    stopped: str = ""
    seconds: float = 0.0


@dataclass
class WebhookReport(StepReport):
    action: str = ""  # unchanged | created | updated | would create | would update
    webhook_id: int | None = None
    drift: list[str] = field(default_factory=list)
    duplicates_removed: int = 0


@dataclass
class BackfillReport(StepReport):
    pages: int = 0
    checked: int = 0
    missing: list[int] = field(default_factory=list)
    backfilled: int = 0
    unreadable: list[str] = field(default_factory=list)
    other_accounts: int = 0  # records to accounts outside AccountNumbers, not considered
    # Records whose content (or a stronger source) differs from the ledger's version, and
    # how many of them were conflicts first kept by this run (ConflictingDeliveries).
    versions: list[int] = field(default_factory=list)
    conflicts: int = 0
    # Transactions missed while no webhook delivery arrived for WebhookSilenceMinutes.
    webhook_probably_paused: bool = False
    webhook_silent_since: str | None = None


@dataclass
class SweepReport(StepReport):
    requeued: list[int] = field(default_factory=list)
    # Swept MaxSweeps times already: no longer re-queued, left for a person (runbook).
    parked: list[int] = field(default_factory=list)
    parked_total: int = 0
    capped: bool = False  # more were waiting than MaxRequeuedPerRun


@dataclass
class ExpiryReport(StepReport):
    due: int = 0  # unpaid orders found past their expiry (ExpiringIndex)
    expired: list[str] = field(default_factory=list)  # Order Expired published for these


@dataclass
class SyncReport(StepReport):
    accounts: list[str] = field(default_factory=list)


@dataclass
class GapsReport(StepReport):
    """The balance chain's starts (docs/architecture.md#the-balance-chain), by what they are."""

    starts: int = 0  # chain starts kept, every account
    chained: list[str] = field(default_factory=list)  # filled since: forgotten
    open: list[str] = field(default_factory=list)  # gaps still open (ids: account#txn)
    waiting: list[str] = field(default_factory=list)  # open, within BalanceGapMinutes
    detected: list[str] = field(default_factory=list)  # Balance Gap Detected published now
    closed: list[str] = field(default_factory=list)  # Balance Gap Closed published now
    synced: list[str] = field(default_factory=list)  # accounts Casso was asked to sync


@dataclass
class RunReport:
    dry_run: bool
    webhook: WebhookReport = field(default_factory=WebhookReport)
    backfill: BackfillReport = field(default_factory=BackfillReport)
    sweep: SweepReport = field(default_factory=SweepReport)
    sync: SyncReport | None = None
    expiry: ExpiryReport | None = None  # None: the run has no orders table configured
    gaps: GapsReport | None = None  # None: the stack keeps no balance chain
    # Another run holds the lease: this one did nothing (its own report says so).
    skipped: str = ""

    def _steps(self) -> list[StepReport]:
        steps: list[StepReport | None] = [
            self.webhook,
            self.backfill,
            self.sweep,
            self.sync,
            self.expiry,
            self.gaps,
        ]
        return [step for step in steps if step is not None]

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self._steps())

    @property
    def complete(self) -> bool:
        """Every step ran to its end (none failed, none was stopped by the deadline)."""
        return not self.skipped and self.ok and not any(s.stopped for s in self._steps())

    def summary(self) -> dict[str, Any]:
        """The run in one structured log line."""
        return {
            "ok": self.ok,
            "complete": self.complete,
            "skipped": self.skipped,
            "dry_run": self.dry_run,
            "webhook": asdict(self.webhook),
            "backfill": {
                **asdict(self.backfill),
                "missing": self.backfill.missing[:LIST_IN_LOG],
                "unreadable": self.backfill.unreadable[:LIST_IN_LOG],
                "versions": self.backfill.versions[:LIST_IN_LOG],
            },
            "sweep": {
                **asdict(self.sweep),
                "requeued": self.sweep.requeued[:LIST_IN_LOG],
                "parked": self.sweep.parked[:LIST_IN_LOG],
            },
            "sync": asdict(self.sync) if self.sync else None,
            "expiry": (
                {**asdict(self.expiry), "expired": self.expiry.expired[:LIST_IN_LOG]}
                if self.expiry
                else None
            ),
            "gaps": (
                {
                    **asdict(self.gaps),
                    **{k: getattr(self.gaps, k)[:LIST_IN_LOG] for k in ("open", "chained")},
                }
                if self.gaps
                else None
            ),
        }

    def metrics(self) -> dict[str, int]:
        if self.skipped:
            return {"ReconcileRuns": 1, "ReconcileSkipped": 1, "ReconcileSuccess": 0}
        repaired = self.webhook.action in ("created", "updated") and self.webhook.ok
        return {
            "ReconcileRuns": 1,
            "ReconcileFailures": int(not self.ok),
            # A run cut short by its deadline didn't fail, but didn't finish either.
            "ReconcileSuccess": int(self.complete),
            "ReconcileCutShort": int(self.ok and not self.complete),
            "WebhookRepairs": int(repaired),
            "DuplicateWebhooksRemoved": self.webhook.duplicates_removed,
            "TransactionsChecked": self.backfill.checked,
            "MissedTransactions": len(self.backfill.missing),
            "TransactionsBackfilled": self.backfill.backfilled,
            "UnreadableRecords": len(self.backfill.unreadable),
            "ConflictingDeliveries": self.backfill.conflicts,
            "WebhookProbablyPaused": int(self.backfill.webhook_probably_paused),
            "StuckTransactionsRequeued": len(self.sweep.requeued),
            "StuckTransactionsParked": self.sweep.parked_total,
            "OrdersExpired": len(self.expiry.expired) if self.expiry else 0,
            # Open past BalanceGapMinutes (BalanceGapAlarm), found and filled this run.
            "BalanceGaps": len(self.gaps.open) - len(self.gaps.waiting) if self.gaps else 0,
            "BalanceGapsDetected": len(self.gaps.detected) if self.gaps else 0,
            "BalanceGapsClosed": len(self.gaps.closed) if self.gaps else 0,
        }
