"""PayPageFunction: API Gateway GET /pay/{code} (the buyer's page) and GET /pay/{code}/status
(its JSON, polled by the page) -> one order read, rendered.

Thin by design: the event to a `PageRequest`, the layer's `pages.serve` decides, one log
line and a metric out. Routed by hand, like the receiver, to keep Powertools' resolvers out
of the cold start. The link's token is never logged.
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

from casso_payments.aws.secrets import SecretStore
from casso_payments.orders.payment_links import parse_link_key
from casso_payments.orders.repository import Orders
from casso_payments.pages.serve import Answer, PageDeps, PageRequest, answer
from casso_payments.settings.pay_page import PayPageSettings

PAGE_RESOURCE = "/pay/{code}"
STATUS_RESOURCE = "/pay/{code}/status"

logger = Logger()
tracer = Tracer(patch_modules=("boto3",))
metrics = Metrics()

settings = PayPageSettings.from_env()
link_key = SecretStore(
    SecretsProvider(boto3_client=boto3.client("secretsmanager")),
    settings.pay_link_secret_id,
    parse_link_key,
    what="PayLinkSecret",
)
deps = PageDeps(
    orders=Orders(boto3.client("dynamodb"), settings.orders_table_name),
    link_key=link_key.get,
    payee=settings.payee,
    clock=lambda: datetime.now(UTC),
)


def page_request(event: dict[str, Any]) -> PageRequest | None:
    """The request in an API Gateway event, or None for a route this function doesn't serve."""
    resource = event.get("resource")
    if event.get("httpMethod") != "GET" or resource not in (PAGE_RESOURCE, STATUS_RESOURCE):
        return None
    query = event.get("queryStringParameters") or {}
    return PageRequest(
        code=str((event.get("pathParameters") or {}).get("code") or ""),
        token=str(query.get("t") or ""),
        lang=query.get("lang"),
        status=resource == STATUS_RESOURCE,
    )


def proxy_result(result: Answer) -> dict[str, Any]:
    return {
        "statusCode": result.status,
        "headers": result.headers,
        "body": result.body,
        "isBase64Encoded": False,
    }


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = page_request(event)
    if request is None:
        return {"statusCode": 404, "headers": {"Content-Type": "text/plain"}, "body": "no route"}
    try:
        result = answer(request, deps)
    except Exception:
        # A bug or AWS failing: the buyer may reload; nothing was changed.
        logger.exception("unexpected error serving a payment page")
        metrics.add_metric(name="UnexpectedErrors", unit=MetricUnit.Count, value=1)
        return {"statusCode": 500, "headers": {"Content-Type": "text/plain"}, "body": "error"}
    # The code as given, never the token (it opens the page).
    logger.info(
        f"pay page {result.outcome}",
        extra={"status": result.status, "json": request.status, "order_code": request.code[:64]},
    )
    return proxy_result(result)


cold_start.set_up_done()  # the last line of set-up: freeze what it made, collect again
