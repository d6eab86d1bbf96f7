"""The sample events in events/: what `make events` makes, and safe beside the simulator."""

from __future__ import annotations

import json
import re

from local.casso.simulator import FIRST_TRANSACTION_ID
from local.cli.sample_events import EVENTS, sample_events


def test_the_committed_events_are_exactly_what_make_events_makes():
    """Remaking them is deterministic, so `make events` changes no file unless its content
    really changed (and the committed ones are up to date)."""
    first, second = sample_events(), sample_events()
    assert first == second
    for name, event in first.items():
        committed = json.loads((EVENTS / f"{name}.json").read_text())
        assert committed == event, f"events/{name}.json is stale: run `make events`"


def test_sample_transaction_ids_never_collide_with_the_simulators():
    """A sample event sent to a running stack must not take the ledger entry of a simulated
    transaction (the reconciler would then find nothing to backfill)."""
    ids = set()
    for path in EVENTS.glob("*.json"):
        ids.update(
            int(n) for n in re.findall(r'\\"(?:transaction_)?id\\": (\d+)', path.read_text())
        )
    assert ids, "no transaction ids found in the sample events"
    assert max(ids) < FIRST_TRANSACTION_ID
