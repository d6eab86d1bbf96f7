"""The local story, told by `make demo` and checked by the end-to-end tests: one definition.

Orders are created; the reconciler registers the webhook (v1) with the Casso simulator,
beside the V2 webhook set up "in Casso's UI"; transfers go out as v1 and V2 webhooks (paid
in full, two partial transfers, overpaid, unmatched, a refund of the overpaid order's excess,
a late payment for an order that expired); one transfer reaches both webhooks (a duplicate);
a forged V2 webhook is sent, and a forged v1 one with the right token (it must end
unconfirmed); one transfer's webhook is lost and the reconciler's next run backfills it.
Every order carries its VietQR (the payee below).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Transfer:
    amount: int
    description: str
    # "v1", "v2": only that webhook gets it; None: every webhook (so one is a duplicate).
    generation: str | None
    lost: bool = False


ORDERS = (("DH35", 200_500), ("DH36", 300_000), ("DH1234", 200_000), ("DH37", 150_000))
# Created to expire a second later; its transfer is sent once it has: a late payment.
EXPIRING_ORDER = ("DH38", 180_000)
EXPIRES_IN_SECONDS = 1
# The account every order's VietQR pays into (template parameters Payee*).
PAYEE = {
    "PayeeBankBin": "970436",
    "PayeeAccountNumber": "0011001234567",
    "PayeeAccountName": "CONG TY DEMO",
}

TRANSFERS = (
    Transfer(200_500, "MBVCB.3278841.DH35.CT tu 0123456789 NGUYEN VAN A", None),
    Transfer(120_000, "IBFT DH36 thanh toan lan 1", "v2"),
    Transfer(100_000, "dh-0036 chuyen khoan lan 2", "v1"),
    Transfer(250_000, "Thanh toán đơn hàng ĐH1234 - Nguyễn Văn Á", "v2"),
    Transfer(50_000, "CHUYEN TIEN AN TRUA", "v1"),
    Transfer(-50_000, "HOAN TIEN THUA DH1234", "v2"),  # the overpaid excess, sent back
    Transfer(150_000, "DH37 thanh toan", "v1", lost=True),
    Transfer(180_000, "DH38 thanh toan", "v1"),  # after DH38 expired
)

# A forged v1 webhook carrying the right secure token (someone saw it: a proxy log, a leaked
# .env): a payment unknown to Casso, paying DH36 off. Casso does not vouch for it, so it
# ends `unconfirmed` (a `Payment Unconfirmed` event) and changes no order.
FORGED_V1 = Transfer(80_000, "DH36 thanh toan nốt", "v1")
FORGED_V1_ID = 990002

EXPECTED_ORDERS = {
    "DH35": ("PAID", 200_500),
    "DH36": ("PARTIALLY_PAID", 220_000),
    "DH1234": ("OVERPAID", 250_000),
    "DH37": ("PAID", 150_000),
    "DH38": ("EXPIRED", 0),  # its transfer is kept as a late payment, not paid
}
EXPECTED_REFUNDED = {"DH1234": 50_000}  # refunded_amount; the other orders' is 0
EXPECTED_LATE = {"DH38": 180_000}  # late payments kept on the order
EXPECTED_OUTCOMES = {
    "paid": 2,
    "partially_paid": 2,
    "overpaid": 1,
    "unmatched": 1,
    "refund": 1,
    "late": 1,
    "unconfirmed": 1,  # the forged v1 delivery
}
EXPECTED_EVENTS = {
    "Transaction Received": 9,
    "Order Paid": 2,
    "Order Partially Paid": 2,
    "Order Overpaid": 1,
    "Payment Unmatched": 1,
    "Refund Recorded": 1,
    "Order Expired": 1,
    "Late Payment": 1,
    "Payment Unconfirmed": 1,  # the forged v1 delivery
}
EXPECTED_BACKFILLED = 1  # the lost one
EXPECTED_REJECTED = 1  # the forged signature
EXPECTED_DUPLICATES = 1  # at least: the transfer sent to both webhooks (timing may add retries)
