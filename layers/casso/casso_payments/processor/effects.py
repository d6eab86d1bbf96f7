"""What a bound transaction does to its order, as an `Effect`: a payment applied (or kept
late, when the order has expired), a refund recorded; each once. Used by `processor.process`
after the transaction is bound to its order (`Ledger.bind`); the events are built from the
Effect (`events.build`), not here."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from casso_payments.events.effect import CONFIRMED, NOT_REQUIRED, REFUSED, Effect
from casso_payments.events.outcomes import Outcome
from casso_payments.ledger.entries import ORDER, Binding, LedgerEntry, Superseded
from casso_payments.orders.model import CLOSED, Order, OrderClosed, OrderError, is_due
from casso_payments.processor import confirmation

if TYPE_CHECKING:
    from casso_payments.processor.deps import ProcessorDeps


def refund(entry: LedgerEntry, binding: Binding, deps: ProcessorDeps, *, now: datetime) -> Effect:
    """Record money out on the order it names, once, vouched for by Casso like a payment
    (a forged refund must not show on an order)."""
    if binding.decision != ORDER or binding.order_code is None:
        return Effect(Outcome.MONEY_OUT)
    order = deps.orders.get(binding.order_code)
    if order is None:
        raise OrderError(f"order {binding.order_code}, bound to this refund, is gone")
    transaction = entry.transaction
    vouched = vouch(entry, deps, on_order=transaction.id in order.refunds, bound=order.key)
    if isinstance(vouched, Effect):
        return vouched
    claim(entry, deps, now=now)
    result = deps.orders.add_refund(
        order, transaction_id=transaction.id, amount=-transaction.amount, now=now
    )
    return Effect(
        Outcome.REFUND,
        order.key,
        result.order,
        result.recorded,
        vouched,
        refund=result,
    )


def claim(entry: LedgerEntry, deps: ProcessorDeps, *, now: datetime) -> None:
    """Mark the transaction on the ledger before it changes an order, conditional on the
    revision read: a stronger version that replaced it meanwhile wins (raises Superseded),
    and once claimed no stronger version replaces it (it goes to a person)."""
    tid = entry.transaction.id
    if not deps.ledger.claim(tid, revision=entry.revision, now=now):
        raise Superseded(f"transaction {tid} was replaced by a stronger version")


def vouch(
    entry: LedgerEntry, deps: ProcessorDeps, *, on_order: bool, bound: str | None
) -> Effect | str:
    """What Casso's API says of a transaction about to change order `bound`: its
    confirmation, or the unconfirmed Effect when Casso doesn't vouch for it. Not asked when
    the transaction is on the order already (a retry) or `ConfirmPayments` doesn't ask."""
    if on_order or not confirmation.required(entry.source, deps.settings.confirm_payments):
        return NOT_REQUIRED
    verdict = confirmation.confirm(entry.transaction, deps.casso)
    if verdict.confirmed:
        return CONFIRMED
    return Effect(
        Outcome.UNCONFIRMED, confirmation=REFUSED, reason=verdict.reason, bound_order=bound
    )


def pay(
    entry: LedgerEntry, order: Order, binding: Binding, deps: ProcessorDeps, *, now: datetime
) -> Effect:
    """Apply the transfer to its order once Casso vouches for it (`vouch`), or keep it as a
    late payment when the order has expired (expiring it first if it is past due) or was
    cancelled. A retry finds the transfer in `applied` or in `late` and says the same."""
    transaction, orders = entry.transaction, deps.orders
    tid = transaction.id
    code = binding.order_code or order.key
    vouched = vouch(entry, deps, on_order=tid in order.applied, bound=code)
    if isinstance(vouched, Effect):
        return vouched
    claim(entry, deps, now=now)
    accepted = binding.accept_late  # a person accepted it late: pay the expired order
    fresh = not accepted and tid not in order.applied and tid not in order.late
    expired_by_us = None
    if fresh and is_due(order, now):
        expired, by_us = orders.expire(order.key, now=now)
        if expired is not None:
            order = expired
            expired_by_us = expired if by_us else None
    if accepted or tid in order.applied or order.status not in CLOSED:
        try:
            result = orders.pay(
                order,
                transaction_id=tid,
                amount=transaction.amount,
                tolerance=deps.settings.amount_tolerance,
                now=now,
                accept_expired=accepted,
                source=entry.source,
            )
        except OrderClosed:
            order = orders.get(order.key) or order
        else:
            outcome = Outcome.of_payment(result.payment)
            return Effect(
                outcome,
                code,
                result.order,
                result.applied,
                vouched,
                payment=result.payment,
                expired=expired_by_us,
            )
    order, added = orders.keep_late(order, transaction_id=tid, amount=transaction.amount, now=now)
    return Effect(Outcome.LATE, code, order, added, vouched, expired=expired_by_us)
