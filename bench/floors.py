"""The floors: each function's job done by bare boto3 (and requests), with no Powertools, no
layer and no structure, sending the handler's requests: the same operations, parameters,
expressions and item attributes (checked run by run as `request_shape`s, bench/common.py),
for a transaction of their own. So the server's work and botocore's serialising cost the
same on both sides, and a ratio shows only what the handler's code adds.

Imported on the clock (bench/cold_child.py), as a handler's module is; boto3 and requests
are imported inside the floors, as a handler imports them.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any


def _clients(*names: str) -> list[Any]:
    import boto3

    return [boto3.client(n) for n in names]


def _now() -> tuple[datetime, str]:
    now = datetime.now(UTC)
    return now, now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def floor_receiver(event: dict[str, Any]) -> None:
    (secrets, dynamodb, sqs) = _clients("secretsmanager", "dynamodb", "sqs")
    secrets.get_secret_value(SecretId=os.environ["WEBHOOK_SECRET_ID"])
    (transaction,) = json.loads(event["body"])["data"]
    tid, at = transaction["id"], _now()[1]
    text = {"S": ""}
    dynamodb.put_item(
        TableName=os.environ["LEDGER_TABLE_NAME"],
        Item={
            "pk": {"S": f"TXN#{tid}"},
            "kind": {"S": "transaction"},
            "transaction_id": {"N": str(tid)},
            "status": {"S": "RECEIVED"},
            "pending": {"S": "RECEIVED"},
            "received_at": {"S": at},
            "source": {"S": "webhook-v1"},
            "raw": {"S": json.dumps(transaction, sort_keys=True)},
            "amount": {"N": str(transaction["amount"])},
            "description": {"S": transaction["description"]},
            "reference": {"S": transaction["tid"]},
            "balance": {"N": str(transaction["cusum_balance"])},
            "when": {"S": transaction["when"]},
            "account_number": {"S": transaction["subAccId"]},
            **dict.fromkeys(
                (
                    "bank_name",
                    "virtual_account",
                    "virtual_account_name",
                    "counter_account_name",
                    "counter_account_number",
                    "counter_bank_id",
                    "counter_bank_name",
                ),
                text,
            ),
        },
        ConditionExpression="attribute_not_exists(pk)",
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    sqs.send_message_batch(
        QueueUrl=os.environ["TRANSACTION_QUEUE_URL"],
        Entries=[
            {"Id": "0", "MessageBody": json.dumps({"transaction_id": tid, "source": "webhook-v1"})}
        ],
    )


def floor_processor(event: dict[str, Any]) -> None:
    (dynamodb, events) = _clients("dynamodb", "events")
    ledger, orders = os.environ["LEDGER_TABLE_NAME"], os.environ["ORDERS_TABLE_NAME"]
    idempotency = os.environ["IDEMPOTENCY_TABLE_NAME"]
    tid = json.loads(event["Records"][0]["body"])["transaction_id"]
    now, at = _now()
    seconds, record = int(now.timestamp()), {"S": f"floor#{tid}"}
    dynamodb.put_item(  # this transaction is being worked: a second worker stays off
        TableName=idempotency,
        Item={
            "id": record,
            "expiration": {"N": str(seconds + 3600)},
            "status": {"S": "INPROGRESS"},
            "in_progress_expiration": {"N": str(seconds * 1000 + 30_000)},
        },
        ConditionExpression="attribute_not_exists(#id) OR #expiry < :now OR (#status = "
        ":inprogress AND attribute_exists(#in_progress_expiry) AND #in_progress_expiry < "
        ":now_in_millis)",
        ExpressionAttributeNames={
            "#id": "id",
            "#expiry": "expiration",
            "#in_progress_expiry": "in_progress_expiration",
            "#status": "status",
        },
        ExpressionAttributeValues={
            ":now": {"N": str(seconds)},
            ":now_in_millis": {"N": str(seconds * 1000)},
            ":inprogress": {"S": "INPROGRESS"},
        },
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    key = {"pk": {"S": f"TXN#{tid}"}}
    entry = dynamodb.get_item(TableName=ledger, Key=key, ConsistentRead=True)["Item"]
    code = entry["description"]["S"].split()[0]
    order_key = {"pk": {"S": code}}
    order = dynamodb.get_item(TableName=orders, Key=order_key, ConsistentRead=True)["Item"]
    amount, expected = int(entry["amount"]["N"]), int(order["expected_amount"]["N"])
    dynamodb.update_item(  # the decision, stored before the order changes
        TableName=ledger,
        Key=key,
        ExpressionAttributeNames={"#status": "status"},
        UpdateExpression="SET binding = :binding",
        ConditionExpression="attribute_not_exists(binding) AND #status = :received",
        ExpressionAttributeValues={
            ":binding": {
                "M": {
                    "decision": {"S": "order"},
                    "order_code": {"S": code},
                    "candidates": {"L": []},
                    "bound_at": {"S": at},
                    "bound_by": {"S": "processor"},
                    "note": {"S": ""},
                    "accept_late": {"BOOL": False},
                }
            },
            ":received": {"S": "RECEIVED"},
        },
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    paid = dynamodb.update_item(
        TableName=orders,
        Key=order_key,
        UpdateExpression="SET payments.#tid = :payment, paid_amount = :paid, #status = :status, "
        "updated_at = :at, paid_at = if_not_exists(paid_at, :at) REMOVE expiring",
        ConditionExpression="attribute_exists(pk) AND paid_amount = :before AND #status = :was "
        "AND attribute_not_exists(payments.#tid)",
        ExpressionAttributeNames={"#tid": str(tid), "#status": "status"},
        ExpressionAttributeValues={
            ":payment": {
                "M": {
                    "amount": {"N": str(amount)},
                    "at": {"S": at},
                    "status": {"S": "PAID"},
                    "paid_amount": {"N": str(amount)},
                    "settles": {"BOOL": True},
                }
            },
            ":paid": {"N": str(amount)},
            ":status": {"S": "PAID"},
            ":at": {"S": at},
            ":before": {"N": "0"},
            ":was": {"S": "PENDING"},
        },
        ReturnValues="ALL_NEW",
    )["Attributes"]
    received = {
        "transaction_id": tid,
        "order_code": code,
        "amount": amount,
        "description": entry["description"]["S"],
        "when": entry["when"]["S"],
        "account_number": entry["account_number"]["S"],
        "reference": entry["reference"]["S"],
        "source": entry["source"]["S"],
    }
    settled = {
        **received,
        "expected_amount": expected,
        "paid_amount": amount,
        "remaining": expected - amount,
        "overpaid_by": 0,
        "status": paid["status"]["S"],
        "transaction_ids": [tid],
        "paid_at": paid["paid_at"]["S"],
    }
    bus = os.environ["EVENT_BUS_NAME"]
    received |= {"outcome": "paid", "confirmation": "not-required"}
    events.put_events(
        Entries=[
            {"EventBusName": bus, "Source": "casso.payments", "DetailType": kind, "Detail": d}
            for kind, d in (
                ("Transaction Received", json.dumps(received)),
                ("Order Paid", json.dumps(settled)),
            )
        ]
    )
    dynamodb.update_item(
        TableName=ledger,
        Key=key,
        ExpressionAttributeNames={"#status": "status"},
        UpdateExpression="SET #status = :processed, outcome = :outcome, processed_at = :at, "
        "order_code = :code REMOVE pending",
        ConditionExpression="#status = :received",
        ExpressionAttributeValues={
            ":processed": {"S": "PROCESSED"},
            ":received": {"S": "RECEIVED"},
            ":outcome": {"S": "paid"},
            ":at": {"S": at},
            ":code": {"S": code},
        },
    )
    dynamodb.update_item(
        TableName=idempotency,
        Key={"id": record},
        UpdateExpression="SET #response_data = :response_data, #expiry = :expiry, "
        "#status = :status",
        ExpressionAttributeNames={
            "#expiry": "expiration",
            "#response_data": "data",
            "#status": "status",
        },
        ExpressionAttributeValues={
            ":expiry": {"N": str(seconds + 3600)},
            ":response_data": {"S": json.dumps({"order_code": code, "outcome": "paid"})},
            ":status": {"S": "COMPLETED"},
        },
    )


def floor_reconciler(event: dict[str, Any]) -> None:
    import hashlib

    import requests

    (secrets, dynamodb) = _clients("secretsmanager", "dynamodb")
    ledger, url = os.environ["LEDGER_TABLE_NAME"], os.environ["WEBHOOK_URL"]
    now, at = _now()
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
                "ProjectionExpression": "pk, #source, received_at",
                "ExpressionAttributeNames": {"#source": "source"},
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
