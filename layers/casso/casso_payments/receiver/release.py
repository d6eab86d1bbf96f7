"""Releasing a quarantined delivery: replayed through the intake once the code understands
it (`python -m ops quarantine release KEY`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from casso_payments.aws.queue import TransactionQueue
from casso_payments.ledger.repository import Ledger
from casso_payments.receiver import recording
from casso_payments.receiver.intake import parse_json, understand
from casso_payments.receiver.quarantine import NotQuarantined, reason


@dataclass(frozen=True)
class Released:
    """What releasing a quarantined delivery did; `problems` non-empty means nothing did."""

    new: tuple[int, ...] = ()
    duplicates: tuple[int, ...] = ()
    problems: str = ""


def release(ledger: Ledger, queue: TransactionQueue, *, key: str, now: datetime) -> Released:
    """Replay a quarantined delivery through the intake (it was authenticated when it came):
    if the code now understands all of it, record its transactions (dedupe as always),
    queue the new ones and any still unprocessed, and delete the quarantine item. If not,
    change nothing and say why. Safe to run again after a failure."""
    kept = ledger.get_quarantined(key)
    if kept is None:
        raise NotQuarantined(f"no quarantined delivery {key}")
    source = f"webhook-{kept.generation}"
    staged = recording.stage(understand(*parse_json(kept.body)), source=source, received_at=now)
    if staged.problems:
        return Released(problems=reason(staged.problems))
    written = recording.write(ledger, staged, requeue_before=now)
    if written.failure is not None:
        raise written.failure
    failure = recording.enqueue_all(queue, [*written.new, *written.requeue], source)
    if failure is not None:
        raise failure
    ledger.discard_quarantined(key)
    return Released(written.new, written.duplicates)
