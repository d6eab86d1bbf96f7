"""Reading the stores back, the way a user would check them."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from casso_payments.ledger import from_dynamodb, record_transaction
from casso_payments.payload import parse_transaction
from local.event_schemas import check as check_event_schema
from local.invoke import LocalContext
from local.poller import drain_queue
from local.stack_client import NAMED_RESOURCES, write_state

# The tests' one clock reading: a fixed moment, so dates in keys and codes are stable.
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
# A deployed stack's webhook URL, as the reconciler is given it (nothing listens there).
WEBHOOK_URL = "https://abc123.execute-api.ap-southeast-1.amazonaws.com/prod/casso/webhook"


def delivered_by_webhook(stack: Any, records: list[dict[str, Any]], *, at: datetime) -> None:
    """What a working v1 webhook would have put in the ledger for these Casso records."""
    for record in records:
        record_transaction(
            stack.dynamodb, stack.table, parse_transaction(record), source="webhook-v1", now=at
        )


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


def captured_handler(module: Any, function: str, **context: Any) -> Callable[[dict], Any]:
    """The module's handler, its logs written where pytest's capsys reads now (the stdlib
    logger outlives each fresh import of the handler's module)."""

    def call(event: dict) -> Any:
        for log_handler in logging.getLogger(module.logger.name).handlers:
            log_handler.stream = sys.stdout  # type: ignore[attr-defined]
        return module.lambda_handler(event, LocalContext(function, **context))

    return call


def local_cli_env(stack: Any, state_dir: Path, **parameters: str) -> dict[str, str]:
    """The environment in which `python -m local.cli` finds `stack` (on a moto server) as
    its running local stack: the state file the stack would write, with this process as the
    stack's (alive for as long as the test runs) and these template parameters."""
    state_dir.mkdir(parents=True, exist_ok=True)
    write_state(
        state_dir,
        {
            "pid": os.getpid(),
            "urls": {"moto": stack.endpoint},
            "parameters": parameters,
            "resources": {name: stack.local.ref(name) for name in NAMED_RESOURCES},
        },
    )
    return {**os.environ, "LOCAL_STACK_DIR": str(state_dir)}
