"""Shared by the benchmarks: tables, statistics, results.json, a local AWS to measure against."""

from __future__ import annotations

import io
import json
import logging
import os
import statistics
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

from local.cli.sample_events import LOCAL_SECRET_VALUES
from local.stack.moto_server import adjust_moto
from local.stack.provision import ProvisionedResources, provision, tap_events

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


def spread(values: list[float], digits: int = 1) -> dict[str, float]:
    """min / median / max: one number hides how far a shared machine swung the runs."""
    return {
        "min": round(min(values), digits),
        "median": round(median(values), digits),
        "max": round(max(values), digits),
    }


def shown(values: list[float], digits: int = 0, unit: str = "") -> str:
    """'median (min-max)' for a table cell."""
    s = spread(values, digits)
    return f"{s['median']:.{digits}f}{unit} ({s['min']:.{digits}f}-{s['max']:.{digits}f})"


def pair_ratios(measured: list[float], floor: list[float]) -> list[float]:
    """Run n of the subject over run n of the floor: runs taken side by side share the
    machine's load at that moment, so their ratio is steadier than a ratio of medians."""
    return [m / f for m, f in zip(measured, floor, strict=True)]


def verdict(value: float, limit: float, *, at_most: bool = True) -> str:
    met = value <= limit if at_most else value >= limit
    return "met" if met else "NOT MET"


def machine() -> dict[str, Any]:
    """The machine the figures came from, and how busy it was (load average: 1, 5, 15 min)."""
    return {"cores": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()]}


# The repetitions behind the figures bench/results.json keeps. Fewer make a quick, rough
# look (docs/benchmarks.md#running-them), which is printed but never replaces them.
REPETITIONS = {"BENCH_COLD_RUNS": 15, "BENCH_WARM": 300, "BENCH_RECONCILE_REPEATS": 3}


def repetitions(name: str) -> int:
    """How many times to repeat: the environment's `name`, else its default."""
    return int(os.environ.get(name) or REPETITIONS[name])


def quick_run() -> list[str]:
    """The repetition settings below their defaults, e.g. ["BENCH_COLD_RUNS=3"]."""
    return [f"{n}={repetitions(n)}" for n in REPETITIONS if repetitions(n) < REPETITIONS[n]]


def save(section: str, data: dict[str, Any], *, before: dict[str, Any] | None = None) -> None:
    """Write one benchmark's figures, with the machine's load before and after the run;
    a quick run's are only printed."""
    if quick := quick_run():
        print(f"  a quick run ({', '.join(quick)}): bench/results.json left as it was")
        return
    if before is not None:
        after = machine()
        data = {
            **data,
            "machine": {
                "cores": after["cores"],
                "load_average_before": before["load_average"],
                "load_average_after": after["load_average"],
            },
        }
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[section] = data
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


def machine_line(before: dict[str, Any]) -> str:
    after = machine()
    return (
        f"  machine: {after['cores']} cores; load average (1/5/15 min) "
        f"{'/'.join(map(str, before['load_average']))} before, "
        f"{'/'.join(map(str, after['load_average']))} after"
    )


class CallCounter:
    """Counts AWS API calls made through the given clients, by operation (for benchmarks
    whose AWS answers are faked in botocore, where no server sees the calls)."""

    def __init__(self, *clients: Any) -> None:
        self.calls: Counter[str] = Counter()
        for client in clients:
            client.meta.events.register("before-call", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def take(self) -> Counter[str]:
        taken, self.calls = self.calls, Counter()
        return taken


def request_shape(operation: str, body: bytes) -> str:
    """A request without its data: the operation, every parameter's name and nesting, the
    expressions word for word, and each other value only as its type. Two runs whose requests
    have the same shapes ask the same of AWS, whatever their ids, amounts and times."""

    def shape(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: shape(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [shape(v) for v in value]
        return value if key.endswith("Expression") else type(value).__name__

    try:
        params = json.loads(body) if body else {}
    except ValueError:  # not a JSON protocol: its size stands for it
        params = {"body bytes": len(body)}
    return json.dumps([operation, shape(params)], sort_keys=True)


class ServerCalls:
    """Every AWS API call the moto server answers, whichever process made it (a cold-start
    child, a reconciler run), with its shape (`request_shape`): counted where they arrive,
    none can hide."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # (operation, request body), in arrival order; shapes are made only when asked for,
        # so the benchmarks that count calls add nothing to the server's work per request.
        self._log: list[tuple[str, bytes]] = []

    def wrap(self, app: Any) -> Any:
        def counted(environ: dict[str, Any], start_response: Any) -> Any:
            # The JSON protocols (DynamoDB, SQS, Secrets Manager, EventBridge) name the
            # operation in X-Amz-Target, e.g. "DynamoDB_20120810.PutItem".
            target = environ.get("HTTP_X_AMZ_TARGET", "")
            operation = target.rsplit(".", 1)[-1] if target else environ.get("PATH_INFO", "?")
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)  # read again by moto
            with self._lock:
                self._log.append((operation, body))
            return app(environ, start_response)

        return counted

    def snapshot(self) -> int:
        with self._lock:
            return len(self._log)

    def since(self, mark: int) -> dict[str, int]:
        """Calls by operation since `snapshot()` returned `mark`."""
        with self._lock:
            return dict(Counter(operation for operation, _ in self._log[mark:]))

    def shapes_since(self, mark: int) -> list[str]:
        """The shapes of the requests since `mark`, in a stable order."""
        with self._lock:
            requests = self._log[mark:]
        return sorted(request_shape(operation, body) for operation, body in requests)


class _CountingMotoServer(ThreadedMotoServer):
    """moto's threaded server with its WSGI app wrapped by a ServerCalls counter."""

    def __init__(self, calls: ServerCalls) -> None:
        super().__init__(ip_address="127.0.0.1", port=0, verbose=False)
        self._calls = calls

    def _server_entry(self) -> None:  # as moto's, with the app wrapped
        app = self._calls.wrap(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()


@contextmanager
def local_aws() -> Iterator[tuple[str, ProvisionedResources, dict[str, Any], ServerCalls]]:
    """A moto server with the stack's resources, built from template.yaml, counting calls."""
    os.environ.update(FAKE_AWS)
    adjust_moto()  # the same local AWS as the local stack's and the tests'
    # One access-log line per request would bury the tables.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    calls = ServerCalls()
    server = _CountingMotoServer(calls)
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
        yield endpoint, stack, clients, calls
    finally:
        server.stop()


def calls_text(calls: dict[str, int]) -> str:
    return ", ".join(f"{n} {op}" for op, n in sorted(calls.items())) or "none"
