"""Commands that start, stop and watch the local stack: up, down, demo, status, wait."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

from local.cli.render import print_json
from local.cli.stack_client import NotRunning, call, command, running
from local.cli.story import PAYEE
from local.stack.config import STATE_FILE, Credentials, PortInUse, Ports, free_port, port_is_free

SAMPLE_EVENTS_HINT = (
    "this stack generated its own credentials, so the sample events in events/ (which carry "
    "the ones in .env.example) are answered 401: stop it, `cp .env.example .env`, start again"
)


def _ports(args: argparse.Namespace) -> Ports:
    return Ports.from_env(api=args.api_port, casso=args.casso_port, moto=args.moto_port)


def _port_in_use(error: PortInUse, target: str, subcommand: str) -> int:
    """The error, and a free port to choose the way the user started: make, or the CLI."""
    print(f"error: {error}", file=sys.stderr)
    if error.name:
        near = range(error.port + 1, min(error.port + 100, 65536))
        free = next((port for port in near if port_is_free(port)), None) or free_port()
        variable, flag = f"LOCAL_{error.name.upper()}_PORT", f"--{error.name}-port"
        print(
            f"  e.g. make {target} {variable}={free}"
            f"   (or {command(f'{subcommand} {flag} {free}')})",
            file=sys.stderr,
        )
    return 1


def cmd_up(args: argparse.Namespace) -> int:
    # The stack's own modules (moto, Flask, the simulator) only where it starts: every other
    # command is a client and starts in a fraction of the time.
    from local.stack.pipeline import LocalPipeline

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
        stack = LocalPipeline(
            _ports(args),
            Credentials.from_env(),
            reconcile_every=args.reconcile_every,
            minute=args.casso_minute,
            casso_disable_after_minutes=args.casso_disable_after_minutes,
            # The demo's payee unless one is given, so every order has a VietQR and its
            # payment page a QR to scan (a made-up account: nothing is ever paid into it).
            parameters={**PAYEE, **dict(args.parameter)},
        )
        stack.start()
    except PortInUse as error:
        return _port_in_use(error, "dev", "up")
    stopping = []
    # Both, explicitly: a shell may start a background job with SIGINT ignored.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, lambda *_: stopping.append(True))
    state = stack.describe()
    print(f"Casso payments local stack is up (pid {state['pid']}).\n")
    print(f"  webhook (ReceiverFunction)  POST {state['urls']['webhook']}")
    orders = state["urls"]["orders_api"]
    print(f"  orders API (shop)           POST {orders}   (Bearer SHOP_API_KEY)")
    print(f"  payment pages (buyer)       GET  {orders.removesuffix('/orders')}/pay/<code>?t=...")
    print(f"  the shop's webhook endpoint {state['urls']['shop']}")
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
    print(f"  {command('wait')}               # until the pipeline has settled")
    print(f"  {command('show')}")
    print("Ctrl-C stops everything.", flush=True)
    while not stopping:
        time.sleep(0.2)
    print("\nstopping...", flush=True)
    stack.stop()
    print("stopped.")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    # Nothing running is the state `down` is asked for: say so, and succeed.
    if not STATE_FILE.exists():
        print("no local stack is running: nothing to stop.")
        return 0
    try:
        state = running()
    except NotRunning:
        STATE_FILE.unlink(missing_ok=True)  # left by a stack that was killed
        print(f"the local stack that wrote {STATE_FILE} is gone: nothing to stop.")
        return 0
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
    from local.cli.demo import run

    try:
        return run(_ports(args), verbose=args.verbose)
    except PortInUse as error:
        return _port_in_use(error, "demo", "demo")


def cmd_status(args: argparse.Namespace) -> int:
    print_json(call(running(), "GET", "status"))
    return 0


def cmd_wait(args: argparse.Namespace) -> int:
    state = running()
    timeout = state["settle_seconds"] if args.timeout is None else args.timeout
    result = call(state, "POST", f"wait?timeout={timeout}", waits=timeout)
    if not result["idle"]:
        print(f"still busy after {timeout:g} s: see `{command('status')}`", file=sys.stderr)
        return 1
    status = call(state, "GET", "status")
    stats, queues = status["stats"], status["queues"]
    answers = ", ".join(f"{code}: {n}" for code, n in sorted(status["answers"].items()))
    print(
        "idle: Casso has nothing left to send and the queue is empty; "
        f"{stats['processed']} processed in {stats['batches']} batches, "
        f"{queues['TransactionDeadLetterQueue']} dead-lettered, "
        f"webhook answers {answers or 'none'}"
    )
    return 0
