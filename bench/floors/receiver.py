"""The receiver's job, bare: the webhook secret read, the ledger put, the queue send."""

from __future__ import annotations

import json
import os
from typing import Any

from floors import clients, timestamps


def floor(event: dict[str, Any]) -> None:
    (secrets, dynamodb, sqs) = clients("secretsmanager", "dynamodb", "sqs")
    secrets.get_secret_value(SecretId=os.environ["WEBHOOK_SECRET_ID"])
    (transaction,) = json.loads(event["body"])["data"]
    tid, at = transaction["id"], timestamps()[1]
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
