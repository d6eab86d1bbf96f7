"""The processor's settings (ProcessorFunction's environment, docs/configuration.md)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from casso_payments.settings import (
    CASSO_API_BASE_URL,
    FunctionSettings,
    account_list,
    casso_api_base_url,
    choice,
    whole_number,
)


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
    casso_api_base_url: str = CASSO_API_BASE_URL
    # For the back-off of a record waiting on Casso (its message's visibility).
    transaction_queue_url: str = ""
    # Only transfers to these accounts settle orders (empty: every account).
    account_numbers: tuple[str, ...] = ()
    # The balance chain's table (empty: no chain kept).
    balance_chain_table_name: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ProcessorSettings:
        from casso_payments.settings.orders import order_code_pattern

        env = os.environ if env is None else env
        pattern = order_code_pattern(env)
        return cls(
            **cls.required_from(env, but=("order_code_pattern",)),
            order_code_pattern=pattern,
            amount_tolerance=whole_number(env, "AMOUNT_TOLERANCE", 0, minimum=0, maximum=10**12),
            confirm_payments=choice(env, "CONFIRM_PAYMENTS", "v1", ("v1", "all", "none")),
            casso_api_key_secret_id=env.get("CASSO_API_KEY_SECRET_ID", "").strip(),
            casso_api_base_url=casso_api_base_url(env),
            transaction_queue_url=env.get("TRANSACTION_QUEUE_URL", "").strip(),
            account_numbers=account_list(env, "ACCOUNT_NUMBERS"),
            balance_chain_table_name=env.get("BALANCE_CHAIN_TABLE_NAME", "").strip(),
        )
