"""Against a deployed stack: runs only when AWS_SAM_STACK_NAME names one (and AWS credentials
for its account are set); skipped otherwise.

    AWS_SAM_STACK_NAME=casso-payments-dev .venv/bin/python -m pytest tests/deployed -v
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime

import boto3
import pytest
import requests

from local.casso.simulator import webhook_request

STACK = os.environ.get("AWS_SAM_STACK_NAME", "")
pytestmark = pytest.mark.skipif(not STACK, reason="set AWS_SAM_STACK_NAME to test a deployed stack")


@pytest.fixture(scope="module")
def outputs() -> dict[str, str]:
    stack = boto3.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


@pytest.fixture(scope="module")
def secure_token(outputs) -> str:
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=outputs["WebhookSecretArn"])
    return json.loads(secret["SecretString"])["secure_token"]


def webhook(transaction_id: int, *, token: str) -> tuple[dict, str]:
    record = {
        "id": transaction_id,
        "tid": f"TEST{transaction_id}",
        "description": "integration test, no order",
        "amount": 1,
        "cusum_balance": 0,
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "bankSubAccId": "test",
    }
    return webhook_request(
        record, generation="v1", secure_token=token, timestamp_ms=int(time.time() * 1000)
    )


def test_a_signed_delivery_is_acknowledged_and_recorded_once(outputs, secure_token):
    # A test id far above Casso's, so it never meets a real transaction.
    transaction_id = 9_000_000_000 + int(time.time())
    headers, body = webhook(transaction_id, token=secure_token)
    for _ in range(2):
        response = requests.post(
            outputs["WebhookUrl"], data=body.encode(), headers=headers, timeout=10
        )
        assert (response.status_code, response.json()) == (200, {"success": True})
    item = boto3.client("dynamodb").get_item(
        TableName=outputs["LedgerTableName"],
        Key={"pk": {"S": f"TXN#{transaction_id}"}},
        ConsistentRead=True,
    )["Item"]
    assert item["source"] == {"S": "webhook-v1"}


def test_a_wrong_token_is_refused(outputs):
    headers, body = webhook(1, token="not-the-token")
    response = requests.post(outputs["WebhookUrl"], data=body.encode(), headers=headers, timeout=10)
    assert response.status_code in (401, 403)  # 403: refused by the IP allowlist first


def test_the_operator_outputs_are_there(outputs):
    assert outputs["DashboardUrl"].startswith("https://")
    assert {"PaymentsBusName", "OrdersTableName", "AlarmTopicArn", "CassoApiKeySecretArn"} <= set(
        outputs
    )
