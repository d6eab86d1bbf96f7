"""The processor's logic: one queued transaction -> its Effect on an order, its events, its
ledger outcome.

Steps, each safe to repeat:
  1. load the transaction from the ledger; skip it if already PROCESSED;
  2. decide, once: money out (recorded, never matched); one existing order named in the
     description (bound to it); two or more (needs a person's review); none (unmatched).
     The decision is written on the ledger item (`Ledger.bind`) before any order changes,
     and a retry uses it: it never matches again (design invariant 7);
  3. if the transaction must be vouched for (`confirmation`), ask Casso's API first, whatever
     it then does (a zero amount, unmatched, money out: every v1-only transaction);
  4. claim it on the ledger (`Ledger.claim`: from here on a stronger version goes to a
     person, never replaces it), then apply the transfer to the bound order (`effects`,
     conditional on it not being there yet); the order keeps, with the payment, the status
     it produced, and a retry replays it;
  5. publish the events (`events.build.transfer_events`, from the Effect);
  6. mark the ledger item PROCESSED with the outcome (conditional on it being RECEIVED).
A crash after 4 repeats 4 as a no-op with the same outcome; a crash after 5 may publish the
events once more, which is why every event carries the transaction id. Binding, claim and
mark are each conditional on the `revision` read: when a stronger version replaced the
transaction meanwhile (`processor.versions`), this attempt stops and the new one is worked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from casso_payments.aws.dynamo import timestamp
from casso_payments.casso.payload import Transaction
from casso_payments.events.build import transfer_events
from casso_payments.events.effect import Effect
from casso_payments.events.outcomes import Outcome
from casso_payments.ledger.entries import (
    NEEDS_REVIEW,
    ORDER,
    PROCESSED,
    UNMATCHED,
    AlreadyDone,
    Binding,
    LedgerEntry,
    Superseded,
)
from casso_payments.orders.codes import find_codes
from casso_payments.orders.model import Order, OrderError
from casso_payments.processor import effects
from casso_payments.processor.balance import join_chain
from casso_payments.processor.deps import ProcessorDeps
from casso_payments.settings import accepts_account

UNCHAINED = (Outcome.UNCONFIRMED, Outcome.OTHER_ACCOUNT)


class MissingTransaction(LookupError):
    """A queued id has no ledger item: nothing to process; the message goes to the DLQ."""


@dataclass(frozen=True)
class Processed:
    """What `process` did with one transaction: its Effect, and the events it published."""

    transaction_id: int
    effect: Effect
    events: tuple[str, ...] = ()

    @property
    def outcome(self) -> Outcome:
        return self.effect.outcome


@dataclass(frozen=True)
class IdempotentResult:
    """What the processor's idempotency record keeps of a message's processing, and returns
    to a copy of it delivered while the record lives."""

    outcome: str
    order_code: str | None


def decide(
    transaction: Transaction, deps: ProcessorDeps, *, now: datetime
) -> tuple[Binding, Order | None]:
    """Which order the transfer settles, from its description and the orders that exist;
    with that order as read to decide, so paying it needs no second read."""
    codes = find_codes(transaction.description, deps.settings.order_code_pattern)
    at = timestamp(now)
    if transaction.amount == 0:
        return Binding(UNMATCHED, None, tuple(codes), at), None
    existing = deps.orders.existing(codes)
    if len(existing) > 1:
        return Binding(NEEDS_REVIEW, None, tuple(o.key for o in existing), at), None
    if existing:
        return Binding(ORDER, existing[0].key, (), at), existing[0]
    return Binding(UNMATCHED, None, tuple(codes), at), None


def process(transaction_id: int, deps: ProcessorDeps, *, now: datetime) -> Processed:
    entry = deps.ledger.get(transaction_id)
    if entry is None:
        raise MissingTransaction(f"transaction {transaction_id} is not in the ledger")
    if entry.status == PROCESSED:
        return Processed(transaction_id, Effect(Outcome.ALREADY_PROCESSED))
    try:
        effect = _effect(entry, deps, now=now)
    except Superseded:  # a stronger version replaced it: that one is being worked
        effect = None
    if effect is None:  # processed meanwhile
        return Processed(transaction_id, Effect(Outcome.ALREADY_PROCESSED))
    # Before the mark, so a retry joins it again (unchanged); never what Casso disowns, nor
    # another stack's account.
    if deps.chain is not None and effect.outcome not in UNCHAINED:
        join_chain(entry, deps.chain, now=now, casso=deps.casso)
    events = transfer_events(entry, effect)
    deps.bus.publish(events)
    if effect.expired is not None:
        # Its Order Expired is out: the reconciler's expiry step must not publish it again.
        deps.orders.expiry_done(effect.expired.key)
    deps.ledger.mark_processed(
        transaction_id,
        outcome=effect.outcome.value,
        order_code=effect.order_code,
        now=now,
        revision=entry.revision,
    )
    return Processed(transaction_id, effect, tuple(e.detail_type for e in events))


# Outcomes that change no order, so nothing asked Casso on the way: asked before they are
# final when the transaction must be confirmed (a forgery with amount 0 or no order is
# still a forgery, and `PaymentsUnconfirmed` must hear of it).
UNVOUCHED = (Outcome.OTHER_ACCOUNT, Outcome.UNMATCHED, Outcome.NEEDS_REVIEW, Outcome.MONEY_OUT)


def _effect(entry: LedgerEntry, deps: ProcessorDeps, *, now: datetime) -> Effect | None:
    """What the transaction does, once bound and vouched for; None: processed meanwhile."""
    effect = _bound_effect(entry, deps, now=now)
    if effect is None or effect.outcome not in UNVOUCHED:
        return effect
    vouched = effects.vouch(entry, deps, on_order=False, bound=None)
    if isinstance(vouched, Effect):
        return vouched
    return effect._replace(confirmation=vouched)


def _bound_effect(entry: LedgerEntry, deps: ProcessorDeps, *, now: datetime) -> Effect | None:
    transaction = entry.transaction
    if not accepts_account(deps.settings.account_numbers, transaction.account_number):
        return Effect(Outcome.OTHER_ACCOUNT)
    decided = _binding(entry, deps, now=now)
    if decided is None:
        return None
    binding, read = decided
    code = binding.order_code
    if transaction.amount < 0:  # money out: a refund when it names one existing order
        return effects.refund(entry, binding, deps, now=now)
    if binding.decision == NEEDS_REVIEW:
        return Effect(Outcome.NEEDS_REVIEW, code, candidates=binding.candidates)
    if binding.decision != ORDER or code is None:
        return Effect(Outcome.UNMATCHED, code, candidates=binding.candidates)
    # The order as read to decide; a retry reads it again. Paying is conditional on what
    # was read, so an order changed since is re-read there.
    order = read or deps.orders.get(code)
    if order is None:
        raise OrderError(f"order {code}, bound to this transfer, is gone")
    return effects.pay(entry, order, binding, deps, now=now)


def _binding(
    entry: LedgerEntry, deps: ProcessorDeps, *, now: datetime
) -> tuple[Binding, Order | None] | None:
    """The transaction's binding (the stored one on a retry, else decided now and stored
    before any order changes), with the bound order if it was read to decide. None:
    processed meanwhile, nothing left to do."""
    if entry.binding:
        return Binding.from_item(entry.binding), None
    binding, read = decide(entry.transaction, deps, now=now)
    try:
        return deps.ledger.bind(entry.transaction.id, binding, entry.revision), read
    except AlreadyDone:
        return None
