"""casso_payments.cold_start: what the handlers do at module set-up to start cold sooner."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "casso"
HANDLERS = sorted((ROOT / "functions").glob("*/app.py"))


def test_collection_is_paused_during_set_up_then_resumed_with_set_up_frozen():
    # A fresh interpreter: the pause happens when the module is first imported.
    code = (
        "import gc\n"
        "from casso_payments import cold_start\n"
        "paused = not gc.isenabled()\n"
        "made = [object() for _ in range(1000)]\n"
        "cold_start.set_up_done()\n"
        "print(paused, gc.isenabled(), gc.get_freeze_count() > 1000)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(LAYER)},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.split() == ["True", "True", "True"]


@pytest.mark.parametrize("handler", HANDLERS, ids=lambda p: p.parent.name)
def test_each_handler_pauses_collection_first_and_resumes_it_last(handler):
    body = ast.parse(handler.read_text()).body
    imports = [n for n in body if isinstance(n, ast.Import | ast.ImportFrom)]
    first = imports[1]  # after `from __future__ import annotations`
    assert isinstance(first, ast.ImportFrom)
    assert (first.module, [a.name for a in first.names]) == ("casso_payments", ["cold_start"])
    last = body[-1]
    assert isinstance(last, ast.Expr)
    assert ast.unparse(last.value) == "cold_start.set_up_done()"
