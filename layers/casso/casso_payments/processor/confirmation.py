"""Confirming a transaction with Casso's API before it changes an order (design invariant 8).

A v1 webhook is authenticated by a static token that travels with every call, so anyone who
saw it can forge deliveries. Before such a transaction changes an order, the processor asks
Casso (`GET /v2/transactions/{id}`) and compares id, amount, description and account:

    CONFIRMED     Casso holds the same transaction: settle it as usual
    UNCONFIRMED   Casso doesn't know the id, or knows it differently: no order change
    raises ConfirmationUnavailable   Casso unreachable, key missing or refused: retry later

`ConfirmPayments` (docs/configuration.md) chooses which transactions are confirmed:
v1 (default: those that arrived only by v1 webhook), all (V2 webhooks too) or none.
The Casso client (and `requests`) is imported only here, when a confirmation is needed, so
the processor's cold start doesn't pay for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

from casso_payments.casso.payload import PayloadError, Transaction, parse_transaction
from casso_payments.ledger.entries import WEBHOOK_V1

V1: Final = "v1"
ALL: Final = "all"
NONE: Final = "none"
MODES: Final = (V1, ALL, NONE)
COMPARED: Final = ("id", "amount", "description", "account_number")


class ConfirmationUnavailable(RuntimeError):
    """Casso could not answer (unreachable, key missing or refused): the record is retried
    later and never settled as unconfirmed."""


class TransactionLookup(Protocol):
    def transaction(self, transaction_id: int) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Verdict:
    confirmed: bool
    reason: str = ""  # why not: "not found", or the fields that differ


def required(source: str, mode: str) -> bool:
    """Whether a transaction recorded from `source` must be confirmed under `mode`."""
    if mode == ALL:
        return source.startswith("webhook-")
    if mode == V1:
        return source == WEBHOOK_V1
    return False


def _differences(delivered: Transaction, vouched: Transaction) -> list[str]:
    def normal(value: Any) -> Any:
        return " ".join(value.split()) if isinstance(value, str) else value

    return [
        name
        for name in COMPARED
        if normal(getattr(delivered, name)) != normal(getattr(vouched, name))
    ]


def confirm(transaction: Transaction, lookup: Callable[[], TransactionLookup] | None) -> Verdict:
    """Ask Casso about `transaction`; raises ConfirmationUnavailable when it can't answer
    (`lookup` None: no Casso API client configured)."""
    from casso_payments.casso.client import CassoApiError, CassoAuthError, CassoError
    from casso_payments.casso.credentials import CredentialsError, CredentialsUnavailable

    if lookup is None:
        raise ConfirmationUnavailable("no Casso API client configured")
    try:
        record = lookup().transaction(transaction.id)
    except (CredentialsError, CredentialsUnavailable, CassoAuthError) as error:
        raise ConfirmationUnavailable(f"Casso API key: {error}") from error
    except CassoApiError as error:
        if error.status == 404 or error.code == 404:
            return Verdict(False, "not found at Casso")
        raise ConfirmationUnavailable(str(error)) from error
    except CassoError as error:
        raise ConfirmationUnavailable(str(error)) from error
    if not record:
        return Verdict(False, "not found at Casso")
    try:
        vouched = parse_transaction(record, "casso")
    except PayloadError as error:
        raise ConfirmationUnavailable(f"Casso's answer is not a transaction: {error}") from None
    different = _differences(transaction, vouched)
    if different:
        return Verdict(False, "differs from Casso's record in " + ", ".join(different))
    return Verdict(True)


def casso_lookup(
    secrets_client: Callable[[], Any], api_key_secret_id: str, base_url: str
) -> Callable[[], TransactionLookup]:
    """A factory for the Casso client, built on first use and rebuilt when its key changes
    (the key is read through Powertools Parameters, cached five minutes)."""
    cached: dict[str, Any] = {}

    def lookup() -> TransactionLookup:
        from aws_lambda_powertools.utilities.parameters import SecretsProvider

        from casso_payments.casso.client import CassoClient
        from casso_payments.casso.credentials import read_casso_auth

        if "provider" not in cached:
            cached["provider"] = SecretsProvider(boto3_client=secrets_client())
        if not api_key_secret_id:
            raise ConfirmationUnavailable("CASSO_API_KEY_SECRET_ID is not set")
        key = read_casso_auth(cached["provider"], api_key_secret_id)  # api key or OAuth2
        if cached.get("key") != key:
            # Short timeouts and few retries: a slow Casso retries the record later instead
            # of holding the batch.
            cached["client"] = CassoClient(
                key, base_url=base_url, connect_timeout=3.05, read_timeout=5.0, retries=1
            )
            cached["key"] = key
        client: TransactionLookup = cached["client"]
        return client

    return lookup
