"""The buyer's payment page in a real browser (Debian's headless Chromium) on the local
stack: the QR on screen is the order's VietQR, and paying through the Casso simulator turns
the open page to paid by itself (its script polls the status JSON)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import boto3
import pytest

from casso_payments.orders.payment_links import parse_link_key, payment_path
from casso_payments.orders.payment_requests import Payee, payment_request
from local.cli import story
from tests.e2e.browser import CHROMIUM, INSTALL_HINT, Browser, decode_qr
from tests.e2e.conftest import RunningStack, start_stack, stop_stack

pytestmark = pytest.mark.e2e

PAYEE = Payee(*(story.PAYEE[k] for k in ("PayeeBankBin", "PayeeAccountNumber", "PayeeAccountName")))
# Every CSP violation the page causes, recorded from before its own scripts run.
CSP_WATCH = (
    "window.__csp=[];document.addEventListener('securitypolicyviolation',"
    "function(e){window.__csp.push(e.violatedDirective+' '+e.blockedURI)})"
)
STATE = "document.getElementById('page') && document.getElementById('page').dataset.state"


def require_browser() -> None:
    if os.access(CHROMIUM, os.X_OK):
        return
    message = f"no browser at {CHROMIUM}: {INSTALL_HINT}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)  # CI must run it, never skip it
    pytest.skip(message)


@pytest.fixture(scope="module")
def paying_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """A local stack with a payee, so orders have a VietQR (the session's has none)."""
    require_browser()
    payee = [arg for k, v in story.PAYEE.items() for arg in ("--parameter", f"{k}={v}")]
    running = start_stack(tmp_path_factory.mktemp("pay-page-stack"), extra=tuple(payee))
    yield running
    stop_stack(running)


def page_url(stack: RunningStack, code: str) -> str:
    state = stack.state()
    secrets = boto3.client("secretsmanager", endpoint_url=state["urls"]["moto"])
    secret_id = state["environments"]["PayPageFunction"]["PAY_LINK_SECRET_ID"]
    key = parse_link_key(json.loads(secrets.get_secret_value(SecretId=secret_id)["SecretString"]))
    return f"{state['urls']['api']}/{state['parameters']['Stage']}{payment_path(key, code)}"


def test_a_buyer_scans_pays_in_two_transfers_and_sees_the_page_turn_paid(paying_stack, tmp_path):
    stack = paying_stack
    stack.cli("order", "create", "DH35", "200500", "--expires-in", "3600")
    order = json.loads(stack.cli("order", "show", "DH35").stdout)
    url = page_url(stack, "DH35")
    browser = Browser()
    try:
        browser.page("Network.enable")
        browser.page("Page.enable")
        browser.page("Page.addScriptToEvaluateOnNewDocument", source=CSP_WATCH)
        browser.open(url)
        assert browser.wait_for(STATE) == "pending"
        # Its script ran under the page's CSP: the copy buttons are shown, the countdown runs.
        assert browser.wait_for("document.querySelectorAll('button.copy:not([hidden])').length")
        assert browser.wait_for("document.getElementById('countdown').textContent")
        assert "Chờ thanh toán" in browser.evaluate("document.body.innerText")
        assert decode_qr(browser.screenshot(tmp_path / "pending.png")) == [order["vietqr"]]

        # Part of it: the page shows what is left, with a new QR for just that.
        stack.cli("send", "100000", "DH35 thanh toan lan 1", "--v2")
        stack.cli("wait")
        assert browser.wait_for(f"{STATE} === 'partially_paid'")
        assert "100.500 ₫" in browser.evaluate("document.body.innerText")
        remainder = payment_request("DH35", 100_500, PAYEE)
        assert decode_qr(browser.screenshot(tmp_path / "partial.png")) == [remainder]

        # The rest: the open page turns to paid by itself.
        stack.cli("send", "100500", "DH35 thanh toan lan 2", "--v2")
        stack.cli("wait")
        assert browser.wait_for(f"{STATE} === 'paid'")
        assert "Đã thanh toán" in browser.evaluate("document.body.innerText")
        assert decode_qr(browser.screenshot(tmp_path / "paid.png")) == []

        assert browser.evaluate("window.__csp") == []
        origin = stack.state()["urls"]["api"]
        elsewhere = [u for u in browser.requested() if not u.startswith(origin)]
        assert elsewhere == []  # no CDN, no font, no analytics
    finally:
        browser.close()


def test_a_wrong_link_shows_nothing_of_the_order(paying_stack, tmp_path):
    stack = paying_stack
    stack.cli("order", "create", "DH36", "300000")
    url = page_url(stack, "DH36").replace("?t=", "?t=x")
    browser = Browser()
    try:
        browser.open(url)
        text = browser.wait_for("document.body && document.body.innerText")
        assert "Không tìm thấy" in text
        assert "DH36" not in text
        assert decode_qr(browser.screenshot(tmp_path / "wrong.png")) == []
    finally:
        browser.close()
