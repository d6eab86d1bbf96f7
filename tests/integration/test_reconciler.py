"""The reconciler against the Casso simulator and a moto server."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime, timedelta

import pytest

from casso_payments.receiver.intake import Delivery, receive
from casso_payments.reconciler.run import run
from local.cli.sample_events import LOCAL_SECURE_TOKEN, WEBHOOK_PATH
from local.stack.handler import LocalContext
from local.stack.http_front import HttpFront
from tests.helpers import (
    WEBHOOK_URL,
    delivered_by_webhook,
    drain_queue,
    ledger_items,
    published_events,
    transaction_ids,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def reconcile(casso, server_stack):
    """Run the reconciler once (settings overridable per call); returns its report."""

    def go(webhook_url: str = WEBHOOK_URL, now: datetime | None = None, **overrides):
        deps = server_stack.reconciler_deps(casso.api_url, webhook_url, **overrides)
        return run(deps, now=now or datetime.now(UTC))

    return go


def ours(casso, url: str = WEBHOOK_URL) -> list:
    return [w for w in casso.webhooks.values() if w.url == url]


def set_secure_token(server_stack, token: str, previous: str = "") -> None:
    server_stack.secretsmanager.put_secret_value(
        SecretId=server_stack.local.ref("WebhookSecret"),
        SecretString=json.dumps({"secure_token": token, "secure_token_previous": previous}),
    )


# Webhook registration


def test_first_run_registers_the_webhook_and_remembers_it(reconcile, casso, server_stack):
    report = reconcile()
    assert report.ok, report.summary()
    (webhook,) = casso.webhooks.values()
    assert (webhook.url, webhook.secure_token, webhook.income_only) == (
        WEBHOOK_URL,
        LOCAL_SECURE_TOKEN,
        True,
    )
    assert (report.webhook.action, report.webhook.webhook_id) == ("created", webhook.id)
    state = server_stack.ledger.get_state("webhook")
    assert state["webhook_id"] == webhook.id
    assert LOCAL_SECURE_TOKEN not in json.dumps(state, default=str)  # a hash, never the token


def test_second_run_changes_nothing_on_casso(reconcile, casso):
    reconcile()
    calls_before = len(casso.api_calls)
    report = reconcile()
    assert report.webhook.action == "unchanged"
    writes = [c for c in casso.api_calls[calls_before:] if c[0] != "GET"]
    assert writes == []


def test_webhook_deleted_in_casso_is_recreated(reconcile, casso):
    first = reconcile().webhook.webhook_id
    del casso.webhooks[first]
    report = reconcile()
    assert (report.webhook.action, report.webhook.drift) == ("created", ["missing"])
    assert len(ours(casso)) == 1
    assert report.metrics()["WebhookRepairs"] == 1


@pytest.mark.parametrize(
    ("drift", "change"),
    [
        ("url", lambda w: setattr(w, "url", "https://old.example.vn/hook")),
        ("income_only", lambda w: setattr(w, "income_only", False)),
    ],
)
def test_drifted_webhook_is_updated(reconcile, casso, drift, change):
    webhook_id = reconcile().webhook.webhook_id
    change(casso.webhooks[webhook_id])
    report = reconcile()
    assert (report.webhook.action, report.webhook.drift) == ("updated", [drift])
    webhook = casso.webhooks[webhook_id]
    assert (webhook.url, webhook.income_only, webhook.secure_token) == (
        WEBHOOK_URL,
        True,
        LOCAL_SECURE_TOKEN,
    )


def test_rotated_secure_token_is_pushed_to_casso(reconcile, casso, server_stack):
    webhook_id = reconcile().webhook.webhook_id
    set_secure_token(server_stack, "rotated-token", previous=LOCAL_SECURE_TOKEN)
    report = reconcile()
    assert (report.webhook.action, report.webhook.drift) == ("updated", ["secure_token"])
    assert casso.webhooks[webhook_id].secure_token == "rotated-token"
    assert reconcile().webhook.action == "unchanged"


def test_income_only_setting_is_applied(reconcile, casso):
    reconcile(income_only=False)
    (webhook,) = casso.webhooks.values()
    assert webhook.income_only is False


def test_duplicates_with_our_url_are_removed(reconcile, casso, server_stack):
    for _ in range(3):
        casso.add_webhook(WEBHOOK_URL, secure_token="stale")
    unrelated = casso.add_webhook("https://other.example.vn/hook")
    report = reconcile()
    assert report.webhook.duplicates_removed == 3
    (webhook,) = ours(casso)
    assert webhook.secure_token == LOCAL_SECURE_TOKEN
    assert unrelated.id in casso.webhooks


def test_lost_state_with_a_live_webhook_converges_to_one(reconcile, casso, server_stack):
    reconcile()
    server_stack.dynamodb.delete_item(
        TableName=server_stack.table, Key={"pk": {"S": "STATE#webhook"}}
    )
    reconcile()
    assert len(ours(casso)) == 1


# Backfill


def test_thousand_transactions_with_37_never_delivered_are_all_backfilled(
    reconcile, casso, server_stack
):
    now = datetime.now(UTC)
    records = [
        casso.add_transaction(
            10_000 + n, f"DH{n} thanh toan", when=now - timedelta(minutes=n), deliver=False
        )
        for n in range(1000)
    ]
    lost = {r["id"] for r in records[::27][:37]}
    assert len(lost) == 37
    # What a working webhook would have put in the ledger.
    delivered_by_webhook(
        server_stack, [r for r in records if r["id"] not in lost], at=datetime.now(UTC)
    )
    before = {i["pk"]: i for i in ledger_items(server_stack.dynamodb, server_stack.table)}
    batch_gets = []
    server_stack.dynamodb.meta.events.register(
        "before-call.dynamodb.BatchGetItem", lambda **_: batch_gets.append(1)
    )
    report = reconcile(now=now)
    assert report.ok, report.summary()
    assert (report.backfill.checked, report.backfill.pages) == (1000, 10)
    assert set(report.backfill.missing) == lost
    assert report.backfill.backfilled == 37
    assert report.metrics()["MissedTransactions"] == 37
    assert len(batch_gets) == 10  # ceil(1000 / 100), not one call per transaction
    after = {i["pk"]: i for i in ledger_items(server_stack.dynamodb, server_stack.table)}
    assert {pk: after[pk] for pk in before} == before  # nothing already there was touched
    backfilled = [after[f"TXN#{t}"] for t in lost]
    assert {(i["source"], i["status"]) for i in backfilled} == {("reconcile", "RECEIVED")}
    queued = drain_queue(server_stack.sqs, server_stack.queue_url)
    assert sorted(m["transaction_id"] for m in queued) == sorted(lost)
    assert {m["source"] for m in queued} == {"reconcile"}
    again = reconcile(now=now)
    assert (again.backfill.missing, again.backfill.backfilled) == ([], 0)


def test_transactions_before_the_lookback_window_are_not_read(reconcile, casso, server_stack):
    now = datetime.now(UTC)
    casso.add_transaction(5000, "old", when=now - timedelta(days=10), deliver=False)
    recent = casso.add_transaction(6000, "recent", when=now - timedelta(days=1), deliver=False)
    report = reconcile(now=now, lookback_days=3)
    assert report.backfill.missing == [recent["id"]]


def test_lost_webhook_delivery_is_backfilled_end_to_end(reconcile, casso, server_stack, receiver):
    with HttpFront(
        lambda event: receiver.lambda_handler(event, LocalContext("ReceiverFunction"))
    ) as front:
        url = front.url(WEBHOOK_PATH)
        reconcile(webhook_url=url)  # registers the webhook with the simulator
        delivered = casso.add_transaction(150_000, "DH1 giao thanh cong")
        lost = casso.add_transaction(99_000, "DH2 webhook bi mat", deliver=False)
        assert casso.wait_for_deliveries()
        assert transaction_ids(ledger_items(server_stack.dynamodb, server_stack.table)) == [
            delivered["id"]
        ]
        report = reconcile(webhook_url=url)
    assert report.backfill.missing == [lost["id"]]
    entries = {t: server_stack.ledger.get(t) for t in (delivered["id"], lost["id"])}
    assert (entries[delivered["id"]].source, entries[lost["id"]].source) == (
        "webhook-v1",
        "reconcile",
    )


# Stuck sweep


def test_entries_stuck_unprocessed_are_requeued(reconcile, server_stack):
    now = datetime.now(UTC)
    deps = server_stack.intake_deps()
    for transaction_id, minutes_ago in ((1, 60), (2, 20), (3, 5)):
        at = now - timedelta(minutes=minutes_ago)
        body = json.dumps({"error": 0, "data": [{"id": transaction_id, "amount": 1000}]})
        receive(Delivery({"Secure-Token": LOCAL_SECURE_TOKEN}, body, at), deps)
    server_stack.ledger.mark_processed(1, outcome="paid", order_code="DH1", now=now)
    drain_queue(server_stack.sqs, server_stack.queue_url)
    report = reconcile(now=now, stuck_after_minutes=15)
    assert report.sweep.requeued == [2]
    assert drain_queue(server_stack.sqs, server_stack.queue_url) == [
        {"transaction_id": 2, "source": "sweep"}
    ]


# Dry run, failures, sync


def test_dry_run_changes_nothing_anywhere(reconcile, casso, server_stack):
    now = datetime.now(UTC)
    casso.add_webhook(WEBHOOK_URL, secure_token="stale")
    casso.add_transaction(1000, "missed", when=now - timedelta(hours=1), deliver=False)
    receive(
        Delivery(
            {"Secure-Token": LOCAL_SECURE_TOKEN},
            json.dumps({"error": 0, "data": [{"id": 999, "amount": 5}]}),
            now - timedelta(hours=2),
        ),
        server_stack.intake_deps(),
    )
    drain_queue(server_stack.sqs, server_stack.queue_url)
    webhooks_before = {i: vars(w).copy() for i, w in casso.webhooks.items()}
    items_before = ledger_items(server_stack.dynamodb, server_stack.table)
    report = reconcile(now=now, dry_run=True)
    assert report.ok
    assert (report.webhook.action, len(report.backfill.missing), report.sweep.requeued) == (
        "would create",
        1,
        [999],
    )
    assert {i: vars(w) for i, w in casso.webhooks.items()} == webhooks_before
    assert ledger_items(server_stack.dynamodb, server_stack.table) == items_before
    assert drain_queue(server_stack.sqs, server_stack.queue_url) == []


def test_casso_outage_fails_the_run_and_leaves_everything_as_it_was(reconcile, casso, server_stack):
    casso.add_transaction(1000, "missed", deliver=False)
    casso.outage(503)
    report = reconcile()
    assert not report.ok
    assert not report.webhook.ok
    assert "HTTP 503" in report.webhook.error
    assert not report.backfill.ok
    assert report.metrics()["ReconcileFailures"] == 1
    assert ledger_items(server_stack.dynamodb, server_stack.table) == []
    assert casso.webhooks == {}
    casso.recover()
    assert reconcile().ok  # the next run picks up
    assert (
        len(ledger_items(server_stack.dynamodb, server_stack.table)) == 2
    )  # the transaction + state


def test_outage_midway_through_paging_writes_nothing(reconcile, casso, server_stack):
    now = datetime.now(UTC)
    for n in range(250):
        casso.add_transaction(1000 + n, "x", when=now - timedelta(minutes=n), deliver=False)
    original = casso.app.view_functions["transactions"]
    pages_served = []

    def flaky():
        pages_served.append(1)
        if len(pages_served) == 2:  # page 2 is served; page 3 meets an outage
            casso.outage(503)
        return original()

    casso.app.view_functions["transactions"] = flaky
    report = reconcile(now=now)
    assert not report.backfill.ok
    assert [
        i
        for i in ledger_items(server_stack.dynamodb, server_stack.table)
        if i["kind"] == "transaction"
    ] == []


def test_bad_api_key_fails_loudly(reconcile, server_stack):
    server_stack.secretsmanager.put_secret_value(
        SecretId=server_stack.local.ref("CassoApiKeySecret"),
        SecretString=json.dumps({"api_key": "wrong"}),
    )
    report = reconcile()
    assert not report.ok
    assert "CassoAuthError" in report.webhook.error
    assert "CassoAuthError" in report.backfill.error


def test_api_key_not_filled_in_says_where_to_put_it(reconcile, server_stack):
    server_stack.secretsmanager.put_secret_value(
        SecretId=server_stack.local.ref("CassoApiKeySecret"),
        SecretString=json.dumps({"api_key": ""}),
    )
    report = reconcile()
    assert "the Casso API key is not set: put it in secret" in report.webhook.error


def test_sync_asks_casso_for_each_linked_account(reconcile, casso):
    casso.accounts.append("0071000888")
    report = reconcile(sync_before_backfill=True)
    assert report.sync.accounts == ["88888888", "0071000888"]
    assert casso.sync_requests == ["88888888", "0071000888"]


# The handler


def test_handler_reports_one_summary_line_and_fails_the_invocation_on_failure(
    casso, server_stack, load_function, capsys
):
    module = load_function(
        "ReconcilerFunction", CASSO_API_BASE_URL=casso.api_url, WEBHOOK_URL=WEBHOOK_URL
    )
    # The stdlib logger outlives each fresh import: write where capsys reads now.
    for log_handler in logging.getLogger(module.logger.name).handlers:
        log_handler.stream = sys.stdout  # type: ignore[attr-defined]
    summary = module.lambda_handler({}, LocalContext("ReconcilerFunction", timeout_seconds=300))
    assert (summary["ok"], summary["webhook"]["action"]) == (True, "created")
    casso.outage(503)
    with pytest.raises(module.ReconcileFailed, match="webhook: CassoUnavailable"):
        module.lambda_handler({}, LocalContext("ReconcilerFunction", timeout_seconds=300))
    lines = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")
    ]
    (failed,) = [line for line in lines if line.get("message") == "reconcile run failed"]
    assert failed["level"] == "ERROR"
    assert failed["ok"] is False
    metrics = [line for line in lines if "_aws" in line]
    assert metrics[-1]["ReconcileFailures"] == [1.0]
    assert metrics[0]["WebhookRepairs"] == [1.0]


def test_handler_makes_its_sqs_and_eventbridge_clients_only_when_a_run_needs_them(
    casso, server_stack, load_function
):
    """A run that queues and publishes nothing (most runs) doesn't pay for those clients at
    its cold start; a later run that does queue and publish still delivers both."""

    module = load_function(
        "ReconcilerFunction", CASSO_API_BASE_URL=casso.api_url, WEBHOOK_URL=WEBHOOK_URL
    )
    context = LocalContext("ReconcilerFunction", timeout_seconds=300)
    assert module.lambda_handler({}, context)["ok"] is True
    # Neither client made yet: each is made on its first use (a cached_property).
    made = lambda: ("client" in vars(module.deps.queue), "client" in vars(module.deps.bus))  # noqa: E731
    assert made() == (False, False)

    lost = casso.add_transaction(77_000, "DH77 webhook bi mat", deliver=False)
    now = datetime.now(UTC)
    server_stack.orders.create(
        "DH78", 50_000, now=now - timedelta(hours=2), expires_at=now - timedelta(minutes=1)
    )
    summary = module.lambda_handler({}, context)
    assert (summary["backfill"]["missing"], summary["expiry"]["expired"]) == (
        [lost["id"]],
        ["DH78"],
    )
    assert drain_queue(server_stack.sqs, server_stack.queue_url) == [
        {"transaction_id": lost["id"], "source": "reconcile"}
    ]
    assert server_stack.orders.get("DH78").status == "EXPIRED"
    assert made() == (True, True)
    published = published_events(server_stack.sqs, server_stack.events_tap_url)
    assert [(t, d["order_code"]) for t, d in published] == [("Order Expired", "DH78")]
