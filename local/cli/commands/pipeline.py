"""Commands that work with a running stack's pipeline: orders, transfers in the Casso
simulator, signed webhooks, what the tables and queues hold, the reconciler, the processor."""

from __future__ import annotations

import argparse
import math
import sys
from datetime import UTC, datetime
from typing import Any

import requests

from casso_payments.casso import client as casso_client
from local.cli.render import SHOWN_ROWS, print_json, show_tables, shown_state
from local.cli.stack_client import call, clients, command, running
from local.stack.config import INTEGRATION_TIMEOUT_SECONDS


def cmd_order(args: argparse.Namespace) -> int:
    from casso_payments.orders.repository import Orders
    from ops.qr import payee_from, show_qr

    state = running()
    dynamodb = clients(state)["dynamodb"]
    table = state["resources"]["OrdersTable"]
    if args.action == "create":
        if args.qr and payee_from(state.get("parameters", {})) is None:
            # Refused before the order exists: nothing half done to clean up.
            print(
                "error: --qr: this stack has no payee, so an order has no VietQR to draw; "
                "nothing was created. Start the stack with one: "
                + command("up --parameter PayeeBankBin=970436 --parameter PayeeAccountNumber=...")
                + ", or leave out --qr",
                file=sys.stderr,
            )
            return 2
        created = create_order(
            state, args.code, args.amount, note=args.note, expires_in=args.expires_in
        )
        if "order_code" not in created:
            print(f"error: {created.get('detail') or created}", file=sys.stderr)
            return 1
        amount, status = created["amount"], created["status"]
        print(f"order {created['order_code']} created: {amount:,} VND, {status}")
        print(f"payment page: {created['payment_url']}")
        order = Orders(dynamodb, table).get(created["order_code"])
        if args.qr and order is not None:
            return show_qr(order, args.dir)
        return 0
    order = Orders(dynamodb, table).get(args.code)
    if order is None:
        print(f"no order {args.code}", file=sys.stderr)
        return 1
    print_json(order.__dict__)
    return 0


def create_order(
    state: dict[str, Any], code: str, amount: int, *, note: str = "", expires_in: float = 0
) -> dict[str, Any]:
    """POST /orders on the running stack's orders API, as a shop would: the created order,
    or the problem+json saying why not."""
    body: dict[str, Any] = {"amount": amount, "order_code": code}
    body |= {"description": note} if note else {}
    body |= {"expires_in_seconds": math.ceil(expires_in)} if expires_in else {}
    response = requests.post(
        state["urls"]["orders_api"],
        json=body,
        headers={"Authorization": f"Bearer {state['credentials']['SHOP_API_KEY']}"},
        timeout=INTEGRATION_TIMEOUT_SECONDS,
    )
    answer: dict[str, Any] = response.json()
    return answer


def cmd_send(args: argparse.Namespace) -> int:
    state = running()
    response = requests.post(
        f"{state['urls']['casso']}/_simulator/transactions",
        headers={"Authorization": f"Apikey {state['credentials']['CASSO_API_KEY']}"},
        json={
            "amount": args.amount,
            "description": args.description,
            "deliver": not args.lost,
            "generation": args.generation,
            **({"account": args.account} if args.account else {}),
        },
        # The simulator's API answers as Casso's does: give it what the Casso client gives.
        timeout=casso_client.TIMEOUTS,
    )
    body = response.json()
    if body.get("error"):
        print(f"error: {body.get('message')}", file=sys.stderr)
        return 1
    record = body["data"]
    how = "its webhook was lost on purpose" if args.lost else "its webhook is on its way"
    amount = f"{record['amount']:,} VND"
    print(f"transaction {record['id']} created in the Casso simulator ({amount}); {how}")
    return 0


def cmd_send_webhook(args: argparse.Namespace) -> int:
    """A correctly signed Casso webhook to any URL, a deployed API Gateway included."""
    from local.casso.simulator import webhook_request

    state = None if args.url and (args.token or args.checksum_key) else running()
    url = args.url or state["urls"]["webhook"]
    generation = "v2" if args.v2 else "v1"
    secret = args.checksum_key if args.v2 else args.token
    if not secret:
        name = "CASSO_CHECKSUM_KEY" if args.v2 else "CASSO_SECURE_TOKEN"
        secret = state["credentials"][name] if state else ""
    now = datetime.now(UTC)
    transaction_id = args.id or int(now.timestamp() * 1000) % 10**9
    record = {
        "id": transaction_id,
        "tid": f"FT{transaction_id}",
        "description": args.description,
        "amount": args.amount,
        "cusum_balance": 0,
        "when": now.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
        "bankSubAccId": args.account,
    }
    headers, body = webhook_request(
        record,
        generation=generation,
        secure_token=secret,
        checksum_key=secret,
        timestamp_ms=int(now.timestamp() * 1000),
    )
    response = requests.post(
        url, data=body.encode(), headers=headers, timeout=INTEGRATION_TIMEOUT_SECONDS
    )
    print(f"{generation} webhook for transaction {transaction_id} -> {url}")
    print(f"HTTP {response.status_code} {response.text}")
    return 0 if response.status_code == 200 else 1


def cmd_show(args: argparse.Namespace) -> int:
    state = running()
    shown = shown_state(clients(state), state["resources"])
    if args.json:
        print_json(shown)
    else:
        show_tables(shown, rows=None if args.all else SHOWN_ROWS)
    return 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    from ops.casso_setup import describe_run

    state = running()
    result = call(
        state, "POST", "reconcile", waits=state["function_timeouts"]["ReconcilerFunction"]
    )
    if args.json:
        print_json(result)
    elif result["ok"]:
        print("\n".join(describe_run(result["summary"])))
        print(f"ok (the whole report: `{command('reconcile --json')}`)")
    else:
        print(f"error: the reconciler's run failed: {result.get('error')}", file=sys.stderr)
    return 0 if result["ok"] else 1


def cmd_processor(args: argparse.Namespace) -> int:
    state = running()
    if args.action == "fault":
        print_json(call(state, "POST", "processor/fault", json={"fault": args.fault}))
    else:
        print_json(call(state, "POST", f"processor/{args.action}"))
    return 0
