"""The stack as tests see it: resources provisioned from template.yaml, and the functions'
dependencies built the way their handlers build them."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

import boto3
from aws_lambda_powertools.utilities.parameters import SecretsProvider

from casso_payments.aws.bus import Bus
from casso_payments.aws.queue import TransactionQueue
from casso_payments.casso.credentials import CredentialStore
from casso_payments.chain.repository import BalanceChain
from casso_payments.ledger.repository import Ledger
from casso_payments.orders.repository import Orders
from casso_payments.processor.confirmation import casso_lookup
from casso_payments.processor.deps import ProcessorDeps
from casso_payments.receiver.intake import IntakeDeps
from casso_payments.reconciler.deps import ReconcilerDeps, build_deps
from casso_payments.settings.processor import ProcessorSettings
from casso_payments.settings.receiver import ReceiverSettings
from casso_payments.settings.reconciler import ReconcilerSettings
from local.cli.sample_events import LOCAL_SECRET_VALUES
from local.stack.provision import ProvisionedResources, provision, tap_events
from local.stack.template import function_spec, load_template

SERVICES = ("dynamodb", "sqs", "secretsmanager", "events")


@dataclass
class Stack:
    local: ProvisionedResources
    clients: dict[str, Any]
    # None: in-process moto (mock_aws); otherwise a moto server's URL.
    endpoint: str | None = None
    events_tap_url: str = field(default="")

    @classmethod
    def create(cls, stack_name: str = "casso-local", endpoint: str | None = None) -> Stack:
        clients = {name: boto3.client(name, endpoint_url=endpoint) for name in SERVICES}
        local = provision(
            clients,
            stack_name=stack_name,
            secret_values=LOCAL_SECRET_VALUES,
        )
        stack = cls(local, clients, endpoint)
        stack.events_tap_url = tap_events(clients, local)
        return stack

    @property
    def dynamodb(self) -> Any:
        return self.clients["dynamodb"]

    @property
    def sqs(self) -> Any:
        return self.clients["sqs"]

    @property
    def secretsmanager(self) -> Any:
        return self.clients["secretsmanager"]

    @property
    def table(self) -> str:
        return self.local.ref("LedgerTable")

    @property
    def orders_table(self) -> str:
        return self.local.ref("OrdersTable")

    @property
    def chain(self) -> BalanceChain:
        return BalanceChain(self.dynamodb, self.local.ref("BalanceChainTable"))

    @property
    def ledger(self) -> Ledger:
        return Ledger(self.dynamodb, self.table)

    @property
    def orders(self) -> Orders:
        return Orders(self.dynamodb, self.orders_table)

    @property
    def queue(self) -> TransactionQueue:
        return TransactionQueue(lambda: self.sqs, self.queue_url)

    @property
    def queue_url(self) -> str:
        return self.local.ref("TransactionQueue")

    @property
    def dlq_url(self) -> str:
        return self.local.ref("TransactionDeadLetterQueue")

    def client(self, name: str) -> Any:
        """A new client, as a separate execution environment would have."""
        return boto3.client(name, endpoint_url=self.endpoint)

    def environment(self, function: str, **overrides: str) -> dict[str, str]:
        spec = function_spec(load_template(), function)
        if function == "ProcessorFunction":
            # Confirming with Casso needs a Casso (simulator); tests about it turn it on, with
            # the simulator's URL (tests/integration/test_confirmation.py).
            overrides = {"CONFIRM_PAYMENTS": "none", **overrides}
        environment = self.local.function_environment(spec.environment, overrides)
        # Variables the template doesn't declare (tuning knobs with defaults) pass through.
        environment.update({k: v for k, v in overrides.items() if k not in environment})
        if self.endpoint:
            environment["AWS_ENDPOINT_URL"] = self.endpoint
        return environment

    def intake_deps(self, *, fresh_clients: bool = False, **overrides: Any) -> IntakeDeps:
        settings = _override(
            ReceiverSettings.from_env(self.environment("ReceiverFunction")), overrides
        )
        client = self.client if fresh_clients else self.clients.__getitem__
        store = CredentialStore(
            SecretsProvider(boto3_client=client("secretsmanager")), settings.webhook_secret_id
        )
        sqs = client("sqs")
        queue = TransactionQueue(lambda: sqs, settings.transaction_queue_url)
        return IntakeDeps(
            Ledger(client("dynamodb"), settings.ledger_table_name), queue, store, settings
        )

    def reconciler_deps(self, casso_url: str, webhook_url: str, **overrides: Any) -> ReconcilerDeps:
        """The reconciler's dependencies, built as its handler builds them (no caching)."""
        environment = self.environment(
            "ReconcilerFunction", CASSO_API_BASE_URL=casso_url, WEBHOOK_URL=webhook_url
        )
        settings = _override(ReconcilerSettings.from_env(environment), overrides)
        return build_deps(
            settings,
            dynamodb=self.dynamodb,
            sqs=lambda: self.sqs,
            secrets=SecretsProvider(boto3_client=self.secretsmanager),
            events=lambda: self.clients["events"],
            max_age=0,
            backoff=0.01,
        )

    def processor_deps(self, **overrides: Any) -> ProcessorDeps:
        settings = _override(
            ProcessorSettings.from_env(self.environment("ProcessorFunction")), overrides
        )
        casso = casso_lookup(
            lambda: self.secretsmanager,
            settings.casso_api_key_secret_id,
            settings.casso_api_base_url,
        )
        return ProcessorDeps(
            Ledger(self.dynamodb, settings.ledger_table_name),
            Orders(self.dynamodb, settings.orders_table_name),
            Bus(lambda: self.clients["events"], settings.event_bus_name),
            settings,
            casso,
            chain=BalanceChain(self.dynamodb, settings.balance_chain_table_name),
        )


def _override(settings: Any, overrides: dict[str, Any]) -> Any:
    unknown = set(overrides) - {f.name for f in fields(settings)}
    if unknown:
        raise TypeError(f"no such setting: {unknown}")
    return replace(settings, **overrides)
