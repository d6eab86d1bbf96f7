"""Versions of one transaction, as plain values: what its content is, which source ranks
higher, and the `version` item that keeps a version beside its ledger entry. No I/O: every
key, expression and write is `ledger.repository`'s (docs/architecture.md#conflicting-versions).

Content: what a transaction says happened, compared after each rendering's own spelling is
undone (v1, V2 and the transactions API name and format fields differently):

    amount          exactly
    description     with runs of whitespace made one space, ends trimmed
    account_number  trimmed; not compared when either rendering leaves it out
    when            to the precision both carry (a date-only v1 `when` against a V2 time
                    compares the day); as text when either can't be read; not compared
                    when either is missing

Everything else (reference, balance, counterparty, bank name, extra fields) is not content:
renderings of one transaction legitimately differ there. A version whose content differs
from the ledger's is a **conflict**.

Source rank: Casso's API (`reconcile`) and a V2 signature, which Casso vouches for, over a
v1 token, which anyone who saw it can replay.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from typing import Any, Final, NamedTuple

from casso_payments.casso.payload import Transaction, parse_transaction
from casso_payments.ledger.entries import RECONCILE, WEBHOOK_V1, WEBHOOK_V2, LedgerEntry

CONTENT: Final = ("amount", "description", "account_number", "when")
RANK: Final = {WEBHOOK_V1: 1, WEBHOOK_V2: 2, RECONCILE: 2}
VIETNAM: Final = timezone(timedelta(hours=7))
# A version item's `state`:
KEPT: Final = "kept"  # not stronger than the ledger's: the ledger's version stands
OPEN: Final = "open"  # stronger: queued for the processor to replace or hand to a person
REPLACED: Final = "replaced"  # it replaced the ledger's (weaker, unapplied) version
SAME: Final = "same"  # stronger, same content, the ledger's already final: nothing to do
PERSON: Final = "person"  # the weaker version was applied: a person decides (Payment Conflict)
SETTLED: Final = "settled"  # a person decided (`ops settle conflict`)
# Outcomes that changed no order: a stronger version may replace a transaction that ended so
# (`handled`: one of the first three, closed by a person without an order).
UNAPPLIED_OUTCOMES: Final = (
    "unconfirmed",
    "unmatched",
    "needs_review",
    "money_out",
    "other_account",
    "handled",
)


class Version(NamedTuple):
    """One version of a transaction kept beside its ledger entry (kind `version`)."""

    transaction: Transaction
    source: str
    received_at: str
    key: str  # the version's digest: what `ops settle conflict` names
    state: str
    differs: tuple[str, ...]  # content fields that differ from the ledger's; () = none
    ledger_source: str  # the ledger entry's source when this version arrived
    note: str = ""


class Kept(NamedTuple):
    """What `Ledger.keep_version` did with a delivered version: its key, how it differs
    (() for same content), and whether it waits for the processor (`OPEN`: queue it)."""

    transaction_id: int
    key: str
    differs: tuple[str, ...]
    open: bool
    new: bool = True  # False: this version was kept already (a repeat)

    @property
    def conflict(self) -> bool:
        return bool(self.differs)


def rank(source: str) -> int:
    return RANK.get(source, 0)


def stronger(source: str, than: str) -> bool:
    return rank(source) > rank(than)


def _moment(text: str) -> tuple[str, datetime]:
    """How precise a `when` is ("date", "time"; "none" or "text" when it can't be read) and
    the moment it names, in Vietnam time without a zone."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return ("text" if text.strip() else "none"), datetime.min
    if moment.tzinfo:
        moment = moment.astimezone(VIETNAM).replace(tzinfo=None)
    return ("date" if len(text.strip()) <= 10 else "time"), moment.replace(microsecond=0)


def _same_when(a: str, b: str) -> bool:
    (kind_a, moment_a), (kind_b, moment_b) = _moment(a), _moment(b)
    if "none" in (kind_a, kind_b):
        return True
    if "text" in (kind_a, kind_b):
        return a.strip() == b.strip()
    if "date" in (kind_a, kind_b):
        return moment_a.date() == moment_b.date()
    return moment_a == moment_b


def differences(stored: Transaction, other: Transaction) -> tuple[str, ...]:
    """The content fields in which `other` differs from `stored` (`CONTENT`, in order)."""
    found = []
    if stored.amount != other.amount:
        found.append("amount")
    if " ".join(stored.description.split()) != " ".join(other.description.split()):
        found.append("description")
    accounts = (stored.account_number.strip(), other.account_number.strip())
    if all(accounts) and accounts[0] != accounts[1]:
        found.append("account_number")
    if not _same_when(stored.when, other.when):
        found.append("when")
    return tuple(found)


def assess(
    stored: LedgerEntry, other: Transaction, source: str
) -> tuple[tuple[str, ...], str] | None:
    """Whether `other`, delivered again from `source`, is a version to keep beside the
    ledger's `stored`: (its differences, its state), or None for a plain duplicate. Kept:
    any that differs (a conflict; OPEN when stronger, else KEPT), and a stronger one of the
    same content when Casso's API refused the ledger's (a forgery that guessed the real
    content: the stronger one replaces it)."""
    differs = differences(stored.transaction, other)
    state = OPEN if stronger(source, stored.source) else KEPT
    if differs:
        return differs, state
    return ((), OPEN) if state == OPEN and stored.outcome == "unconfirmed" else None


def version_key(transaction: Transaction, source: str) -> str:
    """A digest of a version's source and content: one item per distinct version, however
    often it is delivered."""
    content = [source, transaction.id, *(str(getattr(transaction, f)) for f in CONTENT)]
    return hashlib.sha256(json.dumps(content, ensure_ascii=False).encode()).hexdigest()[:32]


def version_values(
    transaction: Transaction,
    source: str,
    received_at: str,
    state: str,
    differs: tuple[str, ...] = (),
    ledger_source: str = "",
) -> dict[str, Any]:
    """A version item's attributes (plain values, without its key)."""
    return {
        "kind": "version",
        "transaction_id": transaction.id,
        "version": version_key(transaction, source),
        "source": source,
        "received_at": received_at,
        "state": state,
        "differs": list(differs),
        "ledger_source": ledger_source or source,
        "amount": transaction.amount,
        "description": transaction.description,
        "raw": json.dumps(transaction.raw, ensure_ascii=False, sort_keys=True),
    }


def version_from(values: dict[str, Any]) -> Version:
    return Version(
        transaction=parse_transaction(json.loads(values["raw"])),
        source=str(values["source"]),
        received_at=str(values["received_at"]),
        key=str(values["version"]),
        state=str(values["state"]),
        differs=tuple(values.get("differs") or ()),
        ledger_source=str(values.get("ledger_source", "")),
        note=str(values.get("note", "")),
    )
