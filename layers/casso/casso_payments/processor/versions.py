"""A stronger version of a transaction, resolved (design invariant 11).

The receiver and the reconciler keep a version beside the ledger's entry when it differs,
and queue it when it is stronger (`ledger.versions`: Casso's API and a V2 signature over a
v1 token). Here, from its queue message:

- the ledger's (weaker) version changed no order yet (not claimed: `Ledger.claim`; or
  processed with an outcome that changes none): the stronger version **replaces** it
  (`Ledger.replace`, conditional on the revision read and on no claim, the same attribute
  the processor's claim is conditional on, so exactly one of the two wins a race) and is
  processed at once: the squatted order gets paid with the real amount;
- it was applied: the order is not changed; `Payment Conflict` goes out and the version
  waits for a person (`ops settle conflict`); one of the same content needs nobody.
Every step is conditional and safe to repeat.
"""

from __future__ import annotations

import json
from datetime import datetime

from casso_payments.aws.dynamo import timestamp, to_dynamodb
from casso_payments.aws.item_size import ITEM_BUDGET_BYTES, item_size
from casso_payments.events.build import payment_conflict
from casso_payments.events.effect import Effect
from casso_payments.events.outcomes import Outcome
from casso_payments.ledger.entries import PROCESSED, LedgerEntry
from casso_payments.ledger.repository import new_item
from casso_payments.ledger.versions import (
    KEPT,
    OPEN,
    PERSON,
    REPLACED,
    SAME,
    UNAPPLIED_OUTCOMES,
    Version,
    differences,
    stronger,
)
from casso_payments.processor.deps import ProcessorDeps
from casso_payments.processor.process import MissingTransaction, Processed, process

MAX_DISPLACED_RAW = 10_000  # characters of a displaced version's `raw` kept when it is huge


class VersionRaced(RuntimeError):
    """The entry changed between reading it and replacing it, and still looks replaceable
    (an operator's replay, say): the message is retried and decides again."""


def unapplied(entry: LedgerEntry) -> bool:
    """Whether the ledger's version has changed no order (and can't start to: not claimed)."""
    if entry.status == PROCESSED:
        return entry.outcome in UNAPPLIED_OUTCOMES
    return not entry.claimed


def resolve(transaction_id: int, key: str, deps: ProcessorDeps, *, now: datetime) -> Processed:
    version = deps.ledger.get_version(transaction_id, key)
    entry = deps.ledger.get(transaction_id)
    if version is None or entry is None:
        raise MissingTransaction(f"transaction {transaction_id} version {key} is not kept")
    replaced_by_it = entry.source == version.source and not differences(
        entry.transaction, version.transaction
    )
    if version.state == REPLACED or (version.state == OPEN and replaced_by_it):
        _settle(deps, version, REPLACED, now)  # a retry after the replace: work it
        return process(transaction_id, deps, now=now)
    if version.state != OPEN:
        return Processed(transaction_id, Effect(Outcome.ALREADY_PROCESSED))
    if not stronger(version.source, entry.source):  # an equal one got there first
        _settle(deps, version, KEPT, now)
        return Processed(transaction_id, Effect(Outcome.ALREADY_PROCESSED))
    if unapplied(entry):
        if _replace(deps, entry, version):
            _settle(deps, version, REPLACED, now)
            return process(transaction_id, deps, now=now)
        entry = deps.ledger.get(transaction_id) or entry
        if unapplied(entry):
            raise VersionRaced(f"transaction {transaction_id} changed while being replaced")
    if not version.differs:  # the same content, applied already: nothing to decide
        _settle(deps, version, SAME, now)
        return Processed(transaction_id, Effect(Outcome.ALREADY_PROCESSED))
    order_code = (entry.binding or {}).get("order_code")
    event = payment_conflict(entry, version, order_code)
    deps.bus.publish([event])
    _settle(deps, version, PERSON, now)
    effect = Effect(Outcome.CONFLICT, order_code, reason=", ".join(version.differs))
    return Processed(transaction_id, effect, (event.detail_type,))


def _replace(deps: ProcessorDeps, entry: LedgerEntry, version: Version) -> bool:
    item = new_item(version.transaction, source=version.source, received_at=version.received_at)
    raw = json.dumps(entry.transaction.raw, ensure_ascii=False, sort_keys=True)
    displaced: dict[str, object] = {
        "source": entry.source,
        "received_at": entry.received_at,
        "raw": raw,
        "outcome": entry.outcome,
        "amount": entry.transaction.amount,
    }
    if item_size(item | to_dynamodb({"displaced": displaced})) > ITEM_BUDGET_BYTES:
        # A forgery padded to fill the item must not keep the real version out: keep the
        # start of what it sent (and its amount, whole).
        displaced["raw"] = raw[:MAX_DISPLACED_RAW]
        displaced["raw_cut"] = True
    return deps.ledger.replace(
        item, revision=entry.revision, replays=entry.replays, displaced=displaced
    )


def _settle(deps: ProcessorDeps, version: Version, state: str, now: datetime) -> None:
    deps.ledger.set_version_state(
        version.transaction.id, version.key, state, was=(OPEN,), resolved_at=timestamp(now)
    )
