"""The processor's logic: one queued transaction -> order effect, events, ledger outcome.

Steps, each safe to repeat:
  1. load the transaction from the ledger; skip it if already PROCESSED;
  2. decide: money out (recorded, never matched), an order named in the description,
     or unmatched (kept for a person);
  3. apply the transfer to the order (conditional on the transaction not being on it yet);
  4. publish the events;
  5. mark the ledger item PROCESSED with the outcome (conditional on it being RECEIVED).
A crash after 3 repeats 3 as a no-op; a crash after 4 may publish the events once more,
which is why every event carries the transaction id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from casso_payments import ledger, orders
from casso_payments.order_codes import find_codes
from casso_payments.payload import Transaction
from casso_payments.payment_events import (
    ORDER_OVERPAID,
    ORDER_PAID,
    ORDER_PARTIALLY_PAID,
    PAYMENT_UNMATCHED,
    TRANSACTION_RECEIVED,
    PaymentEvent,
    publish,
)
from casso_payments.settings import ProcessorSettings, accepts_account

PAID: Final = "paid"
PARTIALLY_PAID: Final = "partially_paid"
OVERPAID: Final = "overpaid"
UNMATCHED: Final = "unmatched"
MONEY_OUT: Final = "money_out"
OTHER_ACCOUNT: Final = "other_account"  # not one of AccountNumbers: recorded, never settles
ALREADY_PROCESSED: Final = "already_processed"

_ORDER_OUTCOMES = {
    orders.PAID: (PAID, ORDER_PAID),
    orders.PARTIALLY_PAID: (PARTIALLY_PAID, ORDER_PARTIALLY_PAID),
    orders.OVERPAID: (OVERPAID, ORDER_OVERPAID),
}


class MissingTransaction(LookupError):
    """A queued id has no ledger item: nothing to process; the message goes to the DLQ."""


@dataclass(frozen=True)
class ProcessorDeps:
    dynamodb: Any
    events: Any
    settings: ProcessorSettings


@dataclass(frozen=True)
class Outcome:
    transaction_id: int
    outcome: str
    order_code: str | None = None
    order: orders.Order | None = None
    # False when the transfer was already on the order (a retry after a crash).
    applied: bool = False
    events: tuple[str, ...] = ()


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


def _order_detail(order: orders.Order) -> dict[str, Any]:
    return {
        "expected_amount": order.expected_amount,
        "paid_amount": order.paid_amount,
        "remaining": max(0, order.expected_amount - order.paid_amount),
        "overpaid_by": max(0, order.paid_amount - order.expected_amount),
        "status": order.status,
        "transaction_ids": sorted(order.payments),
        "paid_at": order.paid_at,
    }


def process(transaction_id: int, deps: ProcessorDeps, *, now: datetime) -> Outcome:
    settings = deps.settings
    entry = ledger.get_entry(deps.dynamodb, settings.ledger_table_name, transaction_id)
    if entry is None:
        raise MissingTransaction(f"transaction {transaction_id} is not in the ledger")
    if entry.status == ledger.PROCESSED:
        return Outcome(transaction_id, ALREADY_PROCESSED, order_code=None)

    transaction = entry.transaction
    order: orders.Order | None = None
    applied = False
    events: list[PaymentEvent] = []
    candidates: list[str] = []
    if not accepts_account(settings.account_numbers, transaction.account_number):
        outcome = OTHER_ACCOUNT
    elif transaction.amount < 0:
        outcome = MONEY_OUT
    else:
        candidates = find_codes(transaction.description, settings.order_code_pattern)
        found = orders.find_order(deps.dynamodb, settings.orders_table_name, candidates)
        if found is None or transaction.amount == 0:
            outcome = UNMATCHED
        else:
            result = orders.apply_payment(
                deps.dynamodb,
                settings.orders_table_name,
                found,
                transaction_id=transaction.id,
                amount=transaction.amount,
                tolerance=settings.amount_tolerance,
                now=now,
            )
            order, applied = result.order, result.applied
            outcome, detail_type = _ORDER_OUTCOMES[order.status]
            events.append(
                PaymentEvent(
                    detail_type,
                    {**_common(transaction, entry.source, order.key), **_order_detail(order)},
                )
            )
    order_code = order.key if order else None
    if outcome == UNMATCHED:
        events.append(
            PaymentEvent(
                PAYMENT_UNMATCHED,
                {**_common(transaction, entry.source, None), "candidates": candidates},
            )
        )
    events.insert(
        0,
        PaymentEvent(
            TRANSACTION_RECEIVED,
            {**_common(transaction, entry.source, order_code), "outcome": outcome},
        ),
    )
    publish(deps.events, settings.event_bus_name, events)
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
    )
