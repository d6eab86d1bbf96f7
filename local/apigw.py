"""API Gateway REST proxy events, as API Gateway hands them to a Lambda function."""

from __future__ import annotations

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
) -> dict[str, Any]:
    now = datetime.now(UTC)
    headers = dict(headers or {})
    return {
        "resource": resource or path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource or path,
            "httpMethod": method,
            "path": f"/{stage}{path}",
            "stage": stage,
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "protocol": "HTTP/1.1",
            "accountId": "123456789012",
            "apiId": "local",
            "identity": {"sourceIp": source_ip, "userAgent": headers.get("User-Agent", "")},
        },
        "body": body,
        "isBase64Encoded": False,
    }
