"""python -m ops redrive|replay|set-checksum-key|reconcile --stack NAME [...]:
see docs/operations.md."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

import boto3

from casso_payments.ledger import NotInLedger
from ops.casso_setup import SetupError, describe_run, reconcile_now, set_checksum_key
from ops.tools import queues_of, redrive_by_hand, redrive_with_message_move, replay, stack_outputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops", description=__doc__)
    parser.add_argument("command", choices=["redrive", "replay", "set-checksum-key", "reconcile"])
    parser.add_argument("--stack", required=True, help="CloudFormation stack name")
    parser.add_argument("--id", type=int, help="transaction id (replay)")
    parser.add_argument(
        "--key", help="set-checksum-key: the key (asked for, unechoed, when not given)"
    )
    args = parser.parse_args(argv)

    cloudformation, sqs = boto3.client("cloudformation"), boto3.client("sqs")
    outputs = stack_outputs(cloudformation, args.stack)
    if args.command == "set-checksum-key":
        return _set_checksum_key(outputs["WebhookSecretArn"], args.key)
    if args.command == "reconcile":
        return _reconcile(outputs["ReconcilerFunctionName"])
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


def _set_checksum_key(secret_id: str, key: str | None) -> int:
    if key is None:
        # Kept out of the shell's history and the process list unless given on purpose.
        key = getpass.getpass("Casso checksum key: ") if sys.stdin.isatty() else sys.stdin.read()
    try:
        change = set_checksum_key(boto3.client("secretsmanager"), secret_id, key)
    except SetupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"checksum_key set in {change.secret_id}; the other fields are unchanged")
    if change.previous_kept:
        print("the old key is kept as checksum_key_previous: empty it once Casso's retries end")
    return 0


def _reconcile(function_name: str) -> int:
    result = reconcile_now(boto3.client("lambda"), function_name)
    if result.error:
        print(f"error: the run failed: {result.error}", file=sys.stderr)
        return 1
    for line in describe_run(result.summary):
        print(line)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
