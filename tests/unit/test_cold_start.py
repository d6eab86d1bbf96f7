"""casso_payments.cold_start: what the handlers do at module set-up to start cold sooner."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from casso_payments.cold_start import import_skipping_package_init

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "casso"
HANDLERS = sorted((ROOT / "functions").glob("*/app.py"))


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A package whose __init__ eagerly imports a heavy sibling, as event_handler's does."""
    root = tmp_path / "eager_pkg"
    root.mkdir()
    (root / "__init__.py").write_text(
        "from eager_pkg import heavy\nfrom eager_pkg.light import X\n"
    )
    (root / "heavy.py").write_text("LOADED = True\n")
    (root / "light.py").write_text("from eager_pkg import helper\nX = helper.VALUE\n")
    (root / "helper.py").write_text("VALUE = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "eager_pkg"
    for name in [n for n in sys.modules if n.split(".")[0] == "eager_pkg"]:
        del sys.modules[name]


def test_a_submodule_loads_without_its_package_init(package):
    light = import_skipping_package_init(f"{package}.light")

    assert light.X == 42  # its own imports from the package (a sibling) work
    assert f"{package}.heavy" not in sys.modules  # the __init__ did not run


def test_the_first_name_asked_of_the_package_runs_its_init_sharing_the_submodule(package):
    light = import_skipping_package_init(f"{package}.light")

    from eager_pkg import X, heavy  # a name its __init__ defines, then a sibling it loads

    whole = importlib.import_module(package)
    assert (X, heavy.LOADED) == (42, True)
    assert whole.light is light
    assert whole.X == 42
    assert import_skipping_package_init(f"{package}.light") is light


def test_a_name_the_package_lacks_is_still_an_attribute_error(package):
    import_skipping_package_init(f"{package}.light")
    whole = importlib.import_module(package)

    with pytest.raises(AttributeError):
        _ = whole.nothing_of_that_name
    assert whole.heavy.LOADED is True


def test_a_module_outside_any_package_is_refused():
    with pytest.raises(ImportError, match="not a package"):
        import_skipping_package_init("json.decoder.nothing")


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
