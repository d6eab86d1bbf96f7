"""DynamoDB mechanics every table's owner shares: timestamps as stored, items to and from
DynamoDB's typed JSON (boto3's TypeSerializer / TypeDeserializer), conditional writes
whose failed condition is an answer rather than an error, a query's pages, and `Table`, which
puts them together for one table. The keys and expressions of a table are its owner's
(`ledger.repository`, `orders.repository`), never here.

A failed condition is caught as the client's modelled `ConditionalCheckFailedException`
(`client.exceptions`), so every other error, throttling included, still propagates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import QueryOutputTypeDef

BATCH_GET_LIMIT = 100

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def timestamp(moment: datetime) -> str:
    """UTC ISO 8601 with milliseconds: sorts as text, which PendingIndex relies on."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def to_dynamodb(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in values.items()}


def from_dynamodb(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


@dataclass(frozen=True)
class Written:
    """What a conditional write did, items in DynamoDB's typed JSON. `written` False: the
    condition did not hold, nothing changed, and `old` is the item as stored (when the
    request asked with ReturnValuesOnConditionCheckFailure="ALL_OLD" and there is one; else
    {}). After a write, `attributes` holds what ReturnValues asked for."""

    written: bool
    attributes: dict[str, Any] = field(default_factory=dict)
    old: dict[str, Any] = field(default_factory=dict)


def put_if(dynamodb: DynamoDBClient, **request: Any) -> Written:
    """`put_item(**request)`, whose ConditionExpression may refuse it (see `Written`)."""
    return _conditional(dynamodb, dynamodb.put_item, request)


def update_if(dynamodb: DynamoDBClient, **request: Any) -> Written:
    """`update_item(**request)`, whose ConditionExpression may refuse it (see `Written`)."""
    return _conditional(dynamodb, dynamodb.update_item, request)


def delete_if(dynamodb: DynamoDBClient, **request: Any) -> Written:
    """`delete_item(**request)`, whose ConditionExpression may refuse it (see `Written`)."""
    return _conditional(dynamodb, dynamodb.delete_item, request)


def _conditional(
    dynamodb: DynamoDBClient, write: Callable[..., Mapping[str, Any]], request: dict[str, Any]
) -> Written:
    try:
        response = write(**request)
    except dynamodb.exceptions.ConditionalCheckFailedException as error:
        # With ReturnValuesOnConditionCheckFailure="ALL_OLD", the stored item rides on it
        # (the stubs type the error's response without it).
        answer = cast("dict[str, Any]", error.response)
        return Written(False, old=dict(answer.get("Item") or {}))
    return Written(True, dict(response.get("Attributes") or {}))


def query_pages(dynamodb: DynamoDBClient, **request: Any) -> Iterator[QueryOutputTypeDef]:
    """Every page of `query(**request)`, following LastEvaluatedKey. botocore's paginator
    does the same, but its first use loads the paginator models: 6 ms of the reconciler's
    cold start (docs/benchmarks.md#cold-start)."""
    while True:
        page = dynamodb.query(**request)
        yield page
        if "LastEvaluatedKey" not in page:
            return
        request = {**request, "ExclusiveStartKey": page["LastEvaluatedKey"]}


def placeholders(**values: Any) -> dict[str, Any]:
    """ExpressionAttributeValues from plain values: `placeholders(at=...)` -> {":at": ...}."""
    return to_dynamodb({f":{name}": value for name, value in values.items()})


class Table:
    """One table through one client, in plain values: keys and items are plain dicts, an
    expression's values are keyword arguments named as its placeholders (`:at` is `at=`)."""

    def __init__(self, dynamodb: DynamoDBClient, name: str) -> None:
        self.dynamodb, self.name = dynamodb, name

    def get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        """The item (plain values), read consistently; None when there is none."""
        answer = self.dynamodb.get_item(
            TableName=self.name, Key=to_dynamodb(key), ConsistentRead=True
        )
        item = answer.get("Item")
        return from_dynamodb(item) if item else None

    def put(self, item: dict[str, Any]) -> None:
        self.dynamodb.put_item(TableName=self.name, Item=to_dynamodb(item))

    def put_if(
        self,
        item: dict[str, Any],
        condition: str,
        *,
        typed: bool = False,
        names: dict[str, str] | None = None,
        **values: Any,
    ) -> Written:
        """Put `item` (plain values, or DynamoDB's typed JSON if `typed`) if `condition`
        holds; else `Written.old` holds the item as stored."""
        return put_if(
            self.dynamodb,
            TableName=self.name,
            Item=item if typed else to_dynamodb(item),
            ConditionExpression=condition,
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
            **({"ExpressionAttributeNames": names} if names else {}),
            **({"ExpressionAttributeValues": placeholders(**values)} if values else {}),
        )

    def update_if(
        self,
        key: dict[str, Any],
        update: str,
        condition: str,
        *,
        names: dict[str, str] | None = None,
        returns: str = "",
        **values: Any,
    ) -> Written:
        """Update if `condition` holds. `returns`: ReturnValues (ALL_NEW, UPDATED_NEW), or
        "OLD" for the item as stored when the condition fails."""
        extra: dict[str, Any] = {"ExpressionAttributeNames": names} if names else {}
        if returns == "OLD":
            extra["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        elif returns:
            extra["ReturnValues"] = returns
        if values:
            extra["ExpressionAttributeValues"] = placeholders(**values)
        return update_if(
            self.dynamodb,
            TableName=self.name,
            Key=to_dynamodb(key),
            UpdateExpression=update,
            ConditionExpression=condition,
            **extra,
        )

    def delete_if(
        self, key: dict[str, Any], condition: str, names: dict[str, str], **values: Any
    ) -> bool:
        return delete_if(
            self.dynamodb,
            TableName=self.name,
            Key=to_dynamodb(key),
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=placeholders(**values),
        ).written

    def query(
        self, index: str, condition: str, *, select: str = "", limit: int = 0, **values: Any
    ) -> Iterator[QueryOutputTypeDef]:
        """Every page of a query on `index` (`query_pages`)."""
        extra: dict[str, Any] = {"Select": select} if select else {}
        if limit:
            extra["Limit"] = limit
        return query_pages(
            self.dynamodb,
            TableName=self.name,
            IndexName=index,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=placeholders(**values),
            **extra,
        )

    def scan(
        self, condition: str, projection: str, names: dict[str, str], **values: Any
    ) -> Iterator[dict[str, Any]]:
        """Every item a filtered scan finds (plain values): for an operator, not a hot path."""
        for page in self.dynamodb.get_paginator("scan").paginate(
            TableName=self.name,
            FilterExpression=condition,
            ProjectionExpression=projection,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=placeholders(**values),
            ConsistentRead=True,
        ):
            yield from (from_dynamodb(item) for item in page["Items"])

    def batch_get(
        self,
        keys: Sequence[dict[str, Any]],
        projection: str,
        names: dict[str, str],
        *,
        attempts: int = 5,
    ) -> list[dict[str, Any]]:
        """The items of these keys that exist (plain values), BATCH_GET_LIMIT keys a call,
        asking again for what DynamoDB left unprocessed."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            request: Mapping[str, Any] = {
                self.name: {
                    "Keys": [to_dynamodb(k) for k in keys[start : start + BATCH_GET_LIMIT]],
                    "ProjectionExpression": projection,
                    "ExpressionAttributeNames": names,
                    "ConsistentRead": True,
                }
            }
            for _ in range(attempts):
                response = self.dynamodb.batch_get_item(RequestItems=request)
                found += [from_dynamodb(item) for item in response["Responses"][self.name]]
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise RuntimeError(f"DynamoDB left keys unprocessed after {attempts} attempts")
        return found
