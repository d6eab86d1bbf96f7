"""The local HTTP front routes a request as API Gateway does: by method and resource path."""

from __future__ import annotations

from typing import Any

import requests

from local.stack.http_front import HttpFront, Route, match


def test_a_resource_matches_one_segment_per_parameter() -> None:
    assert match("/orders/{code}", "/orders/DH35") == {"code": "DH35"}
    assert match("/orders/{code}/cancel", "/orders/DH35/cancel") == {"code": "DH35"}
    assert match("/orders", "/orders") == {}
    assert match("/orders/{code}", "/orders/DH35/cancel") is None
    assert match("/orders/{code}", "/orders/") is None


def test_each_route_gets_its_event_and_the_rest_the_default_handler() -> None:
    seen: list[tuple[str, dict[str, Any]]] = []

    def handler(name: str) -> Any:
        def handle(event: dict[str, Any]) -> dict[str, Any]:
            seen.append((name, event))
            return {"statusCode": 200, "body": name}

        return handle

    front = HttpFront(
        handler("default"),
        routes=[
            Route("GET", "/orders/{code}", handler("get")),
            Route("POST", "/orders", handler("create")),
        ],
    ).start()
    try:
        assert requests.get(front.url("/orders/DH35?x=1&x=2"), timeout=10).text == "get"
        assert requests.post(front.url("/orders"), timeout=10).text == "create"
        assert requests.post(front.url("/casso/webhook"), timeout=10).text == "default"
    finally:
        front.stop()
    get_event = seen[0][1]
    assert get_event["resource"] == "/orders/{code}"
    assert get_event["pathParameters"] == {"code": "DH35"}
    assert get_event["queryStringParameters"] == {"x": "2"}
    assert get_event["multiValueQueryStringParameters"] == {"x": ["1", "2"]}
    assert seen[2][1]["pathParameters"] is None
    # Links a function makes (the orders API's payment_url) come from where it was called.
    assert get_event["requestContext"]["domainName"] == f"127.0.0.1:{front.port}"
    assert get_event["headers"]["X-Forwarded-Proto"] == "http"
    # The front's counters are the webhook's (the default handler's) answers only.
    assert front.answers == {200: 1}


def test_the_receivers_route_comes_from_the_template() -> None:
    from local.stack.template import api_routes, load_template

    assert api_routes(load_template(), "ReceiverFunction") == [("POST", "/casso/webhook")]
