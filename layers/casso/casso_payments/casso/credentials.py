"""Webhook credentials from Secrets Manager, read through Powertools Parameters (cached).

The secret is a JSON object (the template creates it, generating `secure_token`):

    {"secure_token": "...", "secure_token_previous": "",
     "checksum_key": "...", "checksum_key_previous": ""}

Empty values are "not configured". A `*_previous` value keeps the old token or key valid
while a rotation reaches Casso (docs/security.md#rotating-credentials).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider

from casso_payments.aws.secrets import (
    CredentialsError,
    CredentialsUnavailable,
    SecretStore,
    read_secret,
)
from casso_payments.casso.api_auth import CassoAuth
from casso_payments.casso.webhook_auth import WebhookCredentials

__all__ = [
    "CredentialStore",
    "CredentialsError",
    "CredentialsUnavailable",
    "parse_credentials",
    "read_casso_auth",
]

FIELDS = ("secure_token", "secure_token_previous", "checksum_key", "checksum_key_previous")


def parse_credentials(secret: Any) -> WebhookCredentials:
    if not isinstance(secret, Mapping):
        raise CredentialsError("webhook secret must be a JSON object")
    values: dict[str, str] = {}
    for field in FIELDS:
        value = secret.get(field) or ""
        if not isinstance(value, str):
            raise CredentialsError(f"webhook secret field {field!r} must be a string")
        values[field] = value.strip()
    credentials = WebhookCredentials(
        secure_tokens=tuple(
            v for v in (values["secure_token"], values["secure_token_previous"]) if v
        ),
        checksum_keys=tuple(
            v for v in (values["checksum_key"], values["checksum_key_previous"]) if v
        ),
    )
    if not credentials.configured:
        raise CredentialsError(
            "webhook secret has neither a secure_token nor a checksum_key: nothing can be verified"
        )
    return credentials


class CredentialStore(SecretStore[WebhookCredentials]):
    """Casso's webhook credentials, cached (`SecretStore`): a token matching none of them,
    or none of the last ones read while Secrets Manager fails, is a stranger's."""

    def __init__(
        self,
        provider: SecretsProvider,
        secret_id: str,
        *,
        max_age: int = 300,
        refresh_interval: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            provider,
            secret_id,
            parse_credentials,
            what="webhook secret",
            max_age=max_age,
            refresh_interval=refresh_interval,
            clock=clock,
        )


def read_casso_auth(provider: SecretsProvider, secret_id: str, *, max_age: int = 300) -> CassoAuth:
    """How to call Casso's API, from its secret: `{"api_key": "..."}` (sent as `Apikey`) or
    `{"access_token": "..."}` (an OAuth2 access token, sent as `Bearer`), which the operator
    fills in."""
    secret = read_secret(provider, secret_id, f"Casso API key secret {secret_id}", max_age=max_age)
    auth = CassoAuth.from_secret(secret) if isinstance(secret, Mapping) else None
    if auth is None:
        raise CredentialsError(
            f"the Casso API key is not set: put it in secret {secret_id} as "
            '{"api_key": "<your key>"} or {"access_token": "<OAuth2 access token>"} '
            "(docs/deploy.md#after-the-first-deploy)"
        )
    return auth
