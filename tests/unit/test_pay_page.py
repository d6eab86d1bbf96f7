"""PayPageFunction's handler: the buyer's page and its status JSON, through the real handler
on in-process moto. What a buyer (or a stranger holding a wrong link) would notice."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from casso_payments.orders import vietqr
from casso_payments.orders.payment_links import link_token, parse_link_key
from casso_payments.orders.payment_requests import Payee, payment_request
from local.cli import story
from local.stack.lambda_events import rest_proxy_event
from tests.helpers import captured_handler

PAYEE = Payee(
    story.PAYEE["PayeeBankBin"], story.PAYEE["PayeeAccountNumber"], story.PAYEE["PayeeAccountName"]
)
PAYEE_ENV = {
    "PAYEE_BANK_BIN": PAYEE.bank_bin,
    "PAYEE_ACCOUNT_NUMBER": PAYEE.account_number,
    "PAYEE_ACCOUNT_NAME": PAYEE.account_name,
}


@pytest.fixture
def module(stack, load_handler_of):
    return load_handler_of(stack, "PayPageFunction", **PAYEE_ENV)


@pytest.fixture
def handler(module):
    return captured_handler(module, "PayPageFunction")


@pytest.fixture
def key(stack) -> bytes:
    secret = stack.secretsmanager.get_secret_value(SecretId=stack.local.ref("PayLinkSecret"))
    return parse_link_key(json.loads(secret["SecretString"]))


@pytest.fixture
def dynamodb_calls(module) -> list[str]:
    """Every DynamoDB operation the handler's client makes from now on."""
    calls: list[str] = []
    client = module.deps.orders.table.dynamodb
    client.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))
    return calls


def create(stack, code: str = "DH35", amount: int = 200_500, **options: Any):
    now = options.pop("now", datetime.now(UTC))
    return stack.orders.create(code, amount, now=now, payee=PAYEE, **options)


def get(handler, code: str, token: str | None, *, status: bool = False, **query: str) -> dict:
    resource = "/pay/{code}/status" if status else "/pay/{code}"
    params = {**({"t": [token]} if token is not None else {}), **{k: [v] for k, v in query.items()}}
    event = rest_proxy_event(
        "GET",
        resource.replace("{code}", code),
        resource=resource,
        path_parameters={"code": code},
        query=params or None,
    )
    return handler(event)


def shown_qr(body: str) -> str:
    (svg,) = re.findall(r"<svg\b.*?</svg>", body, re.S)
    return svg


def test_a_pending_order_shows_how_to_pay_it_with_its_own_vietqr(stack, handler, key):
    order = create(stack)
    answer = get(handler, "DH35", link_token(key, "DH35"))
    assert answer["statusCode"] == 200
    body = answer["body"]
    assert 'lang="vi"' in body
    assert "Chờ thanh toán" in body
    for shown in ("Vietcombank", PAYEE.account_number, PAYEE.account_name, "200.500 ₫", "DH35"):
        assert shown in body
    # Each detail has a copy button (hidden until the script shows it).
    copied = re.findall(r'data-copy="([^"]*)"', body)
    assert copied == ["Vietcombank", PAYEE.account_number, PAYEE.account_name, "200500", "DH35"]
    # The QR is inline, on its own white background with a quiet zone of 4 modules.
    svg = shown_qr(body)
    assert '<path fill="#fff" d="M0 0h' in svg
    first_dark = re.search(r'stroke="#000" d="M(\d+) (\d+)', svg)
    assert first_dark is not None
    assert int(first_dark.group(1)) >= 4  # modules of light before the first dark one
    assert float(first_dark.group(2)) >= 4
    assert order.vietqr is not None
    status = json.loads(get(handler, "DH35", link_token(key, "DH35"), status=True)["body"])
    assert status["vietqr"] == order.vietqr
    assert len(body.encode()) < 30_000
    # Without JavaScript it refreshes itself.
    assert '<noscript><meta http-equiv="refresh"' in body


def test_the_page_is_locked_down_and_makes_no_third_party_request(stack, handler, key):
    create(stack)
    answer = get(handler, "DH35", link_token(key, "DH35"))
    headers, body = answer["headers"], answer["body"]
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    csp = headers["Content-Security-Policy"]
    assert csp.startswith("default-src 'self';")
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    # The inline style and script are allowed by their hashes, and nothing else is inline.
    (script,) = re.findall(r"<script>(.*?)</script>", body, re.S)
    (style,) = re.findall(r"<style>(.*?)</style>", body, re.S)
    for inline in (script, style):
        digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp
    assert not re.search(r"\son\w+=|\sstyle=", body)  # no inline handlers or style attributes
    # No URL leaves the page's origin (the VietQR is text, not a link).
    assert not re.search(r"(src|href)=\"(https?:)?//", body)
    assert "http://" not in body.replace("http://www.w3.org/2000/svg", "")


def test_a_wrong_or_missing_token_is_a_404_that_reads_no_table(stack, handler, key, dynamodb_calls):
    create(stack)
    other = link_token(key, "DH36")
    for token in (None, "", "x" * 22, other, link_token(b"k" * 48, "DH35"), "t" * 500):
        for status in (False, True):
            answer = get(handler, "DH35", token, status=status)
            assert answer["statusCode"] == 404
            assert "DH35" not in answer["body"]
    for code in ("%%%", "DH" + "9" * 80, ""):
        assert get(handler, code, link_token(key, "DH35"))["statusCode"] == 404
    assert dynamodb_calls == []
    # A right token for an order that does not exist: the same 404, after one read.
    assert get(handler, "DH99", link_token(key, "DH99"))["statusCode"] == 404
    assert dynamodb_calls == ["GetItem"]


def test_a_status_poll_costs_one_getitem(stack, handler, key, dynamodb_calls):
    create(stack, expires_at=datetime.now(UTC) + timedelta(minutes=15))
    token = link_token(key, "DH35")
    for _ in range(3):
        answer = get(handler, "DH35", token, status=True)
        assert answer["statusCode"] == 200
    assert dynamodb_calls == ["GetItem"] * 3
    assert answer["headers"]["Content-Type"] == "application/json"
    assert answer["headers"]["Cache-Control"] == "no-store"
    status = json.loads(answer["body"])
    assert {k: status[k] for k in ("order_code", "status", "state", "amount_remaining")} == {
        "order_code": "DH35",
        "status": "PENDING",
        "state": "pending",
        "amount_remaining": 200_500,
    }
    assert status["transfer_content"] == "DH35"
    assert status["expires_at"].endswith("Z")


def test_any_spelling_of_the_code_opens_its_page(stack, handler, key):
    create(stack)
    answer = get(handler, "dh-0035", link_token(key, "DH35"))
    assert answer["statusCode"] == 200
    assert "DH35" in answer["body"]


def test_after_a_partial_transfer_it_shows_what_is_left_with_a_qr_for_it(stack, handler, key):
    order = create(stack, "DH36", 300_000)
    stack.orders.pay(order, transaction_id=7, amount=120_000, tolerance=0, now=datetime.now(UTC))
    token = link_token(key, "DH36")
    body = get(handler, "DH36", token)["body"]
    assert "Đã nhận một phần" in body
    assert "180.000 ₫" in body  # what is left
    assert "120.000 ₫" in body  # what came
    status = json.loads(get(handler, "DH36", token, status=True)["body"])
    assert (status["state"], status["amount_paid"], status["amount_remaining"]) == (
        "partially_paid",
        120_000,
        180_000,
    )
    assert status["vietqr"] == payment_request("DH36", 180_000, PAYEE)
    assert vietqr.parse(status["vietqr"])["amount"] == 180_000


def test_a_paid_order_says_so_and_stops_asking_for_money(stack, handler, key):
    order = create(stack)
    stack.orders.pay(order, transaction_id=8, amount=200_500, tolerance=0, now=datetime.now(UTC))
    token = link_token(key, "DH35")
    body = get(handler, "DH35", token)["body"]
    assert "Đã thanh toán" in body
    assert "<svg" not in body
    assert 'class="copy"' not in body
    assert "refresh" not in body  # nothing will change any more
    assert 'data-final="1"' in body
    status = json.loads(get(handler, "DH35", token, status=True)["body"])
    assert (status["state"], status["vietqr"]) == ("paid", None)
    english = get(handler, "DH35", token, lang="en")["body"]
    assert 'lang="en"' in english
    assert ">Paid<" in english


def test_an_expired_order_says_so_even_before_the_reconciler_marks_it(stack, handler, key):
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    create(stack, now=an_hour_ago, expires_at=an_hour_ago + timedelta(minutes=5))
    token = link_token(key, "DH35")
    body = get(handler, "DH35", token)["body"]
    assert "Đã hết hạn" in body
    assert "<svg" not in body
    status = json.loads(get(handler, "DH35", token, status=True)["body"])
    assert (status["state"], status["status"]) == ("expired", "EXPIRED")


def test_a_cancelled_order_says_so(stack, handler, key):
    create(stack)
    # The orders API cancels; its status is the string CANCELLED.
    stack.dynamodb.update_item(
        TableName=stack.orders_table,
        Key={"pk": {"S": "DH35"}},
        UpdateExpression="SET #s = :c",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":c": {"S": "CANCELLED"}},
    )
    token = link_token(key, "DH35")
    body = get(handler, "DH35", token)["body"]
    assert "Đã huỷ" in body
    assert "<svg" not in body
    assert json.loads(get(handler, "DH35", token, status=True)["body"])["state"] == "cancelled"


def test_english_on_request_with_a_link_back_to_vietnamese(stack, handler, key):
    create(stack)
    token = link_token(key, "DH35")
    vi = get(handler, "DH35", token)["body"]
    assert f'href="?t={token}&amp;lang=en"' in vi
    en = get(handler, "DH35", token, lang="en")["body"]
    assert "Awaiting payment" in en
    assert "Transfer content" in en
    assert f'href="?t={token}"' in en


def test_the_token_is_never_logged(stack, handler, key, capsys):
    create(stack)
    token = link_token(key, "DH35")
    get(handler, "DH35", token)
    get(handler, "DH35", token, status=True)
    get(handler, "DH35", "wrong-token")
    out = capsys.readouterr()
    assert token not in out.out + out.err
    assert "wrong-token" not in out.out + out.err
    assert "pay page shown" in out.out + out.err


def test_other_routes_are_not_served(handler):
    event = rest_proxy_event("POST", "/pay/DH35", resource="/pay/{code}")
    assert handler(event)["statusCode"] == 404


def test_the_qr_library_is_not_loaded_at_cold_start():
    """segno costs about 60 ms to import: only a page that draws a QR pays it, never the
    cold start, a status poll or a refused link (docs/payment-page.md)."""
    from tests.helpers import loaded_at_cold_start

    assert loaded_at_cold_start("PayPageFunction", ["segno", "casso_payments.pages.serve"]) == {
        "segno": False,
        "casso_payments.pages.serve": True,
    }
