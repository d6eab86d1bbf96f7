"""The reconciler's expiry step: unpaid orders past their expires_at become EXPIRED, each
with one `Order Expired` event (`orders.repository` says how that survives a crash).

Whoever expires an order publishes its event: this step or a transfer that found the order
past due first (`processor.effects.pay`). So the step publishes for an order it expired, and
for one expired earlier whose event never went out: EXPIRED and still `expiring` longer than
any processor invocation lasts (IN_FLIGHT), the expirer crashed before publishing. One
expired moments ago is the expirer's to publish: left in the index, the next run looks again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from casso_payments.aws.deadline import Deadline
from casso_payments.aws.dynamo import timestamp
from casso_payments.events.build import order_expired
from casso_payments.reconciler.report import ExpiryReport

if TYPE_CHECKING:
    from casso_payments.orders.model import Order
    from casso_payments.reconciler.deps import ReconcilerDeps

# Orders one run expires at most; the rest are the next run's (bounded like the sweep).
MAX_EXPIRED_PER_RUN: Final = 500
WRITE_SECONDS: Final = 2.0  # one order's update, event and index removal, generously
# Longer than a processor invocation can take (its Timeout, 30 s; a test holds this): an
# order expired longer ago and still `expiring` has an expirer that died before publishing.
IN_FLIGHT: Final = timedelta(minutes=2)


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
        order, by_us = orders.expire(key, now=now)
        if order is not None and not by_us and not _orphaned(order, now):
            continue  # its expirer is publishing (or did): theirs, not ours
        if order is not None:
            bus.publish([order_expired(order)])
            report.expired.append(key)
        # Published (or paid in time): out of the index, so no run sees it again.
        orders.expiry_done(key)


def _orphaned(order: Order, now: datetime) -> bool:
    """Expired by someone else, who died before its `Order Expired` went out."""
    if not order.expiring:
        return False  # out of the index: published
    return order.expired_at is None or order.expired_at <= timestamp(now - IN_FLIGHT)
