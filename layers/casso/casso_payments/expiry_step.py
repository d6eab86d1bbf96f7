"""The reconciler's expiry step: unpaid orders past their expires_at become EXPIRED, each
with one `Order Expired` event (`order_expiry` says how that survives a crash)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Final

from casso_payments import order_expiry
from casso_payments.payment_events import ORDER_EXPIRED, PaymentEvent, publish
from casso_payments.reconcile_report import ExpiryReport
from casso_payments.run_budget import Deadline

if TYPE_CHECKING:
    from casso_payments.reconcile import ReconcilerDeps

# Orders one run expires at most; the rest are the next run's (bounded like the sweep).
MAX_EXPIRED_PER_RUN: Final = 500
WRITE_SECONDS: Final = 2.0  # one order's update, event and index removal, generously


def expire_due(
    deps: ReconcilerDeps, report: ExpiryReport, *, now: datetime, deadline: Deadline
) -> None:
    settings, events = deps.settings, deps.events
    if events is None:  # no bus, no step: `reconcile` runs it only with one
        return
    table = settings.orders_table_name
    keys = order_expiry.due(deps.dynamodb, table, now=now, limit=MAX_EXPIRED_PER_RUN)
    report.due = len(keys)
    if settings.dry_run:
        return
    for key in keys:
        deadline.require(WRITE_SECONDS, "expiring the next order")
        order, _ = order_expiry.expire(deps.dynamodb, table, key, now=now)
        if order is not None:
            detail = order_expiry.expired_event(order)
            publish(events(), settings.event_bus_name, [PaymentEvent(ORDER_EXPIRED, detail)])
            report.expired.append(key)
        # Published (or paid in time): out of the index, so no run sees it again.
        order_expiry.done(deps.dynamodb, table, key)
