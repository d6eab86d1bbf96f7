"""A request checked, field by field, into plain values; every problem becomes a 4xx
(`problems`), never a 5xx. What is accepted is what docs/openapi/orders.yaml says, and the
tests hold the two equal.

A create's body is a JSON object of known fields only, its amount a JSON integer (no
fraction, no exponent, no text), its metadata an object of at most 2 KB; a list's query
has a known status, an ISO 8601 `created_after`, a `limit` and the opaque `cursor` the last
page gave.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from casso_payments.aws.dynamo import timestamp
from casso_payments.notify.url_guard import UnsafeUrl, check_url_given
from casso_payments.orders.model import LISTED, STATUSES
from casso_payments.shop.problems import FieldError, Problem, invalid

# What a VietQR's amount field holds (13 digits): an order's amount must fit its QR.
MAX_AMOUNT: Final = 9_999_999_999_999
MAX_CODE_CHARS: Final = 64
MAX_DESCRIPTION_CHARS: Final = 255
MAX_METADATA_BYTES: Final = 2048
MAX_URL_CHARS: Final = 2048
MIN_EXPIRES_IN: Final = 1
MAX_EXPIRES_IN: Final = 30 * 24 * 3600
MAX_BODY_BYTES: Final = 16_384
DEFAULT_LIMIT: Final = 20
MAX_LIMIT: Final = 100
CREATE_FIELDS: Final = (
    "amount",
    "order_code",
    "expires_in_seconds",
    "description",
    "metadata",
    "notify_url",
)


@dataclass(frozen=True)
class CreateRequest:
    amount: int
    order_code: str | None = None
    expires_in_seconds: int | None = None
    description: str = ""
    metadata: dict[str, Any] | None = None
    notify_url: str | None = None


@dataclass(frozen=True)
class ListQuery:
    limit: int = DEFAULT_LIMIT
    status: str | None = None
    created_after: str | None = None
    cursor: dict[str, Any] | None = None


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """A header's value, its name in any case (API Gateway passes them as sent)."""
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return value
    return None


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def json_body(headers: Mapping[str, str] | None, body: str | None) -> Any:
    """The body's JSON value, after checking it says it is JSON and is not too big."""
    media = (header(headers, "Content-Type") or "").split(";")[0].strip().lower()
    if media != "application/json":
        raise Problem(
            415,
            "Unsupported media type",
            "send the body as JSON, with Content-Type: application/json",
            [FieldError("header.Content-Type", f"expected application/json, got {media!r}")],
        )
    text = body or ""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES:
        raise Problem(413, "Body too large", f"a body is at most {MAX_BODY_BYTES} bytes")
    try:
        value = json.loads(text, parse_constant=_no_constants)
        # "\ud800" is valid JSON but no text: it could be neither stored nor sent on.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise invalid([FieldError("body", "a string holds a lone surrogate")]) from None
    except (ValueError, RecursionError) as error:
        raise invalid([FieldError("body", f"not valid JSON ({error})")]) from None
    return value


def _whole(value: Any, name: str, low: int, high: int, errors: list[FieldError]) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        what = type(value).__name__ if value is not None else "null"
        errors.append(FieldError(name, f"expected a whole number (JSON integer), got {what}"))
        return None
    if not low <= value <= high:
        errors.append(FieldError(name, f"must be between {low} and {high}, got {value}"))
        return None
    return value


def _text(value: Any, name: str, limit: int, errors: list[FieldError]) -> str | None:
    if not isinstance(value, str):
        errors.append(FieldError(name, f"expected a string, got {type(value).__name__}"))
        return None
    if len(value) > limit:
        errors.append(FieldError(name, f"at most {limit} characters, got {len(value)}"))
        return None
    return value


def _metadata(value: Any, errors: list[FieldError]) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        errors.append(FieldError("metadata", f"expected an object, got {type(value).__name__}"))
        return None
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
    if size > MAX_METADATA_BYTES:
        errors.append(
            FieldError("metadata", f"at most {MAX_METADATA_BYTES} bytes as JSON, got {size}")
        )
        return None
    return value


def _url(value: Any, errors: list[FieldError], allow_loopback: bool) -> str | None:
    url = _text(value, "notify_url", MAX_URL_CHARS, errors)
    if url is None:
        return None
    if not url.isascii() or any(c.isspace() for c in url):
        errors.append(FieldError("notify_url", "expected an absolute https URL"))
        return None
    try:  # the notifier's SSRF guard, its set-time half: no DNS here
        check_url_given(url, allow_loopback=allow_loopback)
    except UnsafeUrl as error:
        errors.append(FieldError("notify_url", str(error)))
        return None
    return url


def create_request(
    headers: Mapping[str, str] | None, body: str | None, *, allow_loopback: bool = False
) -> CreateRequest:
    """POST /orders' body, checked; Problem (4xx) naming every field that is wrong."""
    value = json_body(headers, body)
    if not isinstance(value, dict):
        raise invalid([FieldError("body", f"expected a JSON object, got {type(value).__name__}")])
    errors = [FieldError(name, "unknown field") for name in value if name not in CREATE_FIELDS]
    if "amount" not in value:
        errors.append(FieldError("amount", "required"))
    amount = (
        _whole(value.get("amount"), "amount", 1, MAX_AMOUNT, errors) if "amount" in value else 0
    )
    code = value.get("order_code")
    if code is not None:
        code = _text(code, "order_code", MAX_CODE_CHARS, errors)
    expires = value.get("expires_in_seconds")
    if expires is not None:
        expires = _whole(expires, "expires_in_seconds", MIN_EXPIRES_IN, MAX_EXPIRES_IN, errors)
    described = value.get("description")
    if described is not None:
        described = _text(described, "description", MAX_DESCRIPTION_CHARS, errors)
    metadata = value.get("metadata")
    metadata = _metadata(metadata, errors) if metadata is not None else None
    url = value.get("notify_url")
    url = _url(url, errors, allow_loopback) if url is not None else None
    if errors:
        raise invalid(errors)
    return CreateRequest(amount or 0, code, expires, described or "", metadata, url)


def encode_cursor(key: Mapping[str, Any]) -> str:
    """The opaque cursor of the page after the order `key` names."""
    text = json.dumps({"c": key["created_at"], "k": key["pk"]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
        created, key = value["c"], value["k"]
        if not isinstance(created, str) or not isinstance(key, str) or not key:
            raise ValueError(cursor)
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise invalid([FieldError("query.cursor", "not a cursor this API gave")]) from None
    return {"pk": key, "listed": LISTED, "created_at": created}


def list_query(query: Mapping[str, str] | None) -> ListQuery:
    """GET /orders' query, checked; Problem (400) naming every parameter that is wrong."""
    query = query or {}
    errors: list[FieldError] = []
    limit: int | None = DEFAULT_LIMIT
    if "limit" in query:
        raw = query["limit"]
        number = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 6 else None
        limit = _whole(number if number is not None else raw, "query.limit", 1, MAX_LIMIT, errors)
    status = query.get("status")  # given, it must be one: empty is no status
    if status is not None and status not in STATUSES:
        errors.append(FieldError("query.status", f"one of {', '.join(STATUSES)}"))
    after = query.get("created_after")
    if after is not None:
        try:
            moment = datetime.fromisoformat(after.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                raise ValueError(after)
            after = timestamp(moment)
        except (ValueError, OverflowError):
            errors.append(FieldError("query.created_after", "an ISO 8601 time with its offset"))
    cursor = None
    if query.get("cursor"):
        try:
            cursor = decode_cursor(query["cursor"])
        except Problem as problem:
            errors += problem.errors
    if errors:
        raise invalid(errors)
    return ListQuery(limit or DEFAULT_LIMIT, status, after, cursor)
