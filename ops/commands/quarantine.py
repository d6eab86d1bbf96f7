"""`quarantine`: list the deliveries kept whole because they could not be understood;
release one through the intake, or discard one."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import boto3

from casso_payments import quarantine
from casso_payments.intake import release
from ops.commands import Failed, Outputs, Usage, failing_on


def cmd_quarantine(args: argparse.Namespace, outputs: Outputs) -> str:
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
    with failing_on(quarantine.NotQuarantined):
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
    if released.problems:
        raise Failed(f"still not understood, kept: {released.problems}")
    return (
        f"quarantined delivery {args.key} released: new {list(released.new)}, "
        f"already recorded {list(released.duplicates)}"
    )
