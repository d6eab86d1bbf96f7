"""One command line for the local stack (the Makefile's demo and dev targets call it).

python -m local.cli up                      start the stack and keep it running (make dev)
python -m local.cli demo                    start it, tell the story, summarise, stop
python -m local.cli down                    stop a running stack
python -m local.cli status                  where everything is, counters
python -m local.cli order create DH35 200500
python -m local.cli send 200500 "DH35 thanh toan" [--v1|--v2] [--lost]
python -m local.cli send-webhook --amount 200500 --description DH35 [--url URL] [--v2]
python -m local.cli show [--json]           orders, ledger entries, queue depths
python -m local.cli reconcile               run the reconciler now
python -m local.cli processor pause|resume|fault kill-after-order-update
python -m local.cli webhook outage|recover|status|replay   the webhook down, Casso's side of it
python -m local.cli invoke ReceiverFunction -e events/receiver-v1-valid.json [--env-vars F]
python -m local.cli env-json [--host H]     an --env-vars file for `sam local invoke`
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import requests

from casso_payments import casso_client
from local.http_front import INTEGRATION_TIMEOUT_SECONDS
from local.poller import queue_depth
from local.stack import LOCAL_AWS, STATE_FILE, Credentials, LocalStack, PortInUse, Ports
from local.webhook_controls import add_lifecycle_options, add_webhook_command

# Commands that need a running stack read where it is from its state file.


class NotRunning(SystemExit):
    pass


def command(arguments: str) -> str:
    """A CLI command line that works as typed from the project root: with this interpreter
    (the project's .venv), not whatever `python` is first on the PATH."""
    try:
        python = str(Path(sys.executable).relative_to(Path.cwd()))
    except ValueError:
        python = sys.executable
    return f"{python} -m local.cli {arguments}"


def running() -> dict[str, Any]:
    if not STATE_FILE.exists():
        raise NotRunning(f"no local stack is running: start one with `make dev` ({command('up')})")
    state = json.loads(STATE_FILE.read_text())
    try:
        os.kill(state["pid"], 0)
    except OSError:
        raise NotRunning(
            f"the local stack that wrote {STATE_FILE} (pid {state['pid']}) is gone: start it again"
        ) from None
    return state


def _clients(state: dict[str, Any]) -> dict[str, Any]:
    os.environ.update(LOCAL_AWS)
    return {n: boto3.client(n, endpoint_url=state["urls"]["moto"]) for n in ("dynamodb", "sqs")}


def _control(
    state: dict[str, Any], method: str, path: str, *, waits: float = 0.0, **kwargs: Any
) -> Any:
    """A call to the stack's own API; `waits` is how long the work it asks for may take."""
    response = requests.request(
        method,
        f"{state['urls']['api']}/_local/{path}",
        timeout=waits + INTEGRATION_TIMEOUT_SECONDS,
        **kwargs,
    )
    body = response.json()
    if response.status_code >= 400:
        raise SystemExit(body.get("error", response.text))
    return body


def _plain(value: Any) -> Any:
    """DynamoDB's Decimals as the whole numbers they are (VND, ids)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    return value


def _print(value: Any) -> None:
    print(json.dumps(_plain(value), indent=2, ensure_ascii=False, default=str))


# Stack lifecycle


def _ports(args: argparse.Namespace) -> Ports:
    return Ports.from_env(api=args.api_port, casso=args.casso_port, moto=args.moto_port)


def cmd_up(args: argparse.Namespace) -> int:
    if STATE_FILE.exists():
        try:
            state = running()
        except NotRunning:
            STATE_FILE.unlink()  # left by a stack that was killed
        else:
            where = f"pid {state['pid']}, {state['urls']['api']}"
            print(
                f"error: a local stack is already running ({where}); "
                "stop it with `python -m local.cli down`",
                file=sys.stderr,
            )
            return 1
    try:
        stack = LocalStack(
            _ports(args),
            Credentials.from_env(),
            reconcile_every=args.reconcile_every,
            minute=args.casso_minute,
            casso_disable_after_minutes=args.casso_disable_after_minutes,
            parameters=dict(args.parameter),
        )
        stack.start()
    except PortInUse as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    stopping = []
    # Both, explicitly: a shell may start a background job with SIGINT ignored.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, lambda *_: stopping.append(True))
    state = stack.describe()
    print(f"Casso payments local stack is up (pid {state['pid']}).\n")
    print(f"  webhook (ReceiverFunction)  POST {state['urls']['webhook']}")
    print(f"  Casso simulator API         {state['urls']['casso_api']}")
    print(f"  local AWS (moto server)     {state['urls']['moto']}")
    print(f"  function logs               {state['logs']}/")
    print(f"  reconciler runs every {args.reconcile_every:g} s; the processor polls the queue.\n")
    for name, value in state["credentials"].items():
        origin = "generated" if name in state["generated_credentials"] else "from environment/.env"
        print(f"  {name}={value}   ({origin})")
    if state["generated_credentials"]:
        print(f"\n  {SAMPLE_EVENTS_HINT}")
    print("\nNext steps (in another terminal, from this directory):")
    print(f"  {command('order create DH35 200500')}")
    print(f"  {command('reconcile')}          # registers the webhook with the simulator")
    print("  " + command('send 200500 "DH35 thanh toan"'))
    print(f"  {command('show')}")
    print("Ctrl-C stops everything.", flush=True)
    while not stopping:
        time.sleep(0.2)
    print("\nstopping...", flush=True)
    stack.stop()
    print("stopped.")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    state = running()
    os.kill(state["pid"], signal.SIGTERM)
    deadline = time.monotonic() + args.timeout
    while STATE_FILE.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    if STATE_FILE.exists():
        print(
            f"the stack (pid {state['pid']}) did not stop within {args.timeout:g} s",
            file=sys.stderr,
        )
        return 1
    print("stopped.")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from local.demo import run

    try:
        return run(_ports(args), verbose=args.verbose)
    except PortInUse as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def cmd_status(args: argparse.Namespace) -> int:
    _print(_control(running(), "GET", "status"))
    return 0


# Working with a running stack


def cmd_order(args: argparse.Namespace) -> int:
    from casso_payments.orders import OrderError, create_order, get_order
    from ops.qr import payee_from, show_qr

    state = running()
    dynamodb = _clients(state)["dynamodb"]
    table = state["resources"]["OrdersTable"]
    if args.action == "create":
        try:
            order = create_order(
                dynamodb,
                table,
                args.code,
                args.amount,
                now=datetime.now(UTC),
                note=args.note,
                payee=payee_from(state.get("parameters", {})),
                expires_at=(
                    datetime.now(UTC) + timedelta(seconds=args.expires_in)
                    if args.expires_in
                    else None
                ),
            )
        except OrderError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(f"order {order.order_code} created: {order.expected_amount:,} VND, {order.status}")
        if args.qr:
            return show_qr(order)
        return 0
    order = get_order(dynamodb, table, args.code)
    if order is None:
        print(f"no order {args.code}", file=sys.stderr)
        return 1
    _print(order.__dict__)
    return 0


def cmd_send(args: argparse.Namespace) -> int:
    state = running()
    response = requests.post(
        f"{state['urls']['casso']}/_simulator/transactions",
        headers={"Authorization": f"Apikey {state['credentials']['CASSO_API_KEY']}"},
        json={
            "amount": args.amount,
            "description": args.description,
            "deliver": not args.lost,
            "generation": args.generation,
            **({"account": args.account} if args.account else {}),
        },
        # The simulator's API answers as Casso's does: give it what the Casso client gives.
        timeout=casso_client.TIMEOUTS,
    )
    body = response.json()
    if body.get("error"):
        print(f"error: {body.get('message')}", file=sys.stderr)
        return 1
    record = body["data"]
    how = "its webhook was lost on purpose" if args.lost else "its webhook is on its way"
    amount = f"{record['amount']:,} VND"
    print(f"transaction {record['id']} created in the Casso simulator ({amount}); {how}")
    return 0


def cmd_send_webhook(args: argparse.Namespace) -> int:
    """A correctly signed Casso webhook to any URL, a deployed API Gateway included."""
    from local.casso_simulator import webhook_request

    state = None if args.url and (args.token or args.checksum_key) else running()
    url = args.url or state["urls"]["webhook"]
    generation = "v2" if args.v2 else "v1"
    secret = args.checksum_key if args.v2 else args.token
    if not secret:
        name = "CASSO_CHECKSUM_KEY" if args.v2 else "CASSO_SECURE_TOKEN"
        secret = state["credentials"][name] if state else ""
    now = datetime.now(UTC)
    transaction_id = args.id or int(now.timestamp() * 1000) % 10**9
    record = {
        "id": transaction_id,
        "tid": f"FT{transaction_id}",
        "description": args.description,
        "amount": args.amount,
        "cusum_balance": 0,
        "when": now.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
        "bankSubAccId": args.account,
    }
    headers, body = webhook_request(
        record,
        generation=generation,
        secure_token=secret,
        checksum_key=secret,
        timestamp_ms=int(now.timestamp() * 1000),
    )
    response = requests.post(
        url, data=body.encode(), headers=headers, timeout=INTEGRATION_TIMEOUT_SECONDS
    )
    print(f"{generation} webhook for transaction {transaction_id} -> {url}")
    print(f"HTTP {response.status_code} {response.text}")
    return 0 if response.status_code == 200 else 1


def cmd_show(args: argparse.Namespace) -> int:
    from casso_payments.ledger import from_dynamodb

    state = running()
    clients = _clients(state)
    resources = state["resources"]
    orders = [
        from_dynamodb(i)
        for i in clients["dynamodb"].scan(TableName=resources["OrdersTable"])["Items"]
    ]
    items = [
        from_dynamodb(i)
        for i in clients["dynamodb"].scan(TableName=resources["LedgerTable"])["Items"]
    ]
    depths = {
        name: queue_depth(clients["sqs"], resources[name])
        for name in ("TransactionQueue", "TransactionDeadLetterQueue")
    }
    shown = {
        "orders": sorted(
            (
                {k: o[k] for k in ("order_code", "expected_amount", "paid_amount", "status")}
                | {"transactions": sorted(int(t) for t in o.get("payments", {}))}
                for o in orders
            ),
            key=lambda o: o["order_code"],
        ),
        "ledger": sorted(
            (
                {
                    k: i.get(k)
                    for k in (
                        "pk",
                        "kind",
                        "status",
                        "source",
                        "outcome",
                        "amount",
                        "description",
                        "reason",
                    )
                    if i.get(k) is not None
                }
                for i in items
                if i["kind"] != "state"
            ),
            key=lambda i: i["pk"],
        ),
        "queues": depths,
    }
    if args.json:
        _print(shown)
        return 0
    from local.demo import table

    print("Orders")
    print(
        table(
            ["order", "expected", "paid", "status", "transactions"],
            [
                [
                    o["order_code"],
                    f"{o['expected_amount']:,}",
                    f"{o['paid_amount']:,}",
                    o["status"],
                    ",".join(map(str, o["transactions"])) or "-",
                ]
                for o in shown["orders"]
            ],
        )
    )
    print("\nLedger")
    print(
        table(
            ["key", "status", "source", "outcome", "amount", "description / reason"],
            [
                [
                    i["pk"][:28],
                    i["status"],
                    i.get("source", "-"),
                    i.get("outcome", "-"),
                    f"{i['amount']:,}" if "amount" in i else "-",
                    (i.get("description") or i.get("reason", ""))[:48],
                ]
                for i in shown["ledger"]
            ],
        )
    )
    print("\nQueues: " + ", ".join(f"{k} {v}" for k, v in depths.items()))
    return 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    state = running()
    result = _control(
        state, "POST", "reconcile", waits=state["function_timeouts"]["ReconcilerFunction"]
    )
    _print(result)
    return 0 if result["ok"] else 1


def cmd_processor(args: argparse.Namespace) -> int:
    state = running()
    if args.action == "fault":
        _print(_control(state, "POST", "processor/fault", json={"fault": args.fault}))
    else:
        _print(_control(state, "POST", f"processor/{args.action}"))
    return 0


def cmd_wait(args: argparse.Namespace) -> int:
    state = running()
    timeout = state["settle_seconds"] if args.timeout is None else args.timeout
    result = _control(state, "POST", f"wait?timeout={timeout}", waits=timeout)
    if not result["idle"]:
        print(f"still busy after {timeout:g} s: see `python -m local.cli status`", file=sys.stderr)
    return 0 if result["idle"] else 1


def cmd_invoke(args: argparse.Namespace) -> int:
    from local import invoke

    endpoint, resolved, state = args.endpoint_url, None, None
    if endpoint is None and STATE_FILE.exists():
        # Against the running stack: its resources and its moto server.
        state = running()
        endpoint, resolved = state["urls"]["moto"], state["environments"].get(args.function)
        os.environ.update(LOCAL_AWS)
    try:
        response = invoke.run(
            args.function,
            Path(args.event),
            env_vars_path=Path(args.env_vars) if args.env_vars else None,
            endpoint_url=endpoint,
            resolved=resolved,
        )
    except invoke.HandlerError as error:
        print(f"error: {error}", file=sys.stderr)
        response = None
    if (
        isinstance(response, dict)
        and response.get("statusCode") == 401
        and state is not None
        and state["generated_credentials"]
    ):
        print(f"note: {SAMPLE_EVENTS_HINT}", file=sys.stderr)
    if args.function == "ProcessorFunction" and state is not None:
        for line in processing_report(state, json.loads(Path(args.event).read_text()), response):
            print(line, file=sys.stderr)
    return 0 if response is not None else 1


def cmd_env_json(args: argparse.Namespace) -> int:
    """An `--env-vars` file for `sam local invoke` against this running stack."""
    from local.template import load_template, sam_env_vars

    state = running()
    env_vars = sam_env_vars(load_template(), state["environments"])
    if args.host != "127.0.0.1":
        env_vars = {
            function: {k: v.replace("127.0.0.1", args.host) for k, v in variables.items()}
            for function, variables in env_vars.items()
        }
    output = Path(args.output)
    output.write_text(json.dumps(env_vars, indent=2) + "\n")
    network = " --docker-network host" if args.host == "127.0.0.1" else ""
    print(f"wrote {output}. Then, with Docker:")
    print(
        "  AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=ap-southeast-1 "
        f"sam local invoke ReceiverFunction -e events/receiver-v1-valid.json "
        f"--env-vars {output}{network}"
    )
    return 0


SAMPLE_EVENTS_HINT = (
    "this stack generated its own credentials, so the sample events in events/ (which carry "
    "the ones in .env.example) are answered 401: stop it, `cp .env.example .env`, start again"
)


def processing_report(state: dict[str, Any], event: dict[str, Any], response: Any) -> list[str]:
    """What the processor did with each record of an SQS event: the ledger's outcome."""
    from casso_payments.ledger import from_dynamodb

    dynamodb = _clients(state)["dynamodb"]
    records = event.get("Records", [])
    # No response: the invocation failed as a whole (every record failed), so all are retried.
    failed = (
        {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        if isinstance(response, dict)
        else {record["messageId"] for record in records}
    )
    lines = []
    for record in records:
        try:
            transaction_id = json.loads(record["body"])["transaction_id"]
        except (ValueError, TypeError, KeyError):
            state_of = "failed" if record["messageId"] in failed else "not failed (unexpected)"
            lines.append(f"message {record['messageId']}: not a transaction message, {state_of}")
            continue
        item = dynamodb.get_item(
            TableName=state["resources"]["LedgerTable"], Key={"pk": {"S": f"TXN#{transaction_id}"}}
        ).get("Item")
        if item is None:
            what = "not in the ledger: nothing to process (send it to the receiver first)"
        elif record["messageId"] in failed:
            what = "failed: reported for retry (see the processor's log above)"
        else:
            entry = from_dynamodb(item)
            what = f"{entry.get('status')}, outcome {entry.get('outcome', '-')}"
            if entry.get("order_code"):
                what += f", order {entry['order_code']}"
        lines.append(f"transaction {transaction_id}: {what}")
    return lines


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m local.cli", description=__doc__.split("\n\n")[0])
    commands = root.add_subparsers(dest="command", required=True)

    def with_ports(command: argparse.ArgumentParser) -> None:
        defaults = Ports()
        for name in ("api", "casso", "moto"):
            command.add_argument(
                f"--{name}-port",
                type=int,
                default=None,
                help=f"default {getattr(defaults, name)}, or LOCAL_{name.upper()}_PORT",
            )

    up = commands.add_parser("up", help="start the stack and keep it running")
    with_ports(up)
    up.add_argument("--reconcile-every", type=float, default=30.0, help="seconds (default 30)")
    add_lifecycle_options(up)
    up.set_defaults(run=cmd_up)

    demo = commands.add_parser("demo", help="start the stack, tell the story, summarise, stop")
    with_ports(demo)
    demo.add_argument("--verbose", action="store_true", help="also print the functions' logs")
    demo.set_defaults(run=cmd_demo)

    down = commands.add_parser("down", help="stop the running stack")
    down.add_argument("--timeout", type=float, default=30.0)
    down.set_defaults(run=cmd_down)

    commands.add_parser("status", help="where everything is, counters").set_defaults(run=cmd_status)

    order = commands.add_parser("order", help="create or show an order")
    order.add_argument("action", choices=["create", "show"])
    order.add_argument("code")
    order.add_argument("amount", type=int, nargs="?", default=0, help="expected VND (create)")
    order.add_argument("--note", default="")
    order.add_argument("--qr", action="store_true", help="draw its VietQR, write CODE.svg")
    order.add_argument("--expires-in", type=float, default=0, help="seconds until it expires")
    order.set_defaults(run=cmd_order)

    send = commands.add_parser("send", help="a new transfer in the Casso simulator")
    send.add_argument("amount", type=int, help="VND; negative for money out")
    send.add_argument("description")
    generation = send.add_mutually_exclusive_group()
    generation.add_argument("--v1", dest="generation", action="store_const", const="v1")
    generation.add_argument("--v2", dest="generation", action="store_const", const="v2")
    send.add_argument("--lost", action="store_true", help="lose its webhook on purpose")
    send.add_argument("--account", default="")
    send.set_defaults(run=cmd_send)

    hook = commands.add_parser("send-webhook", help="a correctly signed Casso webhook to any URL")
    hook.add_argument("--url", help="default: the running stack's webhook")
    hook.add_argument("--amount", type=int, required=True)
    hook.add_argument("--description", required=True)
    hook.add_argument("--id", type=int, help="Casso transaction id (default: from the clock)")
    hook.add_argument("--account", default="88888888")
    hook.add_argument("--v2", action="store_true", help="signed V2 webhook (default: v1 token)")
    hook.add_argument("--token", help="v1 secure token (default: the running stack's)")
    hook.add_argument("--checksum-key", help="V2 checksum key (default: the running stack's)")
    hook.set_defaults(run=cmd_send_webhook)

    show = commands.add_parser("show", help="orders, ledger entries, queue depths")
    show.add_argument("--json", action="store_true")
    show.set_defaults(run=cmd_show)

    commands.add_parser("reconcile", help="run the reconciler now").set_defaults(run=cmd_reconcile)

    processor = commands.add_parser("processor", help="pause, resume, or inject a fault")
    processor.add_argument("action", choices=["pause", "resume", "fault"])
    processor.add_argument("fault", nargs="?", default="kill-after-order-update")
    processor.set_defaults(run=cmd_processor)

    env_json = commands.add_parser(
        "env-json", help="an --env-vars file for `sam local invoke` against this stack"
    )
    env_json.add_argument(
        "--host",
        default="127.0.0.1",
        help="how SAM's container reaches this machine: 127.0.0.1 with `--docker-network host` "
        "(Linux; the default), host.docker.internal with Docker Desktop",
    )
    env_json.add_argument("--output", "-o", default="env.json", help="default env.json")
    env_json.set_defaults(run=cmd_env_json)

    add_webhook_command(commands)

    wait = commands.add_parser("wait", help="until deliveries are done and the queue is empty")
    wait.add_argument(
        "--timeout",
        type=float,
        help="seconds (default: as long as Casso's retries and the queue's receives can take)",
    )
    wait.set_defaults(run=cmd_wait)

    invoke = commands.add_parser(
        "invoke", help="like `sam local invoke`, against the running stack"
    )
    invoke.add_argument("function")
    invoke.add_argument("-e", "--event", required=True)
    invoke.add_argument("-n", "--env-vars")
    invoke.add_argument("--endpoint-url")
    invoke.set_defaults(run=cmd_invoke)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except NotRunning as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except requests.Timeout as error:
        print(f"error: no answer in time from {_url_of(error)}", file=sys.stderr)
        return 1
    except requests.ConnectionError as error:
        print(f"error: could not connect to {_url_of(error)}", file=sys.stderr)
        return 1


def _url_of(error: requests.RequestException) -> str:
    request = error.request
    return f"{request.method} {request.url}" if request is not None else str(error)


if __name__ == "__main__":
    sys.exit(main())
