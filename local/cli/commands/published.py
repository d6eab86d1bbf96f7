"""`events`: what the running stack published on its event bus, read from the local stack's
events tap (a queue a local-only rule copies every event to: `local/stack/provision.py`).

The tap is a queue, so reading it empties it: each read is appended to a log beside the
state file (`events-<stack pid>.jsonl`), and `events` prints the log, every event since the
stack started, whoever read them first. `--follow` keeps printing new ones."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from botocore.exceptions import EndpointConnectionError

from local.cli.render import print_json
from local.cli.stack_client import NotRunning, clients, running
from local.stack.config import STATE_FILE
from local.stack.poller import drain_queue

FOLLOW_EVERY_SECONDS = 0.5
COLUMNS = "  {time:<20}  {type:<22}  {order:<8}  {transaction:>11}  {amount:>12}"


def add_events_command(commands: Any) -> None:
    events = commands.add_parser("events", help="what the stack published on its event bus")
    events.add_argument("--json", action="store_true", help="each event whole, as JSON")
    events.add_argument("--follow", "-f", action="store_true", help="keep printing new events")
    events.set_defaults(run=cmd_events)


def _log(state: dict[str, Any]) -> Path:
    return STATE_FILE.parent / f"events-{state['pid']}.jsonl"


def collect(state: dict[str, Any]) -> Path:
    """Move what the tap holds into this stack's log (a stopped stack's log goes)."""
    log = _log(state)
    for old in STATE_FILE.parent.glob("events-*.jsonl"):
        if old != log:
            old.unlink(missing_ok=True)
    events = drain_queue(clients(state)["sqs"], state["events_tap_url"])
    if events:
        with log.open("a") as appended:  # one write: another reader's lines stay whole
            appended.write("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events))
    return log


def line(event: dict[str, Any]) -> str:
    detail = event.get("detail") or {}
    amount = detail.get("amount")
    return COLUMNS.format(
        time=event.get("time", ""),
        type=event.get("detail-type", ""),
        order=detail.get("order_code") or "-",
        transaction=detail.get("transaction_id") or "-",
        amount=f"{amount:,}" if isinstance(amount, int) else "-",
    ).rstrip()


HEADER = COLUMNS.format(
    time="time", type="detail-type", order="order", transaction="transaction", amount="amount"
).rstrip()


def _read(log: Path, offset: int) -> tuple[list[dict[str, Any]], int]:
    """The whole lines of the log after `offset`, and where they end."""
    if not log.exists():
        return [], offset
    with log.open("rb") as read:
        read.seek(offset)
        text = read.read()
    whole = text[: text.rfind(b"\n") + 1]
    return [json.loads(row) for row in whole.decode().splitlines()], offset + len(whole)


def cmd_events(args: argparse.Namespace) -> int:
    state = running()
    events, offset = _read(collect(state), 0)
    if args.json and not args.follow:
        print_json(events)
        return 0
    shown = _as_json if args.json else line
    if not args.json:
        print(HEADER)
    for event in events:
        print(shown(event))
    if not args.follow:
        if not events:
            print("  (nothing published yet)")
        return 0
    print("following: new events as they are published (Ctrl-C stops)", file=sys.stderr)
    try:
        while True:
            sys.stdout.flush()
            time.sleep(FOLLOW_EVERY_SECONDS)
            try:
                events, offset = _read(collect(running()), offset)
            except (NotRunning, EndpointConnectionError):
                print("the stack stopped.", file=sys.stderr)
                return 0
            for event in events:
                print(shown(event))
    except KeyboardInterrupt:
        return 0


def _as_json(event: dict[str, Any]) -> str:
    return json.dumps(event, ensure_ascii=False)
