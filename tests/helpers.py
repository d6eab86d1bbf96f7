"""Reading the stores back, the way a user would check them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from casso_payments.ledger import from_dynamodb


def ledger_items(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        items.extend(from_dynamodb(item) for item in page["Items"])
    return sorted(items, key=lambda item: item["pk"])


def transaction_ids(items: list[dict[str, Any]]) -> list[int]:
    return sorted(int(i["transaction_id"]) for i in items if i["kind"] == "transaction")


def drain_queue(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Receive (and delete) every message on the queue; returns their bodies."""
    bodies: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def fail_calls(client: Any, operation: str, code: str = "ServiceUnavailable") -> Callable[[], None]:
    """Make every `operation` call on `client` fail as AWS would; returns a function to heal it."""

    def _raise(**_: Any) -> None:
        raise ClientError({"Error": {"Code": code, "Message": "injected fault"}}, operation)

    event = f"before-call.{client.meta.service_model.service_name}.{operation}"
    client.meta.events.register(event, _raise)
    return lambda: client.meta.events.unregister(event, _raise)
