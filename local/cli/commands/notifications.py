"""`notifications`: the running stack's notification log (every attempt to tell the shop or
its staff of an order event), as `python -m ops notifications list` shows a deployed one's;
and what the local shop took in."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from typing import Any

from casso_payments.notify.log import DELIVERED, NotificationLog
from casso_payments.orders.codes import canonical_code
from local.cli.render import print_json
from local.cli.stack_client import clients, running
from ops.commands.notifications import attempts_table


def add_notifications_command(commands: Any) -> None:
    shown = commands.add_parser("notifications", help="the notification log: every attempt")
    shown.add_argument("--order", help="one order's notifications")
    shown.add_argument("--failed", action="store_true", help="only those not delivered")
    shown.add_argument("--json", action="store_true", help="each attempt whole, as JSON")
    shown.set_defaults(run=cmd_notifications)


def cmd_notifications(args: argparse.Namespace) -> int:
    state = running()
    log = NotificationLog(clients(state)["dynamodb"], state["resources"]["NotificationsTable"])
    if args.order:
        items = log.of_order(canonical_code(args.order))
    else:
        items = log.since(datetime.now(UTC) - timedelta(days=30))
    if args.failed:
        items = [i for i in items if i["outcome"] != DELIVERED]
    if args.json:
        print_json(items)
    else:
        print(attempts_table(items) if items else "  (no notifications yet)")
        print(f"\nThe local shop ({state['urls']['shop']}) verifies each with standardwebhooks.")
    return 0
