"""`make demo`: the receiver on the sample events, against local AWS, with no account.

Builds the stack's table, queues and secret from template.yaml on in-process moto, loads
ReceiverFunction's handler the way Lambda does, sends it every sample event in `events/`,
then prints what each delivery was answered and what the ledger and queue hold. Exits 0 only
when every answer is the documented one.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
from typing import Any

import boto3
from moto import mock_aws

from local.invoke import LocalContext, load_module
from local.provision import REGION, provision
from local.sample_events import EXPECTED_STATUS, LOCAL_CREDENTIALS, load_event
from local.template import function_spec, load_template


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=False)]
    lines = [headers, ["-" * w for w in widths], *rows]
    return "\n".join(
        ("  " + "  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True))).rstrip()
        for line in lines
    )


def _delivery_log(output: str) -> dict[str, Any]:
    """The handler's one summary log line for a delivery."""
    for line in output.splitlines():
        if line.startswith("{") and json.loads(line).get("message", "").startswith("delivery "):
            return json.loads(line)
    return {}


def _ids(values: list[int] | None) -> str:
    return ",".join(map(str, values or [])) or "-"


def _ledger(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    from casso_payments.ledger import from_dynamodb

    items = dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]
    return sorted((from_dynamodb(i) for i in items), key=lambda i: (i["kind"], i["pk"]))


def _queue(sqs: Any, url: str) -> list[dict[str, Any]]:
    messages = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        messages += [json.loads(m["Body"]) for m in batch]
    return messages


def run(verbose: bool = False) -> int:
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ[name] = "local-demo"
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ["POWERTOOLS_TRACE_DISABLED"] = "1"

    print("Casso payments: receiver demo on local AWS (in-process moto, no AWS account)\n")
    with mock_aws():
        clients = {n: boto3.client(n) for n in ("dynamodb", "sqs", "secretsmanager", "events")}
        stack = provision(clients, secret_values={"WebhookSecret": LOCAL_CREDENTIALS})
        table, queue = stack.ref("LedgerTable"), stack.ref("TransactionQueue")
        print(f"From template.yaml: table {table}, queue {queue.rsplit('/', 1)[-1]},")
        secret = f"{stack.stack_name}-WebhookSecret"
        print(f"  dead-letter queue, and secret {secret} (local credentials).\n")

        spec = function_spec(load_template(), "ReceiverFunction")
        os.environ.update(stack.function_environment(spec.environment))
        handler_output = io.StringIO()
        rows, failures = [], 0
        with contextlib.redirect_stdout(handler_output):
            handler = getattr(load_module(spec), spec.handler)
            for name, expected in EXPECTED_STATUS.items():
                start = handler_output.tell()
                response = handler(load_event(name), LocalContext(spec.logical_id))
                log = _delivery_log(handler_output.getvalue()[start:])
                ok = response["statusCode"] == expected
                failures += not ok
                rows.append(
                    [
                        name,
                        response["statusCode"],
                        log.get("message", "").removeprefix("delivery "),
                        _ids(log.get("new")),
                        _ids(log.get("duplicates")),
                        log.get("reason", "")[:48],
                        "ok" if ok else f"EXPECTED {expected}",
                    ]
                )
        print("Deliveries (events/*.json through ReceiverFunction's handler)")
        print(_table(["event", "status", "outcome", "new", "duplicate", "reason", "check"], rows))

        items = _ledger(clients["dynamodb"], table)
        transactions = [i for i in items if i["kind"] == "transaction"]
        quarantined = [i for i in items if i["kind"] == "quarantine"]
        print(
            f"\nLedger: {len(transactions)} transactions, {len(quarantined)} quarantined delivery"
        )
        print(
            _table(
                ["key", "status", "source", "amount VND", "description"],
                [
                    [
                        i["pk"],
                        i["status"],
                        i["source"],
                        f"{int(i['amount']):,}",
                        i.get("description", ""),
                    ]
                    for i in transactions
                ],
            )
        )
        for item in quarantined:
            print(f"  {item['pk'][:24]}...  {item['status']}  reason: {item['reason']}")

        messages = _queue(clients["sqs"], queue)
        print(f"\nQueue: {len(messages)} messages waiting for the processor")
        print(
            _table(
                ["transaction_id", "source"], [[m["transaction_id"], m["source"]] for m in messages]
            )
        )

    if verbose:
        print("\nHandler output (structured logs and EMF metrics, as CloudWatch gets them):")
        print(handler_output.getvalue())
    if failures:
        print(f"\nFAILED: {failures} deliveries were not answered as documented.")
        return 1
    print(
        f"\nAll {len(rows)} deliveries answered as documented. (--verbose shows the handler's logs)"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="local.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--verbose", action="store_true", help="print the handler's log lines")
    return run(parser.parse_args(argv).verbose)


if __name__ == "__main__":
    sys.exit(main())
