"""Local AWS: moto, adjusted where it differs from AWS in a way the pipeline would notice.

- **DynamoDB serialises writes to an item; moto doesn't.** moto's DynamoDB backend checks a
  write's condition and then applies it without a lock, and its server answers requests on
  many threads, so two concurrent conditional writes on one item can both pass their
  condition (reproduced: 50 threads, each `UpdateItem ... IF paid_amount = :before`, 2 and 3
  of them succeeded in 2 rounds of 20). The processor's exactly-once guarantees rest on it.
  `serialise_dynamodb()` makes moto answer one DynamoDB request at a time.
- **An SQS call costs the same with 10 or 10,000 messages queued; in moto it grows with
  the queue.** Each SendMessage reads one queue attribute through a property that first
  counts every message three times, and each message received reads the retention period
  the same way: with a backlog, moto spends its time counting (44% of its CPU, and moto was
  the busiest process, in `python -m bench end_to_end`). `lazy_queue_attributes()` computes
  an attribute only when it is read; the values are moto's own (a test compares them).
- **moto's server looks for the service on disk for every request** (a directory listing
  of its ~150 service packages, under a global lock). `cached_service_list()` lists once.

Run as `python -m local.stack.moto_server [moto.server's options]`: the local stack does. The
tests call `adjust_moto()` before they start an in-process moto or a moto server.
"""

from __future__ import annotations

import functools
import json
import sys
import threading
from collections.abc import Iterator, Mapping
from typing import Any

_LOCK = threading.RLock()
_MOTO_QUEUE_ATTRIBUTES: list[Any] = []  # moto's own property, kept for the tests to compare


def adjust_moto() -> None:
    """Every adjustment above. Idempotent."""
    serialise_dynamodb()
    lazy_queue_attributes()
    cached_service_list()


def serialise_dynamodb() -> None:
    """Make every DynamoDB request to moto (server or in-process) run alone. Idempotent."""
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action
    if getattr(original, "serialised", False):
        return

    @functools.wraps(original)
    def call_action(self: Any) -> Any:
        with _LOCK:
            return original(self)

    call_action.serialised = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]


class QueueAttributes(Mapping[str, Any]):
    """A moto queue's attributes, each computed when read (moto's `Queue.attributes`,
    which computes all of them, message counts included, to answer any one)."""

    def __init__(self, queue: Any) -> None:
        self._queue = queue
        names = list(queue.BASE_ATTRIBUTES)
        if queue.fifo_queue:
            names += queue.FIFO_ATTRIBUTES
        if queue.kms_master_key_id:
            names += queue.KMS_ATTRIBUTES
        self._names = dict.fromkeys(names)

    def __getitem__(self, name: str) -> Any:
        if name not in self._names:
            raise KeyError(name)
        if name == "RedrivePolicy" and self._queue.redrive_policy:
            return json.dumps(self._queue.redrive_policy)
        value = getattr(self._queue, _python_name(name))
        return str(value).lower() if isinstance(value, bool) else value

    def __contains__(self, name: object) -> bool:  # Mapping's would compute the value
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


@functools.cache
def _python_name(attribute: str) -> str:
    """`MessageRetentionPeriod` -> `message_retention_period`, moto's way, once per name:
    the SQS calls read an attribute per message."""
    from moto.core.utils import camelcase_to_underscores

    return camelcase_to_underscores(attribute)


def lazy_queue_attributes() -> None:
    """Make moto's `Queue.attributes` a `QueueAttributes`. Idempotent."""
    from moto.sqs.models import Queue

    if isinstance(Queue.__dict__["attributes"].fget, type):
        return
    _MOTO_QUEUE_ATTRIBUTES.append(Queue.__dict__["attributes"].fget)
    Queue.attributes = property(QueueAttributes)  # type: ignore[assignment,method-assign]


def moto_queue_attributes(queue: Any) -> dict[str, Any]:
    """What moto's own `Queue.attributes` answers (after `lazy_queue_attributes()`)."""
    return _MOTO_QUEUE_ATTRIBUTES[0](queue)


def cached_service_list() -> None:
    """List moto's service packages once, not on every request. Idempotent."""
    from moto import backends

    if isinstance(backends.list_of_moto_modules, functools._lru_cache_wrapper):
        return
    listing = backends.list_of_moto_modules
    backends.list_of_moto_modules = functools.cache(lambda: tuple(listing()))  # type: ignore[assignment]


def main(argv: list[str] | None = None) -> None:
    from moto.server import main as moto_main

    adjust_moto()
    moto_main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
