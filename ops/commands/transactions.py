"""Commands on the transaction queue and on one transaction: redrive, replay, and a person's
decisions (settle, handled, accept-late, refund-late)."""

from __future__ import annotations

import argparse
import os
from typing import Any

import boto3

from casso_payments.ledger.entries import NotInLedger
from casso_payments.processor.settle import CannotSettle
from ops.commands import Outputs, failing_on
from ops.tools import (
    UnknownOrder,
    accept_late,
    handled,
    queues_of,
    redrive_by_hand,
    redrive_with_message_move,
    refund_late,
    replay,
    settle,
)


def on_ledger(outputs: Outputs) -> dict[str, Any]:
    """The ledger, for a command that changes one transaction's item."""
    return {"dynamodb": boto3.client("dynamodb"), "table": outputs["LedgerTableName"]}


def and_queued(outputs: Outputs) -> dict[str, Any]:
    """The ledger and the queue, for a command that hands the transaction back to the
    processor."""
    return {
        **on_ledger(outputs),
        "sqs": boto3.client("sqs"),
        "queue_url": outputs["TransactionQueueUrl"],
    }


def decision(args: argparse.Namespace) -> dict[str, Any]:
    """Which transaction, and who decided what about it and why (kept on its item)."""
    return {"transaction_id": args.id, "by": args.by, "note": args.note}


def cmd_redrive(args: argparse.Namespace, outputs: Outputs) -> str:
    sqs = boto3.client("sqs")
    queues = queues_of(sqs, outputs)
    local = bool(os.environ.get("AWS_ENDPOINT_URL"))  # moto has no message move task
    moved = redrive_by_hand(sqs, queues) if local else redrive_with_message_move(sqs, queues)
    return f"moved {moved} messages from the dead-letter queue back to {queues.queue_url}"


def cmd_replay(args: argparse.Namespace, outputs: Outputs) -> str:
    with failing_on(NotInLedger):
        message = replay(**and_queued(outputs), transaction_id=args.id)
    return f"transaction {message.transaction_id} queued again (replay {message.replay})"


def cmd_settle(args: argparse.Namespace, outputs: Outputs) -> str:
    with failing_on(CannotSettle, UnknownOrder):
        message = settle(
            **and_queued(outputs),
            **decision(args),
            orders_table=outputs["OrdersTableName"],
            order_code=args.order,
        )
    return (
        f"transaction {args.id} bound to order {args.order} and queued"
        f" (replay {message.replay}); the processor applies it"
    )


def cmd_handled(args: argparse.Namespace, outputs: Outputs) -> str:
    with failing_on(CannotSettle):
        was = handled(**on_ledger(outputs), **decision(args))
    return f"transaction {args.id} ({was}) marked handled without an order"


def cmd_accept_late(args: argparse.Namespace, outputs: Outputs) -> str:
    with failing_on(CannotSettle):
        message = accept_late(**and_queued(outputs), **decision(args))
    return (
        f"late payment {args.id} accepted and queued (replay {message.replay}); the processor"
        " applies it to its order"
    )


def cmd_refund_late(args: argparse.Namespace, outputs: Outputs) -> str:
    with failing_on(CannotSettle):
        order = refund_late(**on_ledger(outputs), **decision(args))
    return (
        f"late payment {args.id} (order {order}) marked refund_due: send the money back with"
        f" the order code in the description (e.g. HOAN TIEN {order}) and it is linked"
    )
