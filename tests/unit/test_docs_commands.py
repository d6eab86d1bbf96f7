"""Every command in README.md and docs/*.md runs as written from a fresh clone's root (after
`make venv`): each names a program the project installs (`.venv/bin/...`), `make`, a
standard tool, or a prerequisite its doc states; and every `python -m local.cli`,
`python -m ops` and `make` command names a subcommand, flag and target that exist."""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from local.stack.template import ROOT

MARKDOWN = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_BLOCK = re.compile(r"^```(sh|bash|console)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
# Found on any machine the project supports (POSIX tools), or shell words that start no
# program. Anything else is installed by `make venv` or a prerequisite a doc names.
STANDARD = frozenset({"make", "cp", "curl", "yes", "head", "cat", "ls", "cd", "export"})
SHELL_WORDS = frozenset({"for", "do", "done", "while", "if", "then", "fi", "else"})
# What README.md says every command needs: Python 3.11+ and make (both run `make venv`).
README_PREREQUISITES = frozenset({"make"})
# `Prerequisite: ... (`aws`) ...` in a doc (outside code): programs that doc may use.
PREREQUISITE_LINE = re.compile(r"^\*{0,2}Prerequisites?\*{0,2}:(.*)$", re.MULTILINE)
# <stack name>, <your key>: a value the reader fills in, one word.
PLACEHOLDER = re.compile(r"<[^<>\n]+>")


@dataclass(frozen=True)
class Command:
    doc: str
    line: str
    words: tuple[str, ...]  # program first; leading VAR=value assignments dropped


def shell_blocks(markdown: str) -> Iterator[tuple[str, str]]:
    for match in SHELL_BLOCK.finditer(markdown):
        yield match.group(1), match.group(2)


def command_lines(language: str, block: str) -> Iterator[str]:
    """Each command of a block: continuation lines joined; in a console block only the
    lines after a `$ ` prompt (the rest is output)."""
    pending = ""
    for raw in block.splitlines():
        line = raw
        if language == "console":
            if not pending and not line.startswith("$ "):
                continue
            line = line.removeprefix("$ ")
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        line, pending = pending + line, ""
        if line.strip():
            yield line.strip()


def commands(doc: str, language: str, block: str) -> Iterator[Command]:
    """The commands a block runs: split on ; | && ||, comments dropped, shell variables
    set in the block ($py) replaced by their values."""
    variables: dict[str, str] = {}
    for line in command_lines(language, block):
        lexer = shlex.shlex(
            PLACEHOLDER.sub("PLACEHOLDER", line), posix=True, punctuation_chars=";|&"
        )
        lexer.whitespace_split = True
        lexer.commenters = "#"
        segment: list[str] = []
        for token in [*lexer, ";"]:
            if token and set(token) <= set(";|&"):
                words = [variables.get(w[1:], w) if w.startswith("$") else w for w in segment]
                while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
                    name, _, value = words.pop(0).partition("=")
                    if not words:  # py=.venv/bin/python: a variable for later lines
                        variables[name] = value
                if words and words[0] in SHELL_WORDS - {"do", "then", "else"}:
                    words = []  # `for e in a b c`, `done`: no program
                while words and words[0] in {"do", "then", "else"}:
                    words.pop(0)
                if words:
                    yield Command(doc, line, tuple(words))
                segment = []
            else:
                segment.append(token)


def prerequisites(markdown: str) -> set[str]:
    text = re.sub(r"^```.*?^```", "", markdown, flags=re.MULTILINE | re.DOTALL)
    return {
        name for line in PREREQUISITE_LINE.findall(text) for name in re.findall(r"`([^`]+)`", line)
    }


def every_command() -> list[tuple[Command, frozenset[str]]]:
    found = []
    for path in MARKDOWN:
        markdown = path.read_text()
        allowed = README_PREREQUISITES | prerequisites(markdown)
        for language, block in shell_blocks(markdown):
            for command in commands(path.relative_to(ROOT).as_posix(), language, block):
                found.append((command, frozenset(allowed)))
    return found


# --- what exists ------------------------------------------------------------------------


def make_targets() -> set[str]:
    makefile = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z0-9-]*):(?!=)", makefile, flags=re.MULTILINE))


def parser_of(module: str) -> argparse.ArgumentParser | None:
    if module == "local.cli":
        from local.cli.main import parser

        return parser()
    if module == "ops":
        from ops.cli import parser as ops_parser

        return ops_parser()
    return None


def refused(parser: argparse.ArgumentParser, arguments: list[str]) -> str | None:
    """argparse's error for `arguments` (an unknown subcommand, flag or choice), or None."""
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        try:
            parser.parse_args(arguments)
        except SystemExit as exit_:
            if exit_.code:
                return stderr.getvalue().strip().splitlines()[-1]
    return None


def problem(command: Command, allowed: frozenset[str]) -> str | None:
    """Why `command` would not run as written from the root after `make venv` (None: it
    would, as far as its program, subcommand, flags and targets go)."""
    program, *arguments = command.words
    where = f"{command.doc}: {command.line!r}"
    if program.startswith(".venv/bin/"):
        name = program.removeprefix(".venv/bin/")
        if name not in {"python", "sam", "pytest", "ruff", "mypy"}:
            return f"{where}: make venv installs no {program}"
        if name == "python":
            return python_problem(arguments, where)
        return None
    if program == "make":
        targets = make_targets()
        unknown = [a for a in arguments if "=" not in a and not a.startswith("-")]
        unknown = [a for a in unknown if a not in targets]
        return f"{where}: no make target {', '.join(unknown)}" if unknown else None
    if program in STANDARD or program in allowed:
        return None
    if program in {"python", "python3", "sam", "pip", "pytest"}:
        return f"{where}: bare {program} (only .venv/bin/{program.split('3')[0]} is installed)"
    return f"{where}: {program} is neither installed by make venv nor a stated prerequisite"


def python_problem(arguments: list[str], where: str) -> str | None:
    if arguments[:1] != ["-m"] or len(arguments) < 2:
        return None
    module, rest = arguments[1], arguments[2:]
    if importlib.util.find_spec(module) is None:
        return f"{where}: no module {module}"
    parser = parser_of(module)
    if parser is not None and (error := refused(parser, rest)):
        return f"{where}: {error}"
    return None


# --- the tests ----------------------------------------------------------------------------


def test_the_docs_have_commands_to_check():
    found = every_command()
    programs = {command.words[0] for command, _ in found}
    assert {".venv/bin/python", "make", ".venv/bin/sam"} <= programs
    modules = {c.words[2] for c, _ in found if c.words[:2] == (".venv/bin/python", "-m")}
    assert {"local.cli", "ops"} <= modules


def test_every_command_in_the_docs_runs_as_written_from_the_root():
    problems = [p for command, allowed in every_command() if (p := problem(command, allowed))]
    assert problems == []


def check(block: str, doc_text: str = "") -> list[str]:
    allowed = README_PREREQUISITES | prerequisites(doc_text)
    return [p for c in commands("x.md", "sh", block) if (p := problem(c, frozenset(allowed)))]


@pytest.mark.parametrize(
    ("block", "said"),
    [
        (".venv/bin/python -m local.cli frobnicate", "invalid choice: 'frobnicate'"),
        (".venv/bin/python -m local.cli show --everything", "unrecognized arguments: --everything"),
        (".venv/bin/python -m ops redrive --stack x --fast", "unrecognized arguments: --fast"),
        (".venv/bin/python -m ops set-api-key", "the following arguments are required: --stack"),
        (".venv/bin/python -m ops quarantine purge --stack x", "invalid choice: 'purge'"),
        ("py=.venv/bin/python\n$py -m local.cli sned 1 x", "invalid choice: 'sned'"),
        (".venv/bin/python -m local.nothing", "no module local.nothing"),
        ("make deploy-everything", "no make target deploy-everything"),
        ("make redrive STACK=x && make tset", "no make target tset"),
        ("sam build", "bare sam"),
        ("python -m local.cli show", "bare python"),
        ("aws s3 ls", "aws is neither installed by make venv nor a stated prerequisite"),
        (".venv/bin/aws s3 ls", "make venv installs no .venv/bin/aws"),
    ],
)
def test_a_made_up_program_subcommand_flag_or_target_is_caught(block, said):
    problems = check(block)
    assert len(problems) == 1, problems
    assert said in problems[0]


def test_what_the_docs_write_is_read_as_a_shell_reads_it():
    block = (
        "py=.venv/bin/python\n"
        "for e in a b; do\n"
        "  $py -m local.cli invoke ReceiverFunction -e events/receiver-$e.json  # a comment\n"
        "done\n"
        "AWS_DEFAULT_REGION=x .venv/bin/sam local invoke F \\\n"
        "    --env-vars env.json\n"
        ".venv/bin/python -m ops reconcile --stack <stack name>   # <stack name>: yours\n"
        "curl -d '{\"a\": 1}' http://127.0.0.1:4000/x | head\n"
    )
    assert [c.words[:4] for c in commands("x.md", "sh", block)] == [
        (".venv/bin/python", "-m", "local.cli", "invoke"),
        (".venv/bin/sam", "local", "invoke", "F"),
        (".venv/bin/python", "-m", "ops", "reconcile"),
        ("curl", "-d", '{"a": 1}', "http://127.0.0.1:4000/x"),
        ("head",),
    ]
    assert check(block) == []
    console = "$ make dev\nCasso payments local stack is up\n$ .venv/bin/python -m ops --help\n"
    assert [c.words for c in commands("x.md", "console", console)] == [
        ("make", "dev"),
        (".venv/bin/python", "-m", "ops", "--help"),
    ]


def test_a_prerequisite_the_doc_states_may_be_used():
    doc = "# X\n\n**Prerequisite:** the AWS CLI (`aws`), configured for the account.\n"
    assert prerequisites(doc) == {"aws"}
    assert check("aws sqs get-queue-attributes --queue-url Q", doc) == []
    assert check("aws sqs get-queue-attributes --queue-url Q") != []


def test_the_make_targets_are_read_from_the_makefile():
    targets = make_targets()
    assert {"venv", "demo", "dev", "test", "build", "redrive", "replay"} <= targets
    assert "VENV" not in targets
    assert "export" not in targets


def test_commands_in_docs_name_real_files():
    """Paths the docs' commands pass that belong to the repository exist (events/...)."""
    missing = [
        f"{command.doc}: {word}"
        for command, _ in every_command()
        for word in command.words
        if re.fullmatch(r"(events|docs|local|ops|tests)/[\w./-]+\.\w+", word)
        and "$" not in word
        and not (ROOT / word).exists()
    ]
    assert missing == []
