"""ReconcilerFunction: on a schedule, keep Casso's webhook right and backfill what was missed.

Thin by design: `reconcile.run` does the steps; this gives the run its deadline (the
invocation's remaining time, less RESERVE_SECONDS to report), reports the run as metrics and
one structured log line, and fails the invocation when any step failed.

EventBridge Scheduler invokes this function asynchronously: the schedule's retry policy and
dead-letter queue cover only failures to start an invocation. A failed run (the error raised
here) is handled by the function's own asynchronous-invocation settings in template.yaml
(one retry, events no older than one schedule period, then the failed-runs queue, which has
an alarm), and counted in ReconcileFailures (ReconcilerFailedAlarm).
"""

from __future__ import annotations

# First: it pauses garbage collection until set_up_done() below (why: cold_start's docstring).
from casso_payments import cold_start  # isort: skip

from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.typing import LambdaContext

from casso_payments.aws.deadline import Deadline
from casso_payments.reconciler.deps import build_deps
from casso_payments.reconciler.run import run
from casso_payments.settings.reconciler import ReconcilerSettings

logger = Logger()
# Patch only what this function calls through: patching everything X-Ray knows imports
# libraries it never uses, at every cold start (the receiver: 8.5 instead of 30 ms of CPU,
# docs/benchmarks.md).
tracer = Tracer(patch_modules=("boto3", "requests"))
metrics = Metrics()


class ReconcileFailed(RuntimeError):
    """At least one step failed; the summary log line says which and why."""


# Built once per execution environment and reused by every invocation.
settings = ReconcilerSettings.from_env()
# The SQS and EventBridge clients are made when a run first queues or publishes something,
# which most runs don't, so their cold start doesn't pay for them.
deps = build_deps(
    settings,
    dynamodb=boto3.client("dynamodb"),
    sqs=lambda: boto3.client("sqs"),
    secrets=SecretsProvider(boto3_client=boto3.client("secretsmanager")),
    events=lambda: boto3.client("events"),
)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deadline = Deadline.from_context(context, reserve_seconds=settings.reserve_seconds)
    report = run(deps, now=datetime.now(UTC), deadline=deadline)
    for name, value in report.metrics().items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    summary = report.summary()
    if not report.ok:
        logger.error("reconcile run failed", extra=summary)
        failed = [
            f"{name}: {step['error']}"
            for name, step in summary.items()
            if isinstance(step, dict) and step.get("ok") is False
        ]
        raise ReconcileFailed("; ".join(failed))
    if report.skipped:
        logger.warning("reconcile run skipped", extra=summary)
        return summary
    logger.info("reconcile run", extra=summary)
    return summary


cold_start.set_up_done()  # the last line of set-up: freeze what it made, collect again
