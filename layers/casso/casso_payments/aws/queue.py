"""The transaction queue: message shape, batched sends, and `TransactionQueue` (one queue,
its client made on first use).

A message carries only the transaction id (and where it came from); the ledger holds the
transaction itself, so a message can never disagree with what was recorded.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

SQS_BATCH_LIMIT = 10


@dataclass(frozen=True)
class TransactionMessage:
    transaction_id: int
    source: str
    # Raised by an operator's replay (docs/operations.md), so the processor's idempotency
    # key is new.
    replay: int = 0
    # A version of the transaction kept beside it, stronger than the ledger's, for the
    # processor to resolve (its key; docs/architecture.md#conflicting-versions).
    version: str = ""

    def to_json(self) -> str:
        body: dict[str, object] = {"transaction_id": self.transaction_id, "source": self.source}
        if self.replay:
            body["replay"] = self.replay
        if self.version:
            body["version"] = self.version
        return json.dumps(body)

    @classmethod
    def from_json(cls, text: str) -> TransactionMessage:
        try:
            body = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"message body is not JSON: {error}") from None
        transaction_id = body.get("transaction_id") if isinstance(body, dict) else None
        if isinstance(transaction_id, bool) or not isinstance(transaction_id, int):
            raise ValueError(f"message transaction_id: expected an integer, got {transaction_id!r}")
        replay = body.get("replay", 0)
        if isinstance(replay, bool) or not isinstance(replay, int) or replay < 0:
            raise ValueError(f"message replay: expected a whole number >= 0, got {replay!r}")
        version = body.get("version", "")
        if not isinstance(version, str):
            raise ValueError(f"message version: expected text, got {version!r}")
        source = str(body.get("source", ""))
        return cls(transaction_id=transaction_id, source=source, replay=replay, version=version)


class EnqueueError(RuntimeError):
    """Some messages were not accepted by SQS; `failed` lists their transaction ids."""

    def __init__(self, failed: list[int], detail: str) -> None:
        super().__init__(f"SQS did not accept transactions {failed}: {detail}")
        self.failed = failed


def enqueue(sqs: SQSClient, queue_url: str, messages: Iterable[TransactionMessage]) -> int:
    """Send messages in batches of ten (one per transaction id); returns how many were sent."""
    unique = list({message.transaction_id: message for message in messages}.values())
    for start in range(0, len(unique), SQS_BATCH_LIMIT):
        chunk = unique[start : start + SQS_BATCH_LIMIT]
        response = sqs.send_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(index), "MessageBody": message.to_json()}
                for index, message in enumerate(chunk)
            ],
        )
        failed = response.get("Failed") or []
        if failed:
            ids = [chunk[int(entry["Id"])].transaction_id for entry in failed]
            detail = "; ".join(f"{e.get('Code')}: {e.get('Message', '')}" for e in failed)
            raise EnqueueError(ids, detail)
    return len(unique)


class TransactionQueue:
    """The transaction queue. The client is made on first use (`client` is a factory):
    most reconciler runs queue nothing (docs/benchmarks.md#cold-start)."""

    def __init__(self, client: Callable[[], SQSClient], url: str) -> None:
        self._client, self.url = client, url

    @cached_property
    def client(self) -> SQSClient:
        return self._client()

    def send(self, messages: Iterable[TransactionMessage]) -> int:
        """`enqueue` on this queue; how many were sent."""
        return enqueue(self.client, self.url, messages)
