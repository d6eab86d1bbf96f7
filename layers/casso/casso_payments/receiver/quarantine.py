"""Quarantined deliveries: authenticated bodies the code could not understand, kept whole in
the ledger for a person (`Ledger.quarantine`), who lists them, releases one (`release`:
replayed through the intake once the code understands it) or discards one
(`python -m ops quarantine ...`).

The item's `reason` is the first MAX_PROBLEMS_SHOWN problems and a count of the rest; the
body is at most MaxBodyBytes (350,000 at most), so the item always fits DynamoDB's 400 KB.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from casso_payments.casso.payload import Problem

MAX_PROBLEMS_SHOWN: Final = 20
MAX_PROBLEM_CHARS: Final = 300


class NotQuarantined(LookupError):
    """No quarantined delivery has this key."""


def reason(problems: Sequence[Problem], *, safe: bool = False) -> str:
    """The problems as one bounded line: a delivery with 130,000 bad items must still fit an
    item (and a log line). `safe`: as logs show them, without the values (`Problem.safe`)."""
    lines = (p.safe if safe else str(p) for p in problems[:MAX_PROBLEMS_SHOWN])
    shown = [p if len(p) <= MAX_PROBLEM_CHARS else p[:MAX_PROBLEM_CHARS] + "..." for p in lines]
    rest = len(problems) - len(shown)
    if rest:
        shown.append(f"and {rest} more problem{'s' if rest > 1 else ''}")
    return "; ".join(shown)
