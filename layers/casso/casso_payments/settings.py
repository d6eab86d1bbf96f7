"""Configuration from environment variables, validated once at cold start.

Every setting has a documented name (docs/configuration.md). A missing or malformed value
fails the cold start with a message naming the variable, rather than failing a delivery later.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

# DynamoDB items are at most 400 KB; a quarantined body is stored whole, so the limit stays
# below that with room for the other attributes.
HARD_MAX_BODY_BYTES = 350_000


class SettingsError(ValueError):
    """A configuration variable is missing or malformed."""


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"environment variable {name} is required but not set")
    return value


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int, maximum: int) -> int:
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


def _accounts(env: Mapping[str, str], name: str) -> tuple[str, ...]:
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
            f.name: _required(env, f.metadata.get("env", f.name.upper()))
            for f in fields(cls)
            if f.default is MISSING and f.default_factory is MISSING and f.name not in but
        }


def accepts_account(accounts: tuple[str, ...], account_number: str | None) -> bool:
    """Whether a transaction to this account is this stack's business (AccountNumbers)."""
    return not accounts or (account_number or "").strip() in accounts


@dataclass(frozen=True)
class ReceiverSettings(FunctionSettings):
    transaction_queue_url: str
    webhook_secret_id: str
    max_body_bytes: int = 262_144
    # 0 = off: Casso retries a delivery for up to ~70 h with its original signature timestamp.
    max_signature_age_seconds: int = 0
    credentials_cache_seconds: int = 300
    # A redelivered transaction still unprocessed after this long is queued again: it covers
    # a queue send that failed after the ledger write (we answered 5xx, Casso retried).
    requeue_after_seconds: int = 30

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ReceiverSettings:
        env = os.environ if env is None else env
        return cls(
            **cls.required_from(env),
            max_body_bytes=_int(
                env, "MAX_BODY_BYTES", 262_144, minimum=1024, maximum=HARD_MAX_BODY_BYTES
            ),
            max_signature_age_seconds=_int(
                env, "MAX_SIGNATURE_AGE_SECONDS", 0, minimum=0, maximum=7 * 24 * 3600
            ),
            credentials_cache_seconds=_int(
                env, "CREDENTIALS_CACHE_SECONDS", 300, minimum=0, maximum=3600
            ),
            requeue_after_seconds=_int(
                env, "REQUEUE_AFTER_SECONDS", 30, minimum=0, maximum=24 * 3600
            ),
        )


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


@dataclass(frozen=True)
class ProcessorSettings(FunctionSettings):
    orders_table_name: str
    idempotency_table_name: str
    event_bus_name: str
    order_code_pattern: str
    # VND either side of the expected amount that still counts as paid exactly.
    amount_tolerance: int = 0
    # Which transactions Casso's API must vouch for before they change an order
    # (`confirmation`): v1 | all | none.
    confirm_payments: str = "v1"
    casso_api_key_secret_id: str = ""
    casso_api_base_url: str = "https://oauth.casso.vn/v2"
    # For the back-off of a record waiting on Casso (its message's visibility).
    transaction_queue_url: str = ""
    # Only transfers to these accounts settle orders (empty: every account).
    account_numbers: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ProcessorSettings:
        from casso_payments.order_codes import DEFAULT_PATTERN, PatternError, compile_pattern

        env = os.environ if env is None else env
        pattern = env.get("ORDER_CODE_PATTERN", "").strip() or DEFAULT_PATTERN
        try:
            compile_pattern(pattern)
        except PatternError as error:
            raise SettingsError(f"ORDER_CODE_PATTERN: {error}") from None
        return cls(
            **cls.required_from(env, but=("order_code_pattern",)),
            order_code_pattern=pattern,
            amount_tolerance=_int(env, "AMOUNT_TOLERANCE", 0, minimum=0, maximum=10**12),
            confirm_payments=_choice(env, "CONFIRM_PAYMENTS", "v1", ("v1", "all", "none")),
            casso_api_key_secret_id=env.get("CASSO_API_KEY_SECRET_ID", "").strip(),
            casso_api_base_url=env.get("CASSO_API_BASE_URL", "").strip()
            or "https://oauth.casso.vn/v2",
            transaction_queue_url=env.get("TRANSACTION_QUEUE_URL", "").strip(),
            account_numbers=_accounts(env, "ACCOUNT_NUMBERS"),
        )


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("true", "1", "yes"):
        return True
    if raw in ("false", "0", "no"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


@dataclass(frozen=True)
class ReconcilerSettings(FunctionSettings):
    transaction_queue_url: str
    webhook_secret_id: str
    api_key_secret_id: str = field(metadata={"env": "CASSO_API_KEY_SECRET_ID"})
    webhook_url: str
    casso_api_base_url: str = "https://oauth.casso.vn/v2"
    income_only: bool = True
    lookback_days: int = 3
    stuck_after_minutes: int = 15
    sync_before_backfill: bool = False
    dry_run: bool = False
    # Backfill considers only these accounts (empty: every account).
    account_numbers: tuple[str, ...] = ()
    # Bounds the pages one run reads: LookbackDays x this / the page size.
    max_transactions_per_day: int = 10_000
    # A stuck entry is re-queued at most this many times, then left for a person.
    max_sweeps: int = 3
    max_requeued_per_run: int = 100
    # Backfilled transactions and no webhook delivery for this long: probably PAUSED.
    webhook_silence_minutes: int = 60
    # Seconds kept back from the invocation's timeout to report the run.
    reserve_seconds: int = 10
    # Orders that expire (the expiry step): empty, no expiry step.
    orders_table_name: str = ""
    event_bus_name: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ReconcilerSettings:
        env = os.environ if env is None else env
        required = cls.required_from(env)
        if not required["webhook_url"].startswith(("https://", "http://")):
            raise SettingsError(
                f"WEBHOOK_URL must be an http(s) URL, got {required['webhook_url']!r}"
            )
        return cls(
            **required,
            casso_api_base_url=env.get("CASSO_API_BASE_URL", "").strip()
            or "https://oauth.casso.vn/v2",
            income_only=_bool(env, "INCOME_ONLY", True),
            lookback_days=_int(env, "LOOKBACK_DAYS", 3, minimum=1, maximum=90),
            stuck_after_minutes=_int(
                env, "STUCK_AFTER_MINUTES", 15, minimum=1, maximum=7 * 24 * 60
            ),
            sync_before_backfill=_bool(env, "SYNC_BEFORE_BACKFILL", False),
            dry_run=_bool(env, "DRY_RUN", False),
            account_numbers=_accounts(env, "ACCOUNT_NUMBERS"),
            max_transactions_per_day=_int(
                env, "MAX_TRANSACTIONS_PER_DAY", 10_000, minimum=1, maximum=10**7
            ),
            max_sweeps=_int(env, "MAX_SWEEPS", 3, minimum=1, maximum=100),
            max_requeued_per_run=_int(env, "MAX_REQUEUED_PER_RUN", 100, minimum=1, maximum=10_000),
            webhook_silence_minutes=_int(
                env, "WEBHOOK_SILENCE_MINUTES", 60, minimum=0, maximum=7 * 24 * 60
            ),
            reserve_seconds=_int(env, "RESERVE_SECONDS", 10, minimum=0, maximum=300),
            orders_table_name=env.get("ORDERS_TABLE_NAME", "").strip(),
            event_bus_name=env.get("EVENT_BUS_NAME", "").strip(),
        )
