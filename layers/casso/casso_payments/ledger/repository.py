"""The ledger table's one owner: every key, expression, conditional write and read-back.

One permanent item per Casso transaction id, beside quarantined deliveries, test calls and
the reconciler's state (shapes: `ledger.entries`). A transaction is recorded only if its id
is new, so the first writer wins and a replay, a retry or a concurrent copy changes nothing;
every later change is conditional on the state it moves from.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from casso_payments.aws.dynamo import Table, Written, from_dynamodb, timestamp, to_dynamodb
from casso_payments.casso.payload import Transaction
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
    transaction_item,
)
from casso_payments.ledger.versions import (
    OPEN,
    UNAPPLIED_OUTCOMES,
    Kept,
    Version,
    assess,
    version_from,
    version_values,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

PENDING_INDEX: Final = "PendingIndex"
TXN: Final = "TXN#"
STATE: Final = "STATE#"
QUARANTINE: Final = "QUARANTINE#"
TEST_CALL: Final = "TESTCALL#"
VERSION: Final = "VERSION#"
LEASE: Final = STATE + "reconcile-lease"
STATUS: Final = {"#status": "status"}


def transaction_key(transaction_id: int) -> dict[str, Any]:
    return {"pk": f"{TXN}{transaction_id}"}


def new_item(transaction: Transaction, *, source: str, received_at: str) -> dict[str, Any]:
    """A transaction's item in DynamoDB's typed JSON, for `Ledger.record`: built first, so
    that one that can't be stored is a problem, not a failed write (`transaction_item`)."""
    key = {"pk": {"S": f"{TXN}{transaction.id}"}}
    return transaction_item(key, transaction, source=source, received_at=received_at)


def body_digest(body: str) -> str:
    """A quarantined delivery's key: the sha256 of its body, hex."""
    return hashlib.sha256(body.encode()).hexdigest()


def _quarantine_key(digest: str) -> dict[str, Any]:
    return {"pk": QUARANTINE + digest.removeprefix(QUARANTINE)}


class Ledger:
    """The ledger table, through one DynamoDB client."""

    def __init__(self, dynamodb: DynamoDBClient, table: str) -> None:
        self.table = Table(dynamodb, table)

    def _update(
        self,
        transaction_id: int,
        update: str,
        condition: str,
        values: dict[str, Any],
        returns: str = "",
    ) -> Written:
        key = transaction_key(transaction_id)
        return self.table.update_if(key, update, condition, names=STATUS, returns=returns, **values)

    # Transactions ---------------------------------------------------------------------

    def record(self, item: dict[str, Any]) -> RecordResult:
        """Put a built transaction item if its key is new; otherwise return what is stored."""
        written = self.table.put_if(item, "attribute_not_exists(pk)", typed=True)
        old = entry_from_values(from_dynamodb(written.old)) if written.old else None
        return RecordResult(written.written, None if written.written else old)

    def record_transaction(
        self, transaction: Transaction, *, source: str, now: datetime
    ) -> RecordResult:
        return self.record(new_item(transaction, source=source, received_at=timestamp(now)))

    def get(self, transaction_id: int) -> LedgerEntry | None:
        values = self.table.get(transaction_key(transaction_id))
        return entry_from_values(values) if values else None

    def stored(self, transaction_id: int) -> dict[str, Any] | None:
        """A transaction's item as plain values, or None when no transaction has this id."""
        values = self.table.get(transaction_key(transaction_id))
        return values if values and values.get("kind") == "transaction" else None

    def bind(self, transaction_id: int, binding: Binding, revision: int = 0) -> Binding:
        """Record `binding` unless the item has one already; returns the binding that holds.
        Of two first attempts racing, the first write wins and the other adopts it. Raises
        Superseded when a stronger version replaced the `revision` read."""
        rev, values = _revision_is(revision)
        condition = f"attribute_not_exists(binding) AND #status = :received AND {rev}"
        values |= {"binding": binding.to_item(), "received": RECEIVED}
        written = self._update(transaction_id, "SET binding = :binding", condition, values, "OLD")
        if written.written:
            return binding
        old = from_dynamodb(written.old)
        if old and int(old.get("revision", 0)) != revision:
            raise Superseded(f"transaction {transaction_id} was replaced by a stronger version")
        if old.get("binding"):
            return Binding.from_item(old["binding"])
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
        """RECEIVED -> PROCESSED with its outcome; leaves PendingIndex. False if already done
        (or replaced since `revision` was read)."""
        code = {} if order_code is None else {"code": order_code}
        update = "SET #status = :processed, outcome = :outcome, processed_at = :at"
        update += (", order_code = :code" if code else "") + " REMOVE pending"
        rev, values = _revision_is(revision)
        values |= {"processed": PROCESSED, "received": RECEIVED, "outcome": outcome, **code}
        values["at"] = timestamp(now)
        condition = f"#status = :received AND {rev}"
        return self._update(transaction_id, update, condition, values).written

    # Versions of a transaction (`ledger.versions`) -------------------------------------

    def claim(self, transaction_id: int, *, revision: int, now: datetime) -> bool:
        """The processor's mark before it changes an order: from here on no stronger version
        replaces this one (it goes to a person). False: replaced since `revision` was read."""
        rev, values = _revision_is(revision)
        values |= {"received": RECEIVED, "at": timestamp(now)}
        update, condition = "SET applying = :at", f"#status = :received AND {rev}"
        return self._update(transaction_id, update, condition, values).written

    def replace(
        self, item: dict[str, Any], *, revision: int, replays: int, displaced: dict[str, Any]
    ) -> bool:
        """Put a stronger version's built item (`new_item`) over the entry, as revision
        `revision` + 1, RECEIVED again with one more replay, keeping the version it replaces
        (`displaced`), if the entry is still at `revision` and `replays` and changed no
        order: not claimed (`claim`), or processed with an outcome that changes none."""
        (rev, values), (done, more) = _revision_is(revision), _revision_is(replays, "replays")
        unapplied = f"outcome {_one_of(UNAPPLIED_OUTCOMES)}"
        condition = f"kind = :transaction AND {rev} AND {done} AND ((#status = :received AND "
        condition += f"attribute_not_exists(applying)) OR (#status = :processed AND {unapplied}))"
        values |= {"transaction": "transaction", "received": RECEIVED, "processed": PROCESSED}
        values |= _was(UNAPPLIED_OUTCOMES) | more
        counts = {"revision": revision + 1, "replays": replays + 1, "displaced": displaced}
        item = item | to_dynamodb(counts)
        return self.table.put_if(item, condition, typed=True, names=STATUS, **values).written

    def keep_version(
        self, stored: LedgerEntry, transaction: Transaction, *, source: str, now: datetime
    ) -> Kept | None:
        """Keep `transaction`, delivered again from `source`, beside `stored` if it is another
        version of it (`versions.assess`); None: a plain duplicate. Each distinct version is
        kept once; a stronger one is OPEN until the processor resolves it."""
        assessed = assess(stored, transaction, source)
        if assessed is None:
            return None
        differs, state = assessed
        values = version_values(transaction, source, timestamp(now), state, differs, stored.source)
        written = self.table.put_if(_version_key(values) | values, "attribute_not_exists(pk)")
        still = state if written.written else from_dynamodb(written.old).get("state")
        return Kept(transaction.id, values["version"], differs, still == OPEN, written.written)

    def get_version(self, transaction_id: int, key: str) -> Version | None:
        values = self.table.get(_version_key({"transaction_id": transaction_id, "version": key}))
        return version_from(values) if values and values.get("kind") == "version" else None

    def set_version_state(
        self, transaction_id: int, key: str, state: str, *, was: tuple[str, ...], **sets: Any
    ) -> bool:
        """Move a version from one of the states `was` to `state`, setting `sets`."""
        update = "SET " + ", ".join(["#state = :state", *(f"{n} = :{n}" for n in sets)])
        condition = f"kind = :version AND #state {_one_of(was)}"
        values = {"state": state, "version": "version", **_was(was), **sets}
        pk = _version_key({"transaction_id": transaction_id, "version": key})
        return self.table.update_if(
            pk, update, condition, names={"#state": "state"}, **values
        ).written

    def list_versions(self) -> list[Version]:
        """Every kept version, oldest first: a scan (no index on kind), for an operator."""
        names = {"#kind": "kind", "#state": "state", "#source": "source", "#raw": "raw"}
        projection = "transaction_id, version, #source, received_at, #state, differs, "
        projection += "ledger_source, #raw, note"
        found = self.table.scan("#kind = :version", projection, names, version="version")
        return sorted((version_from(v) for v in found), key=lambda v: (v.received_at, v.key))

    def _reopen(
        self, transaction_id: int, now: datetime, condition: str, sets: str, values: dict[str, Any]
    ) -> int | None:
        """Put a transaction back to RECEIVED (pending again), counting one more replay, if
        `condition` holds; the replay number its queue message must carry, or None."""
        update = "SET #status = :received, pending = :received, replayed_at = :at" + sets
        # A replay by an operator gets the sweep's full patience again.
        update += " ADD replays :one" + ("" if sets else " REMOVE sweeps")
        values = {**values, "received": RECEIVED, "at": timestamp(now), "one": 1}
        values["transaction"] = "transaction"
        condition = "kind = :transaction" + condition
        written = self._update(transaction_id, update, condition, values, "UPDATED_NEW")
        return int(from_dynamodb(written.attributes)["replays"]) if written.written else None

    def reopen_for_replay(self, transaction_id: int, *, now: datetime) -> int:
        """Back to RECEIVED for an operator's replay; returns its replay number."""
        replays = self._reopen(transaction_id, now, "", "", {})
        if replays is None:
            raise NotInLedger(f"transaction {transaction_id} is not in the ledger")
        return replays

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
        """A person's decision: bind a PROCESSED transaction whose outcome is one of
        `outcomes` to `binding` and reopen it for the processor, keeping its outcome in `was`.
        `money_in_unbound`: only money in that no order is bound to yet. Returns the replay
        number its queue message must carry, or None when refused."""
        condition = f" AND #status = :processed AND outcome {_one_of(outcomes)}"
        unbound = {"zero": 0, "order": ORDER} if money_in_unbound else {}
        if unbound:
            condition += " AND amount > :zero"
            condition += " AND (attribute_not_exists(binding) OR binding.decision <> :order)"
        values = {"binding": binding.to_item(), "processed": PROCESSED, **unbound}
        sets = f", binding = :binding, {was} = outcome"
        return self._reopen(transaction_id, now, condition, sets, values | _was(outcomes))

    def close(
        self, transaction_id: int, *, outcomes: tuple[str, ...], keep_as: str = "", **sets: Any
    ) -> dict[str, Any] | None:
        """A person's decision closing a PROCESSED transaction whose outcome is one of
        `outcomes`: each of `sets` set (its outcome kept in `keep_as` first, if named). The
        item after, as plain values, or None when refused."""
        assignments = [f"{keep_as} = outcome"] if keep_as else []
        update = "SET " + ", ".join(assignments + [f"{name} = :{name}" for name in sets])
        condition = f"kind = :transaction AND #status = :processed AND outcome {_one_of(outcomes)}"
        values = {"transaction": "transaction", "processed": PROCESSED, **_was(outcomes), **sets}
        written = self._update(transaction_id, update, condition, values, "ALL_NEW")
        return from_dynamodb(written.attributes) if written.written else None

    # The reconciler's queries and its sweep --------------------------------------------

    def pending_before(self, cutoff: datetime, *, limit: int | None = None) -> list[int]:
        """Ids still RECEIVED that were recorded before `cutoff`, oldest first, at most
        `limit` (the sparse PendingIndex)."""
        ids: list[int] = []
        condition = "pending = :received AND received_at < :cutoff"
        for page in self.table.query(
            PENDING_INDEX, condition, received=RECEIVED, cutoff=timestamp(cutoff)
        ):
            ids.extend(int(i["pk"]["S"].removeprefix(TXN)) for i in page["Items"])
            if limit is not None and len(ids) >= limit:
                return ids[:limit]
        return ids

    def count_stuck(self) -> int:
        """How many entries the sweep has given up on and wait for a person."""
        pages = self.table.query(PENDING_INDEX, "pending = :stuck", select="COUNT", stuck=STUCK)
        return sum(int(page["Count"]) for page in pages)

    def count_sweep(
        self, transaction_id: int, *, max_sweeps: int, now: datetime, not_since: datetime
    ) -> bool | None:
        """Count one more re-queue of a RECEIVED entry. True: counted, re-queue it; False:
        re-queued `max_sweeps` times already (park it); None: leave it (processed meanwhile,
        or re-queued after `not_since` and still within its grace period)."""
        condition = "#status = :received AND (attribute_not_exists(sweeps) OR sweeps < :max)"
        condition += " AND (attribute_not_exists(swept_at) OR swept_at < :since)"
        values = {"one": 1, "received": RECEIVED, "max": max_sweeps, "now": timestamp(now)}
        values["since"] = timestamp(not_since)
        update = "SET swept_at = :now ADD sweeps :one"
        written = self._update(transaction_id, update, condition, values, "OLD")
        old = from_dynamodb(written.old)
        if written.written:
            return True
        return (
            False if old.get("status") == RECEIVED and old.get("sweeps", 0) >= max_sweeps else None
        )

    def park_stuck(self, transaction_id: int) -> bool:
        """Move a RECEIVED entry out of the sweep's reach (pending STUCK) for a person;
        `reopen_for_replay` puts it back. False if it was processed meanwhile."""
        update, condition = "SET pending = :stuck", "#status = :received"
        values = {"stuck": STUCK, "received": RECEIVED}
        return self._update(transaction_id, update, condition, values).written

    def delivery_facts(self, transaction_ids: list[int]) -> dict[int, dict[str, Any]]:
        """`source`, `received_at`, `status`, `outcome` (once processed) and `raw` of those of
        these ids the ledger holds (absent: missing): enough to compare its version."""
        keys = [transaction_key(t) for t in dict.fromkeys(transaction_ids)]
        names = {"#source": "source", "#status": "status", "#raw": "raw"}
        items = self.table.batch_get(
            keys, "pk, #source, received_at, #status, outcome, #raw", names
        )
        return {int(i.pop("pk").removeprefix(TXN)): i for i in items}

    # State and the reconciler's lease; quarantined deliveries and test calls ------------

    def get_state(self, name: str) -> dict[str, Any] | None:
        """A small named state item kept beside the transactions (e.g. the registered webhook)."""
        values = self.table.get({"pk": STATE + name})
        return {k: v for k, v in values.items() if k not in ("pk", "kind")} if values else None

    def put_state(self, name: str, values: dict[str, Any]) -> None:
        self.table.put({"pk": STATE + name, "kind": "state", **values})

    def acquire_lease(self, *, owner: str, now: datetime, seconds: float) -> dict[str, Any] | None:
        """Take the reconciler's lease for `seconds`, if nobody holds it or the holder's has
        expired. None when taken; else who holds it and until when."""
        until = timestamp(now + timedelta(seconds=seconds))
        lease = {"pk": LEASE, "kind": "state", "owner": owner, "acquired_at": timestamp(now)}
        condition = "attribute_not_exists(pk) OR expires_at < :now"
        written = self.table.put_if({**lease, "expires_at": until}, condition, now=timestamp(now))
        held = from_dynamodb(written.old)
        return (
            None
            if written.written
            else {k: held.get(k) for k in ("owner", "acquired_at", "expires_at")}
        )

    def release_lease(self, *, owner: str) -> None:
        """Give the lease back, if it is still ours (an expired one may have been taken over)."""
        self.table.delete_if({"pk": LEASE}, "#owner = :owner", {"#owner": "owner"}, owner=owner)

    def quarantine(self, *, body: str, reason: str, generation: str, now: datetime) -> bool:
        """Keep a delivery we could not understand, whole. False if this body is kept already."""
        item = {"pk": QUARANTINE + body_digest(body), "kind": "quarantine", "status": QUARANTINED}
        item |= {"reason": reason, "generation": generation, "received_at": timestamp(now)}
        return self.table.put_if({**item, "body": body}, "attribute_not_exists(pk)").written

    def list_quarantined(self) -> list[QuarantinedDelivery]:
        """Every quarantined delivery, oldest first. A scan of the ledger (there is no index
        on kind): fine for an operator now and then, not for a hot path."""
        # A scan reads (and pays for) whole items anyway; the bodies are measured, not kept.
        items = self.table.scan(
            "#kind = :quarantine",
            "pk, received_at, generation, reason, body",
            {"#kind": "kind"},
            quarantine="quarantine",
        )
        found = [quarantined_from(values, QUARANTINE, with_body=False) for values in items]
        return sorted(found, key=lambda d: (d.received_at, d.key))

    def get_quarantined(self, key: str) -> QuarantinedDelivery | None:
        values = self.table.get(_quarantine_key(key))
        if not values or values.get("kind") != "quarantine":
            return None
        return quarantined_from(values, QUARANTINE, with_body=True)

    def discard_quarantined(self, key: str) -> bool:
        """Delete one quarantined delivery (the condition checks its kind); False: none."""
        names = {"#kind": "kind"}
        return self.table.delete_if(_quarantine_key(key), "#kind = :q", names, q="quarantine")

    def record_test_call(self, transaction: Transaction, *, source: str, now: datetime) -> str:
        """Keep Casso's Test Call with its time; returns its key. Every call is kept (they
        are rare and each answers "did the test call arrive?")."""
        at = timestamp(now)
        key = f"{TEST_CALL}{at}#{source}"
        self.table.put({"pk": key, **test_call_values(transaction, source=source, at=at)})
        return key


def _was(outcomes: tuple[str, ...]) -> dict[str, str]:
    return {f"was{i}": str(outcome) for i, outcome in enumerate(outcomes)}


def _version_key(values: dict[str, Any]) -> dict[str, Any]:
    return {"pk": f"{VERSION}{values['transaction_id']}#{values['version']}"}


def _revision_is(revision: int, name: str = "revision") -> tuple[str, dict[str, Any]]:
    """A condition that the item's `name` counter is `revision` (absent counts as 0)."""
    if revision == 0:
        return f"attribute_not_exists({name})", {}
    return f"{name} = :{name}", {name: revision}


def _one_of(outcomes: tuple[str, ...]) -> str:
    # IN wants a list; one outcome is the plainer equality.
    names = [f":was{i}" for i in range(len(outcomes))]
    return f"IN ({', '.join(names)})" if len(names) > 1 else "= :was0"
