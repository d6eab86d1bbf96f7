"""The notifier's secrets, parsed (read through `aws.secrets.SecretStore`), and the Standard
Webhooks headers, signed with the official `standardwebhooks` package.

NotifySecret: {"signing_secret": "whsec_...", "signing_secret_previous": ""}. The template
generates `signing_secret` as 48 letters and digits (CloudFormation can't prefix `whsec_`),
which is valid base64: it is read as `whsec_<value>`, the secret the shop is given. During a
rotation (`ops notify-secret rotate`) both keys sign: two signatures in `webhook-signature`.

TelegramSecret: {"bot_token": ""}; empty is "Telegram off".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from standardwebhooks import Webhook

from casso_payments.aws.secrets import CredentialsError

PREFIX: Final = "whsec_"


def as_whsec(value: str) -> str:
    return value if value.startswith(PREFIX) else PREFIX + value


@dataclass(frozen=True)
class SigningKeys:
    secrets: tuple[str, ...]  # whsec_..., the newest first

    def sign(self, webhook_id: str, moment: datetime, body: str) -> dict[str, str]:
        """The Standard Webhooks headers for `body`, sent at `moment`: one signature per key."""
        signatures = " ".join(Webhook(s).sign(webhook_id, moment, body) for s in self.secrets)
        return {
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(moment.timestamp())),
            "webhook-signature": signatures,
            "content-type": "application/json",
        }


def parse_signing_secret(secret: Any) -> SigningKeys:
    if not isinstance(secret, Mapping):
        raise CredentialsError("notify secret must be a JSON object")
    found = []
    for field in ("signing_secret", "signing_secret_previous"):
        value = secret.get(field) or ""
        if not isinstance(value, str):
            raise CredentialsError(f"notify secret field {field!r} must be a string")
        if value.strip():
            found.append(as_whsec(value.strip()))
    if not found:
        raise CredentialsError("notify secret has no signing_secret: nothing can be signed")
    for value in found:
        try:
            Webhook(value)
        except Exception:  # the library's own errors, and binascii's
            raise CredentialsError("a notify signing secret is not whsec_ + base64") from None
    return SigningKeys(tuple(found))


def parse_telegram_secret(secret: Any) -> str:
    """The bot token, or "" when none is set (Telegram off)."""
    if not isinstance(secret, Mapping) or not isinstance(secret.get("bot_token") or "", str):
        raise CredentialsError('telegram secret must be {"bot_token": "..."}')
    return str(secret.get("bot_token") or "").strip()
