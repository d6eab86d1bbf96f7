"""Casso-side setup after a deploy: put the Casso API key in its secret and the V2 checksum
key in the webhook secret, and run the reconciler now so the webhook is registered without
waiting for the schedule."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from casso_payments.casso.credentials import FIELDS


class SetupError(RuntimeError):
    pass


@dataclass(frozen=True)
class KeyChange:
    secret_id: str
    # The key that was there, kept as checksum_key_previous so deliveries Casso still
    # retries with it keep verifying (docs/security.md#rotating-credentials).
    previous_kept: bool


def set_checksum_key(secretsmanager: Any, secret_id: str, key: str) -> KeyChange:
    """Set `checksum_key` in the webhook secret, keeping every other field."""
    key = key.strip()
    if not key or any(c.isspace() for c in key):
        raise SetupError('the checksum key must be one word (Casso\'s "Key bảo mật"), not empty')
    secret = _json_object(secretsmanager, secret_id)
    old = str(secret.get("checksum_key") or "")
    previous_kept = bool(old) and old != key
    if previous_kept:
        secret["checksum_key_previous"] = old
    secret["checksum_key"] = key
    for field in FIELDS:
        secret.setdefault(field, "")
    secretsmanager.put_secret_value(SecretId=secret_id, SecretString=json.dumps(secret))
    return KeyChange(secret_id, previous_kept)


@dataclass(frozen=True)
class ApiKeyChange:
    secret_id: str
    # An OAuth2 access token was there: emptied, as the reconciler prefers a token to a key
    # (casso_payments.casso.api_auth.CassoAuth.from_secret).
    access_token_dropped: bool


def set_api_key(secretsmanager: Any, secret_id: str, key: str) -> ApiKeyChange:
    """Set `api_key` in the Casso API key secret (`{"api_key": "..."}`, which
    casso_payments.casso.credentials.read_casso_auth reads), keeping any other field."""
    key = key.strip()
    if not key or any(c.isspace() for c in key):
        raise SetupError("the Casso API key must be one word (my.casso.vn, API Key), not empty")
    secret = _json_object(secretsmanager, secret_id)
    dropped = bool(str(secret.get("access_token") or "").strip())
    if dropped:
        secret["access_token"] = ""
    secret["api_key"] = key
    secretsmanager.put_secret_value(SecretId=secret_id, SecretString=json.dumps(secret))
    return ApiKeyChange(secret_id, dropped)


def _json_object(secretsmanager: Any, secret_id: str) -> dict[str, Any]:
    raw = secretsmanager.get_secret_value(SecretId=secret_id).get("SecretString") or "{}"
    try:
        secret = json.loads(raw)
    except ValueError:
        raise SetupError(f"secret {secret_id} is not JSON: fix it by hand first") from None
    if not isinstance(secret, dict):
        raise SetupError(f"secret {secret_id} is not a JSON object: fix it by hand first")
    return secret


@dataclass(frozen=True)
class RunResult:
    ok: bool
    summary: dict[str, Any]
    error: str = ""


def reconcile_now(lambda_client: Any, function_name: str) -> RunResult:
    """Invoke the reconciler synchronously, as the schedule would (an empty event)."""
    response = lambda_client.invoke(
        FunctionName=function_name, InvocationType="RequestResponse", Payload=b"{}"
    )
    raw = response["Payload"].read().decode() or "null"
    try:
        answer = json.loads(raw)
    except ValueError:
        answer = raw
    if response.get("FunctionError"):
        message = answer.get("errorMessage", raw) if isinstance(answer, dict) else raw
        return RunResult(False, {}, str(message))
    if not isinstance(answer, dict):
        return RunResult(False, {}, f"unexpected answer from {function_name}: {raw[:200]}")
    return RunResult(bool(answer.get("ok")), answer)


def describe_run(summary: dict[str, Any]) -> list[str]:
    """The run's summary in a few lines a person reads."""
    if summary.get("skipped"):
        return [f"skipped: {summary['skipped']} (try again in a moment)"]
    webhook = summary.get("webhook") or {}
    backfill = summary.get("backfill") or {}
    sweep = summary.get("sweep") or {}
    lines = [
        f"webhook: {webhook.get('action') or 'failed'} (id {webhook.get('webhook_id')})"
        + (f", drift {', '.join(webhook['drift'])}" if webhook.get("drift") else ""),
        f"backfill: {backfill.get('checked', 0)} checked, {len(backfill.get('missing') or [])} "
        f"missing, {backfill.get('backfilled', 0)} backfilled",
        f"sweep: {len(sweep.get('requeued') or [])} re-queued, "
        f"{sweep.get('parked_total', 0)} parked",
    ]
    expiry = summary.get("expiry")
    if expiry:
        expired = expiry.get("expired") or []
        named = ", ".join(expired[:5]) + (", ..." if len(expired) > 5 else "")
        lines.append(f"expiry: {len(expired)} expired" + (f" ({named})" if expired else ""))
    if backfill.get("webhook_probably_paused"):
        lines.append("webhook probably paused: replay the held events in Casso's UI")
    for name in ("webhook", "backfill", "sweep", "sync", "expiry"):
        step = summary.get(name) or {}
        if step.get("error"):
            lines.append(f"{name} failed: {step['error']}")
        if step.get("stopped"):
            lines.append(f"{name} stopped: {step['stopped']}")
    return lines
