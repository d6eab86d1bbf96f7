"""Dependencies a user can reproduce: what is imported is declared, and the locks pin it."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

from local.stack.template import ROOT

LAYER_IN = ROOT / "layers" / "casso" / "requirements.in"
LAYER_LOCK = ROOT / "layers" / "casso" / "requirements.txt"
DEV_IN = ROOT / "requirements-dev.in"
DEV_LOCK = ROOT / "requirements-dev.txt"
PIN = re.compile(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", re.MULTILINE)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    return {canonical(name): version for name, version in PIN.findall(path.read_text())}


STUB_EXTRAS = re.compile(r"^boto3-stubs\[([^\]]*)\]", re.MULTILINE)


def declared() -> set[str]:
    # boto3-stubs[dynamodb,...] declares the client stubs its extras name (mypy-boto3-dynamodb).
    stubs = {
        f"mypy-boto3-{extra.strip()}"
        for extras in STUB_EXTRAS.findall(DEV_IN.read_text())
        for extra in extras.split(",")
    }
    return set(pins(LAYER_IN)) | set(pins(DEV_IN)) | stubs


def test_every_declared_pin_is_what_its_lock_installs():
    for source, lock in ((LAYER_IN, LAYER_LOCK), (DEV_IN, DEV_LOCK)):
        locked = pins(lock)
        for name, version in pins(source).items():
            assert locked.get(name) == version, f"{lock.name}: {name} is not {version}"


def test_tests_run_the_versions_that_deploy():
    dev = pins(DEV_LOCK)
    for name, version in pins(LAYER_LOCK).items():
        assert dev.get(name) == version, f"{name}: layer {version}, development {dev.get(name)}"


def test_every_locked_requirement_is_hash_checked():
    for lock in (LAYER_LOCK, DEV_LOCK, ROOT / "requirements-bootstrap.txt"):
        entries = re.split(r"\n(?=[A-Za-z0-9])", lock.read_text().split("\n", 2)[2])
        for entry in entries:
            if PIN.match(entry):
                assert "--hash=sha256:" in entry, f"{lock.name}: {entry.splitlines()[0]}"


def imported_modules(paths: list[Path]) -> set[str]:
    modules: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module.split(".")[0])
    return modules


def test_every_third_party_import_is_declared():
    """Nothing works only because another package happened to bring it in."""
    # app: a handler's module, and floors: bench/floors/, each imported from its own folder.
    first_party = {
        "bench",
        "casso_payments",
        "functions",
        "local",
        "ops",
        "schemas",
        "tests",
        "app",
        "floors",
    }
    sources = [
        p
        for folder in ("bench", "functions", "layers", "local", "ops", "schemas", "tests")
        for p in (ROOT / folder).rglob("*.py")
        if ".aws-sam" not in p.parts
    ]
    third_party = imported_modules(sources) - first_party - set(sys.stdlib_module_names)
    providers = packages_distributions()
    undeclared = {
        module: providers.get(module, ["?"])
        for module in sorted(third_party)
        if not {canonical(d) for d in providers.get(module, [])} & declared()
    }
    assert not undeclared, f"imported but not declared in a requirements .in file: {undeclared}"
