"""The reconciler's backfill step: compare Casso's transactions with the ledger, record and
queue the ones it lacks (source `reconcile`), keep and queue each one whose content differs
from the ledger's version (`Ledger.keep_version`: Casso's API outranks a v1 token, so the
processor replaces an unapplied forgery with it, docs/architecture.md#conflicting-versions),
and notice when Casso has stopped delivering.

Newest first through the look-back window, at most as many pages as LookbackDays can hold
(MaxTransactionsPerDay). A Casso or paging failure writes nothing, so an outage midway
leaves the ledger as it was; the run's deadline instead stops the paging and records what
was found so far (those are missing whatever comes later), leaving the rest to the next run.

Paused webhook: Casso pauses a webhook after 24 hours of failed deliveries and then holds
new transactions until someone replays them in its UI. From here that looks like this:
transactions dated after the last webhook delivery (or the registration) are missing, and
no delivery has arrived for WebhookSilenceMinutes. Backfill has made the ledger whole; the
flag tells a person to replay the held events (docs/operations.md#webhook-probably-paused).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Final

from casso_payments.aws.deadline import Deadline, DeadlineReached
from casso_payments.aws.dynamo import parse_timestamp, timestamp
from casso_payments.aws.queue import TransactionMessage
from casso_payments.casso.client import CassoClient
from casso_payments.casso.payload import PayloadError, Transaction, parse_transaction
from casso_payments.ledger.entries import RECONCILE, LedgerEntry, entry_from_values
from casso_payments.ledger.versions import assess
from casso_payments.reconciler.report import BackfillReport
from casso_payments.reconciler.webhook import WEBHOOK_STATE
from casso_payments.settings import accepts_account

if TYPE_CHECKING:
    from casso_payments.reconciler.deps import ReconcilerDeps

VIETNAM: Final = timezone(timedelta(hours=7))  # Casso's dates are Vietnam dates
PAGE_SIZE: Final = 100
WRITE_CHUNK: Final = 10  # recorded, then queued, ten at a time
WRITE_SECONDS: Final = 2.0  # budget asked of the deadline for one chunk


def max_pages(lookback_days: int, per_day: int, page_size: int = PAGE_SIZE) -> int:
    """The pages the look-back window can hold: its calendar days (today included)."""
    return math.ceil((lookback_days + 1) * per_day / page_size)


def _casso_time(transaction: Transaction) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(transaction.when).strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=VIETNAM)


def _check_paused(
    deps: ReconcilerDeps,
    report: BackfillReport,
    missing: dict[int, Transaction],
    webhook_receipts: list[str],
    now: datetime,
) -> None:
    state = deps.ledger.get_state(WEBHOOK_STATE) or {}
    registered = state.get("registered_at") or state.get("updated_at")
    marks = [m for m in (registered, *webhook_receipts) if m]
    if not missing or not marks:
        return  # nothing missed, or no webhook yet: Casso isn't meant to be sending
    silent_since = parse_timestamp(max(marks))
    # A minute's slack: Casso's clock and ours.
    after = silent_since - timedelta(minutes=1)
    missed_since = [t for t in missing.values() if (_casso_time(t) or now) >= after]
    silence = timedelta(minutes=deps.settings.webhook_silence_minutes)
    if missed_since and now - silent_since >= silence:
        report.webhook_probably_paused = True
        report.webhook_silent_since = timestamp(silent_since)


def _keep_versions(
    deps: ReconcilerDeps,
    report: BackfillReport,
    versions: list[tuple[Transaction, LedgerEntry]],
    now: datetime,
) -> None:
    """Keep each API record that is another version of the ledger's entry; queue the ones
    stronger than it for the processor. A conflict is counted the run it is first kept."""
    waiting = []
    for transaction, stored in versions:
        kept = deps.ledger.keep_version(stored, transaction, source=RECONCILE, now=now)
        if kept is None:
            continue
        report.conflicts += int(kept.conflict and kept.new)
        if kept.open:
            waiting.append(TransactionMessage(kept.transaction_id, RECONCILE, version=kept.key))
    if waiting:
        deps.queue.send(waiting)


def backfill(
    deps: ReconcilerDeps,
    casso: CassoClient,
    report: BackfillReport,
    *,
    now: datetime,
    deadline: Deadline,
) -> None:
    settings = deps.settings
    since = now.astimezone(VIETNAM).date() - timedelta(days=settings.lookback_days)
    missing: dict[int, Transaction] = {}
    versions: dict[int, tuple[Transaction, LedgerEntry]] = {}  # API record, ledger's version
    webhook_receipts: list[str] = []
    pages = casso.transactions(
        from_date=since,
        page_size=PAGE_SIZE,
        max_pages=max_pages(settings.lookback_days, settings.max_transactions_per_day),
    )
    # Newest first: transactions arriving meanwhile push older ones to later pages, so a
    # record may be seen twice but none is skipped.
    try:
        for page in pages:
            report.pages += 1
            report.checked += len(page.records)
            parsed: dict[int, Transaction] = {}
            for index, record in enumerate(page.records):
                try:
                    transaction = parse_transaction(record, f"page {page.page} records[{index}]")
                except PayloadError as problem:
                    report.unreadable.append(problem.problem.safe)
                    continue
                if not accepts_account(settings.account_numbers, transaction.account_number):
                    report.other_accounts += 1
                    continue
                parsed[transaction.id] = transaction
            found = deps.ledger.delivery_facts(list(parsed))
            for transaction_id, transaction in parsed.items():
                facts = found.get(transaction_id)
                if facts is None:
                    missing.setdefault(transaction_id, transaction)
                    continue
                if str(facts.get("source", "")).startswith("webhook"):
                    webhook_receipts.append(str(facts["received_at"]))
                stored = entry_from_values(facts)
                if assess(stored, transaction, RECONCILE) is not None:
                    versions.setdefault(transaction_id, (transaction, stored))
    except DeadlineReached as stop:
        report.stopped = str(stop)  # what was found is missing whatever the rest holds
    report.missing = list(missing)
    report.versions = list(versions)
    _check_paused(deps, report, missing, webhook_receipts, now)
    if not settings.dry_run:
        _keep_versions(deps, report, list(versions.values()), now)
    if settings.dry_run or not missing:
        return
    waiting = list(missing.values())
    for start in range(0, len(waiting), WRITE_CHUNK):
        try:
            deadline.require(WRITE_SECONDS, "recording the next backfilled transactions")
        except DeadlineReached as stop:
            report.stopped = str(stop)  # still missing from the ledger: the next run finds them
            return
        recorded = []
        for transaction in waiting[start : start + WRITE_CHUNK]:
            result = deps.ledger.record_transaction(transaction, source=RECONCILE, now=now)
            if result.new:  # else the webhook delivered it meanwhile
                recorded.append(transaction.id)
        deps.queue.send([TransactionMessage(t, RECONCILE) for t in recorded])
        report.backfilled += len(recorded)
