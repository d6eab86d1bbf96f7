"""Orders with a VietQR: what a customer scans is what the processor matches back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casso_payments.orders import vietqr
from casso_payments.orders.codes import DEFAULT_PATTERN, find_codes
from casso_payments.orders.model import OrderError, new_order
from casso_payments.orders.payment_requests import Payee

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
PAYEE = Payee("970436", "0011001234567", "CONG TY ABC")


def test_order_keeps_its_vietqr(stack):
    order = stack.orders.create("dh-0035", 200_500, now=NOW, payee=PAYEE)
    stored = stack.orders.get("DH35")
    assert stored.vietqr == order.vietqr
    assert vietqr.parse(stored.vietqr) == {
        "bank_bin": "970436",
        "account": "0011001234567",
        "amount": 200_500,
        "description": "DH35",  # the canonical code, not the spelling it was created with
    }


def test_no_payee_no_vietqr(stack):
    order = stack.orders.create("DH36", 1_000, now=NOW)
    assert order.vietqr is None
    assert stack.orders.get("DH36").vietqr is None


# The rules below need no AWS: `new_order` checks an order before anything is written.
@pytest.mark.parametrize("code", ["ORDER35", "35", "DHX", "INV-0035"])
def test_codes_the_pattern_never_finds_are_refused(code):
    with pytest.raises(OrderError, match="would not be matched back by the order-code pattern"):
        new_order(code, 1_000, now=NOW, payee=PAYEE)
    with pytest.raises(OrderError, match="order-code pattern"):
        new_order(code, 1_000, now=NOW, pattern=DEFAULT_PATTERN)


def test_a_refused_order_is_not_written(stack):
    with pytest.raises(OrderError, match="order-code pattern"):
        stack.orders.create("DHX", 1_000, now=NOW, payee=PAYEE)
    assert stack.orders.get("DHX") is None


def test_a_code_too_long_for_the_vietqr_is_refused():
    with pytest.raises(OrderError, match="description: 32 characters"):
        new_order("DH" + "9" * 30, 1_000, now=NOW, payee=PAYEE)


def test_a_custom_pattern_is_honoured():
    order, _ = new_order("INV-7", 5_000, now=NOW, payee=PAYEE, pattern=r"INV\d+")
    assert vietqr.parse(order.vietqr)["description"] == "INV7"


@settings(max_examples=200)
@given(code=st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=30))
def test_every_accepted_code_is_matched_back_from_its_vietqr(code):
    try:
        order, _ = new_order(code, 10_000, now=NOW, payee=PAYEE)
    except OrderError:
        return
    description = vietqr.parse(order.vietqr)["description"]
    assert find_codes(description, DEFAULT_PATTERN) == [order.key]


@given(
    prefix=st.sampled_from(["DH", "dh", "Dh", "đh", "ĐH"]),
    sep=st.sampled_from(["", "-", ".", " ", "_", "#", ":/"]),
    digits=st.integers(min_value=0, max_value=10**20),
)
@settings(max_examples=200)
def test_codes_in_the_default_shape_are_accepted_and_matched(prefix, sep, digits):
    order, _ = new_order(f"{prefix}{sep}{digits:05d}", 10_000, now=NOW, payee=PAYEE)
    assert find_codes(vietqr.parse(order.vietqr)["description"]) == [order.key]


def test_show_qr_draws_the_order_and_writes_its_svg(stack, tmp_path, capsys):
    from ops.qr import payee_from, show_qr

    payee = payee_from({"PayeeBankBin": "970436", "PayeeAccountNumber": "0011001234567"})
    order = stack.orders.create("DH35", 200_500, now=NOW, payee=payee)
    assert show_qr(order, tmp_path) == 0
    printed = capsys.readouterr().out
    assert f"VietQR: {order.vietqr}" in printed
    assert "\u2588" in printed
    assert (tmp_path / "DH35.svg").read_text().lstrip().startswith("<?xml")
    assert payee_from({"PayeeBankBin": "", "PayeeAccountNumber": "1"}) is None
