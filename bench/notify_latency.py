"""Notifications: from `Order Paid` on the bus to the shop's 2xx, on the local stack at idle
(issue 24: p99 under 1 s). One event at a time; beside it, the floor: the same event from the
same bus to a queue (the events tap) read by a bare loop polling as often as the notifier's
poller, so the difference is what the notifier adds (a function invocation, a GetItem, a
secret read, signing, the POST, the log's PutItem)."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

from bench.common import machine, machine_line, percentile, save, shown, spread, table, verdict
from local.stack.config import Credentials, Ports
from local.stack.pipeline import LocalPipeline

EVENTS = 100
P99_GOAL_MS = 1000


def order_paid(n: int) -> dict[str, Any]:
    detail = {"transaction_id": 700_000 + n, "order_code": f"DH{700_000 + n}", "paid_amount": 1}
    return {
        "Source": "casso.payments",
        "DetailType": "Order Paid",
        "Detail": json.dumps(detail),
    }


def through_the_notifier(stack: LocalPipeline) -> list[float]:
    events, bus = stack.clients["events"], stack.resources.ref("PaymentsBus")
    latencies = []
    for n in range(EVENTS):
        code = f"DH{700_000 + n}"
        started = time.perf_counter()
        events.put_events(Entries=[{**order_paid(n), "EventBusName": bus}])
        deadline = started + 30
        while time.perf_counter() < deadline:
            got = [r for r in stack.shop.accepted() if r.body["data"]["order_code"] == code]
            if got:
                latencies.append((got[0].at - started) * 1000)
                break
            time.sleep(0.002)
        else:
            raise RuntimeError(f"the shop never got {code}'s webhook")
    return latencies


def through_a_bare_poller(stack: LocalPipeline) -> list[float]:
    """The floor: bus -> rule -> queue -> a receive loop at the poller's interval."""
    events, bus = stack.clients["events"], stack.resources.ref("PaymentsBus")
    sqs, tap = stack.clients["sqs"], stack.events_tap_url
    seen: dict[str, float] = {}
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            messages = sqs.receive_message(QueueUrl=tap, MaxNumberOfMessages=10).get("Messages")
            for message in messages or []:
                seen[json.loads(message["Body"])["detail"]["order_code"]] = time.perf_counter()
                sqs.delete_message(QueueUrl=tap, ReceiptHandle=message["ReceiptHandle"])
            if not messages:
                stop.wait(stack.poll_interval)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    latencies = []
    for n in range(EVENTS, 2 * EVENTS):
        code = f"DH{700_000 + n}"
        started = time.perf_counter()
        events.put_events(Entries=[{**order_paid(n), "EventBusName": bus}])
        while code not in seen and time.perf_counter() < started + 30:
            time.sleep(0.002)
        latencies.append((seen[code] - started) * 1000)
    stop.set()
    poller.join(5)
    return latencies


def main() -> dict[str, Any]:
    before = machine()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with LocalPipeline(Ports(0, 0, 0), Credentials.from_env({}), reconcile_every=3600) as stack:
        through_the_notifier(stack)  # warm: the first invocations pay for first connections
        stack.shop.received.clear()
        notified = through_the_notifier(stack)
        floor = through_a_bare_poller(stack)
    p99, floor_p99 = percentile(notified, 99), percentile(floor, 99)
    print(
        table(
            f"Notifications: Order Paid on the bus -> the shop's 2xx, {EVENTS} events one at a "
            "time on the local stack; ms, median (min-max)",
            ["", "notifier -> shop", "floor (bus -> queue -> bare poll)", "goal", "verdict"],
            [
                ["latency", shown(notified, 1), shown(floor, 1), "", ""],
                ["p50", f"{percentile(notified, 50):.1f}", f"{percentile(floor, 50):.1f}", "", ""],
                [
                    "p99",
                    f"{p99:.1f}",
                    f"{floor_p99:.1f}",
                    f"< {P99_GOAL_MS} ms at idle",
                    verdict(p99, P99_GOAL_MS),
                ],
            ],
        )
    )
    print(machine_line(before))
    figures = {
        "events": EVENTS,
        "latency_ms": spread(notified),
        "p99_ms": round(p99, 1),
        "floor_latency_ms": spread(floor),
        "floor_p99_ms": round(floor_p99, 1),
        "goal_p99_ms": P99_GOAL_MS,
        "verdict": verdict(p99, P99_GOAL_MS),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    save("notify_latency", figures, before=before)
    return figures
