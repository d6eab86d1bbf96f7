"""The Casso API client over real HTTP against the Casso simulator."""

from __future__ import annotations

import socket
from datetime import UTC, date, datetime, timedelta

import pytest

from casso_payments.casso.client import (
    CassoApiError,
    CassoAuthError,
    CassoClient,
    CassoUnavailable,
    Webhook,
    WebhookNotFound,
)
from local.casso.simulator import CassoSimulator

pytestmark = pytest.mark.integration
KEY = "sim-api-key"


@pytest.fixture
def casso_options() -> dict:
    return {"api_key": KEY, "minute": 0.005}


def client(casso, **kwargs) -> CassoClient:
    return CassoClient(KEY, base_url=casso.api_url, backoff=0.01, **kwargs)


def test_bad_key_is_a_typed_error(casso):
    with pytest.raises(CassoAuthError, match="Casso error 401: Unauthorized Access"):
        CassoClient("wrong", base_url=casso.api_url).user_info()


def test_missing_key_is_refused_before_any_call():
    with pytest.raises(CassoAuthError, match="no Casso API key configured"):
        CassoClient("")


def test_webhook_round_trip(casso):
    api = client(casso)
    created = api.create_webhook("https://example.vn/hook", "tok", income_only=True)
    assert api.get_webhook(created.id) == Webhook(created.id, "https://example.vn/hook", True)
    updated = api.update_webhook(created.id, "https://example.vn/new", "tok2", income_only=False)
    assert (updated.url, updated.income_only) == ("https://example.vn/new", False)
    assert casso.webhooks[created.id].secure_token == "tok2"
    api.delete_webhook(created.id)
    with pytest.raises(WebhookNotFound, match="Casso error 12: Webhook not exists"):
        api.get_webhook(created.id)


def test_delete_by_url_removes_every_copy(casso):
    api = client(casso)
    for _ in range(3):
        api.create_webhook("https://example.vn/hook", "tok", income_only=True)
    other = api.create_webhook("https://example.vn/other", "tok", income_only=True)
    assert len(api.delete_webhooks_by_url("https://example.vn/hook")) == 3
    assert list(casso.webhooks) == [other.id]
    assert api.delete_webhooks_by_url("https://example.vn/hook") == []


def test_other_api_errors_carry_code_and_message(casso):
    with pytest.raises(CassoApiError, match="Casso error 400: bank account 'nope' is not linked"):
        client(casso).sync("nope")


def test_transient_failures_are_retried(casso):
    casso.outage(503, calls=2)
    assert client(casso).user_info()["bankAccs"][0]["bankSubAccId"] == "88888888"
    assert len(casso.api_calls) == 3


def test_rate_limit_is_retried(casso):
    api = client(casso)
    created = api.create_webhook("https://example.vn/hook", "tok", income_only=True)
    casso.outage(429, calls=1)
    assert api.get_webhook(created.id) == created
    assert casso.api_calls.count(("GET", f"/v2/webhooks/{created.id}")) == 2


def test_lasting_outage_is_unavailable_after_the_retries(casso):
    casso.outage(503)
    with pytest.raises(CassoUnavailable, match="HTTP 503"):
        client(casso, retries=2).user_info()
    assert len(casso.api_calls) == 3


def test_a_post_is_not_retried_so_no_second_webhook_is_created(casso):
    casso.outage(503, calls=1)
    with pytest.raises(CassoUnavailable):
        client(casso).create_webhook("https://example.vn/hook", "tok", income_only=True)
    assert len(casso.api_calls) == 1


def test_connection_refused_is_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(CassoUnavailable, match="ConnectionError"):
        CassoClient(
            KEY, base_url=f"http://127.0.0.1:{port}/v2", retries=1, backoff=0.01
        ).user_info()


def test_transactions_pages_newest_first_within_the_dates(casso):
    today = datetime.now(UTC)
    old = casso.add_transaction(1000, "old", when=today - timedelta(days=10), deliver=False)
    ids = [
        casso.add_transaction(n, f"t{n}", when=today - timedelta(minutes=300 - n), deliver=False)[
            "id"
        ]
        for n in range(1, 251)
    ]
    pages = list(
        client(casso).transactions(from_date=date.today() - timedelta(days=3), page_size=100)
    )
    assert [len(p.records) for p in pages] == [100, 100, 50]
    assert (pages[0].total_records, pages[0].total_pages) == (250, 3)
    seen = [r["id"] for p in pages for r in p.records]
    assert seen == sorted(ids, reverse=True)
    assert old["id"] not in seen


def test_one_transaction_user_info_and_sync(casso):
    record = casso.add_transaction(150_000, "DH1234", deliver=False)
    api = client(casso)
    assert api.transaction(record["id"])["description"] == "DH1234"
    assert [a["bankSubAccId"] for a in api.user_info()["bankAccs"]] == ["88888888"]
    api.sync("88888888")
    assert casso.sync_requests == ["88888888"]


def test_simulator_refuses_to_listen_beyond_loopback():
    with pytest.raises(ValueError, match="only listens on loopback"):
        CassoSimulator(api_key=KEY, host="0.0.0.0")  # noqa: S104 - the point of the test
