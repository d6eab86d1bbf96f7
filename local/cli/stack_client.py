"""Finding a running local stack and calling its controls: its state file
(`.local-stack/stack.json`, written by the stack once it is up: local/stack/state.py), its
clients, its /_local/ API. The CLI and the end-to-end tests use it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import boto3
import requests

from local.stack.config import INTEGRATION_TIMEOUT_SECONDS, LOCAL_AWS, STATE_FILE


class NotRunning(SystemExit):
    pass


def command(arguments: str) -> str:
    """A CLI command line that works as typed from the project root: with this interpreter
    (the project's .venv), not whatever `python` is first on the PATH."""
    try:
        python = str(Path(sys.executable).relative_to(Path.cwd()))
    except ValueError:
        python = sys.executable
    return f"{python} -m local.cli {arguments}"


def running() -> dict[str, Any]:
    """The running stack's state; NotRunning (saying what to do) if there is none."""
    if not STATE_FILE.exists():
        raise NotRunning(f"no local stack is running: start one with `make dev` ({command('up')})")
    state = json.loads(STATE_FILE.read_text())
    try:
        os.kill(state["pid"], 0)
    except OSError:
        raise NotRunning(
            f"the local stack that wrote {STATE_FILE} (pid {state['pid']}) is gone: start it again"
        ) from None
    return state


def clients(state: dict[str, Any]) -> dict[str, Any]:
    """boto3 clients for the stack's local AWS."""
    os.environ.update(LOCAL_AWS)
    return {n: boto3.client(n, endpoint_url=state["urls"]["moto"]) for n in ("dynamodb", "sqs")}


def call(
    state: dict[str, Any], method: str, path: str, *, waits: float = 0.0, **kwargs: Any
) -> Any:
    """A call to the stack's own API; `waits` is how long the work it asks for may take.
    An error answer exits with its message."""
    response = requests.request(
        method,
        f"{state['urls']['api']}/_local/{path}",
        timeout=waits + INTEGRATION_TIMEOUT_SECONDS,
        **kwargs,
    )
    body = response.json()
    if response.status_code >= 400:
        raise SystemExit(body.get("error", response.text))
    return body
