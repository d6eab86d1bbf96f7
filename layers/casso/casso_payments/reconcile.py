"""The reconciler's logic: keep the webhook registered, never miss a transaction.

One run, each step idempotent and reported on its own:
  sync     (optional) ask Casso to fetch each linked account's new transactions now;
  webhook  make Casso's webhook match the desired one (this stack's URL, the current secure
           token, income-only), remembering its id in the ledger table's STATE#webhook item;
  backfill page through the look-back window, newest first, find ids the ledger lacks
           (BatchGetItem, 100 at a time) and record + queue them (source `reconcile`);
  sweep    re-queue ledger entries still RECEIVED after the grace period (PendingIndex).
A step that fails doesn't stop the others; the run as a whole then fails loudly. Backfill
writes nothing until it has read every page, so an outage midway leaves the ledger as it was.
Dry run reads everything and changes nothing, anywhere.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

from aws_lambda_powertools.utilities.parameters import SecretsProvider

from casso_payments import ledger
from casso_payments.casso_client import CassoClient, WebhookNotFound
from casso_payments.credentials import CredentialsError, CredentialStore, read_api_key
from casso_payments.payload import PayloadError, Transaction, parse_transaction, redact
from casso_payments.queue import TransactionMessage, enqueue
from casso_payments.settings import ReconcilerSettings

VIETNAM = timezone(timedelta(hours=7))  # Casso's dates are Vietnam dates
WEBHOOK_STATE = "webhook"
RECONCILE = "reconcile"
SWEEP = "sweep"


@dataclass(frozen=True)
class ReconcilerDeps:
    dynamodb: Any
    sqs: Any
    # Called once per run: the key and token come from secrets that may have just changed.
    casso: Callable[[], CassoClient]
    secure_token: Callable[[], str]
    settings: ReconcilerSettings


@dataclass
class StepReport:
    ok: bool = True
    error: str = ""
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


@dataclass
class SweepReport(StepReport):
    requeued: list[int] = field(default_factory=list)


@dataclass
class SyncReport(StepReport):
    accounts: list[str] = field(default_factory=list)


@dataclass
class RunReport:
    dry_run: bool
    webhook: WebhookReport
    backfill: BackfillReport
    sweep: SweepReport
    sync: SyncReport | None = None

    @property
    def ok(self) -> bool:
        steps = [self.webhook, self.backfill, self.sweep, self.sync]
        return all(step.ok for step in steps if step is not None)

    def summary(self) -> dict[str, Any]:
        """The run in one structured log line."""
        return {
            "ok": self.ok,
            "dry_run": self.dry_run,
            "webhook": asdict(self.webhook),
            "backfill": {**asdict(self.backfill), "missing": self.backfill.missing[:50]},
            "sweep": {**asdict(self.sweep), "requeued": self.sweep.requeued[:50]},
            "sync": asdict(self.sync) if self.sync else None,
        }

    def metrics(self) -> dict[str, int]:
        repaired = self.webhook.action in ("created", "updated") and self.webhook.ok
        return {
            "ReconcileRuns": 1,
            "ReconcileFailures": int(not self.ok),
            "ReconcileSuccess": int(self.ok),
            "WebhookRepairs": int(repaired),
            "DuplicateWebhooksRemoved": self.webhook.duplicates_removed,
            "TransactionsChecked": self.backfill.checked,
            "MissedTransactions": len(self.backfill.missing),
            "TransactionsBackfilled": self.backfill.backfilled,
            "StuckTransactionsRequeued": len(self.sweep.requeued),
        }


Report = TypeVar("Report", bound=StepReport)


def _step(report: Report, work: Callable[[Report], None]) -> Report:
    started = time.monotonic()
    try:
        work(report)
    except Exception as error:  # each step reports its own failure; the run fails loudly
        report.ok = False
        report.error = f"{type(error).__name__}: {error}"
    report.seconds = round(time.monotonic() - started, 3)
    return report


def _token_hash(token: str) -> str:
    # What we registered, without storing the token itself beside the transactions.
    return hashlib.sha256(token.encode()).hexdigest()


def ensure_webhook(
    deps: ReconcilerDeps, casso: CassoClient, report: WebhookReport, *, now: datetime
) -> None:
    settings = deps.settings
    table = settings.ledger_table_name
    token = deps.secure_token()
    desired = {"url": settings.webhook_url, "income_only": settings.income_only}
    state = ledger.get_state(deps.dynamodb, table, WEBHOOK_STATE) or {}
    current = None
    if state.get("webhook_id") is not None:
        try:
            current = casso.get_webhook(int(state["webhook_id"]))
        except WebhookNotFound:
            current = None
    if current is None:
        report.action = "would create" if settings.dry_run else "created"
        report.drift = ["missing"]
        if settings.dry_run:
            return
        # Whatever Casso holds for our URL (copies, an id we lost) goes first: one webhook.
        report.duplicates_removed = len(casso.delete_webhooks_by_url(settings.webhook_url))
        created = casso.create_webhook(
            settings.webhook_url, token, income_only=settings.income_only
        )
        report.webhook_id = created.id
    else:
        report.webhook_id = current.id
        if current.url != desired["url"]:
            report.drift.append("url")
        if current.income_only != desired["income_only"]:
            report.drift.append("income_only")
        if state.get("token_sha256") != _token_hash(token):
            report.drift.append("secure_token")
        if not report.drift:
            report.action = "unchanged"
            return
        report.action = "would update" if settings.dry_run else "updated"
        if settings.dry_run:
            return
        casso.update_webhook(
            current.id, settings.webhook_url, token, income_only=settings.income_only
        )
    ledger.put_state(
        deps.dynamodb,
        table,
        WEBHOOK_STATE,
        {
            "webhook_id": report.webhook_id,
            **desired,
            "token_sha256": _token_hash(token),
            "updated_at": ledger.timestamp(now),
        },
    )


def backfill(
    deps: ReconcilerDeps, casso: CassoClient, report: BackfillReport, *, now: datetime
) -> None:
    settings = deps.settings
    table = settings.ledger_table_name
    since = now.astimezone(VIETNAM).date() - timedelta(days=settings.lookback_days)
    missing: dict[int, Transaction] = {}
    # Newest first: transactions arriving meanwhile push older ones to later pages, so a
    # record may be seen twice but none is skipped.
    for page in casso.transactions(from_date=since, page_size=100):
        report.pages += 1
        report.checked += len(page.records)
        parsed: dict[int, Transaction] = {}
        for index, record in enumerate(page.records):
            try:
                transaction = parse_transaction(record, f"page {page.page} records[{index}]")
            except PayloadError as problem:
                report.unreadable.append(redact(str(problem)))
                continue
            parsed[transaction.id] = transaction
        for transaction_id in ledger.missing_ids(deps.dynamodb, table, list(parsed)):
            missing.setdefault(transaction_id, parsed[transaction_id])
    report.missing = list(missing)
    if settings.dry_run or not missing:
        return
    recorded = []
    for transaction in missing.values():
        result = ledger.record_transaction(
            deps.dynamodb, table, transaction, source=RECONCILE, now=now
        )
        if result.new:  # else the webhook delivered it meanwhile
            recorded.append(transaction.id)
    enqueue(
        deps.sqs,
        settings.transaction_queue_url,
        [TransactionMessage(t, RECONCILE) for t in recorded],
    )
    report.backfilled = len(recorded)


def sweep(deps: ReconcilerDeps, report: SweepReport, *, now: datetime) -> None:
    settings = deps.settings
    cutoff = now - timedelta(minutes=settings.stuck_after_minutes)
    report.requeued = ledger.pending_before(deps.dynamodb, settings.ledger_table_name, cutoff)
    if report.requeued and not settings.dry_run:
        messages = [TransactionMessage(t, SWEEP) for t in report.requeued]
        enqueue(deps.sqs, settings.transaction_queue_url, messages)


def sync(deps: ReconcilerDeps, casso: CassoClient, report: SyncReport) -> None:
    report.accounts = [str(a["bankSubAccId"]) for a in casso.user_info().get("bankAccs") or []]
    if not deps.settings.dry_run:
        for account in report.accounts:
            casso.sync(account)


def run(deps: ReconcilerDeps, *, now: datetime) -> RunReport:
    built: list[CassoClient] = []

    def casso() -> CassoClient:
        # Made once per run, on first use: a bad or missing API key fails each Casso step.
        if not built:
            built.append(deps.casso())
        return built[0]

    sync_report = None
    if deps.settings.sync_before_backfill:
        sync_report = _step(SyncReport(), lambda r: sync(deps, casso(), r))
    return RunReport(
        dry_run=deps.settings.dry_run,
        sync=sync_report,
        webhook=_step(WebhookReport(), lambda r: ensure_webhook(deps, casso(), r, now=now)),
        backfill=_step(BackfillReport(), lambda r: backfill(deps, casso(), r, now=now)),
        sweep=_step(SweepReport(), lambda r: sweep(deps, r, now=now)),
    )


def build_deps(
    settings: ReconcilerSettings,
    *,
    dynamodb: Any,
    sqs: Any,
    secrets: SecretsProvider,
    max_age: int = 60,
    **client_options: Any,
) -> ReconcilerDeps:
    """The reconciler's dependencies: the Casso client and the secure token are read from
    their secrets at each run (cached `max_age` seconds), so a rotation is picked up."""
    webhook_credentials = CredentialStore(secrets, settings.webhook_secret_id, max_age=max_age)

    def casso() -> CassoClient:
        api_key = read_api_key(secrets, settings.api_key_secret_id, max_age=max_age)
        return CassoClient(api_key, base_url=settings.casso_api_base_url, **client_options)

    def secure_token() -> str:
        # The current token is what Casso must send; the previous one only bridges a rotation.
        tokens = webhook_credentials.get().secure_tokens
        if not tokens:
            raise CredentialsError(
                f"secret {settings.webhook_secret_id} has no secure_token to register "
                "the webhook with"
            )
        return tokens[0]

    return ReconcilerDeps(dynamodb, sqs, casso=casso, secure_token=secure_token, settings=settings)
