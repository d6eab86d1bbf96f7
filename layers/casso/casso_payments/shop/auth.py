"""The shop's API keys and the Bearer check.

`ShopApiKeySecret` holds `{"api_keys": ["...", "..."]}`: two at once, so a rotation never
locks the shop out (`ops api-key`). The template generates the first one as `api_key` (a
generated value can only be a string field); it counts as one of the keys until `ops
api-key` moves it into the list. Keys are read through `SecretStore`, so while Secrets
Manager fails once the keys were read, the shop is still let in and a stranger still gets
401. A key is compared in constant time against every key, as SHA-256 digests (equal
lengths, so neither a key's content nor its length shows in the time taken).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any, Final

from casso_payments.aws.secrets import CredentialsError, SecretStore

MAX_KEYS: Final = 2
MIN_KEY_CHARS: Final = 32


def parse_api_keys(secret: Any) -> tuple[str, ...]:
    """The keys in `ShopApiKeySecret`'s value (a `SecretStore` parse)."""
    if not isinstance(secret, Mapping):
        raise CredentialsError("ShopApiKeySecret must be a JSON object")
    listed = secret.get("api_keys") or []
    generated = secret.get("api_key") or ""
    if not isinstance(listed, list) or not isinstance(generated, str):
        raise CredentialsError('ShopApiKeySecret must hold {"api_keys": ["<key>", ...]}')
    keys = [*listed, *([generated] if generated else [])]
    if not all(isinstance(k, str) and len(k.strip()) >= MIN_KEY_CHARS for k in keys):
        raise CredentialsError(f"ShopApiKeySecret: each key must be {MIN_KEY_CHARS}+ characters")
    if not keys:
        raise CredentialsError("ShopApiKeySecret holds no key: create one with ops api-key")
    return tuple(dict.fromkeys(k.strip() for k in keys))


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def bearer(headers: Mapping[str, str] | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (any case), or None."""
    for name, value in (headers or {}).items():
        if name.lower() == "authorization" and isinstance(value, str):
            scheme, _, token = value.strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


def matches(keys: tuple[str, ...], token: str) -> bool:
    """Whether `token` is one of `keys`, looking at every key whatever the answer."""
    given = _digest(token)
    found = False
    for key in keys:
        found |= hmac.compare_digest(_digest(key), given)
    return found


def authenticate(headers: Mapping[str, str] | None, store: SecretStore[tuple[str, ...]]) -> bool:
    """Whether the request carries a shop's key. A missing or malformed header is refused
    before the secret is read; a wrong key re-reads a just-rotated secret (rate-limited by
    the store). CredentialsUnavailable propagates: before any read, nothing can be checked."""
    token = bearer(headers)
    if token is None:
        return False
    try:
        if matches(store.get(), token):
            return True
        return matches(store.get(refresh=True), token)
    except CredentialsError as error:
        last = error.last_known
        return bool(last) and matches(last, token)
