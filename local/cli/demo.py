"""`make demo`: the whole pipeline on a laptop, told as a story, checked, summarised.

Starts the local stack (local AWS on a moto server, the Casso simulator, the HTTP front,
the processor's poller, the reconciler), tells the story in `local.cli.story`, prints a summary a
person reads at a glance, stops everything, and exits 0 only when every expected outcome
happened.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from local.cli import story
from local.cli.demo_summary import Checks, summarise, vnd
from local.cli.render import scan_items
from local.stack.config import INTEGRATION_TIMEOUT_SECONDS, Credentials, Ports
from local.stack.pipeline import LocalPipeline
from local.stack.poller import drain_queue


def _step(number: int, text: str) -> None:
    print(f"{number}. {text}", flush=True)


def tell(stack: LocalPipeline, check: Checks) -> dict[str, Any]:
    """The story, step by step; returns what the summary shows."""
    from casso_payments.aws.dynamo import parse_timestamp
    from casso_payments.orders import vietqr
    from casso_payments.orders.repository import Orders
    from local.stack.event_schemas import SchemaMismatch
    from local.stack.event_schemas import check as check_event_schema

    dynamodb, sqs = stack.clients["dynamodb"], stack.clients["sqs"]
    orders_table = stack.resources.ref("OrdersTable")
    # The shop's way in: each order created through the orders API, as a shop would.
    created = [_create_order(stack, code, amount) for code, amount in story.ORDERS]
    expiring_code, expiring_amount = story.EXPIRING_ORDER
    created.append(_create_order(stack, expiring_code, expiring_amount, story.EXPIRES_IN_SECONDS))
    expires_at = parse_timestamp(created[-1]["expires_at"])
    _step(
        1,
        "Orders created through the orders API: "
        + ", ".join(f"{o['order_code']} {vnd(o['amount'])} VND" for o in created),
    )
    print(f"   {expiring_code} expires at {expires_at:%H:%M:%S} UTC. Each order's page and VietQR:")
    for order in created:
        code = order["order_code"]
        print(f"   {code:<7} {order['payment_url']}\n           {order['vietqr']}")
        fields = vietqr.parse(order["vietqr"] or "")
        check(
            (fields["amount"], fields["description"]) == (order["amount"], code),
            f"{code}'s VietQR to carry its amount and code",
        )

    first = stack.reconcile()
    action = (first.get("summary") or {}).get("webhook", {}).get("action")
    check(action == "created", "the reconciler to register the webhook")
    _step(
        2,
        f"Reconciler: webhook {action or 'NOT registered: ' + str(first.get('error'))} "
        f"at {stack.webhook_url} (v1, secure token), beside the V2 webhook set up in Casso's UI",
    )

    # DH38's transfer must find it expired: wait for the clock to pass its expiry.
    while datetime.now(UTC) <= expires_at:
        time.sleep(0.05)
    sent = []
    for transfer in story.TRANSFERS:
        record = stack.casso.add_transaction(
            transfer.amount,
            transfer.description,
            deliver=not transfer.lost,
            generation=transfer.generation,
        )
        sent.append((record["id"], transfer))
    lost = [tid for tid, transfer in sent if transfer.lost]
    _step(
        3,
        f"Casso sent {len(sent) - len(lost)} transfers as webhooks (v1 and V2, one to both); "
        f"transaction {', '.join(map(str, lost))}'s webhook was lost",
    )

    forged = _forged_webhook(stack)
    check(forged == 401, "the forged webhook to be rejected with 401")
    _step(4, f"A forged V2 webhook (wrong checksum key) was answered {forged}")
    forged_v1 = _forged_v1_webhook(stack)
    check(forged_v1 == 200, "the forged v1 webhook (right token) to be accepted")
    print(
        f"   A forged v1 webhook carrying the right token (transaction {story.FORGED_V1_ID}, "
        f"unknown to Casso, paying DH36 off) was answered {forged_v1}; it must end unconfirmed",
        flush=True,
    )

    check(stack.wait_idle(), "deliveries and processing to finish")
    second = stack.reconcile()
    backfilled = (second.get("summary") or {}).get("backfill", {}).get("backfilled")
    check(
        backfilled == story.EXPECTED_BACKFILLED,
        f"{story.EXPECTED_BACKFILLED} backfilled transaction",
    )
    _step(5, f"Reconciler again: {backfilled} missed transaction backfilled from Casso's API")
    check(stack.wait_idle(), "the backfilled transaction to be processed")
    _found_by_balance(stack, check, second, sent)
    heard = _shop_heard(stack, "DH35")
    check(heard is not None, "the shop's endpoint to get DH35's order.paid webhook, verified")
    if heard is not None:
        _step(
            6,
            f"The shop's endpoint ({stack.shop.url}) got {heard.type} for DH35 "
            f"(webhook-id {heard.webhook_id}), its signature checked with standardwebhooks",
        )

    orders = {code: Orders(dynamodb, orders_table).get(code) for code in story.EXPECTED_ORDERS}
    items = scan_items(dynamodb, stack.resources.ref("LedgerTable"))
    # The forged v1 delivery is checked here by its id too; the summary counts it with the rest.
    forgery = [i for i in items if i.get("transaction_id") == story.FORGED_V1_ID]
    check(
        [i.get("outcome") for i in forgery] == ["unconfirmed"],
        f"forged v1 transaction {story.FORGED_V1_ID} to end unconfirmed, changing no order",
    )
    transactions = [i for i in items if i["kind"] == "transaction"]
    tapped = drain_queue(sqs, stack.events_tap_url)
    mismatched = []
    for event in tapped:
        try:
            check_event_schema(event)
        except SchemaMismatch as error:
            mismatched.append(str(error))
    check(not mismatched, f"every event to match its schema ({'; '.join(mismatched)})")
    forged_events = [e["detail-type"] for e in tapped if _about(e, story.FORGED_V1_ID)]
    check(
        sorted(forged_events) == ["Payment Unconfirmed", "Transaction Received"],
        "a Payment Unconfirmed event for the forged v1 transaction",
    )
    events = Counter(e["detail-type"] for e in tapped)
    receiver_log = Path(stack.describe()["logs"]) / "ReceiverFunction.log"
    logged = Counter(
        json.loads(line).get("message", "")
        for line in receiver_log.read_text().splitlines()
        if line.startswith("{")
    )
    return {
        "duplicates": logged["delivery duplicate"],
        "retried": sum(1 for delivery in stack.casso.deliveries if delivery.attempt > 0),
        "orders": orders,
        "outcomes": Counter(i.get("outcome", "unprocessed") for i in transactions),
        "sources": Counter(i["source"] for i in transactions),
        "events": events,
        "answers": dict(stack.front.answers),
        "queues": stack.queue_depths(),
    }


def _found_by_balance(
    stack: LocalPipeline, check: Checks, second: dict[str, Any], sent: list[tuple[int, Any]]
) -> None:
    """The lost transfer broke its account's balance chain: the transfer after it was a gap
    (Casso synced, the window backfilled) until the backfilled one filled it."""
    ids = [tid for tid, _ in sent]
    after = ids[[t.lost for _, t in sent].index(True) + 1]
    record = stack.casso.transactions[after]
    gap = f"{record['bankSubAccId']}#{after}"
    found = gap in ((second.get("summary") or {}).get("gaps") or {}).get("open", [])
    third = stack.reconcile()
    filled = gap in ((third.get("summary") or {}).get("gaps") or {}).get("chained", [])
    check(found and filled, f"the lost transfer's balance gap ({gap}) found, then filled")
    before = vnd(record["cusum_balance"] - record["amount"])
    print(
        f"   Found by its balance too: transaction {after}'s balance before ({before} VND) was no"
        f" known transaction's balance after: a gap, {'filled' if filled else 'NOT filled'}"
        " once the backfilled one was processed",
        flush=True,
    )


def _shop_heard(stack: LocalPipeline, order: str) -> Any:
    """The local shop's verified order.paid for `order`, once the notifier has sent it
    (None if it never came: each attempt takes at most the shop's 10 s, the schedule less)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for received in stack.shop.accepted():
            if received.type == "order.paid" and received.body["data"]["order_code"] == order:
                return received
        time.sleep(0.1)
    return None


def _create_order(stack: LocalPipeline, code: str, amount: int, expires_in: int = 0) -> Any:
    """POST /orders on the stack's orders API with the shop's key: the created order."""
    body = {"amount": amount, "order_code": code}
    response = requests.post(
        stack.front.url("/orders"),
        json=body | ({"expires_in_seconds": expires_in} if expires_in else {}),
        headers={"Authorization": f"Bearer {stack.credentials.shop_api_key}"},
        timeout=INTEGRATION_TIMEOUT_SECONDS,
    )
    if response.status_code != 201:
        raise requests.HTTPError(f"creating {code}: {response.status_code} {response.text}")
    return response.json()


def _forged_webhook(stack: LocalPipeline) -> int:
    from local.casso.simulator import webhook_request

    record = {
        "id": 990001,
        "tid": "FT-FORGED",
        "description": "DH1234 thanh toan",
        "amount": 200_000,
        "cusum_balance": 0,
        "when": "2026-11-21 10:00:00",
        "bankSubAccId": "88888888",
    }
    headers, body = webhook_request(
        record, generation="v2", checksum_key="not-the-key", timestamp_ms=int(time.time() * 1000)
    )
    return requests.post(
        stack.webhook_url, data=body.encode(), headers=headers, timeout=INTEGRATION_TIMEOUT_SECONDS
    ).status_code


def _about(event: dict[str, Any], transaction_id: int) -> bool:
    return event["detail"].get("transaction_id") == transaction_id


def _forged_v1_webhook(stack: LocalPipeline) -> int:
    """Someone who saw the v1 secure token (a proxy log, a leaked .env) forges a payment."""
    from local.casso.simulator import webhook_request

    record = {
        "id": story.FORGED_V1_ID,
        "tid": "FT-FORGED-V1",
        "description": story.FORGED_V1.description,
        "amount": story.FORGED_V1.amount,
        "cusum_balance": 0,
        "when": "2026-11-21 10:00:00",
        "bankSubAccId": "88888888",
    }
    headers, body = webhook_request(
        record,
        generation="v1",
        secure_token=stack.credentials.secure_token,
        timestamp_ms=int(time.time() * 1000),
    )
    return requests.post(
        stack.webhook_url, data=body.encode(), headers=headers, timeout=10
    ).status_code


def run(ports: Ports, *, verbose: bool = False) -> int:
    started = time.monotonic()
    check = Checks()
    print(
        "Casso payments demo: the whole pipeline on local AWS (moto), no AWS account, no Docker\n"
    )
    # The reconciler runs when the story says so; deliveries retry on a fast Casso clock.
    print("Starting the local stack (every function imported and warm first)...", flush=True)
    with LocalPipeline(
        ports,
        Credentials.from_env(),
        reconcile_every=3600,
        minute=0.05,
        parameters=story.PAYEE,
    ) as stack:
        print(f"Ready after {time.monotonic() - started:.1f} s.\n", flush=True)
        try:
            seen = tell(stack, check)
        except requests.RequestException as error:
            print(f"\nFAILED: {type(error).__name__} talking to the local stack: {error}")
            return 1
        summarise(seen, check)
        logs = stack.describe()["logs"]
    if verbose:
        for log in sorted(Path(logs).glob("*.log")):
            print(f"\n--- {log.name}\n{log.read_text()}")
    elapsed = time.monotonic() - started
    if check.failed:
        print(
            f"\nFAILED after {elapsed:.1f} s: {len(check.failed)} outcomes differ from the story:"
        )
        for what in check.failed:
            print(f"  expected {what}")
        return 1
    print(f"\nEvery outcome is the expected one ({elapsed:.1f} s). Functions' logs: {logs}/")
    return 0
