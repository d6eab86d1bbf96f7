"""Reconciler and processor settings added for bounded runs and account selection."""

from __future__ import annotations

import pytest

from casso_payments.reconciler.backfill import max_pages
from casso_payments.settings import SettingsError, accepts_account
from casso_payments.settings.processor import ProcessorSettings
from casso_payments.settings.reconciler import ReconcilerSettings

RECONCILER = {
    "LEDGER_TABLE_NAME": "ledger",
    "TRANSACTION_QUEUE_URL": "https://sqs/queue",
    "WEBHOOK_SECRET_ID": "secret",
    "CASSO_API_KEY_SECRET_ID": "api-key",
    "WEBHOOK_URL": "https://example.vn/hook",
}
PROCESSOR = {
    "LEDGER_TABLE_NAME": "ledger",
    "ORDERS_TABLE_NAME": "orders",
    "IDEMPOTENCY_TABLE_NAME": "idempotency",
    "EVENT_BUS_NAME": "bus",
}


def test_safe_defaults():
    settings = ReconcilerSettings.from_env(RECONCILER)
    assert settings.account_numbers == ()  # every account
    assert (settings.max_sweeps, settings.max_requeued_per_run) == (3, 100)
    assert settings.webhook_silence_minutes == 60
    assert settings.reserve_seconds == 10


def test_account_numbers_are_read_alike_by_both_functions():
    value = " 0071000888, 88888888 ,"
    reconciler = ReconcilerSettings.from_env({**RECONCILER, "ACCOUNT_NUMBERS": value})
    processor = ProcessorSettings.from_env({**PROCESSOR, "ACCOUNT_NUMBERS": value})
    assert reconciler.account_numbers == processor.account_numbers == ("0071000888", "88888888")


@pytest.mark.parametrize("bad", ["0071 000888", "88888888;99", "số 1"])
def test_a_malformed_account_number_is_named(bad):
    with pytest.raises(SettingsError, match="ACCOUNT_NUMBERS must be bank account numbers"):
        ProcessorSettings.from_env({**PROCESSOR, "ACCOUNT_NUMBERS": bad})


@pytest.mark.parametrize(
    ("name", "value"),
    [("MAX_SWEEPS", "0"), ("MAX_REQUEUED_PER_RUN", "0"), ("WEBHOOK_SILENCE_MINUTES", "-1")],
)
def test_out_of_range_bounds_are_named(name, value):
    with pytest.raises(SettingsError, match=f"{name} must be between"):
        ReconcilerSettings.from_env({**RECONCILER, name: value})


def test_accepts_account():
    assert accepts_account((), "anything")
    assert accepts_account(("88888888",), "88888888")
    assert not accepts_account(("88888888",), "77777777")
    assert not accepts_account(("88888888",), None)


def test_pages_a_lookback_window_can_hold():
    assert max_pages(3, 10_000) == 400  # (3 days + today) x 10,000 / 100 a page
    assert max_pages(1, 50) == 1
