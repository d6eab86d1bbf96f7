"""`quarantine`: list the deliveries kept whole because they could not be understood;
release one through the intake, or discard one."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import boto3

from casso_payments.aws.queue import TransactionQueue
from casso_payments.ledger.repository import Ledger
from casso_payments.receiver import quarantine
from casso_payments.receiver.release import release
from ops.commands import Failed, Outputs, Usage, failing_on


def cmd_quarantine(args: argparse.Namespace, outputs: Outputs) -> str:
    ledger = Ledger(boto3.client("dynamodb"), outputs["LedgerTableName"])
    if args.action == "list":
        kept = ledger.list_quarantined()
        lines = [
            f"{d.key}  {d.received_at}  {d.generation}  {d.body_bytes} bytes  {d.reason}"
            for d in kept
        ]
        return "\n".join([*lines, f"{len(kept)} quarantined deliveries"])
    if not args.key:
        raise Usage(f"quarantine {args.action} needs --key (see `quarantine list`)")
    with failing_on(quarantine.NotQuarantined):
        if args.action == "discard":
            if not ledger.discard_quarantined(args.key):
                raise quarantine.NotQuarantined(f"no quarantined delivery {args.key}")
            return f"quarantined delivery {args.key} discarded"
        queue = TransactionQueue(lambda: boto3.client("sqs"), outputs["TransactionQueueUrl"])
        released = release(ledger, queue, key=args.key, now=datetime.now(UTC))
    if released.problems:
        raise Failed(f"still not understood, kept: {released.problems}")
    return (
        f"quarantined delivery {args.key} released: new {list(released.new)}, "
        f"already recorded {list(released.duplicates)}"
    )
