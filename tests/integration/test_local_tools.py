"""The local tools a newcomer runs: `make demo` and the local invoke CLI."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from casso_payments.orders import vietqr
from local.cli import demo, story
from local.cli.render import show_tables, vnd_amount
from local.cli.sample_events import V1_ITEM
from local.cli.stack_client import command
from local.stack.config import Ports
from local.stack.template import ROOT
from tests.helpers import NOW, delivered_by_webhook, local_cli_env, serving_orders_api

pytestmark = pytest.mark.integration


def test_demo_tells_the_story_and_exits_zero(capsys):
    assert demo.run(Ports(api=0, casso=0, moto=0)) == 0
    out = capsys.readouterr().out
    assert "Every outcome is the expected one" in out
    (dh36,) = [line.split() for line in out.splitlines() if line.startswith("  DH36 ")]
    assert (dh36[1:4], dh36[-1]) == (["300,000", "220,000", "PARTIALLY_PAID"], "ok")
    assert "EXPECTED" not in out
    # The forged v1 delivery it says "must end unconfirmed" is in its tables, as it ended.
    forged = f"transaction {story.FORGED_V1_ID}: the forged v1 delivery"
    (outcome,) = [line.split()[:3] for line in out.splitlines() if line.startswith("  unconf")]
    (event,) = [line for line in out.splitlines() if line.startswith("  Payment Unconfirmed ")]
    assert outcome == ["unconfirmed", "1", "ok"]
    assert event.split()[2:4] == ["1", "ok"]
    assert forged in event


def run_invoke(*args: str, endpoint: str) -> subprocess.CompletedProcess:
    # As a newcomer's shell: no AWS region or credentials configured at all.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_TRACE", "AWS_"))}
    return subprocess.run(
        [sys.executable, "-m", "local.invoke", *args, "--endpoint-url", endpoint],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_local_invoke_takes_a_sample_event_and_sam_env_vars(server_stack, tmp_path):
    env_vars = tmp_path / "env.json"
    environment = server_stack.environment("ReceiverFunction")
    env_vars.write_text(
        json.dumps(
            {
                "ReceiverFunction": {
                    name: environment[name]
                    for name in ("LEDGER_TABLE_NAME", "TRANSACTION_QUEUE_URL", "WEBHOOK_SECRET_ID")
                }
            }
        )
    )
    result = run_invoke(
        "ReceiverFunction",
        "-e",
        "events/receiver-v1-valid.json",
        "--env-vars",
        str(env_vars),
        endpoint=server_stack.endpoint,
    )
    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout)  # only the answer: the logs went to stderr
    assert '"message":"delivery accepted"' in result.stderr
    # A local invoke publishes no metrics (no CloudWatch), so Powertools' warning about an
    # empty flush is noise there (on Lambda the handlers are unchanged).
    assert "No application metrics to publish" not in result.stderr
    assert (response["statusCode"], json.loads(response["body"])) == (200, {"success": True})
    item = server_stack.dynamodb.get_item(TableName=server_stack.table, Key={"pk": {"S": "TXN#1"}})
    assert item["Item"]["source"] == {"S": "webhook-v1"}


def test_a_local_invoke_that_records_no_metric_prints_no_powertools_warning(
    pipeline, server_stack, tmp_path
):
    """Invoking the processor again on a transaction it has processed changes nothing and
    records no metric: on Lambda Powertools warns about the empty flush; a local invoke,
    which publishes metrics nowhere, does not."""
    assert pipeline.deliver({"id": 41, "amount": 1000, "description": "no order"}) == 200
    pipeline.run_processor()
    event = tmp_path / "event.json"
    body = json.dumps({"transaction_id": 41, "source": "webhook-v1"})
    record = {
        "messageId": "m-1",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1"},
        "eventSource": "aws:sqs",
    }
    event.write_text(json.dumps({"Records": [record]}))
    env_vars = tmp_path / "env.json"
    env_vars.write_text(
        json.dumps({"ProcessorFunction": server_stack.environment("ProcessorFunction")})
    )
    result = run_invoke(
        "ProcessorFunction",
        "-e",
        str(event),
        "--env-vars",
        str(env_vars),
        endpoint=server_stack.endpoint,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"batchItemFailures": []}
    assert "No application metrics to publish" not in result.stderr
    assert "Warning" not in result.stderr


def test_local_invoke_names_the_variables_it_still_needs(server_stack, tmp_path):
    env_vars = tmp_path / "env.json"
    env_vars.write_text(json.dumps({"ReceiverFunction": {"LEDGER_TABLE_NAME": "x"}}))
    result = run_invoke(
        "ReceiverFunction",
        "-e",
        "events/receiver-v1-valid.json",
        "--env-vars",
        str(env_vars),
        endpoint=server_stack.endpoint,
    )
    assert result.returncode != 0
    assert "TRANSACTION_QUEUE_URL, WEBHOOK_SECRET_ID" in result.stderr


def test_shipped_env_json_covers_every_variable_that_references_the_stack():
    from local.stack.template import function_spec, load_template, resources

    template = load_template()
    shipped = json.loads((ROOT / "events" / "env.json").read_text())
    for function in resources(template, "AWS::Serverless::Function"):
        environment = function_spec(template, function).environment
        # Parameters (!Ref OrderCodePattern, ...) fall back to their defaults; resources must
        # be named.
        needs = {
            name
            for name, value in environment.items()
            if isinstance(value, dict) and value.get("Ref") not in template["Parameters"]
        }
        assert needs <= set(shipped.get(function, {})), function


def run_local_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "local.cli", *args],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(ROOT)},  # from any directory, as `make` would not be
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_order_create_with_qr_writes_the_svg_into_dir_and_nowhere_else(
    server_stack, tmp_path, stack_closing
):
    payee = {"PayeeBankBin": "970436", "PayeeAccountNumber": "0011001234567"}
    api = stack_closing.enter_context(serving_orders_api(server_stack, tmp_path / "logs", **payee))
    env = local_cli_env(server_stack, tmp_path / "state", orders_api=api, **payee)
    here, qr_dir = tmp_path / "here", tmp_path / "qr"
    here.mkdir()
    qr_dir.mkdir()

    result = run_local_cli(
        "order", "create", "DH35", "200500", "--qr", "--dir", str(qr_dir), env=env, cwd=here
    )
    assert result.returncode == 0, result.stderr
    assert f"wrote {qr_dir / 'DH35.svg'}" in result.stdout
    assert [p.name for p in qr_dir.iterdir()] == ["DH35.svg"]
    assert (qr_dir / "DH35.svg").read_text().lstrip().startswith("<?xml")
    assert list(here.iterdir()) == []
    stored = server_stack.orders.get("DH35")
    assert vietqr.parse(stored.vietqr)["amount"] == 200_500

    # Without --dir: the current directory, as before.
    result = run_local_cli("order", "create", "DH36", "300000", "--qr", env=env, cwd=here)
    assert result.returncode == 0, result.stderr
    assert [p.name for p in here.iterdir()] == ["DH36.svg"]


def test_order_create_into_a_missing_dir_is_refused_before_the_order_exists(server_stack, tmp_path):
    env = local_cli_env(
        server_stack, tmp_path, PayeeBankBin="970436", PayeeAccountNumber="0011001234567"
    )
    missing = tmp_path / "no-such-dir"
    result = run_local_cli(
        "order", "create", "DH37", "1000", "--qr", "--dir", str(missing), env=env, cwd=tmp_path
    )
    assert result.returncode == 2
    assert f"argument --dir: '{missing}' is not a directory" in result.stderr
    assert server_stack.orders.get("DH37") is None
    assert not missing.exists()


def test_show_reads_every_page_of_a_table(server_stack, tmp_path):
    """Scan answers at most 1 MB a page: big quarantined deliveries fill the first pages, and
    the transaction and the order behind them are shown all the same."""
    for n in range(5):
        server_stack.ledger.quarantine(
            body=f"{n}" + "x" * 300_000, reason="not JSON", generation="v1", now=NOW
        )
    delivered_by_webhook(server_stack, [{**V1_ITEM, "id": 77}], at=NOW)
    server_stack.orders.create("DH35", 200_500, now=NOW)
    first_page = server_stack.dynamodb.scan(TableName=server_stack.table)
    assert "LastEvaluatedKey" in first_page  # so the test does read more than one page
    env = local_cli_env(server_stack, tmp_path)

    result = run_local_cli("show", "--json", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    ledger = json.loads(result.stdout)["ledger"]
    assert [i["kind"] for i in ledger] == ["transaction"] + ["quarantine"] * 5  # theirs first
    assert ledger[0]["pk"] == "TXN#77"

    table = run_local_cli("show", env=env, cwd=tmp_path).stdout.splitlines()
    assert "Ledger: 6 (quarantine: 5, transaction: 1)" in table
    assert any(line.startswith("  TXN#77 ") for line in table)


def test_show_caps_a_long_table_and_says_in_one_line_what_it_left_out(capsys):
    order = {"expected_amount": 1000, "paid_amount": 0, "status": "PENDING", "transactions": []}
    quarantined = {"kind": "quarantine", "status": "QUARANTINED", "reason": "not JSON"}
    shown = {
        "orders": [{**order, "order_code": f"DH{n}"} for n in range(3)],
        "ledger": [{**quarantined, "pk": f"QUARANTINE#{n}"} for n in range(4)],
        "queues": {"TransactionQueue": 0},
    }
    show_tables(shown, rows=2)
    out = capsys.readouterr().out.splitlines()
    every = command("show --all")
    assert [line for line in out if "more" in line] == [
        f"  ... and 1 more orders (PENDING: 1): `{every}` lists all",
        f"  ... and 2 more ledger entries (quarantine: 2): `{every}` lists all",
    ]
    assert sum(line.startswith("  QUARANTINE#") for line in out) == 2


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("200500", 200_500),
        ("200,500", 200_500),
        ("200 500", 200_500),
        ("1,234,567", 1_234_567),
        ("-50,000", -50_000),
        ("200_500", 200_500),
    ],
)
def test_amounts_are_read_as_the_cli_prints_them(typed, amount):
    assert vnd_amount(typed) == amount


def test_order_create_takes_an_amount_as_printed_and_refuses_fractions_and_garbage(
    server_stack, tmp_path, stack_closing
):
    api = stack_closing.enter_context(serving_orders_api(server_stack, tmp_path / "logs"))
    env = local_cli_env(server_stack, tmp_path, orders_api=api)
    created = run_local_cli("order", "create", "DH46", "200,500", env=env, cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    assert "order DH46 created: 200,500 VND" in created.stdout
    assert f"payment page: {api.removesuffix('/orders')}/pay/DH46?t=" in created.stdout
    assert server_stack.orders.get("DH46").expected_amount == 200_500
    for typed in ("200.5", "200.500", "200,50", "2e5", "200k", "abc"):
        refused = run_local_cli("order", "create", "DH47", typed, env=env, cwd=tmp_path)
        assert refused.returncode == 2, typed
        assert f"argument amount: {typed!r} is not a whole number of VND" in refused.stderr
    assert server_stack.orders.get("DH47") is None


def test_order_create_with_qr_on_a_stack_without_a_payee_creates_nothing(server_stack, tmp_path):
    env = local_cli_env(server_stack, tmp_path / "state")  # no Payee* parameters
    result = run_local_cli("order", "create", "DH48", "1000", "--qr", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "this stack has no payee" in result.stderr
    assert "nothing was created" in result.stderr
    assert server_stack.orders.get("DH48") is None
    assert not list(tmp_path.glob("*.svg"))


def test_down_with_nothing_running_says_so_and_succeeds(tmp_path):
    env = {**os.environ, "LOCAL_STACK_DIR": str(tmp_path)}
    nothing = run_local_cli("down", env=env, cwd=tmp_path)
    assert (nothing.returncode, nothing.stdout) == (
        0,
        "no local stack is running: nothing to stop.\n",
    )
    # A state file left by a stack that was killed: nothing to stop either, and it goes.
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    (tmp_path / "stack.json").write_text(json.dumps({"pid": int(gone.stdout)}))
    left = run_local_cli("down", env=env, cwd=tmp_path)
    assert left.returncode == 0, left.stderr
    assert "is gone: nothing to stop" in left.stdout
    assert not (tmp_path / "stack.json").exists()


@pytest.fixture
def stack_closing() -> Iterator[contextlib.ExitStack]:
    """What a test starts (the orders API), stopped after it."""
    with contextlib.ExitStack() as stack:
        yield stack
