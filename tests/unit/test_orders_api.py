"""The shop's orders API through OrdersApiFunction's real handler (in-process moto): what a
shop sees, every answer held to the committed OpenAPI file (docs/openapi/orders.yaml)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from casso_payments.orders import vietqr
from casso_payments.orders.codes import DEFAULT_PATTERN, find_codes
from casso_payments.orders.payment_links import parse_link_key, payment_path
from local.cli.sample_events import LOCAL_SHOP_API_KEY
from local.stack.lambda_events import rest_proxy_event
from local.stack.template import api_routes, load_template
from tests.helpers import captured_handler, published_events
from tests.openapi import check_answer, operations

PAYEE = {"PAYEE_BANK_BIN": "970436", "PAYEE_ACCOUNT_NUMBER": "0123456789"}
AUTH = {"Authorization": f"Bearer {LOCAL_SHOP_API_KEY}"}
JSON = {"Content-Type": "application/json"}
ROUTES = {
    ("POST", "/orders"): "/orders",
    ("GET", "/orders"): "/orders",
    ("GET", "/orders/{code}"): "/orders/{code}",
    ("POST", "/orders/{code}/cancel"): "/orders/{code}/cancel",
}


@pytest.fixture
def api(stack, load_handler_of):
    module = load_handler_of(stack, "OrdersApiFunction", **PAYEE)
    return Api(captured_handler(module, "OrdersApiFunction"), module)


class Api:
    """Requests as API Gateway hands them to the function, answers checked against the
    OpenAPI file."""

    def __init__(self, handler: Any, module: Any) -> None:
        self.handler, self.module = handler, module

    def call(
        self,
        method: str,
        resource: str,
        *,
        code: str | None = None,
        body: Any = None,
        raw: str | None = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
    ) -> tuple[int, Any, dict[str, Any]]:
        path = resource.replace("{code}", code or "")
        text = raw if raw is not None else (json.dumps(body) if body is not None else None)
        event = rest_proxy_event(
            method,
            path,
            headers={**AUTH, **JSON} if headers is None else headers,
            body=text,
            resource=resource,
            path_parameters={"code": code} if code is not None else None,
            query={k: [v] for k, v in query.items()} if query else None,
            stage="prod",
        )
        event["requestContext"]["domainName"] = "shop.example"
        answer = self.handler(event)
        return answer["statusCode"], check_answer(method, resource, answer), answer

    def create(self, **body: Any) -> dict[str, Any]:
        status, created, _ = self.call("POST", "/orders", body=body)
        assert status == 201, created
        return created


def order_items(stack) -> list[dict[str, Any]]:
    return stack.dynamodb.scan(TableName=stack.orders_table)["Items"]


def link_key(stack) -> bytes:
    secret = stack.secretsmanager.get_secret_value(SecretId=stack.local.ref("PayLinkSecret"))
    return parse_link_key(json.loads(secret["SecretString"]))


def test_the_openapi_file_describes_exactly_the_templates_routes():
    routes = {(m, p) for m, p in api_routes(load_template(), "OrdersApiFunction")}
    assert routes == operations() == set(ROUTES)


def test_the_openapi_file_states_the_limits_the_code_keeps():
    from casso_payments.orders.model import STATUSES
    from casso_payments.shop import validation
    from tests.openapi import spec

    schemas = spec()["components"]["schemas"]
    fields = schemas["NewOrder"]["properties"]
    assert tuple(fields) == validation.CREATE_FIELDS
    assert (fields["amount"]["minimum"], fields["amount"]["maximum"]) == (1, validation.MAX_AMOUNT)
    assert fields["order_code"]["maxLength"] == validation.MAX_CODE_CHARS
    assert fields["description"]["maxLength"] == validation.MAX_DESCRIPTION_CHARS
    assert fields["notify_url"]["maxLength"] == validation.MAX_URL_CHARS
    expires = fields["expires_in_seconds"]
    assert (expires["minimum"], expires["maximum"]) == (
        validation.MIN_EXPIRES_IN,
        validation.MAX_EXPIRES_IN,
    )
    assert str(validation.MAX_METADATA_BYTES) in fields["metadata"]["description"]
    assert tuple(schemas["Status"]["enum"]) == STATUSES
    (limit,) = [p for p in spec()["paths"]["/orders"]["get"]["parameters"] if p["name"] == "limit"]
    assert (limit["schema"]["maximum"], limit["schema"]["default"]) == (
        validation.MAX_LIMIT,
        validation.DEFAULT_LIMIT,
    )


def test_a_created_order_has_what_a_shop_shows_its_buyer(api, stack):
    status, body, answer = api.call(
        "POST",
        "/orders",
        body={
            "amount": 250_000,
            "order_code": "dh-0042",
            "description": "2 cà phê",
            "metadata": {"cart": [1, 2.5], "note": "giao nhanh"},
            "notify_url": "https://shop.example/hooks/casso",
            "expires_in_seconds": 900,
        },
    )
    assert status == 201
    assert answer["headers"]["Location"] == "/orders/DH42"
    assert (body["order_code"], body["amount"], body["status"]) == ("DH42", 250_000, "PENDING")
    assert (body["amount_paid"], body["amount_remaining"]) == (0, 250_000)
    assert body["transfer_content"] == "DH42"
    assert find_codes(body["transfer_content"], DEFAULT_PATTERN) == ["DH42"]
    fields = vietqr.parse(body["vietqr"])
    assert (fields["amount"], fields["description"]) == (250_000, "DH42")
    assert body["payment_url"] == "https://shop.example/prod" + payment_path(
        link_key(stack), "DH42"
    )
    assert body["metadata"] == {"cart": [1, 2.5], "note": "giao nhanh"}
    assert (body["description"], body["notify_url"]) == (
        "2 cà phê",
        "https://shop.example/hooks/casso",
    )
    assert body["expires_at"] > body["created_at"]
    # Any spelling reads it, with the transfers on it.
    status, read, _ = api.call("GET", "/orders/{code}", code="dh.42")
    assert status == 200
    assert {k: v for k, v in read.items() if k in body} == body
    assert (read["payments"], read["refunds"], read["late_payments"]) == ([], [], [])
    # The notifier reads where the shop wants its webhooks from the order.
    assert stack.orders.get("DH42").notify_url == "https://shop.example/hooks/casso"


def test_without_a_code_the_server_picks_one_a_transfer_keeps_intact(api, stack):
    codes = {api.create(amount=10_000)["order_code"] for _ in range(3)}
    assert len(codes) == 3
    for code in codes:
        assert re.fullmatch(r"DH[1-9][0-9]{7}", code)
        assert find_codes(f"MBVCB.3278841.{code}.CT tu 0123", DEFAULT_PATTERN) == [code]
        assert stack.orders.get(code) is not None


def test_a_code_that_exists_in_any_spelling_is_a_conflict(api, stack):
    api.create(amount=1_000, order_code="DH78")
    status, problem, _ = api.call("POST", "/orders", body={"amount": 5, "order_code": "dh-0078"})
    assert (status, problem["title"]) == (409, "Order exists")
    assert stack.orders.get("DH78").expected_amount == 1_000


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "200000"}, "amount"),
        ({"amount": 1.5}, "amount"),
        ({"amount": 200000.0}, "amount"),
        ({"amount": 0}, "amount"),
        ({"amount": -5}, "amount"),
        ({"amount": 10**13}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": None}, "amount"),
        ({}, "amount"),
        ({"amount": 1, "order_code": ""}, "order_code"),
        ({"amount": 1, "order_code": "!!!"}, "order_code"),
        ({"amount": 1, "order_code": "DH٣"}, "order_code"),
        ({"amount": 1, "order_code": "DH" + "1" * 24}, "order_code"),
        ({"amount": 1, "order_code": "X" * 65}, "order_code"),
        ({"amount": 1, "order_code": "ABC123"}, "order_code"),  # the pattern can't find it
        ({"amount": 1, "order_code": 35}, "order_code"),
        ({"amount": 1, "metadata": {"blob": "x" * 2100}}, "metadata"),
        ({"amount": 1, "metadata": ["not", "an", "object"]}, "metadata"),
        ({"amount": 1, "notify_url": "ftp://shop.example/x"}, "notify_url"),
        ({"amount": 1, "notify_url": "not a url"}, "notify_url"),
        # The SSRF guard's set-time half: https, and no address a stranger mustn't reach.
        ({"amount": 1, "notify_url": "http://shop.example/hooks"}, "notify_url"),
        ({"amount": 1, "notify_url": "https://169.254.169.254/latest"}, "notify_url"),
        ({"amount": 1, "notify_url": "https://10.0.0.7/hooks"}, "notify_url"),
        ({"amount": 1, "notify_url": "https://127.0.0.1:8443/hooks"}, "notify_url"),
        ({"amount": 1, "notify_url": "https://localhost/hooks"}, "notify_url"),
        ({"amount": 1, "notify_url": "https://user:pw@shop.example/hooks"}, "notify_url"),
        ({"amount": 1, "expires_in_seconds": 0}, "expires_in_seconds"),
        ({"amount": 1, "description": "x" * 256}, "description"),
        ({"amount": 1, "currency": "VND"}, "currency"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(api, stack, body, field):
    status, problem, answer = api.call("POST", "/orders", body=body)
    assert status == 400
    assert answer["headers"]["Content-Type"] == "application/problem+json"
    assert field in [e["field"] for e in problem["errors"]]
    assert order_items(stack) == []


@pytest.mark.parametrize(
    ("raw", "headers", "status"),
    [
        ("[1, 2]", None, 400),
        ('"text"', None, 400),
        ("{not json", None, 400),
        ('{"amount": NaN}', None, 400),
        ('{"amount": 1, "description": "\\ud800"}', None, 400),
        ('{"amount": 1, "metadata": {"k": "\\udfff"}}', None, 400),
        ("", None, 400),
        ('{"amount": 1}', {**AUTH, "Content-Type": "text/plain"}, 415),
        ('{"amount": 1}', {**AUTH, "Content-Type": "application/x-www-form-urlencoded"}, 415),
        ('{"amount": 1}', AUTH, 415),
        ('{"amount": 1, "description": "' + "x" * 20_000 + '"}', None, 413),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused(api, stack, raw, headers, status):
    answer_status, problem, _ = api.call("POST", "/orders", raw=raw, headers=headers)
    assert (answer_status, problem["status"]) == (status, status)
    assert order_items(stack) == []


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer wrong-key",
        f"Basic {LOCAL_SHOP_API_KEY}",
        LOCAL_SHOP_API_KEY,
        f"Bearer {LOCAL_SHOP_API_KEY}x",
    ],
)
def test_a_stranger_gets_401_and_changes_nothing(api, stack, authorization):
    headers = {**JSON, **({"Authorization": authorization} if authorization is not None else {})}
    for method, resource in ROUTES:
        status, problem, answer = api.call(
            method, resource, code="DH1", body={"amount": 1}, headers=headers
        )
        assert (status, problem["title"]) == (401, "Unauthorized")
        assert answer["headers"]["WWW-Authenticate"].startswith("Bearer")
    assert order_items(stack) == []


def test_while_secrets_manager_fails_the_shop_gets_in_and_a_stranger_does_not(api, stack):
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    api.create(amount=1_000, order_code="DH1")  # the keys were read once

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise GetParameterError("Secrets Manager is down")

    provider = api.module.deps.api_keys._provider
    provider.get = fail
    api.module.deps.api_keys._max_age = 0
    status, _, _ = api.call("GET", "/orders/{code}", code="DH1", headers={**AUTH, **JSON})
    assert status == 200
    status, _, _ = api.call(
        "POST", "/orders", body={"amount": 1}, headers={"Authorization": "Bearer nope", **JSON}
    )
    assert status == 401


def test_before_any_key_was_read_a_secrets_manager_failure_is_503_not_a_pass(api, stack):
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise GetParameterError("throttled")

    api.module.deps.api_keys._provider.get = fail
    status, problem, _ = api.call("POST", "/orders", body={"amount": 1})
    assert (status, problem["title"]) == (503, "Unavailable")
    assert order_items(stack) == []


def test_an_idempotency_key_makes_one_order_and_another_body_is_a_conflict(api, stack):
    key = {**AUTH, **JSON, "Idempotency-Key": "order-7f3a"}
    first = api.call("POST", "/orders", body={"amount": 9_000, "metadata": {"a": 1}}, headers=key)
    again = api.call("POST", "/orders", raw='{"metadata": {"a": 1},  "amount": 9000}', headers=key)
    assert (first[0], again[0]) == (201, 201)
    assert again[1] == first[1]
    assert len(order_items(stack)) == 1
    status, problem, _ = api.call("POST", "/orders", body={"amount": 9_001}, headers=key)
    assert (status, problem["title"]) == (409, "Idempotency key reused")
    assert len(order_items(stack)) == 1
    # A create that failed leaves no record: corrected, the same key works.
    bad = {**AUTH, **JSON, "Idempotency-Key": "order-8"}
    assert api.call("POST", "/orders", body={"amount": 0}, headers=bad)[0] == 400
    api.create(amount=1, order_code="DH5")
    conflict = api.call("POST", "/orders", body={"amount": 2, "order_code": "DH5"}, headers=bad)
    assert conflict[0] == 409
    assert (
        api.call("POST", "/orders", body={"amount": 2, "order_code": "DH6"}, headers=bad)[0] == 201
    )


def test_orders_are_listed_newest_first_by_cursor_from_the_index(api, stack, monkeypatch):
    codes = [api.create(amount=n * 1_000, order_code=f"DH{n}")["order_code"] for n in range(1, 6)]
    api.call("POST", "/orders/{code}/cancel", code="DH2")
    calls: list[str] = []
    client = api.module.deps.orders.table.dynamodb
    original = client._make_api_call

    def counted(operation: str, params: dict) -> Any:
        calls.append(operation)
        return original(operation, params)

    monkeypatch.setattr(client, "_make_api_call", counted)
    seen, cursor = [], None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        status, page, _ = api.call("GET", "/orders", query=query)
        assert status == 200
        assert len(page["orders"]) <= 2
        seen += [o["order_code"] for o in page["orders"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(codes))
    assert "Scan" not in calls
    assert "Query" in calls
    _, cancelled, _ = api.call("GET", "/orders", query={"status": "CANCELLED"})
    assert [o["order_code"] for o in cancelled["orders"]] == ["DH2"]
    created = stack.orders.get("DH3").created_at
    _, newer, _ = api.call("GET", "/orders", query={"created_after": created})
    assert [o["order_code"] for o in newer["orders"]] == ["DH5", "DH4"]


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "ten"},
        {"status": "LOST"},
        {"created_after": "yesterday"},
        {"created_after": ""},
        {"status": ""},
        {"limit": ""},
        {"created_after": "2026-11-21T12:00:00"},
        {"cursor": "not-a-cursor"},
    ],
)
def test_a_bad_list_query_is_a_400(api, query):
    status, problem, _ = api.call("GET", "/orders", query=query)
    assert status == 400
    assert problem["errors"][0]["field"].startswith("query.")


def test_cancel_closes_an_open_order_once_and_a_later_transfer_is_kept_not_paid(api, stack):
    from casso_payments.processor.process import process
    from tests.unit.test_processing import NOW, record

    api.create(amount=200_000, order_code="DH90")
    status, body, _ = api.call("POST", "/orders/{code}/cancel", code="dh-90")
    assert (status, body["status"], body["vietqr"], body["amount_remaining"]) == (
        200,
        "CANCELLED",
        None,
        200_000,
    )
    again = api.call("POST", "/orders/{code}/cancel", code="DH90")
    assert (again[0], again[1]["status"]) == (200, "CANCELLED")
    published = published_events(stack.sqs, stack.events_tap_url)
    assert [(t, d["order_code"], d["status"]) for t, d in published] == [
        ("Order Cancelled", "DH90", "CANCELLED")
    ]
    record(stack, 901, 200_000, "DH90 thanh toan")
    done = process(901, stack.processor_deps(), now=NOW)
    assert done.outcome == "late"
    _, read, _ = api.call("GET", "/orders/{code}", code="DH90")
    assert (read["status"], read["amount_paid"], read["payments"]) == ("CANCELLED", 0, [])
    assert [(t["transaction_id"], t["amount"]) for t in read["late_payments"]] == [(901, 200_000)]
    late = [d for t, d in published_events(stack.sqs, stack.events_tap_url) if t == "Late Payment"]
    assert [(d["order_code"], d["status"]) for d in late] == [("DH90", "CANCELLED")]


def test_only_an_open_order_can_be_cancelled(api, stack):
    from casso_payments.processor.process import process
    from tests.unit.test_processing import record

    api.create(amount=1_000, order_code="DH91")
    record(stack, 911, 1_000, "DH91")
    process(911, stack.processor_deps(), now=stack_now())
    status, problem, _ = api.call("POST", "/orders/{code}/cancel", code="DH91")
    assert (status, problem["title"]) == (409, "Order not open")
    _, read, _ = api.call("GET", "/orders/{code}", code="DH91")
    assert read["status"] == "PAID"
    assert [(p["transaction_id"], p["source"]) for p in read["payments"]] == [(911, "webhook-v1")]
    assert api.call("POST", "/orders/{code}/cancel", code="DH404")[0] == 404
    assert api.call("GET", "/orders/{code}", code="DH404")[0] == 404
    assert api.call("GET", "/orders/{code}", code="!!!")[0] == 404


def stack_now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)
