"""What the reconciler works with: the ledger, the orders and the bus (for the expiry step),
the queue, the Casso client and its settings; `build_deps` makes them once per execution
environment."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from casso_payments.aws.bus import Bus
from casso_payments.aws.deadline import Deadline
from casso_payments.aws.queue import TransactionQueue
from casso_payments.casso.client import CassoClient
from casso_payments.casso.credentials import CredentialsError, CredentialStore, read_casso_auth
from casso_payments.chain.repository import BalanceChain
from casso_payments.ledger.repository import Ledger
from casso_payments.orders.repository import Orders
from casso_payments.settings.reconciler import ReconcilerSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient


@dataclass(frozen=True)
class ReconcilerDeps:
    ledger: Ledger
    # Made with clients made on first use: most runs queue and publish nothing.
    queue: TransactionQueue
    # Called once per run: the key and token come from secrets that may have just changed;
    # the client gets the run's deadline.
    casso: Callable[[Deadline], CassoClient]
    secure_token: Callable[[], str]
    settings: ReconcilerSettings
    # The expiry step's: None when the stack has no orders table or bus.
    orders: Orders | None = None
    bus: Bus | None = None
    # The gaps step's: None when the stack keeps no balance chain.
    chain: BalanceChain | None = None


def build_deps(
    settings: ReconcilerSettings,
    *,
    dynamodb: DynamoDBClient,
    sqs: Callable[[], SQSClient],
    secrets: SecretsProvider,
    events: Callable[[], EventBridgeClient] | None = None,
    max_age: int = 60,
    **client_options: Any,
) -> ReconcilerDeps:
    """The reconciler's dependencies: the Casso client and the secure token are read from
    their secrets at each run (cached `max_age` seconds), so a rotation is picked up."""
    webhook_credentials = CredentialStore(secrets, settings.webhook_secret_id, max_age=max_age)

    def casso(deadline: Deadline) -> CassoClient:
        auth = read_casso_auth(secrets, settings.casso_api_key_secret_id, max_age=max_age)
        return CassoClient(
            auth, base_url=settings.casso_api_base_url, deadline=deadline, **client_options
        )

    def secure_token() -> str:
        # The current token is what Casso must send; the previous one only bridges a rotation.
        tokens = webhook_credentials.get().secure_tokens
        if not tokens:
            raise CredentialsError(
                f"secret {settings.webhook_secret_id} has no secure_token to register "
                "the webhook with"
            )
        return tokens[0]

    orders = Orders(dynamodb, settings.orders_table_name) if settings.orders_table_name else None
    return ReconcilerDeps(
        Ledger(dynamodb, settings.ledger_table_name),
        TransactionQueue(sqs, settings.transaction_queue_url),
        casso=casso,
        secure_token=secure_token,
        settings=settings,
        orders=orders,
        bus=Bus(events, settings.event_bus_name) if events is not None else None,
        chain=(
            BalanceChain(dynamodb, settings.balance_chain_table_name)
            if settings.balance_chain_table_name
            else None
        ),
    )
