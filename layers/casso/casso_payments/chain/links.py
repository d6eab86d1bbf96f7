"""One transaction's place in its account's balance chain, and the chain's gaps, as plain
values (docs/architecture.md#the-balance-chain).

Casso gives every transaction the account's balance after it (`cusum_balance`,
`runningBalance`), so its balance before is that balance less its amount. A transaction
whose balance before is no known transaction's balance after is a **chain start**: the
account's first known transaction (its origin), or a **gap** (money moved that no webhook
and no API page gave us). The chain is rebuilt from the balances, never from arrival order
or timestamps alone, so a late delivery or two transactions in the same second still chain.
A record without a balance can't be checked: it is kept for the statement, never a gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Final

from casso_payments.casso.payload import Transaction

VIETNAM: Final = timezone(timedelta(hours=7))  # Casso's times are Vietnam times


def moment(when: str) -> str:
    """Casso's `when` ("2026-11-21 10:00:00", "2026-11-21", ISO with an offset) as sortable
    text in Vietnam time, "YYYY-MM-DDTHH:MM:SS"; "" when it can't be read (sorts first)."""
    try:
        parsed = datetime.fromisoformat(str(when).strip())
    except ValueError:
        return ""
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(VIETNAM).replace(tzinfo=None)
    return parsed.isoformat(timespec="seconds")


@dataclass(frozen=True)
class Link:
    """A transaction in its account's chain. `balance`: after it (None: not checkable)."""

    account: str
    transaction_id: int
    amount: int
    balance: int | None
    when: str  # `moment(...)`
    source: str  # the ledger's: webhook-v1, webhook-v2, reconcile

    @property
    def before(self) -> int | None:
        return None if self.balance is None else self.balance - self.amount

    @property
    def checkable(self) -> bool:
        # An amount of 0 moves nothing: its balance before is its own balance after.
        return self.balance is not None and self.amount != 0


def link_of(transaction: Transaction, source: str) -> Link | None:
    """The transaction's link; None when it names no account (there is no chain to join)."""
    account = transaction.account_number.strip()
    if not account:
        return None
    return Link(
        account=account,
        transaction_id=transaction.id,
        amount=transaction.amount,
        balance=transaction.balance,
        when=moment(transaction.when),
        source=source,
    )


@dataclass(frozen=True)
class Gap:
    """A chain start kept in the table until it chains: `transaction_id` is the transaction
    right after the missing money, `balance` its balance before (which no known transaction
    reached). `origin`: the account's first known transaction, not a gap (yet). `found_at`:
    when it was found to be a possible gap (UTC ISO 8601); `detected_at`: when `Balance Gap
    Detected` was published for it."""

    account: str
    transaction_id: int
    balance: int
    amount: int
    when: str
    found_at: str
    origin: bool = False
    detected_at: str | None = None
    # The account's transaction before it in time, and its balance after: kept when the
    # gap is detected, for its events.
    previous_id: int | None = None
    previous_balance: int | None = None

    @property
    def key(self) -> str:
        """The gap's id in events: account and the transaction after it."""
        return f"{self.account}#{self.transaction_id}"


def gap_of(link: Link, *, found_at: str) -> Gap:
    if link.before is None:
        raise ValueError(f"transaction {link.transaction_id} has no balance: not checkable")
    return Gap(
        account=link.account,
        transaction_id=link.transaction_id,
        balance=link.before,
        amount=link.amount,
        when=link.when,
        found_at=found_at,
    )


def chain_order(links: list[Link]) -> list[Link]:
    """`links` (checkable ones, one account) in chain order: each followed by the one whose
    balance before is its balance after, starts taken by time. Same-second transactions and
    late deliveries come out in the order their balances say."""
    remaining = sorted(links, key=lambda link: (link.when, link.transaction_id))
    ordered: list[Link] = []
    while remaining:
        afters = {link.balance for link in remaining}
        start = next((x for x in remaining if x.before not in afters), remaining[0])
        current: Link | None = start
        while current is not None:
            ordered.append(current)
            remaining.remove(current)
            current = next((x for x in remaining if x.before == current.balance), None)
    return ordered
