"""One reconciler run in a process of its own, so its memory and CPU are measured alone (the
moto server and the Casso simulator live in the parent, which counts the calls that reach
them). Prints a JSON line."""

from __future__ import annotations

import json
import sys
import time
import tracemalloc
from datetime import UTC, datetime

import boto3
from aws_lambda_powertools.utilities.parameters import SecretsProvider

from casso_payments.reconciler.deps import build_deps
from casso_payments.reconciler.run import run
from casso_payments.settings.reconciler import ReconcilerSettings


def main() -> None:
    settings = ReconcilerSettings.from_env()
    clients = {n: boto3.client(n) for n in ("dynamodb", "sqs", "secretsmanager")}
    deps = build_deps(
        settings,
        dynamodb=clients["dynamodb"],
        sqs=lambda: clients["sqs"],
        secrets=SecretsProvider(boto3_client=clients["secretsmanager"]),
    )
    tracemalloc.start()
    started, cpu = time.perf_counter(), time.process_time()
    report = run(deps, now=datetime.now(UTC))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    _, peak = tracemalloc.get_traced_memory()
    print(
        "BENCH_RESULT "
        + json.dumps(
            {
                "ok": report.ok,
                "missing": report.backfill.missing,
                "wall_s": wall,
                # This process's own CPU: moto and the simulator live in the parent.
                "cpu_s": cpu,
                "peak_bytes": peak,
            }
        )
    )


if __name__ == "__main__":
    sys.exit(main())
