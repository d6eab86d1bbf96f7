"""Local invoke: `sam local invoke`'s contract without Docker.

    python -m local.invoke ReceiverFunction -e events/receiver-v1-valid.json \\
        --env-vars events/env.json [--endpoint-url http://127.0.0.1:5000]

Loads the function's handler as the template defines it (CodeUri, Handler, layers, the
template's environment with --env-vars applied the way SAM applies them), calls it with the
event and prints the response. AWS calls go to --endpoint-url (a local moto server) or,
without it, to the AWS account your credentials name.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from local.stack.handler import LocalContext, load_handler
from local.stack.template import FunctionSpec, function_spec, load_template, parameter_defaults


def environment_for(
    spec: FunctionSpec,
    env_vars: Mapping[str, Any],
    parameters: Mapping[str, str],
    resolved: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The template's variables with SAM's override rules: `Parameters` applies to every
    function, the function's own block wins; only variables the template declares are set.
    A !Ref to a template parameter takes the parameter's default; `resolved` (a running local
    stack's values) fills in references to resources."""
    overrides = {**env_vars.get("Parameters", {}), **env_vars.get(spec.logical_id, {})}
    resolved = resolved or {}
    environment: dict[str, str] = {}
    unresolved: list[str] = []
    for name, value in spec.environment.items():
        if name in overrides:
            environment[name] = str(overrides[name])
        elif name in resolved:
            environment[name] = resolved[name]
        elif isinstance(value, dict) and value.get("Ref") in parameters:
            environment[name] = parameters[value["Ref"]]
        elif isinstance(value, dict):
            unresolved.append(name)
        else:
            environment[name] = str(value)
    if unresolved:
        raise SystemExit(
            f"{spec.logical_id}: give these variables a value in --env-vars "
            f"(they reference stack resources): {', '.join(unresolved)}"
        )
    return environment


# A local endpoint (a moto server) takes any credentials and needs a region, as the local
# stack gives its functions; real ones, when set, are left alone.
LOCAL_ENDPOINT_DEFAULTS = {
    "AWS_DEFAULT_REGION": "ap-southeast-1",
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
}


def run(
    function: str,
    event_path: Path,
    *,
    env_vars_path: Path | None = None,
    endpoint_url: str | None = None,
    resolved: Mapping[str, str] | None = None,
) -> Any:
    """Invoke once and print the response as JSON on stdout (the function's logs go to
    stderr, so the answer can be piped, to jq say). Returns the response."""
    template = load_template()
    spec = function_spec(template, function)
    env_vars = json.loads(env_vars_path.read_text()) if env_vars_path else {}
    os.environ.update(environment_for(spec, env_vars, parameter_defaults(template), resolved))
    if endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = endpoint_url
        for name, value in LOCAL_ENDPOINT_DEFAULTS.items():
            os.environ.setdefault(name, value)
    event = json.loads(event_path.read_text())
    # Powertools' logger binds the stream it writes to when the module is imported. An
    # invocation that records no metric (say, a transaction already processed) makes
    # Powertools warn about the empty flush; locally metrics go nowhere, so the warning is
    # noise (on Lambda the handlers are unchanged).
    with contextlib.redirect_stdout(sys.stderr), warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="No application metrics to publish", category=UserWarning
        )
        handler = load_handler(spec)
        try:
            response = handler(event, LocalContext(function, timeout_seconds=spec.timeout))
        except Exception as error:  # as Lambda reports it: the invocation failed
            # One line: Powertools' batch error carries every record's traceback, and the
            # function's own log above already showed them.
            first = (str(error).splitlines() or [""])[0]
            raise HandlerError(f"{function} raised {type(error).__name__}: {first}") from error
    print(json.dumps(response, indent=2, ensure_ascii=False))
    return response


class HandlerError(RuntimeError):
    """The handler raised: Lambda would report the invocation failed (and retry it)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="local.invoke", description=__doc__.split("\n\n")[0])
    parser.add_argument("function", help="function logical id in template.yaml")
    parser.add_argument("-e", "--event", required=True, type=Path, help="event JSON file")
    parser.add_argument("-n", "--env-vars", type=Path, help="SAM-format environment JSON file")
    parser.add_argument("--endpoint-url", help="send AWS calls here (a local moto server)")
    args = parser.parse_args(argv)
    try:
        run(args.function, args.event, env_vars_path=args.env_vars, endpoint_url=args.endpoint_url)
    except HandlerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
