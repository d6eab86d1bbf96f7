"""The local stack: the whole pipeline on a laptop, no AWS account, no Docker.

One process (plus one child process per function, as Lambda gives each function its own
execution environment) running:
  - a moto server on loopback (a process of its own), with the tables, queues, event bus
    and secrets created from template.yaml's own resource definitions;
  - the Casso simulator, with a V2 webhook "set up in Casso's UI" for the checksum key;
  - an HTTP front that turns requests to the template's path into API Gateway events for
    ReceiverFunction, plus the stack's own controls under /_local/;
  - a queue poller that hands ProcessorFunction real SQS batches (the template's batch size)
    and deletes only what it did not report failed; the template's redrive policy applies;
  - a scheduler that runs ReconcilerFunction at a fast local rate (and on demand).
Each function gets the environment the template gives it, resolved to the local resources.
While running, `.local-stack/stack.json` tells the CLI where everything is.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import string
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import boto3
import psutil
from werkzeug.wrappers import Request, Response

from casso_payments.casso_delivery import (
    DELIVERY_TIMEOUT_SECONDS,
    PAUSE_AFTER_MINUTES,
    RETRY_DELAYS_MINUTES,
)
from local.casso_simulator import CassoSimulator
from local.http_front import HttpFront
from local.poller import poll_once, queue_depth
from local.provision import REGION, provision, tap_events
from local.runtime import FunctionPool, FunctionProcess, warm_all
from local.template import ROOT, function_spec, load_template, parameter_defaults, sqs_batch_size

# Where a running stack says where it is (and keeps its functions' logs). LOCAL_STACK_DIR
# lets two stacks (say, yours and the end-to-end tests') run side by side.
STATE_DIR = Path(os.environ.get("LOCAL_STACK_DIR") or ROOT / ".local-stack")
STATE_FILE = STATE_DIR / "stack.json"
FUNCTIONS = ("ReceiverFunction", "ProcessorFunction", "ReconcilerFunction")
WEBHOOK_PATH = "/casso/webhook"
SERVICES = ("dynamodb", "sqs", "secretsmanager", "events")
LOCAL_AWS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": REGION,
    "POWERTOOLS_TRACE_DISABLED": "1",
}


class PortInUse(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MotoProcess:
    """Local AWS: a moto server in a process of its own (so it has a core of its own)."""

    def __init__(self, port: int, log: Path) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log
        self._process: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> MotoProcess:
        with self._log.open("w") as log:
            # moto.server with DynamoDB's per-item write serialisation (local/moto_server.py).
            command = [sys.executable, "-m", "local.moto_server", "-H", "127.0.0.1"]
            self._process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
                [*command, "-p", str(self.port)],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the moto server exited at start: see {self._log}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        raise RuntimeError(f"the moto server did not start within {timeout:g} s: see {self._log}")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()


@dataclass(frozen=True)
class Ports:
    """Loopback ports; each can be set with its LOCAL_*_PORT variable or a CLI flag."""

    api: int = 3000
    casso: int = 4000
    moto: int = 5000

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **given: int | None) -> Ports:
        env = os.environ if env is None else env
        defaults = cls()
        values = {}
        for name in ("api", "casso", "moto"):
            chosen = given.get(name)
            if chosen is None:
                chosen = int(env.get(f"LOCAL_{name.upper()}_PORT", getattr(defaults, name)))
            values[name] = chosen
        return cls(**values)

    def check_free(self) -> None:
        for name, port in asdict(self).items():
            if port and not port_is_free(port):
                raise PortInUse(
                    f"port {port} ({name}) is in use on 127.0.0.1{holder(port)}: stop what "
                    f"uses it, or choose another with --{name}-port or LOCAL_{name.upper()}_PORT"
                )


def port_is_free(port: int) -> bool:
    """Whether a server could listen on `port` now. SO_REUSEADDR, as every server here sets
    it: a port whose last connections are in TIME_WAIT (a stack just stopped) is free."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def holder(port: int) -> str:
    """ " (held by pid N: command)" when the OS tells who listens on `port`; "" otherwise."""
    try:
        for connection in psutil.net_connections(kind="tcp"):
            if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port:
                if connection.pid is None:
                    return ""
                command = " ".join(psutil.Process(connection.pid).cmdline())[:80]
                return f" (held by pid {connection.pid}: {command})"
    except (psutil.Error, OSError):  # not allowed to look, on some systems
        return ""
    return ""


def _generate(length: int = 40) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; blank lines and # comments skipped; quotes around values removed."""
    if not path.is_file():
        return {}
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
    return values


@dataclass(frozen=True)
class Credentials:
    secure_token: str
    checksum_key: str
    api_key: str
    generated: tuple[str, ...] = ()

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, dotenv: Path = ROOT / ".env"
    ) -> Credentials:
        """CASSO_SECURE_TOKEN, CASSO_CHECKSUM_KEY, CASSO_API_KEY from the environment or
        `.env` when set; generated otherwise."""
        merged = {**read_dotenv(dotenv), **(os.environ if env is None else env)}
        values, generated = {}, []
        for field_name, variable in (
            ("secure_token", "CASSO_SECURE_TOKEN"),
            ("checksum_key", "CASSO_CHECKSUM_KEY"),
            ("api_key", "CASSO_API_KEY"),
        ):
            values[field_name] = merged.get(variable, "").strip() or _generate()
            if not merged.get(variable, "").strip():
                generated.append(variable)
        return cls(**values, generated=tuple(generated))


@dataclass
class Stats:
    batches: int = 0
    processed: int = 0
    failed_records: int = 0
    crashes: int = 0
    reconciles: int = 0
    last_reconcile: dict[str, Any] | None = None
    errors: list[str] = field(default_factory=list)


class LocalStack:
    def __init__(
        self,
        ports: Ports,
        credentials: Credentials,
        *,
        stack_name: str = "casso-local",
        minute: float = 0.05,
        reconcile_every: float = 30.0,
        poll_interval: float = 0.2,
        retry_after_seconds: int = 3,
        processor_timeout: int = 2,
        receiver_concurrency: int = 4,
        processor_concurrency: int = 1,
        tap: bool = True,
        parameters: Mapping[str, str] | None = None,
        state_dir: Path = STATE_DIR,
        casso_disable_after_minutes: float | None = None,
    ) -> None:
        self.ports = ports
        self.credentials = credentials
        self.stack_name = stack_name
        self.minute = minute
        self.reconcile_every = reconcile_every
        self.poll_interval = poll_interval
        # Local time runs faster than AWS's, in the same order: a failed message comes back
        # after `retry_after_seconds` (the queue's visibility timeout is 180 s), and the
        # processor reports `processor_timeout` seconds to live (30 in AWS), so an interrupted
        # invocation's idempotency lock has expired by the time its messages return.
        self.retry_after_seconds = retry_after_seconds
        self.processor_timeout = processor_timeout
        self.receiver_concurrency = receiver_concurrency
        self.processor_concurrency = processor_concurrency
        self.tap = tap
        self._extra_processors: list[FunctionProcess] = []
        self.template = load_template()
        # Locally the webhook takes money out too, so the whole story flows through it.
        self.parameters = {
            **parameter_defaults(self.template),
            "IncomeOnly": "false",
            **(parameters or {}),
        }
        self.state_dir = state_dir
        self.casso_disable_after_minutes = casso_disable_after_minutes
        # Set: the webhook endpoint answers this status instead of invoking the receiver (as
        # API Gateway does when the function is throttled or broken), so Casso retries and
        # eventually pauses the webhook.
        self.webhook_outage: int | None = None
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log per request
        self.stats = Stats()
        self._stop = threading.Event()
        self._processor_paused = threading.Event()
        self._reconcile_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.functions: dict[str, FunctionProcess] = {}

    # Lifecycle
    def start(self) -> LocalStack:
        self.ports.check_free()
        os.environ.update(LOCAL_AWS)
        (self.state_dir / "logs").mkdir(parents=True, exist_ok=True)
        self.moto = MotoProcess(self.ports.moto, self.state_dir / "logs" / "moto.log").start()
        self.moto_url = self.moto.url
        self.clients = {n: boto3.client(n, endpoint_url=self.moto_url) for n in SERVICES}
        self.resources = provision(
            self.clients,
            stack_name=self.stack_name,
            parameters=self.parameters,
            secret_values={
                "WebhookSecret": {
                    "secure_token": self.credentials.secure_token,
                    "checksum_key": self.credentials.checksum_key,
                },
                "CassoApiKeySecret": {"api_key": self.credentials.api_key},
            },
            template=self.template,
        )
        # A queue copying every published event, so the demo and `show` can list them.
        self.events_tap_url = tap_events(self.clients, self.resources) if self.tap else ""
        rules = (
            {"disable_after_minutes": self.casso_disable_after_minutes}
            if self.casso_disable_after_minutes is not None
            else {}
        )
        self.casso = CassoSimulator(
            api_key=self.credentials.api_key, port=self.ports.casso, minute=self.minute, **rules
        ).start()
        stage = self.parameters["Stage"]
        self.front = HttpFront(
            self._receive,
            port=self.ports.api,
            stage=stage,
            control=self._control,
            serialize=False,
        )
        self.webhook_url = self.front.url(WEBHOOK_PATH)
        overrides = {
            "ReconcilerFunction": {
                "WEBHOOK_URL": self.webhook_url,
                "CASSO_API_BASE_URL": self.casso.api_url,
            },
            # v1 payments are confirmed with the simulator's API, as with Casso's.
            "ProcessorFunction": {"CASSO_API_BASE_URL": self.casso.api_url},
        }
        for logical_id in FUNCTIONS:
            spec = function_spec(self.template, logical_id)
            environment = {
                **self.resources.function_environment(spec.environment, overrides.get(logical_id)),
                **LOCAL_AWS,
                "AWS_ENDPOINT_URL": self.moto_url,
            }
            log = self.state_dir / "logs" / f"{logical_id}.log"
            log.write_text("")  # each run starts its own logs
            self.functions[logical_id] = FunctionProcess(
                logical_id,
                environment,
                log,
                context_timeout=self.processor_timeout
                if logical_id == "ProcessorFunction"
                else None,
            )
        # Lambda scales the receiver out under load: a few execution environments, one log.
        receiver = self.functions["ReceiverFunction"]
        self.receivers = FunctionPool(
            lambda n: (
                receiver
                if n == 0
                else FunctionProcess(receiver.logical_id, receiver.environment, receiver.log_path)
            ),
            self.receiver_concurrency,
        )
        # The V2 webhook a business sets up in Casso's UI with its checksum key. Its URL
        # differs by a query string, so the reconciler (which owns the plain URL and deletes
        # every copy of it when it re-creates the webhook) leaves it alone.
        self.casso.add_webhook(
            f"{self.webhook_url}?generation=v2",
            generation="v2",
            checksum_key=self.credentials.checksum_key,
            income_only=self.parameters["IncomeOnly"] == "true",
        )
        # Like Lambda's concurrent batches: each poller has an execution environment of its own.
        processor = self.functions["ProcessorFunction"]
        self._extra_processors = [
            FunctionProcess(
                processor.logical_id,
                processor.environment,
                processor.log_path,
                processor.context_timeout,
            )
            for _ in range(1, self.processor_concurrency)
        ]
        processors = [processor, *self._extra_processors]
        # Ready means warm: every execution environment imported before the first delivery,
        # so Casso's 5 s per delivery is not spent on cold starts on a busy machine.
        warm_all(
            [
                *self.receivers.members,
                *processors,
                self.functions["ReconcilerFunction"],
            ]
        )
        self.front.start()
        self._threads = [
            *(
                threading.Thread(
                    target=self._poll_loop, args=(p,), daemon=True, name=f"sqs-poller-{n}"
                )
                for n, p in enumerate(processors)
            ),
            threading.Thread(target=self._schedule_loop, daemon=True, name="scheduler"),
        ]
        for thread in self._threads:
            thread.start()
        self._write_state()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)
        for function in self.functions.values():
            function.stop()
        if hasattr(self, "receivers"):
            self.receivers.stop()
        for processor in self._extra_processors:
            processor.stop()
        for stopper in (
            getattr(self, "front", None),
            getattr(self, "casso", None),
            getattr(self, "moto", None),
        ):
            if stopper is not None:
                try:
                    stopper.stop()
                except Exception as error:  # keep stopping the rest
                    self.stats.errors.append(f"stopping {type(stopper).__name__}: {error}")
        state = self.state_dir / "stack.json"
        if state.exists() and json.loads(state.read_text()).get("pid") == os.getpid():
            state.unlink()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # What the CLI and tests need to find
    def describe(self) -> dict[str, Any]:
        refs = self.resources.resolver.refs
        return {
            "pid": os.getpid(),
            "stack_name": self.stack_name,
            "ports": {"api": self.front.port, "casso": self.casso.port, "moto": self.moto.port},
            "urls": {
                "api": self.front.base_url,
                "webhook": self.webhook_url,
                "casso_api": self.casso.api_url,
                "casso": self.casso.base_url,
                "moto": self.moto_url,
            },
            "credentials": {
                "CASSO_SECURE_TOKEN": self.credentials.secure_token,
                "CASSO_CHECKSUM_KEY": self.credentials.checksum_key,
                "CASSO_API_KEY": self.credentials.api_key,
            },
            "generated_credentials": list(self.credentials.generated),
            # The template parameters it runs with (local.cli reads the payee from them).
            "parameters": dict(self.parameters),
            "resources": {
                name: refs[name]
                for name in (
                    "LedgerTable",
                    "OrdersTable",
                    "IdempotencyTable",
                    "TransactionQueue",
                    "TransactionDeadLetterQueue",
                    "PaymentsBus",
                    "WebhookSecret",
                    "CassoApiKeySecret",
                )
            },
            "environments": {
                logical_id: {k: v for k, v in function.environment.items() if k not in LOCAL_AWS}
                for logical_id, function in self.functions.items()
            },
            "events_tap_url": self.events_tap_url,
            # What a client of the controls waits for, at most (see the CLI).
            "settle_seconds": self.settle_seconds(),
            "function_timeouts": {
                logical_id: function_spec(self.template, logical_id).timeout
                for logical_id in FUNCTIONS
            },
            "logs": str(self.state_dir / "logs"),
        }

    def _write_state(self) -> None:
        path = self.state_dir / "stack.json"
        path.write_text(json.dumps(self.describe(), indent=2))
        path.chmod(0o600)  # it holds the local credentials

    # The processor's poller and the reconciler's schedule
    def _poll_loop(self, processor: FunctionProcess) -> None:
        queue_url = self.resources.ref("TransactionQueue")
        queue_arn = self.resources.resolver.attributes[("TransactionQueue", "Arn")]
        batch_size = sqs_batch_size(self.template, "ProcessorFunction")
        while not self._stop.is_set():
            if self._processor_paused.is_set():
                self._stop.wait(self.poll_interval)
                continue
            try:
                result = poll_once(
                    self.clients["sqs"],
                    queue_url,
                    queue_arn,
                    processor.invoke,
                    batch_size=batch_size,
                    retry_visibility_seconds=self.retry_after_seconds,
                )
            except Exception as error:  # moto going away at shutdown, mostly
                self.stats.errors.append(f"poller: {error}")
                self._stop.wait(self.poll_interval)
                continue
            if not result.received:
                self._stop.wait(self.poll_interval)
                continue
            self.stats.batches += 1
            self.stats.processed += result.deleted
            self.stats.failed_records += len(result.failed)
            if "crashed" in result.error:
                self.stats.crashes += 1

    def _schedule_loop(self) -> None:
        while not self._stop.wait(self.reconcile_every):
            self.reconcile()

    def reconcile(self) -> dict[str, Any]:
        with self._reconcile_lock:
            self.stats.reconciles += 1
            try:
                summary = self.functions["ReconcilerFunction"].invoke({})
                result = {"ok": True, "summary": summary}
            except Exception as error:
                result = {"ok": False, "error": str(error)}
            self.stats.last_reconcile = result
            return result

    def queue_depths(self) -> dict[str, int]:
        return {
            name: queue_depth(self.clients["sqs"], self.resources.ref(name))
            for name in ("TransactionQueue", "TransactionDeadLetterQueue")
        }

    def settle_seconds(self) -> float:
        """The longest deliveries and processing can legitimately take to settle, derived
        from what is waited for: Casso's whole retry schedule (each attempt allowed its
        delivery timeout), then every receive the queue allows before the dead-letter queue,
        each after the local retry delay and within the processor's timeout. Settling takes
        seconds; this bounds a wait only so that a stuck stack is reported, not waited on."""
        # Casso retries on its schedule until the webhook pauses, whichever comes first.
        retrying = min(sum(RETRY_DELAYS_MINUTES), PAUSE_AFTER_MINUTES) * self.minute
        casso = retrying + (len(RETRY_DELAYS_MINUTES) + 1) * DELIVERY_TIMEOUT_SECONDS
        processor_timeout = function_spec(self.template, "ProcessorFunction").timeout
        receives = int(self.parameters["MaxReceiveCount"])
        return casso + receives * (self.retry_after_seconds + processor_timeout)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Until Casso has nothing to send and the queue is empty (failed messages included).
        False if that takes longer than `timeout` (default: `settle_seconds()`)."""
        deadline = time.monotonic() + (self.settle_seconds() if timeout is None else timeout)
        while time.monotonic() < deadline:
            delivered = self.casso.wait_for_deliveries(max(0.0, deadline - time.monotonic()))
            if delivered and self.queue_depths()["TransactionQueue"] == 0:
                return True
            time.sleep(self.poll_interval)
        return False

    def _receive(self, event: dict[str, Any]) -> dict[str, Any]:
        status = self.webhook_outage
        if status is not None:
            return {"statusCode": status, "body": '{"message": "Service Unavailable"}'}
        return self.receivers.invoke(event)

    # /_local/ controls
    def _control(self, request: Request) -> Response:
        def answer(body: Any, status: int = 200) -> Response:
            return Response(
                json.dumps(body, default=str), status=status, mimetype="application/json"
            )

        route = (request.method, request.path)
        if route == ("GET", "/_local/status"):
            return answer(
                {
                    **self.describe(),
                    "stats": asdict(self.stats),
                    "queues": self.queue_depths(),
                    "answers": self.front.answers,
                }
            )
        if route == ("POST", "/_local/reconcile"):
            return answer(self.reconcile())
        if route == ("POST", "/_local/processor/pause"):
            self._processor_paused.set()
            return answer({"paused": True})
        if route == ("POST", "/_local/processor/resume"):
            self._processor_paused.clear()
            return answer({"paused": False})
        if route == ("POST", "/_local/processor/fault"):
            fault = (request.get_json(silent=True) or {}).get("fault", "")
            try:
                self.functions["ProcessorFunction"].arm(fault)
            except Exception as error:
                return answer({"error": str(error)}, 400)
            return answer({"armed": fault})
        if route == ("POST", "/_local/webhook/outage"):
            status = int((request.get_json(silent=True) or {}).get("status", 503))
            if not 500 <= status <= 599:
                return answer({"error": f"status: a 5xx is expected, got {status}"}, 400)
            self.webhook_outage = status
            return answer({"webhook_outage": status})
        if route == ("POST", "/_local/webhook/recover"):
            self.webhook_outage = None
            return answer({"webhook_outage": None})
        if route == ("POST", "/_local/wait"):
            timeout = request.args.get("timeout")
            return answer({"idle": self.wait_idle(float(timeout) if timeout else None)})
        return answer({"error": f"no control {request.method} {request.path}"}, 404)
