"""Cold start: import and first call of each handler in a fresh interpreter, against the
same AWS calls made by a bare boto3 handler (the floor). Runs the built layer
(`make build`) with python3.13, as Lambda would; falls back to the sources otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import (
    FAKE_AWS,
    calls_text,
    local_aws,
    machine,
    machine_line,
    median,
    pair_ratios,
    save,
    shown,
    spread,
    table,
    verdict,
)
from local.casso_simulator import CassoSimulator
from local.sample_events import LOCAL_CASSO_API_KEY, LOCAL_SECURE_TOKEN, V1_ITEM
from local.template import ROOT, function_spec, load_template

RUNS = int(os.environ.get("BENCH_COLD_RUNS", "15"))
# The goals of issue 13: a cold start at most this many times the same calls made bare.
GOALS = {"ReceiverFunction": 1.10, "ProcessorFunction": 1.15, "ReconcilerFunction": 1.15}
TRACE_HEADER = "Root=1-6740a9c0-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=1"
CHILD = Path(__file__).resolve().parent / "cold_child.py"
BUILD = ROOT / ".aws-sam" / "build"
FUNCTIONS = {
    "ReceiverFunction": "receiver",
    "ProcessorFunction": "processor",
    "ReconcilerFunction": "reconciler",
}
CASSO_TRANSACTIONS = 20
FULL_GC: dict[str, list[dict[str, float]]] = {}  # child mode -> full-collection costs


def interpreter() -> tuple[str, Path, str]:
    """python3.13 with the built layer (Lambda's runtime and packages), or the sources."""
    found = subprocess.run(
        [str(ROOT / "scripts" / "find-python"), "3.13", "exact"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    layer = BUILD / "CassoLayer" / "python"
    if found and layer.is_dir():
        return found, layer, "python3.13 + built layer"
    return sys.executable, ROOT / "layers" / "casso", "venv python + layer sources (run make build)"


def run_child(python: str, args: list[str], env: dict[str, str]) -> tuple[float, float, Any]:
    """Milliseconds from the first import to the first answer (wall, then the child's CPU),
    and that answer. What a full collection cost afterwards goes to FULL_GC."""
    result = subprocess.run(
        [python, "-S", str(CHILD), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    for line in result.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            measured = json.loads(line.removeprefix("BENCH_RESULT "))
            FULL_GC.setdefault(args[0], []).append(measured["full_gc_ms"])
            return measured["ms"], measured["cpu_ms"], measured["answer"]
    raise RuntimeError(f"{args}: no result\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")


def transaction_id(function: str, run: int) -> int:
    # A range of its own per function, so no run sees another's transactions.
    return 10_000 * (1 + list(FUNCTIONS).index(function)) + run


def prepare(function: str, run: int, stack: Any, clients: dict, workdir: Path) -> Path:
    """The event for one cold invocation (a new transaction each time), and the state that
    makes the handler take the same path as its floor: the processor pays an order; the
    reconciler registers the webhook, reads one page and finds nothing missing."""
    from casso_payments.intake import Delivery, IntakeDeps, receive
    from casso_payments.ledger import STATE_PREFIX
    from casso_payments.orders import create_order
    from casso_payments.settings import ReceiverSettings
    from local.lambda_events import rest_proxy_event, sqs_event, sqs_record

    path = workdir / f"{function}-{run}.json"
    tid = transaction_id(function, run)
    transaction = {**V1_ITEM, "id": tid, "description": f"DH{tid} cold start"}
    body = json.dumps({"error": 0, "data": [transaction]})
    if function == "ReceiverFunction":
        event = rest_proxy_event(
            "POST", "/casso/webhook", headers={"Secure-Token": LOCAL_SECURE_TOKEN}, body=body
        )
    elif function == "ProcessorFunction":
        spec = function_spec(load_template(), "ReceiverFunction")
        settings = ReceiverSettings.from_env(stack.function_environment(spec.environment))

        class Token:
            def get(self, *, refresh: bool = False) -> Any:
                from casso_payments.webhook_auth import WebhookCredentials

                return WebhookCredentials(secure_tokens=(LOCAL_SECURE_TOKEN,))

        receive(
            Delivery({"Secure-Token": LOCAL_SECURE_TOKEN}, body, datetime.now(UTC)),
            IntakeDeps(clients["dynamodb"], clients["sqs"], Token(), settings),
        )
        create_order(
            clients["dynamodb"],
            stack.ref("OrdersTable"),
            f"DH{tid}",
            transaction["amount"],
            now=datetime.now(UTC),
        )
        message = json.dumps({"transaction_id": tid, "source": "webhook-v1"})
        event = sqs_event([sqs_record(message)])
    else:
        # The floor registers the webhook afresh each time; so does a run with no record of it.
        clients["dynamodb"].delete_item(
            TableName=stack.ref("LedgerTable"), Key={"pk": {"S": f"{STATE_PREFIX}webhook"}}
        )
        event = {}
    path.write_text(json.dumps(event))
    return path


def check(function: str, run: int, answer: Any, stack: Any, clients: dict) -> None:
    """The handler did its job: a run that failed fast must not pass for a cheap one."""
    from casso_payments.orders import PAID, get_order

    tid = transaction_id(function, run)
    if function == "ReceiverFunction":
        body = json.loads(answer.get("body") or "{}")
        ok = answer.get("statusCode") == 200 and body.get("success") is True
    elif function == "ProcessorFunction":
        order = get_order(clients["dynamodb"], stack.ref("OrdersTable"), f"DH{tid}")
        ok = answer == {"batchItemFailures": []} and bool(
            order and order.status == PAID and tid in order.payments
        )
    else:
        ok = (
            answer.get("ok") is True
            and answer["webhook"]["action"] == "created"
            and answer["backfill"]["missing"] == []
        )
    if not ok:
        raise RuntimeError(f"{function} run {run} did not do its job; it answered {answer}")


def seed_ledger(casso: CassoSimulator, clients: dict, stack: Any) -> None:
    """Casso's transactions are all in the ledger and processed: the reconciler, like its
    floor, reads them and finds nothing to backfill or sweep."""
    from casso_payments.ledger import mark_processed, record_transaction
    from casso_payments.payload import parse_transaction

    now = datetime.now(UTC)
    for record in casso.transactions.values():
        transaction = parse_transaction(record)
        table = stack.ref("LedgerTable")
        record_transaction(clients["dynamodb"], table, transaction, source="bench", now=now)
        mark_processed(
            clients["dynamodb"], table, transaction.id, outcome="paid", order_code=None, now=now
        )


def child_env(function: str, endpoint: str, stack: Any, casso: CassoSimulator) -> dict[str, str]:
    spec = function_spec(load_template(), function)
    overrides = {
        "WEBHOOK_URL": "http://127.0.0.1:9/prod/casso/webhook",
        "CASSO_API_BASE_URL": casso.api_url,
    }
    env = {
        "PATH": os.environ.get("PATH", ""),
        **FAKE_AWS,
        "AWS_ENDPOINT_URL": endpoint,
        "BENCH_FUNCTION": function,
        **stack.function_environment(spec.environment, overrides),
    }
    # As on Lambda (tracing active): the X-Ray SDK behaves differently elsewhere.
    env.pop("POWERTOOLS_TRACE_DISABLED", None)
    env.update(
        {
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "AWS_LAMBDA_FUNCTION_NAME": function,
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            "_X_AMZN_TRACE_ID": TRACE_HEADER,
            "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        }
    )
    return env


def measure(
    function: str, python: str, layer: Path, code: Path, casso: CassoSimulator, workdir: Path
) -> dict[str, Any]:
    """RUNS pairs of fresh processes, handler and floor back to back (alternating which goes
    first), each against its own stack; the calls each makes are counted where they land."""
    short = FUNCTIONS[function]
    FULL_GC.clear()
    handler: list[float] = []
    floor: list[float] = []
    handler_cpu: list[float] = []
    floor_cpu: list[float] = []
    handler_calls: list[dict[str, int]] = []
    floor_calls: list[dict[str, int]] = []
    with local_aws() as (endpoint, stack, clients, server_calls):
        if short == "reconciler":
            seed_ledger(casso, clients, stack)
        env = child_env(function, endpoint, stack, casso)

        def one(args: list[str]) -> tuple[float, float, Any, dict[str, int]]:
            aws_before, casso_before = server_calls.snapshot(), len(casso.api_calls)
            ms, cpu, answer = run_child(python, args, env)
            calls = server_calls.since(aws_before)
            for method, path in casso.api_calls[casso_before:]:
                key = f"Casso {method} {path}"
                calls[key] = calls.get(key, 0) + 1
            return ms, cpu, answer, calls

        for run in range(RUNS):
            event = prepare(function, run, stack, clients, workdir)
            sides = [
                ("handler", ["handler", str(code), str(layer), str(event)]),
                ("floor", [f"floor-{short}", str(layer)]),
            ]
            for side, args in sides if run % 2 == 0 else sides[::-1]:
                ms, cpu, answer, calls = one(args)
                if side == "handler":
                    check(function, run, answer, stack, clients)
                    handler.append(ms)
                    handler_cpu.append(cpu)
                    handler_calls.append(calls)
                else:
                    floor.append(ms)
                    floor_cpu.append(cpu)
                    floor_calls.append(calls)
    ratios = pair_ratios(handler, floor)
    cpu_ratios = pair_ratios(handler_cpu, floor_cpu)
    full_gc = {
        side: {key: spread([g[key] for g in FULL_GC[mode]]) for key in ("as_left", "unfrozen")}
        for side, mode in (("handler", "handler"), ("floor", f"floor-{short}"))
    }
    return {
        "full_collection_after_first_call_ms": full_gc,
        "handler_ms": spread(handler),
        "floor_ms": spread(floor),
        "pair_ratio": spread(ratios, 3),
        "handler_cpu_ms": spread(handler_cpu),
        "floor_cpu_ms": spread(floor_cpu),
        "pair_ratio_cpu": spread(cpu_ratios, 3),
        "goal_ratio": GOALS[function],
        "verdict": verdict(median(ratios), GOALS[function]),
        # The calls of the last pair; every pair is checked to make the same ones.
        "calls": {"handler": handler_calls[-1], "floor": floor_calls[-1]},
        "same_calls_every_run": all(
            h == f for h, f in zip(handler_calls, floor_calls, strict=True)
        ),
        "_ratios": ratios,
        "_cpu_ratios": cpu_ratios,
        "_handler": handler,
        "_floor": floor,
        "_env": env,
    }


def import_costs(python: str, layer: Path, env: dict[str, str]) -> list[tuple[str, float]]:
    """What each top-level dependency adds to the receiver's import (`python -X importtime`)."""
    code = (
        BUILD / "ReceiverFunction"
        if (BUILD / "ReceiverFunction").is_dir()
        else ROOT / "functions" / "receiver"
    )
    result = subprocess.run(
        [
            python,
            "-S",
            "-X",
            "importtime",
            "-c",
            f"import sys; sys.path[:0] = [{str(code)!r}, {str(layer)!r}]; import app",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    totals: dict[str, float] = {}
    for line in result.stderr.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2].rstrip()
        depth = (len(name) - len(name.lstrip())) // 2
        if depth == 1:  # imported by app itself
            package = name.strip().split(".")[0]
            totals[package] = totals.get(package, 0.0) + int(parts[1]) / 1000
    return sorted(totals.items(), key=lambda item: -item[1])


def main() -> dict[str, Any]:
    before = machine()
    python, layer, how = interpreter()
    rows, results, envs = [], {}, {}
    with (
        CassoSimulator(api_key=LOCAL_CASSO_API_KEY) as casso,
        tempfile.TemporaryDirectory() as workdir,
    ):
        for n in range(CASSO_TRANSACTIONS):
            casso.add_transaction(10_000 + n, f"DH{n}", deliver=False)
        for function in FUNCTIONS:
            spec = function_spec(load_template(), function)
            code = (
                BUILD / function
                if (BUILD / function).is_dir() and "built" in how
                else spec.code_dir
            )
            m = measure(function, python, layer, code, casso, Path(workdir))
            ratios, handler, floor = m.pop("_ratios"), m.pop("_handler"), m.pop("_floor")
            envs[function] = m.pop("_env")
            cpu_ratios = m.pop("_cpu_ratios")
            results[function] = m
            rows.append(
                [
                    function,
                    shown(handler),
                    shown(floor),
                    shown(ratios, 2, "x"),
                    f"<= {GOALS[function]:.2f}x",
                    m["verdict"],
                    shown(cpu_ratios, 2, "x"),
                    "yes" if m["same_calls_every_run"] else "NO",
                ]
            )
    print(
        table(
            f"Cold start: import + first call, {RUNS} pairs of fresh processes, handler and "
            f"floor alternating ({how}); median (min-max)",
            [
                "function",
                "handler ms",
                "floor ms (bare boto3, same calls)",
                "per-pair ratio",
                "goal",
                "verdict",
                "CPU-time ratio",
                "same calls",
            ],
            rows,
        )
    )
    for function, m in results.items():
        print(f"  {function} calls per cold start: {calls_text(m['calls']['handler'])}")
    print(
        table(
            "A full garbage collection after the first call (ms, median (min-max)): the "
            "handlers freeze their set-up heap (gc.freeze), the floors don't",
            ["function", "handler, heap as left", "handler, unfrozen", "floor"],
            [
                [
                    function,
                    _shown(m["full_collection_after_first_call_ms"]["handler"]["as_left"]),
                    _shown(m["full_collection_after_first_call_ms"]["handler"]["unfrozen"]),
                    _shown(m["full_collection_after_first_call_ms"]["floor"]["as_left"]),
                ]
                for function, m in results.items()
                if function in FUNCTIONS
            ],
        )
    )
    costs = import_costs(python, layer, envs["ReceiverFunction"])
    print(
        table(
            "What the receiver's imports cost (python -X importtime, cumulative ms, one run)",
            ["imported by app", "ms"],
            [[name, f"{ms:.0f}"] for name, ms in costs[:8]],
        )
    )
    print(machine_line(before))
    results["receiver_imports_ms"] = {name: round(ms, 1) for name, ms in costs[:8]}
    save("cold_start", {"runs": RUNS, "interpreter": how, **results}, before=before)
    return results


def _shown(s: dict[str, float]) -> str:
    return f"{s['median']:.1f} ({s['min']:.1f}-{s['max']:.1f})"


if __name__ == "__main__":
    main()
