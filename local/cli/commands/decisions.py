"""A person's decisions on a running stack's transactions, as `python -m ops settle|handled`
makes them on a deployed one, with the same functions (`ops/tools.py`): `settle` binds an
`unmatched` or `needs_review` transfer (a payment that came before its order, say) to an
order, and the stack's processor applies it; `handled` closes one without an order."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from local.cli.stack_client import clients, command, running

WHY = "why (recorded with the decision)"


def add_decision_commands(commands: Any) -> None:
    """`settle` and `handled`, with `python -m ops`'s options (less --stack)."""

    def decided(name: str, help: str, note: str, *, required: bool = False) -> Any:
        sub = commands.add_parser(name, help=help)
        sub.add_argument("--id", type=int, required=True, help="Casso transaction id")
        sub.add_argument("--note", default="", required=required, help=note)
        sub.add_argument("--by", default=getpass.getuser(), help="who decided (default: you)")
        return sub

    settle = decided("settle", "settle a transaction onto a chosen order", WHY)
    settle.add_argument("--order", required=True, help="the order code to settle it onto")
    settle.set_defaults(run=cmd_settle)
    handled = decided(
        "handled",
        "mark a transaction handled without an order",
        "what was done instead",
        required=True,
    )
    handled.set_defaults(run=cmd_handled)


def _ledger(state: dict[str, Any]) -> dict[str, Any]:
    return {"dynamodb": clients(state)["dynamodb"], "table": state["resources"]["LedgerTable"]}


def _decision(args: argparse.Namespace) -> dict[str, Any]:
    return {"transaction_id": args.id, "by": args.by, "note": args.note}


def cmd_settle(args: argparse.Namespace) -> int:
    from casso_payments.processor.settle import CannotSettle
    from ops.tools import UnknownOrder, settle

    state = running()
    try:
        message = settle(
            **_ledger(state),
            **_decision(args),
            sqs=clients(state)["sqs"],
            queue_url=state["resources"]["TransactionQueue"],
            orders_table=state["resources"]["OrdersTable"],
            order_code=args.order,
        )
    except (CannotSettle, UnknownOrder) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(
        f"transaction {args.id} bound to order {args.order} and queued (replay "
        f"{message.replay}); the processor applies it: `{command('wait')}`, then "
        f"`{command('order show ' + args.order)}`"
    )
    return 0


def cmd_handled(args: argparse.Namespace) -> int:
    from casso_payments.processor.settle import CannotSettle
    from ops.tools import handled

    try:
        was = handled(**_ledger(running()), **_decision(args))
    except CannotSettle as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"transaction {args.id} ({was}) marked handled without an order")
    return 0
