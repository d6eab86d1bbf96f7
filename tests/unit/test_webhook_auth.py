"""Verification of Casso's v1 secure token and V2 signature."""

from __future__ import annotations

import copy
import json

import pytest

from casso_payments.casso.webhook_auth import (
    NOT_JSON,
    WebhookCredentials,
    authenticate,
    parse_signature_header,
    presented,
    signature_header,
)
from local.cli.sample_events import OFFICIAL_VECTOR

KEY = OFFICIAL_VECTOR["checksum_key"]
OFFICIAL_HEADER = OFFICIAL_VECTOR["headers"]["X-Casso-Signature"]
OFFICIAL_T = 1727948258788
NOW = OFFICIAL_T + 1000
V2_ONLY = WebhookCredentials(checksum_keys=(KEY,))
V1_ONLY = WebhookCredentials(secure_tokens=("tok-current",))
VIETNAMESE = {
    "error": 0,
    "data": {
        "id": 7,
        "amount": 150000,
        "description": "Chuyển tiền đơn hàng DH1234 cho Nguyễn Thị Hồng",
    },
}


def check(headers: dict, body: object, credentials: WebhookCredentials, **kwargs: int):
    return authenticate(
        headers, lambda: body, credentials, now_ms=kwargs.pop("now_ms", NOW), **kwargs
    )


def test_official_vector_verifies():
    result = check({"X-Casso-Signature": OFFICIAL_HEADER}, OFFICIAL_VECTOR["body"], V2_ONLY)
    assert result.ok
    assert result.generation == "v2"


def test_official_vector_verifies_from_its_raw_json_text():
    # What the receiver really has is text; key order in the text must not matter.
    text = json.dumps(OFFICIAL_VECTOR["body"], indent=4)
    result = check({"X-Casso-Signature": OFFICIAL_HEADER}, json.loads(text), V2_ONLY)
    assert result.ok


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("data", "amount"), 5990000),
        (("data", "description"), "giao dich thu nghiem "),
        (("data", "id"), 1),
        (("error",), 1),
    ],
)
def test_tampered_body_is_rejected(path: tuple[str, ...], value: object):
    body = copy.deepcopy(OFFICIAL_VECTOR["body"])
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    result = check({"X-Casso-Signature": OFFICIAL_HEADER}, body, V2_ONLY)
    assert not result.ok
    assert result.reason == "X-Casso-Signature does not match the body"


def test_added_field_is_rejected():
    body = copy.deepcopy(OFFICIAL_VECTOR["body"])
    body["data"]["extra"] = "x"
    assert not check({"X-Casso-Signature": OFFICIAL_HEADER}, body, V2_ONLY).ok


def test_tampered_timestamp_is_rejected():
    header = OFFICIAL_HEADER.replace(f"t={OFFICIAL_T}", f"t={OFFICIAL_T + 1}")
    assert not check({"X-Casso-Signature": header}, OFFICIAL_VECTOR["body"], V2_ONLY).ok


def test_wrong_key_is_rejected():
    wrong = WebhookCredentials(checksum_keys=(KEY[:-1] + "X",))
    assert not check({"X-Casso-Signature": OFFICIAL_HEADER}, OFFICIAL_VECTOR["body"], wrong).ok


@pytest.mark.parametrize("ensure_ascii", [True, False], ids=["python-escaped", "javascript-raw"])
def test_vietnamese_text_verifies_whether_casso_escaped_it_or_not(ensure_ascii: bool):
    header = signature_header(VIETNAMESE, KEY, NOW, ensure_ascii=ensure_ascii)
    # The receiver sees the body as sent, with the text unescaped or escaped.
    received = json.loads(json.dumps(VIETNAMESE, ensure_ascii=not ensure_ascii))
    assert check({"X-Casso-Signature": header}, received, V2_ONLY).ok


def test_vietnamese_text_changed_by_one_diacritic_is_rejected():
    header = signature_header(VIETNAMESE, KEY, NOW, ensure_ascii=False)
    body = copy.deepcopy(VIETNAMESE)
    body["data"]["description"] = body["data"]["description"].replace("Hồng", "Hông")
    assert not check({"X-Casso-Signature": header}, body, V2_ONLY).ok


@pytest.mark.parametrize("name", ["X-Casso-Signature", "x-casso-signature", "X-CASSO-SIGNATURE"])
def test_signature_header_name_is_case_insensitive(name: str):
    assert check({name: OFFICIAL_HEADER}, OFFICIAL_VECTOR["body"], V2_ONLY).ok


@pytest.mark.parametrize("name", ["Secure-Token", "secure-token", "SECURE-TOKEN", "sEcUrE-tOkEn"])
def test_secure_token_header_name_is_case_insensitive(name: str):
    assert check({name: "tok-current"}, {}, V1_ONLY).ok


def test_wrong_secure_token_is_rejected():
    result = check({"secure-token": "tok-currenT"}, {}, V1_ONLY)
    assert not result.ok
    assert result.generation == "v1"
    assert "tok" not in result.reason  # a failure reason never echoes a credential


def test_secure_token_value_is_case_sensitive_and_exact():
    assert not check({"secure-token": "tok-current "}, {}, V1_ONLY).ok
    assert not check({"secure-token": "TOK-CURRENT"}, {}, V1_ONLY).ok
    assert not check({"secure-token": ""}, {}, V1_ONLY).ok


def test_rotation_accepts_current_and_previous_token_only():
    rotating = WebhookCredentials(secure_tokens=("tok-new", "tok-old"))
    assert check({"secure-token": "tok-new"}, {}, rotating).ok
    assert check({"secure-token": "tok-old"}, {}, rotating).ok
    assert not check({"secure-token": "tok-older"}, {}, rotating).ok


def test_rotation_accepts_signature_by_previous_checksum_key():
    rotating = WebhookCredentials(checksum_keys=("new-key", KEY))
    assert check({"X-Casso-Signature": OFFICIAL_HEADER}, OFFICIAL_VECTOR["body"], rotating).ok
    unrelated = WebhookCredentials(checksum_keys=("new-key", "other-old-key"))
    assert not check({"X-Casso-Signature": OFFICIAL_HEADER}, OFFICIAL_VECTOR["body"], unrelated).ok


def test_no_credentials_presented():
    result = check({"Content-Type": "application/json"}, {}, V1_ONLY)
    assert (result.ok, result.generation) == (False, "unknown")
    assert result.reason == "no Secure-Token or X-Casso-Signature header"


def test_generation_not_configured_is_rejected_with_a_clear_reason():
    v2_sent_to_v1 = check({"X-Casso-Signature": OFFICIAL_HEADER}, OFFICIAL_VECTOR["body"], V1_ONLY)
    assert v2_sent_to_v1.reason == "X-Casso-Signature sent but no checksum key is configured"
    v1_sent_to_v2 = check({"secure-token": "tok-current"}, {}, V2_ONLY)
    assert v1_sent_to_v2.reason == "Secure-Token sent but no secure token is configured"


def test_both_generations_configured_accept_either():
    both = WebhookCredentials(secure_tokens=("tok-current",), checksum_keys=(KEY,))
    assert check({"secure-token": "tok-current"}, {}, both).generation == "v1"
    v2 = check({"X-Casso-Signature": OFFICIAL_HEADER}, OFFICIAL_VECTOR["body"], both)
    assert (v2.ok, v2.generation) == (True, "v2")


@pytest.mark.parametrize(
    "value", ["", "t=,v1=", "v1=abc", "t=abc,v1=def", "t=123", "garbage", "t=1;v1=2"]
)
def test_malformed_signature_header_is_rejected(value: str):
    result = check({"X-Casso-Signature": value}, OFFICIAL_VECTOR["body"], V2_ONLY)
    assert not result.ok
    assert "malformed" in result.reason


def test_signature_over_unparseable_body_is_rejected():
    result = check({"X-Casso-Signature": OFFICIAL_HEADER}, NOT_JSON, V2_ONLY)
    assert result.reason == "body is not JSON, so its signature cannot be checked"


def test_uppercase_hex_signature_is_accepted():
    t, sig = parse_signature_header(OFFICIAL_HEADER)
    assert check(
        {"X-Casso-Signature": f"t={t},v1={sig.upper()}"}, OFFICIAL_VECTOR["body"], V2_ONLY
    ).ok


def test_signature_age_is_not_checked_by_default():
    # Casso retries for ~12 hours with the original timestamp; the vector is from 2024.
    two_years_later = OFFICIAL_T + 2 * 365 * 24 * 3600 * 1000
    body = OFFICIAL_VECTOR["body"]
    assert check({"X-Casso-Signature": OFFICIAL_HEADER}, body, V2_ONLY, now_ms=two_years_later).ok


def test_maximum_signature_age_when_configured():
    body = OFFICIAL_VECTOR["body"]
    headers = {"X-Casso-Signature": OFFICIAL_HEADER}
    assert check(headers, body, V2_ONLY, now_ms=OFFICIAL_T + 59_000, max_age_seconds=60).ok
    late = check(headers, body, V2_ONLY, now_ms=OFFICIAL_T + 61_000, max_age_seconds=60)
    assert (late.ok, late.reason) == (False, "signature timestamp is more than 60s away")
    early = check(headers, body, V2_ONLY, now_ms=OFFICIAL_T - 61_000, max_age_seconds=60)
    assert not early.ok


def test_signature_header_round_trips():
    header = signature_header({"b": 1, "a": [2, {"d": 3, "c": 4}]}, "k", 42)
    t, sig = parse_signature_header(header)
    assert t == 42
    assert len(sig) == 128  # SHA-512, hex


@pytest.mark.parametrize(
    ("headers", "outcome"),
    [
        ({"secure-token": "tok"}, (True, "v1", "")),
        ({"X-Casso-Signature": OFFICIAL_HEADER}, (True, "v2", "")),
        # Both: the signature names the generation, the token may still admit it.
        ({"secure-token": "tok", "x-casso-signature": "junk"}, (True, "v2", "")),
        ({"Secure-Token": ""}, (False, "v1", "Secure-Token is empty")),
        (
            {"X-Casso-Signature": "junk"},
            (False, "v2", "X-Casso-Signature is malformed (expected t=<ms>,v1=<hex>)"),
        ),
        ({}, (False, "unknown", "no Secure-Token or X-Casso-Signature header")),
    ],
)
def test_the_headers_alone_say_what_is_presented(headers, outcome):
    result = presented(headers)
    assert (result.ok, result.generation, result.reason) == outcome
