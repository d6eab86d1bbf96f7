"""`make demo`'s summary: what the story left, each figure checked against the story's."""

from __future__ import annotations

from collections import Counter
from typing import Any

from local.cli import story
from local.cli.render import table


def vnd(amount: Any) -> str:
    return f"{int(amount):,}"


class Checks:
    """Expected against seen; the failures decide the exit status."""

    def __init__(self) -> None:
        self.failed: list[str] = []

    def __call__(self, ok: bool, what: str) -> str:
        if not ok:
            self.failed.append(what)
        return "ok" if ok else f"EXPECTED {what}"


# What the summary's tables say beside a row the story's forged v1 delivery accounts for.
FORGED = f"transaction {story.FORGED_V1_ID}: the forged v1 delivery, unknown to Casso"
NOTES = {"unconfirmed": FORGED, "Payment Unconfirmed": FORGED}


def _counted(what: str, unit: str, seen: Counter, expected: dict[str, int], check: Checks) -> str:
    """A table of counts, each checked against the story's."""
    rows = [
        [name, seen.get(name, 0), check(seen.get(name, 0) == n, f"{n} {name}"), NOTES.get(name, "")]
        for name, n in expected.items()
    ]
    return table([what, unit, "check", "note"], rows)


def summarise(seen: dict[str, Any], check: Checks) -> None:
    print("\nOrders")
    rows = []
    for code, (status, paid) in story.EXPECTED_ORDERS.items():
        order = seen["orders"][code]
        rows.append(
            [
                code,
                vnd(order.expected_amount),
                vnd(order.paid_amount),
                order.status,
                ",".join(map(str, sorted(order.payments))) or "-",
                vnd(order.refunded_amount),
                ",".join(f"{t}:{vnd(p['amount'])}" for t, p in sorted(order.late.items())) or "-",
                check(
                    (order.status, order.paid_amount) == (status, paid)
                    and order.refunded_amount == story.EXPECTED_REFUNDED.get(code, 0)
                    and {int(p["amount"]) for p in order.late.values()}
                    == ({story.EXPECTED_LATE[code]} if code in story.EXPECTED_LATE else set()),
                    f"{code} {status} {vnd(paid)}, refunded "
                    f"{vnd(story.EXPECTED_REFUNDED.get(code, 0))}, late "
                    f"{vnd(story.EXPECTED_LATE.get(code, 0))}",
                ),
            ]
        )
    headers = ["order", "expected", "paid", "status", "transactions", "refunded", "late"]
    print(table([*headers, "check"], rows))

    print("\nLedger by outcome")
    print(_counted("outcome", "transactions", seen["outcomes"], story.EXPECTED_OUTCOMES, check))
    total = sum(seen["outcomes"].values())
    check(total == sum(story.EXPECTED_OUTCOMES.values()), "no other outcome")
    print("  by source: " + ", ".join(f"{k} {v}" for k, v in sorted(seen["sources"].items())))

    print("\nEvents published")
    print(_counted("detail-type", "count", seen["events"], story.EXPECTED_EVENTS, check))

    answers = seen["answers"]
    rejected = answers.get(401, 0)
    check(rejected == story.EXPECTED_REJECTED, f"{story.EXPECTED_REJECTED} rejected delivery")
    # How many deliveries Casso repeats depends on timing (a delivery answered after Casso's
    # 5 s is retried, and the repeat dropped), so only the designed one is a requirement.
    duplicates = seen["duplicates"]
    check(
        duplicates >= story.EXPECTED_DUPLICATES,
        f"at least {story.EXPECTED_DUPLICATES} duplicate",
    )
    print(
        f"\nDuplicate deliveries acknowledged and dropped: {duplicates} "
        f"({story.EXPECTED_DUPLICATES} by design; Casso retried {seen['retried']} deliveries)"
    )
    print(
        "Deliveries answered by the receiver: "
        + ", ".join(f"{status}: {n}" for status, n in sorted(answers.items()))
        + f"  (rejected: {rejected})"
    )
    dead = seen["queues"]["TransactionDeadLetterQueue"]
    check(dead == 0, "an empty dead-letter queue")
    print(f"Queues: transactions {seen['queues']['TransactionQueue']}, dead-letter {dead}")
