"""One command line for the local stack (the Makefile's demo and dev targets call it).

python -m local.cli up                      start the stack and keep it running (make dev)
python -m local.cli demo                    start it, tell the story, summarise, stop
python -m local.cli down                    stop a running stack
python -m local.cli status                  where everything is, counters
python -m local.cli order create DH35 200500
python -m local.cli send 200500 "DH35 thanh toan" [--v1|--v2] [--lost]
python -m local.cli send-webhook --amount 200500 --description DH35 [--url URL] [--v2]
python -m local.cli show [--json] [--all]   orders, ledger entries, queue depths
python -m local.cli events [--follow]       what the stack published on its event bus
python -m local.cli notifications [--order DH35] [--failed]   the notification log
python -m local.cli settle --id N --order DH46   settle an unmatched transfer onto an order
python -m local.cli handled --id N --note WHY    close one without an order
python -m local.cli reconcile [--json]      run the reconciler now, print its summary
python -m local.cli processor pause|resume|fault kill-after-order-update
python -m local.cli webhook outage|recover|status|replay   the webhook down, Casso's side of it
python -m local.cli invoke ReceiverFunction -e events/receiver-v1-valid.json [--env-vars F]
python -m local.cli env-json [--host H]     an --env-vars file for `sam local invoke`
"""

from __future__ import annotations

import argparse
import sys

import requests

from local.cli.commands.decisions import add_decision_commands
from local.cli.commands.invoke import cmd_env_json, cmd_invoke
from local.cli.commands.lifecycle import cmd_demo, cmd_down, cmd_status, cmd_up, cmd_wait
from local.cli.commands.notifications import add_notifications_command
from local.cli.commands.pipeline import (
    cmd_order,
    cmd_processor,
    cmd_reconcile,
    cmd_send,
    cmd_send_webhook,
    cmd_show,
)
from local.cli.commands.published import add_events_command
from local.cli.render import vnd_amount
from local.cli.stack_client import NotRunning
from local.cli.webhook_controls import add_lifecycle_options, add_webhook_command
from local.stack.config import Ports
from ops.closed_stdout import quiet_when_stdout_closes
from ops.qr import add_qr_arguments


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
    order.add_argument(
        "amount", type=vnd_amount, nargs="?", default=0, help="expected VND (create): 200500"
    )
    order.add_argument("--note", default="")
    add_qr_arguments(order)
    order.add_argument("--expires-in", type=float, default=0, help="seconds until it expires")
    order.set_defaults(run=cmd_order)

    send = commands.add_parser("send", help="a new transfer in the Casso simulator")
    send.add_argument("amount", type=vnd_amount, help="VND; negative for money out")
    send.add_argument("description")
    generation = send.add_mutually_exclusive_group()
    generation.add_argument("--v1", dest="generation", action="store_const", const="v1")
    generation.add_argument("--v2", dest="generation", action="store_const", const="v2")
    send.add_argument("--lost", action="store_true", help="lose its webhook on purpose")
    send.add_argument("--account", default="")
    send.set_defaults(run=cmd_send)

    hook = commands.add_parser("send-webhook", help="a correctly signed Casso webhook to any URL")
    hook.add_argument("--url", help="default: the running stack's webhook")
    hook.add_argument("--amount", type=vnd_amount, required=True)
    hook.add_argument("--description", required=True)
    hook.add_argument("--id", type=int, help="Casso transaction id (default: from the clock)")
    hook.add_argument("--account", default="88888888")
    hook.add_argument("--v2", action="store_true", help="signed V2 webhook (default: v1 token)")
    hook.add_argument("--token", help="v1 secure token (default: the running stack's)")
    hook.add_argument("--checksum-key", help="V2 checksum key (default: the running stack's)")
    hook.set_defaults(run=cmd_send_webhook)

    show = commands.add_parser("show", help="orders, ledger entries, queue depths")
    show.add_argument("--json", action="store_true")
    show.add_argument("--all", action="store_true", help="every row (default: 100 a table)")
    show.set_defaults(run=cmd_show)
    add_events_command(commands)
    add_notifications_command(commands)
    add_decision_commands(commands)

    reconcile = commands.add_parser("reconcile", help="run the reconciler now, summarise it")
    reconcile.add_argument("--json", action="store_true", help="the whole report")
    reconcile.set_defaults(run=cmd_reconcile)

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


@quiet_when_stdout_closes
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
