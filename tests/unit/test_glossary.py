"""docs/architecture.md's glossary keeps one name per concept: every code name it gives is
one the layer defines or writes, and no code defines a name it rules out."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from local.stack.template import ROOT

DOC = ROOT / "docs" / "architecture.md"
LAYER = ROOT / "layers" / "casso" / "casso_payments"
CODE = [LAYER, ROOT / "functions", ROOT / "ops", ROOT / "local"]


def glossary() -> list[tuple[str, list[str], list[str]]]:
    """(term, the code's names for it, names ruled out), row by row."""
    section = DOC.read_text().split("## Glossary", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0] in ("term", "---"):
            continue
        term, names, _, ruled_out = cells
        rows.append((term, re.findall(r"`([^`]+)`", names), re.findall(r"`([^`]+)`", ruled_out)))
    return rows


def defined_and_written(paths: list[Path]) -> tuple[set[str], set[str]]:
    """Names the code defines (classes, functions, methods, assignments, dataclass fields:
    `Class.method` too) and the string values it writes."""
    names: set[str] = set()
    strings: set[str] = set()
    for root in paths:
        for path in root.rglob("*.py"):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef):
                    names.add(node.name)
                    for item in node.body:
                        if isinstance(item, ast.FunctionDef):
                            names.add(f"{node.name}.{item.name}")
                elif isinstance(node, ast.FunctionDef):
                    names.add(node.name)
                elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    names.add(node.id)
                elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                    names.add(node.target.id)
                elif isinstance(node, ast.alias) and node.asname:
                    names.add(node.asname)
                elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                    strings.add(node.value)
    return names, strings


def test_the_glossary_has_the_terms_a_newcomer_meets():
    terms = {term for term, _, _ in glossary()}
    expected = {"transaction", "delivery", "source", "record (verb)", "binding", "outcome"}
    expected |= {"effect", "event", "order code", "confirmation", "quarantine"}
    assert expected <= terms


def test_every_code_name_in_the_glossary_is_the_layers():
    names, strings = defined_and_written([LAYER])
    missing = [
        (term, name)
        for term, code_names, _ in glossary()
        for name in code_names
        if name not in names and name not in strings
    ]
    assert missing == []


def test_no_code_defines_a_name_the_glossary_rules_out():
    names, _ = defined_and_written(CODE)
    ruled_out = {name for _, _, out in glossary() for name in out}
    assert ruled_out  # the glossary rules some out: the check below checks something
    assert sorted(ruled_out & names) == []


def test_a_ruled_out_name_defined_in_code_would_be_caught(tmp_path):
    (tmp_path / "drift.py").write_text("def record_refund():\n    pass\n")
    names, _ = defined_and_written([tmp_path])
    ruled_out = {name for _, _, out in glossary() for name in out}
    assert ruled_out & names == {"record_refund"}
