"""Shared by the benchmarks: tables, statistics, results.json, a local AWS to measure against."""

from __future__ import annotations

import json
import os
import statistics
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from local.provision import LocalStack, provision, tap_events
from local.sample_events import LOCAL_SECRET_VALUES

RESULTS = Path(__file__).resolve().parent / "results.json"
SERVICES = ("dynamodb", "sqs", "secretsmanager", "events")
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "ap-southeast-1",
    "POWERTOOLS_TRACE_DISABLED": "1",
}


def table(title: str, headers: list[str], rows: list[list[Any]]) -> str:
    cells = [headers, *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [f"\n{title}"]
    for n, row in enumerate(cells):
        line = "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))
        lines.append(("  " + line).rstrip())
        if n == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ratio(value: float, floor: float) -> str:
    return f"{value / floor:.2f}x" if floor else "-"


def save(section: str, data: dict[str, Any]) -> None:
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[section] = data
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


class CallCounter:
    """Counts AWS API calls made through the given clients, by operation."""

    def __init__(self, *clients: Any) -> None:
        self.calls: Counter[str] = Counter()
        for client in clients:
            client.meta.events.register("before-call", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def take(self) -> Counter[str]:
        taken, self.calls = self.calls, Counter()
        return taken


@contextmanager
def local_aws() -> Iterator[tuple[str, LocalStack, dict[str, Any]]]:
    """A moto server with the stack's resources, built from template.yaml."""
    os.environ.update(FAKE_AWS)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    clients = {name: boto3.client(name, endpoint_url=endpoint) for name in SERVICES}
    stack = provision(
        clients,
        # moto's backends outlive a server in the same process: fresh names each time.
        stack_name=f"bench-{uuid.uuid4().hex[:6]}",
        secret_values=LOCAL_SECRET_VALUES,
    )
    tap_events(clients, stack)
    try:
        yield endpoint, stack, clients
    finally:
        server.stop()
