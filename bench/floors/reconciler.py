"""The reconciler's job, bare: the lease, the webhook registered afresh, a page checked, the
sweep and expiry queries."""

from __future__ import annotations

import json
import os
import uuid
from datetime import timedelta
from typing import Any

from floors import clients, timestamps


def floor(event: dict[str, Any]) -> None:
    import hashlib

    import requests

    (secrets, dynamodb) = clients("secretsmanager", "dynamodb")
    ledger, url = os.environ["LEDGER_TABLE_NAME"], os.environ["WEBHOOK_URL"]
    now, at = timestamps()
    owner, lease = uuid.uuid4().hex, {"pk": {"S": "STATE#reconcile-lease"}}
    dynamodb.put_item(  # one run at a time
        TableName=ledger,
        Item={
            **lease,
            "kind": {"S": "state"},
            "owner": {"S": owner},
            "acquired_at": {"S": at},
            "expires_at": {"S": (now + timedelta(minutes=5)).isoformat()},
        },
        ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
        ExpressionAttributeValues={":now": {"S": at}},
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )

    def secret(name: str) -> dict[str, Any]:
        return json.loads(secrets.get_secret_value(SecretId=os.environ[name])["SecretString"])

    key, token = secret("CASSO_API_KEY_SECRET_ID")["api_key"], secret("WEBHOOK_SECRET_ID")
    webhook = {"pk": {"S": "STATE#webhook"}}
    dynamodb.query(  # the balance chain's starts: gaps to check (issue 25)
        TableName=os.environ["BALANCE_CHAIN_TABLE_NAME"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "STARTS"}},
        ConsistentRead=True,
    )
    dynamodb.get_item(TableName=ledger, Key=webhook, ConsistentRead=True)
    session = requests.Session()
    session.headers.update({"Authorization": f"Apikey {key}", "Accept": "application/json"})
    base = os.environ["CASSO_API_BASE_URL"]
    session.delete(f"{base}/webhooks", params={"webhook": url}, timeout=10)
    body = {"webhook": url, "secure_token": token["secure_token"], "income_only": True}
    created = session.post(f"{base}/webhooks", json=body, timeout=10).json()["data"]
    dynamodb.put_item(
        TableName=ledger,
        Item={
            **webhook,
            "kind": {"S": "state"},
            "webhook_id": {"N": str(created["id"])},
            "url": {"S": url},
            "income_only": {"BOOL": True},
            "token_sha256": {"S": hashlib.sha256(token["secure_token"].encode()).hexdigest()},
            "updated_at": {"S": at},
            "registered_at": {"S": at},
        },
    )
    params = {"fromDate": (now - timedelta(days=3)).date().isoformat(), "page": 1}
    params |= {"pageSize": 100, "sort": "DESC"}
    page = session.get(f"{base}/transactions", params=params, timeout=10).json()["data"]
    dynamodb.batch_get_item(
        RequestItems={
            ledger: {
                "Keys": [{"pk": {"S": f"TXN#{r['id']}"}} for r in page["records"]],
                # ... and each one's content, compared with Casso's record (issue 25)
                "ProjectionExpression": "pk, #source, received_at, #status, outcome, #raw",
                "ExpressionAttributeNames": {
                    "#source": "source",
                    "#status": "status",
                    "#raw": "raw",
                },
                "ConsistentRead": True,
            }
        }
    )
    dynamodb.get_item(TableName=ledger, Key=webhook, ConsistentRead=True)
    dynamodb.query(  # entries still waiting to be processed
        TableName=ledger,
        IndexName="PendingIndex",
        KeyConditionExpression="pending = :received AND received_at < :cutoff",
        ExpressionAttributeValues={
            ":received": {"S": "RECEIVED"},
            ":cutoff": {"S": (now - timedelta(minutes=15)).isoformat()},
        },
    )
    dynamodb.query(  # entries waiting for a person
        TableName=ledger,
        IndexName="PendingIndex",
        KeyConditionExpression="pending = :stuck",
        ExpressionAttributeValues={":stuck": {"S": "STUCK"}},
        Select="COUNT",
    )
    dynamodb.query(  # orders due to expire
        TableName=os.environ["ORDERS_TABLE_NAME"],
        IndexName="ExpiringIndex",
        KeyConditionExpression="expiring = :due AND expires_at <= :now",
        ExpressionAttributeValues={":due": {"S": "due"}, ":now": {"S": at}},
        Limit=500,
    )
    dynamodb.delete_item(
        TableName=ledger,
        Key=lease,
        ConditionExpression="#owner = :owner",
        ExpressionAttributeNames={"#owner": "owner"},
        ExpressionAttributeValues={":owner": {"S": owner}},
    )
