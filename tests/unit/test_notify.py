"""The notifier's parts, each as a shop or an attacker would meet it: signatures checked with
the official `standardwebhooks` verifier (during a rotation, with either key), the SSRF guard
on every kind of address, the POST pinned to the address checked, the type table the same as
the template's rule, the schedule long enough, the staff's line in Vietnamese."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from werkzeug.wrappers import Request, Response

from casso_payments.aws.secrets import CredentialsError
from casso_payments.notify.kinds import WEBHOOK_TYPES
from casso_payments.notify.message import webhook_body, webhook_id
from casso_payments.notify.schedule import next_due
from casso_payments.notify.send import post
from casso_payments.notify.signing import parse_signing_secret
from casso_payments.notify.telegram import staff_line, vnd
from casso_payments.notify.url_guard import (
    CheckedUrl,
    UnsafeUrl,
    check_notify_url,
    check_url_shape,
)
from casso_payments.settings.notifier import DEFAULT_RETRY_DELAYS, parse_delays
from local.stack.loopback import LoopbackServer
from local.stack.template import load_template

OLD = "whsec_" + "b2xkLXNlY3JldC1vbGQtc2VjcmV0LTEyMzQ1Ng=="
GENERATED = "Zq3kT9vB1xW7pR2mN8cL5yH4dJ6fG0sA1qE3tU9iO7pK2lM5"  # as the template makes it
DETAIL = {"order_code": "DH35", "transaction_id": 41, "paid_amount": 200_500}


def resolver(*addresses: str) -> Any:
    def resolve(host: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    return resolve


def test_a_webhook_verifies_with_the_official_library_under_either_key_during_rotation():
    keys = parse_signing_secret({"signing_secret": GENERATED, "signing_secret_previous": OLD})
    body = webhook_body("order.paid", "2026-12-06T10:00:00Z", DETAIL)
    headers = keys.sign("msg_1", datetime.now(UTC), body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in ("whsec_" + GENERATED, OLD):  # the shop has the new key, or still the old
        assert Webhook(secret).verify(body.encode(), headers)["data"] == DETAIL
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "c3RyYW5nZXItc2VjcmV0LXh4eHh4eHh4eA==").verify(body, headers)


def test_after_the_rotation_is_finished_only_the_new_key_verifies():
    keys = parse_signing_secret({"signing_secret": GENERATED, "signing_secret_previous": ""})
    body = webhook_body("order.paid", "2026-12-06T10:00:00Z", DETAIL)
    headers = keys.sign("msg_1", datetime.now(UTC), body)
    Webhook("whsec_" + GENERATED).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(OLD).verify(body, headers)


@pytest.mark.parametrize("secret", [{}, {"signing_secret": ""}, {"signing_secret": 5}, "x"])
def test_an_unusable_signing_secret_is_refused(secret):
    with pytest.raises(CredentialsError):
        parse_signing_secret(secret)


def test_the_webhook_id_is_one_per_event_and_differs_between_events():
    first = webhook_id("Order Paid", DETAIL, "event-1")
    assert first == webhook_id("Order Paid", dict(DETAIL), "event-2")  # a copy, a replay
    assert first.startswith("msg_")
    assert first != webhook_id("Order Overpaid", DETAIL, "event-1")
    assert first != webhook_id("Order Paid", {**DETAIL, "transaction_id": 42}, "event-1")


def test_the_type_table_is_exactly_what_the_templates_rule_matches():
    rule = load_template()["Resources"]["NotificationRule"]["Properties"]["EventPattern"]
    assert sorted(rule["detail-type"]) == sorted(WEBHOOK_TYPES)
    assert all(t == t.lower() and "." in t and " " not in t for t in WEBHOOK_TYPES.values())


def test_the_schedule_retries_for_more_than_24_hours_then_gives_up():
    delays = parse_delays(DEFAULT_RETRY_DELAYS)
    now = datetime(2026, 12, 6, tzinfo=UTC)
    assert sum(delays) >= 24 * 3600
    assert next_due(1, delays, now) == now + timedelta(seconds=5)
    assert next_due(len(delays) + 1, delays, now) is None
    assert max(delays) <= 86400
    with pytest.raises(ValueError, match="between 0 and 86400"):
        parse_delays("5,-1")


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("10.0.0.5", "private"),
        ("192.168.1.1", "private"),
        ("172.16.0.1", "private"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "metadata"),
        ("169.254.10.10", "link-local"),
        ("fd00:ec2::254", "metadata"),
        ("::ffff:10.0.0.1", "private"),
        ("100.64.0.1", "public"),  # shared address space (carrier NAT)
        ("0.0.0.0", "private"),  # noqa: S104 - an address refused, not bound
        ("224.0.0.1", "multicast"),
    ],
)
def test_deployed_a_url_resolving_to_a_non_public_address_is_refused(address, why):
    with pytest.raises(UnsafeUrl, match=why):
        check_notify_url("https://shop.example/hooks", resolve=resolver(address))


def test_every_address_the_host_resolves_to_must_be_public():
    with pytest.raises(UnsafeUrl, match="private"):
        check_notify_url("https://shop.example/", resolve=resolver("93.184.216.34", "10.0.0.1"))


def test_a_public_https_url_is_accepted_and_keeps_the_checked_address():
    checked = check_notify_url("https://shop.example:8443/h?x=1", resolve=resolver("93.184.216.34"))
    assert (checked.host, checked.port, checked.path, checked.address) == (
        "shop.example",
        8443,
        "/h?x=1",
        "93.184.216.34",
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://shop.example/hooks",  # plain http
        "ftp://shop.example/",
        "https://user:pw@shop.example/",
        "https:///nohost",
        "https://shop.example/#frag",
        "not a url",
    ],
)
def test_set_time_shapes_refused_deployed(url):
    with pytest.raises(UnsafeUrl):
        check_url_shape(url)


def test_locally_plain_http_to_loopback_only():
    check_url_shape("http://127.0.0.1:8080/hooks", allow_loopback=True)
    check_notify_url("http://127.0.0.1:8080/", allow_loopback=True, resolve=resolver("127.0.0.1"))
    with pytest.raises(UnsafeUrl):
        check_url_shape("http://shop.example/hooks", allow_loopback=True)
    with pytest.raises(UnsafeUrl, match="private"):
        check_notify_url("https://x.example/", allow_loopback=True, resolve=resolver("10.1.1.1"))


def test_the_post_connects_to_the_checked_address_not_a_new_dns_answer():
    """DNS rebinding: the name is never resolved again after the check; the request goes to
    the address checked, with the URL's host in its Host header."""
    seen: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        seen.append(Request(environ).host)
        return Response("ok", status=204)(environ, start_response)

    with LoopbackServer(app, what="pinned") as server:
        checked = CheckedUrl(
            "http://rebound.invalid/h", "http", "rebound.invalid", server.port, "/h", "127.0.0.1"
        )
        answer = post(checked, b"{}", {"content-type": "application/json"}, 10)
    assert answer.status == 204
    assert answer.ok(10)
    assert seen == [f"rebound.invalid:{server.port}"]


def test_no_answer_is_a_failed_attempt():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    checked = CheckedUrl("http://127.0.0.1/", "http", "127.0.0.1", port, "/", "127.0.0.1")
    answer = post(checked, b"{}", {}, 2)
    assert answer.status == 0
    assert not answer.ok(2)
    assert answer.error


def test_the_staffs_lines_in_vietnamese_with_dots_between_thousands():
    assert vnd(200_500) == "200.500đ"
    assert vnd(1_250_000) == "1.250.000đ"
    assert staff_line("Order Paid", DETAIL) == "Đơn DH35 đã thanh toán 200.500đ"
    partial = {"order_code": "DH36", "paid_amount": 100_000, "remaining": 200_000}
    assert staff_line("Order Partially Paid", partial) == (
        "Đơn DH36 đã thanh toán một phần 100.000đ, còn thiếu 200.000đ"
    )
    late = {"order_code": "DH37", "late_amount": 50_000}
    assert staff_line("Late Payment", late) == "Đơn DH37 đã hết hạn, nhận chuyển khoản muộn 50.000đ"
    assert staff_line("Refund Recorded", DETAIL) is None
