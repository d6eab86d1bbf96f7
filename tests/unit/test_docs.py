"""The docs agree with what they describe: docs/configuration.md lists exactly the template's
parameters and each function's environment variables, and every relative link in README.md
and docs/ (and every docs/ reference in the code and template) leads to a file and heading
that exist."""

from __future__ import annotations

import copy
import itertools
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from local.stack.template import ROOT, function_ids, function_spec, load_template

DOCS = ROOT / "docs"
CONFIGURATION = DOCS / "configuration.md"
MARKDOWN = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
LAYER = ROOT / "layers" / "casso" / "casso_payments"
EVERY_FUNCTION = "Every function"
NOT_SET = "Variables the template does not set"
# Where code, tests and the template may point at a doc, by its path from the root.
CODE = [
    ROOT / "template.yaml",
    ROOT / "monitoring" / "template.yaml",
    ROOT / "schemas" / "template.yaml",
    ROOT / "Makefile",
    *[
        p
        for d in ("layers", "functions", "local", "ops", "bench", "tests", "scripts", "schemas")
        for p in sorted((ROOT / d).rglob("*.py"))
    ],
]


# --- reading markdown -------------------------------------------------------------------


def without_code(markdown: str) -> str:
    """The text outside fenced code blocks (links and headings there are not real)."""
    return re.sub(r"^```.*?^```[^\n]*$", "", markdown, flags=re.MULTILINE | re.DOTALL)


def section(markdown: str, heading: str) -> str:
    """The text under `heading` (any level) up to the next heading of the same or a higher
    level; a clear failure when the heading is missing."""
    lines = without_code(markdown).splitlines()
    for i, line in enumerate(lines):
        match = re.match(r"^(#+) (.+)$", line)
        if match and match.group(2).strip() == heading:
            level = len(match.group(1))
            body = []
            for following in lines[i + 1 :]:
                nxt = re.match(r"^(#+) ", following)
                if nxt and len(nxt.group(1)) <= level:
                    break
                body.append(following)
            return "\n".join(body)
    raise AssertionError(f"docs/configuration.md has no heading {heading!r}")


def table_rows(text: str) -> list[list[str]]:
    """The cells of every table row in `text`, header and separator rows left out."""
    rows = []
    for line in text.splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if all(re.fullmatch(r":?-+:?", c) for c in cells):
            continue
        rows.append(cells)
    return rows[1:] if rows else []  # the first row is the header


def rows_by_name(text: str) -> dict[str, str]:
    """Each table row keyed by the backquoted name in its first cell (one name a row)."""
    rows: dict[str, str] = {}
    for cells in table_rows(text):
        names = re.findall(r"`([A-Za-z0-9_]+)`", cells[0])
        assert len(names) == 1, f"one name per row, got {cells[0]!r}"
        assert names[0] not in rows, f"{names[0]} listed twice"
        rows[names[0]] = " | ".join(cells)
    return rows


def subsections(markdown: str, heading: str) -> list[str]:
    """The headings one level below `heading`."""
    text = section(markdown, heading)
    return re.findall(r"^### (.+)$", text, flags=re.MULTILINE)


# --- the drift checks, as functions so a test can show they catch drift ----------------


def parameter_drift(template: Mapping[str, Any], doc: str) -> list[str]:
    documented = rows_by_name(section(doc, "Template parameters"))
    declared = template.get("Parameters", {})
    problems = [f"parameter {n} is not documented" for n in declared if n not in documented]
    problems += [
        f"documented parameter {n} is not in the template" for n in documented if n not in declared
    ]
    for name, spec in declared.items():
        if name not in documented or "Default" not in spec:
            continue
        default_cell = documented[name].split(" | ")[1]
        default = str(spec["Default"])
        # An empty default reads "empty (...)"; any other is quoted as code.
        ok = default_cell.startswith("empty") if default == "" else f"`{default}`" in default_cell
        if not ok:
            problems.append(f"parameter {name}: default {default!r}, documented {default_cell!r}")
    return problems


def _what_sets(value: Any) -> list[str]:
    """Words a variable's row must name: the resource or parameter it comes from, or its
    literal value."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return [value["Ref"]]
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        return [value["Fn::GetAtt"][0]]
    if isinstance(value, (str, int)) and str(value) != "":
        return [str(value)]
    return []


def environment_drift(template: Mapping[str, Any], doc: str) -> list[str]:
    env_doc = section(doc, "Environment variables")
    everywhere = rows_by_name(section(env_doc, EVERY_FUNCTION))
    functions = function_ids(template)
    tables = [h for h in subsections(doc, "Environment variables") if h != EVERY_FUNCTION]
    problems = [
        f"a table for {t}, which is not a function of the template"
        for t in tables
        if t not in functions
    ]
    for function in functions:
        if function not in tables:
            problems.append(f"{function} has no table of its environment variables")
            continue
        rows = {**everywhere, **rows_by_name(section(env_doc, function))}
        declared = function_spec(template, function).environment
        problems += [f"{function}: {n} is not documented" for n in declared if n not in rows]
        problems += [
            f"{function}: documented {n} is not in the template" for n in rows if n not in declared
        ]
        for name, value in declared.items():
            for word in _what_sets(value):
                if name in rows and f"`{word}`" not in rows[name]:
                    problems.append(f"{function}: {name}'s row should name `{word}`")
    return problems


# --- configuration ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def doc() -> str:
    return CONFIGURATION.read_text()


def test_every_template_parameter_is_documented_with_its_default_and_nothing_else(doc):
    assert parameter_drift(load_template(), doc) == []


def test_every_functions_environment_is_documented_exactly(doc):
    assert environment_drift(load_template(), doc) == []


def test_a_parameter_added_or_removed_on_either_side_is_caught(doc):
    template = load_template()
    added = copy.deepcopy(template)
    added["Parameters"]["BrandNewKnob"] = {"Type": "String", "Default": "x"}
    assert parameter_drift(added, doc) == ["parameter BrandNewKnob is not documented"]

    removed = copy.deepcopy(template)
    del removed["Parameters"]["MaxSweeps"]
    assert parameter_drift(removed, doc) == [
        "documented parameter MaxSweeps is not in the template"
    ]

    changed = copy.deepcopy(template)
    changed["Parameters"]["MaxSweeps"]["Default"] = 7
    assert [p for p in parameter_drift(changed, doc) if p.startswith("parameter MaxSweeps")]


def test_a_variable_added_or_removed_on_either_side_is_caught(doc):
    template = load_template()
    in_globals = copy.deepcopy(template)
    in_globals["Globals"]["Function"]["Environment"]["Variables"]["NEW_KNOB"] = "1"
    assert sorted(environment_drift(in_globals, doc)) == sorted(
        f"{f}: NEW_KNOB is not documented" for f in function_ids(template)
    )

    in_one = copy.deepcopy(template)
    variables = in_one["Resources"]["ProcessorFunction"]["Properties"]["Environment"]
    variables["Variables"]["NEW_KNOB"] = "1"
    assert environment_drift(in_one, doc) == ["ProcessorFunction: NEW_KNOB is not documented"]

    gone = copy.deepcopy(template)
    del gone["Resources"]["ReconcilerFunction"]["Properties"]["Environment"]["Variables"][
        "MAX_SWEEPS"
    ]
    assert environment_drift(gone, doc) == [
        "ReconcilerFunction: documented MAX_SWEEPS is not in the template"
    ]

    undocumented = doc.replace("| `AMOUNT_TOLERANCE` |", "| `AMOUNT_TOLERANCES` |")
    assert set(environment_drift(template, undocumented)) == {
        "ProcessorFunction: AMOUNT_TOLERANCE is not documented",
        "ProcessorFunction: documented AMOUNT_TOLERANCES is not in the template",
    }


def test_variables_the_template_does_not_set_are_read_by_the_code_and_not_declared(doc):
    """The few settings only a by-hand override changes: each is read by the layer, and
    not declared by the template for the function the row names (else it belongs above)."""
    template = load_template()
    source = "\n".join(p.read_text() for p in sorted(LAYER.rglob("*.py")))
    rows = table_rows(section(doc, NOT_SET))
    assert rows, "no rows under 'Variables the template does not set'"
    for cells in rows:
        (name,) = re.findall(r"`([A-Z0-9_]+)`", cells[0])
        function = cells[1]
        assert f'"{name}"' in source, f"{name} is not read anywhere in the layer"
        assert name not in function_spec(template, function).environment, (
            f"{name} is declared for {function}: document it in its table instead"
        )


# --- links --------------------------------------------------------------------------------


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    result = set()
    for heading in re.findall(r"^#+ (.+)$", without_code(path.read_text()), re.MULTILINE):
        base = slug(heading)
        count = seen.get(base, 0)
        result.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return result


def broken(source: Path, target: str) -> str | None:
    """Why `target`, linked from `source`, leads nowhere (None when it resolves)."""
    path_part, _, anchor = target.partition("#")
    destination = (source.parent / path_part).resolve() if path_part else source
    if not destination.exists():
        return f"{source.name}: {target} (no such file)"
    if anchor and destination.suffix == ".md" and anchor not in anchors(destination):
        return f"{source.name}: {target} (no heading #{anchor})"
    return None


def relative_links(markdown: str) -> Iterable[str]:
    text = re.sub(r"`[^`\n]*`", "", without_code(markdown))  # inline code is not a link
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if not re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto: ...
            yield target


def test_every_doc_starts_by_saying_what_it_is_for():
    for path in MARKDOWN:
        lines = path.read_text().splitlines()
        assert lines[0].startswith("# "), f"{path.name} starts without a title"
        first_text = next(line for line in lines[1:] if line.strip())
        assert not first_text.startswith(("#", "|", "```")), (
            f"{path.name}: say what the doc is for right under its title"
        )
        fences = [line for line in lines if line.startswith("```")]
        assert len(fences) % 2 == 0, f"{path.name} has a code block that never closes"


def test_every_relative_link_in_readme_and_docs_resolves():
    problems = [
        reason
        for path in MARKDOWN
        for target in relative_links(path.read_text())
        if (reason := broken(path, target))
    ]
    assert problems == []


def test_every_docs_reference_in_code_and_template_resolves():
    problems = []
    for path in CODE:
        for target in re.findall(r"docs/[a-z0-9-]+\.md(?:#[a-z0-9-]+)?", path.read_text()):
            if reason := broken(ROOT / "README.md", target):
                problems.append(f"{path.relative_to(ROOT)} -> {reason}")
    assert problems == []


def test_a_broken_link_or_anchor_is_caught(tmp_path):
    (tmp_path / "a.md").write_text("# A\n\nSee [b](b.md#there), [c](c.md), [here](#a).\n")
    (tmp_path / "b.md").write_text("# B\n\n## Somewhere else\n")
    source = tmp_path / "a.md"
    reasons = [broken(source, t) for t in relative_links(source.read_text())]
    assert reasons[2] is None  # #a is the title's anchor
    assert "no heading #there" in str(reasons[0])
    assert "no such file" in str(reasons[1])


# --- tables and figures -------------------------------------------------------------------


def broken_table_rows(markdown: str) -> list[str]:
    """Lines that continue a table row on the next line: markdown ends the table there, so
    the row renders cut in two (every row is one line, starting and ending with `|`)."""
    problems = []
    lines = without_code(markdown).splitlines()
    for before, line in itertools.pairwise(lines):
        if before.startswith("|") and not before.rstrip().endswith("|"):
            problems.append(f"a row ends without |: {before[:60]!r}")
        elif before.startswith("|") and line.strip() and not line.startswith("|"):
            problems.append(f"text right under a table (its row cut?): {line[:60]!r}")
    return problems


def test_every_table_row_is_one_line():
    problems = [f"{p.name}: {why}" for p in MARKDOWN for why in broken_table_rows(p.read_text())]
    assert problems == []


def test_a_table_row_split_across_two_lines_is_caught():
    assert broken_table_rows("| a | b |\n|---|---|\n| x, `y`,\n`z` | w |\n") == [
        "a row ends without |: '| x, `y`,'"
    ]
    assert broken_table_rows("| a | b |\n|---|---|\n| x | y |\n\nText.\n") == []


def bytecode_figure() -> str:
    """How many times as long a cold start is without the build's bytecode, as
    bench/results.json measured it: the functions' median ratios, lowest to highest."""
    results = json.loads((ROOT / "bench" / "results.json").read_text())["cold_start"]
    medians = [
        entry["without_bytecode_ratio"]["median"]
        for entry in results.values()
        if isinstance(entry, dict) and "without_bytecode_ratio" in entry
    ]
    low, high = f"{min(medians):.1f}", f"{max(medians):.1f}"
    return low if low == high else f"{low}-{high}"


# "2.3 times", "2.4-2.6x", "2.4\u20132.6\u00d7" (en dash, times sign): a ratio, one decimal.
RATIO = re.compile(r"(?<![\d.])(\d\.\d)(?:\s*[-\u2013]\s*(\d\.\d))?(?:x|\u00d7| times)")


def bytecode_figures(text: str) -> list[str]:
    """The ratios stated in each paragraph (or comment block) about the build's bytecode."""
    found = []
    for paragraph in re.split(r"\n\s*\n", text):
        if re.search(r"bytecode|compiled Python", paragraph):
            for low, high in RATIO.findall(paragraph):
                found.append(f"{low}-{high}" if high else low)
    return found


def test_the_bytecode_figure_is_the_benchmarks_wherever_it_is_stated():
    figure = bytecode_figure()
    stated = {
        path.relative_to(ROOT).as_posix(): bytecode_figures(path.read_text())
        for path in [*MARKDOWN, ROOT / "Makefile"]
    }
    assert any(stated.values()), "no doc states the bytecode figure"
    wrong = {path: figures for path, figures in stated.items() if set(figures) - {figure}}
    assert wrong == {}, f"bench/results.json says {figure}x"


def test_a_bytecode_figure_other_than_the_benchmarks_is_caught():
    said = "Without the bytecode a cold start is about 2.3 times as long.\n\n2.9x elsewhere."
    assert bytecode_figures(said) == ["2.3"]
    assert bytecode_figures("compiled Python: cold starts 2.4\u20132.6\u00d7 shorter") == [
        "2.4-2.6"
    ]
