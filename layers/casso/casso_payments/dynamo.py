"""DynamoDB helpers every table module shares: timestamps as stored, items to and from
DynamoDB's typed JSON (boto3's TypeSerializer / TypeDeserializer), conditional writes
whose failed condition is an answer rather than an error, and a query's pages.

A failed condition is caught as the client's modelled `ConditionalCheckFailedException`
(`client.exceptions`), so every other error, throttling included, still propagates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import QueryOutputTypeDef

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
