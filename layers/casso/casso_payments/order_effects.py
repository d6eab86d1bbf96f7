"""What a bound transaction does to its order: a payment applied (or kept late, when the
order expired), a refund recorded; each once, appending the events that say so. Used by
`processing.process` after the transaction is bound to its order (`bindings`)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from casso_payments import (
    bindings,
    confirmation,
    ledger,
    order_expiry,
    order_payments,
    orders,
    refunds,
)
from casso_payments.bindings import Binding
from casso_payments.outcomes import Outcome
from casso_payments.payload import Transaction
from casso_payments.payment_events import ORDER_EXPIRED, PaymentEvent

if TYPE_CHECKING:
    from casso_payments.processing import ProcessorDeps


def common(transaction: Transaction, source: str, order_code: str | None) -> dict[str, Any]:
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


def order_detail(order: orders.Order, payment: orders.AppliedPayment) -> dict[str, Any]:
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


def refund(
    entry: ledger.LedgerEntry,
    binding: Binding,
    deps: ProcessorDeps,
    events: list[PaymentEvent],
    *,
    now: datetime,
) -> tuple[Outcome, str | None, orders.Order | None, bool, str, str]:
    """Record money out on the order it names, once, vouched for by Casso like a payment
    (a forged refund must not show on an order); (outcome, order code, order, recorded,
    confirmation, reason refused)."""
    if binding.decision != bindings.ORDER or binding.order_code is None:
        return Outcome.MONEY_OUT, None, None, False, confirmation.NOT_REQUIRED, ""
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
            events.append(PaymentEvent.of(Outcome.UNCONFIRMED, common_with(entry, None, detail)))
            return Outcome.UNCONFIRMED, None, None, False, confirmation.REFUSED, verdict.reason
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
    events.append(PaymentEvent.of(Outcome.REFUND, common_with(entry, order.key, detail)))
    return Outcome.REFUND, order.key, result.order, result.recorded, vouched, ""


def pay(
    entry: ledger.LedgerEntry,
    order: orders.Order,
    binding: Binding,
    deps: ProcessorDeps,
    events: list[PaymentEvent],
    *,
    now: datetime,
) -> tuple[orders.Order, bool, Outcome]:
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
            result = order_payments.apply_payment(
                deps.dynamodb,
                table,
                order,
                transaction_id=tid,
                amount=transaction.amount,
                tolerance=deps.settings.amount_tolerance,
                now=now,
                accept_expired=accepted,
            )
        except order_payments.OrderExpired:
            order = orders.get_order(deps.dynamodb, table, order.key) or order
        else:
            outcome = Outcome.of_payment(result.payment)
            detail = order_detail(result.order, result.payment)
            events.append(PaymentEvent.of(outcome, common_with(entry, order.key, detail)))
            return result.order, result.applied, outcome
    order, added = order_expiry.record_late(deps.dynamodb, table, order, transaction, now=now)
    detail = {**order_expiry.expired_state(order), "late_amount": transaction.amount}
    events.append(PaymentEvent.of(Outcome.LATE, common_with(entry, order.key, detail)))
    return order, added, Outcome.LATE


def common_with(
    entry: ledger.LedgerEntry, order_code: str | None, detail: dict[str, Any]
) -> dict[str, Any]:
    return {**common(entry.transaction, entry.source, order_code), **detail}
