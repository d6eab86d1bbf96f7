"""An SQS batch worked record by record, with Lambda's partial batch response.

Each record is handled on its own: the failed ones are reported by message id in
`batchItemFailures` (the event source mapping has ReportBatchItemFailures), so SQS deletes
the rest and redelivers only those. When every record failed the invocation fails too, so
Lambda counts an error (ProcessorErrorsAlarm) and retries the batch. These are the rules of
Powertools' batch utility, which this replaces for one reason: importing it loads every
event data class Powertools ships (its package `__init__`), about 11 ms of the processor's
cold start for a loop of a few lines (docs/benchmarks.md#cold-start).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypedDict


class SQSRecord(TypedDict):
    """The fields of an SQS record (Lambda's event) that the processor reads."""

    messageId: str
    receiptHandle: str
    body: str
    attributes: dict[str, str]


class ItemFailure(TypedDict):
    itemIdentifier: str


class PartialBatchResponse(TypedDict):
    batchItemFailures: list[ItemFailure]


class BatchFailed(RuntimeError):
    """Every record of the batch failed; `errors` holds each one's message id and error."""

    def __init__(self, errors: list[tuple[str, Exception]]) -> None:
        reasons = "; ".join(f"{mid}: {type(e).__name__}: {e}" for mid, e in errors)
        super().__init__(f"all {len(errors)} records failed: {reasons}")
        self.errors = errors


def receive_count(record: SQSRecord) -> int:
    """How many times SQS has handed this message out, this time included."""
    return int(record["attributes"].get("ApproximateReceiveCount") or 1)


def records_of(event: Mapping[str, Any]) -> list[SQSRecord]:
    """The event's records; an event that has none is not an SQS batch, and says so."""
    records = event.get("Records")
    if not isinstance(records, list) or not records:
        raise ValueError(f"not an SQS batch: 'Records' is {records!r}, expected a list of records")
    return records


def process_batch(
    event: Mapping[str, Any], handle: Callable[[SQSRecord], object]
) -> PartialBatchResponse:
    """`handle` each record; report the ones that raised (raise if all of them did)."""
    records = records_of(event)
    errors: list[tuple[str, Exception]] = []
    for record in records:
        try:
            handle(record)
        except Exception as error:  # reported below; `handle` logged it with its reason
            errors.append((record["messageId"], error))
    if len(errors) == len(records):
        raise BatchFailed(errors)
    return {"batchItemFailures": [{"itemIdentifier": mid} for mid, _ in errors]}
