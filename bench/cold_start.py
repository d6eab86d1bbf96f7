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

from bench.common import FAKE_AWS, local_aws, median, ratio, save, table
from local.casso_simulator import CassoSimulator
from local.sample_events import LOCAL_CASSO_API_KEY, LOCAL_SECURE_TOKEN, V1_ITEM
from local.template import ROOT, function_spec, load_template

RUNS = 15
TRACE_HEADER = "Root=1-6740a9c0-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=1"
CHILD = Path(__file__).resolve().parent / "cold_child.py"
BUILD = ROOT / ".aws-sam" / "build"
FUNCTIONS = {
    "ReceiverFunction": "receiver",
    "ProcessorFunction": "processor",
    "ReconcilerFunction": "reconciler",
}


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


def run_child(python: str, args: list[str], env: dict[str, str]) -> float:
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
            return json.loads(line.removeprefix("BENCH_RESULT "))["ms"]
    raise RuntimeError(f"{args}: no result\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")


def prepare(
    function: str, run: int, stack: Any, clients: dict, casso: CassoSimulator, workdir: Path
) -> Path:
    """The event for one cold invocation (a new transaction each time)."""
    from casso_payments.intake import Delivery, IntakeDeps, receive
    from casso_payments.settings import ReceiverSettings
    from local.lambda_events import rest_proxy_event, sqs_event, sqs_record

    path = workdir / f"{function}-{run}.json"
    transaction = {**V1_ITEM, "id": 10_000 + run, "description": f"DH{run} cold start"}
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
        message = json.dumps({"transaction_id": transaction["id"], "source": "webhook-v1"})
        event = sqs_event([sqs_record(message)])
    else:
        event = {}
    path.write_text(json.dumps(event))
    return path


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
    python, layer, how = interpreter()
    rows, results = [], {}
    with (
        local_aws() as (endpoint, stack, clients),
        CassoSimulator(api_key=LOCAL_CASSO_API_KEY) as casso,
    ):
        for n in range(20):
            casso.add_transaction(10_000 + n, f"DH{n}", deliver=False)
        with tempfile.TemporaryDirectory() as workdir:
            for function, short in FUNCTIONS.items():
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
                code = (
                    BUILD / function
                    if (BUILD / function).is_dir() and "built" in how
                    else spec.code_dir
                )
                handler, floor = [], []
                for run in range(RUNS):
                    event = prepare(function, run, stack, clients, casso, Path(workdir))
                    handler.append(
                        run_child(python, ["handler", str(code), str(layer), str(event)], env)
                    )
                    floor.append(run_child(python, [f"floor-{short}", str(layer)], env))
                if short == "receiver":
                    costs = import_costs(python, layer, env)
                h, f = median(handler), median(floor)
                results[function] = {
                    "handler_ms": round(h, 1),
                    "floor_ms": round(f, 1),
                    "ratio": round(h / f, 2),
                }
                rows.append(
                    [
                        function,
                        f"{h:.0f}",
                        f"{f:.0f}",
                        ratio(h, f),
                        "<= 1.50x" if short == "receiver" else "",
                    ]
                )
    print(
        table(
            f"Cold start: import + first call, median of {RUNS} fresh processes ({how})",
            ["function", "handler ms", "floor ms (boto3, same calls)", "ratio", "goal"],
            rows,
        )
    )
    print(
        table(
            "What the receiver's imports cost (python -X importtime, cumulative ms)",
            ["imported by app", "ms"],
            [[name, f"{ms:.0f}"] for name, ms in costs[:8]],
        )
    )
    results["receiver_imports_ms"] = {name: round(ms, 1) for name, ms in costs[:8]}
    save("cold_start", {"runs": RUNS, "interpreter": how, **results})
    return results


if __name__ == "__main__":
    main()
