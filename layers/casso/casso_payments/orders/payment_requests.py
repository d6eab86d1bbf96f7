"""An order's payment request: the VietQR its checkout shows, and the check that the code
it carries is one the processor can find again (so no customer pays an unmatchable order)."""

from __future__ import annotations

from dataclasses import dataclass

from casso_payments.orders import vietqr
from casso_payments.orders.codes import canonical_code, find_codes


class PaymentRequestError(ValueError):
    """The order's code can't be put in a VietQR the matcher reads back; says why."""


@dataclass(frozen=True)
class Payee:
    """The account customers pay into (template parameters PayeeBankBin, PayeeAccountNumber,
    PayeeAccountName): set, every order gets a VietQR for it."""

    bank_bin: str
    account_number: str
    account_name: str = ""


def matchable(order_code: str, pattern: str) -> str:
    """The canonical code, after checking `pattern` finds it in a description holding just
    that code (what a VietQR sends): otherwise no transfer could ever pay the order."""
    key = canonical_code(order_code)
    try:
        found = find_codes(key, pattern)
    except ValueError as error:
        raise PaymentRequestError(f"order_code: {error}") from None
    if found != [key]:
        raise PaymentRequestError(
            f"order_code {order_code!r}: a transfer described {key!r} (what its VietQR "
            f"sends) would not be matched back by the order-code pattern {pattern!r} (found "
            f"{found or 'nothing'}); use a code the pattern finds, such as DH35"
        )
    return key


def payment_request(order_code: str, amount: int, payee: Payee) -> str:
    """The VietQR for paying `amount` to `payee` for `order_code`, described by the order's
    canonical code (the form the matcher reads back)."""
    key = canonical_code(order_code)
    try:
        return vietqr.payload(payee.bank_bin, payee.account_number, amount, key)
    except vietqr.VietQRError as error:
        raise PaymentRequestError(f"VietQR for order {key}: {error}") from None
