"""Configuration from environment variables, validated once at cold start.

Every setting has a documented name (docs/configuration.md). A missing or malformed value
fails the cold start with a message naming the variable, rather than failing a delivery later.

Each function's settings are a module of their own, so a cold start builds only its own
class; what they share is here:

    receiver     ReceiverSettings
    notifier     NotifierSettings
    processor    ProcessorSettings
    reconciler   ReconcilerSettings
    pay_page     PayPageSettings
    orders_api   OrdersApiSettings
    orders       what every function that handles orders reads: the code pattern, the payee
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from typing import Any, Final

# Casso's API, unless CASSO_API_BASE_URL (the template's CassoApiBaseUrl) says otherwise.
CASSO_API_BASE_URL: Final = "https://oauth.casso.vn/v2"


class SettingsError(ValueError):
    """A configuration variable is missing or malformed."""


def required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"environment variable {name} is required but not set")
    return value


def whole_number(
    env: Mapping[str, str], name: str, default: int, *, minimum: int, maximum: int
) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise SettingsError(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def account_list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated bank account numbers; empty means every linked account."""
    accounts = tuple(a.strip() for a in env.get(name, "").split(",") if a.strip())
    for account in accounts:
        if not account.isascii() or not account.isalnum():
            raise SettingsError(
                f"{name} must be bank account numbers separated by commas, got {account!r}"
            )
    return accounts


@dataclass(frozen=True)
class FunctionSettings:
    """What every function's settings share. A field without a default is a required
    variable, named after the field in capitals (ledger_table_name: LEDGER_TABLE_NAME)
    unless its metadata names it (`env`); `required_from` reads them all, once."""

    ledger_table_name: str

    @classmethod
    def required_from(cls, env: Mapping[str, str], *, but: tuple[str, ...] = ()) -> dict[str, Any]:
        """field name -> value of every required variable (except the fields in `but`,
        which the caller reads its own way); SettingsError names the first one missing."""
        return {
            f.name: required(env, f.metadata.get("env", f.name.upper()))
            for f in fields(cls)
            if f.default is MISSING and f.default_factory is MISSING and f.name not in but
        }


def accepts_account(accounts: tuple[str, ...], account_number: str | None) -> bool:
    """Whether a transaction to this account is this stack's business (AccountNumbers)."""
    return not accounts or (account_number or "").strip() in accounts


def casso_api_base_url(env: Mapping[str, str]) -> str:
    return env.get("CASSO_API_BASE_URL", "").strip() or CASSO_API_BASE_URL


def choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def true_or_false(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("true", "1", "yes"):
        return True
    if raw in ("false", "0", "no"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")
