"""The reconciler can't run wild: one run at a time, inside its budget, bounded paging and
sweeping, and what it can't do is counted for an alarm. Against the Casso simulator and a
moto server, through the real handler where it matters."""

from __future__ import annotations

import contextlib
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from flask import Response

from casso_payments.aws.deadline import Deadline, DeadlineReached
from casso_payments.receiver.intake import Delivery, receive
from casso_payments.reconciler.run import run
from local.cli.sample_events import LOCAL_CASSO_API_KEY, LOCAL_SECURE_TOKEN
from local.stack.handler import LocalContext
from tests.helpers import WEBHOOK_URL, drain_queue, ledger_items

pytestmark = pytest.mark.integration


@pytest.fixture
def reconcile(casso, server_stack):
    def go(now: datetime | None = None, deadline: Deadline | None = None, **overrides):
        deps = server_stack.reconciler_deps(casso.api_url, WEBHOOK_URL, **overrides)
        return run(deps, now=now or datetime.now(UTC), deadline=deadline)

    return go


# One run at a time


def test_two_runs_started_together_leave_exactly_one_webhook(casso, server_stack, load_function):
    # Two execution environments; whichever reaches Casso first waits for the other at the
    # webhook cleanup, so without the lease both would delete-then-create.
    environment = {"CASSO_API_BASE_URL": casso.api_url, "WEBHOOK_URL": WEBHOOK_URL}
    handlers = [load_function("ReconcilerFunction", **environment) for _ in range(2)]
    meet = threading.Barrier(2, timeout=3)
    original = casso.app.view_functions["delete_by_url"]

    def rendezvous() -> Response:
        with contextlib.suppress(threading.BrokenBarrierError):
            meet.wait()  # times out when the other run never comes: it respected the lease
        return original()

    casso.app.view_functions["delete_by_url"] = rendezvous
    start = threading.Barrier(2)
    results: list[dict] = []

    def invoke(module) -> None:
        start.wait()
        results.append(
            module.lambda_handler({}, LocalContext("ReconcilerFunction", timeout_seconds=300))
        )

    threads = [threading.Thread(target=invoke, args=(m,)) for m in handlers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(results) == 2
    assert len([w for w in casso.webhooks.values() if w.url == WEBHOOK_URL]) == 1
    assert sorted(bool(r["skipped"]) for r in results) == [False, True]
    later = handlers[0].lambda_handler({}, LocalContext("ReconcilerFunction", timeout_seconds=300))
    assert (later["webhook"]["action"], len(casso.webhooks)) == ("unchanged", 1)


def test_a_held_lease_is_respected_and_an_expired_one_taken_over(reconcile, casso, server_stack):
    now = datetime.now(UTC)
    held = server_stack.ledger.acquire_lease(owner="other", now=now, seconds=600)
    assert held is None
    report = reconcile(now=now)
    assert "another run holds the lease" in report.skipped
    assert report.metrics() == {"ReconcileRuns": 1, "ReconcileSkipped": 1, "ReconcileSuccess": 0}
    assert casso.api_calls == []
    assert casso.webhooks == {}
    later = reconcile(now=now + timedelta(minutes=11))  # the other run's lease has expired
    assert (later.skipped, later.webhook.action) == ("", "created")
    # A finished run gives the lease back: the next one doesn't wait for the expiry.
    assert reconcile(now=now + timedelta(minutes=12)).skipped == ""


# Inside its budget


class Allowance(Deadline):
    """A deadline with room for `calls` more Casso calls (each asks for a call's whole
    timeout, 23 s) and always for the quick ledger writes (2 s), whatever the clock says."""

    def __init__(self, calls: int) -> None:
        super().__init__(float("inf"))
        object.__setattr__(self, "calls", calls)

    def require(self, seconds: float, what: str) -> None:
        if seconds < 20:
            return
        if self.calls <= 0:
            raise DeadlineReached(f"stopped before {what}: the test's allowance is spent")
        object.__setattr__(self, "calls", self.calls - 1)


def test_backfill_out_of_time_keeps_what_it_found_and_the_next_run_finishes(
    reconcile, casso, server_stack
):
    now = datetime.now(UTC)
    records = [
        casso.add_transaction(1000 + n, f"t{n}", when=now - timedelta(minutes=n), deliver=False)
        for n in range(250)
    ]
    # Calls allowed: webhook GET-less create (DELETE + POST) and two pages, then no more.
    report = reconcile(now=now, deadline=Allowance(4))
    assert report.ok
    assert not report.complete
    assert report.backfill.pages == 2
    assert "stopped before GET /transactions" in report.backfill.stopped
    assert report.backfill.backfilled == 200  # the newest two pages: recorded and queued
    assert report.metrics()["ReconcileCutShort"] == 1
    assert report.metrics()["ReconcileSuccess"] == 0
    assert len(drain_queue(server_stack.sqs, server_stack.queue_url)) == 200
    finished = reconcile(now=now)
    assert finished.complete
    assert finished.backfill.backfilled == 50
    stored = {
        i["transaction_id"]
        for i in ledger_items(server_stack.dynamodb, server_stack.table)
        if i["kind"] == "transaction"
    }
    assert stored == {r["id"] for r in records}


def test_a_run_started_without_time_for_one_call_stops_cleanly_through_the_handler(
    casso, load_function
):
    module = load_function(
        "ReconcilerFunction", CASSO_API_BASE_URL=casso.api_url, WEBHOOK_URL=WEBHOOK_URL
    )
    # 15 s left, 10 kept to report: 5 s, less than one Casso call may take (3 + 20 s).
    summary = module.lambda_handler({}, LocalContext("ReconcilerFunction", timeout_seconds=15))
    assert (summary["ok"], summary["complete"]) == (True, False)
    assert "stopped before" in summary["webhook"]["stopped"]
    assert casso.api_calls == []


def test_retry_after_is_capped_at_thirty_seconds(casso):
    from casso_payments.casso.client import RETRY_AFTER_MAX, CassoClient

    client = CassoClient(LOCAL_CASSO_API_KEY, base_url=casso.api_url)
    retry = client._session.get_adapter(casso.api_url).max_retries
    assert RETRY_AFTER_MAX == 30
    assert retry.parse_retry_after("21600") == 30
    assert retry.parse_retry_after("5") == 5


def test_a_retry_that_would_outlive_the_deadline_is_not_waited_for(casso):
    from casso_payments.casso.client import CassoClient

    original = casso.app.view_functions["user_info"]
    casso.app.view_functions["user_info"] = lambda: Response(
        "slow down", status=429, headers={"Retry-After": "21600"}
    )
    client = CassoClient(
        LOCAL_CASSO_API_KEY,
        base_url=casso.api_url,
        connect_timeout=1,
        read_timeout=2,
        deadline=Deadline.after(20),
    )
    with pytest.raises(DeadlineReached, match="retrying a Casso call"):
        client.user_info()  # capped to 30 s, and 30 + 3 > the 20 s left: no wait at all
    assert casso.api_calls == [("GET", "/v2/userInfo")]
    casso.app.view_functions["user_info"] = original


# Paging that never ends


def test_more_pages_than_the_lookback_can_hold_stops_the_run_with_a_clear_error(
    reconcile, casso, server_stack
):
    casso.add_transaction(1000, "x", deliver=False)
    original = casso.app.view_functions["transactions"]

    def endless():
        response = original()
        body = json.loads(response.get_data())
        body["data"]["totalPages"] = 10**9
        return Response(json.dumps(body), mimetype="application/json")

    casso.app.view_functions["transactions"] = endless
    report = reconcile(lookback_days=3, max_transactions_per_day=1000)
    assert not report.backfill.ok
    assert "PagingError: Casso reports 1000000000 pages" in report.backfill.error
    assert "more than the 40 allowed" in report.backfill.error  # (3 + 1) days x 1000 / 100
    assert casso.api_calls.count(("GET", "/v2/transactions")) == 1
    assert [
        i
        for i in ledger_items(server_stack.dynamodb, server_stack.table)
        if i["kind"] == "transaction"
    ] == []


def test_the_same_page_twice_stops_the_run_with_a_clear_error(reconcile, casso):
    now = datetime.now(UTC)
    for n in range(150):
        casso.add_transaction(1000 + n, "x", when=now - timedelta(minutes=n), deliver=False)
    original = casso.app.view_functions["transactions"]

    def stuck_on_page_one():
        from flask import request

        request.args = request.args.copy()
        request.args["page"] = "1"
        response = original()
        body = json.loads(response.get_data())
        body["data"]["totalPages"] = 50
        return Response(json.dumps(body), mimetype="application/json")

    casso.app.view_functions["transactions"] = stuck_on_page_one
    report = reconcile(now=now)
    assert "PagingError: Casso served the same 100 records as page 1 again as page 2" in (
        report.backfill.error
    )
    assert report.backfill.backfilled == 0


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda data: data.pop("totalPages"), "totalPages is missing"),
        (lambda data: data.update(totalPages=None), "totalPages is missing"),
        (lambda data: data.update(totalPages="2"), "totalPages is str '2'"),
        (lambda data: data.update(totalPages=2.0), "totalPages is float '2.0'"),
        (lambda data: data.update(totalPages=True), "totalPages is bool 'True'"),
        (lambda data: data.update(totalPages=-1), "totalPages is int '-1'"),
        (lambda data: data.pop("records"), "records is missing, expected an array"),
        (lambda data: data.update(records={"0": 1}), "records is dict, expected an array"),
        (lambda data: data.update(totalPages=0), "records as page"),
    ],
    ids=[
        "missing",
        "null",
        "text",
        "float",
        "bool",
        "negative",
        "no-records",
        "records-object",
        "zero-pages",
    ],
)
@pytest.mark.parametrize("bad_page", [1, 2])
def test_a_malformed_page_stops_the_backfill_loudly_and_writes_nothing(
    reconcile, casso, server_stack, change, reason, bad_page
):
    now = datetime.now(UTC)
    for n in range(150):  # two pages of 100, none of them in the ledger
        casso.add_transaction(1000 + n, "x", when=now - timedelta(minutes=n), deliver=False)
    original = casso.app.view_functions["transactions"]

    def malformed():
        from flask import request

        response = original()
        body = json.loads(response.get_data())
        if int(request.args["page"]) == bad_page:
            change(body["data"])
        return Response(json.dumps(body), mimetype="application/json")

    casso.app.view_functions["transactions"] = malformed
    report = reconcile(now=now)
    assert not report.ok
    assert not report.backfill.ok
    assert report.backfill.error.startswith("PagingError: ")
    assert reason in report.backfill.error
    assert report.metrics()["ReconcileFailures"] == 1
    assert (report.backfill.backfilled, report.backfill.missing) == (0, [])
    assert [
        i
        for i in ledger_items(server_stack.dynamodb, server_stack.table)
        if i["kind"] == "transaction"
    ] == []
    assert drain_queue(server_stack.sqs, server_stack.queue_url) == []


# The stuck sweep


def stuck_entries(server_stack, ids: list[int], minutes_ago: int = 60) -> None:
    at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    for transaction_id in ids:
        body = json.dumps({"error": 0, "data": [{"id": transaction_id, "amount": 1000}]})
        delivery = Delivery({"Secure-Token": LOCAL_SECURE_TOKEN}, body, at)
        receive(delivery, server_stack.intake_deps())
    drain_queue(server_stack.sqs, server_stack.queue_url)


def test_a_stuck_entry_is_requeued_max_sweeps_times_then_parked_until_replayed(
    reconcile, server_stack
):
    stuck_entries(server_stack, [7], minutes_ago=120)
    start = datetime.now(UTC)
    requeued = [
        reconcile(now=start + timedelta(minutes=m), max_sweeps=2).sweep.requeued
        for m in (0, 5, 16)  # re-queued, backed off (within 15 min), re-queued
    ]
    assert requeued == [[7], [], [7]]
    parked = reconcile(now=start + timedelta(minutes=32), max_sweeps=2)
    assert (parked.sweep.requeued, parked.sweep.parked) == ([], [7])
    assert parked.metrics()["StuckTransactionsParked"] == 1
    assert len(drain_queue(server_stack.sqs, server_stack.queue_url)) == 2  # never a third
    again = reconcile(now=start + timedelta(minutes=48), max_sweeps=2)
    assert (again.sweep.requeued, again.sweep.parked) == ([], [])
    assert again.metrics()["StuckTransactionsParked"] == 1  # still waiting for a person
    # The runbook's remedy: replay it, and the sweep's patience starts over.
    from ops.tools import replay

    replay(
        server_stack.dynamodb,
        server_stack.sqs,
        table=server_stack.table,
        queue_url=server_stack.queue_url,
        transaction_id=7,
    )
    drain_queue(server_stack.sqs, server_stack.queue_url)
    after = reconcile(now=start + timedelta(minutes=64), max_sweeps=2)
    assert after.sweep.requeued == [7]
    assert after.metrics()["StuckTransactionsParked"] == 0


def test_one_run_requeues_at_most_its_cap_oldest_first(reconcile, server_stack):
    stuck_entries(server_stack, [1, 2, 3, 4, 5])
    first = reconcile(max_requeued_per_run=3)
    assert (len(first.sweep.requeued), first.sweep.capped) == (3, True)
    second = reconcile(max_requeued_per_run=3)
    # The first three are backed off: the backlog moves on to the other two.
    assert (sorted(second.sweep.requeued), second.sweep.capped) == ([4, 5], False)
    queued = drain_queue(server_stack.sqs, server_stack.queue_url)
    assert sorted(m["transaction_id"] for m in queued) == [1, 2, 3, 4, 5]


# What it can't read


def test_unreadable_api_records_are_counted_for_the_alarm(reconcile, casso):
    readable = casso.add_transaction(1000, "ok", deliver=False)
    broken = casso.add_transaction(2000, "broken", deliver=False)
    casso.transactions[broken["id"]]["amount"] = "lots"
    report = reconcile()
    assert report.backfill.missing == [readable["id"]]
    assert report.metrics()["UnreadableRecords"] == 1
    assert "amount" in report.backfill.unreadable[0]
