"""The Casso simulator's GET /v2/transactions pages as Casso does: by time (then id), within
the dates asked, every transaction on exactly one page, ascending or descending."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local.casso.simulator import CassoSimulator

pytestmark = pytest.mark.integration


def every_page(simulator: CassoSimulator, **params: Any) -> tuple[list[int], list[dict]]:
    """The ids of every record, page after page, and each page's envelope."""
    client = simulator.app.test_client()
    ids: list[int] = []
    envelopes: list[dict] = []
    page: int | None = 1
    while page is not None:
        answer = client.get(
            "/v2/transactions",
            query_string={**params, "page": page},
            headers={"Authorization": "Apikey k"},
        )
        assert answer.status_code == 200, answer.get_json()
        data = answer.get_json()["data"]
        envelopes.append(data)
        ids += [r["id"] for r in data["records"]]
        page = data["nextPage"]
    return ids, envelopes


@pytest.fixture
def simulator() -> CassoSimulator:
    # Added out of time order, across four days, two of them in the same second.
    casso = CassoSimulator(api_key="k")
    base = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    for offset in (5, 0, 70, 3, 0, 30, 49, 95, 1, 26):
        casso.add_transaction(1_000, f"DH{offset}", when=base + timedelta(hours=offset))
    return casso


def expected(simulator: CassoSimulator, start: str, end: str, descending: bool) -> list[int]:
    chosen = [r for r in simulator.transactions.values() if start <= r["when"][:10] <= end]
    chosen.sort(key=lambda r: (r["when"], r["id"]), reverse=descending)
    return [r["id"] for r in chosen]


@pytest.mark.parametrize("order", ["ASC", "DESC"])
@pytest.mark.parametrize("size", [1, 3, 10, 50])
def test_every_transaction_in_range_is_on_one_page_in_time_order(simulator, order, size):
    ids, envelopes = every_page(simulator, pageSize=size, sort=order)
    assert ids == expected(simulator, "0000", "9999", order == "DESC")
    assert all(e["totalRecords"] == len(ids) for e in envelopes)
    assert len(envelopes) == max(1, -(-len(ids) // size)) == envelopes[0]["totalPages"]


@pytest.mark.parametrize("order", ["ASC", "DESC"])
def test_dates_bound_the_records_inclusively(simulator, order):
    # 12:00 UTC is 19:00 in Vietnam, so +5 h is already the next Vietnamese day.
    ids, envelopes = every_page(
        simulator, fromDate="2026-03-11", toDate="2026-03-12", pageSize=2, sort=order
    )
    assert ids == expected(simulator, "2026-03-11", "2026-03-12", order == "DESC")
    assert 0 < len(ids) < len(simulator.transactions)
    assert envelopes[0]["totalRecords"] == len(ids)


def test_a_page_past_the_end_is_empty(simulator):
    client = simulator.app.test_client()
    data = client.get(
        "/v2/transactions",
        query_string={"page": 9, "pageSize": 5},
        headers={"Authorization": "Apikey k"},
    ).get_json()["data"]
    assert (data["records"], data["nextPage"], data["totalRecords"]) == ([], None, 10)
