"""`ops statement`: an account's daily statement from the balance chain, as text or CSV for
the accountant (docs/operations.md#print-an-accounts-daily-statement)."""

from __future__ import annotations

import argparse
import csv
import io
from datetime import date, timedelta

import boto3

from casso_payments.chain.repository import BalanceChain
from casso_payments.chain.statement import DayStatement, day_statement
from ops.commands import Failed, Outputs, Usage

CSV_COLUMNS = (
    "account",
    "date",
    "opening_balance",
    "closing_balance",
    "money_in",
    "money_out",
    "transactions",
    "webhook_v1",
    "webhook_v2",
    "backfill",
    "gaps",
    "missing_amount",
    "checkable",
)


def statements(chain: BalanceChain, account: str, first: date, days: int) -> list[DayStatement]:
    found = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        links = chain.links(account, day.isoformat(), (day + timedelta(days=1)).isoformat())
        before = chain.previous(account, day.isoformat())
        found.append(day_statement(account, day.isoformat(), links, before))
    return found


def _vnd(amount: int | None) -> str:
    return "-" if amount is None else f"{amount:,} VND"


def as_text(statement: DayStatement) -> str:
    if not statement.checkable:
        balances = "not checkable (these records carry no balance)"
        opening = closing = balances
    else:
        opening, closing = _vnd(statement.opening_balance), _vnd(statement.closing_balance)
    sources = ", ".join(f"{name} {count}" for name, count in statement.by_source.items())
    gaps = [
        f"before transaction {g.transaction_id}: {_vnd(g.missing_amount)} missing"
        + (f" (after {g.previous_id})" if g.previous_id is not None else "")
        for g in statement.gaps
    ]
    return "\n".join(
        [
            f"account {statement.account}, {statement.day} (Vietnam time)",
            f"  opening balance  {opening}",
            f"  closing balance  {closing}",
            f"  money in         {_vnd(statement.money_in)}",
            f"  money out        {_vnd(statement.money_out)}",
            f"  transactions     {statement.transactions} ({sources})",
            f"  gaps             {len(gaps)}" + "".join(f"\n    {line}" for line in gaps),
        ]
    )


def as_csv(found: list[DayStatement]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for s in found:
        missing = [g.missing_amount for g in s.gaps if g.missing_amount is not None]
        writer.writerow(
            [
                s.account,
                s.day,
                "" if s.opening_balance is None else s.opening_balance,
                "" if s.closing_balance is None else s.closing_balance,
                s.money_in,
                s.money_out,
                s.transactions,
                s.by_source.get("webhook-v1", 0),
                s.by_source.get("webhook-v2", 0),
                s.by_source.get("reconcile", 0),
                len(s.gaps),
                sum(missing) if missing else "",
                "yes" if s.checkable else "no",
            ]
        )
    return out.getvalue().rstrip("\n")


def cmd_statement(args: argparse.Namespace, outputs: Outputs) -> str:
    try:
        first = date.fromisoformat(args.date)
    except ValueError:
        raise Usage(f"--date must be YYYY-MM-DD, got {args.date!r}") from None
    if not 1 <= args.days <= 366:
        raise Usage(f"--days must be between 1 and 366, got {args.days}")
    table = outputs.get("BalanceChainTableName")
    if not table:
        raise Failed(f"stack {args.stack} has no BalanceChainTableName output: deploy this version")
    chain = BalanceChain(boto3.client("dynamodb"), table)
    found = statements(chain, args.account, first, args.days)
    return as_csv(found) if args.csv else "\n\n".join(as_text(s) for s in found)
