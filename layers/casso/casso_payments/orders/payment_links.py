"""Payment links: the buyer's page for an order, `/pay/{code}?t=<token>`.

The token is an HMAC-SHA256 of the canonical order code under the stack's payment-link key
(a Secrets Manager secret the template generates): checking it reads no table, a wrong one
is refused like a missing order (404), and one order's link says nothing of another's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import quote

from casso_payments.aws.secrets import CredentialsError

# 128 bits: unguessable, and short enough for a link pasted into a chat.
TOKEN_BYTES: Final = 16


def link_token(key: bytes, code: str) -> str:
    """The token for canonical order code `code`: URL-safe base64, no padding (22 chars)."""
    digest = hmac.new(key, code.encode("utf-8"), hashlib.sha256).digest()[:TOKEN_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def token_matches(key: bytes, code: str, token: str) -> bool:
    """Whether `token` is `code`'s, compared in constant time."""
    expected = link_token(key, code).encode("ascii")
    return hmac.compare_digest(expected, token.encode("utf-8", "surrogatepass"))


def payment_path(key: bytes, code: str) -> str:
    """The payment page's path and query for canonical order code `code`."""
    return f"/pay/{quote(code, safe='')}?t={link_token(key, code)}"


def parse_link_key(secret: Any) -> bytes:
    """The key from `PayLinkSecret`'s value, `{"pay_link_key": "..."}` (a `SecretStore` parse)."""
    key = secret.get("pay_link_key") if isinstance(secret, Mapping) else None
    if not isinstance(key, str) or len(key.strip()) < 32:
        raise CredentialsError('PayLinkSecret must hold {"pay_link_key": "<32 or more chars>"}')
    return key.strip().encode("utf-8")
