"""The reconciler's settings (ReconcilerFunction's environment, docs/configuration.md)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from casso_payments.settings import (
    CASSO_API_BASE_URL,
    FunctionSettings,
    SettingsError,
    account_list,
    casso_api_base_url,
    true_or_false,
    whole_number,
)


@dataclass(frozen=True)
class ReconcilerSettings(FunctionSettings):
    transaction_queue_url: str
    webhook_secret_id: str
    casso_api_key_secret_id: str = field(metadata={"env": "CASSO_API_KEY_SECRET_ID"})
    webhook_url: str
    casso_api_base_url: str = CASSO_API_BASE_URL
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
    # The balance chain (empty: no gaps step); a gap still open this long is published.
    balance_chain_table_name: str = ""
    balance_gap_minutes: int = 60

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
            casso_api_base_url=casso_api_base_url(env),
            income_only=true_or_false(env, "INCOME_ONLY", True),
            lookback_days=whole_number(env, "LOOKBACK_DAYS", 3, minimum=1, maximum=90),
            stuck_after_minutes=whole_number(
                env, "STUCK_AFTER_MINUTES", 15, minimum=1, maximum=7 * 24 * 60
            ),
            sync_before_backfill=true_or_false(env, "SYNC_BEFORE_BACKFILL", False),
            dry_run=true_or_false(env, "DRY_RUN", False),
            account_numbers=account_list(env, "ACCOUNT_NUMBERS"),
            max_transactions_per_day=whole_number(
                env, "MAX_TRANSACTIONS_PER_DAY", 10_000, minimum=1, maximum=10**7
            ),
            max_sweeps=whole_number(env, "MAX_SWEEPS", 3, minimum=1, maximum=100),
            max_requeued_per_run=whole_number(
                env, "MAX_REQUEUED_PER_RUN", 100, minimum=1, maximum=10_000
            ),
            webhook_silence_minutes=whole_number(
                env, "WEBHOOK_SILENCE_MINUTES", 60, minimum=0, maximum=7 * 24 * 60
            ),
            reserve_seconds=whole_number(env, "RESERVE_SECONDS", 10, minimum=0, maximum=300),
            orders_table_name=env.get("ORDERS_TABLE_NAME", "").strip(),
            event_bus_name=env.get("EVENT_BUS_NAME", "").strip(),
            balance_chain_table_name=env.get("BALANCE_CHAIN_TABLE_NAME", "").strip(),
            balance_gap_minutes=whole_number(
                env, "BALANCE_GAP_MINUTES", 60, minimum=0, maximum=7 * 24 * 60
            ),
        )
