"""Receiver configuration: defaults, and errors that name the variable."""

from __future__ import annotations

import pytest

from casso_payments.settings import SettingsError
from casso_payments.settings.receiver import ReceiverSettings

REQUIRED = {
    "LEDGER_TABLE_NAME": "ledger",
    "TRANSACTION_QUEUE_URL": "https://sqs/queue",
    "WEBHOOK_SECRET_ID": "secret",
}


def test_safe_defaults():
    settings = ReceiverSettings.from_env(REQUIRED)
    assert settings.max_body_bytes == 262_144
    assert settings.max_signature_age_seconds == 0  # off: Casso retries for ~12 h
    assert settings.credentials_cache_seconds == 300


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_missing_variable_is_named(missing):
    env = {k: v for k, v in REQUIRED.items() if k != missing}
    with pytest.raises(SettingsError, match=f"environment variable {missing} is required"):
        ReceiverSettings.from_env(env)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MAX_BODY_BYTES", "lots", "MAX_BODY_BYTES must be a whole number, got 'lots'"),
        ("MAX_BODY_BYTES", "500000", "MAX_BODY_BYTES must be between 1024 and 350000, got 500000"),
        ("MAX_SIGNATURE_AGE_SECONDS", "-1", "MAX_SIGNATURE_AGE_SECONDS must be between 0"),
    ],
)
def test_malformed_value_is_named(name, value, message):
    with pytest.raises(SettingsError, match=message):
        ReceiverSettings.from_env({**REQUIRED, name: value})


PROCESSOR = {
    "LEDGER_TABLE_NAME": "ledger",
    "ORDERS_TABLE_NAME": "orders",
    "IDEMPOTENCY_TABLE_NAME": "idempotency",
    "EVENT_BUS_NAME": "bus",
}


def test_processor_confirms_v1_payments_by_default_and_names_a_bad_choice():
    from casso_payments.settings.processor import ProcessorSettings

    assert ProcessorSettings.from_env(PROCESSOR).confirm_payments == "v1"
    assert ProcessorSettings.from_env(
        {**PROCESSOR, "CONFIRM_PAYMENTS": "ALL"}
    ).confirm_payments == ("all")
    with pytest.raises(SettingsError, match="CONFIRM_PAYMENTS must be one of v1, all, none"):
        ProcessorSettings.from_env({**PROCESSOR, "CONFIRM_PAYMENTS": "sometimes"})
