"""Runs in a fresh interpreter: time one import-and-first-call, print milliseconds as JSON.

    cold_child.py handler <code dir> <layer dir> <event.json>
    cold_child.py floor-<function>[-never-collecting] <layer dir> <event.json>

Only the standard library is imported before the clock starts; the code and its
dependencies come from the directories given (the built layer, as on Lambda).
"""

import gc
import importlib
import json
import os
import sys
import time
import uuid

mode = sys.argv[1]


class Context:
    function_name = os.environ.get("BENCH_FUNCTION", "bench")
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:ap-southeast-1:123456789012:function:bench"
    aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        # The function's own Timeout: the reconciler plans its Casso calls by what is left.
        return int(os.environ.get("BENCH_TIMEOUT_MS", "30000"))


with open(sys.argv[-1]) as f:
    event = json.load(f)
# Live objects made before the clock, as Lambda's runtime makes its own before it imports a
# handler: their number decides where the collector's full collections fall during set-up,
# and cold_rounds.py varies it from round to round (the same on every side of a round).
already_alive = [[] for _ in range(int(os.environ.get("BENCH_OBJECTS_ALIVE", "0")))]
if mode == "handler":
    code_dir, layer_dir = sys.argv[2:4]
    sys.path[:0] = [code_dir, layer_dir]
    started, cpu = time.perf_counter(), time.process_time()
    import app  # the import is what is measured

    answer = app.lambda_handler(event, Context())
else:
    sys.path[:0] = [sys.argv[2]]
    if mode.endswith("-never-collecting"):  # the floor that pays no garbage collection
        gc.disable()
    started, cpu = time.perf_counter(), time.process_time()
    # Imported on the clock, as the handler's module is: before it, both sides have loaded
    # the same modules, so neither starts its garbage-collection count ahead.
    # floor-processor and floor-processor-never-collecting: bench/floors/processor.py
    floor = importlib.import_module("floors." + mode.split("-")[1])
    answer = floor.floor(event)
elapsed = (time.perf_counter() - started) * 1000
cpu = (time.process_time() - cpu) * 1000


def full_collection_ms() -> float:
    began = time.perf_counter()
    gc.collect()
    return (time.perf_counter() - began) * 1000


# After the clock: what a full collection costs in this warm environment, with the heap as
# set-up left it (frozen, in the handlers), then with everything back in the old generation.
full_gc = {"as_left": full_collection_ms()}
gc.unfreeze()
full_gc["unfrozen"] = full_collection_ms()
sys.stdout = sys.__stdout__
# The answer too: the parent checks it, so a handler that failed fast can't pass as cheap.
# CPU time beside wall time: on a shared machine it is far less swayed by other work.
result = {"ms": elapsed, "cpu_ms": cpu, "full_gc_ms": full_gc, "answer": answer}
print("BENCH_RESULT " + json.dumps(result, default=str))
