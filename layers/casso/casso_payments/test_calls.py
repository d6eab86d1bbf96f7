"""Casso's Test Call: the "Test Call" button on Casso's webhook page sends a made-up
transaction, and the setup can be saved only if the webhook answers it with success.

It is recognised by its id 0 (real Casso ids start at 1) together with Casso's test
markers: reference `MA_GIAO_DICH_THU_NGHIEM` or description "giao dich thu nghiem"
(diacritics and case ignored). A test call is answered 200 and recorded in the ledger as
kind `test_call` (key `TESTCALL#<received at>`, with its source and time), never as a
transaction: it matches no order and publishes no event (docs/casso.md#cassos-test-call).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Final

from casso_payments.dynamo import timestamp, to_dynamodb
from casso_payments.order_codes import fold
from casso_payments.payload import Transaction

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TEST_REFERENCE: Final = "MA_GIAO_DICH_THU_NGHIEM"
TEST_DESCRIPTION: Final = "giao dich thu nghiem"
KIND: Final = "test_call"
PREFIX: Final = "TESTCALL#"


def is_test_call(transaction: Transaction) -> bool:
    description = " ".join(fold(transaction.description).lower().split())
    return transaction.id == 0 and (
        transaction.reference.strip().upper() == TEST_REFERENCE or description == TEST_DESCRIPTION
    )


def record_test_call(
    dynamodb: DynamoDBClient, table: str, transaction: Transaction, *, source: str, now: datetime
) -> str:
    """Keep the test call with its time; returns its ledger key. Every call is kept (they are
    rare and each answers "did the test call arrive?")."""
    received_at = timestamp(now)
    key = f"{PREFIX}{received_at}#{source}"
    dynamodb.put_item(
        TableName=table,
        Item=to_dynamodb(
            {
                "pk": key,
                "kind": KIND,
                "status": "TEST",
                "outcome": KIND,
                "source": source,
                "received_at": received_at,
                "amount": transaction.amount,
                "description": transaction.description,
                "reference": transaction.reference,
                "raw": json.dumps(transaction.raw, ensure_ascii=False, sort_keys=True),
            }
        ),
    )
    return key
