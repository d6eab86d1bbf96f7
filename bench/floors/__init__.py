"""The floors: each function's job done by bare boto3 (and requests), with no Powertools, no
layer and no structure, sending the handler's requests: the same operations, parameters,
expressions and item attributes (checked run by run as `request_shape`s, bench/common.py),
for a transaction of their own. So the server's work and botocore's serialising cost the
same on both sides, and a ratio shows only what the handler's code adds.

One module per function (floors.receiver, .processor, .reconciler), each with `floor(event)`;
imported on the clock (bench/cold_child.py), as a handler's module is. boto3 and requests
are imported inside the floors, as a handler imports them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def clients(*names: str) -> list[Any]:
    import boto3

    return [boto3.client(n) for n in names]


def timestamps() -> tuple[datetime, str]:
    """Now, and as the handlers write it (milliseconds, Z)."""
    now = datetime.now(UTC)
    return now, now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
