"""The BalanceChainTable's one owner: every key, expression and conditional write.

Two item kinds (docs/architecture.md#the-balance-chain-balancechaintable):

link   pk "ACCOUNT#<account>", sk "T#<when>#<id, 20 digits>": one per transaction, in time
       order (the statement reads a day as one query); with `after_key` "<balance>#<id>"
       when it has a balance, so the sparse BalanceIndex (pk, after_key) answers "which
       transaction left this account at this balance?" in one query.
start  pk "STARTS", sk "<account>#<id>": a transaction whose balance before no known
       transaction's balance after equals (`Gap`), kept until one does; one small
       partition the reconciler reads whole each run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final

from casso_payments.aws.dynamo import Table, delete_if, from_dynamodb, query_pages, to_dynamodb
from casso_payments.chain.links import Gap, Link

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BALANCE_INDEX: Final = "BalanceIndex"
ACCOUNT: Final = "ACCOUNT#"
STARTS: Final = "STARTS"
LINK: Final = "T#"


def link_key(link: Link) -> dict[str, str]:
    return {"pk": ACCOUNT + link.account, "sk": f"{LINK}{link.when}#{link.transaction_id:020d}"}


def start_key(account: str, transaction_id: int) -> dict[str, str]:
    return {"pk": STARTS, "sk": f"{account}#{transaction_id}"}


def link_item(link: Link) -> dict[str, Any]:
    """A link's item (plain values)."""
    item: dict[str, Any] = {**link_key(link), "kind": "link", "account": link.account}
    item |= {"transaction_id": link.transaction_id, "amount": link.amount}
    item |= {"when": link.when, "source": link.source}
    if link.balance is not None:
        item |= {"balance": link.balance, "after_key": f"{link.balance}#{link.transaction_id}"}
    return item


def start_item(gap: Gap) -> dict[str, Any]:
    """A chain start's item (plain values), as first kept."""
    item: dict[str, Any] = {**start_key(gap.account, gap.transaction_id), "kind": "start"}
    item |= {"account": gap.account, "transaction_id": gap.transaction_id}
    item |= {"balance": gap.balance, "amount": gap.amount, "when": gap.when}
    return item | {"found_at": gap.found_at, "origin": gap.origin}


def link_from(values: dict[str, Any]) -> Link:
    balance = values.get("balance")
    return Link(
        account=str(values["account"]),
        transaction_id=int(values["transaction_id"]),
        amount=int(values["amount"]),
        balance=None if balance is None else int(balance),
        when=str(values.get("when", "")),
        source=str(values.get("source", "")),
    )


def gap_from(values: dict[str, Any]) -> Gap:
    return Gap(
        account=str(values["account"]),
        transaction_id=int(values["transaction_id"]),
        balance=int(values["balance"]),
        amount=int(values["amount"]),
        when=str(values.get("when", "")),
        found_at=str(values["found_at"]),
        origin=bool(values.get("origin", False)),
        detected_at=values.get("detected_at"),
        previous_id=None if values.get("previous_id") is None else int(values["previous_id"]),
        previous_balance=(
            None if values.get("previous_balance") is None else int(values["previous_balance"])
        ),
    )


class BalanceChain:
    """The balance chain table, through one DynamoDB client."""

    def __init__(self, dynamodb: DynamoDBClient, table: str) -> None:
        self.table = Table(dynamodb, table)

    def _query(self, **request: Any) -> Iterator[dict[str, Any]]:
        for page in query_pages(self.table.dynamodb, TableName=self.table.name, **request):
            yield from (from_dynamodb(item) for item in page["Items"])

    # Links ---------------------------------------------------------------------------

    def add(self, link: Link) -> None:
        """Keep a transaction's link. The same transaction always makes the same item, so a
        retry or a replay rewrites it unchanged."""
        self.table.put(link_item(link))

    def reached(self, account: str, balance: int) -> bool:
        """Whether a known transaction of `account` left it at `balance` (BalanceIndex; an
        index read, eventually consistent: a miss is checked again by the reconciler)."""
        page = next(
            query_pages(
                self.table.dynamodb,
                TableName=self.table.name,
                IndexName=BALANCE_INDEX,
                KeyConditionExpression="pk = :pk AND begins_with(after_key, :balance)",
                ExpressionAttributeValues={
                    ":pk": {"S": ACCOUNT + account},
                    ":balance": {"S": f"{balance}#"},
                },
                Limit=1,
            )
        )
        return bool(page["Items"])

    def previous(self, account: str, when: str, transaction_id: int | None = None) -> Link | None:
        """The account's latest link before second `when` (or, with `transaction_id`, before
        that transaction in time and id order); None: none."""
        sk = f"{LINK}{when}" + ("" if transaction_id is None else f"#{transaction_id:020d}")
        for values in self._query(
            KeyConditionExpression="pk = :pk AND sk < :sk",
            ExpressionAttributeValues={":pk": {"S": ACCOUNT + account}, ":sk": {"S": sk}},
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        ):
            return link_from(values)
        return None

    def links(self, account: str, first: str, last: str) -> list[Link]:
        """The account's links from `first` to `last` (sortable time text: a day's are
        `links(account, "2026-11-21", "2026-11-22")`), in time order."""
        return [
            link_from(values)
            for values in self._query(
                KeyConditionExpression="pk = :pk AND sk BETWEEN :first AND :last",
                ExpressionAttributeValues={
                    ":pk": {"S": ACCOUNT + account},
                    ":first": {"S": f"{LINK}{first}"},
                    ":last": {"S": f"{LINK}{last}"},
                },
                ConsistentRead=True,
            )
        ]

    # Chain starts (possible gaps) --------------------------------------------------

    def add_start(self, gap: Gap) -> bool:
        """Keep a chain start, if it isn't kept already; True: it is new."""
        return self.table.put_if(start_item(gap), "attribute_not_exists(pk)").written

    def starts(self) -> list[Gap]:
        """Every chain start kept, every account."""
        return [
            gap_from(values)
            for values in self._query(
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": STARTS}},
                ConsistentRead=True,
            )
        ]

    def classify(self, gap: Gap, *, origin: bool, found_at: str) -> bool:
        """Mark a start as the account's origin or as a possible gap found at `found_at`
        (a former origin becomes a gap when an earlier transaction turns up)."""
        key = start_key(gap.account, gap.transaction_id)
        update = "SET origin = :origin, found_at = :found"
        return self.table.update_if(
            key, update, "attribute_exists(pk)", origin=origin, found=found_at
        ).written

    def mark_detected(self, gap: Gap) -> bool:
        """Record that `Balance Gap Detected` went out (its `detected_at` and the
        transaction before it), once: False if it already had."""
        key = start_key(gap.account, gap.transaction_id)
        condition = "attribute_exists(pk) AND attribute_not_exists(detected_at)"
        update = "SET detected_at = :at, previous_id = :id, previous_balance = :balance"
        return self.table.update_if(
            key,
            update,
            condition,
            at=gap.detected_at,
            id=gap.previous_id,
            balance=gap.previous_balance,
        ).written

    def remove_start(self, gap: Gap) -> bool:
        """The start chains now: forget it, once (False: already gone)."""
        return delete_if(
            self.table.dynamodb,
            TableName=self.table.name,
            Key=to_dynamodb(start_key(gap.account, gap.transaction_id)),
            ConditionExpression="attribute_exists(pk)",
        ).written
