"""`python -m local.cli webhook ...`: take the webhook endpoint down and watch Casso's side
of it (retries, PAUSED, HOLDING), then replay the held events as Casso's UI does; and the
`up` options that scale Casso's clock and set template parameters."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import requests


def _parameter(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected Name=Value, got {text!r}")
    return name, value


def add_lifecycle_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--casso-minute",
        type=float,
        default=0.05,
        help="real seconds per Casso minute in webhook retries and the pause (default 0.05)",
    )
    command.add_argument(
        "--casso-disable-after-minutes",
        type=float,
        default=None,
        help="Casso minutes a paused webhook waits before DISABLED (default Casso's 7 days)",
    )
    command.add_argument(
        "--parameter",
        type=_parameter,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a template parameter, e.g. WebhookSilenceMinutes=0 (repeatable)",
    )


def _casso(state: dict[str, Any], method: str, path: str) -> Any:
    response = requests.request(
        method,
        f"{state['urls']['casso']}/_simulator/{path}",
        headers={"Authorization": f"Apikey {state['credentials']['CASSO_API_KEY']}"},
        timeout=30,
    )
    body = response.json()
    if body.get("error"):
        raise SystemExit(f"error: {body.get('message')}")
    return body["data"]


def cmd_webhook(args: argparse.Namespace) -> int:
    from local.cli.stack_client import call, running

    state = running()
    if args.action == "outage":
        print(json.dumps(call(state, "POST", "webhook/outage", json={"status": args.status})))
    elif args.action == "recover":
        print(json.dumps(call(state, "POST", "webhook/recover")))
    elif args.action == "status":
        print(json.dumps(_casso(state, "GET", "webhooks"), indent=2))
    else:  # replay: every webhook that holds events, as Casso's UI "Replay" does
        for webhook in _casso(state, "GET", "webhooks"):
            if webhook["status"] == "DISABLED":
                print(f"webhook {webhook['id']} is DISABLED: nothing to replay", file=sys.stderr)
            elif webhook["status"] == "PAUSED" or webhook["held"]:
                replayed = _casso(state, "POST", f"webhooks/{webhook['id']}/replay")["replayed"]
                print(f"webhook {webhook['id']}: {replayed} held events replayed")
    return 0


def add_webhook_command(commands: Any) -> None:
    webhook = commands.add_parser(
        "webhook", help="the webhook endpoint down/up; Casso's webhook status; replay held events"
    )
    webhook.add_argument("action", choices=["outage", "recover", "status", "replay"])
    webhook.add_argument("--status", type=int, default=503, help="outage: the answer (default 503)")
    webhook.set_defaults(run=cmd_webhook)
