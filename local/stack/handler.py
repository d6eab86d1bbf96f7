"""A function's handler as Lambda runs it: its module imported from the template's CodeUri
with the layers on the path (afresh each time, as each execution environment does), and the
context it is called with. The local runtime, local invoke, the tests and the benchmarks use
it."""

from __future__ import annotations

import importlib.util
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from local.stack.template import FunctionSpec


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
