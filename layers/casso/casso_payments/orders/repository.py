"""The orders table's one owner: every key, expression, conditional write and read-back.

Item shape: `orders.model`. Keys are canonical order codes (`orders.codes`), so any spelling
finds its order. Every change to an order is conditional on what was read (optimistic): a
transfer is added only if it isn't there yet and the order is as read, so one transaction is
never applied twice, exactly one transfer per order settles it, and a retry reads back what
the transfer produced rather than the order's current state (design invariant 7). A
concurrent change refuses the write; the order is read again and the write tried again.

Expiry: an order created with `expires_at` carries `expiring` (the sparse ExpiringIndex's
key) while it may still expire. Past it, a PENDING or PARTIALLY_PAID order becomes EXPIRED
(`expire`, conditional on the status, so a payment and an expiry racing can't both win, and
exactly one caller is told it expired the order), its `Order Expired` event goes out, and
only then `expiring` is removed (`expiry_done`): a crash between the two leaves it in the
index for the next run. The caller that expired the order (a transfer or the reconciler)
publishes the event; another publishes only for an order left EXPIRED and `expiring` longer
than its expirer can still be running (`reconciler.expiry`), so the event goes out once per
order. The reconciler finds due orders with one Query on the index (`due`), never a scan.
A transfer for an EXPIRED or CANCELLED order is kept on it as a late payment (`keep_late`,
once, like payments) and settles nothing. The shop's API cancels an open order (`cancel`)
and lists orders newest first from ListedIndex (`page`), never a scan.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Unpack

from casso_payments.aws.dynamo import (
    Table,
    Written,
    from_dynamodb,
    placeholders,
    timestamp,
    to_dynamodb,
)
from casso_payments.orders.codes import canonical_code
from casso_payments.orders.model import (
    CANCELLED,
    CLOSED,
    EXPIRED,
    EXPIRING,
    LISTED,
    OPEN,
    SETTLED,
    AppliedPayment,
    Order,
    OrderClosed,
    OrderError,
    OrderExists,
    OrderExpired,
    PaymentResult,
    RefundResult,
    new_order,
    order_from_values,
    refund_result,
    settle,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from casso_payments.orders.model import OrderOptions

EXPIRING_INDEX: Final = "ExpiringIndex"
LISTED_INDEX: Final = "ListedIndex"
ATTEMPTS: Final = 5  # optimistic writes tried before giving up on an order that keeps changing


class Orders:
    """The orders table, through one DynamoDB client."""

    def __init__(self, dynamodb: DynamoDBClient, table: str) -> None:
        self.table = Table(dynamodb, table)

    def create(
        self,
        order_code: str,
        expected_amount: int,
        *,
        now: datetime,
        **options: Unpack[OrderOptions],
    ) -> Order:
        """Create a PENDING order (`model.new_order` says what `options` do). Raises
        OrderError if `new_order` refuses it or an order with the same canonical code exists."""
        order, item = new_order(order_code, expected_amount, now=now, **options)
        if not self.table.put_if(item, "attribute_not_exists(pk)").written:
            raise OrderExists(f"an order with code {order.key} already exists")
        return order

    def get(self, order_code: str) -> Order | None:
        """The order for any spelling of its code (`dh-0035` finds `DH35`), or None."""
        values = self.table.get({"pk": canonical_code(order_code)})
        return order_from_values(values) if values else None

    def existing(self, codes: Iterable[str]) -> list[Order]:
        """The orders among `codes` that exist, in the order the codes were given."""
        return [order for code in codes if (order := self.get(code)) is not None]

    def _update(
        self,
        key: str,
        update: str,
        condition: str,
        values: dict[str, Any],
        names: dict[str, str] | None = None,
        returns: str = "",
    ) -> Written:
        return self.table.update_if(
            {"pk": key}, update, condition, names=names, returns=returns, **values
        )

    def _reread(self, order: Order, doing: str) -> Order:
        """The order as it is now, after a concurrent change refused our write while `doing`."""
        current = self.get(order.key)
        if current is None:
            raise OrderError(f"order {order.key} disappeared while {doing}")
        return current

    def pay(
        self,
        order: Order,
        *,
        transaction_id: int,
        amount: int,
        tolerance: int,
        now: datetime,
        accept_expired: bool = False,
        source: str = "",
    ) -> PaymentResult:
        """Add a transfer (from `source`) to an order, once, within `tolerance` VND of its
        amount. An EXPIRED or CANCELLED order takes no payment (OrderClosed) unless a person
        accepted it late."""
        for _ in range(ATTEMPTS):
            if transaction_id in order.applied:
                return PaymentResult(order, False, order.applied[transaction_id])
            if order.status == EXPIRED and not accept_expired:
                raise OrderExpired(f"order {order.key} expired at {order.expired_at}")
            if order.status == CANCELLED and not accept_expired:
                raise OrderClosed(f"order {order.key} was cancelled at {order.cancelled_at}")
            paid = order.paid_amount + amount
            status = settle(order.expected_amount, paid, tolerance)
            # Writes are serialised by the paid_amount condition, so exactly one transfer per
            # order sees an unsettled order before it and a settled one after it.
            settles = status in SETTLED and order.status not in SETTLED
            payment = AppliedPayment(amount, status, paid, settles)
            at = timestamp(now)
            update = "SET payments.#tid = :payment, paid_amount = :paid, #status = :status, "
            update += "updated_at = :at"
            if status in SETTLED:  # it can't expire any more: out of ExpiringIndex
                update += ", paid_at = if_not_exists(paid_at, :at) REMOVE expiring"
            # The status must be the one read: an order that expired meanwhile takes the
            # transfer as a late payment instead.
            condition = "attribute_exists(pk) AND paid_amount = :before AND #status = :was"
            condition += " AND attribute_not_exists(payments.#tid)"
            stored = {"amount": amount, "at": at, "status": status, "paid_amount": paid}
            stored |= {"source": source} if source else {}
            values = {"payment": {**stored, "settles": settles}, "paid": paid, "status": status}
            values |= {"at": at, "before": order.paid_amount, "was": order.status}
            names = {"#tid": str(transaction_id), "#status": "status"}
            written = self._update(order.key, update, condition, values, names, "ALL_NEW")
            if written.written:
                return PaymentResult(
                    order_from_values(from_dynamodb(written.attributes)), True, payment
                )
            order = self._reread(order, "being paid")
        raise OrderError(f"order {order.key} kept changing; gave up after {ATTEMPTS} attempts")

    def add_refund(
        self, order: Order, *, transaction_id: int, amount: int, now: datetime
    ) -> RefundResult:
        """Record `amount` VND (positive) sent back for `order`, once: `refunds` and the
        order's `refunded_amount`, conditional on the transfer not being there yet and on the
        total read (so concurrent refunds serialise and each keeps the total it produced)."""
        # Orders written before refunds existed (or by other systems) have no map to add to.
        self._update(
            order.key,
            "SET refunds = if_not_exists(refunds, :none)",
            "attribute_exists(pk)",
            {"none": {}},
        )
        at = timestamp(now)
        names = {"#tid": str(transaction_id)}
        for _ in range(ATTEMPTS):
            if transaction_id in order.refunds:
                return refund_result(order, transaction_id, False)
            before = order.refunded_amount
            total = before + amount
            update = "SET refunds.#tid = :refund, refunded_amount = :total, updated_at = :at"
            condition = "attribute_not_exists(refunds.#tid) AND ("
            condition += "attribute_not_exists(refunded_amount) OR " if before == 0 else ""
            condition += "refunded_amount = :before)"
            refund = {"amount": amount, "at": at, "refunded_amount": total}
            values = {"refund": refund, "total": total, "at": at, "before": before}
            if self._update(order.key, update, condition, values, names).written:
                return refund_result(self.get(order.key) or order, transaction_id, True)
            order = self._reread(order, "refunding")
        raise OrderError(f"order {order.key} kept changing; gave up after {ATTEMPTS} attempts")

    def due(self, *, now: datetime, limit: int) -> list[str]:
        """Keys of orders whose expiry has passed and still carry `expiring`, oldest first."""
        keys: list[str] = []
        condition = "expiring = :due AND expires_at <= :now"
        for page in self.table.query(
            EXPIRING_INDEX, condition, limit=limit, due=EXPIRING, now=timestamp(now)
        ):
            keys += [item["pk"]["S"] for item in page.get("Items", [])]
            if len(keys) >= limit:
                return keys[:limit]
        return keys

    def expire(self, key: str, *, now: datetime) -> tuple[Order | None, bool]:
        """Make the order EXPIRED if it is still open and due: (the order when it is EXPIRED,
        None when it was paid in time; whether this call expired it)."""
        at = timestamp(now)
        update = "SET #status = :expired, expired_at = :at, updated_at = :at, "
        update += "late_payments = if_not_exists(late_payments, :none)"
        condition = "#status IN (:pending, :partial) AND expires_at <= :at"
        values = {"expired": EXPIRED, "at": at, "none": {}, "pending": OPEN[0], "partial": OPEN[1]}
        written = self._update(key, update, condition, values, {"#status": "status"}, "ALL_NEW")
        if written.written:
            return self.get(key), True
        current = self.get(key)
        if current is None or current.status != EXPIRED:
            if current is not None and current.status not in OPEN:
                self.expiry_done(key)  # settled: nothing will expire it any more
            return None, False
        return current, False

    def expiry_done(self, key: str) -> None:
        """The order's expiry is handled (event published, or paid in time): out of the index."""
        self.table.dynamodb.update_item(
            TableName=self.table.name,
            Key={"pk": {"S": key}},
            UpdateExpression="REMOVE expiring",
            ConditionExpression="attribute_exists(pk)",
        )

    def keep_late(
        self, order: Order, *, transaction_id: int, amount: int, now: datetime
    ) -> tuple[Order, bool]:
        """Keep a transfer on its EXPIRED or CANCELLED order as a late payment, once;
        (order, newly added)."""
        if transaction_id in order.late:
            return order, False
        update = "SET late_payments.#tid = :late, updated_at = :at"
        condition = "#status IN (:expired, :cancelled)"
        condition += " AND attribute_not_exists(late_payments.#tid)"
        condition += " AND attribute_not_exists(payments.#tid)"
        values = {"late": {"amount": amount, "at": timestamp(now)}, "at": timestamp(now)}
        values |= dict(zip(("expired", "cancelled"), CLOSED, strict=True))
        names = {"#tid": str(transaction_id), "#status": "status"}
        written = self._update(order.key, update, condition, values, names)
        current = self.get(order.key)
        if written.written:
            return current or order, True
        if current is not None and transaction_id in current.late:
            return current, False
        raise OrderError(
            f"order {order.key}: transaction {transaction_id} can't be kept as a late payment"
            f" (the order is {current.status if current else 'gone'})"
        )

    def cancel(self, order_code: str, *, now: datetime) -> tuple[Order | None, bool]:
        """Move an open order to CANCELLED: (the order as it is now, None if there is none;
        whether this call cancelled it). Conditional on the status, so a payment and a cancel
        racing can't both win. It leaves ExpiringIndex: nothing will expire it any more."""
        key = canonical_code(order_code)
        at = timestamp(now)
        update = "SET #status = :cancelled, cancelled_at = :at, updated_at = :at, "
        update += "late_payments = if_not_exists(late_payments, :none) REMOVE expiring"
        condition = "#status IN (:pending, :partial)"
        values = {"cancelled": CANCELLED, "at": at, "none": {}}
        values |= dict(zip(("pending", "partial"), OPEN, strict=True))
        written = self._update(key, update, condition, values, {"#status": "status"}, "ALL_NEW")
        if written.written:
            return order_from_values(from_dynamodb(written.attributes)), True
        return self.get(key), False

    def cancel_done(self, key: str) -> None:
        """The order's `Order Cancelled` is out: a repeated cancel won't publish it again."""
        self._update(key, "SET cancel_published = :yes", "attribute_exists(pk)", {"yes": True})

    def page(
        self,
        *,
        limit: int,
        status: str | None = None,
        after: str | None = None,
        cursor: dict[str, Any] | None = None,
    ) -> tuple[list[Order], dict[str, Any] | None]:
        """Up to `limit` orders newest first (of `status`, created after `after`), from
        ListedIndex, starting past `cursor`; and the cursor of the next page (None: no more).
        A status filter reads on until the page is full or the index ends."""
        condition = "listed = :listed" + (" AND created_at > :after" if after else "")
        values: dict[str, Any] = {"listed": LISTED} | ({"after": after} if after else {})
        request: dict[str, Any] = {"TableName": self.table.name, "IndexName": LISTED_INDEX}
        request |= {"KeyConditionExpression": condition, "ScanIndexForward": False}
        if status:
            request |= {"FilterExpression": "#status = :status"}
            request |= {"ExpressionAttributeNames": {"#status": "status"}}
            values["status"] = status
        request["ExpressionAttributeValues"] = placeholders(**values)
        found: list[Order] = []
        start = cursor
        while True:
            start_at: dict[str, Any] = {"ExclusiveStartKey": to_dynamodb(start)} if start else {}
            answer = self.table.dynamodb.query(**request, **start_at, Limit=limit + 1)
            for item in answer.get("Items", []):
                if len(found) == limit:  # one more exists: the page ends at the last kept
                    last = found[-1]
                    return found, {"pk": last.key, "listed": LISTED, "created_at": last.created_at}
                found.append(order_from_values(from_dynamodb(item)))
            if "LastEvaluatedKey" not in answer:
                return found, None
            start = from_dynamodb(answer["LastEvaluatedKey"])
