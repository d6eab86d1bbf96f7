"""Operator tools against a moto server: make redrive, make replay."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
import uuid
import zipfile

import boto3
import pytest
import requests
from aws_lambda_powertools.utilities.parameters import SecretsProvider

from casso_payments.casso.api_auth import CassoAuth
from casso_payments.casso.credentials import read_casso_auth
from casso_payments.ledger.repository import Ledger
from casso_payments.orders.repository import Orders
from local.stack.template import ROOT
from tests.helpers import NOW, drain_queue, published_events

pytestmark = pytest.mark.integration


def stack_with_outputs(server_stack, **outputs: str) -> str:
    """A CloudFormation stack on the moto server with these outputs and nothing else."""
    name = f"deployed-{uuid.uuid4().hex[:6]}"
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    server_stack.client("cloudformation").create_stack(
        StackName=name, TemplateBody=json.dumps(template)
    )
    return name


def fake_deployed_stack(server_stack, **more_outputs: str) -> str:
    """A deployed stack as ops sees it: outputs naming the test's queues and tables."""
    return stack_with_outputs(
        server_stack,
        TransactionQueueUrl=server_stack.queue_url,
        TransactionDeadLetterQueueUrl=server_stack.dlq_url,
        LedgerTableName=server_stack.table,
        OrdersTableName=server_stack.orders_table,
        **more_outputs,
    )


def make(target: str, endpoint: str, **variables: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint}
    return subprocess.run(
        ["make", "--no-print-directory", target, *(f"{k}={v}" for k, v in variables.items())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_make_redrive_moves_the_dead_letter_queue_back(server_stack):
    for n in range(13):
        server_stack.sqs.send_message(
            QueueUrl=server_stack.dlq_url, MessageBody=json.dumps({"transaction_id": n})
        )
    result = make("redrive", server_stack.endpoint, STACK=fake_deployed_stack(server_stack))
    assert result.returncode == 0, result.stderr
    assert "moved 13 messages from the dead-letter queue" in result.stdout
    assert drain_queue(server_stack.sqs, server_stack.dlq_url) == []
    back = sorted(
        m["transaction_id"] for m in drain_queue(server_stack.sqs, server_stack.queue_url)
    )
    assert back == list(range(13))


def test_make_redrive_without_a_stack_says_how(server_stack):
    result = make("redrive", server_stack.endpoint)
    assert result.returncode == 2
    assert "usage: make redrive STACK=<stack name>" in result.stderr


def test_replay_works_a_transaction_again_on_the_order_it_is_bound_to(pipeline, server_stack):
    assert pipeline.deliver({"id": 77, "amount": 150_000, "description": "DH77 thanh toan"}) == 200
    pipeline.run_processor()
    assert server_stack.ledger.get(77).outcome == "unmatched"
    # The order was missing; a person creates it. A replay keeps the first decision (a
    # replay never re-matches); settling it onto the order is `ops settle`.
    server_stack.orders.create("DH77", 150_000, now=NOW)
    stack = fake_deployed_stack(server_stack)
    result = make("replay", server_stack.endpoint, STACK=stack, ID="77")
    assert result.returncode == 0, result.stderr
    assert "transaction 77 queued again (replay 1)" in result.stdout
    pipeline.run_processor()
    assert server_stack.ledger.get(77).outcome == "unmatched"
    settled = ops(
        server_stack.endpoint, "settle", "--stack", stack, "--id", "77", "--order", "DH77"
    )
    assert settled.returncode == 0, settled.stderr
    pipeline.run_processor()
    entry = server_stack.ledger.get(77)
    assert (entry.status, entry.outcome) == ("PROCESSED", "paid")
    assert server_stack.orders.get("DH77").payments == {77: 150_000}
    # A replay now finds the transfer already on its order: nothing is added twice.
    assert make("replay", server_stack.endpoint, STACK=stack, ID="77").returncode == 0
    pipeline.run_processor()
    assert server_stack.ledger.get(77).outcome == "paid"
    assert server_stack.orders.get("DH77").paid_amount == 150_000


def test_replay_of_an_unknown_transaction_is_an_error(server_stack):
    result = make(
        "replay", server_stack.endpoint, STACK=fake_deployed_stack(server_stack), ID="404"
    )
    assert result.returncode != 0
    assert "transaction 404 is not in the ledger" in result.stderr


def ops(
    endpoint: str, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    env = env or {**os.environ, "AWS_ENDPOINT_URL": endpoint}
    return subprocess.run(
        [sys.executable, "-m", "ops", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_person_settles_a_needs_review_transfer_onto_the_order_they_chose(pipeline, server_stack):
    db, orders_table = server_stack.dynamodb, server_stack.orders_table
    Orders(db, orders_table).create("DH301", 300_000, now=NOW)
    Orders(db, orders_table).create("DH302", 300_000, now=NOW)
    assert pipeline.deliver({"id": 88, "amount": 300_000, "description": "DH301 DH302"}) == 200
    pipeline.run_processor()
    assert Ledger(db, server_stack.table).get(88).outcome == "needs_review"
    stack = fake_deployed_stack(server_stack)
    settle = ("settle", "--stack", stack, "--id", "88", "--order", "dh-302", "--by", "lan")
    result = ops(server_stack.endpoint, *settle, "--note", "customer said DH302")
    assert result.returncode == 0, result.stderr
    assert "transaction 88 bound to order dh-302 and queued (replay 1)" in result.stdout
    pipeline.run_processor()
    entry = Ledger(db, server_stack.table).get(88)
    assert (entry.outcome, entry.binding["order_code"], entry.binding["bound_by"]) == (
        "paid",
        "DH302",
        "ops:lan",
    )
    assert Orders(db, orders_table).get("DH302").payments == {88: 300_000}
    assert Orders(db, orders_table).get("DH301").payments == {}
    kinds = [
        (t, d["order_code"])
        for t, d in published_events(server_stack.sqs, server_stack.events_tap_url)
    ]
    assert kinds.count(("Order Paid", "DH302")) == 1
    assert ("Payment Needs Review", None) in kinds
    # Settled once: a second settle (onto either order) is refused and changes nothing.
    again = ops(server_stack.endpoint, "settle", "--stack", stack, "--id", "88", "--order", "DH301")
    assert again.returncode == 1
    assert "can't be settled: it is PROCESSED with outcome 'paid'" in again.stderr
    pipeline.run_processor()
    assert Orders(db, orders_table).get("DH301").payments == {}


def test_the_same_settle_command_settles_an_unmatched_transfer(pipeline, server_stack):
    assert pipeline.deliver({"id": 89, "amount": 200_500, "description": "chuyen tien"}) == 200
    pipeline.run_processor()
    assert server_stack.ledger.get(89).outcome == "unmatched"
    stack = fake_deployed_stack(server_stack)
    missing = ops(server_stack.endpoint, "settle", "--stack", stack, "--id", "89", "--order", "DH9")
    assert (missing.returncode, "no order 'DH9'" in missing.stderr) == (1, True)
    result = ops(server_stack.endpoint, "settle", "--stack", stack, "--id", "89", "--order", "DH35")
    assert result.returncode == 0, result.stderr
    pipeline.run_processor()
    assert server_stack.ledger.get(89).outcome == "paid"
    assert server_stack.orders.get("DH35").payments == {89: 200_500}


def test_a_person_marks_a_transfer_handled_without_an_order(pipeline, server_stack):
    assert pipeline.deliver({"id": 90, "amount": 50_000, "description": "an trua"}) == 200
    assert pipeline.deliver({"id": 91, "amount": 200_500, "description": "DH35"}) == 200
    pipeline.run_processor()
    stack = fake_deployed_stack(server_stack)
    no_note = ops(server_stack.endpoint, "handled", "--stack", stack, "--id", "90")
    assert no_note.returncode == 2
    result = ops(
        server_stack.endpoint, "handled", "--stack", stack, "--id", "90", "--note", "refunded"
    )
    assert result.returncode == 0, result.stderr
    assert "transaction 90 (unmatched) marked handled without an order" in result.stdout
    item = server_stack.dynamodb.get_item(
        TableName=server_stack.table, Key={"pk": {"S": "TXN#90"}}
    )["Item"]
    assert (item["outcome"]["S"], item["handled_from"]["S"], item["handled_note"]["S"]) == (
        "handled",
        "unmatched",
        "refunded",
    )
    paid = ops(server_stack.endpoint, "handled", "--stack", stack, "--id", "91", "--note", "x")
    assert paid.returncode == 1
    assert "can't be marked handled: it is PROCESSED with outcome 'paid'" in paid.stderr


def test_message_move_task_is_followed_to_completion():
    from botocore.stub import Stubber

    from ops.tools import Queues, redrive_with_message_move

    sqs = boto3.client("sqs", region_name="ap-southeast-1")
    queues = Queues("q-url", "arn:q", "dlq-url", "arn:dlq")
    with Stubber(sqs) as stub:
        stub.add_response(
            "start_message_move_task",
            {"TaskHandle": "h1"},
            {"SourceArn": "arn:dlq", "DestinationArn": "arn:q"},
        )
        stub.add_response(
            "list_message_move_tasks",
            {
                "Results": [
                    {"TaskHandle": "h1", "Status": "RUNNING", "ApproximateNumberOfMessagesMoved": 3}
                ]
            },
        )
        stub.add_response(
            "list_message_move_tasks",
            {
                "Results": [
                    {
                        "TaskHandle": "h1",
                        "Status": "COMPLETED",
                        "ApproximateNumberOfMessagesMoved": 9,
                    }
                ]
            },
        )
        assert redrive_with_message_move(sqs, queues, poll=0, log=lambda _: None) == 9
    with Stubber(sqs) as stub:
        stub.add_response("start_message_move_task", {"TaskHandle": "h2"})
        stub.add_response(
            "list_message_move_tasks",
            {
                "Results": [
                    {"TaskHandle": "h2", "Status": "FAILED", "FailureReason": "AccessDenied"}
                ]
            },
        )
        with pytest.raises(RuntimeError, match="message move task FAILED: AccessDenied"):
            redrive_with_message_move(sqs, queues, poll=0, log=lambda _: None)


def test_ops_env_json_writes_sam_env_vars_from_the_deployed_functions(server_stack, tmp_path):
    """A stack whose functions are the template's, as CloudFormation deploys them (after the
    SAM transform), each with its declared variables set to deployed-looking values."""
    from local.stack.sam_transform import transform_template
    from local.stack.template import function_spec, load_template

    template = load_template()
    deployed = transform_template(template)
    functions = {
        logical_id: resource
        for logical_id, resource in deployed["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
    }
    resources: dict = {
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {"AssumeRolePolicyDocument": {"Statement": []}},
        }
    }
    for logical_id, resource in functions.items():
        declared = resource["Properties"]["Environment"]["Variables"]
        resources[logical_id] = {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Runtime": "python3.13",
                "Handler": "app.lambda_handler",
                "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                "Code": {"ZipFile": "def lambda_handler(event, context): pass"},
                "Environment": {"Variables": {n: f"deployed-{logical_id}-{n}" for n in declared}},
            },
        }
    name = f"deployed-{uuid.uuid4().hex[:6]}"
    server_stack.client("cloudformation").create_stack(
        StackName=name, TemplateBody=json.dumps({"Resources": resources})
    )
    output = tmp_path / "env.json"
    result = ops(server_stack.endpoint, "env-json", "--stack", name, "--output", str(output))
    assert result.returncode == 0, result.stderr
    env_vars = json.loads(output.read_text())
    assert sorted(env_vars) == sorted(functions)
    for logical_id in functions:
        declared = function_spec(template, logical_id).environment
        assert env_vars[logical_id] == {n: f"deployed-{logical_id}-{n}" for n in declared}


# Casso-side setup: the checksum key, and a reconciler run now


def webhook_secret(server_stack) -> dict:
    secret_id = server_stack.local.ref("WebhookSecret")
    return json.loads(
        server_stack.secretsmanager.get_secret_value(SecretId=secret_id)["SecretString"]
    )


def test_set_checksum_key_keeps_the_other_fields_and_the_old_key_as_previous(server_stack):
    secret_id = server_stack.local.ref("WebhookSecret")
    server_stack.secretsmanager.put_secret_value(
        SecretId=secret_id,
        SecretString=json.dumps({"secure_token": "tok", "checksum_key": "", "extra": "kept"}),
    )
    stack = stack_with_outputs(server_stack, WebhookSecretArn=secret_id)
    first = ops(server_stack.endpoint, "set-checksum-key", "--stack", stack, "--key", "key-one")
    assert first.returncode == 0, first.stderr
    assert webhook_secret(server_stack) == {
        "secure_token": "tok",
        "checksum_key": "key-one",
        "extra": "kept",
        "secure_token_previous": "",
        "checksum_key_previous": "",
    }
    # From standard input (not the command line), rotating: the old key stays accepted.
    second = ops(server_stack.endpoint, "set-checksum-key", "--stack", stack, stdin="key-two\n")
    assert second.returncode == 0, second.stderr
    assert "kept as checksum_key_previous" in second.stdout
    secret = webhook_secret(server_stack)
    assert (secret["checksum_key"], secret["checksum_key_previous"]) == ("key-two", "key-one")
    assert (secret["secure_token"], secret["extra"]) == ("tok", "kept")
    assert "key-two" not in second.stdout + second.stderr


def test_set_checksum_key_refuses_an_empty_key(server_stack):
    secret_id = server_stack.local.ref("WebhookSecret")
    stack = stack_with_outputs(server_stack, WebhookSecretArn=secret_id)
    before = webhook_secret(server_stack)
    result = ops(server_stack.endpoint, "set-checksum-key", "--stack", stack, "--key", "  ")
    assert result.returncode == 1
    assert "the checksum key must be one word" in result.stderr
    assert webhook_secret(server_stack) == before


def casso_api_key_secret(server_stack) -> tuple[str, str]:
    """The stack's Casso API key secret, as a stack with just that output sees it."""
    secret_id = server_stack.local.ref("CassoApiKeySecret")
    return secret_id, stack_with_outputs(server_stack, CassoApiKeySecretArn=secret_id)


def casso_auth(server_stack, secret_id: str) -> CassoAuth:
    """How the reconciler and the processor would call Casso with the secret as it is."""
    provider = SecretsProvider(boto3_client=server_stack.secretsmanager)
    return read_casso_auth(provider, secret_id, max_age=0)


def test_set_api_key_from_stdin_is_the_key_the_reconciler_uses(server_stack):
    secret_id, stack = casso_api_key_secret(server_stack)
    server_stack.secretsmanager.put_secret_value(
        SecretId=secret_id,
        SecretString=json.dumps({"api_key": "", "access_token": "expired", "extra": "kept"}),
    )
    result = ops(server_stack.endpoint, "set-api-key", "--stack", stack, stdin="ak-new-key\n")
    assert result.returncode == 0, result.stderr
    assert casso_auth(server_stack, secret_id) == CassoAuth("Apikey", "ak-new-key")
    secret = json.loads(
        server_stack.secretsmanager.get_secret_value(SecretId=secret_id)["SecretString"]
    )
    assert secret == {"api_key": "ak-new-key", "access_token": "", "extra": "kept"}
    assert f"api_key set in {secret_id}" in result.stdout
    assert "access_token it held is emptied" in result.stdout
    assert f"-m ops reconcile --stack {stack}" in result.stdout
    assert "ak-new-key" not in result.stdout + result.stderr


def test_set_api_key_refuses_an_empty_key_and_changes_nothing(server_stack):
    secret_id, stack = casso_api_key_secret(server_stack)
    before = server_stack.secretsmanager.get_secret_value(SecretId=secret_id)["SecretString"]
    for typed in ("", "\n", "   \n"):
        result = ops(server_stack.endpoint, "set-api-key", "--stack", stack, stdin=typed)
        assert result.returncode == 1
        assert result.stderr.startswith("error: the Casso API key must be one word")
    after = server_stack.secretsmanager.get_secret_value(SecretId=secret_id)["SecretString"]
    assert after == before


def read_terminal(terminal: int, until: bytes | None = None) -> bytes:
    """What the program on the terminal wrote, up to `until` or until it closed."""
    seen = b""
    while until is None or until not in seen:
        try:
            chunk = os.read(terminal, 1024)
        except OSError:  # the program ended and its terminal closed
            break
        if not chunk:
            break
        seen += chunk
    return seen


def test_set_api_key_asks_on_a_terminal_without_echoing_the_key(server_stack):
    secret_id, stack = casso_api_key_secret(server_stack)
    env = {**os.environ, "AWS_ENDPOINT_URL": server_stack.endpoint}
    pid, terminal = pty.fork()
    if pid == 0:  # the child: ops on a terminal of its own, as a person runs it
        os.chdir(ROOT)
        command = [sys.executable, "-m", "ops", "set-api-key", "--stack", stack]
        os.execve(sys.executable, command, env)  # noqa: S606
    seen = read_terminal(terminal, until=b"Casso API key")
    os.write(terminal, b"ak-typed-key\n")
    seen += read_terminal(terminal)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, seen.decode(errors="replace")
    assert b"api_key set in" in seen
    assert b"ak-typed-key" not in seen  # not echoed, not printed
    assert casso_auth(server_stack, secret_id) == CassoAuth("Apikey", "ak-typed-key")


def test_reconcile_invokes_the_stacks_reconciler_and_summarises_the_run(server_stack):
    endpoint = server_stack.endpoint
    # moto runs no code without Docker: it answers invocations from a queue of results.
    requests.post(f"{endpoint}/moto-api/config", json={"lambda": {"use_docker": False}}, timeout=10)
    iam = server_stack.client("iam")
    role = iam.create_role(
        RoleName=f"reconciler-{uuid.uuid4().hex[:6]}", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("app.py", "def lambda_handler(event, context):\n    return {}\n")
    name = f"stack-{uuid.uuid4().hex[:6]}-reconciler"
    server_stack.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=role,
        Handler="app.lambda_handler",
        Code={"ZipFile": archive.getvalue()},
    )
    summary = {
        "ok": True,
        "skipped": "",
        "webhook": {"action": "created", "webhook_id": 114, "drift": ["missing"]},
        "backfill": {"checked": 12, "missing": [7, 8], "backfilled": 2},
        "sweep": {"requeued": [], "parked_total": 0},
    }
    requests.post(
        f"{endpoint}/moto-api/static/lambda-simple/response",
        json={"results": [json.dumps(summary)], "region": "ap-southeast-1"},
        timeout=10,
    )
    stack = stack_with_outputs(server_stack, ReconcilerFunctionName=name)
    result = ops(endpoint, "reconcile", "--stack", stack)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "webhook: created (id 114), drift missing",
        "backfill: 12 checked, 2 missing, 2 backfilled",
        "sweep: 0 re-queued, 0 parked",
    ]


def test_ops_order_creates_an_order_with_its_vietqr_and_draws_it(server_stack, tmp_path):
    from casso_payments.orders import vietqr

    stack = fake_deployed_stack(
        server_stack,
        PayeeBankBin="970436",
        PayeeAccountNumber="0011001234567",
        PayeeAccountName="CONG TY ABC ",
        OrderCodePattern=r"DH[\s._\-:#/]{0,2}\d+",
    )
    args = ("order", "--stack", stack, "--order", "dh-0035", "--amount", "200500", "--qr")
    result = ops(server_stack.endpoint, *args, "--dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    stored = server_stack.orders.get("DH35")
    assert vietqr.parse(stored.vietqr) == {
        "bank_bin": "970436",
        "account": "0011001234567",
        "amount": 200_500,
        "description": "DH35",
    }
    assert f"VietQR: {stored.vietqr}" in result.stdout
    assert "\u2588" in result.stdout  # the code drawn with block characters
    assert (tmp_path / "DH35.svg").read_text().lstrip().startswith("<?xml")

    missing = tmp_path / "no-such-dir"
    args = ("order", "--stack", stack, "--order", "DH38", "--amount", "1000", "--qr")
    refused = ops(server_stack.endpoint, *args, "--dir", str(missing))
    assert refused.returncode == 2
    assert f"argument --dir: '{missing}' is not a directory" in refused.stderr
    assert server_stack.orders.get("DH38") is None

    refused = ops(
        server_stack.endpoint, "order", "--stack", stack, "--order", "INV9", "--amount", "1000"
    )
    assert refused.returncode == 1
    assert "would not be matched back by the order-code pattern" in refused.stderr
    assert server_stack.orders.get("INV9") is None


def test_a_late_payment_accepted_with_ops_pays_its_order_once(pipeline, server_stack):
    from datetime import UTC, datetime, timedelta

    db, orders_table = server_stack.dynamodb, server_stack.orders_table
    long_ago = datetime.now(UTC) - timedelta(hours=3)
    for code in ("DH401", "DH402"):  # both past their expiry already
        Orders(db, orders_table).create(
            code, 100_000, now=long_ago, expires_at=long_ago + timedelta(hours=1)
        )
    assert pipeline.deliver({"id": 91, "amount": 100_000, "description": "DH401"}) == 200
    assert pipeline.deliver({"id": 92, "amount": 100_000, "description": "DH402"}) == 200
    pipeline.run_processor()
    assert [Ledger(db, server_stack.table).get(t).outcome for t in (91, 92)] == ["late", "late"]
    assert Orders(db, orders_table).get("DH401").status == "EXPIRED"
    stack = fake_deployed_stack(server_stack)

    accept = ("accept-late", "--stack", stack, "--id", "91", "--by", "lan", "--note", "ok")
    result = ops(server_stack.endpoint, *accept)
    assert result.returncode == 0, result.stderr
    again = ops(server_stack.endpoint, *accept)  # run twice by mistake: refused
    assert again.returncode == 1
    assert "only a processed 'late' transaction can be" in again.stderr
    pipeline.run_processor()
    order = Orders(db, orders_table).get("DH401")
    assert (order.status, order.paid_amount, order.payments) == ("PAID", 100_000, {91: 100_000})
    assert Ledger(db, server_stack.table).get(91).outcome == "paid"

    refund = ("refund-late", "--stack", stack, "--id", "92", "--by", "lan", "--note", "gone")
    result = ops(server_stack.endpoint, *refund)
    assert result.returncode == 0, result.stderr
    assert "HOAN TIEN DH402" in result.stdout
    assert Ledger(db, server_stack.table).get(92).outcome == "refund_due"
    assert Orders(db, orders_table).get("DH402").status == "EXPIRED"
    kinds = [
        (t, d["order_code"])
        for t, d in published_events(server_stack.sqs, server_stack.events_tap_url)
    ]
    assert kinds.count(("Order Paid", "DH401")) == 1
    assert kinds.count(("Late Payment", "DH401")) == 1
    assert ("Order Paid", "DH402") not in kinds


def test_ops_without_a_region_credentials_or_stack_says_what_is_missing(server_stack):
    """One line saying what to set, not a botocore traceback."""
    no_region = {
        k: v for k, v in os.environ.items() if k not in ("AWS_REGION", "AWS_DEFAULT_REGION")
    }
    cases = [
        ({**no_region, "AWS_CONFIG_FILE": os.devnull}, "no AWS region: set AWS_DEFAULT_REGION"),
        (
            {
                **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
                "AWS_DEFAULT_REGION": "ap-southeast-1",
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_EC2_METADATA_DISABLED": "true",
            },
            "no AWS credentials",
        ),
        (
            {**os.environ, "AWS_ENDPOINT_URL": server_stack.endpoint},
            "stack no-such-stack: ",
        ),
    ]
    for env, said in cases:
        result = ops(server_stack.endpoint, "redrive", "--stack", "no-such-stack", env=env)
        assert result.returncode == 1
        assert result.stderr.startswith(f"error: {said}"), result.stderr
        assert "Traceback" not in result.stderr
