"""An account's day from its links, for `ops statement`: opening and closing balance, money
in and out, how many transactions each source brought, and the gaps (docs/operations.md).

Pure: the caller reads the day's links and the last link before the day
(`BalanceChain.links`, `BalanceChain.previous`). Balances are taken in chain order, never
arrival order: the opening balance is the balance before the day's first transaction in the
chain, the closing one the balance after its last.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Final

from casso_payments.chain.links import Link, chain_order

SOURCES: Final = ("webhook-v1", "webhook-v2", "reconcile")


@dataclass(frozen=True)
class StatementGap:
    transaction_id: int  # the transaction right after the missing money
    balance_before: int  # its balance before, which no known transaction left
    previous_id: int | None  # the transaction before it in the chain's time order
    missing_amount: int | None  # balance before - the previous one's balance after


@dataclass(frozen=True)
class DayStatement:
    account: str
    day: str  # YYYY-MM-DD, Vietnam time
    transactions: int
    money_in: int
    money_out: int  # positive: what left the account
    by_source: dict[str, int] = field(default_factory=dict)
    # None: the day's records carry no balance (not checkable), or there were none.
    opening_balance: int | None = None
    closing_balance: int | None = None
    checkable: bool = True
    gaps: tuple[StatementGap, ...] = ()


def day_statement(account: str, day: str, links: list[Link], before: Link | None) -> DayStatement:
    """The statement of `day` from its `links`; `before`: the account's last link before it."""
    by_source = {source: 0 for source in SOURCES}
    for link in links:
        by_source[link.source] = by_source.get(link.source, 0) + 1
    balanced = [link for link in links if link.balance is not None]
    statement = DayStatement(
        account=account,
        day=day,
        transactions=len(links),
        money_in=sum(link.amount for link in links if link.amount > 0),
        money_out=-sum(link.amount for link in links if link.amount < 0),
        by_source=by_source,
        checkable=bool(balanced) or not links,
    )
    if not balanced:
        return statement
    ordered = chain_order(balanced)
    reached = {link.balance for link in balanced}
    if before is not None and before.balance is not None:
        reached.add(before.balance)
    gaps = []
    latest = before if before is not None and before.balance is not None else None
    for link in sorted(balanced, key=lambda x: (x.when, x.transaction_id)):
        if link.checkable and link.before not in reached and latest is not None:
            before_balance = link.before or 0
            missing = None if latest.balance is None else before_balance - latest.balance
            gaps.append(
                StatementGap(link.transaction_id, before_balance, latest.transaction_id, missing)
            )
        latest = link
    first, last = ordered[0], ordered[-1]
    return replace(
        statement,
        opening_balance=first.before,
        closing_balance=last.balance,
        gaps=tuple(gaps),
    )
