"""Instruments for the end-to-end benchmark, each measuring one hop of the local stack: CPU
per process, the trip from the HTTP front to a receiver process, the moto server alone."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from local.stack.lambda_events import rest_proxy_event
from local.stack.pipeline import LocalPipeline

# Seldom enough that the probe adds little to the moto server it measures (4 calls/s).
PROBE_EVERY = 0.5


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU a process has used so far (Linux /proc), 0 if unknown or gone."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def components(stack: LocalPipeline) -> dict[str, list[int | None]]:
    """The processes of the local stack, by role (the bench's own process runs the HTTP
    front, the senders, the queue pollers and the Casso simulator as threads)."""

    def pid(function: Any) -> int | None:
        process = getattr(function, "_process", None)
        return getattr(process, "pid", None)

    processors = [stack.functions["ProcessorFunction"], *stack._extra_processors]
    return {
        "receiver processes": [pid(m) for m in stack.receivers.members],
        "processor processes": [pid(p) for p in processors],
        "moto server": [getattr(stack.moto._process, "pid", None)],
        "bench process (HTTP front, senders, pollers, simulator)": [os.getpid()],
    }


def cpu_by_component(stack: LocalPipeline) -> dict[str, float]:
    return {name: sum(map(cpu_seconds, pids)) for name, pids in components(stack).items()}


class MotoProbe:
    """The receiver's two calls (PutItem, SendMessageBatch) made raw against the stack's moto
    server every PROBE_EVERY seconds while the traffic runs: what the moto hop alone costs
    under that load."""

    def __init__(self, stack: LocalPipeline) -> None:
        self._dynamodb, self._sqs = stack.clients["dynamodb"], stack.clients["sqs"]
        self._table = stack.resources.ref("LedgerTable")
        # A queue of its own, so the probe's messages never reach the processor.
        self._queue = self._sqs.create_queue(QueueName=f"bench-probe-{os.getpid()}")["QueueUrl"]
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="moto-probe")

    def _run(self) -> None:
        n = 0
        while not self._stop.wait(PROBE_EVERY):
            n += 1
            started = time.perf_counter()
            self._dynamodb.put_item(
                TableName=self._table,
                Item={"pk": {"S": f"PROBE#{n}"}, "kind": {"S": "probe"}},
                ConditionExpression="attribute_not_exists(pk)",
            )
            self._sqs.send_message_batch(
                QueueUrl=self._queue, Entries=[{"Id": "0", "MessageBody": "{}"}]
            )
            self.latencies.append((time.perf_counter() - started) * 1000)

    def __enter__(self) -> MotoProbe:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(30)


def timed_front(stack: LocalPipeline) -> list[float]:
    """Time each trip from the HTTP front to a receiver process and back (pipe, handler,
    its calls to moto): the rest of an acknowledgement is the HTTP front and the sender."""
    trips: list[float] = []
    invoke = stack.front._handler

    def timed(event: dict[str, Any]) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            return invoke(event)
        finally:
            trips.append((time.perf_counter() - started) * 1000)

    stack.front._handler = timed
    return trips


def warm_receivers(stack: LocalPipeline) -> None:
    """Start every receiver process before the traffic (their cold starts are measured by
    the cold-start benchmark, not here): a GET, which the receiver answers 404 untouched."""
    event = rest_proxy_event("GET", "/casso/webhook")
    with ThreadPoolExecutor(max_workers=len(stack.receivers.members)) as pool:
        answers = list(pool.map(lambda m: m.invoke(event), stack.receivers.members))
    if any(a["statusCode"] != 404 for a in answers):
        raise RuntimeError(f"a receiver did not start cleanly: {answers}")
