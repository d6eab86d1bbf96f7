"""Casso webhook authentication: v1 secure token and V2 HMAC-SHA512 signature.

Pure functions over plain data: no AWS, no clock (the caller passes `now_ms`). Nothing here
logs; reasons returned for failures never contain a secret, token or signature.

V2, as Casso documents it: sort every object's keys, recursively; serialise as compact JSON;
HMAC-SHA512 over "<t>.<json>" keyed by the checksum key; lowercase hex. Casso's own samples
disagree on whether non-ASCII text is escaped (\\uXXXX) before signing, so both forms are
tried for a body that has any.

Order of work, so that a stranger costs nothing: `presented` looks only at the
headers (no credential, or none well-formed: refused before the body is touched); then the
token is compared; the body is parsed (lazily, through the `body` callable) only when a
signature must be checked.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

TOKEN_HEADER: Final = "Secure-Token"  # noqa: S105 - a header name
SIGNATURE_HEADER: Final = "X-Casso-Signature"

V1: Final = "v1"
V2: Final = "v2"
UNKNOWN: Final = "unknown"


@dataclass(frozen=True)
class WebhookCredentials:
    """What a delivery may be checked against: current value first, then the previous one."""

    secure_tokens: tuple[str, ...] = ()
    checksum_keys: tuple[str, ...] = ()

    @property
    def configured(self) -> bool:
        return bool(self.secure_tokens or self.checksum_keys)


@dataclass(frozen=True)
class AuthResult:
    ok: bool
    # Which generation the caller presented (or was verified as): v1, v2 or unknown.
    generation: str
    # Why it failed, safe to log and to return to the caller. Empty when ok.
    reason: str = ""


class _NotJson:
    """Marker for a body that did not parse as JSON (a V2 signature can't be checked)."""


NOT_JSON: Final = _NotJson()


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """Header value by case-insensitive name (HTTP header names are case-insensitive)."""
    if not headers:
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def canonical_json(body: Any, *, ensure_ascii: bool = True) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=ensure_ascii)


def _hmac_hex(key: str, timestamp_ms: int, canonical: str) -> str:
    message = f"{timestamp_ms}.{canonical}".encode()
    return hmac.new(key.encode(), message, hashlib.sha512).hexdigest()


def sign(body: Any, key: str, timestamp_ms: int, *, ensure_ascii: bool = True) -> str:
    """The lowercase hex V2 signature of `body` at `timestamp_ms`."""
    return _hmac_hex(key, timestamp_ms, canonical_json(body, ensure_ascii=ensure_ascii))


def signature_header(body: Any, key: str, timestamp_ms: int, *, ensure_ascii: bool = True) -> str:
    """An `X-Casso-Signature` value, as Casso sends it."""
    return f"t={timestamp_ms},v1={sign(body, key, timestamp_ms, ensure_ascii=ensure_ascii)}"


_MALFORMED: Final = "X-Casso-Signature is malformed (expected t=<ms>,v1=<hex>)"
# ASCII digits only, and few of them: str.isdigit() admits "²" and int() refuses it, and
# 15 digits of milliseconds reach past the year 30000 while staying a cheap int().
_SIGNATURE_SHAPE: Final = re.compile(r"\s*t=([0-9]{1,15})\s*,\s*v1=([0-9a-fA-F]+)\s*", re.ASCII)


def parse_signature_header(value: str) -> tuple[int, str] | None:
    """`t=<1-15 ASCII digits>,v1=<hex>` -> (t, lowercase hex); None when malformed."""
    match = _SIGNATURE_SHAPE.fullmatch(value)
    if match is None:
        return None
    return int(match.group(1)), match.group(2).lower()


def presented(headers: Mapping[str, str] | None) -> AuthResult:
    """What the headers present, looking only at them (no secret read, no body parsed, no
    HMAC computed). `ok` when there is a credential worth checking (a non-empty Secure-Token
    or a well-formed X-Casso-Signature), else the refusal; `generation` the one presented:
    v2 when there is a signature header, else v1 when there is a token header."""
    token = header(headers, TOKEN_HEADER)
    signature = header(headers, SIGNATURE_HEADER)
    generation = V2 if signature is not None else V1 if token is not None else UNKNOWN
    if token:
        return AuthResult(True, generation)
    if signature is not None:
        if parse_signature_header(signature) is not None:
            return AuthResult(True, V2)
        return AuthResult(False, V2, _MALFORMED)
    if token is not None:
        return AuthResult(False, V1, "Secure-Token is empty")
    return AuthResult(False, UNKNOWN, "no Secure-Token or X-Casso-Signature header")


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _verify_token(token: str, credentials: WebhookCredentials) -> AuthResult:
    if not credentials.secure_tokens:
        return AuthResult(False, V1, "Secure-Token sent but no secure token is configured")
    # Compare with every configured token, so timing doesn't tell which one nearly matched.
    matches = [_same(token, candidate) for candidate in credentials.secure_tokens]
    if any(matches):
        return AuthResult(True, V1)
    return AuthResult(False, V1, "Secure-Token does not match")


def _canonical_forms(body: Any) -> list[str] | None:
    """The body's canonical JSON, escaped and (if different) unescaped; None when it can't be
    serialised (nested past the recursion limit, or an int past str()'s digit limit)."""
    try:
        escaped = canonical_json(body, ensure_ascii=True)
        unescaped = canonical_json(body, ensure_ascii=False)
    except (RecursionError, ValueError):
        return None
    if unescaped == escaped or not _utf8(unescaped):
        return [escaped]
    return [escaped, unescaped]


def _utf8(text: str) -> bool:
    """Whether text has a UTF-8 form (a lone surrogate, "\\ud800" in the JSON, has none)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _verify_signature(
    value: str,
    body: Callable[[], Any],
    credentials: WebhookCredentials,
    now_ms: int,
    max_age_seconds: int,
) -> AuthResult:
    if not credentials.checksum_keys:
        return AuthResult(False, V2, "X-Casso-Signature sent but no checksum key is configured")
    parsed = parse_signature_header(value)
    if parsed is None:
        return AuthResult(False, V2, _MALFORMED)
    timestamp, given = parsed
    if max_age_seconds and abs(now_ms - timestamp) > max_age_seconds * 1000:
        return AuthResult(False, V2, f"signature timestamp is more than {max_age_seconds}s away")
    parsed_body = body()
    if parsed_body is NOT_JSON:
        return AuthResult(False, V2, "body is not JSON, so its signature cannot be checked")
    forms = _canonical_forms(parsed_body)
    if forms is None:
        return AuthResult(False, V2, "body cannot be put in canonical JSON to check its signature")
    matches = [
        _same(given, _hmac_hex(key, timestamp, form))
        for key in credentials.checksum_keys
        for form in forms
    ]
    if any(matches):
        return AuthResult(True, V2)
    return AuthResult(False, V2, "X-Casso-Signature does not match the body")


def authenticate(
    headers: Mapping[str, str] | None,
    body: Callable[[], Any],
    credentials: WebhookCredentials,
    *,
    now_ms: int,
    max_age_seconds: int = 0,
) -> AuthResult:
    """Check whichever credentials the delivery presents; any one that verifies admits it.

    `body()` returns the parsed JSON body, or NOT_JSON; it is called only when a signature
    has to be checked (a token needs no parsing), so pass something that parses once.
    """
    screened = presented(headers)
    if not screened.ok:
        return screened
    signature = header(headers, SIGNATURE_HEADER)
    token = header(headers, TOKEN_HEADER)
    failures: list[AuthResult] = []
    # The token first: a constant-time compare, where a signature costs a parse and HMACs.
    if token:
        result = _verify_token(token, credentials)
        if result.ok:
            return result
        failures.append(result)
    if signature is not None:
        result = _verify_signature(signature, body, credentials, now_ms, max_age_seconds)
        if result.ok:
            return result
        failures.insert(0, result)
    return failures[0]
