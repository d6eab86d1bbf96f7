"""`make demo`: the pipeline on the sample events, against local AWS, with no account.

Builds the stack's tables, queues, event bus and secret from template.yaml on in-process
moto; creates the sample orders; sends every sample webhook through ReceiverFunction's
handler; lets ProcessorFunction's handler drain the queue the way Lambda's SQS poller does;
then prints what happened: each delivery's answer, each order's state, the ledger by
outcome, the events published. Exits 0 only when every outcome is the documented one.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
from moto import mock_aws

from local.invoke import LocalContext, load_module
from local.poller import drain
from local.provision import REGION, provision, tap_events
from local.sample_events import (
    EXPECTED_ORDERS,
    EXPECTED_PROCESSING,
    EXPECTED_STATUS,
    LOCAL_CREDENTIALS,
    LOCAL_ORDERS,
    load_event,
)
from local.template import function_spec, load_template, sqs_batch_size

SERVICES = ("dynamodb", "sqs", "secretsmanager", "events")


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=False)]
    lines = [headers, ["-" * w for w in widths], *rows]
    return "\n".join(
        ("  " + "  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True))).rstrip()
        for line in lines
    )


def _vnd(amount: Any) -> str:
    return f"{int(amount):,}"


def _delivery_log(output: str) -> dict[str, Any]:
    """The receiver's one summary log line for a delivery."""
    for line in output.splitlines():
        if line.startswith("{") and json.loads(line).get("message", "").startswith("delivery "):
            return json.loads(line)
    return {}


def _ids(values: list[int] | None) -> str:
    return ",".join(map(str, values or [])) or "-"


def _drain_queue(sqs: Any, url: str) -> list[dict[str, Any]]:
    bodies = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        bodies += [json.loads(m["Body"]) for m in batch]
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)
            ],
        )
    return bodies


class Checks:
    """Expected-versus-seen, printed as it goes; the exit status at the end."""

    def __init__(self) -> None:
        self.failed: list[str] = []

    def __call__(self, ok: bool, what: str) -> str:
        if not ok:
            self.failed.append(what)
        return "ok" if ok else f"EXPECTED {what}"


def _handler(
    spec_name: str, environment: dict[str, str], output: io.StringIO
) -> Callable[..., Any]:
    spec = function_spec(load_template(), spec_name)
    os.environ.update(environment)
    with contextlib.redirect_stdout(output):  # its Logger binds to this stream
        module = load_module(spec)
    handler = getattr(module, spec.handler)

    def call(event: dict[str, Any]) -> Any:
        with contextlib.redirect_stdout(output):
            return handler(event, LocalContext(spec_name, timeout_seconds=spec.timeout))

    return call


def run(verbose: bool = False) -> int:
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ[name] = "local-demo"
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ["POWERTOOLS_TRACE_DISABLED"] = "1"
    check = Checks()
    output = io.StringIO()

    print("Casso payments demo: local AWS (in-process moto), no AWS account, no Docker\n")
    with mock_aws():
        clients = {n: boto3.client(n) for n in SERVICES}
        stack = provision(clients, secret_values={"WebhookSecret": LOCAL_CREDENTIALS})
        tap = tap_events(clients, stack)
        dynamodb, sqs = clients["dynamodb"], clients["sqs"]
        ledger_table, orders_table = stack.ref("LedgerTable"), stack.ref("OrdersTable")
        print("1. Stack from template.yaml: ledger and orders tables, queue + dead-letter queue,")
        print(f"   event bus {stack.ref('PaymentsBus')}, webhook secret with local credentials.")

        from casso_payments.ledger import from_dynamodb
        from casso_payments.orders import create_order, get_order

        now = datetime.now(UTC)
        for code, amount in LOCAL_ORDERS:
            create_order(dynamodb, orders_table, code, amount, now=now)
        print(f"2. Orders created: {', '.join(f'{c} ({_vnd(a)} VND)' for c, a in LOCAL_ORDERS)}.\n")

        receiver = _handler(
            "ReceiverFunction",
            stack.function_environment(
                function_spec(load_template(), "ReceiverFunction").environment
            ),
            output,
        )
        rows = []
        for name, expected in EXPECTED_STATUS.items():
            start = output.tell()
            response = receiver(load_event(name))
            log = _delivery_log(output.getvalue()[start:])
            rows.append(
                [
                    name.removeprefix("receiver-"),
                    response["statusCode"],
                    log.get("message", "").removeprefix("delivery "),
                    _ids(log.get("new")),
                    _ids(log.get("duplicates")),
                    log.get("reason", "")[:44],
                    check(response["statusCode"] == expected, f"{name}: {expected}"),
                ]
            )
        print("3. Casso's webhooks (events/receiver-*.json) through ReceiverFunction")
        print(_table(["delivery", "status", "outcome", "new", "dup", "reason", "check"], rows))

        processor = _handler(
            "ProcessorFunction",
            stack.function_environment(
                function_spec(load_template(), "ProcessorFunction").environment
            ),
            output,
        )
        queue_arn = stack.resolver.attributes[("TransactionQueue", "Arn")]
        polls = drain(
            sqs,
            stack.ref("TransactionQueue"),
            queue_arn,
            processor,
            batch_size=sqs_batch_size(load_template(), "ProcessorFunction"),
        )
        handled = sum(p.deleted for p in polls)
        batches = f"{len(polls)} batch" + ("es" if len(polls) != 1 else "")
        print(f"\n4. ProcessorFunction drained the queue: {handled} messages in {batches}.\n")

        rows = []
        for code, (status, paid) in EXPECTED_ORDERS.items():
            order = get_order(dynamodb, orders_table, code)
            rows.append(
                [
                    code,
                    _vnd(order.expected_amount),
                    _vnd(order.paid_amount),
                    order.status,
                    _ids(sorted(order.payments)),
                    check((order.status, order.paid_amount) == (status, paid), f"{code}: {status}"),
                ]
            )
        print("5. Orders")
        print(_table(["order", "expected", "paid", "status", "transactions", "check"], rows))

        items = [from_dynamodb(i) for i in dynamodb.scan(TableName=ledger_table)["Items"]]
        outcomes = {
            int(i["transaction_id"]): i.get("outcome") for i in items if i["kind"] == "transaction"
        }
        expected_outcomes = {
            t: o for found, _ in EXPECTED_PROCESSING.values() for t, o in found.items()
        }
        check(outcomes == expected_outcomes, f"ledger outcomes {expected_outcomes}")
        by_outcome = Counter(outcomes.values())
        quarantined = sum(i["kind"] == "quarantine" for i in items)
        print("\n6. Ledger")
        print(_table(["outcome", "transactions"], [[o, n] for o, n in sorted(by_outcome.items())]))
        print(f"  quarantined deliveries: {quarantined}")

        published = Counter(e["detail-type"] for e in _drain_queue(sqs, tap))
        print("\n7. Events published on the bus")
        print(_table(["detail-type", "count"], [[k, n] for k, n in sorted(published.items())]))
        rejected = sum(1 for s in EXPECTED_STATUS.values() if s == 401)
        dead = int(
            sqs.get_queue_attributes(
                QueueUrl=stack.ref("TransactionDeadLetterQueue"),
                AttributeNames=["ApproximateNumberOfMessages"],
            )["Attributes"]["ApproximateNumberOfMessages"]
        )
        print(f"\n8. Deliveries rejected (401): {rejected}; dead-lettered messages: {dead}")
        check(dead == 0, "no dead-lettered messages")

    if verbose:
        print("\nHandler output (structured logs and EMF metrics, as CloudWatch gets them):")
        print(output.getvalue())
    if check.failed:
        print(f"\nFAILED: {len(check.failed)} outcomes differ from the documented ones:")
        for what in check.failed:
            print(f"  expected {what}")
        return 1
    print("\nEvery outcome is the documented one. (--verbose shows the handlers' logs)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="local.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--verbose", action="store_true", help="print the handlers' log lines")
    return run(parser.parse_args(argv).verbose)


if __name__ == "__main__":
    sys.exit(main())
