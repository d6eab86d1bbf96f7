"""The balance chain's plain-value logic: a transaction's place in its account's chain, the
chain's order rebuilt from balances (never arrival order), and an account's day."""

from __future__ import annotations

from casso_payments.casso.payload import Transaction
from casso_payments.chain.links import Link, chain_order, link_of, moment
from casso_payments.chain.statement import day_statement

ACCOUNT = "88888888"


def link(tid: int, amount: int, balance: int | None, when: str, source: str = "webhook-v1"):
    return Link(ACCOUNT, tid, amount, balance, when, source)


def test_casso_times_become_sortable_vietnam_seconds():
    assert moment("2026-11-21 10:00:05") == "2026-11-21T10:00:05"
    assert moment("2026-11-21") == "2026-11-21T00:00:00"
    assert moment("2026-11-21T03:00:05+00:00") == "2026-11-21T10:00:05"
    assert moment("yesterday") == ""


def test_a_transaction_without_a_balance_is_not_checkable_and_one_without_account_has_no_chain():
    bare = Transaction(id=1, amount=100, account_number=ACCOUNT, when="2026-11-21 10:00:00")
    assert link_of(bare, "webhook-v1") is not None
    assert not link_of(bare, "webhook-v1").checkable
    assert link_of(Transaction(id=2, amount=100, balance=100), "webhook-v1") is None
    nothing_moved = Transaction(id=3, amount=0, balance=500, account_number=ACCOUNT)
    assert not link_of(nothing_moved, "webhook-v1").checkable
    full = Transaction(id=4, amount=-30, balance=70, account_number=ACCOUNT)
    assert link_of(full, "reconcile").before == 100


def test_the_chain_follows_balances_not_ids_or_arrival_in_the_same_second():
    second = "2026-11-21T10:00:00"
    # Casso's ids and the arrival order disagree with what happened; the balances don't.
    links = [link(9, 30, 160, second), link(7, 10, 110, second), link(8, 20, 130, second)]
    assert [x.transaction_id for x in chain_order(links)] == [7, 8, 9]


def test_a_day_statement_takes_balances_in_chain_order_and_names_its_gap():
    before = link(1, 100, 1_000, "2026-11-20T23:00:00")
    day = [
        link(4, 250, 1_460, "2026-11-21T12:00:00", "webhook-v2"),  # after a missing 40
        link(2, -30, 970, "2026-11-21T09:00:00", "reconcile"),
        link(3, 200, 1_170, "2026-11-21T09:00:00"),
    ]
    statement = day_statement(ACCOUNT, "2026-11-21", day, before)
    assert (statement.opening_balance, statement.closing_balance) == (1_000, 1_460)
    assert (statement.money_in, statement.money_out, statement.transactions) == (450, 30, 3)
    assert statement.by_source == {"webhook-v1": 1, "webhook-v2": 1, "reconcile": 1}
    ((gap),) = statement.gaps
    assert (gap.transaction_id, gap.previous_id, gap.missing_amount) == (4, 3, 40)


def test_the_first_known_transaction_is_not_a_gap_and_a_day_without_balances_is_not_checkable():
    first = day_statement(ACCOUNT, "2026-11-21", [link(1, 100, 1_000, "2026-11-21T09:00:00")], None)
    assert (first.opening_balance, first.gaps) == (900, ())
    bare = day_statement(ACCOUNT, "2026-11-21", [link(1, 100, None, "2026-11-21T09:00:00")], None)
    assert (bare.checkable, bare.opening_balance, bare.gaps) == (False, None, ())
    empty = day_statement(ACCOUNT, "2026-11-21", [], None)
    assert (empty.checkable, empty.transactions) == (True, 0)
