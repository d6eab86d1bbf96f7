"""The layer stays a house a newcomer finds their room in: one subpackage per concern, each
`__init__` a map of exactly its modules and importing nothing; rooms importing downwards
only, no module importing itself back; each DynamoDB table read and written from one module;
modules small enough to read; and docs/architecture.md's room table naming exactly the tree.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from local.stack.template import ROOT

LAYER = ROOT / "layers" / "casso" / "casso_payments"
MAX_LINES = 300
# A table's owner holds every key and expression of its table, which outweighs the line
# count: the ledger's (transactions, bindings, a person's decisions, the sweep, state, the
# lease, quarantined deliveries, test calls, a transaction's versions) may run a little over.
OWNER_MAX_LINES = 420
# Lower rooms first: a room may import only rooms before it (and itself).
ROOMS = ("aws", "orders", "settings", "casso", "ledger", "chain", "events", "notify")
TOP = ("receiver", "processor", "reconciler", "pages", "shop")
OWNERS = {
    "casso_payments.ledger.repository",
    "casso_payments.orders.repository",
    "casso_payments.chain.repository",
    "casso_payments.notify.log",
}
# The mechanics every owner shares: they hold no table's keys or expressions.
MECHANICS = "casso_payments.aws.dynamo"
DYNAMODB_CALLS = re.compile(
    r"\.(get_item|put_item|update_item|delete_item|query|scan|batch_get_item|"
    r"batch_write_item|transact_write_items)\(|(Key)?ConditionExpression=|UpdateExpression=|"
    r"TableName="
)


def modules() -> dict[str, Path]:
    return {
        ".".join(path.relative_to(LAYER.parent).with_suffix("").parts).removesuffix(
            ".__init__"
        ): path
        for path in sorted(LAYER.rglob("*.py"))
    }


def rooms() -> list[str]:
    return sorted(p.name for p in LAYER.iterdir() if (p / "__init__.py").is_file())


def room_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (LAYER / parts[-1]).is_dir() else "top"


def imports(path: Path, known: set[str]) -> set[str]:
    """The layer's modules `path` imports, anywhere in it, type-only imports included."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in known else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name in known}


def test_no_module_in_the_layer_is_over_300_lines():
    sizes = {name: len(path.read_text().splitlines()) for name, path in modules().items()}
    limits = {name: OWNER_MAX_LINES if name in OWNERS else MAX_LINES for name in sizes}
    assert {name: n for name, n in sizes.items() if n > limits[name]} == {}


def test_every_room_is_a_package_whose_init_maps_exactly_its_modules_and_imports_nothing():
    assert rooms() == sorted((*ROOMS, *TOP))
    for room in rooms():
        init = LAYER / room / "__init__.py"
        tree = ast.parse(init.read_text())
        # A re-export would load for every function's cold start.
        assert imports(init, set(modules())) == set(), room
        listed = set(re.findall(r"^ {0,4}(\w+) {2,}", ast.get_docstring(tree) or "", re.M))
        on_disk = {p.stem for p in (LAYER / room).glob("*.py") if p.stem != "__init__"}
        assert listed == on_disk, room


def test_rooms_import_downwards_only():
    known = set(modules())
    order = {room: i for i, room in enumerate(ROOMS)}
    upward = []
    for name, path in modules().items():
        here = room_of(name)
        for imported in imports(path, known):
            there = room_of(imported)
            if there in (here, "top"):
                continue
            if there in TOP or (here in order and order[there] > order[here]):
                upward.append(f"{name} -> {imported}")
    assert upward == []


def test_no_module_imports_itself_back_type_only_imports_included():
    known = set(modules())
    graph = {name: imports(path, known) for name, path in modules().items()}
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in graph[node]:
            if nxt in path:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif len(path) < 12:
                visit(nxt, [*path, nxt])

    for start in graph:
        visit(start, [start])
    assert cycles == []


def test_each_table_is_read_and_written_by_its_owner_only():
    """Every key, expression and DynamoDB call on a table lives in its owner (`Ledger`,
    `Orders`); the rest of the layer and the handlers call the owners."""
    outside = []
    paths = [*modules().items(), *((p.parent.name, p) for p in (ROOT / "functions").rglob("*.py"))]
    for name, path in paths:
        if name in OWNERS or name == MECHANICS:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if DYNAMODB_CALLS.search(line):
                outside.append(f"{name}:{number}: {line.strip()}")
    assert outside == []


@pytest.mark.parametrize(
    "line",
    [
        'dynamodb.update_item(TableName=table, Key=key, UpdateExpression="SET a = :a")',
        'client.query(TableName=t, KeyConditionExpression="pk = :p")',
        "self.dynamodb.get_item(Key=key)",
    ],
)
def test_a_table_call_outside_its_owner_would_be_caught(line):
    assert DYNAMODB_CALLS.search(line)


def test_the_architecture_docs_room_table_names_exactly_the_tree():
    doc = (ROOT / "docs" / "architecture.md").read_text()
    section = doc.split("## The layer, room by room", 1)[1].split("\n## ", 1)[0]
    listed: dict[str, set[str]] = {}
    for row in re.findall(r"^\| `(\w+)/` \| ([^|]*) \|", section, re.M):
        listed[row[0]] = set(re.findall(r"`(\w+)`", row[1]))
    assert sorted(listed) == rooms()
    for room, names in listed.items():
        assert names == {p.stem for p in (LAYER / room).glob("*.py") if p.stem != "__init__"}, room
    top_level = {p.name for p in LAYER.glob("*.py") if p.name != "__init__.py"}
    assert {f for f in top_level if f"`{f}`" in section} == top_level
