"""`python -m ops quarantine list|release|discard` against a moto server: what a person does
with a delivery the receiver kept because it could not understand it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from casso_payments.ledger.repository import body_digest
from casso_payments.receiver.intake import Delivery, receive
from local.cli.sample_events import LOCAL_SECURE_TOKEN, V1_ITEM
from local.stack.template import ROOT
from tests.helpers import drain_queue, ledger_items, transaction_ids
from tests.integration.conftest import NOW
from tests.integration.test_ops import fake_deployed_stack

pytestmark = pytest.mark.integration


def ops(endpoint: str, stack: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint}
    return subprocess.run(
        [sys.executable, "-m", "ops", "quarantine", *args, "--stack", stack],
        cwd=ROOT,
        env={**env, "PYTHONPATH": f"{ROOT / 'layers' / 'casso'}:{ROOT}"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def kinds(server_stack) -> list[str]:
    return [i["kind"] for i in ledger_items(server_stack.dynamodb, server_stack.table)]


def test_list_release_and_discard_quarantined_deliveries(server_stack):
    stack = fake_deployed_stack(server_stack)
    endpoint = server_stack.endpoint
    # Still not understood today: an amount as text.
    bad = json.dumps({"error": 0, "data": [{**V1_ITEM, "id": 8, "amount": "200500"}]})
    headers = {"Secure-Token": LOCAL_SECURE_TOKEN}
    assert receive(Delivery(headers, bad, NOW), server_stack.intake_deps()).status == 200
    # Kept by an older release that didn't understand it; today's code does.
    fixed = json.dumps({"error": 0, "data": [{**V1_ITEM, "id": 9}, {**V1_ITEM, "id": 10}]})
    server_stack.ledger.quarantine(
        body=fixed, reason="data[0].virtualAccount: unknown field", generation="v1", now=NOW
    )

    listed = ops(endpoint, stack, "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[-1] == "2 quarantined deliveries"
    assert body_digest(bad) in listed.stdout
    assert "data[0].amount: expected a whole number, got str" in listed.stdout

    # Releasing what the code still can't read changes nothing and says why.
    refused = ops(endpoint, stack, "release", "--key", body_digest(bad))
    assert refused.returncode == 1
    assert "still not understood, kept: data[0].amount" in refused.stderr
    assert kinds(server_stack) == ["quarantine", "quarantine"]

    released = ops(endpoint, stack, "release", "--key", body_digest(fixed))
    assert released.returncode == 0, released.stderr
    assert "released: new [9, 10], already recorded []" in released.stdout
    ledger = ledger_items(server_stack.dynamodb, server_stack.table)
    assert transaction_ids(ledger) == [9, 10]
    assert server_stack.ledger.get(9).source == "webhook-v1"
    queued = sorted(
        m["transaction_id"] for m in drain_queue(server_stack.sqs, server_stack.queue_url)
    )
    assert queued == [9, 10]
    # Released once: the quarantine item is gone, so a second release is an error.
    again = ops(endpoint, stack, "release", "--key", body_digest(fixed))
    assert (again.returncode, again.stderr.strip()) == (
        1,
        f"error: no quarantined delivery {body_digest(fixed)}",
    )

    discarded = ops(endpoint, stack, "discard", "--key", body_digest(bad))
    assert discarded.returncode == 0, discarded.stderr
    assert kinds(server_stack) == ["transaction", "transaction"]
    assert ops(endpoint, stack, "list").stdout.splitlines() == ["0 quarantined deliveries"]


def test_discard_never_deletes_a_transaction(server_stack):
    stack = fake_deployed_stack(server_stack)
    body = json.dumps({"error": 0, "data": [V1_ITEM]})
    headers = {"Secure-Token": LOCAL_SECURE_TOKEN}
    assert receive(Delivery(headers, body, NOW), server_stack.intake_deps()).new == (1,)
    result = ops(server_stack.endpoint, stack, "discard", "--key", "TXN#1")
    assert result.returncode == 1
    assert transaction_ids(ledger_items(server_stack.dynamodb, server_stack.table)) == [1]


def test_release_or_discard_without_a_key_says_how(server_stack):
    result = ops(server_stack.endpoint, fake_deployed_stack(server_stack), "release")
    assert result.returncode == 2
    assert "quarantine release needs --key (see `quarantine list`)" in result.stderr
