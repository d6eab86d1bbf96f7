"""The functions' event sources, as the template declares them: the processor's SQS event
source mapping (queue, batch size, whether it reports batch item failures) and the
reconciler's schedule (run at a fast local rate, and on demand)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from local.stack.poller import poll_once
from local.stack.template import events_of


@dataclass(frozen=True)
class SqsSource:
    """A function's SQS event source: what Lambda's event source mapping is told."""

    function: str
    queue: str  # the queue's logical id
    batch_size: int
    report_batch_item_failures: bool


def sqs_source(template: Mapping[str, Any], logical_id: str) -> SqsSource:
    """The function's one SQS event source; SAM's default batch size is 10."""
    sources = events_of(template, logical_id, "SQS")
    if len(sources) != 1:
        raise KeyError(f"{logical_id} has {len(sources)} SQS event sources; one is expected")
    properties = sources[0]
    queue = properties["Queue"]
    if "Fn::GetAtt" not in queue:
        raise KeyError(f"{logical_id}: the SQS Queue must be !GetAtt <queue>.Arn, got {queue}")
    return SqsSource(
        function=logical_id,
        queue=queue["Fn::GetAtt"][0],
        batch_size=int(properties.get("BatchSize", 10)),
        report_batch_item_failures="ReportBatchItemFailures"
        in properties.get("FunctionResponseTypes", []),
    )


def runs_on_schedule(template: Mapping[str, Any], logical_id: str) -> bool:
    return any(events_of(template, logical_id, kind) for kind in ("ScheduleV2", "Schedule"))


@dataclass
class Stats:
    batches: int = 0
    processed: int = 0
    failed_records: int = 0
    crashes: int = 0
    reconciles: int = 0
    last_reconcile: dict[str, Any] | None = None
    errors: list[str] = field(default_factory=list)


class QueuePoller(threading.Thread):
    """Like Lambda's event source mapping for one execution environment: receive a batch,
    invoke, delete what did not fail; paused while `paused` is set."""

    def __init__(
        self,
        name: str,
        sqs: Any,
        source: SqsSource,
        queue_url: str,
        queue_arn: str,
        invoke: Callable[[dict[str, Any]], Any],
        *,
        stats: Stats,
        stop: threading.Event,
        paused: threading.Event,
        interval: float,
        retry_after_seconds: int,
    ) -> None:
        super().__init__(daemon=True, name=name)
        self._sqs, self._source, self._invoke = sqs, source, invoke
        self._queue_url, self._queue_arn = queue_url, queue_arn
        self._stats, self._stopping, self._paused = stats, stop, paused
        self._interval, self._retry_after = interval, retry_after_seconds

    def run(self) -> None:
        while not self._stopping.is_set():
            if self._paused.is_set():
                self._stopping.wait(self._interval)
                continue
            try:
                result = poll_once(
                    self._sqs,
                    self._queue_url,
                    self._queue_arn,
                    self._invoke,
                    batch_size=self._source.batch_size,
                    report_failures=self._source.report_batch_item_failures,
                    retry_visibility_seconds=self._retry_after,
                )
            except Exception as error:  # moto going away at shutdown, mostly
                self._stats.errors.append(f"poller: {error}")
                self._stopping.wait(self._interval)
                continue
            if not result.received:
                self._stopping.wait(self._interval)
                continue
            self._stats.batches += 1
            self._stats.processed += result.deleted
            self._stats.failed_records += len(result.failed)
            if "crashed" in result.error:
                self._stats.crashes += 1


class Schedule(threading.Thread):
    """Runs `run` every `every` seconds until `stop` is set."""

    def __init__(self, run: Callable[[], object], every: float, stop: threading.Event) -> None:
        super().__init__(daemon=True, name="scheduler")
        self._run, self._every, self._stopping = run, every, stop

    def run(self) -> None:
        while not self._stopping.wait(self._every):
            self._run()
