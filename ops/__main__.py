"""python -m ops redrive|replay|settle|handled|env-json --stack NAME: see docs/operations.md."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path

import boto3

from casso_payments.bindings import CannotSettle
from casso_payments.ledger import NotInLedger
from local.template import load_template, sam_env_vars
from ops.env_json import deployed_environments
from ops.tools import (
    UnknownOrder,
    handled,
    queues_of,
    redrive_by_hand,
    redrive_with_message_move,
    replay,
    settle,
    stack_outputs,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops", description=__doc__)
    parser.add_argument("command", choices=["redrive", "replay", "settle", "handled", "env-json"])
    parser.add_argument("--stack", required=True, help="CloudFormation stack name")
    parser.add_argument("--id", type=int, help="transaction id (replay, settle, handled)")
    parser.add_argument("--order", help="order code to settle the transaction onto (settle)")
    parser.add_argument("--note", default="", help="why (settle; required for handled)")
    parser.add_argument("--by", default=getpass.getuser(), help="who decided (default: you)")
    parser.add_argument(
        "--output", default="env.json", help="where env-json writes (default env.json)"
    )
    args = parser.parse_args(argv)
    if args.command == "env-json":
        return write_env_json(args.stack, Path(args.output))

    cloudformation, sqs = boto3.client("cloudformation"), boto3.client("sqs")
    outputs = stack_outputs(cloudformation, args.stack)
    if args.command == "redrive":
        queues = queues_of(sqs, outputs)
        local = bool(os.environ.get("AWS_ENDPOINT_URL"))  # moto has no message move task
        moved = redrive_by_hand(sqs, queues) if local else redrive_with_message_move(sqs, queues)
        print(f"moved {moved} messages from the dead-letter queue back to {queues.queue_url}")
        return 0
    if args.id is None:
        parser.error(f"{args.command} needs --id")
    if args.command in ("settle", "handled"):
        return _decide(parser, args, outputs, sqs)
    try:
        message = replay(
            boto3.client("dynamodb"),
            sqs,
            table=outputs["LedgerTableName"],
            queue_url=outputs["TransactionQueueUrl"],
            transaction_id=args.id,
        )
    except NotInLedger as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"transaction {message.transaction_id} queued again (replay {message.replay})")
    return 0


def write_env_json(stack: str, output: Path) -> int:
    """The deployed functions' environments as a `sam local invoke --env-vars` file."""
    environments = deployed_environments(
        boto3.client("cloudformation"), boto3.client("lambda"), stack
    )
    try:
        env_vars = sam_env_vars(load_template(), environments)
    except KeyError as error:
        print(f"error: stack {stack} does not match template.yaml: {error}", file=sys.stderr)
        return 1
    output.write_text(json.dumps(env_vars, indent=2) + "\n")
    print(f"wrote {output}: sam local invoke <Function> -e events/<file> --env-vars {output}")
    return 0


def _decide(
    parser: argparse.ArgumentParser, args: argparse.Namespace, outputs: dict[str, str], sqs: object
) -> int:
    dynamodb = boto3.client("dynamodb")
    try:
        if args.command == "settle":
            if not args.order:
                parser.error("settle needs --order")
            message = settle(
                dynamodb,
                sqs,
                table=outputs["LedgerTableName"],
                orders_table=outputs["OrdersTableName"],
                queue_url=outputs["TransactionQueueUrl"],
                transaction_id=args.id,
                order_code=args.order,
                by=args.by,
                note=args.note,
            )
            print(
                f"transaction {args.id} bound to order {args.order} and queued"
                f" (replay {message.replay}); the processor applies it"
            )
            return 0
        if not args.note.strip():
            parser.error("handled needs --note (what was done instead)")
        was = handled(
            dynamodb,
            table=outputs["LedgerTableName"],
            transaction_id=args.id,
            by=args.by,
            note=args.note,
        )
    except (CannotSettle, UnknownOrder) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"transaction {args.id} ({was}) marked handled without an order")
    return 0


if __name__ == "__main__":
    sys.exit(main())
