"""The orders API's POST /orders, bare: the shop's key checked (its secret read), the order
put (conditional), the payment link's key read and the link signed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from typing import Any

from floors import clients, timestamps


def floor(event: dict[str, Any]) -> dict[str, Any]:
    (secrets, dynamodb) = clients("secretsmanager", "dynamodb")
    stored = secrets.get_secret_value(SecretId=os.environ["SHOP_API_KEY_SECRET_ID"])
    keys = json.loads(stored["SecretString"])
    token = event["headers"]["Authorization"].split(" ", 1)[1]
    if token not in [*keys.get("api_keys", []), keys.get("api_key")]:
        return {"statusCode": 401}
    body = json.loads(event["body"])
    code, at = body["order_code"], timestamps()[1]
    dynamodb.put_item(
        TableName=os.environ["ORDERS_TABLE_NAME"],
        Item={
            "pk": {"S": code},
            "order_code": {"S": code},
            "expected_amount": {"N": str(body["amount"])},
            "status": {"S": "PENDING"},
            "created_at": {"S": at},
            "updated_at": {"S": at},
            "paid_amount": {"N": "0"},
            "payments": {"M": {}},
            "note": {"S": ""},
            "listed": {"S": "order"},
        },
        ConditionExpression="attribute_not_exists(pk)",
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    link = secrets.get_secret_value(SecretId=os.environ["PAY_LINK_SECRET_ID"])
    key = json.loads(link["SecretString"])["pay_link_key"].encode()
    digest = hmac.new(key, code.encode(), hashlib.sha256).digest()[:16]
    token = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    answer = {"order_code": code, "amount": body["amount"], "payment_url": f"/pay/{code}?t={token}"}
    return {"statusCode": 201, "body": json.dumps(answer)}
