"""The local stack end to end, through HTTP and the CLI only."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from local.cli import story
from local.stack.config import INTEGRATION_TIMEOUT_SECONDS, port_is_free
from local.stack.template import ROOT
from tests.e2e.conftest import start_stack, stop_stack

pytestmark = pytest.mark.e2e


def test_the_story_as_assertions(stack):
    for code, amount in story.ORDERS:
        stack.cli("order", "create", code, str(amount))
    code, amount = story.EXPIRING_ORDER
    seconds = story.EXPIRES_IN_SECONDS
    stack.cli("order", "create", code, str(amount), "--expires-in", str(seconds))
    expired_after = datetime.now(UTC) + timedelta(seconds=seconds)
    registered = stack.cli("reconcile")
    assert registered.stdout.splitlines()[0].startswith("webhook: created (id ")
    while datetime.now(UTC) <= expired_after:  # its transfer must find it expired
        time.sleep(0.05)
    for transfer in story.TRANSFERS:
        flags = [f"--{transfer.generation}"] if transfer.generation else []
        flags += ["--lost"] if transfer.lost else []
        stack.cli("send", str(transfer.amount), transfer.description, *flags)
    forged = stack.cli(
        "send-webhook",
        "--amount",
        "200000",
        "--description",
        "DH1234",
        "--v2",
        "--checksum-key",
        "not-the-key",
        check=False,
    )
    assert forged.returncode == 1
    assert "HTTP 401" in forged.stdout
    # The right token on a payment Casso never made: accepted, then unconfirmed.
    forged_v1 = story.FORGED_V1
    stack.cli(
        "send-webhook",
        *("--amount", str(forged_v1.amount), "--description", forged_v1.description),
        *("--id", str(story.FORGED_V1_ID)),
    )
    waited = stack.cli("wait")
    assert waited.stdout.startswith("idle: Casso has nothing left to send")
    assert len(waited.stdout.splitlines()) == 1
    backfill = stack.cli("reconcile")
    assert f"{story.EXPECTED_BACKFILLED} backfilled" in backfill.stdout.splitlines()[1]
    assert backfill.stdout.splitlines()[-1].startswith("ok")
    stack.cli("wait")

    shown = stack.show()
    orders = {o["order_code"]: (o["status"], o["paid_amount"]) for o in shown["orders"]}
    assert orders == story.EXPECTED_ORDERS
    transactions = [i for i in shown["ledger"] if i["kind"] == "transaction"]
    outcomes = {}
    for item in transactions:
        outcomes[item["outcome"]] = outcomes.get(item["outcome"], 0) + 1
    assert outcomes == story.EXPECTED_OUTCOMES
    assert sorted(i["source"] for i in transactions).count("reconcile") == story.EXPECTED_BACKFILLED
    assert shown["queues"] == {"TransactionQueue": 0, "TransactionDeadLetterQueue": 0}
    answers = stack.status()["answers"]
    assert answers.get("401") == story.EXPECTED_REJECTED
    # `order show`: the order as JSON, each applied transfer with its fields.
    order = json.loads(stack.cli("order", "show", "DH36").stdout)
    assert order["status"] == orders["DH36"][0]
    assert sum(p["amount"] for p in order["applied"].values()) == order["paid_amount"]


def transaction_described(stack, description: str) -> dict:
    (entry,) = [i for i in stack.show()["ledger"] if i.get("description") == description]
    return entry


def test_a_payment_that_came_before_its_order_is_settled_onto_it(stack):
    stack.cli("reconcile")  # the webhook exists whatever ran before
    follower = subprocess.Popen(
        [sys.executable, "-m", "local.cli", "events", "--follow"],
        cwd=ROOT,
        env=stack.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        # Amounts as the CLI prints them.
        stack.cli("send", "200,500", "DH46 thanh toan", "--v1")
        stack.cli("wait")
        early = transaction_described(stack, "DH46 thanh toan")
        assert (early["status"], early["outcome"]) == ("PROCESSED", "unmatched")
        transaction_id = early["pk"].removeprefix("TXN#")

        stack.cli("order", "create", "DH46", "200,500")
        settled = stack.cli(
            "settle", "--id", transaction_id, "--order", "DH46", "--note", "paid before ordering"
        )
        assert f"transaction {transaction_id} bound to order DH46 and queued" in settled.stdout
        stack.cli("wait")

        order = json.loads(stack.cli("order", "show", "DH46").stdout)
        assert (order["status"], order["paid_amount"]) == ("PAID", 200_500)
        assert list(order["payments"]) == [transaction_id]
        assert transaction_described(stack, "DH46 thanh toan")["outcome"] == "paid"
        again = stack.cli("settle", "--id", transaction_id, "--order", "DH46", check=False)
        assert again.returncode == 1
        assert f"transaction {transaction_id} can't be settled" in again.stderr

        # What the stack published about it: the same however often `events` is read.
        published = json.loads(stack.cli("events", "--json").stdout)
        about = [
            (e["detail-type"], e["detail"].get("order_code"))
            for e in published
            if str(e["detail"].get("transaction_id")) == transaction_id
        ]
        assert ("Payment Unmatched", None) in about
        assert ("Order Paid", "DH46") in about
        assert json.loads(stack.cli("events", "--json").stdout) == published
        table = stack.cli("events").stdout.splitlines()
        (paid,) = [row for row in table if "Order Paid" in row and transaction_id in row]
        assert paid.split()[-3:] == ["DH46", transaction_id, "200,500"]

        # `--follow` printed the same events as they came (read on a thread: a follower
        # that never prints fails the test instead of hanging it).
        rows: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [rows.put(r) for r in follower.stdout], daemon=True).start()
        followed = ""
        while not ("Order Paid" in followed and transaction_id in followed):
            followed = rows.get(timeout=120)
    finally:
        follower.send_signal(signal.SIGINT)
        follower.wait(30)
    assert follower.returncode == 0


def test_a_transfer_handled_without_an_order_is_closed_with_why(stack):
    stack.cli("reconcile")
    stack.cli("send", "75 000", "TIEN COM TRUA", "--v1")
    stack.cli("wait")
    transaction_id = transaction_described(stack, "TIEN COM TRUA")["pk"].removeprefix("TXN#")
    handled = stack.cli("handled", "--id", transaction_id, "--note", "sent back by hand")
    assert f"transaction {transaction_id} (unmatched) marked handled" in handled.stdout
    assert transaction_described(stack, "TIEN COM TRUA")["outcome"] == "handled"
    refused = stack.cli("handled", "--id", transaction_id, "--note", "twice", check=False)
    assert refused.returncode == 1
    assert "can't be marked handled" in refused.stderr


def test_a_processor_killed_mid_batch_loses_nothing_and_applies_nothing_twice(stack):
    stack.cli("processor", "pause")
    stack.cli("order", "create", "DH500", "300000")
    stack.cli("reconcile")  # the webhook exists whatever ran before
    for n in range(3):
        stack.cli("send", "100000", f"DH500 dot {n + 1}", "--v1")
    crashes_before = stack.status()["stats"]["crashes"]
    stack.cli("processor", "fault", "kill-after-order-update")
    stack.cli("processor", "resume")
    stack.cli("wait")
    assert stack.status()["stats"]["crashes"] == crashes_before + 1
    shown = stack.show()
    (order,) = [o for o in shown["orders"] if o["order_code"] == "DH500"]
    assert (order["status"], order["paid_amount"], len(order["transactions"])) == (
        "PAID",
        300_000,
        3,
    )
    paying = [i for i in shown["ledger"] if i.get("description", "").startswith("DH500")]
    assert {i["status"] for i in paying} == {"PROCESSED"}
    assert sorted(i["outcome"] for i in paying) == ["paid", "partially_paid", "partially_paid"]
    assert shown["queues"]["TransactionDeadLetterQueue"] == 0


def test_stopping_and_starting_again_is_clean(tmp_path):
    first = start_stack(tmp_path / "a")
    url = first.state()["urls"]["api"]
    first.cli("order", "create", "DH9", "1000")
    stop_stack(first)
    assert first.process.returncode == 0
    assert not (tmp_path / "a" / "stack.json").exists()
    assert all(port_is_free(port) for port in first.ports.values())
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/_local/status", timeout=2)
    again = start_stack(tmp_path / "a", first.ports)  # the same ports, straight away
    try:
        assert again.status()["stats"]["batches"] == 0
        assert again.show()["orders"] == []  # a fresh stack: nothing left over
    finally:
        stop_stack(again)
    assert again.process.returncode == 0


def test_a_taken_port_is_a_clear_error(stack, tmp_path):
    taken = stack.ports["api"]
    result = stack.cli(
        "demo", f"--api-port={taken}", "--casso-port=0", "--moto-port=0", check=False
    )
    assert result.returncode == 1
    assert f"port {taken} (api) is in use on 127.0.0.1" in result.stderr
    assert f"(held by pid {stack.process.pid}: " in result.stderr
    # The hint fits the way a newcomer starts it, make, and the CLI's own flag.
    (hint,) = [line for line in result.stderr.splitlines() if "make demo" in line]
    port = int(hint.split("LOCAL_API_PORT=")[1].split()[0])
    assert f"-m local.cli demo --api-port {port})" in hint
    assert port != taken


def test_invoking_a_sample_event_on_a_stack_with_generated_credentials_says_why_401(stack):
    result = stack.cli("invoke", "ReceiverFunction", "-e", "events/receiver-v1-valid.json")
    assert json.loads(result.stdout)["statusCode"] == 401  # stdout is only the answer
    assert "cp .env.example .env" in result.stderr


def test_invoking_the_processor_says_what_it_did_with_each_record(stack):
    result = stack.cli(
        "invoke", "ProcessorFunction", "-e", "events/processor-matched.json", check=False
    )
    assert result.returncode == 1
    assert "error: ProcessorFunction raised BatchFailed: all 1 records failed: " in result.stderr
    assert "transaction 1: not in the ledger: nothing to process" in result.stderr
    poisoned = stack.cli(
        "invoke", "ProcessorFunction", "-e", "events/processor-poisoned-batch.json", check=False
    )
    assert "message msg-poisoned: not a transaction message, failed" in poisoned.stderr
    assert "Traceback (most recent call last):\n  File" not in result.stderr.split("error:")[-1]

    stack.cli("order", "create", "DH777", "1000")
    stack.cli("reconcile")
    stack.cli("send", "1000", "DH777 thanh toan", "--v1")
    stack.cli("wait")
    (entry,) = [i for i in stack.show()["ledger"] if i.get("description") == "DH777 thanh toan"]
    transaction_id = int(entry["pk"].removeprefix("TXN#"))
    event = {
        "Records": [
            {
                "messageId": "m-1",
                "body": json.dumps({"transaction_id": transaction_id, "source": "webhook-v1"}),
                "attributes": {"ApproximateReceiveCount": "1"},
                "eventSource": "aws:sqs",
            }
        ]
    }
    path = stack.state_dir / "processor-event.json"
    path.write_text(json.dumps(event))
    # Already processed by the stack's own poller: invoking again changes nothing and says so.
    result = stack.cli("invoke", "ProcessorFunction", "-e", str(path))
    assert f"transaction {transaction_id}: PROCESSED, outcome paid, order DH777" in result.stderr


def test_env_json_for_sam_local_invoke_names_every_declared_variable_and_only_those(
    stack, template
):
    from local.stack.template import function_spec

    output = stack.state_dir / "env.json"
    stack.cli("env-json", "--host", "host.docker.internal", "--output", str(output))
    env_vars = json.loads(output.read_text())
    functions = [n for n, r in template["Resources"].items() if r["Type"].endswith("::Function")]
    assert sorted(env_vars) == sorted(functions)
    for function in functions:
        assert set(env_vars[function]) == set(function_spec(template, function).environment)
    moto_port = stack.state()["ports"]["moto"]
    for variables in env_vars.values():
        # The container reaches the local AWS by the host's name, not its own loopback.
        assert variables["AWS_ENDPOINT_URL"] == f"http://host.docker.internal:{moto_port}"
        assert "127.0.0.1" not in json.dumps(variables)


def test_the_controls_refuse_what_they_do_not_know_and_say_why(stack):
    api = stack.state()["urls"]["api"]
    unknown = requests.post(f"{api}/_local/nothing", timeout=INTEGRATION_TIMEOUT_SECONDS)
    assert (unknown.status_code, unknown.json()) == (
        404,
        {"error": "no control POST /_local/nothing"},
    )
    refused = stack.cli("webhook", "outage", "--status", "200", check=False)
    assert refused.returncode == 1
    assert "status: a 5xx is expected, got 200" in refused.stderr
