"""The receiver's logic: authenticate, parse, record in the ledger, enqueue, answer.

Plain data in (`Delivery`), plain data out (`Answer`); AWS clients and the credential store
come in through `IntakeDeps`. The answers follow the design's invariants:

    200 {"success": true}   accepted, duplicate, conflict (another version of a transaction
                            the ledger holds: kept beside it, docs/architecture.md
                            #conflicting-versions), empty, or quarantined
    401                     missing, malformed or wrong credentials: nothing written (with
                            no well-formed credential, refused before the body is touched)
    413                     body over MAX_BODY_BYTES: nothing written
    500                     no usable webhook credentials configured (Casso retries)
    503                     an AWS failure before everything was durable (Casso retries)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

from casso_payments.aws.queue import TransactionMessage
from casso_payments.casso.credentials import CredentialsError, CredentialsUnavailable
from casso_payments.casso.payload import ParsedDelivery, Problem, parse_delivery
from casso_payments.casso.test_calls import is_test_call
from casso_payments.casso.webhook_auth import (
    NOT_JSON,
    UNKNOWN,
    AuthResult,
    WebhookCredentials,
    authenticate,
    presented,
)
from casso_payments.receiver import quarantine, recording
from casso_payments.settings.receiver import ReceiverSettings

if TYPE_CHECKING:
    from casso_payments.aws.queue import TransactionQueue
    from casso_payments.ledger.repository import Ledger

AWS_ERRORS = (*recording.AWS_ERRORS, CredentialsUnavailable)


class CredentialSource(Protocol):
    def get(self, *, refresh: bool = False) -> WebhookCredentials: ...


@dataclass(frozen=True)
class Delivery:
    headers: Mapping[str, str]
    body: str
    received_at: datetime


@dataclass(frozen=True)
class IntakeDeps:
    ledger: Ledger
    queue: TransactionQueue
    credentials: CredentialSource
    settings: ReceiverSettings
    # Runs a delivery's puts and sends concurrently; None: threads of its own per delivery.
    executor: Executor | None = None


@dataclass(frozen=True)
class Answer:
    status: int
    # accepted | conflict | duplicate | empty | quarantined | unauthorized | too_large
    # | misconfigured | unavailable | test_call
    outcome: str
    generation: str = UNKNOWN
    new: tuple[int, ...] = ()
    duplicates: tuple[int, ...] = ()
    requeued: tuple[int, ...] = ()
    quarantined: bool = False
    test_calls: int = 0  # Casso's Test Call transactions (recorded as tests, not queued)
    # Ids delivered with content other than the ledger's (each version kept beside it), and
    # ids whose stronger version went to the processor (replace it, or a person decides).
    conflicts: tuple[int, ...] = ()
    versions: tuple[int, ...] = ()
    reason: str = ""
    error: str = field(default="", repr=False)
    # What could not be understood (quarantined): `reason` shows them whole, logs do not.
    problems: tuple[Problem, ...] = ()

    @property
    def logged_reason(self) -> str:
        """The reason as a log line may show it: problems without the values that caused
        them (a customer's name, account number, transfer text)."""
        return quarantine.reason(self.problems, safe=True) if self.problems else self.reason

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
            "ConflictingDeliveries": len(self.conflicts),
        }
        return {name: value for name, value in counts.items() if value}


def _authenticate(delivery: Delivery, body: Callable[[], Any], deps: IntakeDeps) -> AuthResult:
    """Checks the delivery's credential against the secret's. A stranger gets a 401
    whatever Secrets Manager is doing, as long as credentials were ever read: the store
    answers with the last ones read while it can't read the secret, and a failed second
    look (below) keeps the first answer. Raises CredentialsError (500) only for a delivery
    that matches what the secret held before it broke, and CredentialsUnavailable (503)
    only before any credentials were read, when no token can be told from another."""
    now_ms = int(delivery.received_at.timestamp() * 1000)
    max_age = deps.settings.max_signature_age_seconds
    try:
        credentials = deps.credentials.get()
    except CredentialsError as error:
        if error.last_known is None:
            raise
        known = authenticate(
            delivery.headers, body, error.last_known, now_ms=now_ms, max_age_seconds=max_age
        )
        if known.ok:
            raise  # Casso's, but the secret is broken now: fix it (500, Casso retries)
        return known  # matches nothing the secret ever held: a stranger's, 401
    result = authenticate(
        delivery.headers, body, credentials, now_ms=now_ms, max_age_seconds=max_age
    )
    if not result.ok:
        # Perhaps the secret was rotated since we cached it: look once more (rate-limited).
        try:
            fresh = deps.credentials.get(refresh=True)
        except (CredentialsError, *AWS_ERRORS):
            return result  # no second look: it matches none of the credentials we know
        if fresh != credentials:
            result = authenticate(
                delivery.headers, body, fresh, now_ms=now_ms, max_age_seconds=max_age
            )
    return result


def parse_json(text: str) -> tuple[Any, Problem | None]:
    """(value, None) or (NOT_JSON, the problem). A 4,301-digit integer is a ValueError and
    deep nesting a RecursionError: both are bad input, not bugs."""
    try:
        return json.loads(text), None
    except (ValueError, RecursionError) as error:
        return NOT_JSON, Problem("body", f"not valid JSON ({error})")


def understand(value: Any, json_problem: Problem | None) -> ParsedDelivery:
    """What an authenticated body holds; whatever fails is a problem (to quarantine)."""
    if json_problem is not None:
        return ParsedDelivery("unknown", problems=(json_problem,))
    try:
        return parse_delivery(value)
    except (ValueError, RecursionError) as error:
        problem = Problem("body", f"could not be read ({error})")
        return ParsedDelivery("unknown", problems=(problem,))


def receive(delivery: Delivery, deps: IntakeDeps) -> Answer:
    # Headers first: a stranger presenting no well-formed credential costs no parse, no
    # HMAC and no secret read.
    screened = presented(delivery.headers)
    if not screened.ok:
        return Answer(401, "unauthorized", screened.generation, reason=screened.reason)
    generation = screened.generation
    size = len(delivery.body.encode())
    if size > deps.settings.max_body_bytes:
        reason = f"body is {size} bytes, over the {deps.settings.max_body_bytes}-byte limit"
        return Answer(413, "too_large", generation, reason=reason)

    # Parsed at most once, and only if a signature needs it or the delivery is admitted.
    parsed_json = cache(lambda: parse_json(delivery.body))
    try:
        auth = _authenticate(delivery, lambda: parsed_json()[0], deps)
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
    return _record(delivery, understand(*parsed_json()), auth.generation, deps)


def _record(
    delivery: Delivery, parsed: ParsedDelivery, generation: str, deps: IntakeDeps
) -> Answer:
    settings = deps.settings
    source = f"webhook-{generation}"
    # Casso's Test Call is kept as a test, never as a transaction (test_calls.py).
    test_calls = [t for t in parsed.transactions if is_test_call(t)]
    if test_calls:
        real = tuple(t for t in parsed.transactions if not is_test_call(t))
        parsed = replace(parsed, transactions=real)
    staged = recording.stage(parsed, source=source, received_at=delivery.received_at)
    requeue_before = delivery.received_at - timedelta(seconds=settings.requeue_after_seconds)
    written = recording.write(
        deps.ledger, staged, requeue_before=requeue_before, executor=deps.executor
    )
    failure = written.failure
    kept, keep_failure = recording.keep_versions(
        deps.ledger,
        written.met,
        source=source,
        received_at=delivery.received_at,
        executor=deps.executor,
    )
    failure = failure or keep_failure
    try:
        for transaction in test_calls:
            deps.ledger.record_test_call(transaction, source=source, now=delivery.received_at)
    except AWS_ERRORS as error:
        failure = failure or error
    problems = quarantine.reason(staged.problems)
    quarantined = False
    if staged.problems and failure is None:
        try:
            quarantined = deps.ledger.quarantine(
                body=delivery.body,
                reason=problems,
                generation=generation,
                now=delivery.received_at,
            )
        except AWS_ERRORS as error:
            failure = error
    # Whatever was written gets queued, even when a later write failed.
    queued = recording.enqueue_all(
        deps.queue, [*written.new, *written.requeue], source, deps.executor
    )
    versions = [TransactionMessage(k.transaction_id, source, version=k.key) for k in kept if k.open]
    failure = failure or queued or recording.send(deps.queue, versions, deps.executor)
    conflicts = tuple(dict.fromkeys(k.transaction_id for k in kept if k.conflict))
    if failure is not None:
        return Answer(
            503,
            "unavailable",
            generation,
            written.new,
            written.duplicates,
            reason="temporarily unavailable",
            error=repr(failure),
        )
    if staged.problems:
        outcome = "quarantined"
    elif conflicts:
        outcome = "conflict"  # never a plain duplicate: the version is kept, 200 all the same
    elif written.new:
        outcome = "accepted"
    elif written.duplicates:
        outcome = "duplicate"
    elif test_calls:
        outcome = "test_call"
    else:
        outcome = "empty"
    return Answer(
        200,
        outcome,
        generation,
        written.new,
        written.duplicates,
        written.requeue,
        quarantined=quarantined,
        reason=problems,
        test_calls=len(test_calls),
        problems=staged.problems,
        conflicts=conflicts,
        versions=tuple(m.transaction_id for m in versions),
    )
