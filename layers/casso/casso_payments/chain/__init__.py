"""The balance chain: per bank account, each transaction's balance after it, chained to the
one before it by balance (balance before = balance after - amount), and the gaps in it.

links        `Link` (one transaction's place in its account's chain) and `Gap` (a chain
             start that isn't the account's first), as plain values; no I/O
repository   `BalanceChain`, the BalanceChainTable's one owner: every key, expression and
             conditional write
statement    an account's day from its links: opening and closing balance, money in and
             out, counts by source, gaps; no I/O
"""
