"""python -m ops COMMAND --stack NAME [...]: operator commands against a deployed stack.

Each command is a small function over the stack's outputs; `docs/operations.md` says when
to use which. `python -m ops COMMAND --help` lists a command's options.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import boto3

from casso_payments import quarantine
from casso_payments.bindings import CannotSettle
from casso_payments.intake import release
from casso_payments.ledger import NotInLedger
from local.template import load_template, sam_env_vars
from ops.casso_setup import SetupError, describe_run, reconcile_now, set_checksum_key
from ops.env_json import deployed_environments
from ops.tools import (
    UnknownOrder,
    accept_late,
    handled,
    queues_of,
    redrive_by_hand,
    redrive_with_message_move,
    replay,
    settle,
    stack_outputs,
)

Outputs = dict[str, str]


class Usage(Exception):
    """The command was asked wrongly: answered like argparse's own errors (exit 2)."""


class Failed(Exception):
    """A command could not do what was asked; the message says why. `report` is what it did
    get done, printed as a successful command's output is."""

    def __init__(self, message: str, *, report: str = "") -> None:
        super().__init__(message)
        self.report = report


def cmd_redrive(args: argparse.Namespace, outputs: Outputs) -> str:
    sqs = boto3.client("sqs")
    queues = queues_of(sqs, outputs)
    local = bool(os.environ.get("AWS_ENDPOINT_URL"))  # moto has no message move task
    moved = redrive_by_hand(sqs, queues) if local else redrive_with_message_move(sqs, queues)
    return f"moved {moved} messages from the dead-letter queue back to {queues.queue_url}"


def cmd_replay(args: argparse.Namespace, outputs: Outputs) -> str:
    try:
        message = replay(
            boto3.client("dynamodb"),
            boto3.client("sqs"),
            table=outputs["LedgerTableName"],
            queue_url=outputs["TransactionQueueUrl"],
            transaction_id=args.id,
        )
    except NotInLedger as error:
        raise Failed(str(error)) from None
    return f"transaction {message.transaction_id} queued again (replay {message.replay})"


def cmd_settle(args: argparse.Namespace, outputs: Outputs) -> str:
    try:
        message = settle(
            boto3.client("dynamodb"),
            boto3.client("sqs"),
            table=outputs["LedgerTableName"],
            orders_table=outputs["OrdersTableName"],
            queue_url=outputs["TransactionQueueUrl"],
            transaction_id=args.id,
            order_code=args.order,
            by=args.by,
            note=args.note,
        )
    except (CannotSettle, UnknownOrder) as error:
        raise Failed(str(error)) from None
    return (
        f"transaction {args.id} bound to order {args.order} and queued"
        f" (replay {message.replay}); the processor applies it"
    )


def cmd_handled(args: argparse.Namespace, outputs: Outputs) -> str:
    try:
        was = handled(
            boto3.client("dynamodb"),
            table=outputs["LedgerTableName"],
            transaction_id=args.id,
            by=args.by,
            note=args.note,
        )
    except (CannotSettle, UnknownOrder) as error:
        raise Failed(str(error)) from None
    return f"transaction {args.id} ({was}) marked handled without an order"


def cmd_accept_late(args: argparse.Namespace, outputs: Outputs) -> str:
    try:
        message = accept_late(
            boto3.client("dynamodb"),
            boto3.client("sqs"),
            table=outputs["LedgerTableName"],
            queue_url=outputs["TransactionQueueUrl"],
            transaction_id=args.id,
            by=args.by,
            note=args.note,
        )
    except CannotSettle as error:
        raise Failed(str(error)) from None
    return (
        f"late payment {args.id} accepted and queued (replay {message.replay}); the processor"
        " applies it to its order"
    )


def cmd_refund_late(args: argparse.Namespace, outputs: Outputs) -> str:
    from casso_payments import late_payments

    try:
        order = late_payments.refund(
            boto3.client("dynamodb"),
            outputs["LedgerTableName"],
            args.id,
            now=datetime.now(UTC),
            by=args.by,
            note=args.note,
        )
    except CannotSettle as error:
        raise Failed(str(error)) from None
    return (
        f"late payment {args.id} (order {order}) marked refund_due: send the money back with"
        f" the order code in the description (e.g. HOAN TIEN {order}) and it is linked"
    )


def cmd_set_checksum_key(args: argparse.Namespace, outputs: Outputs) -> str:
    key = args.key
    if key is None:
        # Kept out of the shell's history and the process list unless given on purpose.
        key = getpass.getpass("Casso checksum key: ") if sys.stdin.isatty() else sys.stdin.read()
    try:
        change = set_checksum_key(boto3.client("secretsmanager"), outputs["WebhookSecretArn"], key)
    except SetupError as error:
        raise Failed(str(error)) from None
    lines = [f"checksum_key set in {change.secret_id}; the other fields are unchanged"]
    if change.previous_kept:
        lines.append(
            "the old key is kept as checksum_key_previous: empty it once Casso's retries end"
        )
    return "\n".join(lines)


def cmd_reconcile(args: argparse.Namespace, outputs: Outputs) -> str:
    result = reconcile_now(boto3.client("lambda"), outputs["ReconcilerFunctionName"])
    if result.error:
        raise Failed(f"the run failed: {result.error}")
    summary = "\n".join(describe_run(result.summary))
    if not result.ok:
        raise Failed(summary, report=summary)
    return summary


def cmd_env_json(args: argparse.Namespace, outputs: Outputs) -> str:
    """The deployed functions' environments as a `sam local invoke --env-vars` file."""
    environments = deployed_environments(
        boto3.client("cloudformation"), boto3.client("lambda"), args.stack
    )
    try:
        env_vars = sam_env_vars(load_template(), environments)
    except KeyError as error:
        raise Failed(f"stack {args.stack} does not match template.yaml: {error}") from None
    Path(args.output).write_text(json.dumps(env_vars, indent=2) + "\n")
    return f"wrote {args.output}: sam local invoke FUNCTION -e EVENT --env-vars {args.output}"


def cmd_quarantine(args: argparse.Namespace, outputs: Outputs) -> str:
    """List the quarantined deliveries; release one through the intake; discard one."""
    dynamodb, table = boto3.client("dynamodb"), outputs["LedgerTableName"]
    if args.action == "list":
        kept = quarantine.list_quarantined(dynamodb, table)
        lines = [
            f"{d.key}  {d.received_at}  {d.generation}  {d.body_bytes} bytes  {d.reason}"
            for d in kept
        ]
        return "\n".join([*lines, f"{len(kept)} quarantined deliveries"])
    if not args.key:
        raise Usage(f"quarantine {args.action} needs --key (see `quarantine list`)")
    try:
        if args.action == "discard":
            quarantine.discard(dynamodb, table, args.key)
            return f"quarantined delivery {args.key} discarded"
        released = release(
            dynamodb,
            boto3.client("sqs"),
            table=table,
            queue_url=outputs["TransactionQueueUrl"],
            key=args.key,
            now=datetime.now(UTC),
        )
    except quarantine.NotQuarantined as error:
        raise Failed(str(error)) from None
    if released.problems:
        raise Failed(f"still not understood, kept: {released.problems}")
    return (
        f"quarantined delivery {args.key} released: new {list(released.new)}, "
        f"already recorded {list(released.duplicates)}"
    )


def cmd_order_create(args: argparse.Namespace, outputs: Outputs) -> str:
    """Create an order (with its VietQR when the stack has a payee); --qr draws the code."""
    from casso_payments.orders import OrderError, create_order, get_order
    from ops.qr import payee_from, render

    dynamodb, table = boto3.client("dynamodb"), outputs["OrdersTableName"]
    payee = payee_from(outputs)
    if args.qr and payee is None:
        raise Failed("the stack has no payee: deploy with PayeeBankBin and PayeeAccountNumber")
    if args.amount is not None:
        try:
            create_order(
                dynamodb,
                table,
                args.order,
                args.amount,
                now=datetime.now(UTC),
                note=args.note,
                payee=payee,
                pattern=outputs.get("OrderCodePattern") or None,
            )
        except OrderError as error:
            raise Failed(str(error)) from None
    order = get_order(dynamodb, table, args.order)
    if order is None:
        raise Failed(f"no order {args.order!r}: give --amount to create it")
    lines = [f"order {order.key}: {order.expected_amount:,} VND, {order.status}"]
    if order.vietqr:
        lines.append(f"VietQR: {order.vietqr}")
    if args.qr:
        if not order.vietqr:
            raise Failed(f"order {order.key} has no VietQR (created before the payee was set)")
        svg = Path(args.dir) / f"{order.key}.svg"
        lines += [render(order.vietqr, svg), f"wrote {svg}"]
    return "\n".join(lines)


Command = Callable[[argparse.Namespace, Outputs], str]


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m ops", description=__doc__.split("\n\n")[0])
    commands = root.add_subparsers(dest="command", required=True)

    def command(name: str, run: Command, help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help)
        sub.add_argument("--stack", required=True, help="CloudFormation stack name")
        sub.set_defaults(run=run)
        return sub

    def with_id(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument("--id", type=int, required=True, help="Casso transaction id")
        return sub

    def decided(sub: argparse.ArgumentParser, note: str, *, required: bool = False) -> None:
        sub.add_argument("--note", default="", required=required, help=note)
        sub.add_argument("--by", default=getpass.getuser(), help="who decided (default: you)")

    command("redrive", cmd_redrive, "move the dead-letter queue back to the queue")
    with_id(command("replay", cmd_replay, "process one transaction again"))
    settle_ = with_id(command("settle", cmd_settle, "settle a transaction onto a chosen order"))
    settle_.add_argument("--order", required=True, help="the order code to settle it onto")
    decided(settle_, "why (recorded with the decision)")
    handled_ = with_id(
        command("handled", cmd_handled, "mark a transaction handled without an order")
    )
    decided(handled_, "what was done instead", required=True)
    accept_ = with_id(command("accept-late", cmd_accept_late, "accept a late payment"))
    decided(accept_, "why (recorded with the decision)")
    refund_ = with_id(command("refund-late", cmd_refund_late, "mark a late payment for refund"))
    decided(refund_, "why (recorded with the decision)")
    key = command("set-checksum-key", cmd_set_checksum_key, "set the V2 checksum key")
    key.add_argument("--key", help="the key (asked for, unechoed, when not given)")
    command("reconcile", cmd_reconcile, "run the reconciler now and summarise the run")
    kept = command("quarantine", cmd_quarantine, "list, release or discard quarantined deliveries")
    kept.add_argument("action", choices=["list", "release", "discard"])
    kept.add_argument("--key", help="the quarantined delivery (release, discard): from the list")
    order = command("order", cmd_order_create, "create an order (--amount) or show one, --qr")
    order.add_argument("--order", required=True, help="the order code, e.g. DH35")
    order.add_argument("--amount", type=int, help="expected VND: create the order")
    order.add_argument("--note", default="")
    order.add_argument("--qr", action="store_true", help="draw its VietQR, write CODE.svg")
    order.add_argument("--dir", default=".", help="where CODE.svg goes (default: here)")
    env_json = command("env-json", cmd_env_json, "an --env-vars file for sam local invoke")
    env_json.add_argument("--output", default="env.json", help="default env.json")
    return root


def main(argv: list[str] | None = None) -> int:
    cli = parser()
    args = cli.parse_args(argv)
    outputs = stack_outputs(boto3.client("cloudformation"), args.stack)
    try:
        print(args.run(args, outputs))
    except Usage as error:
        cli.error(str(error))
    except Failed as error:
        if error.report:
            print(error.report)
        else:
            print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
