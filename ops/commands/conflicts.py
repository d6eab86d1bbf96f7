"""`conflicts`: list the versions of transactions kept beside the ledger's (conflicts, and
stronger versions resolved), and settle one a person has decided on (docs/operations.md
#payment-conflict)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import boto3

from casso_payments.ledger.repository import Ledger
from casso_payments.processor.settle import CannotSettle, settle_conflict
from ops.commands import Outputs, Usage, failing_on


def cmd_conflicts(args: argparse.Namespace, outputs: Outputs) -> str:
    ledger = Ledger(boto3.client("dynamodb"), outputs["LedgerTableName"])
    if args.action == "list":
        kept = [v for v in ledger.list_versions() if args.id in (None, v.transaction.id)]
        lines = [
            f"{v.transaction.id}  {v.key}  {v.state}  {v.received_at}  {v.source} (ledger's:"
            f" {v.ledger_source})  amount {v.transaction.amount}  differs:"
            f" {', '.join(v.differs) or 'nothing'}" + (f"  note: {v.note}" if v.note else "")
            for v in kept
        ]
        waiting = sum(v.state in ("person", "kept") for v in kept)
        return "\n".join([*lines, f"{len(kept)} versions, {waiting} waiting for a person"])
    if args.id is None or not args.version:
        raise Usage("conflicts settle needs --id and --version (see `conflicts list`)")
    with failing_on(CannotSettle):
        version = settle_conflict(
            ledger, args.id, args.version, now=datetime.now(UTC), by=args.by, note=args.note
        )
    return (
        f"version {args.version} of transaction {args.id} ({version.source}, amount"
        f" {version.transaction.amount}, was {version.state}) settled by {args.by}"
    )
