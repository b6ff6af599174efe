"""The tree is linted, formatted and type-checked: ruff and mypy report nothing.

The rules live in pyproject.toml. A failure lists the findings; ``ruff check --fix`` and
``ruff format`` repair most of ruff's.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.lib import NumpyVersion

ROOT = Path(__file__).resolve().parents[1]


def run(tool: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m tool args`` in the repository, with the interpreter running the tests."""
    if importlib.util.find_spec(tool) is None:
        pytest.skip(f"{tool} is not installed: pip install -e '.[test]'")
    return subprocess.run(
        [sys.executable, "-m", tool, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )


def test_ruff_finds_nothing() -> None:
    result = run("ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_changes_nothing() -> None:
    result = run("ruff", "format", "--check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing(tmp_path: Path) -> None:
    if NumpyVersion(np.__version__) < "2.3.0":  # the newest numpy on Python 3.10 is 2.2
        pytest.skip(
            f"the annotations are checked with numpy 2.3's stubs or newer, where ndarray's type "
            f"parameters have defaults; this is numpy {np.__version__}"
        )
    # mypy cannot see through the editable install's import hook, so the two folders
    # are laid out as the installed package by the docs' own hook (links to autograd/'s
    # files, and models/ as glassgrad/models) and checked under their installed names. mypy's own cache
    # (.mypy_cache, ignored by git) makes a rerun on unchanged files take a second.
    spec = importlib.util.spec_from_file_location("source_tree", ROOT / "docs" / "source_tree.py")
    assert spec is not None and spec.loader is not None
    source_tree = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(source_tree)
    tree = source_tree.build_tree(tmp_path / "tree")
    package = tree / "glassgrad"
    env = {**os.environ, "MYPYPATH": str(tree)}
    result = run("mypy", "--cache-dir", str(ROOT / ".mypy_cache"), *numpy_stubs_python(), "-p", "glassgrad", env=env)
    report = result.stdout.replace(f"{package}/models/", "models/").replace(f"{package}/", "autograd/")
    assert result.returncode == 0, report + result.stderr


def numpy_stubs_python() -> list[str]:
    """mypy checks the code as Python 3.10, the oldest Python glassgrad supports
    (pyproject.toml), with the stubs of the numpy installed. A numpy that needs Python
    3.12 or newer writes its stubs in that Python's syntax (numpy 2.5's ``type``
    aliases), which mypy reads only when checking as that Python."""
    needs = re.search(r">=\s*3\.(\d+)", importlib.metadata.metadata("numpy")["Requires-Python"] or "")
    if needs is None or int(needs.group(1)) < 12:
        return []
    return ["--python-version", f"3.{needs.group(1)}"]
