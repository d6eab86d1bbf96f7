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
from aws_lambda_powertools.utilities.parameters.exceptions import (
    GetParameterError,
    TransformParameterError,
)

from casso_payments.casso.api_auth import CassoAuth
from casso_payments.casso.webhook_auth import WebhookCredentials

FIELDS = ("secure_token", "secure_token_previous", "checksum_key", "checksum_key_previous")


class CredentialsError(ValueError):
    """The webhook secret is unusable (not JSON, wrong field types, nothing configured).
    `last_known`: the credentials read before it became so, if any (a token matching none of
    them is a stranger's, whatever the secret holds now)."""

    last_known: WebhookCredentials | None = None


class CredentialsUnavailable(RuntimeError):
    """Secrets Manager could not be read (throttling, network, permissions, missing secret)."""


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


def _read_secret(
    provider: SecretsProvider, secret_id: str, what: str, *, max_age: int, force: bool = False
) -> Any:
    """A JSON secret through Powertools Parameters, its failures as this module's errors."""
    try:
        return provider.get(secret_id, transform="json", max_age=max_age, force_fetch=force)
    except TransformParameterError:
        raise CredentialsError(f"{what} is not valid JSON") from None
    except GetParameterError as error:
        raise CredentialsUnavailable(str(error)) from error


class CredentialStore:
    """Cached credentials, with a rate-limited early refresh for just-rotated secrets, and
    the last credentials read kept for when Secrets Manager fails.

    A delivery that fails authentication may mean the secret was rotated after it was
    cached; `get(refresh=True)` then re-reads it, at most once per `refresh_interval`
    seconds so a flood of forged requests can't turn into a flood of Secrets Manager calls.

    When Secrets Manager can't be read (throttling, an outage) once credentials were read,
    `get` answers with the last ones read, however old, and tries Secrets Manager again at
    most once per `refresh_interval`: a stranger's token is still refused (401) and Casso's
    still accepted, while the secret can't be read. Only before the first successful read
    does a failure raise `CredentialsUnavailable` (then no token can be checked: 503).
    """

    def __init__(
        self,
        provider: SecretsProvider,
        secret_id: str,
        *,
        max_age: int = 300,
        refresh_interval: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._provider = provider
        self._secret_id = secret_id
        self._max_age = max_age
        self._refresh_interval = refresh_interval
        self._clock = clock
        self._last_forced: float | None = None
        self._last: WebhookCredentials | None = None  # the last credentials read
        self._failed_at: float | None = None  # when Secrets Manager last failed us

    def _backing_off(self, now: float) -> bool:
        return self._failed_at is not None and now - self._failed_at < self._refresh_interval

    def get(self, *, refresh: bool = False) -> WebhookCredentials:
        now = self._clock()
        if self._last is not None and self._backing_off(now):
            return self._last  # Secrets Manager failed a moment ago: don't ask again yet
        force = False
        if refresh and (
            self._last_forced is None or now - self._last_forced >= self._refresh_interval
        ):
            self._last_forced = now
            force = True
        try:
            secret = _read_secret(
                self._provider,
                self._secret_id,
                "webhook secret",
                max_age=self._max_age,
                force=force,
            )
            credentials = parse_credentials(secret)
        except CredentialsUnavailable:
            self._failed_at = now
            if self._last is None:
                raise
            return self._last
        except CredentialsError as error:
            error.last_known = self._last
            raise
        self._failed_at = None
        self._last = credentials
        return credentials


def read_casso_auth(provider: SecretsProvider, secret_id: str, *, max_age: int = 300) -> CassoAuth:
    """How to call Casso's API, from its secret: `{"api_key": "..."}` (sent as `Apikey`) or
    `{"access_token": "..."}` (an OAuth2 access token, sent as `Bearer`), which the operator
    fills in."""
    secret = _read_secret(provider, secret_id, f"Casso API key secret {secret_id}", max_age=max_age)
    auth = CassoAuth.from_secret(secret) if isinstance(secret, Mapping) else None
    if auth is None:
        raise CredentialsError(
            f"the Casso API key is not set: put it in secret {secret_id} as "
            '{"api_key": "<your key>"} or {"access_token": "<OAuth2 access token>"} '
            "(docs/deploy.md#after-the-first-deploy)"
        )
    return auth
