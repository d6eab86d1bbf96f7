"""ReceiverFunction: API Gateway POST /casso/webhook -> ledger + queue.

Thin by design: turn the API Gateway event into a `Delivery`, let the layer's `intake`
decide, emit metrics and one log line, shape the HTTP answer.

It serves one route, so it routes by hand instead of through Powertools' REST resolver:
importing `aws_lambda_powertools.event_handler` loads every resolver (AppSync, Bedrock, VPC
Lattice, OpenAPI) and every event data class, about 8% of a cold start's CPU (docs/benchmarks.md,
"Cold start"). Logs, metrics and traces are still Powertools'.
"""

from __future__ import annotations

# First: it pauses garbage collection until set_up_done() below (why: cold_start's docstring).
from casso_payments import cold_start  # isort: skip

import base64
import json
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from casso_payments.aws.queue import TransactionQueue
from casso_payments.casso.credentials import CredentialStore
from casso_payments.ledger.repository import Ledger
from casso_payments.receiver.intake import Delivery, IntakeDeps, receive
from casso_payments.receiver.recording import WRITE_CONCURRENCY
from casso_payments.settings.receiver import ReceiverSettings

WEBHOOK_PATH = "/casso/webhook"
LONE_SURROGATE = re.compile("[\ud800-\udfff]")

logger = Logger()
# Patch only what this function calls through: patching everything X-Ray knows imports
# libraries it never uses, at every cold start (the receiver: 8.5 instead of 30 ms of CPU,
# docs/benchmarks.md).
tracer = Tracer(patch_modules=("boto3",))
metrics = Metrics()

# Built once per execution environment and reused by every invocation. A large delivery's
# writes and sends run WRITE_CONCURRENCY at a time: one pooled connection each.
settings = ReceiverSettings.from_env()
pool = Config(max_pool_connections=WRITE_CONCURRENCY)
sqs = boto3.client("sqs", config=pool)
deps = IntakeDeps(
    ledger=Ledger(boto3.client("dynamodb", config=pool), settings.ledger_table_name),
    queue=TransactionQueue(lambda: sqs, settings.transaction_queue_url),
    credentials=CredentialStore(
        SecretsProvider(boto3_client=boto3.client("secretsmanager")),
        settings.webhook_secret_id,
        max_age=settings.credentials_cache_seconds,
    ),
    settings=settings,
    executor=ThreadPoolExecutor(max_workers=WRITE_CONCURRENCY, thread_name_prefix="intake"),
)


def body_text(event: dict[str, Any]) -> str:
    """The body as text. One that claims base64 but isn't (or isn't UTF-8) stays as received:
    it won't parse, so an authenticated one is quarantined whole rather than failing."""
    raw = valid_text(event.get("body") or "")
    if not event.get("isBase64Encoded"):
        return raw
    try:
        return base64.b64decode(raw, validate=True).decode("utf-8")
    # binascii.Error and UnicodeDecodeError are ValueErrors, and so is a non-ASCII str.
    except ValueError:
        return raw


def valid_text(text: str) -> str:
    """`text` with any lone surrogate (a JSON event can carry "\\ud800") replaced: such text
    can't be encoded, measured, hashed or stored, and must still be quarantined whole."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return LONE_SURROGATE.sub("\ufffd", text)
    return text


def answer_json(status: int, body: dict[str, Any]) -> dict[str, Any]:
    """An API Gateway proxy result, as Powertools' resolver shapes one."""
    return {
        "statusCode": status,
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "body": json.dumps(body, separators=(",", ":")),
        "isBase64Encoded": False,
    }


@tracer.capture_method
def casso_webhook(event: dict[str, Any]) -> dict[str, Any]:
    delivery = Delivery(
        headers=event.get("headers") or {}, body=body_text(event), received_at=datetime.now(UTC)
    )
    answer = receive(delivery, deps)

    # A second dimension set: each metric counts once under `service` alone (the total the
    # alarms read) and once per Generation (v1, v2, unknown), in the same EMF line.
    metrics.add_dimensions(Generation=answer.generation)
    # ConflictingDeliveries with every delivery, zero included: its alarm's metric exists
    # from the first delivery on.
    for name, value in ({"ConflictingDeliveries": 0} | answer.metrics()).items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    if answer.new or answer.duplicates:
        logger.set_correlation_id(str((answer.new or answer.duplicates)[0]))
    identity = (event.get("requestContext") or {}).get("identity") or {}
    log = logger.info if answer.status < 400 else logger.warning
    log = logger.error if answer.status >= 500 else log
    log(
        f"delivery {answer.outcome}",
        extra={
            "status": answer.status,
            "generation": answer.generation,
            "new": list(answer.new),
            "duplicates": list(answer.duplicates),
            "requeued": list(answer.requeued),
            "conflicts": list(answer.conflicts),
            "versions": list(answer.versions),
            "test_calls": answer.test_calls,
            "reason": answer.logged_reason,
            "error": answer.error,
            "source_ip": identity.get("sourceIp"),
        },
    )
    return answer_json(answer.status, answer.body)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if (event.get("httpMethod"), event.get("path")) != ("POST", WEBHOOK_PATH):
        return answer_json(
            404, {"success": False, "error": f"no route; Casso posts to {WEBHOOK_PATH}"}
        )
    try:
        return casso_webhook(event)
    except Exception:
        # A bug, not bad input: answer 500 so Casso retries after the fix is deployed.
        logger.exception("unexpected error handling a delivery")
        metrics.add_metric(name="UnexpectedErrors", unit=MetricUnit.Count, value=1)
        return answer_json(500, {"success": False, "error": "internal error"})


cold_start.set_up_done()  # the last line of set-up: freeze what it made, collect again
