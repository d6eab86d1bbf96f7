"""python -m ops COMMAND --stack NAME [...]: operator commands against a deployed stack.

Each command is a small function over the stack's outputs (`ops/commands/`, by topic);
`docs/operations.md` says when to use which. `python -m ops COMMAND --help` lists a
command's options.
"""

from __future__ import annotations

import argparse
import getpass
import sys

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from ops.closed_stdout import quiet_when_stdout_closes
from ops.commands import Command, Failed, Usage
from ops.commands.api_keys import cmd_api_key
from ops.commands.conflicts import cmd_conflicts
from ops.commands.notifications import cmd_notifications, cmd_notify_secret
from ops.commands.orders import cmd_order
from ops.commands.quarantine import cmd_quarantine
from ops.commands.setup import (
    cmd_env_json,
    cmd_reconcile,
    cmd_set_api_key,
    cmd_set_checksum_key,
)
from ops.commands.statement import cmd_statement
from ops.commands.transactions import (
    cmd_accept_late,
    cmd_handled,
    cmd_redrive,
    cmd_refund_late,
    cmd_replay,
    cmd_settle,
)
from ops.qr import add_qr_arguments
from ops.tools import stack_outputs

WHY = "why (recorded with the decision)"


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m ops", description=__doc__.split("\n\n")[0])
    commands = root.add_subparsers(dest="command", required=True)

    def command(name: str, run: Command, help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help)
        sub.add_argument("--stack", required=True, help="CloudFormation stack name")
        sub.set_defaults(run=run)
        return sub

    def on_transaction(name: str, run: Command, help: str) -> argparse.ArgumentParser:
        sub = command(name, run, help)
        sub.add_argument("--id", type=int, required=True, help="Casso transaction id")
        return sub

    def decided(sub: argparse.ArgumentParser, note: str, *, required: bool = False) -> None:
        sub.add_argument("--note", default="", required=required, help=note)
        sub.add_argument("--by", default=getpass.getuser(), help="who decided (default: you)")

    command("redrive", cmd_redrive, "move the dead-letter queue back to the queue")
    on_transaction("replay", cmd_replay, "process one transaction again")
    settle = on_transaction("settle", cmd_settle, "settle a transaction onto a chosen order")
    settle.add_argument("--order", required=True, help="the order code to settle it onto")
    decided(settle, WHY)
    handled = on_transaction("handled", cmd_handled, "mark a transaction handled without an order")
    decided(handled, "what was done instead", required=True)
    decided(on_transaction("accept-late", cmd_accept_late, "accept a late payment"), WHY)
    decided(on_transaction("refund-late", cmd_refund_late, "mark a late payment for refund"), WHY)
    command(
        "set-api-key", cmd_set_api_key, "set the Casso API key (asked for, unechoed, or from stdin)"
    )
    key = command("set-checksum-key", cmd_set_checksum_key, "set the V2 checksum key")
    key.add_argument("--key", help="the key (asked for, unechoed, when not given)")
    command("reconcile", cmd_reconcile, "run the reconciler now and summarise the run")
    kept = command("quarantine", cmd_quarantine, "list, release or discard quarantined deliveries")
    kept.add_argument("action", choices=["list", "release", "discard"])
    kept.add_argument("--key", help="the quarantined delivery (release, discard): from the list")
    order = command("order", cmd_order, "create an order (--amount) or show one, --qr")
    order.add_argument("--order", required=True, help="the order code, e.g. DH35")
    order.add_argument("--amount", type=int, help="expected VND: create the order")
    order.add_argument("--note", default="")
    add_qr_arguments(order)
    versions = command("conflicts", cmd_conflicts, "list conflicting versions, or settle one")
    versions.add_argument("action", choices=["list", "settle"])
    versions.add_argument("--id", type=int, help="Casso transaction id (list: only its)")
    versions.add_argument("--version", help="the version's key (settle): from the list")
    decided(versions, "what was decided, and done about the order")
    statement = command("statement", cmd_statement, "an account's daily balance statement")
    statement.add_argument("--account", required=True, help="the bank account number")
    statement.add_argument("--date", required=True, help="the day, YYYY-MM-DD (Vietnam time)")
    statement.add_argument("--days", type=int, default=1, help="days from --date (default 1)")
    statement.add_argument("--csv", action="store_true", help="CSV, one row a day")
    sent = command(
        "notifications", cmd_notifications, "the notification log; send notifications again"
    )
    sent.add_argument("action", choices=["list", "replay"])
    sent.add_argument("--order", help="list: one order's notifications")
    sent.add_argument("--failed", action="store_true", help="only those not delivered")
    sent.add_argument("--id", help="replay: one notification, by its webhook-id (msg_...)")
    sent.add_argument("--since", help="UTC ISO 8601 time: list (default: a day ago), replay")
    signing = command(
        "notify-secret", cmd_notify_secret, "show or rotate the webhooks' signing secret"
    )
    signing.add_argument("action", choices=["show", "rotate"])
    signing.add_argument("--finish", action="store_true", help="rotate: drop the previous key")
    api_key = command("api-key", cmd_api_key, "the shop's keys to the orders API")
    api_key.add_argument("action", choices=["create", "rotate", "revoke", "show"])
    api_key.add_argument("--key", help="the key to revoke")
    env_json = command("env-json", cmd_env_json, "an --env-vars file for sam local invoke")
    env_json.add_argument("--output", default="env.json", help="default env.json")
    return root


@quiet_when_stdout_closes
def main(argv: list[str] | None = None) -> int:
    cli = parser()
    args = cli.parse_args(argv)
    try:
        outputs = stack_outputs(boto3.client("cloudformation"), args.stack)
    except NoRegionError:
        return _fail(
            "no AWS region: set AWS_DEFAULT_REGION to the stack's"
            " (samconfig.toml deploys to ap-southeast-1)"
        )
    except NoCredentialsError:
        return _fail(
            "no AWS credentials: configure them for the stack's account"
            " (aws configure, or AWS_PROFILE)"
        )
    except (ClientError, BotoCoreError) as error:
        return _fail(f"stack {args.stack}: {error}")
    try:
        print(args.run(args, outputs))
    except Usage as error:
        cli.error(str(error))
    except Failed as error:
        if not error.report:
            return _fail(str(error))
        print(error.report)
        return 1
    return 0


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1
