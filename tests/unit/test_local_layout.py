"""local/ stays a house a newcomer can find their way in: modules of one concern, small
enough to read, importing one another in one direction."""

from __future__ import annotations

import ast
from pathlib import Path

from local.stack.template import ROOT

LOCAL = ROOT / "local"
MAX_LINES = 300


def modules() -> dict[str, Path]:
    return {
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): path
        for path in sorted(LOCAL.rglob("*.py"))
    }


def _runs(node: ast.If) -> bool:
    """Whether the block runs on import (not `if TYPE_CHECKING:`, not `if __name__ ...`)."""
    test = ast.unparse(node.test)
    return "TYPE_CHECKING" not in test and "__name__" not in test


def imports(path: Path, known: set[str]) -> set[str]:
    """The local modules `path` imports when it runs, in functions too."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and not _runs(node):
            return
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.update(
                name
                for name in (node.module, *(f"{node.module}.{a.name}" for a in node.names))
                if name in known
            )
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return found


def test_no_module_in_local_is_over_300_lines():
    sizes = {name: len(path.read_text().splitlines()) for name, path in modules().items()}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def test_local_modules_import_one_another_without_cycles():
    known = modules()
    graph = {name: imports(path, set(known)) - {name} for name, path in known.items()}
    cycles: list[list[str]] = []

    def walk(name: str, trail: list[str]) -> None:
        if name in trail:
            cycles.append([*trail[trail.index(name) :], name])
            return
        for imported in sorted(graph.get(name, ())):
            if imported != "local":  # the package itself holds nothing
                walk(imported, [*trail, name])

    for name in graph:
        walk(name, [])
    assert cycles == []
