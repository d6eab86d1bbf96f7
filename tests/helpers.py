"""Reading the stores back, the way a user would check them."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from casso_payments.aws.dynamo import from_dynamodb
from casso_payments.casso.payload import parse_transaction
from local.cli.sample_events import LOCAL_SHOP_API_KEY
from local.stack.event_schemas import check as check_event_schema
from local.stack.handler import LocalContext
from local.stack.poller import drain_queue
from local.stack.state import NAMED_RESOURCES, write_state
from local.stack.template import ROOT

# The tests' one clock reading: a fixed moment, so dates in keys and codes are stable.
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
# A deployed stack's webhook URL, as the reconciler is given it (nothing listens there).
WEBHOOK_URL = "https://abc123.execute-api.ap-southeast-1.amazonaws.com/prod/casso/webhook"


def delivered_by_webhook(stack: Any, records: list[dict[str, Any]], *, at: datetime) -> None:
    """What a working v1 webhook would have put in the ledger for these Casso records."""
    for record in records:
        stack.ledger.record_transaction(parse_transaction(record), source="webhook-v1", now=at)


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


def eventbridge_limits(client: Any) -> Callable[[], None]:
    """Make PutEvents on `client` refuse what EventBridge refuses and moto takes: more than
    10 entries, or entries over 256 KB in all, counted as EventBridge documents
    (eb-putevent-size: Source, DetailType, Detail, Resources in UTF-8, 14 bytes for a Time).
    Returns a function that lifts the limits."""

    def _check(params: dict[str, Any], **_: Any) -> None:
        entries = params["Entries"]
        size = sum(
            len(entry.get("Source", "").encode())
            + len(entry.get("DetailType", "").encode())
            + len(entry.get("Detail", "").encode())
            + sum(len(r.encode()) for r in entry.get("Resources", []))
            + (14 if "Time" in entry else 0)
            for entry in entries
        )
        if len(entries) > 10 or size > 256 * 1024:
            message = "Total size of the entries in the request is over the limit."
            raise ClientError(
                {"Error": {"Code": "ValidationException", "Message": message}}, "PutEvents"
            )

    event = "before-parameter-build.eventbridge.PutEvents"
    client.meta.events.register(event, _check)
    return lambda: client.meta.events.unregister(event, _check)


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


def local_cli_env(
    stack: Any, state_dir: Path, *, orders_api: str = "", **parameters: str
) -> dict[str, str]:
    """The environment in which `python -m local.cli` finds `stack` (on a moto server) as
    its running local stack: the state file the stack would write, with this process as the
    stack's (alive for as long as the test runs), these template parameters, and the orders
    API at `orders_api` (`serving_orders_api`)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    write_state(
        state_dir,
        {
            "pid": os.getpid(),
            "urls": {"moto": stack.endpoint, "orders_api": orders_api},
            "credentials": {"SHOP_API_KEY": LOCAL_SHOP_API_KEY},
            "parameters": parameters,
            "resources": {name: stack.local.ref(name) for name in NAMED_RESOURCES},
        },
    )
    return {**os.environ, "LOCAL_STACK_DIR": str(state_dir)}


@contextlib.contextmanager
def serving_orders_api(stack: Any, log_dir: Path, **parameters: str) -> Iterator[str]:
    """OrdersApiFunction in a local Lambda runtime behind an HTTP front, on `stack` (a moto
    server) with these template parameters (the payee): yields its /orders URL."""
    from local.stack.http_front import HttpFront, function_routes
    from local.stack.runtime import FunctionProcess
    from local.stack.template import load_template

    payee = {
        "PAYEE_BANK_BIN": parameters.get("PayeeBankBin", ""),
        "PAYEE_ACCOUNT_NUMBER": parameters.get("PayeeAccountNumber", ""),
    }
    log_dir.mkdir(parents=True, exist_ok=True)
    function = FunctionProcess(
        "OrdersApiFunction",
        stack.environment("OrdersApiFunction", **payee),
        log_dir / "OrdersApiFunction.log",
    )
    front = HttpFront(
        lambda event: {"statusCode": 404, "body": ""},
        routes=function_routes(
            load_template(), "OrdersApiFunction", {"OrdersApiFunction": function}
        ),
    ).start()
    try:
        yield front.url("/orders")
    finally:
        front.stop()
        function.stop()


# A function's module loaded in a fresh interpreter with Lambda's environment
# (LAMBDA_TASK_ROOT is what makes Powertools trace), then which of the modules named it has
# imported.
LOADED = """
import json, os, sys
from local.stack.handler import load_module
from local.stack.template import function_spec, load_template
spec = function_spec(load_template(), sys.argv[1])
os.environ["LAMBDA_TASK_ROOT"] = str(spec.code_dir)
load_module(spec)
print(json.dumps({m: m in sys.modules for m in sys.argv[2:]}))
"""


def loaded_at_cold_start(function: str, modules: list[str]) -> dict[str, bool]:
    """Module name -> whether `function`'s cold start imports it, tracing on as on Lambda."""
    environment = {
        "PATH": "/usr/bin:/bin",
        "AWS_DEFAULT_REGION": "ap-southeast-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        **dict.fromkeys(
            ("LEDGER_TABLE_NAME", "ORDERS_TABLE_NAME", "IDEMPOTENCY_TABLE_NAME", "EVENT_BUS_NAME"),
            "name",
        ),
        "TRANSACTION_QUEUE_URL": "https://sqs.ap-southeast-1.amazonaws.com/123456789012/q",
        "WEBHOOK_SECRET_ID": "webhook",
        "CASSO_API_KEY_SECRET_ID": "casso",
        "PAY_LINK_SECRET_ID": "pay-link",
        "WEBHOOK_URL": WEBHOOK_URL,
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
    }
    result = subprocess.run(
        [sys.executable, "-c", LOADED, function, *modules],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)
