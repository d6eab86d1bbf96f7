"""ReceiverFunction's handler on the sample events: answers, metrics, logs."""

from __future__ import annotations

import json

import pytest

from local.cli.sample_events import EVENTS, LOCAL_CREDENTIALS, WEBHOOK_PATH, load_event
from tests.helpers import (
    captured_handler,
    drain_queue,
    fail_calls,
    ledger_items,
    transaction_ids,
)
from tests.sample_expectations import EXPECTED_STATUS


@pytest.fixture
def handler(stack, load_handler_of):
    return captured_handler(load_handler_of(stack, "ReceiverFunction"), "ReceiverFunction")


def invoke(handler, name: str) -> dict:
    return handler(load_event(name))


def output_lines(capsys) -> list[dict]:
    out = capsys.readouterr()
    return [json.loads(line) for line in (out.out + out.err).splitlines() if line.startswith("{")]


def emf_metrics(lines: list[dict]) -> list[dict]:
    """Each EMF blob as {metric: value, ..., 'Generation': ...}."""
    found = []
    for line in lines:
        if "_aws" not in line:
            continue
        names = [m["Name"] for d in line["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]]
        values = {n: line[n][0] if isinstance(line[n], list) else line[n] for n in names}
        found.append({**values, "Generation": line.get("Generation")})
    return found


def test_every_sample_event_is_in_the_expectations():
    assert {p.stem for p in EVENTS.glob("receiver-*.json")} == set(EXPECTED_STATUS)


@pytest.mark.parametrize(("name", "status"), EXPECTED_STATUS.items())
def test_sample_event_gets_its_documented_answer(handler, name, status):
    response = invoke(handler, name)
    assert response["statusCode"] == status
    body = json.loads(response["body"])
    assert body["success"] is (status == 200)
    assert response["multiValueHeaders"]["Content-Type"] == ["application/json"]


def test_sample_story_leaves_ledger_and_queue_as_documented(handler, stack):
    for name in EXPECTED_STATUS:
        invoke(handler, name)
    items = ledger_items(stack.dynamodb, stack.table)
    # The official V2 vector is Casso's Test Call: kept as a test, never a transaction.
    assert transaction_ids(items) == [1, 2, 3, 4, 5, 100245]
    assert [i["source"] for i in items if i["kind"] == "test_call"] == ["webhook-v2"]
    assert [i["reason"] for i in items if i["kind"] == "quarantine"] == [
        "body: not valid JSON (Unterminated string starting at: line 1 column 50 (char 49))"
    ]
    queued = sorted(m["transaction_id"] for m in drain_queue(stack.sqs, stack.queue_url))
    assert queued == [1, 2, 3, 4, 5, 100245]


def test_metrics_per_delivery_generation(handler, capsys):
    invoke(handler, "receiver-v1-valid")
    invoke(handler, "receiver-v1-valid")
    invoke(handler, "receiver-v2-tampered")
    invoke(handler, "receiver-missing-credentials")
    invoke(handler, "receiver-malformed")
    metrics = emf_metrics(output_lines(capsys))
    # ConflictingDeliveries goes with every delivery, zero included (its alarm's metric).
    assert {m.pop("ConflictingDeliveries") for m in metrics} == {0.0}
    assert metrics == [
        {"Deliveries": 1.0, "TransactionsReceived": 1.0, "Generation": "v1"},
        {"Deliveries": 1.0, "DuplicateTransactions": 1.0, "Generation": "v1"},
        {"Deliveries": 1.0, "AuthFailures": 1.0, "Generation": "v2"},
        {"Deliveries": 1.0, "AuthFailures": 1.0, "Generation": "unknown"},
        {"Deliveries": 1.0, "QuarantinedDeliveries": 1.0, "Generation": "v1"},
    ]


def test_no_secret_or_signature_in_any_log_line(handler, capsys):
    for name in EXPECTED_STATUS:
        invoke(handler, name)
    out = capsys.readouterr()
    text = out.out + out.err
    signature = load_event("receiver-v2-valid")["headers"]["X-Casso-Signature"]
    assert LOCAL_CREDENTIALS["secure_token"] not in text
    assert LOCAL_CREDENTIALS["checksum_key"] not in text
    assert signature.split("v1=")[1] not in text


def test_one_log_line_per_delivery_with_outcome_and_transaction_ids(handler, capsys):
    invoke(handler, "receiver-duplicate-batch")
    lines = output_lines(capsys)
    (line,) = [entry for entry in lines if entry.get("message", "").startswith("delivery")]
    assert line["message"] == "delivery accepted"
    assert (line["new"], line["duplicates"], line["status"]) == ([1, 2], [2], 200)
    assert line["correlation_id"] == "1"


def test_other_paths_and_methods_are_not_served(handler):
    event = load_event("receiver-v1-valid")
    event["path"] = "/casso/other"
    assert handler(event)["statusCode"] == 404


def test_quarantine_log_line_names_the_field_but_not_its_value(handler, capsys):
    from local.cli.sample_events import LOCAL_SECURE_TOKEN
    from local.stack.lambda_events import rest_proxy_event

    private = "NGUYEN THI HONG 0123456789 CK DH1234"
    body = json.dumps({"error": 0, "data": [{"id": 5, "amount": 1000, "description": [private]}]})
    event = rest_proxy_event(
        "POST", WEBHOOK_PATH, headers={"Secure-Token": LOCAL_SECURE_TOKEN}, body=body
    )
    assert handler(event)["statusCode"] == 200
    out = capsys.readouterr().out
    (line,) = [json.loads(x) for x in out.splitlines() if '"delivery quarantined"' in x]
    assert line["reason"] == "data[0].description: expected text, got list (value not logged)"
    assert "0123456789" not in out
    assert "NGUYEN" not in out


@pytest.mark.parametrize("body", ["abc", "\x80", "đơn hàng"])
def test_body_claiming_base64_that_is_not_is_quarantined_not_a_500(handler, stack, body):
    from local.cli.sample_events import LOCAL_SECURE_TOKEN
    from local.stack.lambda_events import rest_proxy_event

    event = rest_proxy_event(
        "POST", WEBHOOK_PATH, headers={"Secure-Token": LOCAL_SECURE_TOKEN}, body=body
    )
    event["isBase64Encoded"] = True
    assert handler(event)["statusCode"] == 200
    (item,) = ledger_items(stack.dynamodb, stack.table)
    assert (item["kind"], item["body"]) == ("quarantine", body)


def test_base64_encoded_json_body_is_decoded(handler, stack):
    import base64

    event = load_event("receiver-v1-valid")
    event["body"] = base64.b64encode(event["body"].encode()).decode()
    event["isBase64Encoded"] = True
    assert handler(event)["statusCode"] == 200
    assert transaction_ids(ledger_items(stack.dynamodb, stack.table)) == [1]


@pytest.mark.parametrize("encoded", [False, True])
def test_body_with_a_lone_surrogate_is_quarantined_not_a_500(handler, stack, encoded):
    # A JSON event can carry "\ud800" in its body string; no UTF-8 form, so it is kept with
    # the replacement character rather than failing to be measured, hashed or stored.
    from local.cli.sample_events import LOCAL_SECURE_TOKEN
    from local.stack.lambda_events import rest_proxy_event

    event = rest_proxy_event(
        "POST", "/casso/webhook", headers={"Secure-Token": LOCAL_SECURE_TOKEN}, body="ab\ud800"
    )
    event["isBase64Encoded"] = encoded
    assert handler(event)["statusCode"] == 200
    (item,) = ledger_items(stack.dynamodb, stack.table)
    assert (item["kind"], item["body"]) == ("quarantine", "ab\ufffd")


# Amounts as a bank never sends them, each written into the body exactly as here.
UNBANKLIKE_AMOUNTS = {
    "fraction": "200500.4",
    "rounds-to-whole": "200500.0000000000000001",  # Python's float reads 200500.0
    "integral-float": "200500.0",
    "exponent": "1e5",
    "exponent-upper": "2.005E5",
    "over-the-maximum": "1" + "0" * 15 + "1",  # 10^15 + 1
    "overflows-an-order-total": "9" * 37,  # fits DynamoDB's 38 digits, not a total
    "negative-huge": "-" + "9" * 20,
    "huge-run": "9" * 4000,
    "too-huge-to-read": "9" * 4301,
    "non-ascii-digits": "2\u0660\u0660",  # Arabic-Indic zeros: not JSON
    "full-width-text": '"\uff12\uff10\uff10"',
}


@pytest.mark.parametrize("amount", UNBANKLIKE_AMOUNTS.values(), ids=UNBANKLIKE_AMOUNTS)
def test_an_amount_no_bank_sends_is_quarantined_whole_never_rounded(handler, stack, amount):
    from local.cli.sample_events import LOCAL_SECURE_TOKEN
    from local.stack.lambda_events import rest_proxy_event

    body = json.dumps({"error": 0, "data": [{"id": 31, "amount": 1, "description": "DH35"}]})
    body = body.replace('"amount": 1', f'"amount": {amount}')
    event = rest_proxy_event(
        "POST", WEBHOOK_PATH, headers={"Secure-Token": LOCAL_SECURE_TOKEN}, body=body
    )
    response = handler(event)
    assert (response["statusCode"], json.loads(response["body"])) == (200, {"success": True})
    (item,) = ledger_items(stack.dynamodb, stack.table)
    assert (item["kind"], item["body"]) == ("quarantine", body)
    assert drain_queue(stack.sqs, stack.queue_url) == []


@pytest.mark.parametrize("amount", [10**15, -(10**15)])
def test_an_amount_up_to_the_maximum_is_recorded_as_sent(handler, stack, amount):
    from local.cli.sample_events import LOCAL_SECURE_TOKEN
    from local.stack.lambda_events import rest_proxy_event

    body = json.dumps({"error": 0, "data": [{"id": 32, "amount": amount}]})
    event = rest_proxy_event(
        "POST", WEBHOOK_PATH, headers={"Secure-Token": LOCAL_SECURE_TOKEN}, body=body
    )
    assert handler(event)["statusCode"] == 200
    (item,) = ledger_items(stack.dynamodb, stack.table)
    assert (item["kind"], item["amount"]) == ("transaction", amount)


# Secrets Manager failing: a stranger still gets 401, Casso still gets in (invariant 3).


def receiver_with_secret_reads(stack, load_handler_of, cache_seconds: str):
    module = load_handler_of(stack, "ReceiverFunction", CREDENTIALS_CACHE_SECONDS=cache_seconds)
    return module, captured_handler(module, "ReceiverFunction")


def v1_event(token: str, transaction_id: int) -> dict:
    from local.stack.lambda_events import rest_proxy_event

    body = json.dumps({"error": 0, "data": [{"id": transaction_id, "amount": 1000}]})
    return rest_proxy_event("POST", WEBHOOK_PATH, headers={"Secure-Token": token}, body=body)


def v2_event_signed_with(key: str, transaction_id: int) -> dict:
    import hashlib
    import hmac
    import time

    from local.stack.lambda_events import rest_proxy_event

    data = {"error": 0, "data": {"id": transaction_id, "amount": 1000}}
    stamp = int(time.time() * 1000)
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    mac = hmac.new(key.encode(), f"{stamp}.{canonical}".encode(), hashlib.sha512).hexdigest()
    headers = {"X-Casso-Signature": f"t={stamp},v1={mac}"}
    return rest_proxy_event("POST", WEBHOOK_PATH, headers=headers, body=json.dumps(data))


@pytest.mark.parametrize("cache_seconds", ["300", "0"], ids=["cached", "cache-expired"])
def test_secrets_manager_failing_a_wrong_token_is_401_and_the_right_one_accepted(
    stack, load_handler_of, cache_seconds
):
    from local.cli.sample_events import LOCAL_SECURE_TOKEN

    module, handler = receiver_with_secret_reads(stack, load_handler_of, cache_seconds)
    assert handler(v1_event(LOCAL_SECURE_TOKEN, 41))["statusCode"] == 200  # credentials read
    heal = fail_calls(module.deps.credentials._provider.client, "GetSecretValue")
    wrong_token = handler(v1_event("not-the-token", 42))
    wrong_key = handler(v2_event_signed_with("not-the-key", 43))
    right = handler(v1_event(LOCAL_SECURE_TOKEN, 44))
    heal()
    assert [wrong_token["statusCode"], wrong_key["statusCode"]] == [401, 401]
    assert right["statusCode"] == 200  # with the last credentials read
    assert transaction_ids(ledger_items(stack.dynamodb, stack.table)) == [41, 44]


def test_secrets_manager_failing_before_any_read_is_503_for_every_token(stack, load_handler_of):
    # Nothing was ever read: a wrong token can't be told from the right one, and answering
    # Casso's right one 401 would be a lie (the alarm would say "wrong token"). Casso retries.
    from local.cli.sample_events import LOCAL_SECURE_TOKEN

    module, handler = receiver_with_secret_reads(stack, load_handler_of, "300")
    heal = fail_calls(module.deps.credentials._provider.client, "GetSecretValue")
    answers = [handler(v1_event(t, 45))["statusCode"] for t in (LOCAL_SECURE_TOKEN, "wrong")]
    heal()
    assert answers == [503, 503]
    assert handler(v1_event(LOCAL_SECURE_TOKEN, 45))["statusCode"] == 200  # once it heals
    assert transaction_ids(ledger_items(stack.dynamodb, stack.table)) == [45]


def test_a_secret_broken_after_a_read_refuses_strangers_with_401_and_casso_with_500(
    stack, load_handler_of
):
    from local.cli.sample_events import LOCAL_SECURE_TOKEN

    module, handler = receiver_with_secret_reads(stack, load_handler_of, "0")
    assert handler(v1_event(LOCAL_SECURE_TOKEN, 46))["statusCode"] == 200
    stack.secretsmanager.put_secret_value(
        SecretId=module.settings.webhook_secret_id, SecretString="{oops"
    )
    assert handler(v1_event("not-the-token", 47))["statusCode"] == 401
    assert handler(v1_event(LOCAL_SECURE_TOKEN, 48))["statusCode"] == 500  # fix the secret
    assert transaction_ids(ledger_items(stack.dynamodb, stack.table)) == [46]
