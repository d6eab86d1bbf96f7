"""Receiver work per delivery: AWS calls counted against the floor (one conditional write plus
one queue send per new transaction, batched for many), and warm latency against a moto
server next to the same calls made raw with boto3."""

from __future__ import annotations

import contextlib
import gc
import io
import json
import os
import time
from collections.abc import Iterator
from typing import Any

from bench.common import (
    calls_text,
    local_aws,
    machine,
    machine_line,
    median,
    pair_ratios,
    percentile,
    ratio,
    repetitions,
    save,
    shown,
    spread,
    table,
    verdict,
)
from local.cli.sample_events import LOCAL_SECURE_TOKEN, V1_ITEM
from local.stack.handler import LocalContext, load_module
from local.stack.lambda_events import rest_proxy_event
from local.stack.template import function_spec, load_template

WARM = repetitions("BENCH_WARM")
WARM_GOAL = 1.2  # issue 13/15: warm latency at most 1.2x the same calls made raw


def event(*ids: int) -> dict[str, Any]:
    body = json.dumps({"error": 0, "data": [{**V1_ITEM, "id": i} for i in ids]})
    return rest_proxy_event(
        "POST", "/casso/webhook", headers={"Secure-Token": LOCAL_SECURE_TOKEN}, body=body
    )


def accepted(answer: dict[str, Any], what: str) -> None:
    """A delivery the receiver failed fast must not pass for a cheap one."""
    if answer["statusCode"] != 200:
        raise RuntimeError(f"{what}: the receiver answered {answer}")


class GcPauses:
    """Garbage collections that run while a labelled invocation is in progress."""

    def __init__(self) -> None:
        self._label: str | None = None
        self._started = 0.0
        self.pauses: list[tuple[str, int, float]] = []  # (label, generation, ms)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif self._label is not None:
            ms = (time.perf_counter() - self._started) * 1000
            self.pauses.append((self._label, info["generation"], ms))

    @contextlib.contextmanager
    def during(self, label: str) -> Iterator[None]:
        self._label = label
        try:
            yield
        finally:
            self._label = None

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *_: object) -> None:
        gc.callbacks.remove(self._callback)

    def summary(self, label: str) -> dict[str, Any]:
        mine = [(g, ms) for lab, g, ms in self.pauses if lab == label]
        full = [ms for g, ms in mine if g == 2]
        return {
            "full_collections": len(full),
            "longest_full_ms": round(max(full, default=0.0), 2),
            "gc_ms": round(sum(ms for _, ms in mine), 2),
        }


def main() -> dict[str, Any]:
    before = machine()
    results: dict[str, Any] = {}
    with local_aws() as (endpoint, stack, _clients, server_calls):
        spec = function_spec(load_template(), "ReceiverFunction")
        os.environ.update(
            {**stack.function_environment(spec.environment), "AWS_ENDPOINT_URL": endpoint}
        )
        quiet = io.StringIO()
        with contextlib.redirect_stdout(quiet):
            module = load_module(spec)
        deps = module.deps

        def deliver(evt: dict[str, Any]) -> dict[str, Any]:
            with contextlib.redirect_stdout(quiet):
                response = module.lambda_handler(evt, LocalContext("ReceiverFunction"))
            quiet.seek(0)
            quiet.truncate()
            return response

        deliver(event(1))  # warm: the secret is cached from here on, as after a first delivery
        cases = [
            ("new transaction", event(2), {"PutItem": 1, "SendMessageBatch": 1}),
            ("duplicate", event(2), {"PutItem": 1}),
            ("v1 batch of 25 new", event(*range(100, 125)), {"PutItem": 25, "SendMessageBatch": 3}),
        ]
        rows = []
        for name, evt, floor in cases:
            before_calls = server_calls.snapshot()  # counted where they land: none hides
            accepted(deliver(evt), name)
            calls = server_calls.since(before_calls)
            results[f"calls_{name.replace(' ', '_')}"] = {"made": calls, "floor": floor}
            rows.append(
                [name, calls_text(calls), calls_text(floor), "met" if calls == floor else "NOT MET"]
            )
        print(
            table(
                "Receiver: AWS calls per delivery (warm)",
                ["delivery", "calls made", "floor", "goal: equal"],
                rows,
            )
        )

        # Each delivery is paired with the same two calls made raw, taken back to back in
        # alternating order; the handler runs once with the set-up heap frozen (as the
        # module leaves it, gc.freeze()) and once unfrozen, to show what the freeze buys.
        handler_ms: list[float] = []
        unfrozen_ms: list[float] = []
        raw_ms: list[float] = []
        ledger, queue = stack.ref("LedgerTable"), stack.ref("TransactionQueue")

        pauses = GcPauses()

        def frozen(n: int) -> None:
            gc.freeze()
            started = time.perf_counter()
            with pauses.during("frozen"):
                answer = deliver(event(10_000 + n))
            handler_ms.append((time.perf_counter() - started) * 1000)
            accepted(answer, f"warm delivery {n}")

        def unfrozen(n: int) -> None:
            gc.unfreeze()
            started = time.perf_counter()
            with pauses.during("unfrozen"):
                answer = deliver(event(50_000 + n))
            unfrozen_ms.append((time.perf_counter() - started) * 1000)
            accepted(answer, f"warm delivery {n}, heap unfrozen")

        def raw(n: int) -> None:
            started = time.perf_counter()
            deps.ledger.table.dynamodb.put_item(
                TableName=ledger,
                Item={"pk": {"S": f"RAW#{n}"}, "raw": {"S": json.dumps(V1_ITEM)}},
                ConditionExpression="attribute_not_exists(pk)",
            )
            deps.queue.client.send_message_batch(
                QueueUrl=queue, Entries=[{"Id": "0", "MessageBody": "{}"}]
            )
            raw_ms.append((time.perf_counter() - started) * 1000)

        steps = [frozen, unfrozen, raw]
        with pauses:
            for n in range(WARM):
                for step in steps[n % 3 :] + steps[: n % 3]:
                    step(n)
        # Full collections are rare in a warm loop; when one lands, this is what it costs.
        forced = {"frozen": [], "unfrozen": []}
        for n in range(10):
            label = ("frozen", "unfrozen")[n % 2]
            (gc.freeze if label == "frozen" else gc.unfreeze)()
            started = time.perf_counter()
            gc.collect(2)
            forced[label].append((time.perf_counter() - started) * 1000)
        gc.freeze()
    ratios = pair_ratios(handler_ms, raw_ms)
    h50, r50, u50 = median(handler_ms), median(raw_ms), median(unfrozen_ms)
    h99, r99, u99 = (percentile(x, 99) for x in (handler_ms, raw_ms, unfrozen_ms))
    print(
        table(
            f"Receiver: warm latency per new transaction, {WARM} deliveries against a moto "
            "server, each paired with the same 2 calls made raw",
            ["", "handler ms", "raw boto3 (same 2 calls) ms", "ratio", "goal", "verdict"],
            [
                [
                    "per-pair ratio, median (min-max)",
                    "",
                    "",
                    shown(ratios, 2, "x"),
                    f"<= {WARM_GOAL:.2f}x",
                    verdict(median(ratios), WARM_GOAL),
                ],
                ["p50", f"{h50:.2f}", f"{r50:.2f}", ratio(h50, r50), "", ""],
                ["p99", f"{h99:.2f}", f"{r99:.2f}", ratio(h99, r99), "", ""],
                ["median (min-max)", shown(handler_ms, 1), shown(raw_ms, 1), "", "", ""],
            ],
        )
    )
    frozen_gc, unfrozen_gc = pauses.summary("frozen"), pauses.summary("unfrozen")
    print(
        table(
            "Receiver: what gc.freeze() after set-up buys (same deliveries, heap frozen or not; "
            "collections counted inside the invocations, in this process, moto included)",
            ["", "frozen", "unfrozen"],
            [
                ["latency p50 ms", f"{h50:.2f}", f"{u50:.2f}"],
                ["latency p99 ms", f"{h99:.2f}", f"{u99:.2f}"],
                ["latency max ms", f"{max(handler_ms):.2f}", f"{max(unfrozen_ms):.2f}"],
                *[
                    [name, str(frozen_gc[key]), str(unfrozen_gc[key])]
                    for key, name in (
                        ("full_collections", "full collections"),
                        ("longest_full_ms", "longest full collection ms"),
                        ("gc_ms", "all collections, ms in total"),
                    )
                ],
                [
                    "one full collection, forced, ms (median of 5)",
                    f"{median(forced['frozen']):.1f}",
                    f"{median(forced['unfrozen']):.1f}",
                ],
            ],
        )
    )
    print(machine_line(before))
    results["warm_latency_ms"] = {
        "deliveries": WARM,
        "handler": {**spread(handler_ms, 2), "p99": round(h99, 2)},
        "raw": {**spread(raw_ms, 2), "p99": round(r99, 2)},
        "handler_unfrozen_heap": {**spread(unfrozen_ms, 2), "p99": round(u99, 2)},
        "gc_inside_invocations": {"frozen": frozen_gc, "unfrozen": unfrozen_gc},
        "full_collection_ms": {k: round(median(v), 2) for k, v in forced.items()},
        "pair_ratio": spread(ratios, 3),
        "goal_ratio": WARM_GOAL,
        "verdict": verdict(median(ratios), WARM_GOAL),
    }
    save("receiver", results, before=before)
    return results


if __name__ == "__main__":
    main()
