"""The operator commands, by topic. Each takes the parsed arguments and the stack's outputs
and returns what to print; `ops.cli` puts them on the command line."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Outputs = dict[str, str]
Command = Callable[[argparse.Namespace, Outputs], str]


class Usage(Exception):
    """The command was asked wrongly: answered like argparse's own errors (exit 2)."""


class Failed(Exception):
    """A command could not do what was asked; the message says why. `report` is what it did
    get done, printed as a successful command's output is."""

    def __init__(self, message: str, *, report: str = "") -> None:
        super().__init__(message)
        self.report = report


@contextmanager
def failing_on(*refusals: type[Exception]) -> Iterator[None]:
    """The layer's refusals (no such transaction, not in a state to settle, ...) are the
    operator's answer, not a crash: each becomes `Failed` with its own message."""
    try:
        yield
    except refusals as error:
        raise Failed(str(error)) from None
