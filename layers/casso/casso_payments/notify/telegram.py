"""The shop's staff hear of money in, one short Vietnamese line per paid, partially paid or
late order, from a Telegram bot (its token in TelegramSecret, the chat in TelegramChatId).
The Bot API's base URL is a setting, so tests point it at a local fake."""

from __future__ import annotations

import json
from typing import Any, Final

from casso_payments.events.names import LATE_PAYMENT, ORDER_PAID, ORDER_PARTIALLY_PAID

TELEGRAM_API_BASE_URL: Final = "https://api.telegram.org"


def vnd(amount: int) -> str:
    """200500 -> "200.500đ": dots between thousands, as Vietnamese writes money."""
    return f"{int(amount):,}".replace(",", ".") + "đ"


def staff_line(detail_type: str, detail: dict[str, Any]) -> str | None:
    """The line for the staff, or None for an event they don't hear about."""
    code = detail.get("order_code") or "?"
    if detail_type == ORDER_PAID:
        return f"Đơn {code} đã thanh toán {vnd(detail['paid_amount'])}"
    if detail_type == ORDER_PARTIALLY_PAID:
        return (
            f"Đơn {code} đã thanh toán một phần {vnd(detail['paid_amount'])}, "
            f"còn thiếu {vnd(detail['remaining'])}"
        )
    if detail_type == LATE_PAYMENT:
        return f"Đơn {code} đã hết hạn, nhận chuyển khoản muộn {vnd(detail['late_amount'])}"
    return None


def send_message_url(base_url: str, token: str) -> str:
    """The Bot API's sendMessage URL. It holds the token: never logged."""
    return f"{base_url.rstrip('/')}/bot{token}/sendMessage"


def send_message_body(chat_id: str, text: str) -> bytes:
    return json.dumps({"chat_id": chat_id, "text": text}, ensure_ascii=False).encode()
