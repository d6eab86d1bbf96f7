"""A 1,000-transaction v1 delivery through the receiver's handler, with every DynamoDB and
SQS call taking 10 ms (a responder in botocore's send step sleeps, then answers as AWS
would: moto spends ~10 ms of CPU per put itself, which would measure moto, not us).

Side by side, in the same run: the floor (the same 1,000 PutItem and 100 SendMessageBatch
calls made raw with boto3 on the same clients, the same number of threads at a time), the
ideal (the rounds of 10 ms that concurrency allows), and the receiver writing one at a time,
as it did before (one run). Goal: acknowledged in under 1.5 s (the receiver has 3 s)."""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from botocore.awsrequest import AWSResponse
from moto import mock_aws

from bench.common import FAKE_AWS, CallCounter, median, save, table
from casso_payments.receiver import recording
from local.cli.sample_events import LOCAL_SECURE_TOKEN, V1_ITEM
from local.stack.handler import LocalContext, load_module
from local.stack.lambda_events import rest_proxy_event
from local.stack.template import function_spec, load_template

ITEMS = 1_000
LATENCY_S = 0.010
RUNS = 5
GOAL_S = 1.5


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def slow_aws(client: Any, answers: dict[str, bytes]) -> None:
    """Every call of `client` takes LATENCY_S and gets AWS's answer for a success."""

    def respond(request: Any, **_: Any) -> AWSResponse:
        time.sleep(LATENCY_S)
        operation = request.headers["X-Amz-Target"].decode().split(".")[-1]
        return AWSResponse(request.url, 200, {}, _Body(answers[operation]))

    client.meta.events.register_first("before-send", respond)


def delivery(count: int) -> dict[str, Any]:
    body = json.dumps({"error": 0, "data": [{**V1_ITEM, "id": n} for n in range(count)]})
    return rest_proxy_event(
        "POST", "/casso/webhook", headers={"Secure-Token": LOCAL_SECURE_TOKEN}, body=body
    )


def main() -> dict[str, Any]:
    from tests.stack import Stack

    os.environ.update(FAKE_AWS)
    # In-process moto: not the moto server an earlier benchmark in this run pointed at.
    os.environ.pop("AWS_ENDPOINT_URL", None)
    quiet = io.StringIO()
    with mock_aws():
        stack = Stack.create(stack_name="bench-batch")
        spec = function_spec(load_template(), "ReceiverFunction")
        os.environ.update(stack.environment("ReceiverFunction"))
        with contextlib.redirect_stdout(quiet):
            module = load_module(spec)
            # Warm, on moto: the secret is read and cached, as after a first delivery.
            module.lambda_handler(delivery(1), LocalContext("ReceiverFunction"))
    # moto stopped: from here every DynamoDB and SQS call is answered by the responders.
    dynamodb, sqs = module.deps.ledger.table.dynamodb, module.deps.queue.client
    slow_aws(dynamodb, {"PutItem": b"{}"})
    slow_aws(sqs, {"SendMessageBatch": b'{"Successful": [], "Failed": []}'})
    counter = CallCounter(dynamodb, sqs)
    event = delivery(ITEMS)

    def acknowledge() -> float:
        started = time.perf_counter()
        with contextlib.redirect_stdout(quiet):
            response = module.lambda_handler(event, LocalContext("ReceiverFunction"))
        took = time.perf_counter() - started
        quiet.seek(0)
        quiet.truncate()
        if response["statusCode"] != 200:
            raise RuntimeError(f"the receiver answered {response['statusCode']}")
        return took

    acknowledge()  # warm: the thread pool's first use
    counter.take()
    handler_s = [acknowledge() for _ in range(RUNS)]
    calls = dict(counter.take())
    floor_calls = {"PutItem": ITEMS, "SendMessageBatch": math.ceil(ITEMS / 10)}
    if {k: v // RUNS for k, v in calls.items()} != floor_calls:
        raise RuntimeError(f"calls made {calls} differ from {RUNS} x {floor_calls}")

    ledger, queue = stack.table, stack.queue_url
    item = {"pk": {"S": "TXN#0"}, "raw": {"S": json.dumps(V1_ITEM)}}
    entries = [{"Id": str(n), "MessageBody": "{}"} for n in range(10)]

    def raw_floor() -> float:
        """The same calls, raw, on the handler's own pool: all the puts, then the sends."""
        pool = module.deps.executor
        started = time.perf_counter()
        put = {"TableName": ledger, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}
        list(pool.map(lambda _: dynamodb.put_item(**put), range(ITEMS)))
        send = {"QueueUrl": queue, "Entries": entries}
        list(pool.map(lambda _: sqs.send_message_batch(**send), range(ITEMS // 10)))
        return time.perf_counter() - started

    floor_s = [raw_floor() for _ in range(RUNS)]
    rounds = math.ceil(ITEMS / recording.WRITE_CONCURRENCY) + math.ceil(
        ITEMS / 10 / recording.WRITE_CONCURRENCY
    )
    ideal_s = rounds * LATENCY_S
    # As before: one call at a time (a pool of one thread).
    deps, concurrency = module.deps, recording.WRITE_CONCURRENCY
    module.deps, recording.WRITE_CONCURRENCY = replace(deps, executor=None), 1
    try:
        one_at_a_time_s = acknowledge()
    finally:
        module.deps, recording.WRITE_CONCURRENCY = deps, concurrency

    def row(name: str, values: list[float], note: str = "") -> list[str]:
        low, mid, high = min(values), median(values), max(values)
        return [name, f"{low:.3f}", f"{mid:.3f}", f"{high:.3f}", note]

    print(
        table(
            f"Receiver: one v1 delivery of {ITEMS:,} new transactions, every DynamoDB and SQS "
            f"call taking {LATENCY_S * 1000:.0f} ms ({RUNS} runs; seconds)",
            ["", "min", "median", "max", "note"],
            [
                row("handler, acknowledged", handler_s, f"goal < {GOAL_S} s"),
                row(
                    f"floor: same calls raw, {recording.WRITE_CONCURRENCY} at a time",
                    floor_s,
                    f"{ITEMS} PutItem + {ITEMS // 10} SendMessageBatch",
                ),
                ["ideal: rounds of 10 ms", f"{ideal_s:.3f}", "", "", f"{rounds} rounds"],
                row("handler, one call at a time (before)", [one_at_a_time_s], "1 run"),
            ],
        )
    )
    results = {
        "items": ITEMS,
        "latency_ms": LATENCY_S * 1000,
        "concurrency": recording.WRITE_CONCURRENCY,
        "handler_s": {
            "min": round(min(handler_s), 3),
            "median": round(median(handler_s), 3),
            "max": round(max(handler_s), 3),
        },
        "floor_s": {
            "min": round(min(floor_s), 3),
            "median": round(median(floor_s), 3),
            "max": round(max(floor_s), 3),
        },
        "ideal_s": round(ideal_s, 3),
        "one_at_a_time_s": round(one_at_a_time_s, 3),
        "calls_per_delivery": floor_calls,
        "goal_s": GOAL_S,
    }
    save("receiver_batch", results)
    return results


if __name__ == "__main__":
    main()
