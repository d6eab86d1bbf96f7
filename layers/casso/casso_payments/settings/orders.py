"""What every function that handles orders reads the same way: the order-code pattern
(ProcessorFunction, OrdersApiFunction) and the payee (OrdersApiFunction, PayPageFunction)."""

from __future__ import annotations

from collections.abc import Mapping

from casso_payments.orders.codes import DEFAULT_PATTERN, PatternError, compile_pattern
from casso_payments.orders.payment_requests import Payee
from casso_payments.settings import SettingsError


def order_code_pattern(env: Mapping[str, str]) -> str:
    """ORDER_CODE_PATTERN (the template's OrderCodePattern), checked; empty: the default."""
    pattern = env.get("ORDER_CODE_PATTERN", "").strip() or DEFAULT_PATTERN
    try:
        compile_pattern(pattern)
    except PatternError as error:
        raise SettingsError(f"ORDER_CODE_PATTERN: {error}") from None
    return pattern


def payee(env: Mapping[str, str]) -> Payee | None:
    """The account orders are paid into (PAYEE_BANK_BIN, PAYEE_ACCOUNT_NUMBER, and its
    holder's PAYEE_ACCOUNT_NAME: the template's Payee* parameters); None without one."""
    bank_bin = env.get("PAYEE_BANK_BIN", "").strip()
    account = env.get("PAYEE_ACCOUNT_NUMBER", "").strip()
    name = env.get("PAYEE_ACCOUNT_NAME", "").strip()
    return Payee(bank_bin, account, name) if bank_bin and account else None
