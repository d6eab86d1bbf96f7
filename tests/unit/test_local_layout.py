"""local/ stays a house a newcomer can find their way in: modules of one concern, small
enough to read, importing one another in one direction; three packages (stack/, casso/,
cli/), the developer tools on top; each package's map, and the docs' maps, naming exactly what
is there; every documented `python -m local...` command a module that runs."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from local.stack.template import ROOT

LOCAL = ROOT / "local"
MAX_LINES = 300
DOCS = ROOT / "docs"


def modules() -> dict[str, Path]:
    return {
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): path
        for path in sorted(LOCAL.rglob("*.py"))
    }


def _runs(node: ast.If, *, typing: bool = False) -> bool:
    """Whether the block runs on import (not `if __name__ ...`, not `if TYPE_CHECKING:`
    unless `typing`, the imports for types only, are asked for)."""
    test = ast.unparse(node.test)
    if "__name__" in test:
        return False
    return typing or "TYPE_CHECKING" not in test


def imports(path: Path, known: set[str], *, typing: bool = False) -> set[str]:
    """The local modules `path` imports when it runs, in functions too (and, with `typing`,
    those it imports for its types only)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and not _runs(node, typing=typing):
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


# --- three packages, the developer tools on top ------------------------------------------


def _package(name: str) -> str:
    """`local.stack.pipeline` -> `local.stack`; top-level modules are their own."""
    return ".".join(name.split(".")[:2])


def test_the_stack_and_the_simulator_never_import_the_developer_tools():
    known = modules()
    edges = {
        (_package(name), name, imported)
        for name, path in known.items()
        for imported in imports(path, set(known), typing=True)
    }
    assert {
        (name, imported)
        for package, name, imported in edges
        if package in ("local.stack", "local.casso") and _package(imported) == "local.cli"
    } == set()
    # The simulator stands alone but for the loopback server it serves on; the stack starts
    # the simulator in one place, its composition.
    casso_takes = {i for p, _, i in edges if p == "local.casso" and _package(i) == "local.stack"}
    assert casso_takes <= {"local.stack", "local.stack.loopback"}
    takes_casso = {n for p, n, i in edges if p == "local.stack" and _package(i) == "local.casso"}
    assert takes_casso <= {"local.stack.pipeline"}


def test_the_command_shims_at_the_top_import_nothing_when_imported():
    known = modules()
    top = [name for name, path in known.items() if path.parent == LOCAL and name != "local"]
    assert sorted(top) == ["local.invoke", "local.sample_events"]
    assert {name: imports(known[name], set(known)) for name in top} == {name: set() for name in top}


# --- the maps -----------------------------------------------------------------------------

MAP_LINE = re.compile(r"^ *([A-Za-z_]+/?) {2,}\S", re.MULTILINE)


def listed(package: Path) -> set[str]:
    """The names a package's map (its __init__.py docstring) lists, one a line."""
    docstring = ast.get_docstring(ast.parse((package / "__init__.py").read_text())) or ""
    return set(MAP_LINE.findall(docstring))


def contents(package: Path) -> set[str]:
    """What a package holds: its modules by name, its folders as `name/`."""
    return {
        f"{child.name}/" if child.is_dir() else child.stem
        for child in package.iterdir()
        if child.name != "__pycache__"
        and (child.is_dir() or (child.suffix == ".py" and child.name != "__init__.py"))
    }


def test_every_package_in_local_maps_exactly_its_modules():
    packages = [LOCAL, *sorted(p.parent for p in LOCAL.rglob("__init__.py") if p.parent != LOCAL)]
    assert {p.relative_to(ROOT).as_posix(): listed(p) for p in packages} == {
        p.relative_to(ROOT).as_posix(): contents(p) for p in packages
    }


def test_a_module_missing_from_a_map_or_left_over_in_it_is_caught(tmp_path):
    (tmp_path / "__init__.py").write_text(
        '"""A package.\n\n    kept      here\n    gone      no longer here\n"""\n'
    )
    (tmp_path / "kept.py").write_text("")
    (tmp_path / "new.py").write_text("")
    assert listed(tmp_path) ^ contents(tmp_path) == {"gone", "new"}


def doc_section(path: Path, heading: str) -> str:
    """The text under `heading` up to the next heading of the same or a higher level."""
    text = path.read_text()
    match = re.search(rf"^(#+) {re.escape(heading)}$", text, flags=re.MULTILINE)
    assert match, f"{path.name} has no heading {heading!r}"
    level = len(match.group(1))
    rest = text[match.end() :]
    end = re.search(rf"^#{{1,{level}}} ", rest, flags=re.MULTILINE)
    return rest[: end.start()] if end else rest


def named_paths(text: str) -> set[str]:
    return set(re.findall(r"`(local/[A-Za-z0-9_./]*)`", text))


def test_the_docs_file_by_file_map_of_local_matches_the_tree():
    section = doc_section(DOCS / "local-development.md", "Where the local stack's code lives")
    named = named_paths(section)
    assert sorted(p for p in named if not (ROOT / p).exists()) == []
    files = {
        path.relative_to(ROOT).as_posix()
        for path in LOCAL.rglob("*")
        if path.is_file() and path.suffix in (".py", ".json") and path.name != "__init__.py"
    }
    # A folder inside a package (commands/, fixtures/) may stand for the files directly in it.
    folders = {p for p in named if p.endswith("/") and p.count("/") > 2}
    unnamed = {
        f for f in files if f not in named and f"{Path(f).parent.as_posix()}/" not in folders
    }
    assert sorted(unnamed) == []
    # Each package has a table of its own, under its name.
    packages = {f"local/{p.name}/" for p in LOCAL.iterdir() if (p / "__init__.py").exists()}
    assert set(re.findall(r"^\*\*`(local/[a-z_]+/)`", section, flags=re.MULTILINE)) == packages


def test_the_architecture_layout_names_each_package_of_local():
    named = named_paths(doc_section(DOCS / "architecture.md", "Layout"))
    assert sorted(p for p in named if not (ROOT / p).exists()) == []
    packages = {f"local/{p.name}/" for p in LOCAL.iterdir() if (p / "__init__.py").exists()}
    assert packages <= named


def test_every_documented_python_m_local_command_is_a_module_that_runs():
    documented = {
        module
        for path in [ROOT / "README.md", ROOT / "Makefile", *sorted(DOCS.glob("*.md"))]
        for module in re.findall(r"python\)? -m (local(?:\.[a-z_]+)*)", path.read_text())
    }
    assert {
        "local.cli",
        "local.invoke",
        "local.sample_events",
        "local.casso.simulator",
    } <= documented
    problems = []
    for module in sorted(documented):
        path = ROOT.joinpath(*module.split("."))
        script = path / "__main__.py" if path.is_dir() else path.with_suffix(".py")
        if not script.exists():
            problems.append(f"{module}: no {script.relative_to(ROOT)}")
        elif 'if __name__ == "__main__":' not in script.read_text():
            problems.append(f"{module}: {script.relative_to(ROOT)} does nothing when run")
    assert problems == []
