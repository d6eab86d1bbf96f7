"""The reconciler's expiry step: unpaid orders past their expires_at become EXPIRED, each
with one `Order Expired` event (`orders.repository` says how that survives a crash)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Final

from casso_payments.aws.deadline import Deadline
from casso_payments.events.build import order_expired
from casso_payments.reconciler.report import ExpiryReport

if TYPE_CHECKING:
    from casso_payments.reconciler.deps import ReconcilerDeps

# Orders one run expires at most; the rest are the next run's (bounded like the sweep).
MAX_EXPIRED_PER_RUN: Final = 500
WRITE_SECONDS: Final = 2.0  # one order's update, event and index removal, generously


def expire_due(
    deps: ReconcilerDeps, report: ExpiryReport, *, now: datetime, deadline: Deadline
) -> None:
    orders, bus = deps.orders, deps.bus
    if orders is None or bus is None:  # no orders or no bus, no step: `run` runs it with both
        return
    keys = orders.due(now=now, limit=MAX_EXPIRED_PER_RUN)
    report.due = len(keys)
    if deps.settings.dry_run:
        return
    for key in keys:
        deadline.require(WRITE_SECONDS, "expiring the next order")
        order, _ = orders.expire(key, now=now)
        if order is not None:
            bus.publish([order_expired(order)])
            report.expired.append(key)
        # Published (or paid in time): out of the index, so no run sees it again.
        orders.expiry_done(key)
