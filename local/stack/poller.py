"""A queue poller that does what Lambda's SQS event source mapping does.

Receives up to a batch of messages, hands them to the handler as an SQS event, deletes the
ones the handler did not report in `batchItemFailures` (all of them stay if the handler
raised), and leaves the failed ones for a later receive; the queue's redrive policy moves a
message to the dead-letter queue after its maximum receives, as in AWS.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local.stack.lambda_events import sqs_event, sqs_record


@dataclass(frozen=True)
class PollResult:
    received: int
    deleted: int
    failed: tuple[str, ...]  # message ids reported failed (or all, if the handler raised)
    error: str = ""


def poll_once(
    sqs: Any,
    queue_url: str,
    queue_arn: str,
    handler: Callable[[dict[str, Any]], dict[str, Any] | None],
    *,
    batch_size: int = 10,
    report_failures: bool = True,
    retry_visibility_seconds: int | None = None,
) -> PollResult:
    """One receive-invoke-delete cycle. `report_failures`: the mapping's
    ReportBatchItemFailures (without it, Lambda ignores `batchItemFailures` and deletes the
    whole batch when the handler returns). `retry_visibility_seconds` shortens the wait before
    a failed message is seen again (locally there is no point waiting the full timeout)."""
    messages = sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=batch_size,
        AttributeNames=["All"],
        WaitTimeSeconds=0,
    ).get("Messages", [])
    if not messages:
        return PollResult(0, 0, ())
    records = [
        sqs_record(
            m["Body"],
            message_id=m["MessageId"],
            receipt_handle=m["ReceiptHandle"],
            receive_count=int(m.get("Attributes", {}).get("ApproximateReceiveCount", 1)),
            queue_arn=queue_arn,
        )
        for m in messages
    ]
    error = ""
    try:
        response = handler(sqs_event(records)) or {}
        reported = response.get("batchItemFailures", []) if report_failures else []
        failed = {f["itemIdentifier"] for f in reported}
    except Exception as exc:  # the whole invocation failed: Lambda retries every message
        failed = {m["MessageId"] for m in messages}
        error = f"{type(exc).__name__}: {exc}"
    done = [m for m in messages if m["MessageId"] not in failed]
    if done:
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)
            ],
        )
    if retry_visibility_seconds is not None:
        for message in messages:
            if message["MessageId"] in failed:
                sqs.change_message_visibility(
                    QueueUrl=queue_url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=retry_visibility_seconds,
                )
    return PollResult(len(messages), len(done), tuple(sorted(failed)), error)


def drain(
    sqs: Any,
    queue_url: str,
    queue_arn: str,
    handler: Callable[[dict[str, Any]], dict[str, Any] | None],
    *,
    batch_size: int = 10,
    max_polls: int = 100,
) -> list[PollResult]:
    """Poll until the queue is empty (failed messages retried at once), at most `max_polls`."""
    results = []
    for _ in range(max_polls):
        result = poll_once(
            sqs, queue_url, queue_arn, handler, batch_size=batch_size, retry_visibility_seconds=0
        )
        if not result.received:
            break
        results.append(result)
    return results


def queue_depth(sqs: Any, queue_url: str) -> int:
    """Messages on the queue, waiting or being worked on (in flight)."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def drain_queue(sqs: Any, queue_url: str) -> list[Any]:
    """Receive and delete every message on the queue; returns their JSON bodies, in order."""
    bodies: list[Any] = []
    while messages := sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
    ).get("Messages", []):
        bodies += [json.loads(m["Body"]) for m in messages]
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)
            ],
        )
    return bodies
