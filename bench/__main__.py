"""make bench: every benchmark, each figure beside a floor measured in the same run.
Tables are printed; figures are written to bench/results.json, unless the run is a quick
one (fewer repetitions than the defaults: bench.common.REPETITIONS)."""

from __future__ import annotations

import sys
import time

from bench import (
    cold_start,
    end_to_end,
    notify_latency,
    orders_api,
    receiver,
    receiver_batch,
    reconciler,
)
from bench.common import RESULTS, quick_run

SUITES = {
    "cold_start": cold_start.main,
    "receiver": receiver.main,
    "receiver_batch": receiver_batch.main,
    "reconciler": reconciler.main,
    "end_to_end": end_to_end.main,
    "notify_latency": notify_latency.main,
    "orders_api": orders_api.main,
}


def main(argv: list[str]) -> int:
    chosen = argv or list(SUITES)
    unknown = [name for name in chosen if name not in SUITES]
    if unknown:
        print(f"unknown benchmark {unknown}; choose from {', '.join(SUITES)}", file=sys.stderr)
        return 2
    for name in chosen:
        started = time.monotonic()
        print(f"\n=== {name} ===", flush=True)
        SUITES[name]()
        print(f"({name}: {time.monotonic() - started:.0f} s)", flush=True)
    if not quick_run():
        print(f"\nfigures written to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
