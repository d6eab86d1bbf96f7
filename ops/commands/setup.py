"""Commands on the stack's set-up: the Casso API key, the V2 checksum key, a reconciler run
now, and the deployed functions' environments for `sam local invoke`."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path

import boto3

from local.stack.template import load_template, sam_env_vars
from ops.casso_setup import (
    SetupError,
    describe_run,
    reconcile_now,
    set_api_key,
    set_checksum_key,
)
from ops.commands import Failed, Outputs, failing_on
from ops.env_json import deployed_environments


def _ask(prompt: str) -> str:
    """A secret from the terminal, unechoed, or from standard input when it is piped: kept
    out of the shell's history and the process list."""
    return getpass.getpass(prompt) if sys.stdin.isatty() else sys.stdin.read()


def cmd_set_api_key(args: argparse.Namespace, outputs: Outputs) -> str:
    key = _ask("Casso API key (my.casso.vn, API Key): ")
    with failing_on(SetupError):
        change = set_api_key(boto3.client("secretsmanager"), outputs["CassoApiKeySecretArn"], key)
    lines = [f"api_key set in {change.secret_id}"]
    if change.access_token_dropped:
        lines.append("the OAuth2 access_token it held is emptied: the reconciler uses the key now")
    lines.append(
        f"next, to register the webhook now: {_python()} -m ops reconcile --stack {args.stack}"
    )
    return "\n".join(lines)


def _python() -> str:
    """This interpreter (the project's .venv), as typed from where the operator stands."""
    try:
        return str(Path(sys.executable).relative_to(Path.cwd()))
    except ValueError:
        return sys.executable


def cmd_set_checksum_key(args: argparse.Namespace, outputs: Outputs) -> str:
    key = args.key
    if key is None:
        key = _ask("Casso checksum key: ")
    with failing_on(SetupError):
        change = set_checksum_key(boto3.client("secretsmanager"), outputs["WebhookSecretArn"], key)
    lines = [f"checksum_key set in {change.secret_id}; the other fields are unchanged"]
    if change.previous_kept:
        lines.append(
            "the old key is kept as checksum_key_previous: empty it once Casso's retries end"
        )
    return "\n".join(lines)


def cmd_reconcile(args: argparse.Namespace, outputs: Outputs) -> str:
    result = reconcile_now(boto3.client("lambda"), outputs["ReconcilerFunctionName"])
    if result.error:
        raise Failed(f"the run failed: {result.error}")
    summary = "\n".join(describe_run(result.summary))
    if not result.ok:
        raise Failed(summary, report=summary)
    return summary


def cmd_env_json(args: argparse.Namespace, outputs: Outputs) -> str:
    """The deployed functions' environments as a `sam local invoke --env-vars` file."""
    environments = deployed_environments(
        boto3.client("cloudformation"), boto3.client("lambda"), args.stack
    )
    try:
        env_vars = sam_env_vars(load_template(), environments)
    except KeyError as error:
        raise Failed(f"stack {args.stack} does not match template.yaml: {error}") from None
    Path(args.output).write_text(json.dumps(env_vars, indent=2) + "\n")
    return f"wrote {args.output}: sam local invoke FUNCTION -e EVENT --env-vars {args.output}"
