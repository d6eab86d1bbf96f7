"""The notifier's job, bare: read the signing secret and the order, sign the Standard
Webhooks body with hmac, POST it with http.client, log the attempt."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import os
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from floors import clients, timestamps


def floor(event: dict[str, Any]) -> None:
    (dynamodb, secretsmanager) = clients("dynamodb", "secretsmanager")
    message = json.loads(event["Records"][0]["body"])
    kind, detail = message["detail-type"], message["detail"]
    secret = json.loads(
        secretsmanager.get_secret_value(SecretId=os.environ["NOTIFY_SECRET_ID"])["SecretString"]
    )["signing_secret"]
    order = dynamodb.get_item(
        TableName=os.environ["ORDERS_TABLE_NAME"],
        Key={"pk": {"S": detail["order_code"]}},
        ConsistentRead=True,
    ).get("Item", {})
    url = order.get("notify_url", {}).get("S") or os.environ["NOTIFY_URL"]
    body = json.dumps(
        {"type": "order.paid", "timestamp": message["time"], "data": detail},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    about = f"{kind}|{detail['order_code']}|{detail['transaction_id']}"
    webhook_id = "msg_" + hashlib.sha256(about.encode()).hexdigest()[:32]
    now, at = timestamps()
    key = base64.b64decode(secret.removeprefix("whsec_") + "==")
    signed = f"{webhook_id}.{int(now.timestamp())}.{body}".encode()
    signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    connection.request(
        "POST",
        parts.path,
        body=body.encode(),
        headers={
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": f"v1,{signature}",
            "content-type": "application/json",
        },
    )
    status = connection.getresponse().status
    connection.close()
    dynamodb.put_item(
        TableName=os.environ["NOTIFICATIONS_TABLE_NAME"],
        Item={
            "pk": {"S": webhook_id},
            "sk": {"S": f"webhook#{at}#1"},
            "channel": {"S": "webhook"},
            "type": {"S": "order.paid"},
            "target": {"S": url},
            "attempt": {"N": "1"},
            "replay": {"N": "0"},
            "at": {"S": at},
            "status": {"N": str(status)},
            "latency_ms": {"N": "1"},
            "outcome": {"S": "delivered"},
            "body": {"S": body},
            "first_at": {"S": at},
            "expires_at": {"N": str(int((now + timedelta(days=30)).timestamp()))},
            "order_code": {"S": detail["order_code"]},
        },
    )
