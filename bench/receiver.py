"""Receiver work per delivery: AWS calls counted against the floor (one conditional write plus
one queue send per new transaction, batched for many), and warm latency against a moto
server next to the same calls made raw with boto3."""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
from typing import Any

from bench.common import CallCounter, local_aws, median, percentile, ratio, save, table
from local.invoke import LocalContext, load_module
from local.lambda_events import rest_proxy_event
from local.sample_events import LOCAL_SECURE_TOKEN, V1_ITEM
from local.template import function_spec, load_template

WARM = 300


def event(*ids: int) -> dict[str, Any]:
    body = json.dumps({"error": 0, "data": [{**V1_ITEM, "id": i} for i in ids]})
    return rest_proxy_event(
        "POST", "/casso/webhook", headers={"Secure-Token": LOCAL_SECURE_TOKEN}, body=body
    )


def main() -> dict[str, Any]:
    results: dict[str, Any] = {}
    with local_aws() as (endpoint, stack, _clients):
        spec = function_spec(load_template(), "ReceiverFunction")
        os.environ.update(
            {**stack.function_environment(spec.environment), "AWS_ENDPOINT_URL": endpoint}
        )
        quiet = io.StringIO()
        with contextlib.redirect_stdout(quiet):
            module = load_module(spec)
        deps = module.deps
        counter = CallCounter(deps.dynamodb, deps.sqs, deps.credentials._provider.client)

        def deliver(evt: dict[str, Any]) -> dict[str, Any]:
            with contextlib.redirect_stdout(quiet):
                response = module.lambda_handler(evt, LocalContext("ReceiverFunction"))
            quiet.seek(0)
            quiet.truncate()
            return response

        deliver(event(1))  # warm: the secret is cached from here on, as after a first delivery
        counter.take()
        cases = [
            ("new transaction", event(2), {"PutItem": 1, "SendMessageBatch": 1}),
            ("duplicate", event(2), {"PutItem": 1}),
            ("v1 batch of 25 new", event(*range(100, 125)), {"PutItem": 25, "SendMessageBatch": 3}),
        ]
        rows = []
        for name, evt, floor in cases:
            if deliver(evt)["statusCode"] != 200:
                raise RuntimeError(f"{name}: the receiver did not accept the delivery")
            calls = dict(counter.take())
            results[f"calls_{name.replace(' ', '_')}"] = {"made": calls, "floor": floor}
            rows.append([name, _calls(calls), _calls(floor), "yes" if calls == floor else "NO"])
        print(
            table(
                "Receiver: AWS calls per delivery (warm)",
                ["delivery", "calls made", "floor", "equal"],
                rows,
            )
        )

        handler_ms, raw_ms = [], []
        ledger, queue = stack.ref("LedgerTable"), stack.ref("TransactionQueue")
        for n in range(WARM):
            started = time.perf_counter()
            deliver(event(10_000 + n))
            handler_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            deps.dynamodb.put_item(
                TableName=ledger,
                Item={"pk": {"S": f"RAW#{n}"}, "raw": {"S": json.dumps(V1_ITEM)}},
                ConditionExpression="attribute_not_exists(pk)",
            )
            deps.sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": "0", "MessageBody": "{}"}])
            raw_ms.append((time.perf_counter() - started) * 1000)
    h50, r50 = median(handler_ms), median(raw_ms)
    h99, r99 = percentile(handler_ms, 99), percentile(raw_ms, 99)
    print(
        table(
            f"Receiver: warm latency per new transaction, {WARM} deliveries against a moto server",
            ["", "handler ms", "raw boto3 (same 2 calls) ms", "ratio", "goal"],
            [
                ["p50", f"{h50:.2f}", f"{r50:.2f}", ratio(h50, r50), "<= 1.30x"],
                ["p99", f"{h99:.2f}", f"{r99:.2f}", ratio(h99, r99), ""],
            ],
        )
    )
    results["warm_latency_ms"] = {
        "deliveries": WARM,
        "handler_p50": round(h50, 2),
        "raw_p50": round(r50, 2),
        "handler_p99": round(h99, 2),
        "raw_p99": round(r99, 2),
        "ratio_p50": round(h50 / r50, 2),
    }
    save("receiver", results)
    return results


def _calls(calls: dict[str, int]) -> str:
    return ", ".join(f"{n} {op}" for op, n in sorted(calls.items())) or "none"


if __name__ == "__main__":
    main()
