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
from typing import Any, Final

from casso_payments import bindings, confirmation, ledger, order_expiry, orders, refunds
from casso_payments.bindings import Binding
from casso_payments.order_codes import find_codes
from casso_payments.payload import Transaction
from casso_payments.payment_events import (
    LATE_PAYMENT,
    ORDER_EXPIRED,
    ORDER_EXTRA_PAYMENT,
    ORDER_OVERPAID,
    ORDER_PAID,
    ORDER_PARTIALLY_PAID,
    PAYMENT_NEEDS_REVIEW,
    PAYMENT_UNCONFIRMED,
    PAYMENT_UNMATCHED,
    REFUND_RECORDED,
    TRANSACTION_RECEIVED,
    PaymentEvent,
    publish,
)
from casso_payments.settings import ProcessorSettings, accepts_account

PAID: Final = "paid"
PARTIALLY_PAID: Final = "partially_paid"
OVERPAID: Final = "overpaid"
EXTRA_PAYMENT: Final = "extra_payment"
UNMATCHED: Final = "unmatched"
NEEDS_REVIEW: Final = "needs_review"
UNCONFIRMED: Final = "unconfirmed"
MONEY_OUT: Final = "money_out"
REFUND: Final = "refund"  # money out naming one existing order: recorded on it
LATE: Final = "late"  # for an EXPIRED order: kept on it, settles nothing
OTHER_ACCOUNT: Final = "other_account"  # not one of AccountNumbers: recorded, never settles
ALREADY_PROCESSED: Final = "already_processed"


class MissingTransaction(LookupError):
    """A queued id has no ledger item: nothing to process; the message goes to the DLQ."""


@dataclass(frozen=True)
class ProcessorDeps:
    dynamodb: Any
    events: Any
    settings: ProcessorSettings
    # Builds the Casso API client on first use (`confirmation.casso_lookup`); None: no
    # confirmation possible, so a transaction that needs one waits.
    casso: Callable[[], confirmation.TransactionLookup] | None = None


@dataclass(frozen=True)
class Outcome:
    transaction_id: int
    outcome: str
    order_code: str | None = None
    order: orders.Order | None = None
    # False when the transfer was already on the order (a retry after a crash).
    applied: bool = False
    events: tuple[str, ...] = ()
    confirmation: str = confirmation.NOT_REQUIRED
    reason: str = ""


def _common(transaction: Transaction, source: str, order_code: str | None) -> dict[str, Any]:
    return {
        "transaction_id": transaction.id,
        "order_code": order_code,
        "amount": transaction.amount,
        "description": transaction.description,
        "when": transaction.when,
        "account_number": transaction.account_number,
        "reference": transaction.reference,
        "source": source,
    }


def _order_detail(order: orders.Order, payment: orders.AppliedPayment) -> dict[str, Any]:
    """The order as this payment left it (not as it is now), so a retry says the same."""
    return {
        "expected_amount": order.expected_amount,
        "paid_amount": payment.paid_amount,
        "remaining": max(0, order.expected_amount - payment.paid_amount),
        "overpaid_by": max(0, payment.paid_amount - order.expected_amount),
        "status": payment.status,
        # Paid amounts only grow, so these are the transfers applied up to this one.
        "transaction_ids": sorted(
            t for t, p in order.applied.items() if p.paid_amount <= payment.paid_amount
        ),
        "paid_at": order.paid_at if payment.status in orders.SETTLED else None,
    }


def _payment_outcome(payment: orders.AppliedPayment) -> tuple[str, str]:
    if payment.status not in orders.SETTLED:
        return PARTIALLY_PAID, ORDER_PARTIALLY_PAID
    if not payment.settles:
        return EXTRA_PAYMENT, ORDER_EXTRA_PAYMENT
    return (PAID, ORDER_PAID) if payment.status == orders.PAID else (OVERPAID, ORDER_OVERPAID)


def decide(transaction: Transaction, deps: ProcessorDeps, *, now: datetime) -> Binding:
    """Which order the transfer settles, from its description and the orders that exist."""
    settings = deps.settings
    codes = find_codes(transaction.description, settings.order_code_pattern)
    at = ledger.timestamp(now)
    if transaction.amount == 0:
        return Binding(bindings.UNMATCHED, None, tuple(codes), at)
    existing = [
        o.key for o in orders.existing_orders(deps.dynamodb, settings.orders_table_name, codes)
    ]
    if len(existing) > 1:
        return Binding(bindings.NEEDS_REVIEW, None, tuple(existing), at)
    if existing:
        return Binding(bindings.ORDER, existing[0], (), at)
    return Binding(bindings.UNMATCHED, None, tuple(codes), at)


def process(transaction_id: int, deps: ProcessorDeps, *, now: datetime) -> Outcome:
    settings = deps.settings
    entry = ledger.get_entry(deps.dynamodb, settings.ledger_table_name, transaction_id)
    if entry is None:
        raise MissingTransaction(f"transaction {transaction_id} is not in the ledger")
    if entry.status == ledger.PROCESSED:
        return Outcome(transaction_id, ALREADY_PROCESSED)

    transaction = entry.transaction
    order: orders.Order | None = None
    applied = False
    vouched = confirmation.NOT_REQUIRED
    reason = ""
    events: list[PaymentEvent] = []
    if not accepts_account(settings.account_numbers, transaction.account_number):
        outcome, order_code = OTHER_ACCOUNT, None
    else:
        binding = _binding(entry, deps, now=now)
        if binding is None:
            return Outcome(transaction_id, ALREADY_PROCESSED)
        order_code = binding.order_code
        if transaction.amount < 0:
            # Money out: a refund when it names one existing order, otherwise just recorded.
            outcome, order_code, order, applied, vouched, reason = _refund(
                entry, binding, deps, events, now=now
            )
        elif binding.decision == bindings.NEEDS_REVIEW:
            outcome = NEEDS_REVIEW
            detail = {"candidates": list(binding.candidates)}
            events.append(PaymentEvent(PAYMENT_NEEDS_REVIEW, _common_with(entry, None, detail)))
        elif binding.decision != bindings.ORDER or order_code is None:
            outcome = UNMATCHED
            detail = {"candidates": list(binding.candidates)}
            events.append(PaymentEvent(PAYMENT_UNMATCHED, _common_with(entry, None, detail)))
        else:
            order = orders.get_order(deps.dynamodb, settings.orders_table_name, order_code)
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
                outcome, bound, order_code, order = UNCONFIRMED, order_code, None, None
                detail = {"bound_order": bound, "reason": reason}
                events.append(PaymentEvent(PAYMENT_UNCONFIRMED, _common_with(entry, None, detail)))
            else:
                order, applied, outcome = _pay(entry, order, binding, deps, events, now=now)
    events.insert(
        0,
        PaymentEvent(
            TRANSACTION_RECEIVED,
            _common_with(entry, order_code, {"outcome": outcome, "confirmation": vouched}),
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
        outcome=outcome,
        order_code=order_code,
        now=now,
    )
    return Outcome(
        transaction_id,
        outcome,
        order_code,
        order,
        applied,
        tuple(e.detail_type for e in events),
        vouched,
        reason,
    )


def _binding(entry: ledger.LedgerEntry, deps: ProcessorDeps, *, now: datetime) -> Binding | None:
    """The transaction's binding: the stored one on a retry, else decided now and stored
    before any order changes. None: processed meanwhile, nothing left to do."""
    if entry.binding:
        return Binding.from_item(entry.binding)
    try:
        return bindings.bind(
            deps.dynamodb,
            deps.settings.ledger_table_name,
            entry.transaction.id,
            decide(entry.transaction, deps, now=now),
        )
    except bindings.AlreadyDone:
        return None


def _refund(
    entry: ledger.LedgerEntry,
    binding: Binding,
    deps: ProcessorDeps,
    events: list[PaymentEvent],
    *,
    now: datetime,
) -> tuple[str, str | None, orders.Order | None, bool, str, str]:
    """Record money out on the order it names, once, vouched for by Casso like a payment
    (a forged refund must not show on an order); (outcome, order code, order, recorded,
    confirmation, reason refused)."""
    if binding.decision != bindings.ORDER or binding.order_code is None:
        return MONEY_OUT, None, None, False, confirmation.NOT_REQUIRED, ""
    settings = deps.settings
    table = settings.orders_table_name
    order = orders.get_order(deps.dynamodb, table, binding.order_code)
    if order is None:
        raise orders.OrderError(f"order {binding.order_code}, bound to this refund, is gone")
    vouched = confirmation.NOT_REQUIRED
    if entry.transaction.id not in order.refunds and confirmation.required(
        entry.source, settings.confirm_payments
    ):
        if deps.casso is None:
            raise confirmation.ConfirmationUnavailable("no Casso API client configured")
        verdict = confirmation.confirm(entry.transaction, deps.casso)
        if not verdict.confirmed:
            detail = {"bound_order": order.key, "reason": verdict.reason}
            events.append(PaymentEvent(PAYMENT_UNCONFIRMED, _common_with(entry, None, detail)))
            return UNCONFIRMED, None, None, False, confirmation.REFUSED, verdict.reason
        vouched = confirmation.CONFIRMED
    result = refunds.record_refund(
        deps.dynamodb,
        table,
        order,
        transaction_id=entry.transaction.id,
        amount=-entry.transaction.amount,
        now=now,
    )
    detail = refunds.refund_detail(result.order, result)
    events.append(PaymentEvent(REFUND_RECORDED, _common_with(entry, order.key, detail)))
    return REFUND, order.key, result.order, result.recorded, vouched, ""


def _pay(
    entry: ledger.LedgerEntry,
    order: orders.Order,
    binding: Binding,
    deps: ProcessorDeps,
    events: list[PaymentEvent],
    *,
    now: datetime,
) -> tuple[orders.Order, bool, str]:
    """Apply the transfer to its order, or keep it as a late payment when the order has
    expired (expiring it first if it is past due); appends the events; (order, applied,
    outcome). A retry finds the transfer in `applied` or in `late` and says the same."""
    transaction, table = entry.transaction, deps.settings.orders_table_name
    tid = transaction.id
    accepted = binding.accept_late  # a person accepted it late: pay the expired order
    fresh = not accepted and tid not in order.applied and tid not in order.late
    if fresh and order_expiry.is_due(order, now):
        expired, by_us = order_expiry.expire(deps.dynamodb, table, order.key, now=now)
        if expired is not None:
            order = expired
            if by_us:
                detail = order_expiry.expired_event(order)
                events.append(PaymentEvent(ORDER_EXPIRED, detail))
    if accepted or tid in order.applied or order.status != orders.EXPIRED:
        try:
            result = orders.apply_payment(
                deps.dynamodb,
                table,
                order,
                transaction_id=tid,
                amount=transaction.amount,
                tolerance=deps.settings.amount_tolerance,
                now=now,
                accept_expired=accepted,
            )
        except orders.OrderExpired:
            order = orders.get_order(deps.dynamodb, table, order.key) or order
        else:
            outcome, detail_type = _payment_outcome(result.payment)
            detail = _order_detail(result.order, result.payment)
            events.append(PaymentEvent(detail_type, _common_with(entry, order.key, detail)))
            return result.order, result.applied, outcome
    order, added = order_expiry.record_late(
        deps.dynamodb, table, order, transaction_id=tid, amount=transaction.amount, now=now
    )
    detail = {**order_expiry.expired_state(order), "late_amount": transaction.amount}
    events.append(PaymentEvent(LATE_PAYMENT, _common_with(entry, order.key, detail)))
    return order, added, LATE


def _common_with(
    entry: ledger.LedgerEntry, order_code: str | None, detail: dict[str, Any]
) -> dict[str, Any]:
    return {**_common(entry.transaction, entry.source, order_code), **detail}
