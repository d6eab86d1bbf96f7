"""`FakeBalanceChain` (tests/fakes.py) answers as the real `BalanceChain` does: the same
scenario on both (in-process moto and memory), the same answers, refusals included, and the
same items afterwards; the same methods with the same signatures, every one of them called."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from casso_payments.chain.links import Gap, Link
from casso_payments.chain.repository import BalanceChain
from tests.fakes import FakeBalanceChain
from tests.helpers import ledger_items

ACCOUNT = "88888888"


def link(tid: int, amount: int, balance: int | None, when: str) -> Link:
    return Link(ACCOUNT, tid, amount, balance, when, "webhook-v1")


def scenario(chain: Any) -> None:
    first = link(1, 100, 1_000, "2026-11-21T09:00:00")
    second = link(2, -30, 970, "2026-11-21T09:00:00")  # the same second
    after_gap = link(4, 250, 1_460, "2026-11-21T12:00:00")
    bare = link(5, 10, None, "2026-11-21T13:00:00")
    for each in (after_gap, second, first, bare, first):  # any order, a repeat
        chain.add(each)
    assert chain.reached(ACCOUNT, 1_000)
    assert chain.reached(ACCOUNT, 970)
    assert not chain.reached(ACCOUNT, 1_210)
    assert not chain.reached("other", 1_000)
    assert chain.previous(ACCOUNT, "2026-11-21T12:00:00") == second
    assert chain.previous(ACCOUNT, "2026-11-21T09:00:00", 2) == first
    assert chain.previous(ACCOUNT, "2026-11-21T09:00:00") is None
    assert chain.links(ACCOUNT, "2026-11-21", "2026-11-22") == [first, second, after_gap, bare]
    assert chain.links(ACCOUNT, "2026-11-22", "2026-11-23") == []

    gap = Gap(ACCOUNT, 4, 1_210, 250, after_gap.when, "2026-11-21T05:00:00.000Z")
    origin = Gap(ACCOUNT, 1, 900, 100, first.when, "2026-11-21T02:00:00.000Z")
    assert chain.add_start(gap)
    assert chain.add_start(origin)
    assert not chain.add_start(gap)
    assert chain.classify(origin, origin=True, found_at=origin.found_at)
    detected = Gap(
        **{**gap.__dict__, "detected_at": "2026-11-21T06:00:00.000Z", "previous_id": 2},
    )
    assert chain.mark_detected(detected)
    assert not chain.mark_detected(detected)
    starts = chain.starts()
    assert [(s.transaction_id, s.origin, s.detected_at, s.previous_id) for s in starts] == [
        (1, True, None, None),
        (4, False, "2026-11-21T06:00:00.000Z", 2),
    ]
    assert chain.remove_start(origin)
    assert not chain.remove_start(origin)
    assert not chain.classify(origin, origin=False, found_at="x")
    assert not chain.mark_detected(origin)


@pytest.mark.parametrize("kind", ["moto", "fake"])
def test_the_real_chain_and_the_fake_answer_alike(kind: str, request: pytest.FixtureRequest):
    if kind == "fake":
        scenario(FakeBalanceChain())
    else:
        scenario(request.getfixturevalue("stack").chain)


def test_the_real_and_fake_chains_hold_the_same_items_after(stack: Any) -> None:
    fake = FakeBalanceChain()
    scenario(stack.chain)
    scenario(fake)
    real = ledger_items(stack.dynamodb, stack.local.ref("BalanceChainTable"))
    expected = [fake.items[k] for k in sorted(fake.items)]
    assert sorted(real, key=lambda i: (i["pk"], i["sk"])) == expected


def methods(owner: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(value)
        for name, value in vars(owner).items()
        if inspect.isfunction(value) and not name.startswith("_")
    }


class Calls:
    def __init__(self, target: Any) -> None:
        self.target, self.called = target, set()

    def __getattr__(self, name: str) -> Any:
        self.called.add(name)
        return getattr(self.target, name)


def test_the_fake_has_the_owners_methods_and_the_scenario_calls_every_one():
    assert methods(FakeBalanceChain) == methods(BalanceChain)
    calls = Calls(FakeBalanceChain())
    scenario(calls)
    assert set(methods(BalanceChain)) - calls.called == set()
