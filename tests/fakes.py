"""In-memory stand-ins for the layer's AWS owners, for tests of the logic above them.

`FakeLedger` and `FakeOrders` keep each table as a dict of items keyed by `pk`, in plain
values as DynamoDB gives them back (numbers as Decimal); `FakeBus` keeps the events published,
`FakeQueue` the messages sent, `FakeBalanceChain` the balance chain's items by (pk, sk),
`FakeNotificationLog` every notification attempt. Each has its real owner's public methods,
signatures and answers, conditional writes included: the first writer wins, a binding is
made once, a transfer is applied to an order once (an order changed meanwhile is read
again), an order expires only while open and due, a late payment is kept once. Items are
built with the real shape helpers (`ledger.repository.new_item`, `orders.model.new_order`)
and read back with the real conversions (`entry_from_values`, `order_from_values`).

tests/unit/test_repository_contract.py runs the same scenarios on these and on the real owners
over moto, and compares the tables item for item: a fake that drifts from its owner fails there
(test_balance_chain_contract.py: the chain's; test_notification_log_contract.py: the
notification log's).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Unpack

from botocore.exceptions import ClientError

from casso_payments.aws.bus import SOURCE, Event
from casso_payments.aws.dynamo import from_dynamodb, timestamp, to_dynamodb
from casso_payments.aws.queue import TransactionMessage
from casso_payments.casso.payload import Transaction
from casso_payments.chain.links import Gap, Link
from casso_payments.chain.repository import ACCOUNT as CHAIN_ACCOUNT
from casso_payments.chain.repository import LINK as CHAIN_LINK
from casso_payments.chain.repository import (
    STARTS,
    gap_from,
    link_from,
    link_item,
    start_item,
    start_key,
)
from casso_payments.ledger.entries import (
    ORDER,
    PROCESSED,
    QUARANTINED,
    RECEIVED,
    STUCK,
    AlreadyDone,
    Binding,
    LedgerEntry,
    NotInLedger,
    QuarantinedDelivery,
    RecordResult,
    Superseded,
    entry_from_values,
    quarantined_from,
    test_call_values,
)
from casso_payments.ledger.repository import (
    LEASE,
    QUARANTINE,
    STATE,
    TEST_CALL,
    TXN,
    VERSION,
    body_digest,
    new_item,
)
from casso_payments.ledger.versions import (
    OPEN as VERSION_OPEN,
)
from casso_payments.ledger.versions import (
    UNAPPLIED_OUTCOMES,
    Kept,
    Version,
    assess,
    version_from,
    version_values,
)
from casso_payments.notify.log import Attempt, attempt_item
from casso_payments.orders.codes import canonical_code
from casso_payments.orders.model import (
    CANCELLED,
    CLOSED,
    EXPIRED,
    EXPIRING,
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
from casso_payments.orders.repository import ATTEMPTS
from local.stack.event_schemas import check as check_event_schema

if TYPE_CHECKING:
    from casso_payments.orders.model import OrderOptions

Item = dict[str, Any]


def _plain(values: Item) -> Item:
    """`values` as DynamoDB keeps and returns them (numbers as Decimal), as a fresh copy;
    what DynamoDB's serializer refuses (a float) is refused here too."""
    return from_dynamodb(to_dynamodb(values))


class FakeLedger:
    """The ledger table (`ledger.repository.Ledger`) in memory."""

    def __init__(self) -> None:
        self.items: dict[str, Item] = {}

    def _transaction(self, transaction_id: int) -> Item:
        """The stored item, to change in place; {} when there is none (every condition on a
        transaction then fails, so nothing is written to it)."""
        return self.items.get(f"{TXN}{transaction_id}", {})

    def _read(self, pk: str) -> Item | None:
        item = self.items.get(pk)
        return _plain(item) if item is not None else None

    # Transactions ---------------------------------------------------------------------

    def record(self, item: dict[str, Any]) -> RecordResult:
        values = from_dynamodb(item)
        stored = self._read(values["pk"])
        if stored is not None:
            return RecordResult(False, entry_from_values(stored))
        self.items[values["pk"]] = values
        return RecordResult(True)

    def record_transaction(
        self, transaction: Transaction, *, source: str, now: datetime
    ) -> RecordResult:
        return self.record(new_item(transaction, source=source, received_at=timestamp(now)))

    def get(self, transaction_id: int) -> LedgerEntry | None:
        values = self._read(f"{TXN}{transaction_id}")
        return entry_from_values(values) if values else None

    def stored(self, transaction_id: int) -> dict[str, Any] | None:
        values = self._read(f"{TXN}{transaction_id}")
        return values if values and values.get("kind") == "transaction" else None

    def bind(self, transaction_id: int, binding: Binding, revision: int = 0) -> Binding:
        item = self._transaction(transaction_id)
        at_revision = int(item.get("revision", 0)) == revision
        if "binding" not in item and item.get("status") == RECEIVED and at_revision:
            item["binding"] = _plain(binding.to_item())
            return binding
        if item and not at_revision:
            raise Superseded(f"transaction {transaction_id} was replaced by a stronger version")
        if item.get("binding"):
            return Binding.from_item(_plain(item["binding"]))
        raise AlreadyDone(f"transaction {transaction_id} is no longer RECEIVED")

    def mark_processed(
        self,
        transaction_id: int,
        *,
        outcome: str,
        order_code: str | None,
        now: datetime,
        revision: int = 0,
    ) -> bool:
        item = self._transaction(transaction_id)
        if item.get("status") != RECEIVED or int(item.get("revision", 0)) != revision:
            return False
        values = {"status": PROCESSED, "outcome": outcome, "processed_at": timestamp(now)}
        item |= _plain(values if order_code is None else {**values, "order_code": order_code})
        item.pop("pending", None)
        return True

    # Versions of a transaction ----------------------------------------------------------

    def claim(self, transaction_id: int, *, revision: int, now: datetime) -> bool:
        item = self._transaction(transaction_id)
        if item.get("status") != RECEIVED or int(item.get("revision", 0)) != revision:
            return False
        item["applying"] = timestamp(now)
        return True

    def replace(
        self, item: dict[str, Any], *, revision: int, replays: int, displaced: dict[str, Any]
    ) -> bool:
        values = from_dynamodb(item)
        stored = self.items.get(values["pk"], {})
        status, outcome = stored.get("status"), stored.get("outcome")
        unapplied = (status == RECEIVED and "applying" not in stored) or (
            status == PROCESSED and outcome in UNAPPLIED_OUTCOMES
        )
        same = (int(stored.get("revision", 0)), int(stored.get("replays", 0))) == (
            revision,
            replays,
        )
        if stored.get("kind") != "transaction" or not unapplied or not same:
            return False
        counts = {"revision": revision + 1, "replays": replays + 1, "displaced": displaced}
        self.items[values["pk"]] = values | _plain(counts)
        return True

    def keep_version(
        self, stored: LedgerEntry, transaction: Transaction, *, source: str, now: datetime
    ) -> Kept | None:
        assessed = assess(stored, transaction, source)
        if assessed is None:
            return None
        differs, state = assessed
        values = version_values(transaction, source, timestamp(now), state, differs, stored.source)
        pk = f"{VERSION}{transaction.id}#{values['version']}"
        new = pk not in self.items
        if new:
            self.items[pk] = _plain({"pk": pk, **values})
        still = self.items[pk]["state"]
        return Kept(transaction.id, values["version"], differs, still == VERSION_OPEN, new)

    def get_version(self, transaction_id: int, key: str) -> Version | None:
        values = self._read(f"{VERSION}{transaction_id}#{key}")
        return version_from(values) if values and values.get("kind") == "version" else None

    def set_version_state(
        self, transaction_id: int, key: str, state: str, *, was: tuple[str, ...], **sets: Any
    ) -> bool:
        item = self.items.get(f"{VERSION}{transaction_id}#{key}", {})
        if item.get("kind") != "version" or item.get("state") not in was:
            return False
        item |= _plain({"state": state, **sets})
        return True

    def list_versions(self) -> list[Version]:
        found = [version_from(_plain(v)) for v in self.items.values() if v["kind"] == "version"]
        return sorted(found, key=lambda v: (v.received_at, v.key))

    def _reopen(self, item: Item, now: datetime) -> int:
        replays = int(item.get("replays", 0)) + 1
        reopened = {"status": RECEIVED, "pending": RECEIVED, "replayed_at": timestamp(now)}
        item |= _plain({**reopened, "replays": replays})
        return replays

    def reopen_for_replay(self, transaction_id: int, *, now: datetime) -> int:
        item = self._transaction(transaction_id)
        if item.get("kind") != "transaction":
            raise NotInLedger(f"transaction {transaction_id} is not in the ledger")
        item.pop("sweeps", None)  # an operator's replay gets the sweep's full patience again
        return self._reopen(item, now)

    def rebind(
        self,
        transaction_id: int,
        binding: Binding,
        *,
        now: datetime,
        was: str,
        outcomes: tuple[str, ...],
        money_in_unbound: bool = False,
    ) -> int | None:
        item = self._transaction(transaction_id)
        if not _processed_as(item, outcomes):
            return None
        if money_in_unbound and (
            not item.get("amount", 0) > 0 or (item.get("binding") or {}).get("decision") == ORDER
        ):
            return None
        item |= _plain({"binding": binding.to_item(), was: item["outcome"]})
        return self._reopen(item, now)

    def close(
        self, transaction_id: int, *, outcomes: tuple[str, ...], keep_as: str = "", **sets: Any
    ) -> dict[str, Any] | None:
        item = self._transaction(transaction_id)
        if not _processed_as(item, outcomes):
            return None
        kept = {keep_as: item["outcome"]} if keep_as else {}
        item |= _plain({**kept, **sets})
        return _plain(item)

    # The reconciler's queries and its sweep --------------------------------------------

    def pending_before(self, cutoff: datetime, *, limit: int | None = None) -> list[int]:
        before = timestamp(cutoff)
        found = sorted(
            (item["received_at"], int(pk.removeprefix(TXN)))
            for pk, item in self.items.items()
            if item.get("pending") == RECEIVED and item["received_at"] < before
        )
        ids = [transaction_id for _, transaction_id in found]
        return ids if limit is None else ids[:limit]

    def count_stuck(self) -> int:
        return sum(item.get("pending") == STUCK for item in self.items.values())

    def count_sweep(
        self, transaction_id: int, *, max_sweeps: int, now: datetime, not_since: datetime
    ) -> bool | None:
        item = self._transaction(transaction_id)
        sweeps = item.get("sweeps", 0)
        received = item.get("status") == RECEIVED
        rested = "swept_at" not in item or item["swept_at"] < timestamp(not_since)
        if received and sweeps < max_sweeps and rested:
            item |= _plain({"swept_at": timestamp(now), "sweeps": int(sweeps) + 1})
            return True
        return False if received and sweeps >= max_sweeps else None

    def park_stuck(self, transaction_id: int) -> bool:
        item = self._transaction(transaction_id)
        if item.get("status") != RECEIVED:
            return False
        item["pending"] = STUCK
        return True

    def delivery_facts(self, transaction_ids: list[int]) -> dict[int, dict[str, Any]]:
        facts: dict[int, dict[str, Any]] = {}
        for transaction_id in dict.fromkeys(transaction_ids):
            if item := self._read(f"{TXN}{transaction_id}"):
                wanted = ("source", "received_at", "status", "outcome", "raw")
                facts[transaction_id] = {k: item[k] for k in wanted if k in item}
        return facts

    # State and the reconciler's lease; quarantined deliveries and test calls ------------

    def get_state(self, name: str) -> dict[str, Any] | None:
        values = self._read(STATE + name)
        return {k: v for k, v in values.items() if k not in ("pk", "kind")} if values else None

    def put_state(self, name: str, values: dict[str, Any]) -> None:
        item = _plain({"pk": STATE + name, "kind": "state", **values})
        self.items[item["pk"]] = item

    def acquire_lease(self, *, owner: str, now: datetime, seconds: float) -> dict[str, Any] | None:
        held = self._read(LEASE)
        if held is None or ("expires_at" in held and held["expires_at"] < timestamp(now)):
            until = timestamp(now + timedelta(seconds=seconds))
            lease = {"pk": LEASE, "kind": "state", "owner": owner, "acquired_at": timestamp(now)}
            self.items[LEASE] = _plain({**lease, "expires_at": until})
            return None
        return {k: held.get(k) for k in ("owner", "acquired_at", "expires_at")}

    def release_lease(self, *, owner: str) -> None:
        if self.items.get(LEASE, {}).get("owner") == owner:
            del self.items[LEASE]

    def quarantine(self, *, body: str, reason: str, generation: str, now: datetime) -> bool:
        item = {"pk": QUARANTINE + body_digest(body), "kind": "quarantine", "status": QUARANTINED}
        item |= {"reason": reason, "generation": generation, "received_at": timestamp(now)}
        if item["pk"] in self.items:
            return False
        self.items[item["pk"]] = _plain({**item, "body": body})
        return True

    def list_quarantined(self) -> list[QuarantinedDelivery]:
        found = [
            quarantined_from(values, QUARANTINE, with_body=False)
            for values in self.items.values()
            if values.get("kind") == "quarantine"
        ]
        return sorted(found, key=lambda d: (d.received_at, d.key))

    def get_quarantined(self, key: str) -> QuarantinedDelivery | None:
        values = self._read(QUARANTINE + key.removeprefix(QUARANTINE))
        if not values or values.get("kind") != "quarantine":
            return None
        return quarantined_from(values, QUARANTINE, with_body=True)

    def discard_quarantined(self, key: str) -> bool:
        pk = QUARANTINE + key.removeprefix(QUARANTINE)
        if self.items.get(pk, {}).get("kind") != "quarantine":
            return False
        del self.items[pk]
        return True

    def record_test_call(self, transaction: Transaction, *, source: str, now: datetime) -> str:
        at = timestamp(now)
        key = f"{TEST_CALL}{at}#{source}"
        self.items[key] = _plain({"pk": key, **test_call_values(transaction, source=source, at=at)})
        return key


def _processed_as(item: Item, outcomes: tuple[str, ...]) -> bool:
    """A transaction processed with one of `outcomes`: what a person's decision needs."""
    return (
        item.get("kind") == "transaction"
        and item.get("status") == PROCESSED
        and item.get("outcome") in {str(outcome) for outcome in outcomes}
    )


class FakeOrders:
    """The orders table (`orders.repository.Orders`) in memory."""

    def __init__(self) -> None:
        self.items: dict[str, Item] = {}

    def create(
        self,
        order_code: str,
        expected_amount: int,
        *,
        now: datetime,
        **options: Unpack[OrderOptions],
    ) -> Order:
        order, item = new_order(order_code, expected_amount, now=now, **options)
        if order.key in self.items:
            raise OrderExists(f"an order with code {order.key} already exists")
        self.items[order.key] = _plain(item)
        return order

    def get(self, order_code: str) -> Order | None:
        values = self.items.get(canonical_code(order_code))
        return order_from_values(_plain(values)) if values else None

    def existing(self, codes: Iterable[str]) -> list[Order]:
        return [order for code in codes if (order := self.get(code)) is not None]

    def _reread(self, order: Order, doing: str) -> Order:
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
        tid = str(transaction_id)
        for _ in range(ATTEMPTS):
            if transaction_id in order.applied:
                return PaymentResult(order, False, order.applied[transaction_id])
            if order.status == EXPIRED and not accept_expired:
                raise OrderExpired(f"order {order.key} expired at {order.expired_at}")
            if order.status == CANCELLED and not accept_expired:
                raise OrderClosed(f"order {order.key} was cancelled at {order.cancelled_at}")
            paid = order.paid_amount + amount
            status = settle(order.expected_amount, paid, tolerance)
            settles = status in SETTLED and order.status not in SETTLED
            payment = AppliedPayment(amount, status, paid, settles)
            item = self.items.get(order.key)
            # As read: the paid amount and the status (an order expired meanwhile refuses).
            if (
                item is not None
                and item.get("paid_amount") == order.paid_amount
                and item.get("status") == order.status
                and tid not in item["payments"]
            ):
                at = timestamp(now)
                stored = {"amount": amount, "at": at, "status": status, "paid_amount": paid}
                stored |= {"source": source} if source else {}
                item["payments"][tid] = _plain({**stored, "settles": settles})
                item |= _plain({"paid_amount": paid, "status": status, "updated_at": at})
                if status in SETTLED:  # it can't expire any more
                    item.setdefault("paid_at", at)
                    item.pop("expiring", None)
                return PaymentResult(order_from_values(_plain(item)), True, payment)
            order = self._reread(order, "being paid")
        raise OrderError(f"order {order.key} kept changing; gave up after {ATTEMPTS} attempts")

    def add_refund(
        self, order: Order, *, transaction_id: int, amount: int, now: datetime
    ) -> RefundResult:
        tid, at = str(transaction_id), timestamp(now)
        if order.key in self.items:
            self.items[order.key].setdefault("refunds", {})
        for _ in range(ATTEMPTS):
            if transaction_id in order.refunds:
                return refund_result(order, transaction_id, False)
            before = order.refunded_amount
            item = self.items.get(order.key)
            # As read: the refunded total (none yet, for the first refund).
            if (
                item is not None
                and tid not in item["refunds"]
                and item.get("refunded_amount", 0 if before == 0 else None) == before
            ):
                total = before + amount
                refund = {"amount": amount, "at": at, "refunded_amount": total}
                item["refunds"][tid] = _plain(refund)
                item |= _plain({"refunded_amount": total, "updated_at": at})
                return refund_result(self.get(order.key) or order, transaction_id, True)
            order = self._reread(order, "refunding")
        raise OrderError(f"order {order.key} kept changing; gave up after {ATTEMPTS} attempts")

    def due(self, *, now: datetime, limit: int) -> list[str]:
        found = sorted(
            (item["expires_at"], pk)
            for pk, item in self.items.items()
            if item.get("expiring") == EXPIRING and item["expires_at"] <= timestamp(now)
        )
        return [pk for _, pk in found][:limit]

    def expire(self, key: str, *, now: datetime) -> tuple[Order | None, bool]:
        item, at = self.items.get(key), timestamp(now)
        due = item is not None and "expires_at" in item and item["expires_at"] <= at
        if item is not None and due and item["status"] in OPEN:
            item |= _plain({"status": EXPIRED, "expired_at": at, "updated_at": at})
            item.setdefault("late_payments", {})
            return self.get(key), True
        current = self.get(key)
        if current is None or current.status != EXPIRED:
            if current is not None and current.status not in OPEN:
                self.expiry_done(key)  # settled: nothing will expire it any more
            return None, False
        return current, False

    def expiry_done(self, key: str) -> None:
        if key not in self.items:  # the real one's condition (attribute_exists(pk)) fails
            code, message = "ConditionalCheckFailedException", "The conditional request failed"
            raise ClientError({"Error": {"Code": code, "Message": message}}, "UpdateItem")
        self.items[key].pop("expiring", None)

    def keep_late(
        self, order: Order, *, transaction_id: int, amount: int, now: datetime
    ) -> tuple[Order, bool]:
        if transaction_id in order.late:
            return order, False
        tid, item = str(transaction_id), self.items.get(order.key)
        if (
            item is not None
            and item["status"] in CLOSED
            and tid not in item["late_payments"]
            and tid not in item.get("payments", {})
        ):
            item["late_payments"][tid] = _plain({"amount": amount, "at": timestamp(now)})
            item["updated_at"] = timestamp(now)
            return self.get(order.key) or order, True
        current = self.get(order.key)
        if current is not None and transaction_id in current.late:
            return current, False
        raise OrderError(
            f"order {order.key}: transaction {transaction_id} can't be kept as a late payment"
            f" (the order is {current.status if current else 'gone'})"
        )

    def cancel(self, order_code: str, *, now: datetime) -> tuple[Order | None, bool]:
        key, at = canonical_code(order_code), timestamp(now)
        item = self.items.get(key)
        if item is not None and item["status"] in OPEN:
            item |= _plain({"status": CANCELLED, "cancelled_at": at, "updated_at": at})
            item.setdefault("late_payments", {})
            item.pop("expiring", None)
            return self.get(key), True
        return self.get(key), False

    def cancel_done(self, key: str) -> None:
        if key in self.items:  # the real one's condition: attribute_exists(pk)
            self.items[key]["cancel_published"] = True

    def page(
        self,
        *,
        limit: int,
        status: str | None = None,
        after: str | None = None,
        cursor: dict[str, Any] | None = None,
    ) -> tuple[list[Order], dict[str, Any] | None]:
        listed = sorted(
            (item for item in self.items.values() if item.get("listed")),
            key=lambda item: (item["created_at"], item["pk"]),
            reverse=True,
        )
        if cursor is not None:
            start = (cursor["created_at"], cursor["pk"])
            listed = [i for i in listed if (i["created_at"], i["pk"]) < start]
        listed = [i for i in listed if not after or i["created_at"] > after]
        listed = [i for i in listed if not status or i["status"] == status]
        found = [order_from_values(_plain(item)) for item in listed[:limit]]
        if len(listed) <= limit:
            return found, None
        last = found[-1]
        return found, {"pk": last.key, "listed": "order", "created_at": last.created_at}


class FakeBus:
    """The event bus (`aws.bus.Bus`): keeps every event published, as the bus carries it
    (its detail through JSON, so what EventBridge could not take fails here too)."""

    def __init__(self, name: str = "fake-bus") -> None:
        self.name = name
        self.events: list[Event] = []

    def publish(self, events: Sequence[Event]) -> None:
        for event in events:
            detail = json.loads(json.dumps(event.detail, ensure_ascii=False))
            self.events.append(Event(event.detail_type, detail))

    def drain(self) -> list[tuple[str, dict[str, Any]]]:
        """(detail-type, detail) of every event published since the last drain, in order,
        each checked against its schema: what `tests.helpers.published_events` reads from
        the real bus."""
        drained = [(event.detail_type, dict(event.detail)) for event in self.events]
        self.events.clear()
        for detail_type, detail in drained:
            check_event_schema({"source": SOURCE, "detail-type": detail_type, "detail": detail})
        return drained


class FakeQueue:
    """The transaction queue (`aws.queue.TransactionQueue`): keeps every message sent, as
    its body carries it; one message per transaction id in a call, as `enqueue` sends."""

    def __init__(self, url: str = "fake-queue") -> None:
        self.url = url
        self.messages: list[TransactionMessage] = []

    def send(self, messages: Iterable[TransactionMessage]) -> int:
        unique = list({message.transaction_id: message for message in messages}.values())
        self.messages += [TransactionMessage.from_json(m.to_json()) for m in unique]
        return len(unique)


class FakeBalanceChain:
    """The balance chain table (`chain.repository.BalanceChain`) in memory, items keyed by
    (pk, sk) and built by the real item helpers."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Item] = {}

    def _store(self, item: Item) -> None:
        self.items[(item["pk"], item["sk"])] = _plain(item)

    def _start(self, gap: Gap) -> Item | None:
        key = start_key(gap.account, gap.transaction_id)
        return self.items.get((key["pk"], key["sk"]))

    def add(self, link: Link) -> None:
        self._store(link_item(link))

    def reached(self, account: str, balance: int) -> bool:
        prefix = f"{balance}#"
        return any(
            pk == CHAIN_ACCOUNT + account and str(item.get("after_key", "")).startswith(prefix)
            for (pk, _), item in self.items.items()
        )

    def previous(self, account: str, when: str, transaction_id: int | None = None) -> Link | None:
        bound = f"{CHAIN_LINK}{when}"
        bound += "" if transaction_id is None else f"#{transaction_id:020d}"
        before = [k for k in self.items if k[0] == CHAIN_ACCOUNT + account and k[1] < bound]
        return link_from(_plain(self.items[max(before)])) if before else None

    def links(self, account: str, first: str, last: str) -> list[Link]:
        low, high = f"{CHAIN_LINK}{first}", f"{CHAIN_LINK}{last}"
        pk = CHAIN_ACCOUNT + account
        keys = sorted(k for k in self.items if k[0] == pk and low <= k[1] <= high)
        return [link_from(_plain(self.items[k])) for k in keys]

    def add_start(self, gap: Gap) -> bool:
        if self._start(gap) is not None:
            return False
        self._store(start_item(gap))
        return True

    def starts(self) -> list[Gap]:
        keys = sorted(k for k in self.items if k[0] == STARTS)
        return [gap_from(_plain(self.items[k])) for k in keys]

    def classify(self, gap: Gap, *, origin: bool, found_at: str) -> bool:
        item = self._start(gap)
        if item is None:
            return False
        item |= {"origin": origin, "found_at": found_at}
        return True

    def mark_detected(self, gap: Gap) -> bool:
        item = self._start(gap)
        if item is None or "detected_at" in item:
            return False
        item |= _plain(
            {
                "detected_at": gap.detected_at,
                "previous_id": gap.previous_id,
                "previous_balance": gap.previous_balance,
            }
        )
        return True

    def remove_start(self, gap: Gap) -> bool:
        key = start_key(gap.account, gap.transaction_id)
        return self.items.pop((key["pk"], key["sk"]), None) is not None


class FakeNotificationLog:
    """The notification log (`notify.log.NotificationLog`): items built by the real
    `attempt_item`, read back as DynamoDB gives them (numbers as Decimal), in the orders its
    key and index sort them; `since` leaves out the TTL, as the real projection does."""

    def __init__(self, *, keep_days: int = 30) -> None:
        self.keep_days = keep_days
        self.items: dict[tuple[str, str], dict[str, Any]] = {}

    def record(self, attempt: Attempt) -> None:
        item = from_dynamodb(to_dynamodb(attempt_item(attempt, self.keep_days)))
        self.items[(item["pk"], item["sk"])] = item

    def of(self, webhook_id: str) -> list[dict[str, Any]]:
        return [dict(i) for key, i in sorted(self.items.items()) if key[0] == webhook_id]

    def of_order(self, order_code: str) -> list[dict[str, Any]]:
        found = [i for i in self.items.values() if i.get("order_code") == order_code]
        return [dict(i) for i in sorted(found, key=lambda i: i["at"])]

    def since(self, moment: datetime) -> list[dict[str, Any]]:
        found = [i for i in self.items.values() if i["at"] >= timestamp(moment)]
        return [
            {k: v for k, v in i.items() if k != "expires_at"}
            for i in sorted(found, key=lambda i: i["at"])
        ]
