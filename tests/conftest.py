"""Fixtures shared by unit and integration tests."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from tests.isolation import isolate

if TYPE_CHECKING:
    from tests.stack import Stack

# Before any boto3 client exists or any stack starts: fake credentials (tests never reach a
# real account), and nothing from the developer's shell or .env (tests/isolation.py).
isolate(os.environ)

# Local AWS must serialise writes to a DynamoDB item as DynamoDB does, and keep SQS calls
# independent of the queue's length (local/stack/moto_server.py): without the first,
# moto lets two concurrent conditional writes both pass.
from local.stack.moto_server import adjust_moto  # noqa: E402 - after the isolation

adjust_moto()


@pytest.fixture
def template() -> dict:
    from local.stack.template import load_template

    return load_template()


@pytest.fixture
def load_handler_of(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """Loads a function's module as Lambda would, fresh: the template's handler, with the
    environment `stack` gives the function, plus overrides. The one way tests load handlers."""
    from local.stack.handler import load_module
    from local.stack.template import function_spec, load_template

    def load(stack: Stack, function: str, **overrides: str) -> Any:
        for name, value in stack.environment(function, **overrides).items():
            monkeypatch.setenv(name, value)
        return load_module(function_spec(load_template(), function))

    return load


# A failing test shows what a person needs: the assertion, plus the captured lines that say
# something went wrong (warnings, errors, tracebacks, prints), not every JSON log line the
# handlers wrote. CASSO_FULL_CAPTURE=1 shows everything.
KEPT_LINES = 60
KEPT_CHARS = 400
SHOWN_WHOLE = 16_000  # a capture up to this many characters is shown as it is


def _matters(line: str) -> bool:
    if not line.startswith("{"):
        return bool(line.strip())
    try:
        record = json.loads(line)
    except ValueError:
        return True
    if not isinstance(record, dict) or "_aws" in record:  # a metrics blob
        return False
    return str(record.get("level", "")).upper() in {"WARNING", "ERROR", "CRITICAL"}


def trim_capture(text: str) -> str:
    if len(text) <= SHOWN_WHOLE:
        return text
    lines = text.splitlines()
    kept = [line if len(line) <= KEPT_CHARS else line[:KEPT_CHARS] + " …" for line in lines]
    kept = [line for line in kept if _matters(line)][-KEPT_LINES:]
    note = (
        f"[{len(lines)} captured lines; showing the last {len(kept)} warnings, errors and "
        f"plain lines, each cut at {KEPT_CHARS} characters: CASSO_FULL_CAPTURE=1 shows all]"
    )
    return "\n".join([note, *kept])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed and not os.environ.get("CASSO_FULL_CAPTURE"):
        report.sections = [
            (title, trim_capture(content) if title.startswith("Captured") else content)
            for title, content in report.sections
        ]
