"""The documentation site builds without a single warning, and its figures are
regenerated from the library by one script."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from browser import missing

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(
    importlib.util.find_spec("mkdocs") is None, reason="mkdocs is not installed (pip install -e '.[docs]')"
)
def test_mkdocs_build_strict(tmp_path: Path) -> None:
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (site / "tutorial" / "index.html").is_file()
    assert (site / "reference" / "glassgrad" / "index.html").is_file()


def test_make_figures_writes_every_figure(tmp_path: Path) -> None:
    env = dict(os.environ, MPLBACKEND="Agg")
    done = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "make_figures.py"), "--fast", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    written = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    if missing() is not None:  # the explorer's screenshots need the browser: the script says it skipped them
        assert "skipped the explorer's pictures" in done.stdout
        written |= set(_make_figures().BROWSER_FIGURES)
    for figure in _figures_the_pages_use():
        assert figure in written, f"the docs show images/{figure} but make_figures.py does not write it"
    images = ROOT / "docs" / "images"
    for image in (p.relative_to(images).as_posix() for p in images.rglob("*") if p.is_file()):
        assert image in written, f"docs/images/{image} is committed but make_figures.py does not make it"
    for name in written:
        assert (tmp_path / name).stat().st_size > 0, name


def test_the_committed_explorer_pages_are_the_library_s(tmp_path: Path) -> None:
    """The docs' explorer pages carry their own copy of the explorer's script and style
    (a page fetches nothing); written again from the library they must be the same
    bytes, so a change to the explorer cannot leave stale copies in the docs."""
    from glassgrad.models.graphs import write_explorers

    for page in write_explorers(tmp_path):
        committed = ROOT / "docs" / "images" / "explorer" / page.name
        assert page.read_bytes() == committed.read_bytes(), (
            f"docs/images/explorer/{page.name} is stale: run python docs/make_figures.py"
        )


def _figures_the_pages_use() -> set[str]:
    """Every images/<file> referenced from README.md or a docs page."""
    used: set[str] = set()
    for page in [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]:
        used |= set(re.findall(r"images/([\w./-]+\.(?:png|svg|gif|html))", page.read_text(encoding="utf-8")))
    return used


def _make_figures():
    """docs/make_figures.py as a module (for its list of the figures made in the browser)."""
    spec = importlib.util.spec_from_file_location("make_figures", ROOT / "docs" / "make_figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_command_and_option_of_glassgrad_is_in_the_training_guide() -> None:
    import argparse

    from glassgrad.models.cli import build_parser

    guide = (ROOT / "docs" / "guides" / "training.md").read_text(encoding="utf-8")
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in commands.choices.items():
        assert f"glassgrad {name}" in guide, f"`glassgrad {name}` is not described in docs/guides/training.md"
        for action in sub._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag != "--help":
                    assert f"`{flag}" in guide, f"glassgrad {name} {flag} is not described in docs/guides/training.md"


def test_reference_docstrings_become_markdown() -> None:
    spec = importlib.util.spec_from_file_location("griffe_docstrings", ROOT / "docs" / "griffe_docstrings.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = (
        "See :func:`~glassgrad.viz.explain` and :class:`Tensor`::\n\n    z = x·w\n\n"
        ">>> f(1)  # doctest: +SKIP\n['a']\n\nEnd."
    )
    assert module.to_markdown(text) == (
        "See `explain` and `Tensor`:\n\n    z = x·w\n\n```pycon\n>>> f(1)\n['a']\n```\n\nEnd."
    )


def test_every_public_module_of_testing_and_models_has_a_reference_entry() -> None:
    documented = set(
        re.findall(
            r"^::: ([\w.]+)",
            "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "docs" / "reference").glob("*.md")),
            re.M,
        )
    )
    for folder, package in [
        (ROOT / "autograd" / "testing", "glassgrad.testing"),
        (ROOT / "models", "glassgrad.models"),
    ]:
        for module in folder.glob("*.py"):
            if not module.name.startswith("_"):
                assert f"{package}.{module.stem}" in documented, (
                    f"{package}.{module.stem} has no ::: entry in docs/reference/"
                )
