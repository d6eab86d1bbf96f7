"""python -m ops redrive|replay|quarantine --stack NAME [...]: see docs/operations.md.

redrive                              the dead-letter queue back to the queue
replay --id ID                       process one transaction again
quarantine list                      the quarantined deliveries, oldest first
quarantine release --key KEY         replay one through the intake (once the code is fixed)
quarantine discard --key KEY         delete one
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from typing import Any

import boto3

from casso_payments import quarantine
from casso_payments.intake import release
from casso_payments.ledger import NotInLedger
from ops.tools import queues_of, redrive_by_hand, redrive_with_message_move, replay, stack_outputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("command", choices=["redrive", "replay", "quarantine"])
    parser.add_argument("action", nargs="?", choices=["list", "release", "discard"])
    parser.add_argument("--stack", required=True, help="CloudFormation stack name")
    parser.add_argument("--id", type=int, help="transaction id (replay)")
    parser.add_argument("--key", help="quarantined delivery (release, discard): from the list")
    args = parser.parse_args(argv)

    cloudformation, sqs = boto3.client("cloudformation"), boto3.client("sqs")
    outputs = stack_outputs(cloudformation, args.stack)
    if args.command == "quarantine":
        if args.action is None or (args.action != "list" and not args.key):
            parser.error("quarantine needs list, or release/discard with --key")
        return quarantine_command(
            args.action, args.key or "", boto3.client("dynamodb"), sqs, outputs
        )
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


def quarantine_command(
    action: str, key: str, dynamodb: Any, sqs: Any, outputs: dict[str, str]
) -> int:
    table = outputs["LedgerTableName"]
    if action == "list":
        kept = quarantine.list_quarantined(dynamodb, table)
        for delivery in kept:
            print(
                f"{delivery.key}  {delivery.received_at}  {delivery.generation}  "
                f"{delivery.body_bytes} bytes  {delivery.reason}"
            )
        print(f"{len(kept)} quarantined deliveries")
        return 0
    try:
        if action == "discard":
            quarantine.discard(dynamodb, table, key)
            print(f"quarantined delivery {key} discarded")
            return 0
        released = release(
            dynamodb,
            sqs,
            table=table,
            queue_url=outputs["TransactionQueueUrl"],
            key=key,
            now=datetime.now(UTC),
        )
    except quarantine.NotQuarantined as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if released.problems:
        print(f"error: still not understood, kept: {released.problems}", file=sys.stderr)
        return 1
    print(
        f"quarantined delivery {key} released: new {list(released.new)}, "
        f"already recorded {list(released.duplicates)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
