"""Finding a running local stack and calling its controls: its state file
(`.local-stack/stack.json`, written by the stack once it is up), its clients, its /_local/ API.
The CLI and the end-to-end tests use it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import requests

from local.stack.config import INTEGRATION_TIMEOUT_SECONDS, LOCAL_AWS, STATE_FILE
from local.stack.template import function_spec

if TYPE_CHECKING:  # the stack writes its state with this module
    from local.stack.pipeline import LocalPipeline


class NotRunning(SystemExit):
    pass


# The resources a client of the stack finds by name.
NAMED_RESOURCES = (
    "LedgerTable",
    "OrdersTable",
    "IdempotencyTable",
    "TransactionQueue",
    "TransactionDeadLetterQueue",
    "PaymentsBus",
    "WebhookSecret",
    "CassoApiKeySecret",
)


def describe(stack: LocalPipeline) -> dict[str, Any]:
    """What the state file holds (and /_local/status starts with): where everything is."""
    refs = stack.resources.resolver.refs
    return {
        "pid": os.getpid(),
        "stack_name": stack.stack_name,
        "ports": {"api": stack.front.port, "casso": stack.casso.port, "moto": stack.moto.port},
        "urls": {
            "api": stack.front.base_url,
            "webhook": stack.webhook_url,
            "casso_api": stack.casso.api_url,
            "casso": stack.casso.base_url,
            "moto": stack.moto_url,
        },
        "credentials": {
            "CASSO_SECURE_TOKEN": stack.credentials.secure_token,
            "CASSO_CHECKSUM_KEY": stack.credentials.checksum_key,
            "CASSO_API_KEY": stack.credentials.api_key,
        },
        "generated_credentials": list(stack.credentials.generated),
        # The template parameters it runs with (local.cli reads the payee from them).
        "parameters": dict(stack.parameters),
        "resources": {name: refs[name] for name in NAMED_RESOURCES},
        "environments": {
            logical_id: {k: v for k, v in function.environment.items() if k not in LOCAL_AWS}
            for logical_id, function in stack.functions.items()
        },
        "events_tap_url": stack.events_tap_url,
        # What a client of the controls waits for, at most (see the CLI).
        "settle_seconds": stack.settle_seconds(),
        "function_timeouts": {
            logical_id: function_spec(stack.template, logical_id).timeout
            for logical_id in stack.function_ids
        },
        "logs": str(stack.state_dir / "logs"),
    }


def write_state(state_dir: Path, description: dict[str, Any]) -> None:
    path = state_dir / "stack.json"
    path.write_text(json.dumps(description, indent=2))
    path.chmod(0o600)  # it holds the local credentials


def read_state(state_dir: Path) -> dict[str, Any]:
    return json.loads((state_dir / "stack.json").read_text())


def clear_state(state_dir: Path, pid: int) -> None:
    """Remove the state file if the stack of process `pid` wrote it."""
    state = state_dir / "stack.json"
    if state.exists() and json.loads(state.read_text()).get("pid") == pid:
        state.unlink()


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
