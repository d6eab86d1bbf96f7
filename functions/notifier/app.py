"""NotifierFunction: order events (and due retries) off NotificationQueue -> a signed
Standard Webhooks POST to the shop, and a line to its staff on Telegram.

Thin by design: `notify.deliver.handle` works each message (attempt, log, retry or
dead-letter); a message fails only if AWS did (the log or the queue), and then SQS brings it
back and, after its maximum receives, dead-letters it (docs/notifications.md).
"""

from __future__ import annotations

# First: it pauses garbage collection until set_up_done() below (why: cold_start's docstring).
from casso_payments import cold_start  # isort: skip

from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.typing import LambdaContext

from casso_payments.aws.secrets import SecretStore
from casso_payments.aws.sqs_batch import PartialBatchResponse, SQSRecord, process_batch
from casso_payments.notify.deliver import NotifierDeps, handle
from casso_payments.notify.log import DELIVERED, FAILED, REFUSED, RETRYING, STOPPED, NotificationLog
from casso_payments.notify.message import NotificationQueue
from casso_payments.notify.signing import parse_signing_secret, parse_telegram_secret
from casso_payments.notify.url_guard import check_url_shape
from casso_payments.orders.repository import Orders
from casso_payments.settings.notifier import NotifierSettings

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

logger = Logger()
tracer = Tracer(patch_modules=("boto3",))
metrics = Metrics()

settings = NotifierSettings.from_env()
if settings.notify_url:  # a NotifyUrl that can never be called fails the cold start
    check_url_shape(settings.notify_url, allow_loopback=settings.allow_loopback)
dynamodb = boto3.client("dynamodb")
secrets = SecretsProvider(boto3_client=boto3.client("secretsmanager"))
signing = SecretStore(
    secrets, settings.notify_secret_id, parse_signing_secret, what="notify secret"
)
telegram = (
    SecretStore(secrets, settings.telegram_secret_id, parse_telegram_secret, what="telegram secret")
    if settings.telegram_secret_id and settings.telegram_chat_id
    else None
)
orders = Orders(dynamodb, settings.orders_table_name)


# Made only when a notification must wait for a retry (or is dead-lettered).
@cache
def _sqs() -> SQSClient:
    return boto3.client("sqs")


def order_url(order_code: str) -> str | None:
    order = orders.get(order_code)
    return order.notify_url if order else None


deps = NotifierDeps(
    settings=settings,
    log=NotificationLog(dynamodb, settings.notifications_table_name, keep_days=settings.keep_days),
    queue=NotificationQueue(
        _sqs, settings.notification_queue_url, settings.notification_dead_letter_queue_url
    ),
    signing_keys=signing.get,
    telegram_token=telegram.get if telegram else str,
    order_url=order_url,
)
# Outcome -> metric: NotificationsFailed is what the "deliveries failing" alarm watches.
METRICS = {
    DELIVERED: "NotificationsDelivered",
    RETRYING: "NotificationAttemptsFailed",
    FAILED: "NotificationsFailed",
    STOPPED: "NotificationsStopped",
    REFUSED: "NotificationsFailed",
}


@tracer.capture_method
def record_handler(record: SQSRecord) -> list[str]:
    try:
        outcomes = handle(record["body"], deps, datetime.now(UTC))
    except Exception as error:
        # The message comes back (SQS), and after its maximum receives it is dead-lettered.
        logger.exception(
            "notification message failed; it will be retried, then dead-lettered",
            extra={"message_id": record["messageId"], "reason": f"{type(error).__name__}"},
        )
        metrics.add_metric(name="NotificationMessageFailures", unit=MetricUnit.Count, value=1)
        raise
    for outcome in outcomes:
        if outcome in METRICS:
            metrics.add_metric(name=METRICS[outcome], unit=MetricUnit.Count, value=1)
    logger.info("notification message worked", extra={"outcomes": outcomes})
    return outcomes


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialBatchResponse:
    return process_batch(event, record_handler)


cold_start.set_up_done()  # the last line of set-up: freeze what it made, collect again
