"""The receiver's logic: authenticate, parse, record in the ledger, enqueue, answer.

Plain data in (`Delivery`), plain data out (`Answer`); AWS clients and the credential store
come in through `IntakeDeps`. The answers follow the design's invariants:

    200 {"success": true}   accepted, duplicate, empty, or quarantined (understood or kept)
    401                     missing or wrong credentials: nothing written
    413                     body over MAX_BODY_BYTES: nothing written
    500                     no usable webhook credentials configured (Casso retries)
    503                     an AWS failure before everything was durable (Casso retries)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from casso_payments import ledger
from casso_payments.credentials import CredentialsError, CredentialsUnavailable
from casso_payments.payload import ParsedDelivery, parse_delivery
from casso_payments.queue import EnqueueError, TransactionMessage, enqueue
from casso_payments.settings import ReceiverSettings
from casso_payments.test_calls import is_test_call, record_test_call
from casso_payments.webhook_auth import (
    NOT_JSON,
    SIGNATURE_HEADER,
    TOKEN_HEADER,
    UNKNOWN,
    V1,
    V2,
    AuthResult,
    WebhookCredentials,
    authenticate,
    header,
)

AWS_ERRORS = (ClientError, BotoCoreError, EnqueueError, CredentialsUnavailable)


class CredentialSource(Protocol):
    def get(self, *, refresh: bool = False) -> WebhookCredentials: ...


@dataclass(frozen=True)
class Delivery:
    headers: Mapping[str, str]
    body: str
    received_at: datetime


@dataclass(frozen=True)
class IntakeDeps:
    dynamodb: Any
    sqs: Any
    credentials: CredentialSource
    settings: ReceiverSettings


@dataclass(frozen=True)
class Answer:
    status: int
    # accepted | duplicate | empty | quarantined | unauthorized | too_large | misconfigured
    # | unavailable | test_call
    outcome: str
    generation: str = UNKNOWN
    new: tuple[int, ...] = ()
    duplicates: tuple[int, ...] = ()
    requeued: tuple[int, ...] = ()
    quarantined: bool = False
    test_calls: int = 0  # Casso's Test Call transactions (recorded as tests, not queued)
    reason: str = ""
    error: str = field(default="", repr=False)

    @property
    def body(self) -> dict[str, Any]:
        if self.status == 200:
            return {"success": True}
        return {"success": False, "error": self.reason}

    def metrics(self) -> dict[str, int]:
        """EMF metric name -> value for this delivery (dimension: generation)."""
        counts = {
            "Deliveries": 1,
            "TransactionsReceived": len(self.new),
            "DuplicateTransactions": len(self.duplicates),
            "TransactionsRequeued": len(self.requeued),
            "QuarantinedDeliveries": int(self.quarantined),
            "AuthFailures": int(self.outcome == "unauthorized"),
            "OversizedDeliveries": int(self.outcome == "too_large"),
            "TransientFailures": int(self.outcome == "unavailable"),
            "TestCalls": self.test_calls,
        }
        return {name: value for name, value in counts.items() if value}


def presented_generation(headers: Mapping[str, str]) -> str:
    if header(headers, SIGNATURE_HEADER) is not None:
        return V2
    if header(headers, TOKEN_HEADER) is not None:
        return V1
    return UNKNOWN


def _authenticate(delivery: Delivery, body: Any, deps: IntakeDeps) -> AuthResult:
    now_ms = int(delivery.received_at.timestamp() * 1000)
    max_age = deps.settings.max_signature_age_seconds
    credentials = deps.credentials.get()
    result = authenticate(
        delivery.headers, body, credentials, now_ms=now_ms, max_age_seconds=max_age
    )
    if not result.ok:
        # Perhaps the secret was rotated since we cached it: look once more (rate-limited).
        fresh = deps.credentials.get(refresh=True)
        if fresh != credentials:
            result = authenticate(
                delivery.headers, body, fresh, now_ms=now_ms, max_age_seconds=max_age
            )
    return result


def _parse(text: str) -> tuple[Any, str]:
    try:
        return json.loads(text), ""
    except (json.JSONDecodeError, RecursionError) as error:
        return NOT_JSON, f"body: not valid JSON ({error})"


def receive(delivery: Delivery, deps: IntakeDeps) -> Answer:
    generation = presented_generation(delivery.headers)
    size = len(delivery.body.encode())
    if size > deps.settings.max_body_bytes:
        reason = f"body is {size} bytes, over the {deps.settings.max_body_bytes}-byte limit"
        return Answer(413, "too_large", generation, reason=reason)

    body, json_problem = _parse(delivery.body)
    try:
        auth = _authenticate(delivery, body, deps)
    except CredentialsError as error:
        return Answer(
            500,
            "misconfigured",
            generation,
            reason="webhook credentials are not configured",
            error=str(error),
        )
    except AWS_ERRORS as error:
        return Answer(
            503, "unavailable", generation, reason="temporarily unavailable", error=repr(error)
        )
    if not auth.ok:
        return Answer(401, "unauthorized", auth.generation, reason=auth.reason)

    parsed = (
        ParsedDelivery("unknown", problems=(json_problem,))
        if json_problem
        else parse_delivery(body)
    )
    return _record(delivery, parsed, auth.generation, deps)


def _record(
    delivery: Delivery, parsed: ParsedDelivery, generation: str, deps: IntakeDeps
) -> Answer:
    settings = deps.settings
    source = f"webhook-{generation}"
    requeue_before = delivery.received_at - timedelta(seconds=settings.requeue_after_seconds)
    new: list[int] = []
    duplicates: list[int] = []
    requeue: list[int] = []
    failure: Exception | None = None
    quarantined = False
    test_calls = 0
    try:
        for transaction in parsed.transactions:
            if is_test_call(transaction):
                test_calls += 1
                record_test_call(
                    deps.dynamodb,
                    settings.ledger_table_name,
                    transaction,
                    source=source,
                    now=delivery.received_at,
                )
                continue
            result = ledger.record_transaction(
                deps.dynamodb,
                settings.ledger_table_name,
                transaction,
                source=source,
                now=delivery.received_at,
            )
            if result.new:
                new.append(transaction.id)
                continue
            duplicates.append(transaction.id)
            existing = result.existing
            # Still unprocessed a while after it was first recorded: its queue message may
            # never have been sent (we answered 5xx then). Queue it again; processing is
            # idempotent, so a spare message costs nothing but a read.
            if (
                existing is not None
                and existing.status == ledger.RECEIVED
                and ledger.parse_timestamp(existing.received_at) <= requeue_before
            ):
                requeue.append(transaction.id)
        if parsed.problems:
            quarantined = ledger.quarantine_delivery(
                deps.dynamodb,
                settings.ledger_table_name,
                body=delivery.body,
                reason="; ".join(parsed.problems),
                generation=generation,
                now=delivery.received_at,
            )
    except AWS_ERRORS as error:
        failure = error
    # Whatever was written gets queued, even when a later write failed.
    try:
        messages = [TransactionMessage(tid, source) for tid in [*new, *requeue]]
        enqueue(deps.sqs, settings.transaction_queue_url, messages)
    except AWS_ERRORS as error:
        failure = failure or error
    if failure is not None:
        return Answer(
            503,
            "unavailable",
            generation,
            tuple(new),
            tuple(duplicates),
            reason="temporarily unavailable",
            error=repr(failure),
        )
    if parsed.problems:
        outcome = "quarantined"
    elif new:
        outcome = "accepted"
    elif duplicates:
        outcome = "duplicate"
    elif test_calls:
        outcome = "test_call"
    else:
        outcome = "empty"
    return Answer(
        200,
        outcome,
        generation,
        tuple(new),
        tuple(duplicates),
        tuple(requeue),
        quarantined=quarantined,
        reason="; ".join(parsed.problems),
        test_calls=test_calls,
    )
