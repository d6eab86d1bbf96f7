"""Integration fixtures: a real moto server on localhost, the stack built from template.yaml."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from local.invoke import LocalContext, load_module
from local.template import function_spec, load_template
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
def server_stack(moto_endpoint: str) -> Stack:
    # A fresh stack per test on the shared server: names never collide.
    return Stack.create(stack_name=f"it-{uuid.uuid4().hex[:8]}", endpoint=moto_endpoint)


@pytest.fixture
def load_function(server_stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """Loads a function's module as Lambda would: the stack's environment, plus overrides."""

    def load(function: str, **overrides: str) -> Any:
        for name, value in server_stack.environment(function, **overrides).items():
            monkeypatch.setenv(name, value)
        return load_module(function_spec(load_template(), function))

    return load


@pytest.fixture
def load_receiver(load_function: Callable[..., Any]) -> Callable[..., Any]:
    return lambda **overrides: load_function("ReceiverFunction", **overrides)


@pytest.fixture
def receiver(load_receiver: Callable[..., Any]) -> Any:
    return load_receiver()


def invoke(module: Any, event: dict) -> dict:
    return module.lambda_handler(event, LocalContext("ReceiverFunction"))
