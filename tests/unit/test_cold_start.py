"""casso_payments.cold_start: what the handlers do at module set-up to start cold sooner."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import loaded_at_cold_start

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


@pytest.mark.parametrize(
    "function", ["ReceiverFunction", "ProcessorFunction", "ReconcilerFunction"]
)
def test_no_function_imports_asyncio_at_cold_start(function):
    """None of them runs a coroutine, and asyncio is about 9 ms of the receiver's cold-start
    CPU: wrapt (the X-Ray SDK's) imports it on load from 2.2 on, so the layer holds wrapt at
    2.1 (layers/casso/requirements.in). Tracing is on, as on Lambda: botocore is patched."""
    patched = "aws_xray_sdk.ext.botocore.patch"  # imported only when the Tracer patches boto3
    assert loaded_at_cold_start(function, [patched, "asyncio"]) == {
        patched: True,
        "asyncio": False,
    }
