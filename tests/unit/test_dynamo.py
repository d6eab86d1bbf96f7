"""The DynamoDB helpers the table modules share: here, reading every page of a query."""

from __future__ import annotations

from datetime import timedelta

from casso_payments.aws.dynamo import query_pages
from casso_payments.ledger.entries import RECEIVED
from casso_payments.ledger.repository import PENDING_INDEX
from tests.helpers import NOW
from tests.unit.test_processing import record


def test_query_pages_follows_every_page_and_the_ledger_reads_them_all(stack):
    for transaction_id in range(1, 6):
        record(stack, transaction_id, 1_000, f"DH{transaction_id}")
    pages = list(
        query_pages(
            stack.dynamodb,
            TableName=stack.table,
            IndexName=PENDING_INDEX,
            KeyConditionExpression="pending = :received",
            ExpressionAttributeValues={":received": {"S": RECEIVED}},
            Limit=2,  # five items, two a page: three pages
        )
    )
    assert [page["Count"] for page in pages] == [2, 2, 1]
    ids = sorted(int(i["pk"]["S"].removeprefix("TXN#")) for p in pages for i in p["Items"])
    assert ids == [1, 2, 3, 4, 5]
    assert stack.ledger.pending_before(NOW + timedelta(seconds=1)) == ids
