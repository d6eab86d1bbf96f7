"""Events as AWS hands them to a Lambda function: API Gateway REST proxy, SQS batches."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


def rest_proxy_event(
    method: str,
    path: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: str | None = None,
    source_ip: str = "127.0.0.1",
    stage: str = "prod",
    resource: str | None = None,
    path_parameters: Mapping[str, str] | None = None,
    query: Mapping[str, list[str]] | None = None,
    now: datetime | None = None,
    request_id: str | None = None,
    domain_name: str | None = None,
) -> dict[str, Any]:
    """`now` and `request_id` default to the moment and a random id, as API Gateway's.
    `query` maps each query-string name to its values, in order (API Gateway's
    queryStringParameters keeps the last)."""
    now = now or datetime.now(UTC)
    headers = dict(headers or {})
    return {
        "resource": resource or path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} if query else None,
        "multiValueQueryStringParameters": {k: list(v) for k, v in query.items()}
        if query
        else None,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource or path,
            "httpMethod": method,
            "path": f"/{stage}{path}",
            "stage": stage,
            "requestId": request_id or str(uuid.uuid4()),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "protocol": "HTTP/1.1",
            "accountId": "123456789012",
            "apiId": "local",
            **({"domainName": domain_name} if domain_name else {}),
            "identity": {"sourceIp": source_ip, "userAgent": headers.get("User-Agent", "")},
        },
        "body": body,
        "isBase64Encoded": False,
    }


def sqs_record(
    body: str,
    *,
    message_id: str | None = None,
    receipt_handle: str = "local",
    receive_count: int = 1,
    queue_arn: str = "arn:aws:sqs:ap-southeast-1:123456789012:casso-local-TransactionQueue",
    now: datetime | None = None,
) -> dict[str, Any]:
    now_ms = str(int((now or datetime.now(UTC)).timestamp() * 1000))
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": receipt_handle,
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": now_ms,
            "SenderId": "123456789012",
            "ApproximateFirstReceiveTimestamp": now_ms,
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 - SQS's own checksum
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_arn.split(":")[3],
    }


def sqs_event(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": records}
