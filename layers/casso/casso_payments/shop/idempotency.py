"""Idempotency-Key on POST /orders, through Powertools Idempotency on IdempotencyTable.

The record is keyed by the header's value and holds the answer's body for a day; it is
validated against the request's fields (as checked, so key order and spacing don't
matter): the same key with the same body answers the same order (201, as first answered),
the same key with another body answers 409, and so does a key whose first request is
still running. A create that fails (bad code, a code that exists) leaves no record, so a
corrected retry with the same key works.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from casso_payments.shop.problems import FieldError, Problem, invalid

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient

KEEP_SECONDS: Final = 24 * 3600
MAX_KEY_CHARS: Final = 255

# (the Idempotency-Key, the request's checked fields, the create) -> the answer's body
Once = Callable[[str, dict[str, Any], Callable[[], dict[str, Any]]], dict[str, Any]]


def checked_key(value: str | None) -> str | None:
    """The Idempotency-Key header's value, checked: printable ASCII, 1 to 255 characters."""
    if value is None:
        return None
    if not value or len(value) > MAX_KEY_CHARS or not value.isascii() or not value.isprintable():
        raise invalid(
            [FieldError("header.Idempotency-Key", f"1 to {MAX_KEY_CHARS} printable ASCII chars")]
        )
    return value


class Idempotency:
    """Creates run once per Idempotency-Key."""

    def __init__(self, dynamodb: DynamoDBClient, table: str) -> None:
        self.config = IdempotencyConfig(
            event_key_jmespath="key",
            payload_validation_jmespath="body",
            expires_after_seconds=KEEP_SECONDS,
            raise_on_no_idempotency_key=True,
        )
        persistence = DynamoDBPersistenceLayer(table_name=table, boto3_client=dynamodb)

        @idempotent_function(
            data_keyword_argument="request", config=self.config, persistence_store=persistence
        )
        def create_once(request: dict[str, Any], work: Callable[[], dict[str, Any]]) -> Any:
            return work()

        self._create_once = create_once

    def bind(self, context: LambdaContext | None) -> None:
        """The invocation's context: a create cut off by the function's timeout leaves a
        record that expires with it, not a day later."""
        if context is not None:
            self.config.register_lambda_context(context)

    def once(
        self, key: str, fields: dict[str, Any], work: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = self._create_once(
                request={"key": key, "body": fields}, work=work
            )
        except IdempotencyValidationError:
            raise Problem(
                409,
                "Idempotency key reused",
                "this Idempotency-Key was used with a different body; use a new key",
            ) from None
        except IdempotencyAlreadyInProgressError:
            raise Problem(
                409, "Request in progress", "a request with this Idempotency-Key is running"
            ) from None
        return answer
