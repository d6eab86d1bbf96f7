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

import logging
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3

from casso_payments.casso.delivery import (
    DELIVERY_TIMEOUT_SECONDS,
    PAUSE_AFTER_MINUTES,
    RETRY_DELAYS_MINUTES,
)
from local.casso.simulator import CassoSimulator
from local.stack import control, notifications, template
from local.stack.config import LOCAL_AWS, STATE_DIR, Credentials, Ports
from local.stack.event_sources import QueuePoller, Schedule, Stats, runs_on_schedule, sqs_source
from local.stack.http_front import HttpFront, function_routes
from local.stack.moto_process import MotoProcess
from local.stack.poller import queue_depth
from local.stack.provision import provision, tap_events
from local.stack.runtime import FunctionPool, FunctionProcess, warm_all
from local.stack.state import clear_state, describe, write_state

SERVICES = ("dynamodb", "sqs", "secretsmanager", "events")
WARM = ("ReconcilerFunction", "OrdersApiFunction", "PayPageFunction")


class LocalPipeline:
    """The local stack, composed: moto, the Casso simulator, the HTTP front and the functions'
    event sources, started in order and stopped in reverse."""

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
        self.template = template.load_template()
        # Locally the webhook takes money out too, so the whole story flows through it.
        self.parameters = {
            **template.parameter_defaults(self.template),
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
        self.processor_paused = threading.Event()
        self._reconcile_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.functions: dict[str, FunctionProcess] = {}
        self.function_ids = template.function_ids(self.template)

    # Lifecycle
    def start(self) -> LocalPipeline:
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
                "ShopApiKeySecret": {"api_key": self.credentials.shop_api_key},
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
            control=lambda request: control.dispatch(self, request),
            serialize=False,
        )
        self.webhook_url = self.front.url(template.api_path(self.template, "ReceiverFunction"))
        # The shop's orders API and the buyer's payment page, on the webhook's port as on its API.
        for logical_id in ("OrdersApiFunction", "PayPageFunction"):
            self.front.routes += function_routes(self.template, logical_id, self.functions)
        overrides = {
            "ReconcilerFunction": {
                "WEBHOOK_URL": self.webhook_url,
                "CASSO_API_BASE_URL": self.casso.api_url,
            },
            # v1 payments are confirmed with the simulator's API, as with Casso's.
            "ProcessorFunction": {"CASSO_API_BASE_URL": self.casso.api_url},
            "NotifierFunction": notifications.start_shop(self),
            "OrdersApiFunction": {"NOTIFY_ALLOW_LOOPBACK": "true"},  # the local shop's http
        }
        timeouts = {"ProcessorFunction": self.processor_timeout}
        for logical_id in self.function_ids:
            spec = template.function_spec(self.template, logical_id)
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
                context_timeout=timeouts.get(logical_id),
            )
        # Lambda scales the receiver out under load: a few execution environments, one log.
        receiver = self.functions["ReceiverFunction"]
        self.receivers = FunctionPool([receiver, *receiver.copies(self.receiver_concurrency - 1)])
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
        self._extra_processors = processor.copies(self.processor_concurrency - 1)
        processors = [processor, *self._extra_processors]
        # Ready means warm: every execution environment imported before the first delivery,
        # so Casso's 5 s per delivery is not spent on cold starts on a busy machine.
        # ... and the rest a first request would find cold (a shop's first order, a buyer's page).
        warm_all([*self.receivers.members, *processors, *(self.functions[f] for f in WARM)])
        self.front.start()
        source = sqs_source(self.template, "ProcessorFunction")
        self._threads = [
            *(
                QueuePoller(
                    f"sqs-poller-{n}",
                    self.clients["sqs"],
                    source,
                    self.resources.ref(source.queue),
                    self.resources.resolver.attributes[(source.queue, "Arn")],
                    processor.invoke,
                    stats=self.stats,
                    stop=self._stop,
                    paused=self.processor_paused,
                    interval=self.poll_interval,
                    retry_after_seconds=self.retry_after_seconds,
                )
                for n, processor in enumerate(processors)
            ),
            notifications.poller(self),
        ]
        if runs_on_schedule(self.template, "ReconcilerFunction"):
            self._threads.append(Schedule(self.reconcile, self.reconcile_every, self._stop))
        for thread in self._threads:
            thread.start()
        write_state(self.state_dir, self.describe())
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
        for name in ("front", "shop", "casso", "moto"):
            if (stopper := getattr(self, name, None)) is not None:
                try:
                    stopper.stop()
                except Exception as error:  # keep stopping the rest
                    self.stats.errors.append(f"stopping {type(stopper).__name__}: {error}")
        clear_state(self.state_dir, os.getpid())

    def __enter__(self) -> LocalPipeline:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # What the CLI and tests need to find
    def describe(self) -> dict[str, Any]:
        return describe(self)

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
        processor_timeout = template.function_spec(self.template, "ProcessorFunction").timeout
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
