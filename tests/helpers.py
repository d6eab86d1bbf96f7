"""Reading the stores back, the way a user would check them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from casso_payments.ledger import from_dynamodb
from local.event_schemas import check as check_event_schema
from local.poller import drain_queue


def ledger_items(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        items.extend(from_dynamodb(item) for item in page["Items"])
    return sorted(items, key=lambda item: item["pk"])


def transaction_ids(items: list[dict[str, Any]]) -> list[int]:
    return sorted(int(i["transaction_id"]) for i in items if i["kind"] == "transaction")


def fail_calls(
    client: Any,
    operation: str,
    code: str = "ServiceUnavailable",
    *,
    when: Callable[[dict[str, Any]], bool] = lambda params: True,
) -> Callable[[], None]:
    """Make `operation` calls on `client` (those whose parameters satisfy `when`) fail as AWS
    would; returns a function that heals the client."""

    def _raise(params: dict[str, Any], **_: Any) -> None:
        if when(params):
            raise ClientError({"Error": {"Code": code, "Message": "injected fault"}}, operation)

    event = f"before-parameter-build.{client.meta.service_model.service_id.hyphenize()}.{operation}"
    client.meta.events.register(event, _raise)
    return lambda: client.meta.events.unregister(event, _raise)


def published_events(sqs: Any, tap_url: str) -> list[tuple[str, dict[str, Any]]]:
    """(detail-type, detail) of every event the bus delivered to the local tap, in order;
    each checked against its detail-type's schema (schemas/events/) on the way."""
    events = drain_queue(sqs, tap_url)
    for event in events:
        check_event_schema(event)
    return [(event["detail-type"], event["detail"]) for event in events]
