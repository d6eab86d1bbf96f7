"""The shop's API keys in `ShopApiKeySecret` (docs/security.md#the-shop-api-keys): what
`python -m ops api-key create|rotate|revoke|show` does, over a Secrets Manager client.

The secret always ends as `{"api_keys": [oldest, ..., newest]}`, at most two; the key the
template generated (`api_key`) counts as the oldest until the first change moves it in.
"""

from __future__ import annotations

import json
import secrets
from typing import Any, Final

from casso_payments.aws.secrets import CredentialsError
from casso_payments.shop.auth import MAX_KEYS, parse_api_keys

KEY_BYTES: Final = 32  # 43 URL-safe characters


class ApiKeyError(ValueError):
    """The keys can't be changed as asked; says why."""


def new_key() -> str:
    return secrets.token_urlsafe(KEY_BYTES)


def read_keys(client: Any, secret_id: str) -> list[str]:
    value = json.loads(client.get_secret_value(SecretId=secret_id)["SecretString"])
    try:
        return list(parse_api_keys(value))
    except CredentialsError as error:
        if value.get("api_keys") or value.get("api_key"):
            raise ApiKeyError(str(error)) from None
        return []


def _write(client: Any, secret_id: str, keys: list[str]) -> None:
    client.put_secret_value(SecretId=secret_id, SecretString=json.dumps({"api_keys": keys}))


def create(client: Any, secret_id: str) -> str:
    """Add a new key beside the current ones; refused when there are two already."""
    keys = read_keys(client, secret_id)
    if len(keys) >= MAX_KEYS:
        raise ApiKeyError(f"there are {len(keys)} keys already: rotate, or revoke one first")
    key = new_key()
    _write(client, secret_id, [*keys, key])
    return key


def rotate(client: Any, secret_id: str) -> tuple[str, list[str]]:
    """A new key, keeping only the newest old one: (the new key, the keys dropped)."""
    keys = read_keys(client, secret_id)
    key = new_key()
    kept, dropped = keys[-1:], keys[:-1]
    _write(client, secret_id, [*kept, key])
    return key, dropped


def revoke(client: Any, secret_id: str, key: str) -> None:
    """Remove `key`; never the last one (the API would then let no one in)."""
    keys = read_keys(client, secret_id)
    if key not in keys:
        raise ApiKeyError("no such key in the secret")
    if keys == [key]:
        raise ApiKeyError("it is the only key: create or rotate first, then revoke it")
    _write(client, secret_id, [k for k in keys if k != key])
