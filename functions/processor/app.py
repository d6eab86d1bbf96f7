"""ProcessorFunction: SQS batch of transaction ids -> orders settled, events published.

Thin by design: `sqs_batch.process_batch` reports each failed record on its own (the rest
of the batch is done and deleted); Powertools' Idempotency keeps two concurrent deliveries
of one transaction from being worked at the same time; `processor.process` does the work.
A record waiting for Casso to confirm it backs off on its message's visibility.
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
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.serialization.dataclass import (
    DataclassSerializer,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from casso_payments.aws.bus import Bus
from casso_payments.aws.queue import TransactionMessage
from casso_payments.aws.sqs_batch import (
    PartialBatchResponse,
    SQSRecord,
    process_batch,
    receive_count,
)
from casso_payments.chain.repository import BalanceChain
from casso_payments.ledger.repository import Ledger
from casso_payments.orders.repository import Orders
from casso_payments.processor.confirmation import ConfirmationUnavailable, casso_lookup
from casso_payments.processor.deps import ProcessorDeps
from casso_payments.processor.process import IdempotentResult, process
from casso_payments.processor.versions import resolve
from casso_payments.settings.processor import ProcessorSettings

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient

logger = Logger()
# Patch only what this function calls through: patching everything X-Ray knows imports
# libraries it never uses, at every cold start (the receiver: 8.5 instead of 30 ms of CPU,
# docs/benchmarks.md).
tracer = Tracer(patch_modules=("boto3",))
metrics = Metrics()

# Built once per execution environment and reused by every invocation.
settings = ProcessorSettings.from_env()
dynamodb = boto3.client("dynamodb")
events = boto3.client("events")


# Secrets Manager, SQS and the Casso client are made only when a record needs them (a
# confirmation, a back-off), so the cold start of every other invocation doesn't pay.
@cache
def _secretsmanager() -> SecretsManagerClient:
    return boto3.client("secretsmanager")


@cache
def _sqs() -> SQSClient:
    return boto3.client("sqs")


deps = ProcessorDeps(
    ledger=Ledger(dynamodb, settings.ledger_table_name),
    orders=Orders(dynamodb, settings.orders_table_name),
    bus=Bus(lambda: events, settings.event_bus_name),
    settings=settings,
    casso=casso_lookup(
        _secretsmanager,
        settings.casso_api_key_secret_id,
        settings.casso_api_base_url,
    ),
    chain=(
        BalanceChain(dynamodb, settings.balance_chain_table_name)
        if settings.balance_chain_table_name
        else None
    ),
)
# Seconds a record waiting for Casso stays invisible, by receive: 1 min, 2, 4, ... 15 max.
CONFIRMATION_BACKOFF_SECONDS = (60, 120, 240, 480, 900)
idempotency = IdempotencyConfig(
    # Over the message's fields (Powertools turns the dataclass into a dict of them). A replay
    # (docs/operations.md) carries a new number, so it is worked again; a version to resolve
    # (processor.versions) its key, and any other message keeps the key it always had.
    event_key_jmespath="version && [transaction_id, replay, version] || [transaction_id, replay]",
    # Long enough to cover SQS redeliveries; after that the ledger's PROCESSED status skips.
    expires_after_seconds=3600,
    raise_on_no_idempotency_key=True,
)
persistence = DynamoDBPersistenceLayer(
    table_name=settings.idempotency_table_name, boto3_client=dynamodb
)


@idempotent_function(
    data_keyword_argument="message",
    config=idempotency,
    persistence_store=persistence,
    # Stored as {"outcome", "order_code"}, as before the record had a type of its own.
    output_serializer=DataclassSerializer(IdempotentResult),
)
def process_once(message: TransactionMessage) -> IdempotentResult:
    now = datetime.now(UTC)
    if message.version:
        done = resolve(message.transaction_id, message.version, deps, now=now)
    else:
        done = process(message.transaction_id, deps, now=now)
    effect = done.effect
    logger.info(
        f"transaction {effect.outcome.value}",
        extra={
            "transaction_id": done.transaction_id,
            "order_code": effect.order_code,
            "order_status": effect.order.status if effect.order else None,
            "applied": effect.applied,
            "events": list(done.events),
            "confirmation": effect.confirmation,
            "reason": effect.reason,
        },
    )
    metrics.add_metric(name=effect.outcome.metric, unit=MetricUnit.Count, value=1)
    return IdempotentResult(effect.outcome.value, effect.order_code)


@tracer.capture_method
def record_handler(record: SQSRecord) -> IdempotentResult:
    receives = receive_count(record)
    try:
        message = TransactionMessage.from_json(record["body"])
        logger.set_correlation_id(str(message.transaction_id))
        result: IdempotentResult = process_once(message=message)
        return result
    except ConfirmationUnavailable as error:
        # Not settled, not refused: Casso can't answer now. Wait longer after each receive;
        # the queue-age alarm shows payments that keep waiting.
        delay = CONFIRMATION_BACKOFF_SECONDS[min(receives, len(CONFIRMATION_BACKOFF_SECONDS)) - 1]
        logger.warning(
            "transaction waits for Casso to confirm it; retried later",
            extra={"receive_count": receives, "retry_in_seconds": delay, "reason": str(error)},
        )
        metrics.add_metric(name="ConfirmationsDeferred", unit=MetricUnit.Count, value=1)
        _back_off(record, delay)
        raise
    except Exception as error:
        # Logged here with its reason: after MaxReceiveCount receives the message moves to
        # the dead-letter queue, and this line says why.
        logger.exception(
            "record failed; it will be retried, then dead-lettered",
            extra={
                "message_id": record["messageId"],
                "receive_count": receives,
                "reason": f"{type(error).__name__}: {error}",
            },
        )
        metrics.add_metric(name="RecordFailures", unit=MetricUnit.Count, value=1)
        raise


def _back_off(record: SQSRecord, seconds: int) -> None:
    if not settings.transaction_queue_url:
        return
    try:
        _sqs().change_message_visibility(
            QueueUrl=settings.transaction_queue_url,
            ReceiptHandle=record["receiptHandle"],
            VisibilityTimeout=seconds,
        )
    except Exception:  # the record still fails and comes back after the queue's timeout
        logger.exception("could not delay the record's next attempt")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialBatchResponse:
    idempotency.register_lambda_context(context)
    return process_batch(event, record_handler)


cold_start.set_up_done()  # the last line of set-up: freeze what it made, collect again
