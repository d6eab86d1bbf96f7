"""Fuzzing the receiver with hypothesis: whatever arrives, no 5xx for bad input, no write
without valid credentials, no exception escaping the handler.

The strategies aim where parsers break: well-shaped signature headers with wrong MACs (so
the HMAC path runs, not just the header check), Unicode and 4,300+ digit timestamps and
integers, nesting around the recursion limit, non-ASCII bodies claiming base64."""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from casso_payments.casso.webhook_auth import signature_header
from casso_payments.receiver.intake import Delivery, receive
from local.cli.sample_events import LOCAL_CREDENTIALS, LOCAL_SECURE_TOKEN, V1_ITEM
from local.stack.handler import LocalContext
from local.stack.lambda_events import rest_proxy_event
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


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# Python refuses to turn more than 4,300 digits into an int (json.loads included).
huge_digits = st.integers(min_value=4_290, max_value=4_400).map(lambda n: "7" * n)
# str.isdigit() is true for these, int() refuses or misreads them.
unicode_digits = st.text(alphabet="²³¹⁰١٢٣٤５６߁०", min_size=1, max_size=6)
# Around Python's default recursion limit (1000): where json.loads or json.dumps give up
# depends on the interpreter (3.11 or 3.13) and how deep the caller already is.
depths = st.integers(min_value=900, max_value=1_100) | st.sampled_from([3_000, 50_000])
hostile_bodies = st.one_of(
    huge_digits.map(lambda d: f'{{"error": 0, "data": [{{"id": 1, "amount": {d}}}]}}'),
    huge_digits.map(lambda d: f'{{"error": 0, "data": {{"id": {d}, "amount": 1}}}}'),
    depths.map(nested),
    depths.map(lambda d: f'{{"error": 0, "data": [{{"id": 2, "amount": 1, "x": {nested(d)}}}]}}'),
    depths.map(lambda d: f'{{"error": {nested(d)}, "data": []}}'),
    st.integers(min_value=39, max_value=400).map(
        lambda n: f'{{"error": 0, "data": [{{"id": 3, "amount": 1e{n}}}]}}'
    ),
    st.just('{"error": 0, "data": [{"id": 4, "amount": 1, "description": "\\ud800"}]}'),
)
bodies = st.one_of(
    hostile_bodies,
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
hex_text = st.text(alphabet="0123456789abcdefABCDEF", min_size=1, max_size=140)
signature_values = st.one_of(
    # Well-shaped, wrong MAC: passes the header check, so the body is parsed and HMACed.
    st.builds(
        lambda t, mac: f"t={t},v1={mac}", st.integers(min_value=0, max_value=10**15 - 1), hex_text
    ),
    st.builds(lambda t, mac: f"t={t},v1={mac}", unicode_digits | huge_digits, hex_text),
    st.builds(lambda t, mac: f" t={t} , v1={mac} ", st.integers(min_value=0), hex_text),
    st.text(alphabet=string.printable, max_size=200),
)
header_values = {
    "Secure-Token": st.text(alphabet=string.printable, max_size=200),
    "X-Casso-Signature": signature_values,
    "Content-Type": st.sampled_from(["application/json", "text/plain", ""]),
    "X-Other": st.text(max_size=50),
}
random_headers = st.one_of(
    st.dictionaries(header_names, st.text(alphabet=string.printable, max_size=200), max_size=4),
    st.fixed_dictionaries(
        {}, optional={name: strategy for name, strategy in header_values.items()}
    ),
    signature_values.map(lambda value: {"x-casso-signature": value}),
)


def ledger_count(stack: Stack) -> int:
    return stack.dynamodb.scan(TableName=stack.table, Select="COUNT")["Count"]


@FUZZ
@given(headers=random_headers, body=bodies)
def test_without_valid_credentials_nothing_is_written_and_no_5xx(stack, headers, body):
    # Random header values are never the real token (it is not in the alphabet's reach).
    answer = receive(Delivery(headers, body, NOW), stack.intake_deps())
    # Which check refused it (--hypothesis-show-statistics): the HMAC path must be reached.
    event(answer.reason.split(" (")[0][:60])
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


@FUZZ
@given(depth=st.integers(min_value=1, max_value=1_100), wrap=st.booleans())
def test_signed_deep_nesting_is_acknowledged_or_refused_never_5xx(stack, depth, wrap):
    # Signed while the signer can serialise it; the receiver, deeper in its stack, may not
    # manage to: then it is a 401 (can't check), never a 500.
    value = json.loads(nested(depth))
    data = {"error": 0, "data": [{"id": 9, "amount": 1, "x": value}]} if wrap else value
    try:
        header = signature_header(data, LOCAL_CREDENTIALS["checksum_key"], 1_000)
    except RecursionError:
        return
    text = json.dumps(data)
    answer = receive(Delivery({"X-Casso-Signature": header}, text, NOW), stack.intake_deps())
    assert answer.status in (200, 401), answer


@pytest.fixture
def handler(stack, load_handler_of):
    module = load_handler_of(stack, "ReceiverFunction")
    return lambda event: module.lambda_handler(event, LocalContext("ReceiverFunction"))


@FUZZ
@given(
    headers=random_headers | st.just({"Secure-Token": LOCAL_SECURE_TOKEN}),
    body=st.one_of(bodies, st.none(), st.text(alphabet="đơnàhgĐ€😀 abc{}[]", max_size=50)),
    method=st.sampled_from(["POST", "GET", "PUT"]),
    path=st.sampled_from(["/casso/webhook", "/casso/webhook/", "/", "/other"]),
    encoded=st.booleans(),
)
def test_no_exception_escapes_the_handler(handler, headers, body, method, path, encoded):
    event = rest_proxy_event(method, path, headers=headers, body=body)
    if encoded and body is not None:
        event["isBase64Encoded"] = True  # not valid base64, mostly; non-ASCII, often
    response = handler(event)
    assert response["statusCode"] in (200, 401, 404, 405, 413)
