"""The notifier's settings (NotifierFunction's environment, docs/configuration.md)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from casso_payments.settings import FunctionSettings, SettingsError, true_or_false, whole_number

# Standard Webhooks' (Svix's) schedule, seconds after each failed attempt: 5 s, 5 min,
# 30 min, 2 h, 5 h, 10 h, 10 h; eight attempts over about 27.6 hours (notify.schedule).
DEFAULT_RETRY_DELAYS = "5,300,1800,7200,18000,36000,36000"
TELEGRAM_API = "https://api.telegram.org"


def parse_delays(raw: str) -> tuple[float, ...]:
    """ "5,300,1800" -> (5.0, 300.0, 1800.0); ValueError says what is wrong."""
    try:
        delays = tuple(float(part) for part in raw.split(",") if part.strip())
    except ValueError:
        delays = ()
    if not delays or any(not 0 <= d <= 86400 for d in delays):
        raise ValueError("retry delays must be seconds between 0 and 86400, comma-separated")
    return delays


@dataclass(frozen=True)
class NotifierSettings(FunctionSettings):
    notifications_table_name: str
    orders_table_name: str
    notification_queue_url: str
    notification_dead_letter_queue_url: str
    notify_secret_id: str
    # The shop's URL for every order without a notify_url of its own; empty: webhooks off.
    notify_url: str = ""
    telegram_secret_id: str = ""
    telegram_chat_id: str = ""  # empty: Telegram off
    telegram_api_base_url: str = TELEGRAM_API
    # Only the local stack sets it: plain http to 127.0.0.1 (docs/notifications.md#the-ssrf-guard).
    allow_loopback: bool = False
    retry_delays: tuple[float, ...] = ()
    timeout_seconds: int = 10
    keep_days: int = 30

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> NotifierSettings:
        env = os.environ if env is None else env
        raw = env.get("RETRY_DELAYS_SECONDS", "").strip() or DEFAULT_RETRY_DELAYS
        try:
            delays = parse_delays(raw)
        except ValueError as error:
            raise SettingsError(f"RETRY_DELAYS_SECONDS: {error}") from None
        return cls(
            **cls.required_from(env),
            notify_url=env.get("NOTIFY_URL", "").strip(),
            telegram_secret_id=env.get("TELEGRAM_SECRET_ID", "").strip(),
            telegram_chat_id=env.get("TELEGRAM_CHAT_ID", "").strip(),
            telegram_api_base_url=env.get("TELEGRAM_API_BASE_URL", "").strip() or TELEGRAM_API,
            allow_loopback=true_or_false(env, "NOTIFY_ALLOW_LOOPBACK", False),
            retry_delays=delays,
            timeout_seconds=whole_number(env, "NOTIFY_TIMEOUT_SECONDS", 10, minimum=1, maximum=10),
            keep_days=whole_number(env, "NOTIFICATION_LOG_DAYS", 30, minimum=1, maximum=365),
        )
