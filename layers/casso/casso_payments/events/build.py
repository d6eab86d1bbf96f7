"""Every event the stack publishes, built here and only here (docs/events.md).

A transfer publishes `Transaction Received` (every processed transaction, with its outcome),
then `Order Expired` if it found its order past due and expired it, then its outcome's own
event (`Outcome.detail_type`), if the outcome has one: `transfer_events` is that list. The
reconciler's expiry step publishes `Order Expired` (`order_expired`), its gaps step `Balance
Gap Detected` and `Balance Gap Closed` (`balance_gap`), the shop's orders API `Order
Cancelled` (`order_cancelled`). Every transfer's detail
carries `transaction_id` and `order_code`, so a consumer can drop the rare copy a crash
between publishing and committing can cause.

Every detail is bounded, so any transfer's events fit the bus (`aws.bus`): the free text a
sender controls (`description`, `reference`) is cut to MAX_TEXT_CHARS characters, and
`candidates` to the first MAX_CANDIDATES codes that fit in as many characters; `truncated`
names the fields cut (docs/events.md). The ledger item keeps the transaction whole.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from casso_payments.aws.bus import Event
from casso_payments.events import names
from casso_payments.events.outcomes import Outcome
from casso_payments.orders.model import CANCELLED, EXPIRED, SETTLED

if TYPE_CHECKING:  # for types only: no cold start builds them
    from casso_payments.chain.links import Gap
    from casso_payments.events import details
    from casso_payments.events.effect import Effect
    from casso_payments.ledger.entries import LedgerEntry
    from casso_payments.ledger.versions import Version
    from casso_payments.orders.model import AppliedPayment, Order, RefundResult

# The most characters of free text a detail carries per field (a bank's description is a
# few hundred at most; Casso passes on whatever the sender wrote, 200 KB included).
MAX_TEXT_CHARS: Final = 1000
MAX_CANDIDATES: Final = 20  # order codes a Payment Unmatched / Needs Review detail names


def transfer_events(entry: LedgerEntry, effect: Effect) -> list[Event]:
    """What a processed transfer publishes, in order."""
    outcome = effect.outcome
    received: details.TransactionReceived = {
        **_transfer(entry, effect.order_code),
        "outcome": outcome.value,
        "confirmation": effect.confirmation,
    }
    events = [Event(names.TRANSACTION_RECEIVED, received)]
    if effect.expired is not None:
        events.append(order_expired(effect.expired))
    if outcome.detail_type is not None:
        events.append(Event(outcome.detail_type, _outcome_detail(entry, effect)))
    return events


def order_expired(order: Order) -> Event:
    """`Order Expired`: no transaction caused it."""
    detail: details.OrderExpired = {
        "transaction_id": None,
        "order_code": order.key,
        **_expired_state(order),
    }
    return Event(names.ORDER_EXPIRED, detail)


def payment_conflict(entry: LedgerEntry, version: Version, order_code: str | None) -> Event:
    """`Payment Conflict`: `version`, stronger than the ledger's `entry`, which was applied to
    `order_code` already; the transfer fields are the stronger version's."""
    stronger = entry._replace(transaction=version.transaction, source=version.source)
    transfer = _transfer(stronger, order_code)
    applied = entry.transaction.description[:MAX_TEXT_CHARS]
    cut = [] if applied == entry.transaction.description else ["applied_description"]
    detail: details.PaymentConflict = {
        **transfer,
        "truncated": [*transfer["truncated"], *cut],
        "version": version.key,
        "differs": list(version.differs),
        "applied_source": entry.source,
        "applied_amount": entry.transaction.amount,
        "applied_description": applied,
    }
    return Event(names.PAYMENT_CONFLICT, detail)


def order_cancelled(order: Order) -> Event:
    """`Order Cancelled`: the shop cancelled an open order; no transaction caused it."""
    detail: details.OrderCancelled = {
        "transaction_id": None,
        "order_code": order.key,
        "expected_amount": order.expected_amount,
        "paid_amount": order.paid_amount,
        "status": CANCELLED,
        "cancelled_at": order.cancelled_at,
    }
    return Event(names.ORDER_CANCELLED, detail)


def _outcome_detail(entry: LedgerEntry, effect: Effect) -> details.TransferDetail:
    outcome, order = effect.outcome, effect.order
    if outcome in (Outcome.UNMATCHED, Outcome.NEEDS_REVIEW):
        candidates, cut = _bounded_candidates(effect.candidates)
        named: details.Candidates = {**_transfer(entry, None), "candidates": candidates}
        if cut:
            named["truncated"] = [*named["truncated"], "candidates"]
        return named
    if outcome == Outcome.UNCONFIRMED:
        unconfirmed: details.PaymentUnconfirmed = {
            **_transfer(entry, None),
            "bound_order": effect.bound_order,
            "reason": effect.reason,
        }
        return unconfirmed
    if order is None:
        raise ValueError(f"outcome {outcome} publishes an event about an order, and has none")
    if outcome == Outcome.REFUND and effect.refund is not None:
        return _refund(entry, order, effect.refund)
    if outcome == Outcome.LATE:
        late: details.LatePayment = {
            **_transfer(entry, order.key),
            **_expired_state(order),
            "status": order.status,  # EXPIRED or CANCELLED: why the transfer is late
            "late_amount": entry.transaction.amount,
        }
        return late
    if effect.payment is None:
        raise ValueError(f"outcome {outcome} publishes a payment's event, and has no payment")
    return _payment(entry, order, effect.payment)


def _transfer(entry: LedgerEntry, order_code: str | None) -> details.TransferDetail:
    transaction = entry.transaction
    description = transaction.description[:MAX_TEXT_CHARS]
    reference = transaction.reference[:MAX_TEXT_CHARS]
    cut = [] if description == transaction.description else ["description"]
    cut += [] if reference == transaction.reference else ["reference"]
    return {
        "transaction_id": transaction.id,
        "order_code": order_code,
        "amount": transaction.amount,
        "description": description,
        "when": transaction.when,
        "account_number": transaction.account_number,
        "reference": reference,
        "source": entry.source,
        "truncated": cut,
    }


def _bounded_candidates(codes: tuple[str, ...]) -> tuple[list[str], bool]:
    """The first codes, at most MAX_CANDIDATES and MAX_TEXT_CHARS characters in all; whether
    any was left out."""
    kept: list[str] = []
    chars = 0
    for code in codes[:MAX_CANDIDATES]:
        chars += len(code)
        if chars > MAX_TEXT_CHARS:
            break
        kept.append(code)
    return kept, len(kept) < len(codes)


def _payment(entry: LedgerEntry, order: Order, payment: AppliedPayment) -> details.OrderPayment:
    """The order as this payment left it (not as it is now), so a retry says the same."""
    return {
        **_transfer(entry, order.key),
        "expected_amount": order.expected_amount,
        "paid_amount": payment.paid_amount,
        "remaining": max(0, order.expected_amount - payment.paid_amount),
        "overpaid_by": max(0, payment.paid_amount - order.expected_amount),
        "status": payment.status,
        # Paid amounts only grow, so these are the transfers applied up to this one.
        "transaction_ids": sorted(
            t for t, p in order.applied.items() if p.paid_amount <= payment.paid_amount
        ),
        "paid_at": order.paid_at if payment.status in SETTLED else None,
    }


def _refund(entry: LedgerEntry, order: Order, refund: RefundResult) -> details.RefundRecorded:
    """The order as this refund left it (the same on a retry)."""
    overpaid_by = max(0, order.paid_amount - order.expected_amount)
    return {
        **_transfer(entry, order.key),
        "refund_amount": refund.amount,
        "refunded_amount": refund.refunded_amount,
        "expected_amount": order.expected_amount,
        "paid_amount": order.paid_amount,
        "status": order.status,
        "overpaid_by": overpaid_by,
        # An overpaid order's excess, sent back: what a shop reconciling OVERPAID looks for.
        "excess_refunded": overpaid_by > 0 and refund.refunded_amount >= overpaid_by,
        "refund_transaction_ids": sorted(
            t
            for t, r in order.refunds.items()
            if int(r.get("refunded_amount", 0)) <= refund.refunded_amount
        ),
    }


def _expired_state(order: Order) -> details.ExpiredState:
    return {
        "expected_amount": order.expected_amount,
        "paid_amount": order.paid_amount,
        "status": EXPIRED,
        "expires_at": order.expires_at,
        "expired_at": order.expired_at,
    }


def balance_gap(gap: Gap, *, closed_at: str | None = None) -> Event:
    """`Balance Gap Detected` (its `detected_at` set), or `Balance Gap Closed` (`closed_at`)."""
    base: details.BalanceGap = {
        "gap_id": gap.key,
        "account_number": gap.account,
        "transaction_id": gap.transaction_id,
        "when": gap.when,
        "balance_before": gap.balance,
        "previous_transaction_id": gap.previous_id,
        "previous_balance": gap.previous_balance,
        "missing_amount": (
            None if gap.previous_balance is None else gap.balance - gap.previous_balance
        ),
        "found_at": gap.found_at,
    }
    if closed_at is not None:
        closed: details.BalanceGapClosed = {**base, "closed_at": closed_at}
        return Event(names.BALANCE_GAP_CLOSED, closed)
    if gap.detected_at is None:
        raise ValueError(f"gap {gap.key}: Balance Gap Detected needs its detected_at")
    detected: details.BalanceGapDetected = {**base, "detected_at": gap.detected_at}
    return Event(names.BALANCE_GAP_DETECTED, detected)
