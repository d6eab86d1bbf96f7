"""The reconciler's logic: keep the webhook registered, never miss a transaction.

One run, at most one at a time (a lease in the ledger table, `Ledger.acquire_lease`), inside
its time budget (a Deadline from the invocation's remaining time), each step idempotent and
reported on its own (`report`):
  sync     (optional) ask Casso to fetch each linked account's new transactions now;
  webhook  make Casso's webhook match the desired one (`webhook`);
  gaps     the balance chain's breaks: sync a gap's account, publish one that stays open
           (`gaps`; before the backfill, which then pulls the window);
  backfill record + queue what the ledger lacks, notice a paused webhook (`backfill`);
  sweep    re-queue entries still RECEIVED, within bounds (`sweep`);
  expiry   unpaid orders past their expiry become EXPIRED (`expiry`).

A run expires a lease it outlived: one that died (timeout, crash) never blocks the next for
longer than it could have run; two runs started together: one writes first, the other sees
the lease and does nothing.
A step that fails doesn't stop the others; the run as a whole then fails loudly. A step the
deadline stops reports what it did and leaves the rest to the next run (not a failure, but
not a completed run either). Dry run reads everything and changes nothing, anywhere.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Final, TypeVar

from casso_payments.aws.deadline import Deadline, DeadlineReached
from casso_payments.casso.client import CassoClient
from casso_payments.reconciler.backfill import backfill
from casso_payments.reconciler.deps import ReconcilerDeps
from casso_payments.reconciler.expiry import expire_due
from casso_payments.reconciler.gaps import check_gaps
from casso_payments.reconciler.report import (
    BackfillReport,
    ExpiryReport,
    GapsReport,
    RunReport,
    StepReport,
    SweepReport,
    SyncReport,
    WebhookReport,
)
from casso_payments.reconciler.sweep import sweep
from casso_payments.reconciler.webhook import ensure_webhook

if TYPE_CHECKING:
    pass

# A run with no deadline of its own (a test, a script) holds the lease this long at most.
UNBOUNDED_LEASE_SECONDS: Final = 900


Report = TypeVar("Report", bound=StepReport)


def _step(report: Report, work: Callable[[Report], None]) -> Report:
    started = time.monotonic()
    try:
        work(report)
    except DeadlineReached as stop:  # out of time: not a failure, the next run goes on
        report.stopped = str(stop)
    except Exception as error:  # each step reports its own failure; the run fails loudly
        report.ok = False
        report.error = f"{type(error).__name__}: {error}"
    report.seconds = round(time.monotonic() - started, 3)
    return report


def sync(deps: ReconcilerDeps, casso: CassoClient, report: SyncReport) -> None:
    report.accounts = [str(a["bankSubAccId"]) for a in casso.user_info().get("bankAccs") or []]
    if deps.settings.account_numbers:
        report.accounts = [a for a in report.accounts if a in deps.settings.account_numbers]
    if not deps.settings.dry_run:
        for account in report.accounts:
            casso.sync(account)


def _steps(deps: ReconcilerDeps, now: datetime, deadline: Deadline) -> RunReport:
    built: list[CassoClient] = []

    def casso() -> CassoClient:
        # Made once per run, on first use: a bad or missing API key fails each Casso step.
        if not built:
            built.append(deps.casso(deadline))
        return built[0]

    sync_report = None
    if deps.settings.sync_before_backfill:
        sync_report = _step(SyncReport(), lambda r: sync(deps, casso(), r))
    # Before the backfill: a gap's account is synced, then the backfill pulls the window.
    gaps = (
        _step(GapsReport(), lambda r: check_gaps(deps, casso, r, now=now, deadline=deadline))
        if deps.chain is not None and deps.bus is not None
        else None
    )
    return RunReport(
        dry_run=deps.settings.dry_run,
        sync=sync_report,
        webhook=_step(WebhookReport(), lambda r: ensure_webhook(deps, casso(), r, now=now)),
        backfill=_step(
            BackfillReport(), lambda r: backfill(deps, casso(), r, now=now, deadline=deadline)
        ),
        sweep=_step(SweepReport(), lambda r: sweep(deps, r, now=now, deadline=deadline)),
        expiry=(
            _step(ExpiryReport(), lambda r: expire_due(deps, r, now=now, deadline=deadline))
            if deps.orders is not None and deps.bus is not None
            else None
        ),
        gaps=gaps,
    )


def run(deps: ReconcilerDeps, *, now: datetime, deadline: Deadline | None = None) -> RunReport:
    """One run, unless another holds the lease (then a report that says so, and nothing done)."""
    deadline = deadline or Deadline.never()
    settings = deps.settings
    if settings.dry_run:  # changes nothing, so it needs no lease (and takes none)
        return _steps(deps, now, deadline)
    owner = uuid.uuid4().hex
    lease_seconds = min(deadline.remaining(), UNBOUNDED_LEASE_SECONDS) + settings.reserve_seconds
    holder = deps.ledger.acquire_lease(owner=owner, now=now, seconds=lease_seconds)
    if holder is not None:
        return RunReport(
            dry_run=False,
            skipped=f"another run holds the lease until {holder.get('expires_at')}",
        )
    try:
        return _steps(deps, now, deadline)
    finally:
        deps.ledger.release_lease(owner=owner)
