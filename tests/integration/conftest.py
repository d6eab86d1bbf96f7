"""Integration fixtures: a real moto server on localhost, the stack built from template.yaml."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from local.casso.simulator import CassoSimulator, webhook_request
from local.cli.sample_events import (
    LOCAL_CASSO_API_KEY,
    LOCAL_CREDENTIALS,
    LOCAL_SECURE_TOKEN,
    WEBHOOK_PATH,
)
from local.stack.handler import LocalContext
from local.stack.lambda_events import rest_proxy_event, sqs_event, sqs_record
from local.stack.poller import PollResult, drain, poll_once
from tests.helpers import NOW
from tests.stack import Stack

pytestmark = pytest.mark.integration

# The local servers' access logs would bury a failing test's own output.
logging.getLogger("werkzeug").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def casso_options() -> dict[str, Any]:
    """What a test module's Casso simulator differs in (override the fixture to change it)."""
    return {}


@pytest.fixture
def casso(casso_options: dict[str, Any]) -> Iterator[CassoSimulator]:
    """The Casso simulator with the local API key, on a fast clock (a minute in 2 ms)."""
    options = {"api_key": LOCAL_CASSO_API_KEY, "minute": 0.002, **casso_options}
    with CassoSimulator(**options) as simulator:
        yield simulator


@pytest.fixture
def server_stack(moto_endpoint: str) -> Stack:
    # A fresh stack per test on the shared server: names never collide.
    return Stack.create(stack_name=f"it-{uuid.uuid4().hex[:8]}", endpoint=moto_endpoint)


@pytest.fixture
def load_function(server_stack: Stack, load_handler_of: Callable[..., Any]) -> Callable[..., Any]:
    """Loads a function's module as Lambda would: the server stack's environment, plus
    overrides."""
    return lambda function, **overrides: load_handler_of(server_stack, function, **overrides)


@pytest.fixture
def load_receiver(load_function: Callable[..., Any]) -> Callable[..., Any]:
    return lambda **overrides: load_function("ReceiverFunction", **overrides)


@pytest.fixture
def receiver(load_receiver: Callable[..., Any]) -> Any:
    return load_receiver()


def invoke(module: Any, event: dict) -> dict:
    return module.lambda_handler(event, LocalContext("ReceiverFunction"))


@dataclass
class Pipeline:
    stack: Stack
    receiver: Any
    processor: Any
    queue_arn: str

    def deliver(self, *items: dict) -> int:
        body = json.dumps({"error": 0, "data": list(items)}, ensure_ascii=False)
        headers = {"Secure-Token": LOCAL_SECURE_TOKEN}
        event = rest_proxy_event("POST", WEBHOOK_PATH, headers=headers, body=body)
        return self.receiver.lambda_handler(event, LocalContext("ReceiverFunction"))["statusCode"]

    def deliver_v2(self, record: dict, *, timestamp_ms: int = 1_800_000_000_000) -> dict:
        """One record as a V2 delivery signed with the local checksum key: the whole answer."""
        headers, body = webhook_request(
            record,
            generation="v2",
            checksum_key=LOCAL_CREDENTIALS["checksum_key"],
            timestamp_ms=timestamp_ms,
        )
        event = rest_proxy_event("POST", WEBHOOK_PATH, headers=headers, body=body)
        return self.receiver.lambda_handler(event, LocalContext("ReceiverFunction"))

    def process(self, event: dict, processor: Any = None) -> dict:
        context = LocalContext("ProcessorFunction", timeout_seconds=30)
        return (processor or self.processor).lambda_handler(event, context)

    def message(self, body: str, message_id: str | None = None) -> dict:
        return sqs_event([sqs_record(body, message_id=message_id, queue_arn=self.queue_arn)])

    def message_batch(self, bodies: list[str]) -> dict:
        """An SQS event of these message bodies, each a new message (an at-least-once copy)."""
        return sqs_event([sqs_record(body, queue_arn=self.queue_arn) for body in bodies])

    def poll(self) -> PollResult:
        return poll_once(
            self.stack.sqs,
            self.stack.queue_url,
            self.queue_arn,
            self.process,
            retry_visibility_seconds=0,
        )

    def run_processor(self) -> None:
        drain(self.stack.sqs, self.stack.queue_url, self.queue_arn, self.process)


@pytest.fixture
def pipeline(server_stack, load_function) -> Pipeline:
    server_stack.orders.create("DH35", 200_500, now=NOW)
    server_stack.orders.create("DH36", 300_000, now=NOW)
    return Pipeline(
        server_stack,
        load_function("ReceiverFunction"),
        load_function("ProcessorFunction"),
        server_stack.local.resolver.attributes[("TransactionQueue", "Arn")],
    )


@pytest.fixture
def confirming(pipeline, casso, load_function) -> Callable[..., Pipeline]:
    """The pipeline with the processor confirming against the simulator (`mode`)."""

    def make(mode: str = "v1") -> Pipeline:
        processor = load_function(
            "ProcessorFunction", CONFIRM_PAYMENTS=mode, CASSO_API_BASE_URL=casso.api_url
        )
        return Pipeline(pipeline.stack, pipeline.receiver, processor, pipeline.queue_arn)

    return make
