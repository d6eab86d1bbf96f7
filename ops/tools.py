"""Redrive the dead-letter queue; replay, settle or close one transaction. `python -m ops
--help`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from casso_payments.aws.queue import TransactionMessage, enqueue
from casso_payments.ledger.repository import Ledger
from casso_payments.orders.repository import Orders
from casso_payments.processor import settle as decisions

TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")


@dataclass(frozen=True)
class Queues:
    queue_url: str
    queue_arn: str
    dlq_url: str
    dlq_arn: str


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def queues_of(sqs: Any, outputs: dict[str, str]) -> Queues:
    def arn(url: str) -> str:
        return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]

    queue, dlq = outputs["TransactionQueueUrl"], outputs["TransactionDeadLetterQueueUrl"]
    return Queues(queue, arn(queue), dlq, arn(dlq))


def redrive_with_message_move(
    sqs: Any, queues: Queues, *, poll: float = 2.0, log: Callable[[str], None] = print
) -> int:
    """SQS's own message move task, from the DLQ back to its source queue; waits for it."""
    handle = sqs.start_message_move_task(SourceArn=queues.dlq_arn, DestinationArn=queues.queue_arn)[
        "TaskHandle"
    ]
    while True:
        tasks = sqs.list_message_move_tasks(SourceArn=queues.dlq_arn, MaxResults=1)["Results"]
        task = next((t for t in tasks if t.get("TaskHandle") == handle), tasks[0] if tasks else {})
        status = task.get("Status", "RUNNING")
        moved = int(task.get("ApproximateNumberOfMessagesMoved", 0))
        if status in TERMINAL:
            if status != "COMPLETED":
                raise RuntimeError(f"message move task {status}: {task.get('FailureReason', '')}")
            return moved
        log(f"  moving... {moved} so far")
        time.sleep(poll)


def redrive_by_hand(sqs: Any, queues: Queues) -> int:
    """Receive, send back, delete: for a local moto server, which has no message move."""
    moved = 0
    while messages := sqs.receive_message(
        QueueUrl=queues.dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
    ).get("Messages", []):
        sqs.send_message_batch(
            QueueUrl=queues.queue_url,
            Entries=[{"Id": str(n), "MessageBody": m["Body"]} for n, m in enumerate(messages)],
        )
        sqs.delete_message_batch(
            QueueUrl=queues.dlq_url,
            Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)
            ],
        )
        moved += len(messages)
    return moved


def replay(
    dynamodb: Any, sqs: Any, *, table: str, queue_url: str, transaction_id: int
) -> TransactionMessage:
    number = Ledger(dynamodb, table).reopen_for_replay(transaction_id, now=datetime.now(UTC))
    message = TransactionMessage(transaction_id, "replay", replay=number)
    enqueue(sqs, queue_url, [message])
    return message


class UnknownOrder(LookupError):
    pass


def settle(
    dynamodb: Any,
    sqs: Any,
    *,
    table: str,
    orders_table: str,
    queue_url: str,
    transaction_id: int,
    order_code: str,
    by: str,
    note: str = "",
) -> TransactionMessage:
    """Settle a `needs_review` or `unmatched` transaction onto the order a person chose: the
    choice is bound on the ledger item and the processor applies it by its usual path (once,
    confirmed with Casso where required, with the usual events)."""
    order = Orders(dynamodb, orders_table).get(order_code)
    if order is None:
        raise UnknownOrder(f"no order {order_code!r}: create it first, or choose another")
    number = decisions.settle_onto(
        Ledger(dynamodb, table), transaction_id, order.key, now=datetime.now(UTC), by=by, note=note
    )
    message = TransactionMessage(transaction_id, "ops-settle", replay=number)
    enqueue(sqs, queue_url, [message])
    return message


def handled(dynamodb: Any, *, table: str, transaction_id: int, by: str, note: str) -> str:
    """Close a `needs_review`, `unmatched` or `unconfirmed` transaction without an order."""
    ledger = Ledger(dynamodb, table)
    return decisions.mark_handled(ledger, transaction_id, now=datetime.now(UTC), by=by, note=note)


def accept_late(
    dynamodb: Any, sqs: Any, *, table: str, queue_url: str, transaction_id: int, by: str, note: str
) -> TransactionMessage:
    """Accept a `late` payment: its expired order takes it, by the processor's usual path."""
    number = decisions.accept_late(
        Ledger(dynamodb, table), transaction_id, now=datetime.now(UTC), by=by, note=note
    )
    message = TransactionMessage(transaction_id, "ops-accept-late", replay=number)
    enqueue(sqs, queue_url, [message])
    return message


def refund_late(dynamodb: Any, *, table: str, transaction_id: int, by: str, note: str) -> str:
    """Mark a `late` payment for refund; returns the order it was kept on."""
    return decisions.refund_late(
        Ledger(dynamodb, table), transaction_id, now=datetime.now(UTC), by=by, note=note
    )
