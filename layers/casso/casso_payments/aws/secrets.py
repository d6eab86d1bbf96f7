"""A JSON secret from Secrets Manager, read through Powertools Parameters (cached), parsed
into the value its user needs, and kept for when Secrets Manager fails.

Every secret the stack reads goes through `SecretStore`: Casso's webhook credentials, the
shop's API keys, the payment-link key, the notification signing secret, the Telegram token.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import (
    GetParameterError,
    TransformParameterError,
)

T = TypeVar("T")


class CredentialsError(ValueError):
    """A secret is unusable (not JSON, wrong field types, nothing configured).
    `last_known`: the value read before it became so, if any (a token matching none of it is
    a stranger's, whatever the secret holds now)."""

    last_known: Any = None


class CredentialsUnavailable(RuntimeError):
    """Secrets Manager could not be read (throttling, network, permissions, missing secret)."""


def read_secret(
    provider: SecretsProvider, secret_id: str, what: str, *, max_age: int, force: bool = False
) -> Any:
    """A JSON secret through Powertools Parameters, its failures as this module's errors."""
    try:
        return provider.get(secret_id, transform="json", max_age=max_age, force_fetch=force)
    except TransformParameterError:
        raise CredentialsError(f"{what} is not valid JSON") from None
    except GetParameterError as error:
        raise CredentialsUnavailable(str(error)) from error


class SecretStore(Generic[T]):
    """A cached, parsed secret, with a rate-limited early refresh for just-rotated secrets,
    and the last value read kept for when Secrets Manager fails.

    A request that fails authentication may mean the secret was rotated after it was
    cached; `get(refresh=True)` then re-reads it, at most once per `refresh_interval`
    seconds so a flood of forged requests can't turn into a flood of Secrets Manager calls.

    When Secrets Manager can't be read (throttling, an outage) once a value was read, `get`
    answers with the last one read, however old, and tries Secrets Manager again at most once
    per `refresh_interval`: a stranger is still refused (401) and the rightful caller still
    accepted while the secret can't be read. Only before the first successful read does a
    failure raise `CredentialsUnavailable` (then nothing can be checked: 503).
    """

    def __init__(
        self,
        provider: SecretsProvider,
        secret_id: str,
        parse: Callable[[Any], T],
        *,
        what: str = "secret",
        max_age: int = 300,
        refresh_interval: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._provider = provider
        self._secret_id = secret_id
        self._parse = parse
        self._what = what
        self._max_age = max_age
        self._refresh_interval = refresh_interval
        self._clock = clock
        self._last_forced: float | None = None
        self._last: T | None = None  # the last value read
        self._failed_at: float | None = None  # when Secrets Manager last failed us

    def _backing_off(self, now: float) -> bool:
        return self._failed_at is not None and now - self._failed_at < self._refresh_interval

    def get(self, *, refresh: bool = False) -> T:
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
            secret = read_secret(
                self._provider, self._secret_id, self._what, max_age=self._max_age, force=force
            )
            value = self._parse(secret)
        except CredentialsUnavailable:
            self._failed_at = now
            if self._last is None:
                raise
            return self._last
        except CredentialsError as error:
            error.last_known = self._last
            raise
        self._failed_at = None
        self._last = value
        return value
