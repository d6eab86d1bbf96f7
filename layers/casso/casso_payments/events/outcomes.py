"""What the processor did with a transaction, one name per outcome. Each `Outcome` is
the ledger item's `outcome` and the `Transaction Received` event's (its value), and carries
the processor's metric for it, the event it publishes (detail-type; None: only Transaction
Received) and, for a payment, the status it gave its order.
"""

from __future__ import annotations

from enum import StrEnum

from casso_payments.events import names
from casso_payments.orders import model as orders


class Outcome(StrEnum):
    metric: str
    detail_type: str | None
    order_status: str | None

    def __new__(
        cls,
        value: str,
        metric: str,
        detail_type: str | None = None,
        order_status: str | None = None,
    ) -> Outcome:
        member = str.__new__(cls, value)
        member._value_ = value
        member.metric = metric
        member.detail_type = detail_type
        member.order_status = order_status
        return member

    PAID = "paid", "OrdersPaid", names.ORDER_PAID, orders.PAID
    PARTIALLY_PAID = (
        "partially_paid",
        "OrdersPartiallyPaid",
        names.ORDER_PARTIALLY_PAID,
        orders.PARTIALLY_PAID,
    )
    OVERPAID = "overpaid", "OrdersOverpaid", names.ORDER_OVERPAID, orders.OVERPAID
    # A transfer to an order an earlier transaction already settled (refund or review it).
    EXTRA_PAYMENT = "extra_payment", "OrdersExtraPayment", names.ORDER_EXTRA_PAYMENT
    UNMATCHED = "unmatched", "PaymentsUnmatched", names.PAYMENT_UNMATCHED
    # The description names two or more existing orders: a person chooses (`ops settle`).
    NEEDS_REVIEW = "needs_review", "PaymentsNeedReview", names.PAYMENT_NEEDS_REVIEW
    # Casso's API does not vouch for the transaction: forged or broken delivery, no change.
    UNCONFIRMED = "unconfirmed", "PaymentsUnconfirmed", names.PAYMENT_UNCONFIRMED
    MONEY_OUT = "money_out", "MoneyOut"
    # Money out naming one existing order: recorded on it.
    REFUND = "refund", "RefundsRecorded", names.REFUND_RECORDED
    # For an EXPIRED order: kept on it, settles nothing until a person accepts it.
    LATE = "late", "LatePayments", names.LATE_PAYMENT, orders.EXPIRED
    # Not one of AccountNumbers: recorded, never settles.
    OTHER_ACCOUNT = "other_account", "OtherAccountTransactions"
    ALREADY_PROCESSED = "already_processed", "AlreadyProcessed"
    # A stronger version of a transaction already applied to an order: the order is not
    # changed, a person decides (`processor.versions`). Never a ledger entry's outcome.
    CONFLICT = "conflict", "PaymentConflicts", names.PAYMENT_CONFLICT

    @classmethod
    def of_payment(cls, payment: orders.AppliedPayment) -> Outcome:
        """What a transfer applied to its order was: the one that settled it (PAID or
        OVERPAID), one more after it (EXTRA_PAYMENT), or a part (PARTIALLY_PAID)."""
        if payment.status not in orders.SETTLED:
            return cls.PARTIALLY_PAID
        if not payment.settles:
            return cls.EXTRA_PAYMENT
        return cls.PAID if payment.status == orders.PAID else cls.OVERPAID
