"""Reconciler at scale: N transactions over the look-back window in the Casso simulator, 2%
of them missing from the ledger. Calls made next to the floor (pages + ceil(N/100) lookups +
one write and one queue message per backfill, batched), wall time, and peak memory, which
must stay flat as N grows (N = 1,000 and 10,000)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import (
    calls_text,
    local_aws,
    machine,
    machine_line,
    ratio,
    repetitions,
    save,
    shown,
    spread,
    table,
)
from casso_payments.aws.dynamo import timestamp
from casso_payments.casso.payload import parse_transaction
from casso_payments.ledger.repository import new_item
from casso_payments.settings.reconciler import ReconcilerSettings
from local.casso.simulator import CassoSimulator
from local.cli.sample_events import LOCAL_CASSO_API_KEY
from local.stack.template import ROOT, function_spec, load_template

# (transactions, missing): 2% missing at both sizes, and 10,000 with as few missing as 1,000
# has, which shows what the memory follows.
RUNS = ((1_000, 20), (10_000, 200), (10_000, 20))
REPEATS = repetitions("BENCH_RECONCILE_REPEATS")
PAGE = 100


def seed(casso: CassoSimulator, dynamodb: Any, table_name: str, n: int, lost: int) -> set[int]:
    now = datetime.now(UTC)
    records = [
        casso.add_transaction(
            10_000 + i, f"DH{i} thanh toan", when=now - timedelta(seconds=20 * i), deliver=False
        )
        for i in range(n)
    ]
    missing = {r["id"] for r in records[:: n // lost][:lost]}
    items = [
        new_item(parse_transaction(r), source="webhook-v1", received_at=timestamp(now))
        for r in records
        if r["id"] not in missing
    ]
    for start in range(0, len(items), 25):
        dynamodb.batch_write_item(
            RequestItems={
                table_name: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]
            }
        )
    return missing


def floor(n: int, missing: int) -> tuple[dict[str, int], int]:
    """The least a run can do: AWS calls by operation, and Casso calls."""
    aws = {
        "GetSecretValue": 2,  # the API key and the webhook's secure token
        "GetItem": 2,  # the webhook's STATE item, the backfill's (paused-webhook check)
        # each backfill, the webhook's state (new here), the run's lease
        "PutItem": missing + 2,
        "DeleteItem": 1,  # the lease, given back
        "BatchGetItem": math.ceil(n / 100),  # which of each page's ids the ledger has
        "Query": 2,  # the sweep and the count of stuck entries: PendingIndex, one page each
        "SendMessageBatch": math.ceil(missing / 10),
    }
    # the pages, plus the webhook's delete-by-URL and create
    return {op: count for op, count in aws.items() if count}, math.ceil(n / PAGE) + 2


def measure(n: int, lost: int) -> dict[str, Any]:
    with (
        local_aws() as (endpoint, stack, clients, server_calls),
        CassoSimulator(api_key=LOCAL_CASSO_API_KEY) as casso,
    ):
        spec = function_spec(load_template(), "ReconcilerFunction")
        environment = stack.function_environment(
            spec.environment,
            {
                "WEBHOOK_URL": "https://example.invalid/prod/casso/webhook",
                "CASSO_API_BASE_URL": casso.api_url,
            },
        )
        settings = ReconcilerSettings.from_env(environment)
        missing = seed(casso, clients["dynamodb"], settings.ledger_table_name, n, lost)
        casso_before, aws_before = len(casso.api_calls), server_calls.snapshot()
        child = subprocess.run(
            [sys.executable, "-m", "bench.reconcile_child"],
            env={**os.environ, **environment, "AWS_ENDPOINT_URL": endpoint},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        casso_calls = len(casso.api_calls) - casso_before
        aws = server_calls.since(aws_before)
    lines = [x for x in child.stdout.splitlines() if x.startswith("BENCH_RESULT ")]
    if not lines:
        raise RuntimeError(
            f"reconciler run failed:\n{child.stdout[-2000:]}\n{child.stderr[-2000:]}"
        )
    result = json.loads(lines[0].removeprefix("BENCH_RESULT "))
    if not result["ok"] or set(result["missing"]) != missing:
        raise RuntimeError(
            f"the run did not find the {len(missing)} missing transactions: {result}"
        )
    aws_floor, casso_floor = floor(n, len(missing))
    return {
        "transactions": n,
        "missing": len(missing),
        "aws_calls": aws,
        "aws_floor": aws_floor,
        "casso_calls": casso_calls,
        "casso_floor": casso_floor,
        "wall_s": result["wall_s"],
        "cpu_s": result["cpu_s"],
        "peak_mib": result["peak_bytes"] / 2**20,
    }


def main() -> list[dict[str, Any]]:
    before = machine()
    # Repeated, interleaved by size, so each size sees the machine's load at several moments.
    runs = [measure(n, lost) for _ in range(REPEATS) for n, lost in RUNS]
    summary = []
    for n, lost in RUNS:
        same = [r for r in runs if (r["transactions"], r["missing"]) == (n, lost)]
        first = same[0]
        at_floor = all(
            (r["aws_calls"], r["casso_calls"]) == (r["aws_floor"], r["casso_floor"]) for r in same
        )
        summary.append(
            {
                "transactions": n,
                "missing": lost,
                "repeats": len(same),
                "wall_s": spread([r["wall_s"] for r in same], 2),
                "cpu_s": spread([r["cpu_s"] for r in same], 2),
                "peak_mib": spread([r["peak_mib"] for r in same], 2),
                "aws_calls": first["aws_calls"],
                "aws_floor": first["aws_floor"],
                "casso_calls": first["casso_calls"],
                "casso_floor": first["casso_floor"],
                "calls_at_floor_every_run": at_floor,
            }
        )
    rows = []
    for m in summary:
        same = [
            r
            for r in runs
            if (r["transactions"], r["missing"]) == (m["transactions"], m["missing"])
        ]
        rows.append(
            [
                m["transactions"],
                m["missing"],
                shown([r["cpu_s"] for r in same], 2),
                shown([r["wall_s"] for r in same], 2),
                m["casso_calls"],
                m["casso_floor"],
                "met" if m["calls_at_floor_every_run"] else "NOT MET",
                shown([r["peak_mib"] for r in same], 2),
            ]
        )
    print(
        table(
            f"Reconciler at scale: one run over N transactions, some missing from the ledger; "
            f"{REPEATS} runs each, median (min-max)",
            [
                "N",
                "missing",
                "reconciler CPU s",
                "wall s",
                "Casso calls",
                "floor",
                "AWS calls = floor (goal)",
                "peak MiB (reconciler heap)",
            ],
            rows,
        )
    )
    for m in summary:
        print(
            f"  N={m['transactions']:,}, {m['missing']} missing: AWS calls "
            f"{calls_text(m['aws_calls'])}; floor {calls_text(m['aws_floor'])}"
        )
    small, large, large_few = summary
    print(
        f"  peak memory, N=10,000 vs N=1,000 with the same 20 missing: "
        f"{ratio(large_few['peak_mib']['median'], small['peak_mib']['median'])}; it follows the "
        "missing transactions (held until every page is read), not N: "
        f"{ratio(large['peak_mib']['median'], small['peak_mib']['median'])} "
        "with ten times as many missing"
    )
    print(
        f"  N=10,000 vs N=1,000 (20 missing each): wall "
        f"{ratio(large_few['wall_s']['median'], small['wall_s']['median'])}, reconciler CPU "
        f"{ratio(large_few['cpu_s']['median'], small['cpu_s']['median'])}"
    )
    print(machine_line(before))
    save("reconciler", {"runs": summary}, before=before)
    return summary


if __name__ == "__main__":
    main()
