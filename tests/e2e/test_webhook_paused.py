"""Casso's whole webhook lifecycle on the local stack, through HTTP and the CLI only: the
webhook endpoint fails for a (scaled) day, Casso pauses the webhook and holds what comes
next, the reconciler backfills it and says the webhook is probably paused, the endpoint
recovers, the held events are replayed, and every transaction is settled exactly once."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import pytest
import requests

from tests.e2e.conftest import RunningStack, start_stack, stop_stack

pytestmark = pytest.mark.e2e

ORDERS = {"DH800": 100_000, "DH801": 110_000, "DH802": 120_000, "DH803": 130_000}


@pytest.fixture(scope="module")
def paused_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    # A Casso minute is 20 ms: a day of failures takes about 30 s, far longer than a slow
    # delivery on a busy machine (5 s), so only the outage pauses a webhook. A paused one
    # is never disabled here, so the test doesn't race Casso's 7 days. The reconciler calls
    # any backfill after the last delivery a paused webhook (no minimum silence).
    stack = start_stack(
        tmp_path_factory.mktemp("paused-stack"),
        extra=(
            "--casso-minute=0.02",
            "--casso-disable-after-minutes=inf",
            "--parameter=WebhookSilenceMinutes=0",
        ),
    )
    yield stack
    stop_stack(stack)


def casso(stack: RunningStack, method: str, path: str) -> object:
    state = stack.state()
    response = requests.request(
        method,
        f"{state['urls']['casso']}/_simulator/{path}",
        headers={"Authorization": f"Apikey {state['credentials']['CASSO_API_KEY']}"},
        timeout=30,
    )
    return response.json()["data"]


def until(condition: Callable[[], bool], what: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"never reached: {what}"
        time.sleep(0.2)


def send(stack: RunningStack, code: str) -> int:
    out = stack.cli("send", str(ORDERS[code]), f"{code} thanh toan").stdout
    return int(out.split()[1])  # "transaction <id> created in the Casso simulator ..."


def test_a_paused_webhook_is_backfilled_flagged_replayed_and_settles_everything_once(
    paused_stack,
):
    stack = paused_stack
    for code, amount in ORDERS.items():
        stack.cli("order", "create", code, str(amount))
    assert stack.cli("reconcile").stdout.startswith("webhook: created (id ")

    # The endpoint answers 503 until Casso has failed for a day and paused every webhook.
    stack.cli("webhook", "outage")
    first = send(stack, "DH800")
    until(
        lambda: {w["status"] for w in casso(stack, "GET", "webhooks")} == {"PAUSED"},
        "every webhook PAUSED",
    )
    # New transactions are held, not sent.
    held = [send(stack, code) for code in ("DH801", "DH802", "DH803")]
    webhooks = casso(stack, "GET", "webhooks")
    assert {tuple(w["held"]) for w in webhooks} == {(first, *held)}
    attempted = {d["transaction_id"] for d in casso(stack, "GET", "deliveries")}
    assert attempted == {first}
    assert all(not d["ok"] for d in casso(stack, "GET", "deliveries"))

    # The reconciler backfills all four and raises the paused-webhook metric.
    summary = json.loads(stack.cli("reconcile", "--json").stdout)["summary"]
    assert sorted(summary["backfill"]["missing"]) == sorted([first, *held])
    assert summary["backfill"]["backfilled"] == 4
    assert summary["backfill"]["webhook_probably_paused"] is True
    log = (stack.state_dir / "logs" / "ReconcilerFunction.log").read_text().splitlines()
    emitted = [json.loads(line) for line in log if line.startswith('{"_aws"')]
    assert emitted[-1]["WebhookProbablyPaused"] == [1.0]
    stack.cli("wait", "--timeout", "120")

    # The endpoint recovers; the held events are replayed as Casso's UI does.
    stack.cli("webhook", "recover")
    replayed = stack.cli("webhook", "replay").stdout
    assert replayed.count("held events replayed") == len(webhooks)
    stack.cli("wait", "--timeout", "120")
    webhooks = casso(stack, "GET", "webhooks")
    assert {(w["status"], tuple(w["held"])) for w in webhooks} == {("ACTIVE", ())}
    delivered = [d for d in casso(stack, "GET", "deliveries") if d["ok"]]
    assert sorted(d["transaction_id"] for d in delivered) == sorted([first, *held] * len(webhooks))

    # Every transaction settled exactly once.
    shown = stack.show()
    transactions = [i for i in shown["ledger"] if i["kind"] == "transaction"]
    assert sorted(i["pk"] for i in transactions) == sorted(f"TXN#{t}" for t in [first, *held])
    assert {(i["status"], i["source"], i["outcome"]) for i in transactions} == {
        ("PROCESSED", "reconcile", "paid")
    }
    orders = {o["order_code"]: o for o in shown["orders"]}
    settled_by = {}
    for code, amount in ORDERS.items():
        assert (orders[code]["status"], orders[code]["paid_amount"]) == ("PAID", amount)
        (settled_by[code],) = orders[code]["transactions"]
    assert sorted(settled_by.values()) == sorted([first, *held])
    assert shown["queues"] == {"TransactionQueue": 0, "TransactionDeadLetterQueue": 0}
