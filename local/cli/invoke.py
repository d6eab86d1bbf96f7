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
import importlib.util
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from local.stack.template import FunctionSpec, function_spec, load_template, parameter_defaults


@dataclass
class LocalContext:
    """The parts of a Lambda context that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int = 512
    timeout_seconds: int = 3
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    # Counted from here, as Lambda counts from the invocation's start.
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:ap-southeast-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self.started
        return max(0, int((self.timeout_seconds - elapsed) * 1000))


def load_module(spec: FunctionSpec) -> ModuleType:
    """Import the handler's module afresh (it reads its environment at import, as on Lambda)."""
    for directory in spec.layer_dirs:
        if str(directory) not in sys.path:
            sys.path.insert(0, str(directory))
    path = spec.code_dir / f"{spec.module.replace('.', '/')}.py"
    # Named as on Lambda (e.g. "app"): names derived from it, such as Powertools Idempotency's
    # record keys, must match across execution environments. Not put in sys.modules, so each
    # load is a fresh execution environment.
    module_spec = importlib.util.spec_from_file_location(spec.module, path)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def load_handler(spec: FunctionSpec) -> Callable[[dict[str, Any], Any], Any]:
    return getattr(load_module(spec), spec.handler)


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
    # Powertools' logger binds the stream it writes to when the module is imported.
    with contextlib.redirect_stdout(sys.stderr):
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
