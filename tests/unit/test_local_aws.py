"""The local AWS (local/stack/moto_server.py) keeps moto's answers while it drops moto's costs
that AWS doesn't have: SQS calls that grow with the queue's length, a directory listing
per request. The DynamoDB serialisation is tested under concurrency in
tests/integration/test_reliability.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.sqs.models import Queue, sqs_backends

from local.stack.moto_server import QueueAttributes, moto_queue_attributes

REGION = "ap-southeast-1"
ACCOUNT = "123456789012"


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sqs", region_name=REGION)


def queue_model(name: str) -> Queue:
    return sqs_backends[ACCOUNT][REGION].queues[name]


def busy_queue(sqs: Any, name: str, **attributes: str) -> str:
    """A queue with messages visible, delayed and in flight."""
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    fifo = name.endswith(".fifo")
    for n in range(6):
        extra: dict[str, Any] = {"MessageGroupId": "g"} if fifo else {"DelaySeconds": n % 2 * 60}
        sqs.send_message(QueueUrl=url, MessageBody=f"m{n}", **extra)
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=60)
    return url


def test_every_kind_of_queue_has_moto_s_own_attributes(sqs: Any) -> None:
    dead = sqs.create_queue(QueueName="dead")["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])
    busy_queue(sqs, "plain")
    busy_queue(
        sqs,
        "with-policies",
        RedrivePolicy=json.dumps(
            {"deadLetterTargetArn": dead_arn["Attributes"]["QueueArn"], "maxReceiveCount": 3}
        ),
        Policy=json.dumps({"Version": "2012-10-17", "Statement": []}),
        KmsMasterKeyId="alias/aws/sqs",
    )
    busy_queue(sqs, "ordered.fifo", FifoQueue="true", ContentBasedDeduplication="true")

    for name in ("dead", "plain", "with-policies", "ordered.fifo"):
        queue = queue_model(name)
        assert dict(QueueAttributes(queue)) == moto_queue_attributes(queue), name


def test_counts_answered_through_the_api_are_still_right(sqs: Any) -> None:
    url = busy_queue(sqs, "counted")
    answer = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    # 6 sent, 3 of them delayed; of the 3 visible, 2 received and now in flight.
    assert answer["ApproximateNumberOfMessages"] == "1"
    assert answer["ApproximateNumberOfMessagesDelayed"] == "3"
    assert answer["ApproximateNumberOfMessagesNotVisible"] == "2"


def test_content_based_deduplication_still_drops_a_repeated_body(sqs: Any) -> None:
    url = sqs.create_queue(
        QueueName="dedup.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    for _ in range(2):
        sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in received] == ["same"]


def test_sending_and_receiving_do_not_count_the_queue(
    sqs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto counted every queued message three times per message sent or received."""
    url = busy_queue(sqs, "long")
    counted: list[str] = []
    for name in (
        "approximate_number_of_messages",
        "approximate_number_of_messages_delayed",
        "approximate_number_of_messages_not_visible",
    ):
        original = getattr(Queue, name)
        monkeypatch.setattr(
            Queue,
            name,
            property(lambda queue, n=name, o=original: counted.append(n) or o.fget(queue)),
        )
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": f"b{n}"} for n in range(5)]
    )
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    assert counted == []
    sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert set(counted) == {"approximate_number_of_messages"}  # only what was asked
