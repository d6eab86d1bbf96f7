"""Cold start: import and first call of each handler in a fresh interpreter, against the
same AWS requests made by a bare boto3 handler (the floor, bench/floors/). Runs the build
(`make build`) with python3.13, as Lambda would. The rounds themselves are
bench/cold_rounds.py."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.cold_rounds import Samples, measure
from bench.cold_scenarios import FUNCTIONS
from bench.common import (
    calls_text,
    machine,
    machine_line,
    median,
    pair_ratios,
    repetitions,
    save,
    shown,
    spread,
    table,
    verdict,
)
from local.casso.simulator import CassoSimulator
from local.cli.sample_events import LOCAL_CASSO_API_KEY
from local.stack.template import BUILD, runtime_python

RUNS = repetitions("BENCH_COLD_RUNS")
# The goals of issue 13: a cold start at most this many times the same calls made bare.
GOALS = {
    "ReceiverFunction": 1.10,
    "ProcessorFunction": 1.15,
    "ReconcilerFunction": 1.15,
    "NotifierFunction": 1.15,  # issue 24
    "OrdersApiFunction": 1.15,  # issue 23
}
CASSO_TRANSACTIONS = 20


def interpreter() -> tuple[str, Path, str]:
    """python3.13 and the built layer: Lambda's runtime, and what `sam deploy` ships."""
    found = runtime_python()
    layer = BUILD / "CassoLayer" / "python"
    if found is None or not layer.is_dir():
        sys.exit("cold_start measures the build with python3.13: run make build first")
    if not any((layer / "casso_payments" / "__pycache__").glob("*.cpython-313.pyc")):
        # Measured as Lambda would run it: every module compiled at every cold start.
        return found, layer, "python3.13 + built layer WITHOUT bytecode (run make build)"
    return found, layer, "python3.13 + built layer, with its bytecode"


def round_ratios(samples: Samples) -> dict[str, list[float]]:
    """Per-round ratios: the handler to its floor (wall, CPU) and to the floor never
    collecting, and the build without bytecode to the handler (when that side ran)."""
    wall, cpu = samples.wall, samples.cpu
    ratios = {
        "wall": pair_ratios(wall["handler"], wall["floor"]),
        "cpu": pair_ratios(cpu["handler"], cpu["floor"]),
        # The handlers pause the collector during set-up (cold_start.py); the floor doesn't.
        # Against a floor that never collects either, the ratio is what the code alone adds.
        "never_collecting": pair_ratios(wall["handler"], wall["never_collecting"]),
    }
    if "without_bytecode" in wall:  # the same build as sam build alone leaves it
        ratios["without_bytecode"] = pair_ratios(wall["without_bytecode"], wall["handler"])
    return ratios


def figures(function: str, samples: Samples, ratios: dict[str, list[float]]) -> dict[str, Any]:
    """The function's figures from its rounds: each side's spread and the ratios' (see
    `round_ratios`), the goal's verdict, the calls and whether every round matched."""
    wall, cpu = samples.wall, samples.cpu
    found = {
        "handler_ms": spread(wall["handler"]),
        "floor_ms": spread(wall["floor"]),
        "pair_ratio": spread(ratios["wall"], 3),
        "handler_cpu_ms": spread(cpu["handler"]),
        "floor_cpu_ms": spread(cpu["floor"]),
        "pair_ratio_cpu": spread(ratios["cpu"], 3),
        "floor_never_collecting_ms": spread(wall["never_collecting"]),
        "pair_ratio_never_collecting": spread(ratios["never_collecting"], 3),
        "goal_ratio": GOALS[function],
        "verdict": verdict(median(ratios["wall"]), GOALS[function]),
        "full_collection_after_first_call_ms": {
            side: {
                k: spread([g[k] for g in samples.full_gc[side]]) for k in ("as_left", "unfrozen")
            }
            for side in ("handler", "floor")
        },
        # The calls of the last round; every round is checked to make the same ones.
        "calls": {"handler": samples.calls["handler"][-1], "floor": samples.calls["floor"][-1]},
        "same_calls_every_run": all(
            all(c[run] == samples.calls["handler"][run] for c in samples.calls.values())
            for run in range(len(ratios["wall"]))
        ),
        # And the same requests: parameters, expressions and items alike (request_shape).
        "same_requests_every_run": all(samples.same_requests),
    }
    if "without_bytecode" in ratios:
        found["handler_without_bytecode_ms"] = spread(wall["without_bytecode"])
        found["without_bytecode_ratio"] = spread(ratios["without_bytecode"], 3)
    return found


def sides(function: str, code: Path, layer: Path, bare: Path | None) -> dict[str, list[str]]:
    """Each side's child arguments: the handler, its floor, the floor never collecting, and
    (`bare`: a copy of the build without bytecode) the handler as Lambda would run it."""
    short = FUNCTIONS[function]
    found = {
        "handler": ["handler", str(code), str(layer)],
        "floor": [f"floor-{short}", str(layer)],
        "never_collecting": [f"floor-{short}-never-collecting", str(layer)],
    }
    if bare is not None:
        found["without_bytecode"] = [
            "handler",
            str(bare / function),
            str(bare / "CassoLayer" / "python"),
        ]
    return found


def import_costs(python: str, layer: Path, env: dict[str, str]) -> list[tuple[str, float]]:
    """What each top-level dependency adds to the receiver's import (`python -X importtime`)."""
    code = BUILD / "ReceiverFunction"  # interpreter() has checked there is a build
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
    rows: list[list[str]] = []
    bytecode_rows: list[list[str]] = []
    results: dict[str, Any] = {}
    envs: dict[str, dict[str, str]] = {}
    with (
        CassoSimulator(api_key=LOCAL_CASSO_API_KEY) as casso,
        tempfile.TemporaryDirectory() as workdir,
    ):
        for n in range(CASSO_TRANSACTIONS):
            casso.add_transaction(10_000 + n, f"DH{n}", deliver=False)
        bare = None
        if "with its bytecode" in how:
            bare = Path(workdir) / "without-bytecode"
            shutil.copytree(BUILD, bare, ignore=shutil.ignore_patterns("__pycache__"))
        for function in FUNCTIONS:
            code = BUILD / function
            samples = measure(
                function, python, sides(function, code, layer, bare), casso, Path(workdir), RUNS
            )
            envs[function] = samples.env
            ratios = round_ratios(samples)
            results[function] = m = figures(function, samples, ratios)
            wall = samples.wall
            rows.append(
                [
                    function,
                    shown(wall["handler"]),
                    shown(wall["floor"]),
                    shown(ratios["wall"], 2, "x"),
                    f"<= {GOALS[function]:.2f}x",
                    m["verdict"],
                    shown(ratios["cpu"], 2, "x"),
                    shown(ratios["never_collecting"], 2, "x"),
                    "yes" if m["same_calls_every_run"] and m["same_requests_every_run"] else "NO",
                ]
            )
            if "without_bytecode" in ratios:
                bytecode_rows.append(
                    [
                        function,
                        shown(wall["without_bytecode"]),
                        shown(wall["handler"]),
                        shown(ratios["without_bytecode"], 2, "x"),
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
    if bytecode_rows:
        print(
            table(
                "The bytecode make build ships: the same handlers from a copy of the build "
                "without it, as sam build alone leaves it (Lambda compiles every module at "
                "every cold start then); median (min-max)",
                ["function", "without bytecode ms", "as built ms", "per-pair ratio"],
                bytecode_rows,
            )
        )
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
