"""The reconciler's logic: keep the webhook registered, never miss a transaction.

One run, at most one at a time (a lease in the ledger table, run_lease.py), inside its time
budget (a Deadline from the invocation's remaining time), each step idempotent and reported
on its own:
  sync     (optional) ask Casso to fetch each linked account's new transactions now;
  webhook  make Casso's webhook match the desired one (webhook_registration.py);
  backfill record + queue what the ledger lacks, notice a paused webhook (backfill.py);
  sweep    re-queue entries still RECEIVED, within bounds (stuck_sweep.py);
  expiry   unpaid orders past their expiry become EXPIRED (expiry_step.py).
A step that fails doesn't stop the others; the run as a whole then fails loudly. A step the
deadline stops reports what it did and leaves the rest to the next run (not a failure, but
not a completed run either). Dry run reads everything and changes nothing, anywhere.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, TypeVar

from aws_lambda_powertools.utilities.parameters import SecretsProvider

from casso_payments import run_lease
from casso_payments.backfill import backfill
from casso_payments.casso_client import CassoClient
from casso_payments.credentials import CredentialsError, CredentialStore, read_casso_auth
from casso_payments.expiry_step import expire_due
from casso_payments.reconcile_report import (
    BackfillReport,
    ExpiryReport,
    RunReport,
    StepReport,
    SweepReport,
    SyncReport,
    WebhookReport,
)
from casso_payments.run_budget import Deadline, DeadlineReached
from casso_payments.settings.reconciler import ReconcilerSettings
from casso_payments.stuck_sweep import sweep
from casso_payments.webhook_registration import ensure_webhook

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient

# A run with no deadline of its own (a test, a script) holds the lease this long at most.
UNBOUNDED_LEASE_SECONDS: Final = 900


@dataclass(frozen=True)
class ReconcilerDeps:
    dynamodb: DynamoDBClient
    # SQS and EventBridge clients are made on first use: most runs queue and publish nothing,
    # and each client made costs its cold start 4-6 ms (docs/benchmarks.md#cold-start).
    sqs: Callable[[], SQSClient]
    # Called once per run: the key and token come from secrets that may have just changed;
    # the client gets the run's deadline.
    casso: Callable[[Deadline], CassoClient]
    secure_token: Callable[[], str]
    settings: ReconcilerSettings
    events: Callable[[], EventBridgeClient] | None = None  # for Order Expired (the expiry step)


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
            if deps.settings.orders_table_name and deps.events is not None
            else None
        ),
    )


def run(deps: ReconcilerDeps, *, now: datetime, deadline: Deadline | None = None) -> RunReport:
    """One run, unless another holds the lease (then a report that says so, and nothing done)."""
    deadline = deadline or Deadline.never()
    settings = deps.settings
    if settings.dry_run:  # changes nothing, so it needs no lease (and takes none)
        return _steps(deps, now, deadline)
    owner = uuid.uuid4().hex
    lease_seconds = min(deadline.remaining(), UNBOUNDED_LEASE_SECONDS) + settings.reserve_seconds
    holder = run_lease.acquire(
        deps.dynamodb, settings.ledger_table_name, owner=owner, now=now, seconds=lease_seconds
    )
    if holder is not None:
        return RunReport(
            dry_run=False,
            skipped=f"another run holds the lease until {holder.get('expires_at')}",
        )
    try:
        return _steps(deps, now, deadline)
    finally:
        run_lease.release(deps.dynamodb, settings.ledger_table_name, owner=owner)


def build_deps(
    settings: ReconcilerSettings,
    *,
    dynamodb: DynamoDBClient,
    sqs: Callable[[], SQSClient],
    secrets: SecretsProvider,
    events: Callable[[], EventBridgeClient] | None = None,
    max_age: int = 60,
    **client_options: Any,
) -> ReconcilerDeps:
    """The reconciler's dependencies: the Casso client and the secure token are read from
    their secrets at each run (cached `max_age` seconds), so a rotation is picked up."""
    webhook_credentials = CredentialStore(secrets, settings.webhook_secret_id, max_age=max_age)

    def casso(deadline: Deadline) -> CassoClient:
        auth = read_casso_auth(secrets, settings.api_key_secret_id, max_age=max_age)
        return CassoClient(
            auth, base_url=settings.casso_api_base_url, deadline=deadline, **client_options
        )

    def secure_token() -> str:
        # The current token is what Casso must send; the previous one only bridges a rotation.
        tokens = webhook_credentials.get().secure_tokens
        if not tokens:
            raise CredentialsError(
                f"secret {settings.webhook_secret_id} has no secure_token to register "
                "the webhook with"
            )
        return tokens[0]

    return ReconcilerDeps(
        dynamodb, sqs, casso=casso, secure_token=secure_token, settings=settings, events=events
    )
