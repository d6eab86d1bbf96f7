"""An order's VietQR as a picture: in the terminal and as an SVG file (local.cli, ops).

A tool, not runtime code: the layer stores the VietQR string (`orders.payment_request`);
segno draws it."""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Mapping
from pathlib import Path

from casso_payments.orders.model import Order
from casso_payments.orders.payment_requests import Payee


def payee_from(values: Mapping[str, str]) -> Payee | None:
    """The payee from the template's parameters (or the stack's outputs of the same names),
    or None when PayeeBankBin or PayeeAccountNumber is empty."""
    bank_bin = values.get("PayeeBankBin", "").strip()
    account = values.get("PayeeAccountNumber", "").strip()
    if not bank_bin or not account:
        return None
    return Payee(bank_bin, account, values.get("PayeeAccountName", "").strip())


def add_qr_arguments(command: argparse.ArgumentParser) -> None:
    """--qr and --dir, alike in `python -m ops order` and `python -m local.cli order`."""
    command.add_argument("--qr", action="store_true", help="draw its VietQR, write CODE.svg")
    command.add_argument(
        "--dir", type=_directory, default=".", help="where CODE.svg goes (default: here)"
    )


def _directory(value: str) -> Path:
    # Refused while parsing, before an order is created that its QR then cannot be saved for.
    if not Path(value).is_dir():
        raise argparse.ArgumentTypeError(f"{value!r} is not a directory")
    return Path(value)


def render(text: str, svg_path: Path) -> str:
    """Write the QR of `text` to `svg_path`; return it drawn for a terminal."""
    # Imported here: every local.cli command defines --qr, only an order drawn needs segno.
    import segno

    # Error correction M: what banking apps' own VietQRs use, readable off a phone screen.
    code = segno.make(text, error="m", micro=False)
    code.save(str(svg_path), kind="svg", scale=8, border=4)
    drawn = io.StringIO()
    code.terminal(out=drawn, compact=True)
    return drawn.getvalue()


def show_qr(order: Order, directory: Path = Path()) -> int:
    """Print `order`'s VietQR (string and picture) and write CODE.svg; 1 when it has none."""
    if not order.vietqr:
        print(
            f"error: order {order.key} has no VietQR: start the stack with "
            "--parameter PayeeBankBin=... --parameter PayeeAccountNumber=...",
            file=sys.stderr,
        )
        return 1
    svg = directory / f"{order.key}.svg"
    print(render(order.vietqr, svg), end="")
    print(f"VietQR: {order.vietqr}\nwrote {svg}")
    return 0
