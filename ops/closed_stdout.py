"""A command line whose reader stops early (`... | head`) ends quietly: the entry points of
`python -m ops` and `python -m local.cli` are wrapped in `quiet_when_stdout_closes`."""

from __future__ import annotations

import functools
import os
import signal
import sys
from collections.abc import Callable
from typing import ParamSpec

P = ParamSpec("P")

# What a shell reports for a process a closed pipe ended (`yes | head`: 128 + SIGPIPE).
CLOSED_STDOUT_STATUS = 128 + signal.SIGPIPE


def quiet_when_stdout_closes(main: Callable[P, int]) -> Callable[P, int]:
    """`main`, but a closed stdout ends it with CLOSED_STDOUT_STATUS instead of a traceback.

    Python ignores SIGPIPE, so a write to a closed pipe raises BrokenPipeError wherever the
    command happens to print. Restoring SIGPIPE's default would kill the local stack for
    any client that hangs up on one of its servers; catching it once here does not."""

    @functools.wraps(main)
    def run(*args: P.args, **kwargs: P.kwargs) -> int:
        try:
            try:
                return main(*args, **kwargs)
            finally:
                # What is still buffered (argparse's --help too) meets the closed pipe here.
                sys.stdout.flush()
        except BrokenPipeError:
            # Python flushes stdout once more on the way out: give that flush somewhere to
            # go, or it prints "Exception ignored ... BrokenPipeError" itself.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return CLOSED_STDOUT_STATUS

    return run
