"""End to end: 2,000 deliveries through the local stack's HTTP front from 8 concurrent
senders, 20% duplicates and 5% forged; throughput and acknowledgement p50/p99 next to the
same traffic answered by a bare HTTP endpoint (the floor); each hop measured in the same run
(bench.stack_probes: the front-to-receiver trip, the moto server alone, CPU per process,
the processors' first start included); then, counted from the stores: lost, applied twice,
forged accepted."""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import requests

from bench.common import (
    machine,
    machine_line,
    median,
    percentile,
    ratio,
    save,
    shown,
    spread,
    table,
    verdict,
)
from bench.stack_probes import MotoProbe, cpu_by_component, timed_front, warm_receivers
from local.casso.simulator import webhook_request
from local.stack.config import Credentials, Ports
from local.stack.http_front import HttpFront
from local.stack.pipeline import LocalPipeline

DELIVERIES = 2_000
SENDERS = 8
DUPLICATES = 0.20
FORGED = 0.05
ORDERS = 100
P99_GOAL_MS = 500  # issue 13: p99 acknowledgement under 500 ms on an otherwise idle machine


def plan(seed: int = 7) -> list[tuple[str, int]]:
    """(kind, transaction id) in sending order: genuine, duplicate (of an earlier one), forged."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible traffic mix, not a secret
    deliveries: list[tuple[str, int]] = []
    genuine: list[int] = []
    for n in range(DELIVERIES):
        roll = rng.random()
        if roll < FORGED:
            deliveries.append(("forged", 900_000 + n))
        elif roll < FORGED + DUPLICATES and genuine:
            deliveries.append(("duplicate", rng.choice(genuine)))
        else:
            genuine.append(100_000 + n)
            deliveries.append(("genuine", genuine[-1]))
    return deliveries


def amount(transaction_id: int) -> int:
    return 1_000 + transaction_id % 7


def request(transaction_id: int, token: str) -> tuple[dict[str, str], str]:
    return webhook_request(
        record(transaction_id),
        generation="v1",
        secure_token=token,
        timestamp_ms=int(time.time() * 1000),
    )


def record(transaction_id: int) -> dict[str, Any]:
    return {
        "id": transaction_id,
        "tid": f"FT{transaction_id}",
        "amount": amount(transaction_id),
        "description": f"MBVCB.{transaction_id}.DH{transaction_id % ORDERS}.CT",
        "cusum_balance": 0,
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "bankSubAccId": "88888888",
    }


def blast(
    url: str, deliveries: list[tuple[str, int]], token: str
) -> tuple[float, list[float], list[int]]:
    """Send everything from SENDERS threads; returns wall seconds, latencies (ms), statuses."""
    prepared = [
        request(tid, "forged-token" if kind == "forged" else token) for kind, tid in deliveries
    ]
    latencies: list[float] = [0.0] * len(prepared)
    statuses: list[int] = [0] * len(prepared)
    local = threading.local()

    def send(index: int) -> None:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        headers, body = prepared[index]
        started = time.perf_counter()
        statuses[index] = session.post(
            url, data=body.encode(), headers=headers, timeout=30
        ).status_code
        latencies[index] = (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=SENDERS) as pool:
        list(pool.map(send, range(len(prepared))))
    return time.perf_counter() - started, latencies, statuses


def main() -> dict[str, Any]:
    from casso_payments.aws.dynamo import from_dynamodb
    from casso_payments.orders.repository import Orders

    before = machine()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access-log line per request
    deliveries = plan()
    genuine = {tid for kind, tid in deliveries if kind == "genuine"}
    forged = {tid for kind, tid in deliveries if kind == "forged"}

    # The floor: the same traffic to an endpoint that answers at once.
    ok = {
        "statusCode": 200,
        "body": '{"success": true}',
        "headers": {"Content-Type": "application/json"},
    }
    with HttpFront(lambda event: ok) as bare:
        floor_wall, floor_ms, _ = blast(bare.url("/casso/webhook"), deliveries, "x")

    credentials = Credentials.from_env({})
    stack_options = {"reconcile_every": 3600, "processor_concurrency": 2, "tap": False}
    with LocalPipeline(Ports(0, 0, 0), credentials, **stack_options) as stack:
        dynamodb = stack.clients["dynamodb"]
        now = datetime.now(UTC)
        for k in range(ORDERS):
            Orders(dynamodb, stack.resources.ref("OrdersTable")).create(f"DH{k}", 10**9, now=now)
        # Genuine transfers are Casso's own: the processor confirms v1 ones with its API.
        stack.casso.transactions.update({tid: record(tid) for tid in genuine})
        warm_receivers(stack)
        trips = timed_front(stack)
        cpu_before = cpu_by_component(stack)
        with MotoProbe(stack) as probe:
            wall, latencies, statuses = blast(
                stack.webhook_url, deliveries, credentials.secure_token
            )
        cpu = {k: v - cpu_before[k] for k, v in cpu_by_component(stack).items()}
        processed_by = time.perf_counter()
        if not stack.wait_idle(900):
            raise RuntimeError("the stack did not finish processing within 15 minutes")
        drained = time.perf_counter() - processed_by
        items = []
        for page in dynamodb.get_paginator("scan").paginate(
            TableName=stack.resources.ref("LedgerTable")
        ):
            items += [
                from_dynamodb(i) for i in page["Items"] if i.get("kind", {}).get("S") != "probe"
            ]
        orders = []
        for page in dynamodb.get_paginator("scan").paginate(
            TableName=stack.resources.ref("OrdersTable")
        ):
            orders += [from_dynamodb(i) for i in page["Items"]]
    processed = {
        int(i["transaction_id"])
        for i in items
        if i["kind"] == "transaction" and i["status"] == "PROCESSED"
    }
    recorded = {int(i["transaction_id"]) for i in items if i["kind"] == "transaction"}
    applications = [int(t) for o in orders for t in o["payments"]]
    paid = sum(int(o["paid_amount"]) for o in orders)
    counts = {
        "lost": len(genuine - processed),
        "applied_twice": len(applications)
        - len(set(applications))
        + (paid != sum(map(amount, genuine))),
        "forged_accepted": len(forged & recorded),
    }
    h50, h99 = median(latencies), percentile(latencies, 99)
    f50, f99 = median(floor_ms), percentile(floor_ms, 99)
    cores = os.cpu_count() or 1
    print(
        table(
            f"End to end: {DELIVERIES:,} deliveries, {SENDERS} concurrent senders, "
            f"{sum(k == 'duplicate' for k, _ in deliveries)} duplicates, {len(forged)} forged; "
            f"{cores} cores",
            ["", "local stack", "floor (bare HTTP endpoint)", "ratio", "goal", "verdict"],
            [
                [
                    "throughput (deliveries/s)",
                    f"{DELIVERIES / wall:.0f}",
                    f"{DELIVERIES / floor_wall:.0f}",
                    ratio(floor_wall, wall),
                    "",
                    "",
                ],
                ["acknowledgement p50 (ms)", f"{h50:.1f}", f"{f50:.1f}", ratio(h50, f50), "", ""],
                [
                    "acknowledgement p99 (ms)",
                    f"{h99:.1f}",
                    f"{f99:.1f}",
                    ratio(h99, f99),
                    f"< {P99_GOAL_MS} ms on an idle machine",
                    verdict(h99, P99_GOAL_MS) + ("" if idle(before) else " (machine busy)"),
                ],
                [
                    "acknowledgement min-max (ms)",
                    shown(latencies, 1),
                    shown(floor_ms, 1),
                    "",
                    "",
                    "",
                ],
            ],
        )
    )
    front_ms = sorted(trips)
    print(
        table(
            "Where an acknowledgement's time goes (each hop, ms)",
            ["hop", "p50", "p99", "max"],
            [
                ["sender -> HTTP front -> answer (whole ack)", *_p(latencies)],
                ["HTTP front -> receiver process -> back (pipe, handler, moto)", *_p(front_ms)],
                ["moto alone: the receiver's 2 calls, made raw meanwhile", *_p(probe.latencies)],
                ["bare HTTP endpoint (the floor)", *_p(floor_ms)],
            ],
        )
    )
    busy = sum(cpu.values())
    print(
        table(
            f"CPU used while the traffic ran: {wall:.1f} s x {cores} cores = "
            f"{wall * cores:.1f} core-seconds available",
            ["component", "CPU s", "share of available"],
            [[name, f"{secs:.1f}", f"{secs / (wall * cores):.0%}"] for name, secs in cpu.items()]
            + [["all of the stack", f"{busy:.1f}", f"{busy / (wall * cores):.0%}"]],
        )
    )
    print(
        table(
            "Counted from the stores afterwards",
            [
                "lost",
                "applied twice",
                "forged accepted",
                "goal",
                "verdict",
                "answers",
                "queue drained after the last ack",
            ],
            [
                [
                    counts["lost"],
                    counts["applied_twice"],
                    counts["forged_accepted"],
                    "0 / 0 / 0",
                    "met" if not any(counts.values()) else "NOT MET",
                    ", ".join(f"{s}: {statuses.count(s)}" for s in sorted(set(statuses))),
                    f"{drained:.1f} s",
                ]
            ],
        )
    )
    print(machine_line(before))
    result = {
        "deliveries": DELIVERIES,
        "senders": SENDERS,
        "throughput_per_s": round(DELIVERIES / wall, 1),
        "floor_throughput_per_s": round(DELIVERIES / floor_wall, 1),
        "ack_ms": {**spread(latencies), "p99": round(h99, 1)},
        "floor_ms": {**spread(floor_ms), "p99": round(f99, 1)},
        "front_to_receiver_ms": {**spread(front_ms), "p99": round(percentile(front_ms, 99), 1)},
        "moto_probe_ms": {
            **spread(probe.latencies),
            "p99": round(percentile(probe.latencies, 99), 1),
        },
        "cpu_seconds": {k: round(v, 1) for k, v in cpu.items()},
        "ack_p99_goal_ms": P99_GOAL_MS,
        "ack_p99_verdict": verdict(h99, P99_GOAL_MS),
        **counts,
        "answers": {str(s): statuses.count(s) for s in sorted(set(statuses))},
    }
    save("end_to_end", result, before=before)
    if any(counts.values()):
        raise SystemExit(f"invariants broken: {counts}")
    return result


def _p(values: list[float]) -> list[str]:
    return [f"{median(values):.1f}", f"{percentile(values, 99):.1f}", f"{max(values):.1f}"]


def idle(before: dict[str, Any]) -> bool:
    """Idle enough to judge the p99 goal: a 1-minute load average under half the cores."""
    return before["load_average"][0] < (before["cores"] or 1) / 2


if __name__ == "__main__":
    main()
