"""The orders API's settings (OrdersApiFunction's environment, docs/configuration.md)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from casso_payments.orders.codes import DEFAULT_PATTERN
from casso_payments.orders.payment_requests import Payee
from casso_payments.settings import FunctionSettings, true_or_false
from casso_payments.settings.orders import order_code_pattern, payee


@dataclass(frozen=True)
class OrdersApiSettings(FunctionSettings):
    orders_table_name: str
    idempotency_table_name: str
    event_bus_name: str
    shop_api_key_secret_id: str
    pay_link_secret_id: str
    order_code_pattern: str = DEFAULT_PATTERN
    # The account orders' VietQRs pay into; None: orders have no VietQR.
    payee: Payee | None = None
    # An order's notify_url may be plain http to loopback: set only by the local stack.
    allow_loopback: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OrdersApiSettings:
        env = os.environ if env is None else env
        return cls(
            **cls.required_from(env, but=("order_code_pattern",)),
            order_code_pattern=order_code_pattern(env),
            payee=payee(env),
            allow_loopback=true_or_false(env, "NOTIFY_ALLOW_LOOPBACK", False),
        )
