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

from bench.common import local_aws, ratio, save, table
from casso_payments.ledger import timestamp, transaction_item
from casso_payments.payload import parse_transaction
from casso_payments.settings import ReconcilerSettings
from local.casso_simulator import CassoSimulator
from local.sample_events import LOCAL_CASSO_API_KEY
from local.template import ROOT, function_spec, load_template

# (transactions, missing): 2% missing at both sizes, and 10,000 with as few missing as 1,000
# has, which shows what the memory follows.
RUNS = ((1_000, 20), (10_000, 200), (10_000, 20))
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
        transaction_item(parse_transaction(r), source="webhook-v1", received_at=timestamp(now))
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


def measure(n: int, lost: int) -> dict[str, Any]:
    with (
        local_aws() as (endpoint, stack, clients),
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
        casso_before = len(casso.api_calls)
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
    aws, wall, peak = result["aws"], result["wall_s"], result["peak_bytes"]
    pages = math.ceil(n / PAGE)
    backfills = len(missing)
    return {
        "transactions": n,
        "missing": backfills,
        "casso_calls": casso_calls,
        "casso_floor": pages + 2,  # the pages, plus the webhook's delete-by-URL and create
        "lookups": aws.get("BatchGetItem", 0),
        "lookups_floor": math.ceil(n / 100),
        "writes": aws.get("PutItem", 0),
        "writes_floor": backfills + 1,  # one per backfill, plus the webhook state
        "sends": aws.get("SendMessageBatch", 0),
        "sends_floor": math.ceil(backfills / 10),
        "wall_s": round(wall, 2),
        "peak_mib": round(peak / 2**20, 2),
    }


def main() -> list[dict[str, Any]]:
    measured = [measure(n, lost) for n, lost in RUNS]
    print(
        table(
            "Reconciler at scale: one run over N transactions, some missing from the ledger",
            [
                "N",
                "missing",
                "Casso calls",
                "floor",
                "BatchGetItem",
                "floor",
                "PutItem",
                "floor",
                "SendMessageBatch",
                "floor",
                "wall s",
                "peak MiB (reconciler heap)",
            ],
            [
                [
                    m["transactions"],
                    m["missing"],
                    m["casso_calls"],
                    m["casso_floor"],
                    m["lookups"],
                    m["lookups_floor"],
                    m["writes"],
                    m["writes_floor"],
                    m["sends"],
                    m["sends_floor"],
                    m["wall_s"],
                    m["peak_mib"],
                ]
                for m in measured
            ],
        )
    )
    small, large, large_few = measured
    print(
        f"  peak memory, N=10,000 vs N=1,000 with the same 20 missing: "
        f"{ratio(large_few['peak_mib'], small['peak_mib'])}; it follows the missing transactions "
        f"(held until every page is read), not N: {ratio(large['peak_mib'], small['peak_mib'])} "
        "with ten times as many missing"
    )
    save("reconciler", {"runs": measured})
    return measured


if __name__ == "__main__":
    main()
