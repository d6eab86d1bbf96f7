"""The Casso simulator's webhook sender, delivering to the real receiver through the HTTP front."""

from __future__ import annotations

import itertools
import json
import math
import time

import pytest
import requests

from casso_payments.casso.delivery import RETRY_DELAYS_MINUTES
from local.casso.simulator import CassoSimulator, fibonacci_minutes
from local.cli.sample_events import LOCAL_CREDENTIALS, LOCAL_SECURE_TOKEN, WEBHOOK_PATH
from local.stack.handler import LocalContext
from local.stack.http_front import HttpFront

pytestmark = pytest.mark.integration


@pytest.fixture
def front(receiver):
    with HttpFront(
        lambda event: receiver.lambda_handler(event, LocalContext("ReceiverFunction"))
    ) as http:
        yield http


class Scripted:
    """A webhook endpoint answering from a script, then 200 success; records what it got."""

    def __init__(self, *answers: tuple[int, dict]) -> None:
        self.answers = list(answers)
        self.requests: list[dict] = []

    def __call__(self, event: dict) -> dict:
        self.requests.append(event)
        status, body = self.answers.pop(0) if self.answers else (200, {"success": True})
        return {"statusCode": status, "body": json.dumps(body), "headers": {}}


def test_casso_retry_schedule_is_17_fibonacci_waits_from_one_minute():
    # The reading docs/casso.md states: 17 retries, Fibonacci from 1 minute (~70 h, not 12 h).
    delays = fibonacci_minutes()
    assert delays == list(RETRY_DELAYS_MINUTES)
    assert len(delays) == 17
    assert delays[:8] == [1, 1, 2, 3, 5, 8, 13, 21]
    assert all(c == a + b for a, b, c in zip(delays, delays[1:], delays[2:], strict=False))


def test_v1_delivery_lands_in_the_ledger(casso, front, server_stack):
    casso.add_webhook(front.url(WEBHOOK_PATH), secure_token=LOCAL_SECURE_TOKEN)
    record = casso.add_transaction(150_000, "DH1234 thanh toan")
    assert casso.wait_for_deliveries()
    assert [d.ok for d in casso.deliveries] == [True]
    entry = server_stack.ledger.get(record["id"])
    assert (entry.source, entry.transaction.amount) == ("webhook-v1", 150_000)


def test_v2_delivery_with_vietnamese_text_is_verified(casso, front, server_stack):
    casso.add_webhook(
        front.url(WEBHOOK_PATH), generation="v2", checksum_key=LOCAL_CREDENTIALS["checksum_key"]
    )
    record = casso.add_transaction(99_000, "Thanh toán đơn hàng ĐH77 - Nguyễn Thị Hồng")
    assert casso.wait_for_deliveries()
    assert [d.status for d in casso.deliveries] == [200]
    entry = server_stack.ledger.get(record["id"])
    assert entry.source == "webhook-v2"
    assert entry.transaction.description == "Thanh toán đơn hàng ĐH77 - Nguyễn Thị Hồng"


def test_wrong_token_is_retried_17_times_then_given_up_as_casso_would(front):
    # Pausing stretched out of the way, to see the whole retry schedule of one event.
    with CassoSimulator(api_key="k", minute=0.0005, pause_after_minutes=math.inf) as casso:
        casso.add_webhook(front.url(WEBHOOK_PATH), secure_token="not-the-token")
        casso.add_transaction(1000, "x")
        assert casso.wait_for_deliveries(timeout=60)
        (status,) = casso.webhook_statuses()
    assert [d.status for d in casso.deliveries] == [401] * 18
    assert [d.attempt for d in casso.deliveries] == list(range(18))
    assert (status["status"], status["held"]) == ("ACTIVE", [])


def test_failures_are_retried_until_success_with_the_schedule():
    endpoint = Scripted((500, {}), (200, {"success": False}))  # strict mode: false is a failure
    with CassoSimulator(api_key="k", minute=0.05) as casso, HttpFront(endpoint) as http:
        casso.add_webhook(http.url("/hook"), secure_token="t")
        casso.add_transaction(1000, "x")
        assert casso.wait_for_deliveries()
        attempts = casso.deliveries
    assert [(d.attempt, d.status, d.ok) for d in attempts] == [
        (0, 500, False),
        (1, 200, False),
        (2, 200, True),
    ]
    gaps = [b.at - a.at for a, b in itertools.pairwise(attempts)]
    assert all(gap >= 0.05 for gap in gaps)  # one Casso minute each


def test_lost_delivery_is_never_sent_and_income_only_skips_money_out():
    endpoint = Scripted()
    with CassoSimulator(api_key="k") as casso, HttpFront(endpoint) as http:
        casso.add_webhook(http.url("/income"), secure_token="t", income_only=True)
        everything = casso.add_webhook(http.url("/all"), secure_token="t", income_only=False)
        casso.add_transaction(1000, "lost", deliver=False)
        money_out = casso.add_transaction(-500, "money out")
        assert casso.wait_for_deliveries()
    assert [(d.webhook_id, d.transaction_id) for d in casso.deliveries] == [
        (everything.id, money_out["id"])
    ]
    assert [json.loads(r["body"])["data"][0]["amount"] for r in endpoint.requests] == [-500]


def test_simulator_controls_over_http(casso):
    endpoint = Scripted()
    with HttpFront(endpoint) as http:
        session = requests.Session()
        session.headers["Authorization"] = f"Apikey {casso.api_key}"
        hook = session.post(
            f"{casso.base_url}/_simulator/webhooks",
            json={"webhook": http.url("/hook"), "generation": "v2", "checksum_key": "ck"},
        ).json()["data"]
        assert hook["generation"] == "v2"
        made = session.post(
            f"{casso.base_url}/_simulator/transactions",
            json={"amount": 150000, "description": "DH1"},
        ).json()["data"]
        assert casso.wait_for_deliveries()
        bad = session.post(f"{casso.base_url}/_simulator/transactions", json={"amount": "lots"})
        deliveries = session.get(f"{casso.base_url}/_simulator/deliveries").json()["data"]
    assert (bad.status_code, bad.json()["message"]) == (
        400,
        "amount: a non-zero whole number of VND is required",
    )
    assert [(d["transaction_id"], d["ok"]) for d in deliveries] == [(made["id"], True)]
    assert json.loads(endpoint.requests[0]["body"])["data"]["id"] == made["id"]
    assert "X-Casso-Signature" in endpoint.requests[0]["headers"]


def test_simulator_controls_need_the_api_key(casso):
    response = requests.post(
        f"{casso.base_url}/_simulator/transactions", json={"amount": 1}, timeout=5
    )
    assert response.status_code == 401


# The webhook lifecycle: PAUSED, HOLDING, replay, DISABLED (time-scaled)


def until(condition, timeout: float = 60.0) -> None:
    """Poll for a state the simulator reaches on its scaled clock."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the state was never reached"
        time.sleep(0.02)


def status_of(casso, webhook_id: int) -> dict:
    return next(w for w in casso.webhook_statuses() if w["id"] == webhook_id)


class Switchable:
    """A webhook endpoint that answers 503 until switched on; records what it got."""

    def __init__(self) -> None:
        self.up = False
        self.requests: list[dict] = []

    def __call__(self, event: dict) -> dict:
        self.requests.append(event)
        if not self.up:
            return {"statusCode": 503, "body": "down", "headers": {}}
        return {"statusCode": 200, "body": json.dumps({"success": True}), "headers": {}}

    def ids(self) -> list[int]:
        return [json.loads(r["body"])["data"]["id"] for r in self.requests]


def test_a_day_of_failures_pauses_the_webhook_holds_new_events_and_replay_sends_them_once():
    endpoint = Switchable()
    with CassoSimulator(api_key="k", minute=0.001) as casso, HttpFront(endpoint) as http:
        hook = casso.add_webhook(http.url("/hook"), generation="v2", checksum_key="ck")
        first = casso.add_transaction(1000, "first")
        until(lambda: status_of(casso, hook.id)["status"] == "PAUSED")
        held = [casso.add_transaction(2000 + n, f"held {n}") for n in range(2)]
        assert casso.wait_for_deliveries()
        sent_while_paused = list(endpoint.requests)
        assert status_of(casso, hook.id)["held"] == [first["id"], *(h["id"] for h in held)]
        endpoint.up = True
        answer = requests.post(
            f"{casso.base_url}/_simulator/webhooks/{hook.id}/replay",
            headers={"Authorization": "Apikey k"},
            timeout=10,
        ).json()
        assert answer["data"] == {"webhook_id": hook.id, "replayed": 3}
        assert casso.wait_for_deliveries()
        after = status_of(casso, hook.id)
    # Paused: the held transactions were never attempted until the replay.
    assert {json.loads(r["body"])["data"]["id"] for r in sent_while_paused} == {first["id"]}
    assert (after["status"], after["held"]) == ("ACTIVE", [])
    succeeded = [d.transaction_id for d in casso.deliveries if d.ok]
    assert sorted(succeeded) == sorted([first["id"], *(h["id"] for h in held)])
    # One signature per event: every retry and the replay carry the first attempt's.
    signatures = {
        r["headers"]["X-Casso-Signature"]
        for r in endpoint.requests
        if json.loads(r["body"])["data"]["id"] == first["id"]
    }
    assert len(signatures) == 1


def test_a_webhook_paused_for_seven_days_is_disabled_and_its_held_events_are_gone():
    endpoint = Switchable()
    with CassoSimulator(api_key="k", minute=0.0002) as casso, HttpFront(endpoint) as http:
        hook = casso.add_webhook(http.url("/hook"), secure_token="t")
        casso.add_transaction(1000, "first")
        until(lambda: status_of(casso, hook.id)["status"] == "PAUSED")
        casso.add_transaction(2000, "held, then lost")
        until(lambda: status_of(casso, hook.id)["status"] == "DISABLED")
        endpoint.up = True
        refused = requests.post(
            f"{casso.base_url}/_simulator/webhooks/{hook.id}/replay",
            headers={"Authorization": "Apikey k"},
            timeout=10,
        )
        attempts_before = len(endpoint.requests)
        casso.add_transaction(3000, "after disabling")
        assert casso.wait_for_deliveries()
        final = status_of(casso, hook.id)
    assert refused.status_code == 409
    assert "can no longer be replayed" in refused.json()["message"]
    assert final["held"] == []
    assert len(endpoint.requests) == attempts_before  # a disabled webhook sends nothing
    assert not any(d.ok for d in casso.deliveries)
