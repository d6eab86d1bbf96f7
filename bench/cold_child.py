"""Runs in a fresh interpreter: time one import-and-first-call, print milliseconds as JSON.

    cold_child.py handler <code dir> <layer dir> <event.json>
    cold_child.py floor-<function> <layer dir>

Only the standard library is imported before the clock starts; the code and its
dependencies come from the directories given (the built layer, as on Lambda).
"""

import gc
import json
import os
import sys
import time
import uuid

mode = sys.argv[1]


class Context:
    function_name = os.environ.get("BENCH_FUNCTION", "bench")
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:ap-southeast-1:123456789012:function:bench"
    aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        # The function's own Timeout: the reconciler plans its Casso calls by what is left.
        return int(os.environ.get("BENCH_TIMEOUT_MS", "30000"))


def clients(*names: str) -> list:
    import boto3

    return [boto3.client(n) for n in names]


def floor_receiver() -> None:
    (secrets, dynamodb, sqs) = clients("secretsmanager", "dynamodb", "sqs")
    secrets.get_secret_value(SecretId=os.environ["WEBHOOK_SECRET_ID"])
    dynamodb.put_item(
        TableName=os.environ["LEDGER_TABLE_NAME"],
        Item={"pk": {"S": f"FLOOR#{uuid.uuid4()}"}, "raw": {"S": "{}"}},
        ConditionExpression="attribute_not_exists(pk)",
    )
    sqs.send_message_batch(
        QueueUrl=os.environ["TRANSACTION_QUEUE_URL"], Entries=[{"Id": "0", "MessageBody": "{}"}]
    )


def floor_processor() -> None:
    (dynamodb, events) = clients("dynamodb", "events")
    ledger, orders = os.environ["LEDGER_TABLE_NAME"], os.environ["ORDERS_TABLE_NAME"]
    idempotency = os.environ["IDEMPOTENCY_TABLE_NAME"]
    key = {"pk": {"S": f"FLOOR#{uuid.uuid4()}"}}
    dynamodb.put_item(TableName=idempotency, Item={"id": {"S": key["pk"]["S"]}})
    dynamodb.get_item(TableName=ledger, Key=key, ConsistentRead=True)
    dynamodb.get_item(TableName=orders, Key=key, ConsistentRead=True)
    dynamodb.update_item(  # the decision, stored before the order changes
        TableName=ledger,
        Key=key,
        UpdateExpression="SET bound = :b",
        ExpressionAttributeValues={":b": {"S": "DH1"}},
    )
    dynamodb.update_item(
        TableName=orders,
        Key=key,
        UpdateExpression="SET paid = :p",
        ExpressionAttributeValues={":p": {"N": "1"}},
    )
    events.put_events(
        Entries=[
            {
                "EventBusName": os.environ["EVENT_BUS_NAME"],
                "Source": "floor",
                "DetailType": "x",
                "Detail": "{}",
            }
        ]
    )
    dynamodb.update_item(
        TableName=ledger,
        Key=key,
        UpdateExpression="SET done = :d",
        ExpressionAttributeValues={":d": {"S": "y"}},
    )
    dynamodb.update_item(
        TableName=idempotency,
        Key={"id": key["pk"]},
        UpdateExpression="SET done = :d",
        ExpressionAttributeValues={":d": {"S": "y"}},
    )


def floor_reconciler() -> None:
    import requests

    (secrets, dynamodb) = clients("secretsmanager", "dynamodb")
    secrets.get_secret_value(SecretId=os.environ["WEBHOOK_SECRET_ID"])
    key = json.loads(
        secrets.get_secret_value(SecretId=os.environ["CASSO_API_KEY_SECRET_ID"])["SecretString"]
    )["api_key"]
    ledger = os.environ["LEDGER_TABLE_NAME"]
    lease = {"pk": {"S": "STATE#floor-lease"}}
    dynamodb.put_item(  # one run at a time
        TableName=ledger, Item=lease, ConditionExpression="attribute_not_exists(pk)"
    )
    dynamodb.get_item(TableName=ledger, Key={"pk": {"S": "STATE#webhook"}})
    session = requests.Session()
    session.headers["Authorization"] = f"Apikey {key}"
    base = os.environ["CASSO_API_BASE_URL"]
    session.delete(f"{base}/webhooks", params={"webhook": os.environ["WEBHOOK_URL"]}, timeout=10)
    session.post(f"{base}/webhooks", json={"webhook": os.environ["WEBHOOK_URL"]}, timeout=10)
    session.get(
        f"{base}/transactions", params={"fromDate": "2000-01-01", "pageSize": 100}, timeout=10
    )
    dynamodb.batch_get_item(RequestItems={ledger: {"Keys": [{"pk": {"S": "TXN#0"}}]}})
    dynamodb.query(
        TableName=ledger,
        IndexName="PendingIndex",
        KeyConditionExpression="pending = :r",
        ExpressionAttributeValues={":r": {"S": "RECEIVED"}},
    )
    dynamodb.get_item(TableName=ledger, Key={"pk": {"S": "STATE#backfill"}})
    dynamodb.put_item(TableName=ledger, Item={"pk": {"S": "STATE#floor"}})
    dynamodb.query(  # orders due to expire
        TableName=os.environ["ORDERS_TABLE_NAME"],
        IndexName="ExpiringIndex",
        KeyConditionExpression="expiring = :d",
        ExpressionAttributeValues={":d": {"S": "due"}},
    )
    dynamodb.query(  # entries waiting for a person
        TableName=ledger,
        IndexName="PendingIndex",
        KeyConditionExpression="pending = :s",
        ExpressionAttributeValues={":s": {"S": "STUCK"}},
        Select="COUNT",
    )
    dynamodb.delete_item(TableName=ledger, Key=lease)


if mode == "handler":
    code_dir, layer_dir, event_path = sys.argv[2:5]
    sys.path[:0] = [code_dir, layer_dir]
    with open(event_path) as f:
        event = json.load(f)
    started, cpu = time.perf_counter(), time.process_time()
    import app  # the import is what is measured

    answer = app.lambda_handler(event, Context())
else:
    sys.path[:0] = [sys.argv[2]]
    started, cpu = time.perf_counter(), time.process_time()
    answer = {
        "floor-receiver": floor_receiver,
        "floor-processor": floor_processor,
        "floor-reconciler": floor_reconciler,
    }[mode]()
elapsed = (time.perf_counter() - started) * 1000
cpu = (time.process_time() - cpu) * 1000


def full_collection_ms() -> float:
    began = time.perf_counter()
    gc.collect()
    return (time.perf_counter() - began) * 1000


# After the clock: what a full collection costs in this warm environment, with the heap as
# set-up left it (frozen, in the handlers), then with everything back in the old generation.
full_gc = {"as_left": full_collection_ms()}
gc.unfreeze()
full_gc["unfrozen"] = full_collection_ms()
sys.stdout = sys.__stdout__
# The answer too: the parent checks it, so a handler that failed fast can't pass as cheap.
# CPU time beside wall time: on a shared machine it is far less swayed by other work.
result = {"ms": elapsed, "cpu_ms": cpu, "full_gc_ms": full_gc, "answer": answer}
print("BENCH_RESULT " + json.dumps(result, default=str))
