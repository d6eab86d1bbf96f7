"""What the processor works with: the two tables' owners, the bus, the Casso client and its
settings, made once per execution environment by the handler and passed in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from casso_payments.aws.bus import Bus
    from casso_payments.chain.repository import BalanceChain
    from casso_payments.ledger.repository import Ledger
    from casso_payments.orders.repository import Orders
    from casso_payments.processor.confirmation import TransactionLookup
    from casso_payments.settings.processor import ProcessorSettings


@dataclass(frozen=True)
class ProcessorDeps:
    ledger: Ledger
    orders: Orders
    bus: Bus
    settings: ProcessorSettings
    # Builds the Casso API client on first use (`confirmation.casso_lookup`); None: no
    # confirmation possible, so a transaction that needs one waits.
    casso: Callable[[], TransactionLookup] | None = None
    # The balance chain (BalanceChainTable); None: the stack keeps none.
    chain: BalanceChain | None = None
