"""A local Lambda execution environment: one function's handler in its own process.

Like Lambda, each function gets a process of its own with the environment the template
gives it; the handler module is imported once (cold start) and then invoked again and again
(warm). Killing the process mid-invocation is a crash, exactly as on Lambda: whatever the
handler had not finished is retried by its caller.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import sys
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from local.stack.handler import LocalContext
from local.stack.template import function_spec, load_template

# Local-only fault injection, armed through the stack's control API: the process dies right
# after the processor's first order update (between the effect and the ledger mark).
KILL_AFTER_ORDER_UPDATE = "kill-after-order-update"


class InvocationError(RuntimeError):
    """The handler raised, or its process died (`crashed`)."""

    def __init__(self, message: str, *, crashed: bool = False) -> None:
        super().__init__(message)
        self.crashed = crashed


def _arm(module: Any, fault: str) -> None:
    if fault != KILL_AFTER_ORDER_UPDATE:
        raise ValueError(f"unknown fault {fault!r}")
    orders_table = os.environ["ORDERS_TABLE_NAME"]
    events = module.deps.orders.table.dynamodb.meta.events
    table = [""]

    def remember(params: dict[str, Any], **_: Any) -> None:
        table[0] = params.get("TableName", "")

    def die(parsed: dict[str, Any], **_: Any) -> None:
        if table[0] == orders_table and "Attributes" in parsed:  # the order really changed
            os._exit(137)  # as abrupt as a Lambda timeout or an out-of-memory kill

    events.register("before-parameter-build.dynamodb.UpdateItem", remember)
    events.register("after-call.dynamodb.UpdateItem", die)


def _serve(
    connection: Connection,
    logical_id: str,
    environment: dict[str, str],
    log: str,
    context_timeout: int | None,
) -> None:
    """The child process: import the handler once, then answer invocations."""
    sys.stdout = sys.stderr = open(log, "a", buffering=1)  # noqa: SIM115 - lives as long as the process
    os.environ.update(environment)
    from local.stack.handler import load_module  # imported here: the environment must be set first

    spec = function_spec(load_template(), logical_id)
    try:
        module = load_module(spec)
        handler = getattr(module, spec.handler)
    except Exception as error:
        traceback.print_exc()
        connection.send({"ready": False, "error": f"{type(error).__name__}: {error}"})
        return
    # Imported and set up: the parent's first invocation finds a warm environment.
    connection.send({"ready": True})
    while True:
        message = connection.recv()
        if message.get("arm"):
            _arm(module, message["arm"])
            connection.send({"ok": True})
            continue
        try:
            context = LocalContext(logical_id, timeout_seconds=context_timeout or spec.timeout)
            result = handler(message["event"], context)
            connection.send({"ok": True, "result": result})
        except Exception as error:
            traceback.print_exc()
            connection.send({"ok": False, "error": f"{type(error).__name__}: {error}"})


@dataclass
class FunctionProcess:
    """The parent's handle on one function's execution environment."""

    logical_id: str
    environment: dict[str, str]
    log_path: Path
    # Seconds the context reports as remaining (default: the template's timeout). The local
    # stack runs the clock faster; see LocalPipeline.
    context_timeout: int | None = None

    def __post_init__(self) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._process: Any = None
        self._connection: Connection | None = None
        self._lock = threading.Lock()  # one invocation at a time, as one execution environment
        self.cold_starts = 0

    def _ensure(self) -> Connection:
        if self._process is None or not self._process.is_alive():
            parent, child = self._context.Pipe()
            self._process = self._context.Process(
                target=_serve,
                args=(
                    child,
                    self.logical_id,
                    self.environment,
                    str(self.log_path),
                    self.context_timeout,
                ),
                name=f"lambda-{self.logical_id}",
                daemon=True,
            )
            self._process.start()
            self._connection = parent
            self.cold_starts += 1
            try:
                ready = parent.recv()  # blocks until the handler module is imported
            except (EOFError, OSError):
                ready = {"ready": False, "error": f"exit code {self._process.exitcode}"}
            if not ready["ready"]:
                self._process = None
                raise InvocationError(
                    f"{self.logical_id} failed to start ({ready['error']}): see {self.log_path}",
                    crashed=True,
                )
        if self._connection is None:
            raise RuntimeError(f"{self.logical_id}: no connection to its process")
        return self._connection

    def warm(self) -> None:
        """Start the execution environment and import the handler now, not at the first
        invocation (a readiness probe: returns once the module is set up)."""
        with self._lock:
            self._ensure()

    def _exchange(self, message: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            connection = self._ensure()
            try:
                connection.send(message)
                return connection.recv()
            except (EOFError, OSError):
                self._process.join(5)
                code = self._process.exitcode
                self._process = None
                raise InvocationError(
                    f"{self.logical_id} crashed (exit code {code})", crashed=True
                ) from None

    def invoke(self, event: dict[str, Any]) -> Any:
        answer = self._exchange({"event": event})
        if not answer["ok"]:
            raise InvocationError(answer["error"])
        return answer["result"]

    def copies(self, count: int) -> list[FunctionProcess]:
        """`count` more execution environments of this function: same environment, one log."""
        return [
            FunctionProcess(self.logical_id, self.environment, self.log_path, self.context_timeout)
            for _ in range(max(0, count))
        ]

    def arm(self, fault: str) -> None:
        self._exchange({"arm": fault})

    def stop(self) -> None:
        if self._process is not None and self._process.is_alive():
            self._process.kill()
            self._process.join(5)
        self._process = None


class FunctionPool:
    """Several execution environments of one function, as Lambda scales out under load: each
    invocation takes an idle one (a new one cold-starts only when all are busy)."""

    def __init__(self, members: list[FunctionProcess]) -> None:
        self._idle: queue.Queue[FunctionProcess] = queue.Queue()
        self.members = list(members)
        for member in self.members:
            self._idle.put(member)

    def invoke(self, event: dict[str, Any]) -> Any:
        member = self._idle.get()
        try:
            return member.invoke(event)
        finally:
            self._idle.put(member)

    def stop(self) -> None:
        for member in self.members:
            member.stop()


def warm_all(functions: list[FunctionProcess]) -> None:
    """Cold-start every execution environment at once and wait until each is ready."""
    with ThreadPoolExecutor(max_workers=len(functions) or 1) as pool:
        for started in [pool.submit(function.warm) for function in functions]:
            started.result()
