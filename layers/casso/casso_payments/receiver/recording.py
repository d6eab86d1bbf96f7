"""Recording a delivery's transactions: one conditional put per transaction, then the new
ones queued, both concurrently on the one client of each (botocore clients are
thread-safe).

Concurrency is what lets a large v1 batch be acknowledged inside the receiver's 3 s: at
10 ms a call, 1,396 puts one after another take 14 s; WRITE_CONCURRENCY at a time, under
half a second. The calls and their per-item semantics are the sequential ones: each put is
conditional on the id being new, the first writer wins, and whatever was written is queued
even when another write failed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from casso_payments.aws.dynamo import parse_timestamp, timestamp
from casso_payments.aws.queue import (
    SQS_BATCH_LIMIT,
    EnqueueError,
    TransactionMessage,
    TransactionQueue,
    enqueue,
)
from casso_payments.casso.payload import ParsedDelivery, Problem, Transaction
from casso_payments.ledger.entries import RECEIVED, LedgerEntry
from casso_payments.ledger.repository import new_item
from casso_payments.ledger.versions import Kept

if TYPE_CHECKING:
    from casso_payments.ledger.repository import Ledger

# Threads (and, in the receiver, pooled connections: see its client's Config) per delivery.
WRITE_CONCURRENCY: Final = 32
AWS_ERRORS: Final = (ClientError, BotoCoreError, EnqueueError)

In = TypeVar("In")
Out = TypeVar("Out")


@dataclass(frozen=True)
class Staged:
    """A delivery's transactions as ledger items, and every problem found on the way."""

    items: tuple[tuple[int, dict[str, Any]], ...]  # (transaction id, item), delivery order
    problems: tuple[Problem, ...]
    transactions: tuple[Transaction, ...] = ()  # those of `items`, in the same order


@dataclass(frozen=True)
class LedgerWrites:
    """What writing a delivery's transactions did."""

    new: tuple[int, ...]
    duplicates: tuple[int, ...]
    # Duplicates still unprocessed long after they were first recorded: queue them again.
    requeue: tuple[int, ...]
    failure: Exception | None = None
    # Duplicates with the ledger's entry they met: maybe other versions (`keep_versions`).
    met: tuple[tuple[Transaction, LedgerEntry], ...] = ()


def stage(parsed: ParsedDelivery, *, source: str, received_at: datetime) -> Staged:
    """Build each transaction's item before writing any: one that can't be stored (too
    large, text DynamoDB refuses, nested too deeply) becomes a problem, not a failed write."""
    items: list[tuple[int, dict[str, Any]]] = []
    transactions: list[Transaction] = []
    problems = list(parsed.problems)
    at = timestamp(received_at)
    for transaction in parsed.transactions:
        try:
            item = new_item(transaction, source=source, received_at=at)
        except (ValueError, RecursionError) as error:
            problems.append(Problem(f"transaction {transaction.id}", f"cannot be stored ({error})"))
            continue
        items.append((transaction.id, item))
        transactions.append(transaction)
    return Staged(tuple(items), tuple(problems), tuple(transactions))


def concurrently(
    work: Callable[[In], Out], inputs: Sequence[In], executor: Executor | None = None
) -> list[Out | Exception]:
    """work(x) for each input on `executor` (or on WRITE_CONCURRENCY threads of its own), in
    input order; an AWS error is returned in its place (any other exception is a bug and
    propagates). The receiver passes one executor, made once: starting 32 threads for every
    delivery costs more than the writes on a busy host."""

    def attempt(value: In) -> Out | Exception:
        try:
            return work(value)
        except AWS_ERRORS as error:
            return error

    if len(inputs) <= 1:
        return [attempt(value) for value in inputs]
    if executor is not None:
        return list(executor.map(attempt, inputs))
    with ThreadPoolExecutor(max_workers=min(WRITE_CONCURRENCY, len(inputs))) as pool:
        return list(pool.map(attempt, inputs))


def write(
    ledger: Ledger,
    staged: Staged,
    *,
    requeue_before: datetime,
    executor: Executor | None = None,
) -> LedgerWrites:
    """Put every staged item (each id once: a repeat within the delivery is a duplicate)."""
    first: dict[int, dict[str, Any]] = {}
    for transaction_id, item in staged.items:
        first.setdefault(transaction_id, item)
    delivered = {t.id: t for t in reversed(staged.transactions)}  # each id's first
    results = dict(
        zip(
            first,
            concurrently(ledger.record, [*first.values()], executor),
            strict=True,
        )
    )
    new: list[int] = []
    duplicates: list[int] = []
    requeue: list[int] = []
    met: list[tuple[Transaction, LedgerEntry]] = []
    failure: Exception | None = None
    for transaction_id, _ in staged.items:
        result = results.pop(transaction_id, None)
        if result is None:  # a repeat within this delivery
            duplicates.append(transaction_id)
        elif isinstance(result, Exception):
            failure = failure or result
        elif result.new:
            new.append(transaction_id)
        else:
            duplicates.append(transaction_id)
            existing = result.existing
            if existing is not None and transaction_id in delivered:
                met.append((delivered[transaction_id], existing))
            # Still unprocessed a while after it was first recorded: its queue message may
            # never have been sent (we answered 5xx then). Queue it again; processing is
            # idempotent, so a spare message costs nothing but a read.
            if (
                existing is not None
                and existing.status == RECEIVED
                and parse_timestamp(existing.received_at) <= requeue_before
            ):
                requeue.append(transaction_id)
    return LedgerWrites(tuple(new), tuple(duplicates), tuple(requeue), failure, tuple(met))


def keep_versions(
    ledger: Ledger,
    met: Sequence[tuple[Transaction, LedgerEntry]],
    *,
    source: str,
    received_at: datetime,
    executor: Executor | None = None,
) -> tuple[list[Kept], Exception | None]:
    """Keep each duplicate that is another version of its ledger entry (`Ledger.keep_version`,
    a ledger write: no call a first delivery doesn't make); the first failure, if any."""

    def keep(pair: tuple[Transaction, LedgerEntry]) -> Kept | None:
        transaction, stored = pair
        return ledger.keep_version(stored, transaction, source=source, now=received_at)

    results = concurrently(keep, list(met), executor)
    kept = [r for r in results if isinstance(r, Kept)]
    return kept, next((r for r in results if isinstance(r, Exception)), None)


def enqueue_all(
    queue: TransactionQueue,
    ids: Sequence[int],
    source: str,
    executor: Executor | None = None,
) -> Exception | None:
    """Queue each id once, batches of ten sent concurrently; the first failure, if any (the
    other batches are still sent)."""
    messages = [TransactionMessage(i, source) for i in dict.fromkeys(ids)]
    return send(queue, messages, executor)


def send(
    queue: TransactionQueue,
    messages: Sequence[TransactionMessage],
    executor: Executor | None = None,
) -> Exception | None:
    """Send `messages` (one per id), batches of ten sent concurrently; the first failure."""
    batches = [
        messages[start : start + SQS_BATCH_LIMIT]
        for start in range(0, len(messages), SQS_BATCH_LIMIT)
    ]
    results = concurrently(lambda batch: enqueue(queue.client, queue.url, batch), batches, executor)
    return next((r for r in results if isinstance(r, Exception)), None)
