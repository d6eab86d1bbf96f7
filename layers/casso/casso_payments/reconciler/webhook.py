"""The reconciler's webhook step: make Casso's webhook match the desired one (this stack's
URL, the current secure token, income-only), remembering its id in STATE#webhook."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING, Final

from casso_payments.aws.dynamo import timestamp
from casso_payments.casso.client import CassoClient, WebhookNotFound
from casso_payments.reconciler.report import WebhookReport

if TYPE_CHECKING:
    from casso_payments.reconciler.deps import ReconcilerDeps

WEBHOOK_STATE: Final = "webhook"


def token_hash(token: str) -> str:
    # What we registered, without storing the token itself beside the transactions.
    return hashlib.sha256(token.encode()).hexdigest()


def ensure_webhook(
    deps: ReconcilerDeps, casso: CassoClient, report: WebhookReport, *, now: datetime
) -> None:
    settings = deps.settings
    token = deps.secure_token()
    desired = {"url": settings.webhook_url, "income_only": settings.income_only}
    state = deps.ledger.get_state(WEBHOOK_STATE) or {}
    # When Casso started sending to this webhook: the paused-webhook check counts from here.
    registered_at = state.get("registered_at") or state.get("updated_at") or timestamp(now)
    current = None
    if state.get("webhook_id") is not None:
        try:
            current = casso.get_webhook(int(state["webhook_id"]))
        except WebhookNotFound:
            current = None
    if current is None:
        report.action = "would create" if settings.dry_run else "created"
        report.drift = ["missing"]
        if settings.dry_run:
            return
        # Whatever Casso holds for our URL (copies, an id we lost) goes first: one webhook.
        report.duplicates_removed = len(casso.delete_webhooks_by_url(settings.webhook_url))
        created = casso.create_webhook(
            settings.webhook_url, token, income_only=settings.income_only
        )
        report.webhook_id = created.id
        registered_at = timestamp(now)
    else:
        report.webhook_id = current.id
        if current.url != desired["url"]:
            report.drift.append("url")
        if current.income_only != desired["income_only"]:
            report.drift.append("income_only")
        if state.get("token_sha256") != token_hash(token):
            report.drift.append("secure_token")
        if not report.drift:
            report.action = "unchanged"
            return
        report.action = "would update" if settings.dry_run else "updated"
        if settings.dry_run:
            return
        casso.update_webhook(
            current.id, settings.webhook_url, token, income_only=settings.income_only
        )
    deps.ledger.put_state(
        WEBHOOK_STATE,
        {
            "webhook_id": report.webhook_id,
            **desired,
            "token_sha256": token_hash(token),
            "updated_at": timestamp(now),
            "registered_at": registered_at,
        },
    )
