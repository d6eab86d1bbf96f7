"""python -m ops redrive|replay|env-json --stack NAME [...]: see docs/operations.md."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import boto3

from casso_payments.ledger import NotInLedger
from local.template import load_template, sam_env_vars
from ops.env_json import deployed_environments
from ops.tools import queues_of, redrive_by_hand, redrive_with_message_move, replay, stack_outputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops", description=__doc__)
    parser.add_argument("command", choices=["redrive", "replay", "env-json"])
    parser.add_argument("--stack", required=True, help="CloudFormation stack name")
    parser.add_argument("--id", type=int, help="transaction id (replay)")
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
        parser.error("replay needs --id")
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


if __name__ == "__main__":
    sys.exit(main())
