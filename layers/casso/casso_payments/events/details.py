"""The detail of every event the stack publishes, typed: one TypedDict per detail-type, the
same fields as its JSON Schema in schemas/events/ (a test holds the two equal), so the code
that builds an event (`events.build`) is checked against what consumers are promised. For
the type checker and the tests: `events.build` imports it for types only.
"""

from __future__ import annotations

from typing import Final, TypedDict

from casso_payments.events.names import (
    BALANCE_GAP_CLOSED,
    BALANCE_GAP_DETECTED,
    LATE_PAYMENT,
    ORDER_CANCELLED,
    ORDER_EXPIRED,
    ORDER_EXTRA_PAYMENT,
    ORDER_OVERPAID,
    ORDER_PAID,
    ORDER_PARTIALLY_PAID,
    PAYMENT_CONFLICT,
    PAYMENT_NEEDS_REVIEW,
    PAYMENT_UNCONFIRMED,
    PAYMENT_UNMATCHED,
    REFUND_RECORDED,
    TRANSACTION_RECEIVED,
)


class TransferDetail(TypedDict):
    """What every transfer's event says of the transfer (with detail-type, `transaction_id`
    is the key a consumer drops a repeated event by)."""

    transaction_id: int
    order_code: str | None  # canonical; null when no order matched
    amount: int  # VND; negative for money out
    description: str
    when: str | None
    account_number: str | None
    reference: str | None
    source: str  # how it arrived: webhook-v1, webhook-v2 or reconcile (backfilled)
    # The fields cut to fit (`events.build.MAX_TEXT_CHARS`): description, reference,
    # candidates; empty when nothing was. The ledger keeps the whole transaction.
    truncated: list[str]


class TransactionReceived(TransferDetail):
    outcome: str
    confirmation: str


class OrderPayment(TransferDetail):
    """Order Paid, Partially Paid, Overpaid and Extra Payment: the order as this transfer
    left it (not as it is now), so a retry says the same."""

    expected_amount: int
    paid_amount: int
    remaining: int
    overpaid_by: int
    status: str
    transaction_ids: list[int]  # the transfers applied up to this one
    paid_at: str | None


class Candidates(TransferDetail):
    """Payment Unmatched and Payment Needs Review: the order codes the description named."""

    candidates: list[str]


class PaymentUnconfirmed(TransferDetail):
    bound_order: str | None
    reason: str


class PaymentConflict(TransferDetail):
    """A version Casso vouches for (the transfer fields, its `source`) of a transaction whose
    weaker version was already applied to order `order_code`: no order changed; a person
    settles it (`ops settle conflict`)."""

    version: str  # the version's key, what `ops settle conflict --version` names
    differs: list[str]  # the content fields that differ from the applied version
    applied_source: str
    applied_amount: int
    applied_description: str


class RefundRecorded(TransferDetail):
    refund_amount: int
    refunded_amount: int
    refund_transaction_ids: list[int]
    expected_amount: int
    paid_amount: int
    status: str
    overpaid_by: int
    excess_refunded: bool  # an overpaid order's excess, sent back


class ExpiredState(TypedDict):
    expected_amount: int
    paid_amount: int
    status: str
    expires_at: str | None
    expired_at: str | None


class OrderExpired(ExpiredState):
    transaction_id: None  # no transfer caused it
    order_code: str


class OrderCancelled(TypedDict):
    """The shop cancelled an open order (the orders API); no transfer caused it."""

    transaction_id: None
    order_code: str
    expected_amount: int
    paid_amount: int
    status: str
    cancelled_at: str | None


class LatePayment(TransferDetail, ExpiredState):
    late_amount: int


class BalanceGap(TypedDict):
    """Balance Gap Detected and Balance Gap Closed: money moved on an account that no
    webhook and no API page gave us (docs/architecture.md#the-balance-chain). With
    detail-type, `gap_id` is the key a consumer drops a repeated event by."""

    gap_id: str  # "<account>#<transaction_id>"
    account_number: str
    transaction_id: int  # the transaction right after the missing money
    when: str  # its time, Vietnam time
    balance_before: int  # its balance before, which no known transaction left
    previous_transaction_id: int | None  # the account's transaction before it in time
    previous_balance: int | None  # that one's balance after
    missing_amount: int | None  # balance_before - previous_balance: what moved unseen
    found_at: str


class BalanceGapDetected(BalanceGap):
    detected_at: str


class BalanceGapClosed(BalanceGap):
    closed_at: str


# Each detail-type and the shape of its detail.
DETAILS: Final[dict[str, type]] = {
    TRANSACTION_RECEIVED: TransactionReceived,
    ORDER_PAID: OrderPayment,
    ORDER_PARTIALLY_PAID: OrderPayment,
    ORDER_OVERPAID: OrderPayment,
    ORDER_EXTRA_PAYMENT: OrderPayment,
    PAYMENT_UNMATCHED: Candidates,
    PAYMENT_NEEDS_REVIEW: Candidates,
    PAYMENT_UNCONFIRMED: PaymentUnconfirmed,
    REFUND_RECORDED: RefundRecorded,
    LATE_PAYMENT: LatePayment,
    ORDER_EXPIRED: OrderExpired,
    PAYMENT_CONFLICT: PaymentConflict,
    BALANCE_GAP_DETECTED: BalanceGapDetected,
    BALANCE_GAP_CLOSED: BalanceGapClosed,
    ORDER_CANCELLED: OrderCancelled,
}
DETAIL_TYPES: Final = tuple(DETAILS)
