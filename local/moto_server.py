"""Local AWS (moto) that keeps DynamoDB's promise that writes to an item are serialised.

moto's DynamoDB backend checks a write's condition and then applies it without a lock, and
its server answers requests on many threads, so two concurrent conditional writes on one
item can both pass their condition (reproduced: 50 threads, each `UpdateItem ... IF
paid_amount = :before`, 2 and 3 of them succeeded in 2 rounds of 20). Real DynamoDB never
allows that; the processor's exactly-once guarantees rest on it. `serialise_dynamodb()`
makes moto answer one DynamoDB request at a time (other services stay concurrent).

Run as `python -m local.moto_server [moto.server's options]`: the local stack does; the
tests call `serialise_dynamodb()` before starting their in-process server.
"""

from __future__ import annotations

import functools
import sys
import threading
from typing import Any

_LOCK = threading.RLock()


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


def main(argv: list[str] | None = None) -> None:
    from moto.server import main as moto_main

    serialise_dynamodb()
    moto_main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
