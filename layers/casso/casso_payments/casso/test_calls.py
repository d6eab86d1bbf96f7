"""Casso's Test Call: the "Test Call" button on Casso's webhook page sends a made-up
transaction, and the setup can be saved only if the webhook answers it with success.

It is recognised by its id 0 (real Casso ids start at 1) together with Casso's test
markers: reference `MA_GIAO_DICH_THU_NGHIEM` or description "giao dich thu nghiem"
(diacritics and case ignored). A test call is answered 200 and recorded in the ledger as
kind `test_call` (`Ledger.record_test_call`, with its source and time), never as a
transaction: it matches no order and publishes no event (docs/casso.md#cassos-test-call).
"""

from __future__ import annotations

from typing import Final

from casso_payments.casso.payload import Transaction
from casso_payments.orders.codes import fold

TEST_REFERENCE: Final = "MA_GIAO_DICH_THU_NGHIEM"
TEST_DESCRIPTION: Final = "giao dich thu nghiem"
KIND: Final = "test_call"
PREFIX: Final = "TESTCALL#"


def is_test_call(transaction: Transaction) -> bool:
    description = " ".join(fold(transaction.description).lower().split())
    return transaction.id == 0 and (
        transaction.reference.strip().upper() == TEST_REFERENCE or description == TEST_DESCRIPTION
    )
