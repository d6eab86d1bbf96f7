"""OrdersApiFunction: the shop's orders API (POST/GET /orders, GET /orders/{code},
POST /orders/{code}/cancel), docs/shop-api.md.

Thin: build the clients and stores once, hand each request to the layer's `shop.api`,
emit one log line and a metric. It routes by hand (`shop.api.ROUTES`) rather than through
Powertools' REST resolver, whose import loads every resolver and event class (the
receiver's docstring says what that costs a cold start).
"""

from __future__ import annotations

# First: it pauses garbage collection until set_up_done() below (why: cold_start's docstring).
from casso_payments import cold_start  # isort: skip

from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.typing import LambdaContext

from casso_payments.aws.bus import Bus
from casso_payments.aws.secrets import SecretStore
from casso_payments.orders.payment_links import parse_link_key
from casso_payments.orders.repository import Orders
from casso_payments.settings.orders_api import OrdersApiSettings
from casso_payments.shop.api import ShopDeps, handle
from casso_payments.shop.auth import parse_api_keys
from casso_payments.shop.idempotency import Idempotency
from casso_payments.shop.problems import Problem, problem_answer

logger = Logger()
tracer = Tracer(patch_modules=("boto3",))
metrics = Metrics()

settings = OrdersApiSettings.from_env()
dynamodb = boto3.client("dynamodb")
secrets = SecretsProvider(boto3_client=boto3.client("secretsmanager"))
deps = ShopDeps(
    orders=Orders(dynamodb, settings.orders_table_name),
    bus=Bus(lambda: boto3.client("events"), settings.event_bus_name),
    api_keys=SecretStore(
        secrets, settings.shop_api_key_secret_id, parse_api_keys, what="shop API keys"
    ),
    link_key=SecretStore(
        secrets, settings.pay_link_secret_id, parse_link_key, what="payment-link key"
    ),
    idempotency=Idempotency(dynamodb, settings.idempotency_table_name),
    settings=settings,
)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps.idempotency.bind(context)
    try:
        result = handle(event, deps, now=datetime.now(UTC))
    except Exception:
        # A bug or AWS failing, not bad input: the shop may retry (with its Idempotency-Key).
        logger.exception("unexpected error answering an orders API request")
        metrics.add_metric(name="UnexpectedErrors", unit=MetricUnit.Count, value=1)
        result = problem_answer(Problem(500, "Internal error", "try again"))
    status = int(result["statusCode"])
    if status == 401:
        metrics.add_metric(name="ShopApiUnauthorized", unit=MetricUnit.Count, value=1)
    identity = (event.get("requestContext") or {}).get("identity") or {}
    log = logger.info if status < 500 else logger.error
    log(
        "orders api request",
        extra={
            "method": event.get("httpMethod"),
            "route": event.get("resource"),
            "status": status,
            "source_ip": identity.get("sourceIp"),
        },
    )
    return result


cold_start.set_up_done()  # the last line of set-up: freeze what it made, collect again
