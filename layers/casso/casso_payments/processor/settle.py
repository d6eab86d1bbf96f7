"""A person's decisions on processed transactions (`python -m ops settle|handled|late ...`).

`settle_onto`: bind a needs_review or unmatched transfer to the order a person chose and
reopen it; the processor then applies it by its usual path. `mark_handled`: close one
without an order. For a late payment (kept on an order that had expired): `accept_late`
reopens it for the processor to apply to the order after all (conditional on the transfer not
being on the order yet, `Order Paid` at most once per order, so an accept retried or run
twice pays once); `refund_late` marks it `refund_due` until the refund, a money-out transfer
naming the order, arrives and is linked. `settle_conflict`: a person's decision on a
conflicting version (`Payment Conflict`, or a weaker one kept), recorded on it. Every write
is `Ledger`'s, conditional on the transaction's outcome (or the version's state), so a
decision that no longer fits is refused with the reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from casso_payments.aws.dynamo import timestamp
from casso_payments.events.outcomes import Outcome
from casso_payments.ledger.entries import ORDER, Binding
from casso_payments.ledger.repository import Ledger
from casso_payments.ledger.versions import KEPT, PERSON, SETTLED, Version

# Outcomes a person may settle onto an order, or mark handled without one.
SETTLEABLE: Final = (Outcome.NEEDS_REVIEW, Outcome.UNMATCHED)
HANDLEABLE: Final = (Outcome.NEEDS_REVIEW, Outcome.UNMATCHED, Outcome.UNCONFIRMED)
HANDLED: Final = "handled"
REFUND_DUE: Final = "refund_due"


class CannotSettle(ValueError):
    """A person's decision doesn't fit the transaction's state; the message says why."""


def _state(ledger: Ledger, transaction_id: int) -> dict[str, object]:
    stored = ledger.stored(transaction_id)
    if stored is None:
        raise CannotSettle(f"transaction {transaction_id} is not in the ledger")
    return stored


def settle_onto(
    ledger: Ledger, transaction_id: int, order_code: str, *, now: datetime, by: str, note: str = ""
) -> int:
    """Bind a needs_review or unmatched transaction of money in to the order a person chose
    and reopen it; returns the replay number its queue message must carry."""
    binding = Binding(ORDER, order_code, (), timestamp(now), f"ops:{by}", note)
    replays = ledger.rebind(
        transaction_id,
        binding,
        now=now,
        was="settled_from",
        outcomes=SETTLEABLE,
        money_in_unbound=True,
    )
    if replays is None:
        stored = _state(ledger, transaction_id)
        bound = (stored.get("binding") or {}).get("order_code")  # type: ignore[attr-defined]
        raise CannotSettle(
            f"transaction {transaction_id} can't be settled: it is {stored.get('status')}"
            f" with outcome {stored.get('outcome')!r}"
            + (f", already bound to order {bound}" if bound else "")
            + f" (only {' or '.join(SETTLEABLE)} transactions of money in can be)"
        )
    return replays


def mark_handled(ledger: Ledger, transaction_id: int, *, now: datetime, by: str, note: str) -> str:
    """Close a needs_review, unmatched or unconfirmed transaction without an order; returns
    the outcome it had (kept as `handled_from`)."""
    item = ledger.close(
        transaction_id,
        outcomes=HANDLEABLE,
        keep_as="handled_from",
        outcome=HANDLED,
        handled_at=timestamp(now),
        handled_by=f"ops:{by}",
        handled_note=note,
    )
    if item is None:
        stored = _state(ledger, transaction_id)
        raise CannotSettle(
            f"transaction {transaction_id} can't be marked handled: it is"
            f" {stored.get('status')} with outcome {stored.get('outcome')!r}"
            f" (only {', '.join(HANDLEABLE)} ones can be)"
        )
    return str(item["handled_from"])


def _not_late(ledger: Ledger, transaction_id: int, what: str) -> CannotSettle:
    entry = ledger.get(transaction_id)
    if entry is None:
        return CannotSettle(f"transaction {transaction_id} is not in the ledger")
    return CannotSettle(
        f"transaction {transaction_id} can't be {what}: it is {entry.status} with outcome "
        f"{entry.outcome!r} (only a processed {Outcome.LATE.value!r} transaction can be)"
    )


def accept_late(ledger: Ledger, transaction_id: int, *, now: datetime, by: str, note: str) -> int:
    """Reopen a late payment for the processor to apply to its (expired) order; returns the
    replay number its queue message must carry."""
    entry = ledger.get(transaction_id)
    bound = (entry.binding or {}).get("order_code") if entry else None
    if entry is None or not bound:
        raise _not_late(ledger, transaction_id, "accepted")
    binding = Binding(ORDER, bound, (), timestamp(now), f"ops:{by}", note, accept_late=True)
    replays = ledger.rebind(
        transaction_id, binding, now=now, was="accepted_from", outcomes=(Outcome.LATE,)
    )
    if replays is None:
        raise _not_late(ledger, transaction_id, "accepted")
    return replays


def refund_late(ledger: Ledger, transaction_id: int, *, now: datetime, by: str, note: str) -> str:
    """Mark a late payment for refund; returns the order it was kept on."""
    item = ledger.close(
        transaction_id,
        outcomes=(Outcome.LATE,),
        outcome=REFUND_DUE,
        refund_marked_at=timestamp(now),
        refund_marked_by=f"ops:{by}",
        refund_note=note,
    )
    if item is None:
        raise _not_late(ledger, transaction_id, "marked for refund")
    return str(item.get("order_code") or "")


def settle_conflict(
    ledger: Ledger, transaction_id: int, key: str, *, now: datetime, by: str, note: str
) -> Version:
    """Record a person's decision on a conflicting version waiting for one (`person`, or a
    weaker one `kept`): it becomes `settled`, with who, when and why. What was done about
    the order is the person's (docs/operations.md#payment-conflict); the ledger keeps both
    versions whatever was decided. Returns the version as it was."""
    version = ledger.get_version(transaction_id, key)
    if version is None:
        raise CannotSettle(f"transaction {transaction_id} has no version {key}")
    settled = ledger.set_version_state(
        transaction_id,
        key,
        SETTLED,
        was=(PERSON, KEPT),
        settled_at=timestamp(now),
        settled_by=f"ops:{by}",
        note=note,
    )
    if not settled:
        raise CannotSettle(
            f"version {key} of transaction {transaction_id} can't be settled: it is"
            f" {version.state} (only {PERSON} or {KEPT} versions wait for a person)"
        )
    return version
