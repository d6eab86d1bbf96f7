"""Integration fixtures: a real moto server on localhost, the stack built from template.yaml."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from moto.server import ThreadedMotoServer

from casso_payments.credentials import CredentialStore
from casso_payments.intake import IntakeDeps
from casso_payments.settings import ReceiverSettings
from local.invoke import LocalContext, load_module
from local.provision import LocalStack, provision
from local.sample_events import LOCAL_CREDENTIALS
from local.template import function_spec, load_template

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@dataclass
class ServerStack:
    endpoint: str
    local: LocalStack
    dynamodb: Any
    sqs: Any

    @property
    def table(self) -> str:
        return self.local.ref("LedgerTable")

    @property
    def queue_url(self) -> str:
        return self.local.ref("TransactionQueue")

    def client(self, name: str) -> Any:
        return boto3.client(name, endpoint_url=self.endpoint)

    def receiver_environment(self) -> dict[str, str]:
        spec = function_spec(load_template(), "ReceiverFunction")
        return {
            **self.local.function_environment(spec.environment),
            "AWS_ENDPOINT_URL": self.endpoint,
        }

    def intake_deps(self) -> IntakeDeps:
        """What one receiver execution environment holds: its own clients and cache."""
        settings = ReceiverSettings.from_env(self.receiver_environment())
        secrets = SecretsProvider(boto3_client=self.client("secretsmanager"))
        return IntakeDeps(
            self.client("dynamodb"),
            self.client("sqs"),
            CredentialStore(secrets, settings.webhook_secret_id),
            settings,
        )


@pytest.fixture
def server_stack(moto_endpoint: str) -> ServerStack:
    # A fresh stack per test on the shared server: names never collide.
    stack_name = f"it-{uuid.uuid4().hex[:8]}"
    clients = {
        name: boto3.client(name, endpoint_url=moto_endpoint)
        for name in ("dynamodb", "sqs", "secretsmanager")
    }
    local = provision(
        clients, stack_name=stack_name, secret_values={"WebhookSecret": LOCAL_CREDENTIALS}
    )
    return ServerStack(moto_endpoint, local, clients["dynamodb"], clients["sqs"])


@pytest.fixture
def load_receiver(server_stack: ServerStack, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """Loads ReceiverFunction's module as Lambda would: the stack's environment, plus overrides."""

    def load(**overrides: str) -> Any:
        for name, value in {**server_stack.receiver_environment(), **overrides}.items():
            monkeypatch.setenv(name, value)
        return load_module(function_spec(load_template(), "ReceiverFunction"))

    return load


@pytest.fixture
def receiver(load_receiver: Callable[..., Any]) -> Any:
    return load_receiver()


def invoke(module: Any, event: dict) -> dict:
    return module.lambda_handler(event, LocalContext("ReceiverFunction"))
