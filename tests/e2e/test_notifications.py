"""The shop hears of its orders on the local stack (issue 24), through HTTP and the CLI only:
the notifier's schedule runs compressed, and a shop down twice gets its event once."""

from __future__ import annotations

import time
from typing import Any

import pytest

from local.cli.stack_client import call

pytestmark = pytest.mark.e2e

ORDER = "DH2401"  # none of the story's


def received_about(stack: Any, order: str) -> list[dict[str, Any]]:
    return [r for r in call(stack.state(), "GET", "shop")["received"] if r["order"] == order]


def test_a_shop_down_twice_gets_the_paid_event_once_under_one_webhook_id(stack):
    call(stack.state(), "POST", "shop/fail", json={"order": ORDER, "statuses": [500, 500]})
    stack.cli("order", "create", ORDER, "120000")
    stack.cli("send", "120000", f"{ORDER} thanh toan")
    stack.cli("wait")
    # The retries come seconds apart locally; bounded only so a stuck stack fails the test.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        got = received_about(stack, ORDER)
        if any(r["status"] == 200 for r in got):
            break
        time.sleep(0.2)
    assert [(r["type"], r["status"]) for r in got] == [
        ("order.paid", 500),
        ("order.paid", 500),
        ("order.paid", 200),
    ]
    assert all(r["verified"] for r in got)  # by the shop, with standardwebhooks
    assert len({r["webhook_id"] for r in got}) == 1
    shown = stack.cli("notifications", "--order", ORDER).stdout
    assert shown.count("retrying") == 2
    assert shown.count("delivered") == 1
    status = stack.status()
    assert status["credentials"]["NOTIFY_SECRET"].startswith("whsec_")
    events = stack.cli("events").stdout
    assert any("Order Paid" in line and ORDER in line for line in events.splitlines())
