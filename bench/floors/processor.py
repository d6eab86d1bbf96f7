"""The processor's job, bare: claim the transaction, bind it, claim it on the ledger, pay the
order, join its account's balance chain, publish, mark."""

from __future__ import annotations

import json
import os
from typing import Any

from floors import clients, timestamps


def floor(event: dict[str, Any]) -> None:
    (dynamodb, events) = clients("dynamodb", "events")
    ledger, orders = os.environ["LEDGER_TABLE_NAME"], os.environ["ORDERS_TABLE_NAME"]
    idempotency = os.environ["IDEMPOTENCY_TABLE_NAME"]
    tid = json.loads(event["Records"][0]["body"])["transaction_id"]
    now, at = timestamps()
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
        # ... and no stronger version replaced it meanwhile (issue 25)
        ConditionExpression="attribute_not_exists(binding) AND #status = :received AND "
        "attribute_not_exists(revision)",
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
    dynamodb.update_item(  # claimed before the order changes: no version replaces it now
        TableName=ledger,
        Key=key,
        ExpressionAttributeNames={"#status": "status"},
        UpdateExpression="SET applying = :at",
        ConditionExpression="#status = :received AND attribute_not_exists(revision)",
        ExpressionAttributeValues={":at": {"S": at}, ":received": {"S": "RECEIVED"}},
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
                    "source": {"S": "webhook-v1"},  # the payment's source, kept (issue 23)
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
    # Its account's balance chain (issue 25): the link, and whether a known transaction left
    # the account at this one's balance before (it did: no chain start, no Casso sync).
    account, balance = entry["account_number"]["S"], int(entry["balance"]["N"])
    when = entry["when"]["S"] + "T00:00:00"  # a v1 date, as the chain sorts it
    chain, pk = os.environ["BALANCE_CHAIN_TABLE_NAME"], {"S": f"ACCOUNT#{account}"}
    dynamodb.put_item(
        TableName=chain,
        Item={
            "pk": pk,
            "sk": {"S": f"T#{when}#{tid:020d}"},
            "kind": {"S": "link"},
            "account": {"S": account},
            "transaction_id": {"N": str(tid)},
            "amount": {"N": str(amount)},
            "when": {"S": when},
            "source": {"S": entry["source"]["S"]},
            "balance": {"N": str(balance)},
            "after_key": {"S": f"{balance}#{tid}"},
        },
    )
    dynamodb.query(
        TableName=chain,
        IndexName="BalanceIndex",
        KeyConditionExpression="pk = :pk AND begins_with(after_key, :balance)",
        ExpressionAttributeValues={":pk": pk, ":balance": {"S": f"{balance - amount}#"}},
        Limit=1,
    )
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
        ConditionExpression="#status = :received AND attribute_not_exists(revision)",
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
