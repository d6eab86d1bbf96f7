"""Hostile and huge deliveries through the receiver's logic (in-process moto): a stranger
gets 401 before the body is touched; an authenticated body that breaks a parser or a
serialiser is quarantined with 200; a huge one is stored in one item; a large batch is
written whole, once, with the per-item semantics of one write at a time."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from casso_payments.casso import webhook_auth
from casso_payments.receiver import intake, recording
from casso_payments.receiver.intake import Delivery, receive
from casso_payments.settings.receiver import HARD_MAX_BODY_BYTES
from local.cli.sample_events import LOCAL_SECURE_TOKEN, V1_ITEM
from tests.helpers import drain_queue, fail_calls, ledger_items, transaction_ids

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
TOKEN = {"Secure-Token": LOCAL_SECURE_TOKEN}
# Well-formed, but the MAC is not the body's.
WRONG_MAC = {"X-Casso-Signature": f"t={int(NOW.timestamp() * 1000)},v1={'ab' * 64}"}
HUGE_INT = "9" * 4301


def delivery(body: str, headers: dict[str, str] | None = None, at: datetime = NOW) -> Delivery:
    return Delivery(TOKEN if headers is None else headers, body, at)


def v1_body(*items: Any) -> str:
    return json.dumps({"error": 0, "data": list(items)}, ensure_ascii=False)


def quarantined(stack) -> list[dict]:
    return [i for i in ledger_items(stack.dynamodb, stack.table) if i["kind"] == "quarantine"]


class Untouchable:
    """A credential store that fails the test if read."""

    def get(self, *, refresh: bool = False) -> webhook_auth.WebhookCredentials:
        raise AssertionError("the secret was read for a delivery with no usable credential")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Secure-Token": ""},
        {"X-Casso-Signature": "t=²,v1=ab"},
        {"X-Casso-Signature": f"t={'1' * 4301},v1=ab"},
        {"X-Casso-Signature": "t=1234567890123456,v1=ab"},  # 16 digits
        {"X-Casso-Signature": "t=\uff11\uff12\uff13,v1=ab"},  # fullwidth digits
        {"X-Casso-Signature": "t=123,v1=xyz"},
        {"X-Casso-Signature": "garbage", "Content-Type": "application/json"},
    ],
)
@pytest.mark.parametrize(
    "body",
    [
        v1_body({"id": 1, "amount": 1}).replace("1}", f"{HUGE_INT}}}"),
        "[" * 100_000 + "]" * 100_000,
        '{"error": 0, "data": ',
    ],
    ids=["huge-int", "deep", "truncated"],
)
def test_no_usable_credential_is_refused_before_any_parse_hmac_or_secret_read(
    stack, monkeypatch, headers, body
):
    def untouched(*_: Any, **__: Any) -> None:
        raise AssertionError("the body was parsed or a MAC computed for a stranger")

    monkeypatch.setattr(intake.json, "loads", untouched)
    monkeypatch.setattr(webhook_auth.hmac, "new", untouched)
    deps = stack.intake_deps()
    deps = intake.IntakeDeps(deps.ledger, deps.queue, Untouchable(), deps.settings)
    answer = receive(delivery(body, headers), deps)
    monkeypatch.undo()
    assert (answer.status, answer.outcome) == (401, "unauthorized")
    assert answer.metrics()["AuthFailures"] == 1
    assert ledger_items(stack.dynamodb, stack.table) == []


def test_huge_integer_with_a_valid_token_is_quarantined_with_200(stack):
    body = v1_body({**V1_ITEM, "amount": 1}).replace('"amount": 1', f'"amount": {HUGE_INT}')
    answer = receive(delivery(body), stack.intake_deps())
    assert (answer.status, answer.outcome) == (200, "quarantined")
    (item,) = quarantined(stack)
    assert item["body"] == body
    assert item["reason"].startswith("body: not valid JSON (Exceeds the limit (4300 digits)")


def test_huge_integer_under_a_well_formed_wrong_signature_is_401(stack):
    body = v1_body({"id": 1, "amount": 1}).replace("1}", f"{HUGE_INT}}}")
    answer = receive(delivery(body, WRONG_MAC), stack.intake_deps())
    assert (answer.status, answer.reason) == (
        401,
        "body is not JSON, so its signature cannot be checked",
    )
    assert ledger_items(stack.dynamodb, stack.table) == []


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


SHAPES: dict[str, Callable[[int], str]] = {
    "body": nested,
    "data": lambda d: f'{{"error": 0, "data": {nested(d)}}}',
    "error": lambda d: f'{{"error": {nested(d)}, "data": []}}',
    "item": lambda d: f'{{"error": 0, "data": [{nested(d)}]}}',
    "unknown field": lambda d: (
        f'{{"error": 0, "data": [{{"id": 5, "amount": 1, "x": {nested(d)}}}]}}'
    ),
}


def at_stack_depth(frames: int, work: Callable[[], Any]) -> Any:
    """Run `work` with `frames` more frames on the stack: where the recursion limit bites
    depends on how deep the caller already is (the Lambda runtime, pytest)."""
    return work() if frames == 0 else at_stack_depth(frames - 1, work)


@pytest.mark.parametrize("shape", SHAPES)
def test_nesting_around_the_recursion_limit_is_quarantined_or_refused_never_a_500(stack, shape):
    # On Python 3.11 about 976 deep parses but can't be serialised again; 3.13's limits
    # differ (make test runs these on both). Walk the whole band, from a shallow and a
    # deeper caller.
    limit = sys.getrecursionlimit()
    deps = stack.intake_deps()
    # The band where parsing succeeds and serialising fails is a level or two wide: step 1.
    depths = sorted({*range(limit - 200, limit - 60, 9), *range(limit - 60, limit + 5), 5_000})
    for frames in (0, 200):
        for depth in depths:
            body = SHAPES[shape](depth)
            signed = at_stack_depth(frames, lambda b=body: receive(delivery(b, WRONG_MAC), deps))
            assert signed.status == 401, (depth, frames, signed)
            answer = at_stack_depth(frames, lambda b=body: receive(delivery(b), deps))
            assert answer.status == 200, (depth, frames, answer)
    assert ledger_items(stack.dynamodb, stack.table)  # something was kept, whatever the band


def test_a_huge_delivery_of_bad_items_is_quarantined_with_a_bounded_reason(stack):
    deps = stack.intake_deps(max_body_bytes=HARD_MAX_BODY_BYTES)
    for count in (20_000, 130_000):
        body = json.dumps({"error": 0, "data": [0] * count}, separators=(",", ":"))
        assert len(body) <= HARD_MAX_BODY_BYTES
        answer = receive(delivery(body), deps)
        assert (answer.status, answer.outcome, answer.quarantined) == (200, "quarantined", True)
        problems = answer.reason.split("; ")
        assert problems[0] == "data[0]: expected an object, got int 0"
        assert problems[-1] == f"and {count - 20} more problems"
        assert len(problems) == 21
    kept = {len(json.loads(i["body"])["data"]): i["reason"] for i in quarantined(stack)}
    assert set(kept) == {20_000, 130_000}
    assert kept[130_000].endswith("and 129980 more problems")


def body_of_size(size: int, *, ensure_ascii: bool) -> tuple[str, dict]:
    """A v1 delivery of exactly `size` UTF-8 bytes: one transaction, its description padded."""
    item = {**V1_ITEM, "id": 42, "description": ""}
    base = len(json.dumps({"error": 0, "data": [item]}, ensure_ascii=ensure_ascii).encode())
    unit = "Đơn hàng DH42 ở Hà Nội "
    unit_bytes = len(json.dumps(unit, ensure_ascii=ensure_ascii).encode()) - 2
    repeats, rest = divmod(size - base, unit_bytes)
    item["description"] = unit * repeats + "x" * rest
    body = json.dumps({"error": 0, "data": [item]}, ensure_ascii=ensure_ascii)
    assert len(body.encode()) == size
    return body, item


@pytest.mark.parametrize("ensure_ascii", [False, True], ids=["utf-8", "escaped"])
@pytest.mark.parametrize("size", [205 * 1024, HARD_MAX_BODY_BYTES])
def test_one_transaction_as_large_as_the_body_limit_is_stored_in_one_item(
    stack, size, ensure_ascii
):
    body, item = body_of_size(size, ensure_ascii=ensure_ascii)
    deps = stack.intake_deps(max_body_bytes=HARD_MAX_BODY_BYTES)
    answer = receive(delivery(body), deps)
    assert (answer.status, answer.outcome, answer.new) == (200, "accepted", (42,))
    # The processor reads the whole description back from `raw`.
    assert stack.ledger.get(42).transaction.description == item["description"]
    (stored,) = ledger_items(stack.dynamodb, stack.table)
    # The copy beside `raw` is kept only when both fit (escapes are undone when stored, so
    # an escaped body can hold a description that fits twice); as UTF-8 it can't.
    if "fields_omitted" in stored:
        assert stored["fields_omitted"] == ["description"]
        assert "description" not in stored
    else:
        assert stored["description"] == item["description"]
    assert ensure_ascii or "fields_omitted" in stored
    assert [m["transaction_id"] for m in drain_queue(stack.sqs, stack.queue_url)] == [42]


def test_an_item_that_grows_past_the_item_limit_when_stored_is_quarantined(stack):
    # 1e5 is three bytes in the body and "100000.0" in the stored JSON: the body fits the
    # limit, the transaction's item would not. The delivery is kept whole instead.
    count = (HARD_MAX_BODY_BYTES - 400) // 4
    body = json.dumps({"error": 0, "data": [{**V1_ITEM, "id": 7, "x": [0] * count}]})
    body = body.replace(", ".join(["0"] * count), ",".join(["1e5"] * count))
    assert len(body) <= HARD_MAX_BODY_BYTES
    answer = receive(delivery(body), stack.intake_deps(max_body_bytes=HARD_MAX_BODY_BYTES))
    assert (answer.status, answer.outcome, answer.new) == (200, "quarantined", ())
    (item,) = ledger_items(stack.dynamodb, stack.table)
    assert (item["kind"], item["body"]) == ("quarantine", body)
    assert item["reason"].startswith("transaction 7: cannot be stored (transaction 7: ")


@pytest.mark.parametrize(
    ("field", "raw_value", "reason"),
    [
        ("id", "1" + "0" * 38, "data[0].id: expected at most 38 digits, got 39"),
        ("amount", "1" + "0" * 38, "data[0].amount: expected at most 38 digits, got 39"),
        ("description", '"\\ud800"', "transaction 1: cannot be stored ("),
    ],
)
def test_values_dynamodb_cannot_store_are_quarantined_not_retried_forever(
    stack, field, raw_value, reason
):
    body = v1_body({**V1_ITEM, "id": 1, field: "PLACEHOLDER"}).replace('"PLACEHOLDER"', raw_value)
    answer = receive(delivery(body), stack.intake_deps())
    assert (answer.status, answer.outcome) == (200, "quarantined")
    assert answer.reason.startswith(reason)
    assert transaction_ids(ledger_items(stack.dynamodb, stack.table)) == []


def many(count: int, start: int = 1000) -> list[dict]:
    return [{**V1_ITEM, "id": start + n} for n in range(count)]


# Past WRITE_CONCURRENCY, so the writes really overlap. (1,000 items at 10 ms a call are
# bench/receiver_batch.py's: moto spends ~10 ms of CPU on each put, too slow for a test.)
BATCH = 3 * recording.WRITE_CONCURRENCY + 5


def test_a_large_delivery_is_recorded_and_queued_once_each_in_order(stack):
    answer = receive(delivery(v1_body(*many(BATCH))), stack.intake_deps())
    assert (answer.status, answer.outcome) == (200, "accepted")
    assert answer.new == tuple(range(1000, 1000 + BATCH))
    ids = list(range(1000, 1000 + BATCH))
    assert transaction_ids(ledger_items(stack.dynamodb, stack.table)) == ids
    queued = [m["transaction_id"] for m in drain_queue(stack.sqs, stack.queue_url)]
    assert sorted(queued) == ids


def test_failed_puts_in_a_large_batch_answer_503_and_every_other_write_is_queued(stack):
    deps = stack.intake_deps()
    failing = {"1003", "1050", "1100"}
    heal = fail_calls(
        stack.dynamodb,
        "PutItem",
        "ProvisionedThroughputExceededException",
        when=lambda params: params["Item"].get("transaction_id", {}).get("N") in failing,
    )
    items = many(BATCH)
    answer = receive(delivery(v1_body(*items)), deps)
    assert (answer.status, answer.outcome) == (503, "unavailable")
    written = [n for n in range(1000, 1000 + BATCH) if str(n) not in failing]
    assert transaction_ids(ledger_items(stack.dynamodb, stack.table)) == written
    assert sorted(m["transaction_id"] for m in drain_queue(stack.sqs, stack.queue_url)) == written
    heal()
    # Casso retries the whole delivery: the three land once, the rest are duplicates.
    retry = receive(delivery(v1_body(*items), at=NOW + timedelta(seconds=10)), deps)
    assert (retry.status, retry.new) == (200, (1003, 1050, 1100))
    assert len(retry.duplicates) == BATCH - 3
    ids = list(range(1000, 1000 + BATCH))
    assert transaction_ids(ledger_items(stack.dynamodb, stack.table)) == ids
    assert sorted(m["transaction_id"] for m in drain_queue(stack.sqs, stack.queue_url)) == [
        1003,
        1050,
        1100,
    ]


def test_a_failed_queue_batch_leaves_the_others_sent_and_answers_503(stack):
    deps = stack.intake_deps()
    heal = fail_calls(
        stack.sqs, "SendMessageBatch", when=lambda params: '"transaction_id": 1050' in str(params)
    )
    answer = receive(delivery(v1_body(*many(100))), deps)
    heal()
    assert answer.status == 503
    queued = sorted(m["transaction_id"] for m in drain_queue(stack.sqs, stack.queue_url))
    assert len(queued) == 90  # one batch of ten failed
    assert 1050 not in queued
    assert transaction_ids(ledger_items(stack.dynamodb, stack.table)) == list(range(1000, 1100))
