"""What the sample events in events/ should do: the expectations the handler tests check
them against (the events themselves are made by local/cli/sample_events.py)."""

from __future__ import annotations

# Orders the sample events' story starts with: code, expected VND.
LOCAL_ORDERS = (("DH35", 200500), ("DH36", 300000), ("DH1234", 200000))

# What the receiver answers each sample event, in the order `make demo` sends them.
EXPECTED_STATUS = {
    "receiver-v1-valid": 200,
    "receiver-v2-valid": 200,
    "receiver-v2-vietnamese": 200,
    "receiver-duplicate-batch": 200,
    "receiver-v1-second-partial": 200,
    "receiver-v1-money-out": 200,
    "receiver-v1-unmatched": 200,
    "receiver-v2-tampered": 401,
    "receiver-missing-credentials": 401,
    "receiver-malformed": 200,
}
# What ProcessorFunction does with each SQS sample event, after the receiver events above:
# the outcome per transaction id, and the records it reports failed.
EXPECTED_PROCESSING = {
    "processor-matched": ({1: "paid"}, []),
    "processor-partial-pair": ({2: "partially_paid", 3: "partially_paid"}, []),
    "processor-unmatched": ({5: "unmatched"}, []),
    "processor-money-out": ({4: "refund"}, []),  # money out naming DH35: its refund
    "processor-poisoned-batch": ({100245: "overpaid"}, ["msg-poisoned"]),
}
