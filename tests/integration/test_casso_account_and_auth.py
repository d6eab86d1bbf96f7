"""Casso-side options: OAuth2 access tokens, the bank accounts a stack is for, and the
reconciler noticing a paused webhook."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from casso_payments.aws.dynamo import timestamp
from casso_payments.casso.api_auth import CassoAuth
from casso_payments.casso.client import CassoAuthError, CassoClient
from casso_payments.reconciler.run import run
from tests.helpers import WEBHOOK_URL, delivered_by_webhook
from tests.integration.conftest import Pipeline

pytestmark = pytest.mark.integration


@pytest.fixture
def casso_options() -> dict:
    return {"accounts": ("88888888", "77777777")}


@pytest.fixture
def reconcile(casso, server_stack):
    def go(now: datetime | None = None, **overrides):
        deps = server_stack.reconciler_deps(casso.api_url, WEBHOOK_URL, **overrides)
        return run(deps, now=now or datetime.now(UTC))

    return go


def put_api_secret(server_stack, value: dict) -> None:
    server_stack.secretsmanager.put_secret_value(
        SecretId=server_stack.local.ref("CassoApiKeySecret"), SecretString=json.dumps(value)
    )


# OAuth2


def test_an_access_token_in_the_secret_is_sent_as_bearer(reconcile, casso, server_stack):
    casso.access_tokens.add("oauth-token-1")
    put_api_secret(server_stack, {"access_token": "oauth-token-1"})
    report = reconcile()
    assert report.ok, report.summary()
    assert report.webhook.action == "created"


def test_a_rejected_access_token_is_an_auth_error_that_says_so(reconcile, casso, server_stack):
    put_api_secret(server_stack, {"access_token": "expired-token"})
    report = reconcile()
    assert not report.ok
    assert "CassoAuthError" in report.webhook.error
    assert "Casso refused the OAuth2 access token" in report.webhook.error
    with pytest.raises(CassoAuthError, match="refused the OAuth2 access token"):
        CassoClient(CassoAuth("Bearer", "expired-token"), base_url=casso.api_url).user_info()
    with pytest.raises(CassoAuthError, match="refused the API key"):
        CassoClient("wrong-key", base_url=casso.api_url).user_info()


def test_an_empty_secret_says_both_ways_to_fill_it(reconcile, server_stack):
    put_api_secret(server_stack, {"api_key": "", "access_token": ""})
    report = reconcile()
    assert '{"api_key": "<your key>"} or {"access_token": "<OAuth2 access token>"}' in (
        report.webhook.error
    )


# AccountNumbers


def test_backfill_considers_only_the_selected_accounts(reconcile, casso):
    ours = casso.add_transaction(1000, "DH1", account="88888888", deliver=False)
    casso.add_transaction(2000, "DH2", account="77777777", deliver=False)
    report = reconcile(account_numbers=("88888888",), sync_before_backfill=True)
    assert report.backfill.missing == [ours["id"]]
    assert report.backfill.other_accounts == 1
    assert casso.sync_requests == ["88888888"]


def test_a_transfer_to_another_account_is_recorded_but_never_settles_an_order(
    server_stack, load_function, pipeline
):
    selective = Pipeline(
        server_stack,
        pipeline.receiver,
        load_function("ProcessorFunction", ACCOUNT_NUMBERS="88888888"),
        pipeline.queue_arn,
    )
    elsewhere = {"id": 501, "amount": 200_500, "description": "DH35", "bank_sub_acc_id": "77777777"}
    assert selective.deliver(elsewhere) == 200
    selective.run_processor()
    entry = server_stack.ledger.get(501)
    assert (entry.status, entry.outcome) == ("PROCESSED", "other_account")

    assert server_stack.orders.get("DH35").paid_amount == 0
    ours = {"id": 502, "amount": 200_500, "description": "DH35", "bank_sub_acc_id": "88888888"}
    assert selective.deliver(ours) == 200
    selective.run_processor()
    order = server_stack.orders.get("DH35")
    assert (order.status, [int(p) for p in order.payments]) == ("PAID", [502])


# A paused webhook, as the reconciler sees it


def test_missed_transactions_after_a_silence_raise_webhook_probably_paused(
    reconcile, casso, server_stack
):
    start = datetime.now(UTC) - timedelta(hours=3)
    reconcile(now=start)  # registers the webhook
    delivered = casso.add_transaction(
        1000, "delivered", when=start + timedelta(minutes=5), deliver=False
    )
    delivered_by_webhook(server_stack, [delivered], at=start + timedelta(minutes=6))
    held = casso.add_transaction(
        2000, "held by Casso", when=start + timedelta(minutes=30), deliver=False
    )
    soon = reconcile(now=start + timedelta(minutes=40), dry_run=True)
    assert soon.backfill.missing == [held["id"]]
    assert not soon.backfill.webhook_probably_paused  # 34 minutes of silence: not yet
    late = reconcile(now=start + timedelta(minutes=90))
    assert late.backfill.missing == [held["id"]]
    assert late.backfill.webhook_probably_paused
    assert late.backfill.webhook_silent_since == timestamp(start + timedelta(minutes=6))
    assert late.metrics()["WebhookProbablyPaused"] == 1


def test_history_from_before_the_webhook_existed_is_not_a_paused_webhook(reconcile, casso):
    now = datetime.now(UTC)
    old = casso.add_transaction(
        1000, "before we existed", when=now - timedelta(days=1), deliver=False
    )
    report = reconcile(now=now, webhook_silence_minutes=0)
    assert report.backfill.missing == [old["id"]]
    assert not report.backfill.webhook_probably_paused
