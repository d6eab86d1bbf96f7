"""End-to-end: the local stack started once per session by its own CLI, driven only through
HTTP and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from local.cli.stack_client import call
from local.stack.config import free_port
from local.stack.state import read_state
from local.stack.template import ROOT

pytestmark = pytest.mark.e2e


@dataclass
class RunningStack:
    state_dir: Path
    ports: dict[str, int]
    process: subprocess.Popen

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "LOCAL_STACK_DIR": str(self.state_dir)}

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, "-m", "local.cli", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            # Each command bounds its own waits (`wait` by the stack's settle time); this
            # only keeps a hung command from stalling the run.
            timeout=600,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"cli {args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        return result

    def state(self) -> dict[str, Any]:
        return read_state(self.state_dir)

    def status(self) -> dict[str, Any]:
        return call(self.state(), "GET", "status")

    def show(self) -> dict[str, Any]:
        return json.loads(self.cli("show", "--json").stdout)


def start_stack(
    state_dir: Path, ports: dict[str, int] | None = None, extra: tuple[str, ...] = ()
) -> RunningStack:
    ports = ports or {"api": free_port(), "casso": free_port(), "moto": free_port()}
    env = {**os.environ, "LOCAL_STACK_DIR": str(state_dir)}
    for name in ("CASSO_SECURE_TOKEN", "CASSO_CHECKSUM_KEY", "CASSO_API_KEY"):
        env.pop(name, None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "local.cli",
            "up",
            "--reconcile-every",
            "3600",
            *(f"--{name}-port={port}" for name, port in ports.items()),
            *extra,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    stack = RunningStack(state_dir, ports, process)
    # The stack writes stack.json once every function is imported and warm, which a busy
    # machine slows down but does not stop: wait as long as the process is alive, with a
    # bound only so that a hung start fails the run instead of stalling it.
    deadline = time.monotonic() + 600
    while not (state_dir / "stack.json").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            output = process.stdout.read() if process.stdout else ""
            raise RuntimeError(f"the local stack did not start:\n{output}")
        time.sleep(0.1)
    return stack


def stop_stack(stack: RunningStack) -> None:
    if stack.process.poll() is None:
        stack.cli("down", check=False)
        try:
            stack.process.wait(30)
        except subprocess.TimeoutExpired:
            stack.process.kill()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    running = start_stack(tmp_path_factory.mktemp("local-stack"))
    yield running
    stop_stack(running)
