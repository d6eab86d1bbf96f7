"""The processor's logic: one queued transaction -> order effect, events, ledger outcome.

Steps, each safe to repeat:
  1. load the transaction from the ledger; skip it if already PROCESSED;
  2. decide, once: money out (recorded, never matched); one existing order named in the
     description (bound to it); two or more (needs a person's review); none (unmatched).
     The decision is written on the ledger item (`bindings`) before any order changes, and
     a retry uses it: it never matches again (design invariant 7);
  3. if the transaction must be vouched for (`confirmation`), ask Casso's API first;
  4. apply the transfer to the bound order (conditional on it not being there yet); the
     order keeps, with the payment, the status it produced, and a retry replays that;
  5. publish the events;
  6. mark the ledger item PROCESSED with the outcome (conditional on it being RECEIVED).
A crash after 4 repeats 4 as a no-op with the same outcome; a crash after 5 may publish the
events once more, which is why every event carries the transaction id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from casso_payments import (
    bindings,
    confirmation,
    dynamo,
    ledger,
    order_effects,
    order_expiry,
    orders,
)
from casso_payments.bindings import Binding
from casso_payments.order_codes import find_codes
from casso_payments.order_effects import common_with
from casso_payments.outcomes import Outcome
from casso_payments.payload import Transaction
from casso_payments.payment_events import (
    ORDER_EXPIRED,
    TRANSACTION_RECEIVED,
    PaymentEvent,
    publish,
)
from casso_payments.settings import accepts_account
from casso_payments.settings.processor import ProcessorSettings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient


class MissingTransaction(LookupError):
    """A queued id has no ledger item: nothing to process; the message goes to the DLQ."""


@dataclass(frozen=True)
class ProcessorDeps:
    dynamodb: DynamoDBClient
    events: EventBridgeClient
    settings: ProcessorSettings
    # Builds the Casso API client on first use (`confirmation.casso_lookup`); None: no
    # confirmation possible, so a transaction that needs one waits.
    casso: Callable[[], confirmation.TransactionLookup] | None = None


@dataclass(frozen=True)
class Processed:
    """What `process` did with one transaction."""

    transaction_id: int
    outcome: Outcome
    order_code: str | None = None
    order: orders.Order | None = None
    # False when the transfer was already on the order (a retry after a crash).
    applied: bool = False
    events: tuple[str, ...] = ()
    confirmation: str = confirmation.NOT_REQUIRED
    reason: str = ""


@dataclass(frozen=True)
class Recorded:
    """What the processor's idempotency record keeps of a message's processing, and returns
    to a copy of it delivered while the record lives."""

    outcome: str
    order_code: str | None


def decide(
    transaction: Transaction, deps: ProcessorDeps, *, now: datetime
) -> tuple[Binding, orders.Order | None]:
    """Which order the transfer settles, from its description and the orders that exist;
    with that order as read to decide, so paying it needs no second read."""
    settings = deps.settings
    codes = find_codes(transaction.description, settings.order_code_pattern)
    at = dynamo.timestamp(now)
    if transaction.amount == 0:
        return Binding(bindings.UNMATCHED, None, tuple(codes), at), None
    existing = orders.existing_orders(deps.dynamodb, settings.orders_table_name, codes)
    if len(existing) > 1:
        return Binding(bindings.NEEDS_REVIEW, None, tuple(o.key for o in existing), at), None
    if existing:
        return Binding(bindings.ORDER, existing[0].key, (), at), existing[0]
    return Binding(bindings.UNMATCHED, None, tuple(codes), at), None


def process(transaction_id: int, deps: ProcessorDeps, *, now: datetime) -> Processed:
    settings = deps.settings
    entry = ledger.get_entry(deps.dynamodb, settings.ledger_table_name, transaction_id)
    if entry is None:
        raise MissingTransaction(f"transaction {transaction_id} is not in the ledger")
    if entry.status == ledger.PROCESSED:
        return Processed(transaction_id, Outcome.ALREADY_PROCESSED)

    transaction = entry.transaction
    order: orders.Order | None = None
    applied = False
    vouched = confirmation.NOT_REQUIRED
    reason = ""
    events: list[PaymentEvent] = []
    if not accepts_account(settings.account_numbers, transaction.account_number):
        outcome, order_code = Outcome.OTHER_ACCOUNT, None
    else:
        decided = _binding(entry, deps, now=now)
        if decided is None:
            return Processed(transaction_id, Outcome.ALREADY_PROCESSED)
        binding, read = decided
        order_code = binding.order_code
        if transaction.amount < 0:
            # Money out: a refund when it names one existing order, otherwise just recorded.
            outcome, order_code, order, applied, vouched, reason = order_effects.refund(
                entry, binding, deps, events, now=now
            )
        elif binding.decision == bindings.NEEDS_REVIEW:
            outcome = Outcome.NEEDS_REVIEW
            detail: dict[str, Any] = {"candidates": list(binding.candidates)}
            events.append(PaymentEvent.of(outcome, common_with(entry, None, detail)))
        elif binding.decision != bindings.ORDER or order_code is None:
            outcome = Outcome.UNMATCHED
            detail = {"candidates": list(binding.candidates)}
            events.append(PaymentEvent.of(outcome, common_with(entry, None, detail)))
        else:
            # The order as read to decide; a retry reads it again. Paying is conditional
            # on what was read, so an order changed since is re-read there.
            order = read or orders.get_order(deps.dynamodb, settings.orders_table_name, order_code)
            if order is None:
                raise orders.OrderError(f"order {order_code}, bound to this transfer, is gone")
            if transaction.id not in order.applied and confirmation.required(
                entry.source, settings.confirm_payments
            ):
                if deps.casso is None:
                    raise confirmation.ConfirmationUnavailable("no Casso API client configured")
                verdict = confirmation.confirm(transaction, deps.casso)
                vouched = confirmation.CONFIRMED if verdict.confirmed else confirmation.REFUSED
                reason = verdict.reason
            if reason:
                outcome, bound, order_code, order = Outcome.UNCONFIRMED, order_code, None, None
                detail = {"bound_order": bound, "reason": reason}
                events.append(PaymentEvent.of(outcome, common_with(entry, None, detail)))
            else:
                order, applied, outcome = order_effects.pay(
                    entry, order, binding, deps, events, now=now
                )
    events.insert(
        0,
        PaymentEvent(
            TRANSACTION_RECEIVED,
            common_with(entry, order_code, {"outcome": outcome.value, "confirmation": vouched}),
        ),
    )
    publish(deps.events, settings.event_bus_name, events)
    if order is not None and any(e.detail_type == ORDER_EXPIRED for e in events):
        # Its Order Expired is out: the reconciler's expiry step must not publish it again.
        order_expiry.done(deps.dynamodb, settings.orders_table_name, order.key)
    ledger.mark_processed(
        deps.dynamodb,
        settings.ledger_table_name,
        transaction.id,
        outcome=outcome.value,
        order_code=order_code,
        now=now,
    )
    return Processed(
        transaction_id,
        outcome,
        order_code,
        order,
        applied,
        tuple(e.detail_type for e in events),
        vouched,
        reason,
    )


def _binding(
    entry: ledger.LedgerEntry, deps: ProcessorDeps, *, now: datetime
) -> tuple[Binding, orders.Order | None] | None:
    """The transaction's binding (the stored one on a retry, else decided now and stored
    before any order changes), with the bound order if it was read to decide. None:
    processed meanwhile, nothing left to do."""
    if entry.binding:
        return Binding.from_item(entry.binding), None
    binding, read = decide(entry.transaction, deps, now=now)
    try:
        return bindings.bind(
            deps.dynamodb, deps.settings.ledger_table_name, entry.transaction.id, binding
        ), read
    except bindings.AlreadyDone:
        return None
