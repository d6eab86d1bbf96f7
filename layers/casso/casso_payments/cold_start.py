"""What a handler does at module set-up to start cold sooner (issue 13; figures in
docs/benchmarks.md#cold-start). Each handler imports this module FIRST and calls
`set_up_done()` as the last line of its module.

Importing it pauses the cyclic garbage collector. A handler's set-up (boto3, Powertools,
its clients) allocates ~70k objects that live as long as the execution environment:
collecting while they are being made frees nothing, and it was about 9% of each function's
cold-start CPU (some 25 ms of ~270 ms; docs/benchmarks.md#cold-start). `set_up_done()` then moves
every object made so far to the permanent generation (`gc.freeze()`) and resumes
collection, so no later collection, and in particular no full collection inside a warm
invocation, walks them again. Reference counting frees objects as usual throughout; only
the cycle detector waits.
"""

from __future__ import annotations

import gc

gc.disable()


def set_up_done() -> None:
    """The module's set-up is over: freeze what it made, resume collecting."""
    gc.freeze()
    gc.enable()
