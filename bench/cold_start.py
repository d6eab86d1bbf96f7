"""Cold start: import and first call of each handler in a fresh interpreter, against the
same AWS calls made by a bare boto3 handler (the floor). Runs the built layer
(`make build`) with python3.13, as Lambda would; falls back to the sources otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.cold_scenarios import FUNCTIONS, check, child_env, prepare, seed_ledger
from bench.common import (
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
from local.sample_events import LOCAL_CASSO_API_KEY
from local.template import ROOT, function_spec, load_template

RUNS = int(os.environ.get("BENCH_COLD_RUNS", "15"))
# The goals of issue 13: a cold start at most this many times the same calls made bare.
GOALS = {"ReceiverFunction": 1.10, "ProcessorFunction": 1.15, "ReconcilerFunction": 1.15}
CHILD = Path(__file__).resolve().parent / "cold_child.py"
BUILD = ROOT / ".aws-sam" / "build"
CASSO_TRANSACTIONS = 20
# Each side's transactions: run + its index in SIDES x this, apart from the others'.
FLOOR_RUNS = 3_000
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
        if not any((layer / "casso_payments" / "__pycache__").glob("*.cpython-313.pyc")):
            # Measured as Lambda would run it: every module compiled at every cold start.
            return found, layer, "python3.13 + built layer WITHOUT bytecode (run make build)"
        return found, layer, "python3.13 + built layer, with its bytecode"
    return sys.executable, ROOT / "layers" / "casso", "venv python + layer sources (run make build)"


def run_child(python: str, args: list[str], env: dict[str, str]) -> tuple[float, float, Any]:
    """Milliseconds from the first import to the first answer (wall, then the child's CPU),
    and that answer. What a full collection cost afterwards goes to FULL_GC."""
    result = subprocess.run(
        # -B: the children run the build as shipped and never add bytecode to it.
        [python, "-S", "-B", str(CHILD), *args],
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


SIDES = ("handler", "floor", "never_collecting")  # the last: a floor with gc.disable()


def measure(
    function: str, python: str, layer: Path, code: Path, casso: CassoSimulator, workdir: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    """RUNS rounds of fresh processes: the handler, its floor, and the floor with the
    garbage collector off (which goes first rotates), against a stack of the function's own;
    the calls each makes are counted where they land. Returns the figures, and the samples
    and environment they came from."""
    short = FUNCTIONS[function]
    FULL_GC.clear()
    wall: dict[str, list[float]] = {side: [] for side in SIDES}
    cpu: dict[str, list[float]] = {side: [] for side in SIDES}
    calls: dict[str, list[dict[str, int]]] = {side: [] for side in SIDES}
    same_requests: list[bool] = []
    arguments = {
        "handler": ["handler", str(code), str(layer)],
        "floor": [f"floor-{short}", str(layer)],
        "never_collecting": [f"floor-{short}-never-collecting", str(layer)],
    }
    with local_aws() as (endpoint, stack, clients, server_calls):
        if short == "reconciler":
            seed_ledger(casso, clients, stack)
        env = child_env(function, endpoint, stack, casso)

        def one(side: str, number: int) -> tuple[Any, list[str]]:
            # Each side's state is made just before it runs (the reconciler's: no webhook
            # registered yet), for a transaction of its own.
            event = prepare(function, number, stack, clients, workdir)
            aws_before, casso_before = server_calls.snapshot(), len(casso.api_calls)
            ms, cpu_ms, answer = run_child(python, [*arguments[side], str(event)], env)
            made = server_calls.since(aws_before)
            for method, path in casso.api_calls[casso_before:]:
                key = f"Casso {method} {path}"
                made[key] = made.get(key, 0) + 1
            wall[side].append(ms)
            cpu[side].append(cpu_ms)
            calls[side].append(made)
            return answer, server_calls.shapes_since(aws_before)

        # One unmeasured handler run first, so the first measured one doesn't also pay for
        # reading the build from disk and the local AWS's first requests.
        check(function, RUNS, one("handler", RUNS)[0], stack, clients)
        for samples in (wall, cpu, calls):
            samples["handler"].clear()
        for run in range(RUNS):
            shapes = {}
            for n in range(len(SIDES)):
                side = SIDES[(run + n) % len(SIDES)]
                answer, shapes[side] = one(side, run + SIDES.index(side) * FLOOR_RUNS)
                if side == "handler":
                    check(function, run, answer, stack, clients)
            same_requests.append(all(shapes[side] == shapes["handler"] for side in SIDES))
            if not same_requests[-1] and same_requests.count(False) == 1:
                _print_difference(function, shapes["handler"], shapes["floor"])
    ratios = pair_ratios(wall["handler"], wall["floor"])
    cpu_ratios = pair_ratios(cpu["handler"], cpu["floor"])
    never_ratios = pair_ratios(wall["handler"], wall["never_collecting"])
    full_gc = {
        side: {key: spread([g[key] for g in FULL_GC[mode]]) for key in ("as_left", "unfrozen")}
        for side, mode in (("handler", "handler"), ("floor", f"floor-{short}"))
    }
    figures = {
        "full_collection_after_first_call_ms": full_gc,
        "handler_ms": spread(wall["handler"]),
        "floor_ms": spread(wall["floor"]),
        "pair_ratio": spread(ratios, 3),
        "handler_cpu_ms": spread(cpu["handler"]),
        "floor_cpu_ms": spread(cpu["floor"]),
        "pair_ratio_cpu": spread(cpu_ratios, 3),
        # The handlers pause the collector during set-up (cold_start.py); the floor doesn't.
        # Against a floor that never collects either, the ratio is what the code alone adds.
        "floor_never_collecting_ms": spread(wall["never_collecting"]),
        "pair_ratio_never_collecting": spread(never_ratios, 3),
        "goal_ratio": GOALS[function],
        "verdict": verdict(median(ratios), GOALS[function]),
        # The calls of the last round; every round is checked to make the same ones.
        "calls": {"handler": calls["handler"][-1], "floor": calls["floor"][-1]},
        "same_calls_every_run": all(
            all(c[run] == calls["handler"][run] for c in calls.values()) for run in range(RUNS)
        ),
        # And the same requests: parameters, expressions and items alike (request_shape).
        "same_requests_every_run": all(same_requests),
    }
    samples = {
        "ratios": ratios,
        "cpu_ratios": cpu_ratios,
        "never_ratios": never_ratios,
        "handler": wall["handler"],
        "floor": wall["floor"],
    }
    return figures, {**samples, "env": env}


def _print_difference(function: str, handler: list[str], floor: list[str]) -> None:
    """Where a floor's requests first part from its handler's (a floor to bring in line)."""
    only_handler = [s for s in handler if s not in floor]
    only_floor = [s for s in floor if s not in handler]
    print(f"  {function}: the floor's requests differ from the handler's", file=sys.stderr)
    for label, shapes in (("handler only", only_handler), ("floor only", only_floor)):
        for shape in shapes:
            print(f"    {label}: {shape}", file=sys.stderr)


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
            "-B",
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
            m, samples = measure(function, python, layer, code, casso, Path(workdir))
            ratios, cpu_ratios = samples["ratios"], samples["cpu_ratios"]
            never_ratios = samples["never_ratios"]
            handler, floor, envs[function] = samples["handler"], samples["floor"], samples["env"]
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
                    shown(never_ratios, 2, "x"),
                    "yes" if m["same_calls_every_run"] and m["same_requests_every_run"] else "NO",
                ]
            )
    print(
        table(
            f"Cold start: import + first call, {RUNS} rounds of fresh processes, handler and "
            f"floors in turn ({how}); median (min-max)",
            [
                "function",
                "handler ms",
                "floor ms (bare boto3, same requests)",
                "per-pair ratio",
                "goal",
                "verdict",
                "CPU-time ratio",
                "ratio, floor never collecting",
                "same requests",
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
