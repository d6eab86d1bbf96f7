"""`.venv/bin/python -m local.cli` and `-m ops` work from any folder, not only the project
root (`make venv` puts the root on the venv's import path), and find the same stack."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from local.stack.template import ROOT


def run_from(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=folder,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_local_cli_runs_from_another_folder_and_looks_where_the_root_would(tmp_path):
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    empty = tmp_path / "no-stack"
    result = run_from(elsewhere, "-m", "local.cli", "status", LOCAL_STACK_DIR=str(empty))
    assert "No module named" not in result.stderr, (
        f"{result.stderr}\n(`make venv` puts the root on the venv's import path)"
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: no local stack is running")
    assert result.stderr.count("\n") == 1  # one line


def test_the_help_of_both_command_lines_from_another_folder(tmp_path):
    for module in ("local.cli", "ops"):
        result = run_from(tmp_path, "-m", module, "--help")
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"usage: python -m {module}")


def test_the_venv_points_at_this_checkout():
    """The .pth file names this root (a venv made for another checkout would run its code)."""
    result = run_from(Path("/"), "-c", "import local; print(local.__file__)")
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).parent.parent == ROOT
