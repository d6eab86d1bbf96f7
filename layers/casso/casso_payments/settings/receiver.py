"""The receiver's settings (ReceiverFunction's environment, docs/configuration.md)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from casso_payments.settings import FunctionSettings, whole_number

# DynamoDB items are at most 400 KB; a quarantined body is stored whole, so the limit stays
# below that with room for the other attributes.
HARD_MAX_BODY_BYTES = 350_000


@dataclass(frozen=True)
class ReceiverSettings(FunctionSettings):
    transaction_queue_url: str
    webhook_secret_id: str
    max_body_bytes: int = 262_144
    # 0 = off: Casso retries a delivery for up to ~70 h with its original signature timestamp.
    max_signature_age_seconds: int = 0
    credentials_cache_seconds: int = 300
    # A redelivered transaction still unprocessed after this long is queued again: it covers
    # a queue send that failed after the ledger write (we answered 5xx, Casso retried).
    requeue_after_seconds: int = 30

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ReceiverSettings:
        env = os.environ if env is None else env
        return cls(
            **cls.required_from(env),
            max_body_bytes=whole_number(
                env, "MAX_BODY_BYTES", 262_144, minimum=1024, maximum=HARD_MAX_BODY_BYTES
            ),
            max_signature_age_seconds=whole_number(
                env, "MAX_SIGNATURE_AGE_SECONDS", 0, minimum=0, maximum=7 * 24 * 3600
            ),
            credentials_cache_seconds=whole_number(
                env, "CREDENTIALS_CACHE_SECONDS", 300, minimum=0, maximum=3600
            ),
            requeue_after_seconds=whole_number(
                env, "REQUEUE_AFTER_SECONDS", 30, minimum=0, maximum=24 * 3600
            ),
        )
