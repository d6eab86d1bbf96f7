"""The rounds of a cold-start benchmark: fresh python3.13 processes (bench/cold_child.py),
one per side a round, against a local AWS of the function's own; each side's calls are
counted, and its requests' shapes compared with the handler's, where they land."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.cold_scenarios import FUNCTIONS, check, child_env, prepare, seed_ledger
from bench.common import local_aws
from local.casso.simulator import CassoSimulator

CHILD = Path(__file__).resolve().parent / "cold_child.py"
OBJECTS_ALIVE = 50_000  # before the clock, a round's count is drawn from 0 to this
# Each side's transactions: run + its index in the round x this, apart from the others'.
SIDE_RUNS = 3_000


@dataclass
class Samples:
    """What the rounds measured, by side (in the order the sides were given)."""

    wall: dict[str, list[float]]
    cpu: dict[str, list[float]]
    calls: dict[str, list[dict[str, int]]]
    full_gc: dict[str, list[dict[str, float]]]  # a full collection after the first call
    same_requests: list[bool] = field(default_factory=list)  # per round, every side's
    env: dict[str, str] = field(default_factory=dict)


def run_child(
    python: str, args: list[str], env: dict[str, str]
) -> tuple[float, float, Any, dict[str, float]]:
    """Milliseconds from the first import to the first answer (wall, then the child's CPU),
    that answer, and what a full collection cost afterwards."""
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
            return measured["ms"], measured["cpu_ms"], measured["answer"], measured["full_gc_ms"]
    raise RuntimeError(f"{args}: no result\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")


def measure(
    function: str,
    python: str,
    sides: dict[str, list[str]],
    casso: CassoSimulator,
    workdir: Path,
    runs: int,
) -> Samples:
    """`runs` rounds; each round runs every side once (which goes first rotates). `sides`
    maps a side's name to its child's arguments, the handler first; every handler's answer
    is checked."""
    names = list(sides)
    samples = Samples(
        wall={s: [] for s in names},
        cpu={s: [] for s in names},
        calls={s: [] for s in names},
        full_gc={s: [] for s in names},
    )
    with local_aws() as (endpoint, stack, clients, server_calls):
        if FUNCTIONS[function] == "reconciler":
            seed_ledger(casso, clients, stack)
        samples.env = env = child_env(function, endpoint, stack, casso)

        def one(side: str, number: int, alive: int) -> list[str]:
            # Each side's state is made just before it runs (the reconciler's: no webhook
            # registered yet), for a transaction of its own.
            event = prepare(function, number, stack, clients, workdir)
            aws_before, casso_before = server_calls.snapshot(), len(casso.api_calls)
            ms, cpu_ms, answer, full_gc = run_child(
                python, [*sides[side], str(event)], {**env, "BENCH_OBJECTS_ALIVE": str(alive)}
            )
            made, shapes = server_calls.since(aws_before), server_calls.shapes_since(aws_before)
            if sides[side][0] == "handler":  # a run that failed fast must not pass for cheap
                check(function, number, answer, stack, clients)  # (after the count: it reads)
            for method, path in casso.api_calls[casso_before:]:
                key = f"Casso {method} {path}"
                made[key] = made.get(key, 0) + 1
            samples.wall[side].append(ms)
            samples.cpu[side].append(cpu_ms)
            samples.calls[side].append(made)
            samples.full_gc[side].append(full_gc)
            return shapes

        # One unmeasured handler run first, so the first measured one doesn't also pay for
        # reading the build from disk and the local AWS's first requests.
        one(names[0], runs, 0)
        for measured in (samples.wall, samples.cpu, samples.calls, samples.full_gc):
            measured[names[0]].clear()
        for run in range(runs):
            shapes = {}
            # Where a bare function's full collections fall moves its cold start by some
            # 15 ms (docs/benchmarks.md#cold-start); one fixed count would pick one of them.
            alive = random.Random(run).randrange(OBJECTS_ALIVE)  # noqa: S311 (a sample, no secret)
            for n in range(len(names)):
                side = names[(run + n) % len(names)]
                shapes[side] = one(side, run + names.index(side) * SIDE_RUNS, alive)
            same_requests = all(shapes[side] == shapes[names[0]] for side in names)
            if not same_requests and all(samples.same_requests):
                _print_difference(function, shapes[names[0]], shapes[names[1]])
            samples.same_requests.append(same_requests)
    return samples


def _print_difference(function: str, handler: list[str], floor: list[str]) -> None:
    """Where a floor's requests first part from its handler's (a floor to bring in line)."""
    # Counted: a request made twice by one side and once by the other differs too.
    only_handler = list((Counter(handler) - Counter(floor)).elements())
    only_floor = list((Counter(floor) - Counter(handler)).elements())
    print(f"  {function}: the floor's requests differ from the handler's", file=sys.stderr)
    for label, shapes in (("handler only", only_handler), ("floor only", only_floor)):
        for shape in shapes:
            print(f"    {label}: {shape}", file=sys.stderr)
