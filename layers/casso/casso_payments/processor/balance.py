"""The processor's part of the balance chain (docs/architecture.md#the-balance-chain): each
transaction it processes joins its account's chain, and one whose balance before no known
transaction reached is kept as a chain start (a possible gap) and makes Casso sync that
account at once, so a transaction it holds but hasn't sent comes in.

Two DynamoDB calls per transaction (the link's put, one index query); a start costs one
more write and a Casso call, once. Whether a start is a real gap (not the account's first
transaction, not filled by a late or backfilled one) is the reconciler's to decide
(`reconciler.gaps`), after BalanceGapMinutes: a late delivery is never a gap.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Final, Protocol

from casso_payments.aws.dynamo import timestamp
from casso_payments.chain.links import gap_of, link_of
from casso_payments.chain.repository import BalanceChain
from casso_payments.ledger.entries import LedgerEntry

NO_ACCOUNT: Final = "no_account"  # names no account: no chain to join
NOT_CHECKABLE: Final = "not_checkable"  # no balance (or moves nothing)
CHAINED: Final = "chained"
START: Final = "start"  # a possible gap, kept for the reconciler
START_NOT_SYNCED: Final = "start_not_synced"  # and Casso could not be asked to sync


class AccountSync(Protocol):
    def sync(self, bank_account: str) -> Any: ...


def join_chain(
    entry: LedgerEntry,
    chain: BalanceChain,
    *,
    now: datetime,
    casso: Callable[[], Any] | None = None,
) -> str:
    """Put the transaction in its account's chain; what it found (a constant above)."""
    link = link_of(entry.transaction, entry.source)
    if link is None:
        return NO_ACCOUNT
    chain.add(link)
    if not link.checkable or link.before is None:
        return NOT_CHECKABLE
    if chain.reached(link.account, link.before):
        return CHAINED
    if chain.add_start(gap_of(link, found_at=timestamp(now))) and casso is not None:
        try:
            client: AccountSync = casso()
            client.sync(link.account)
        except Exception:  # the reconciler syncs it again; a payment never waits for this
            return START_NOT_SYNCED
    return START
