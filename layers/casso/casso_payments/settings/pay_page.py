"""The payment page's settings (PayPageFunction's environment, docs/configuration.md)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from casso_payments.orders.payment_requests import Payee
from casso_payments.settings import required
from casso_payments.settings.orders import payee


@dataclass(frozen=True)
class PayPageSettings:
    # Not a FunctionSettings: this function never touches the ledger.
    orders_table_name: str
    pay_link_secret_id: str
    # The account buyers pay into (PayeeBankBin, ...); None: the page reads it from each
    # order's stored VietQR, without an account name.
    payee: Payee | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PayPageSettings:
        env = os.environ if env is None else env
        return cls(
            orders_table_name=required(env, "ORDERS_TABLE_NAME"),
            pay_link_secret_id=required(env, "PAY_LINK_SECRET_ID"),
            payee=payee(env),
        )
