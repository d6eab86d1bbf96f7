"""What processing one transaction did, as a value: `Effect`. The processor returns it, the
ledger keeps its outcome and order code, and `events.build` says it on the bus, so one value
carries every decision from the order's table to the event."""

from __future__ import annotations

from typing import Final, NamedTuple

from casso_payments.events.outcomes import Outcome
from casso_payments.orders.model import AppliedPayment, Order, RefundResult

# Whether Casso's API vouched for the transaction (the ledger's and the event's
# `confirmation`): `processor.confirmation` decides.
CONFIRMED: Final = "casso-api"
NOT_REQUIRED: Final = "not-required"
REFUSED: Final = "refused"


# A NamedTuple, like the ledger's shapes and the results of an order's writes: a frozen
# dataclass compiles its methods when its module is imported, about 0.6 ms of every cold
# start per class (docs/benchmarks.md#cold-start); these plain values need none of that.
class Effect(NamedTuple):
    outcome: Outcome
    # The order the ledger item and `Transaction Received` name (the bound code), if any.
    order_code: str | None = None
    order: Order | None = None  # the order as this transfer left it
    applied: bool = False  # False on a retry: the transfer was already on the order
    confirmation: str = NOT_REQUIRED
    reason: str = ""  # unconfirmed: why Casso didn't vouch for it
    candidates: tuple[str, ...] = ()  # unmatched, needs review: the codes it named
    bound_order: str | None = None  # unconfirmed: the order it would have settled
    payment: AppliedPayment | None = None  # a payment: what it produced on the order
    refund: RefundResult | None = None  # a refund: what it recorded on the order
    # This transfer found its order past due and expired it: `Order Expired` goes out too.
    expired: Order | None = None
