"""docs/gradient-checking.md's recipes for PyTorch and JAX functions: shown but not run
by the docs tests (glassgrad depends on neither), run here wherever the framework is
installed, and skipped with the reason where it is not."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import pytest
from docs_examples import examples, run_page

PAGE = Path(__file__).resolve().parents[1] / "docs" / "gradient-checking.md"
FRAMEWORKS = ("torch", "jax")


def _recipes() -> dict[str, list]:
    found: dict[str, list] = {name: [] for name in FRAMEWORKS}
    for ex in examples(PAGE.read_text(encoding="utf-8"), "docs/gradient-checking.md"):
        for name in FRAMEWORKS:
            if not ex.run and f"import {name}\n" in ex.code:
                found[name].append(dataclasses.replace(ex, run=True))
    return found


RECIPES = _recipes()


def test_the_page_has_one_recipe_per_framework_with_its_output() -> None:
    for name, recipes in RECIPES.items():
        assert len(recipes) == 1 and recipes[0].expected, f"docs/gradient-checking.md: no {name} recipe with output"


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_recipe_runs_and_prints_what_the_page_shows(framework: str) -> None:
    if importlib.util.find_spec(framework) is None:
        pytest.skip(
            f"{framework} is not installed; the {framework} recipe in docs/gradient-checking.md runs where it is"
        )
    assert run_page(RECIPES[framework]) == 1
