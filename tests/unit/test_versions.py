"""What a transaction's content is, across its v1, V2 and API renderings, and which version
is kept (`ledger.versions`): a conflict is never mistaken for a duplicate, and renderings of
one transaction are never mistaken for a conflict."""

from __future__ import annotations

import pytest

from casso_payments.casso.payload import parse_transaction
from casso_payments.ledger.entries import LedgerEntry
from casso_payments.ledger.versions import (
    KEPT,
    OPEN,
    assess,
    differences,
    rank,
    stronger,
    version_key,
)

API = {
    "id": 7,
    "tid": "FT1",
    "amount": 200_500,
    "description": "DH35  thanh toan",
    "cusum_balance": 15_900_500,
    "when": "2026-11-21 18:59:00",
    "bankSubAccId": "88888888",
    "corresponsiveName": "NGUYEN VAN A",
}
V2 = {
    "id": 7,
    "reference": "MBVCB.1",
    "amount": 200_500,
    "description": "DH35 thanh toan",
    "runningBalance": 15_900_500,
    "transactionDateTime": "2026-11-21 18:59:00",
    "accountNumber": "88888888",
    "counterAccountName": "",
    "bankName": "VPBank",
}


def t(raw: dict) -> object:
    return parse_transaction(raw)


def test_renderings_of_one_transaction_have_the_same_content():
    # Reference, balance, counterparty, bank name and whitespace runs are not content.
    assert differences(t(API), t(V2)) == ()
    # A v1 `when` that is a date only agrees with any time that day.
    assert differences(t({**API, "when": "2026-11-21"}), t(V2)) == ()
    # A rendering that leaves the account or the time out is not contradicting it.
    assert differences(t({k: v for k, v in API.items() if k != "bankSubAccId"}), t(V2)) == ()
    assert differences(t({**API, "when": ""}), t(V2)) == ()
    # The same moment written with a zone.
    assert differences(t({**API, "when": "2026-11-21T11:59:00+00:00"}), t(V2)) == ()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": 200_000}, "amount"),
        ({"amount": 0}, "amount"),
        ({"description": "DH36 thanh toan"}, "description"),
        ({"bankSubAccId": "99999999"}, "account_number"),
        ({"when": "2026-11-22"}, "when"),
        ({"when": "2026-11-21 18:59:01"}, "when"),
        ({"when": "hom qua"}, "when"),
    ],
)
def test_each_content_field_that_differs_is_named(change, field):
    assert differences(t({**API, **change}), t(V2)) == (field,)


def test_sources_rank_casso_vouched_over_the_v1_token():
    assert rank("reconcile") == rank("webhook-v2") > rank("webhook-v1")
    assert stronger("webhook-v2", "webhook-v1")
    assert stronger("reconcile", "webhook-v1")
    assert not stronger("reconcile", "webhook-v2")
    assert not stronger("webhook-v1", "webhook-v1")


def entry(raw: dict, source: str, outcome: str | None = None) -> LedgerEntry:
    status = "PROCESSED" if outcome else "RECEIVED"
    return LedgerEntry(t(raw), status, source, "2026-11-21T12:00:00.000Z", outcome=outcome)


def test_which_versions_are_kept_and_which_wait_for_the_processor():
    forged = {**API, "amount": 0, "description": "x"}
    # A plain duplicate, from any source: nothing kept.
    assert assess(entry(API, "webhook-v1"), t(V2), "webhook-v1") is None
    assert assess(entry(API, "webhook-v1"), t(V2), "webhook-v2") is None
    # Different and weaker or equal: kept; stronger: open.
    assert assess(entry(V2, "webhook-v2"), t(forged), "webhook-v1") == (
        ("amount", "description"),
        KEPT,
    )
    assert assess(entry(forged, "webhook-v1"), t(V2), "webhook-v2") == (
        ("amount", "description"),
        OPEN,
    )
    # A forgery that guessed the content and was refused by Casso's API: the real, stronger
    # version of the same content is open too (it replaces it); a confirmed one is not.
    assert assess(entry(API, "webhook-v1", "unconfirmed"), t(V2), "webhook-v2") == ((), OPEN)
    assert assess(entry(API, "webhook-v1", "paid"), t(V2), "webhook-v2") is None


def test_a_versions_key_is_its_source_and_content():
    assert version_key(t(API), "reconcile") == version_key(t({**API, "tid": "other"}), "reconcile")
    assert version_key(t(API), "reconcile") != version_key(t(API), "webhook-v1")
    assert version_key(t(API), "reconcile") != version_key(t({**API, "amount": 1}), "reconcile")
