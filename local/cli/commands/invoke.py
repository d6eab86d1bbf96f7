"""Commands for invoking one function by hand, like `sam local invoke`: `invoke` (against the
running stack) and `env-json` (an --env-vars file for SAM itself)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from local.cli.commands.lifecycle import SAMPLE_EVENTS_HINT
from local.cli.stack_client import clients, running
from local.stack.config import LOCAL_AWS, STATE_FILE


def cmd_invoke(args: argparse.Namespace) -> int:
    from local.cli import invoke

    endpoint, resolved, state = args.endpoint_url, None, None
    if endpoint is None and STATE_FILE.exists():
        # Against the running stack: its resources and its moto server.
        state = running()
        endpoint, resolved = state["urls"]["moto"], state["environments"].get(args.function)
        os.environ.update(LOCAL_AWS)
    try:
        response = invoke.run(
            args.function,
            Path(args.event),
            env_vars_path=Path(args.env_vars) if args.env_vars else None,
            endpoint_url=endpoint,
            resolved=resolved,
        )
    except invoke.HandlerError as error:
        print(f"error: {error}", file=sys.stderr)
        response = None
    if (
        isinstance(response, dict)
        and response.get("statusCode") == 401
        and state is not None
        and state["generated_credentials"]
    ):
        print(f"note: {SAMPLE_EVENTS_HINT}", file=sys.stderr)
    if args.function == "ProcessorFunction" and state is not None:
        for line in processing_report(state, json.loads(Path(args.event).read_text()), response):
            print(line, file=sys.stderr)
    return 0 if response is not None else 1


def cmd_env_json(args: argparse.Namespace) -> int:
    """An `--env-vars` file for `sam local invoke` against this running stack."""
    from local.stack.template import load_template, sam_env_vars

    state = running()
    env_vars = sam_env_vars(load_template(), state["environments"])
    if args.host != "127.0.0.1":
        env_vars = {
            function: {k: v.replace("127.0.0.1", args.host) for k, v in variables.items()}
            for function, variables in env_vars.items()
        }
    output = Path(args.output)
    output.write_text(json.dumps(env_vars, indent=2) + "\n")
    network = " --docker-network host" if args.host == "127.0.0.1" else ""
    print(f"wrote {output}. Then, with Docker:")
    print(
        "  AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=ap-southeast-1 "
        f"sam local invoke ReceiverFunction -e events/receiver-v1-valid.json "
        f"--env-vars {output}{network}"
    )
    return 0


def processing_report(state: dict[str, Any], event: dict[str, Any], response: Any) -> list[str]:
    """What the processor did with each record of an SQS event: the ledger's outcome."""
    from casso_payments.aws.dynamo import from_dynamodb

    dynamodb = clients(state)["dynamodb"]
    records = event.get("Records", [])
    # No response: the invocation failed as a whole (every record failed), so all are retried.
    failed = (
        {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        if isinstance(response, dict)
        else {record["messageId"] for record in records}
    )
    lines = []
    for record in records:
        try:
            transaction_id = json.loads(record["body"])["transaction_id"]
        except (ValueError, TypeError, KeyError):
            state_of = "failed" if record["messageId"] in failed else "not failed (unexpected)"
            lines.append(f"message {record['messageId']}: not a transaction message, {state_of}")
            continue
        item = dynamodb.get_item(
            TableName=state["resources"]["LedgerTable"], Key={"pk": {"S": f"TXN#{transaction_id}"}}
        ).get("Item")
        if item is None:
            what = "not in the ledger: nothing to process (send it to the receiver first)"
        elif record["messageId"] in failed:
            what = "failed: reported for retry (see the processor's log above)"
        else:
            entry = from_dynamodb(item)
            what = f"{entry.get('status')}, outcome {entry.get('outcome', '-')}"
            if entry.get("order_code"):
                what += f", order {entry['order_code']}"
        lines.append(f"transaction {transaction_id}: {what}")
    return lines
