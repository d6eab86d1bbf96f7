"""Fuzzing the receiver with hypothesis: whatever arrives, no 5xx for bad input, no write
without valid credentials, no exception escaping the handler."""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casso_payments.intake import Delivery, receive
from casso_payments.webhook_auth import signature_header
from local.invoke import LocalContext
from local.lambda_events import rest_proxy_event
from local.sample_events import LOCAL_CREDENTIALS, LOCAL_SECURE_TOKEN, V1_ITEM
from tests.helpers import NOW
from tests.stack import Stack

FUZZ = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=25,
)
payload_like = st.fixed_dictionaries(
    {
        "error": st.one_of(st.just(0), json_values),
        "data": st.one_of(json_values, st.lists(json_values, max_size=4)),
    }
)
item_like = st.dictionaries(
    st.sampled_from(
        ["id", "amount", "description", "tid", "when", "subAccId", "cusum_balance", "x"]
    ),
    json_values,
)
valid_json = json.dumps({"error": 0, "data": [V1_ITEM]})
bodies = st.one_of(
    json_values.map(json.dumps),
    payload_like.map(json.dumps),
    st.lists(item_like, max_size=4).map(lambda items: json.dumps({"error": 0, "data": items})),
    st.integers(min_value=0, max_value=len(valid_json)).map(lambda n: valid_json[:n]),  # truncated
    st.text(),
    st.text(alphabet='{}[]",:0123456789truefalsenul ', max_size=200),
    st.just("[" * 5000 + "]" * 5000),  # deep nesting
    st.integers(min_value=300_000, max_value=400_000).map(lambda n: "x" * n),  # huge
)
header_names = st.sampled_from(
    [
        "Secure-Token",
        "secure-token",
        "X-Casso-Signature",
        "x-casso-signature",
        "Content-Type",
        "X-Other",
    ]
)
random_headers = st.dictionaries(
    header_names, st.text(alphabet=string.printable, max_size=200), max_size=4
)


def ledger_count(stack: Stack) -> int:
    return stack.dynamodb.scan(TableName=stack.table, Select="COUNT")["Count"]


@FUZZ
@given(headers=random_headers, body=bodies)
def test_without_valid_credentials_nothing_is_written_and_no_5xx(stack, headers, body):
    # Random header values are never the real token (it is not in the alphabet's reach).
    answer = receive(Delivery(headers, body, NOW), stack.intake_deps())
    assert answer.status in (401, 413)
    assert ledger_count(stack) == 0


@FUZZ
@given(body=bodies)
def test_authenticated_junk_is_acknowledged_or_too_large_never_5xx(stack, body):
    answer = receive(Delivery({"Secure-Token": LOCAL_SECURE_TOKEN}, body, NOW), stack.intake_deps())
    assert answer.status in (200, 413), answer
    assert answer.body["success"] is (answer.status == 200)


@FUZZ
@given(data=payload_like)
def test_signed_junk_is_acknowledged_never_5xx(stack, data):
    key = LOCAL_CREDENTIALS["checksum_key"]
    header = signature_header(data, key, 1_000, ensure_ascii=False)
    text = json.dumps(data, ensure_ascii=False)
    answer = receive(Delivery({"X-Casso-Signature": header}, text, NOW), stack.intake_deps())
    assert answer.status in (200, 413)


@pytest.fixture
def handler(stack, load_handler_of):
    module = load_handler_of(stack, "ReceiverFunction")
    return lambda event: module.lambda_handler(event, LocalContext("ReceiverFunction"))


@FUZZ
@given(
    headers=random_headers,
    body=st.one_of(bodies, st.none()),
    method=st.sampled_from(["POST", "GET", "PUT"]),
    path=st.sampled_from(["/casso/webhook", "/casso/webhook/", "/", "/other"]),
    encoded=st.booleans(),
)
def test_no_exception_escapes_the_handler(handler, headers, body, method, path, encoded):
    event = rest_proxy_event(method, path, headers=headers, body=body)
    if encoded and body is not None:
        event["isBase64Encoded"] = True  # not valid base64, mostly
    response = handler(event)
    assert response["statusCode"] in (200, 401, 404, 405, 413)
