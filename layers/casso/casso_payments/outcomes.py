"""What the processor did with a transaction: the ledger item's `outcome`, the
`Transaction Received` event's, and the processor's metric per outcome."""

from __future__ import annotations

from typing import Final

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
