"""What a cold-start pair runs against: for each function, the event and the state that make
the handler take the same path as its floor, the check that it did its job, and the
Lambda-like environment of its child processes."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from bench.common import FAKE_AWS
from local.casso.simulator import CassoSimulator
from local.cli.sample_events import LOCAL_SECURE_TOKEN, V1_ITEM
from local.stack.template import function_spec, load_template

FUNCTIONS = {
    "ReceiverFunction": "receiver",
    "ProcessorFunction": "processor",
    "ReconcilerFunction": "reconciler",
    "NotifierFunction": "notifier",
    "OrdersApiFunction": "orders_api",
}
TRACE_HEADER = "Root=1-6740a9c0-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=1"


def transaction_id(function: str, run: int) -> int:
    # A range of its own per function, so no run sees another's transactions.
    return 10_000 * (1 + list(FUNCTIONS).index(function)) + run


def prepare(function: str, run: int, stack: Any, clients: dict, workdir: Path) -> Path:
    """The event for one cold invocation (a new transaction each time), and the state that
    makes the handler take the same path as its floor: the processor pays an order; the
    reconciler registers the webhook, reads one page and finds nothing missing."""
    from casso_payments.aws.queue import TransactionQueue
    from casso_payments.ledger.repository import STATE as STATE_PREFIX
    from casso_payments.ledger.repository import Ledger
    from casso_payments.orders.repository import Orders
    from casso_payments.receiver.intake import Delivery, IntakeDeps, receive
    from casso_payments.settings.receiver import ReceiverSettings
    from local.stack.lambda_events import rest_proxy_event, sqs_event, sqs_record

    path = workdir / f"{function}-{run}.json"
    tid = transaction_id(function, run)
    transaction = {**V1_ITEM, "id": tid, "description": f"DH{tid} cold start"}
    body = json.dumps({"error": 0, "data": [transaction]})
    if function == "ReceiverFunction":
        event = rest_proxy_event(
            "POST", "/casso/webhook", headers={"Secure-Token": LOCAL_SECURE_TOKEN}, body=body
        )
    elif function == "ProcessorFunction":
        spec = function_spec(load_template(), "ReceiverFunction")
        settings = ReceiverSettings.from_env(stack.function_environment(spec.environment))

        class Token:
            def get(self, *, refresh: bool = False) -> Any:
                from casso_payments.casso.webhook_auth import WebhookCredentials

                return WebhookCredentials(secure_tokens=(LOCAL_SECURE_TOKEN,))

        receive(
            Delivery({"Secure-Token": LOCAL_SECURE_TOKEN}, body, datetime.now(UTC)),
            IntakeDeps(
                Ledger(clients["dynamodb"], settings.ledger_table_name),
                TransactionQueue(lambda: clients["sqs"], settings.transaction_queue_url),
                Token(),
                settings,
            ),
        )
        Orders(clients["dynamodb"], stack.ref("OrdersTable")).create(
            f"DH{tid}", transaction["amount"], now=datetime.now(UTC)
        )
        chain_onto_the_one_before(transaction, clients, stack)
        message = json.dumps({"transaction_id": tid, "source": "webhook-v1"})
        event = sqs_event([sqs_record(message)])
    elif function == "NotifierFunction":
        # An order paid: its Order Paid event, as the notification rule puts it on the queue.
        Orders(clients["dynamodb"], stack.ref("OrdersTable")).create(
            f"DH{tid}", transaction["amount"], now=datetime.now(UTC)
        )
        event = sqs_event([sqs_record(json.dumps(order_paid(tid, transaction["amount"])))])
    elif function == "OrdersApiFunction":
        event = orders_api_event(tid)
    else:
        # The floor registers the webhook afresh each time; so does a run with no record of it.
        clients["dynamodb"].delete_item(
            TableName=stack.ref("LedgerTable"), Key={"pk": {"S": f"{STATE_PREFIX}webhook"}}
        )
        event = {}
    path.write_text(json.dumps(event))
    return path


def chain_onto_the_one_before(transaction: dict[str, Any], clients: dict, stack: Any) -> None:
    """A transaction before it in the account's balance chain, as all but an account's first
    have: the processor finds its balance before reached (no chain start, no Casso sync)."""
    from dataclasses import replace

    from casso_payments.casso.payload import parse_transaction
    from casso_payments.chain.links import link_of
    from casso_payments.chain.repository import BalanceChain

    link = link_of(parse_transaction(transaction), "webhook-v1")
    if link is None or link.before is None:
        raise RuntimeError("the cold-start transaction must carry an account and a balance")
    previous = replace(link, transaction_id=link.transaction_id - 1, balance=link.before)
    BalanceChain(clients["dynamodb"], stack.ref("BalanceChainTable")).add(previous)


def orders_api_event(tid: int) -> dict[str, Any]:
    """A shop's POST /orders, as API Gateway hands it to OrdersApiFunction."""
    from local.cli.sample_events import LOCAL_SHOP_API_KEY
    from local.stack.lambda_events import rest_proxy_event

    headers = {"Authorization": f"Bearer {LOCAL_SHOP_API_KEY}", "Content-Type": "application/json"}
    body = json.dumps({"amount": 200_500, "order_code": f"DH{tid}"})
    return rest_proxy_event("POST", "/orders", headers=headers, body=body, resource="/orders")


def check(function: str, run: int, answer: Any, stack: Any, clients: dict) -> None:
    """The handler did its job: a run that failed fast must not pass for a cheap one."""
    from casso_payments.orders.model import PAID
    from casso_payments.orders.repository import Orders

    tid = transaction_id(function, run)
    if function == "ReceiverFunction":
        body = json.loads(answer.get("body") or "{}")
        ok = answer.get("statusCode") == 200 and body.get("success") is True
    elif function == "NotifierFunction":
        heard = [r for r in bench_shop().accepted() if r.body["data"]["order_code"] == f"DH{tid}"]
        ok = answer == {"batchItemFailures": []} and len(heard) == 1
    elif function == "ProcessorFunction":
        order = Orders(clients["dynamodb"], stack.ref("OrdersTable")).get(f"DH{tid}")
        ok = answer == {"batchItemFailures": []} and bool(
            order and order.status == PAID and tid in order.payments
        )
    elif function == "OrdersApiFunction":
        order = Orders(clients["dynamodb"], stack.ref("OrdersTable")).get(f"DH{tid}")
        ok = answer.get("statusCode") == 201 and order is not None
    else:
        ok = (
            answer.get("ok") is True
            and answer.get("complete") is True  # not stopped early by its time budget
            and answer["webhook"]["action"] == "created"
            and answer["webhook"]["webhook_id"] is not None
            and answer["backfill"]["missing"] == []
        )
    if not ok:
        raise RuntimeError(f"{function} run {run} did not do its job; it answered {answer}")


def order_paid(tid: int, amount: int) -> dict[str, Any]:
    """An Order Paid event as EventBridge delivers it to the notification queue."""
    detail = {
        **{"transaction_id": tid, "order_code": f"DH{tid}", "amount": amount},
        **{"expected_amount": amount, "paid_amount": amount, "remaining": 0, "status": "PAID"},
    }
    return {
        "id": f"bench-{tid}",
        "source": "casso.payments",
        "detail-type": "Order Paid",
        "time": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "detail": detail,
    }


_SHOP: list[Any] = []


def bench_shop(secret: str = "") -> Any:
    """The shop the notifier and its floor POST to (one per benchmark process)."""
    from local.stack.shop import LocalShop

    if not _SHOP:
        _SHOP.append(LocalShop(secret).start())
    elif secret:
        _SHOP[0].secret = secret  # a new local AWS, a new generated signing secret
    return _SHOP[0]


def seed_ledger(casso: CassoSimulator, clients: dict, stack: Any) -> None:
    """Casso's transactions are all in the ledger and processed: the reconciler, like its
    floor, reads them and finds nothing to backfill or sweep."""
    from casso_payments.casso.payload import parse_transaction
    from casso_payments.ledger.repository import Ledger

    now = datetime.now(UTC)
    for record in casso.transactions.values():
        transaction = parse_transaction(record)
        table = stack.ref("LedgerTable")
        Ledger(clients["dynamodb"], table).record_transaction(transaction, source="bench", now=now)
        Ledger(clients["dynamodb"], table).mark_processed(
            transaction.id, outcome="paid", order_code=None, now=now
        )


def child_env(function: str, endpoint: str, stack: Any, casso: CassoSimulator) -> dict[str, str]:
    spec = function_spec(load_template(), function)
    overrides = {
        "WEBHOOK_URL": "http://127.0.0.1:9/prod/casso/webhook",
        "CASSO_API_BASE_URL": casso.api_url,
        # The floor pays the order without asking Casso, so the handler does too: the
        # confirmation path loads the Casso client lazily, on first use
        # (docs/orders-and-payments.md).
        "CONFIRM_PAYMENTS": "none",
    }
    if function == "NotifierFunction":
        secrets = boto3.client("secretsmanager", endpoint_url=endpoint)
        value = secrets.get_secret_value(SecretId=stack.ref("NotifySecret"))["SecretString"]
        shop = bench_shop("whsec_" + json.loads(value)["signing_secret"])
        overrides |= {"NOTIFY_URL": shop.url, "NOTIFY_ALLOW_LOOPBACK": "true"}
    env = {
        "PATH": os.environ.get("PATH", ""),
        **FAKE_AWS,
        "BENCH_FUNCTION": function,
        **stack.function_environment(spec.environment, overrides),
        # After the template's variables: it declares AWS_ENDPOINT_URL empty (for SAM).
        "AWS_ENDPOINT_URL": endpoint,
    }
    # As on Lambda (tracing active): the X-Ray SDK behaves differently elsewhere.
    env.pop("POWERTOOLS_TRACE_DISABLED", None)
    env.update(
        {
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "AWS_LAMBDA_FUNCTION_NAME": function,
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            "_X_AMZN_TRACE_ID": TRACE_HEADER,
            "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
            "BENCH_TIMEOUT_MS": str(spec.timeout * 1000),
        }
    )
    return env
