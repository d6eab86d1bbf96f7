"""Unit-test fixtures: the stack's resources on in-process moto, built from template.yaml."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from moto import mock_aws

from casso_payments.credentials import CredentialStore
from casso_payments.intake import IntakeDeps
from casso_payments.settings import ReceiverSettings
from local.provision import LocalStack, provision
from local.sample_events import LOCAL_CREDENTIALS
from local.template import function_spec, load_template


@dataclass
class Stack:
    local: LocalStack
    dynamodb: Any
    sqs: Any
    secretsmanager: Any

    @property
    def table(self) -> str:
        return self.local.ref("LedgerTable")

    @property
    def queue_url(self) -> str:
        return self.local.ref("TransactionQueue")

    def receiver_environment(self) -> dict[str, str]:
        spec = function_spec(load_template(), "ReceiverFunction")
        return self.local.function_environment(spec.environment)

    def intake_deps(self, **overrides: Any) -> IntakeDeps:
        settings = ReceiverSettings.from_env(self.receiver_environment())
        if overrides:
            settings = ReceiverSettings(**{**settings.__dict__, **overrides})
        store = CredentialStore(
            SecretsProvider(boto3_client=self.secretsmanager), settings.webhook_secret_id
        )
        return IntakeDeps(self.dynamodb, self.sqs, store, settings)


@pytest.fixture
def stack() -> Iterator[Stack]:
    with mock_aws():
        clients = {name: boto3.client(name) for name in ("dynamodb", "sqs", "secretsmanager")}
        local = provision(clients, secret_values={"WebhookSecret": LOCAL_CREDENTIALS})
        yield Stack(local, clients["dynamodb"], clients["sqs"], clients["secretsmanager"])
