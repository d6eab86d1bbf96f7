"""One reconciler run in a process of its own, so its memory is measured alone (the moto
server and the Casso simulator live in the parent). Prints a JSON line."""

from __future__ import annotations

import json
import sys
import time
import tracemalloc
from datetime import UTC, datetime

import boto3
from aws_lambda_powertools.utilities.parameters import SecretsProvider

from bench.common import CallCounter
from casso_payments.reconcile import build_deps, run
from casso_payments.settings import ReconcilerSettings


def main() -> None:
    settings = ReconcilerSettings.from_env()
    clients = {n: boto3.client(n) for n in ("dynamodb", "sqs", "secretsmanager")}
    deps = build_deps(
        settings,
        dynamodb=clients["dynamodb"],
        sqs=clients["sqs"],
        secrets=SecretsProvider(boto3_client=clients["secretsmanager"]),
    )
    counter = CallCounter(clients["dynamodb"], clients["sqs"])
    tracemalloc.start()
    started = time.perf_counter()
    report = run(deps, now=datetime.now(UTC))
    wall = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    print(
        "BENCH_RESULT "
        + json.dumps(
            {
                "ok": report.ok,
                "missing": report.backfill.missing,
                "aws": dict(counter.take()),
                "wall_s": wall,
                "peak_bytes": peak,
            }
        )
    )


if __name__ == "__main__":
    sys.exit(main())
