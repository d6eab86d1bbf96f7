"""`python -m local.cli show | head`, `python -m ops quarantine list | head`: a reader that
stops early ends the command quietly, through a real pipe."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from local.cli.sample_events import V1_ITEM
from local.stack.template import ROOT
from ops.closed_stdout import CLOSED_STDOUT_STATUS
from tests.helpers import NOW, local_cli_env
from tests.integration.test_ops import fake_deployed_stack

pytestmark = pytest.mark.integration

# The smallest pipe Linux makes (a page): little output is then more than it holds.
SMALL_PIPE = 4096


@dataclass(frozen=True)
class HeadRead:
    capacity: int  # what the pipe held
    first_line: str
    status: int
    stderr: str


def read_one_line_and_close(command: list[str], env: dict[str, str]) -> HeadRead:
    """What `command | head -1` does: read the first line, close the pipe, wait."""
    read_end, write_end = os.pipe()
    capacity = fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, SMALL_PIPE)
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=write_end, stderr=stderr)
        os.close(write_end)
        # Unbuffered: readline takes the first line and not a byte more.
        with open(read_end, "rb", buffering=0) as reader:
            first_line = reader.readline().decode()
        status = process.wait(timeout=120)
        stderr.seek(0)
        return HeadRead(capacity, first_line, status, stderr.read().decode())


def assert_ends_quietly(command: list[str], env: dict[str, str]) -> str:
    whole = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=120)
    assert whole.returncode == 0, whole.stderr
    head = read_one_line_and_close(command, env)
    # More than the pipe holds beyond the line read: the command was still writing when the
    # reader closed, whatever the timing, so it met the closed pipe.
    assert len(whole.stdout) > head.capacity + len(head.first_line.encode())
    assert head.first_line == whole.stdout.decode().splitlines(keepends=True)[0]
    assert "Traceback" not in head.stderr
    assert head.stderr == ""
    assert head.status == CLOSED_STDOUT_STATUS
    return head.first_line


def test_local_cli_show_piped_into_head_ends_quietly(server_stack, tmp_path: Path):
    for n in range(300):
        server_stack.orders.create(f"DH{n}", 1000, now=NOW)
    env = local_cli_env(server_stack, tmp_path)

    first = assert_ends_quietly([sys.executable, "-m", "local.cli", "show", "--all"], env)
    assert first == "Orders: 300 (PENDING: 300)\n"


def test_ops_quarantine_list_piped_into_head_ends_quietly(server_stack):
    for n in range(80):
        server_stack.ledger.quarantine(
            body=json.dumps({"error": 0, "data": [{**V1_ITEM, "id": n, "amount": str(n)}]}),
            reason="data[0].amount: expected a whole number, got str",
            generation="v1",
            now=NOW,
        )
    stack = fake_deployed_stack(server_stack)
    env = {**os.environ, "AWS_ENDPOINT_URL": server_stack.endpoint}
    command = [sys.executable, "-m", "ops", "quarantine", "list", "--stack", stack]

    first = assert_ends_quietly(command, env)
    assert "data[0].amount: expected a whole number, got str" in first
