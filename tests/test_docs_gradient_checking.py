"""docs/gradient-checking.md: every Python block runs, and prints what the page shows
(``...`` in a shown output stands for any run of characters, as on the other pages)."""

import contextlib
import io
import pathlib
import re

from docs_examples import output_matches
from glassgrad.testing import pytest_plugin
from hypothesis import settings

PAGE = pathlib.Path(__file__).resolve().parent.parent / "docs" / "gradient-checking.md"
# Blocks marked no-run (the PyTorch and JAX recipes) run in test_framework_recipes.py.
BLOCK = re.compile(r"(?<!<!-- no-run -->\n)```python\n(.*?)```\n(?:\nOutput:\n\n```text\n(.*?)```\n)?", re.S)


def test_page_examples_run_and_print_the_shown_output():
    blocks = BLOCK.findall(PAGE.read_text(encoding="utf-8"))
    assert len(blocks) >= 8
    namespace: dict = {}
    settings.load_profile("ci")  # the page was captured with the derandomized profile
    try:
        for code, shown in blocks:
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(code, "example.py", "exec"), namespace)
            assert output_matches(shown, out.getvalue()), (
                f"output of this block changed:\n{code}\nprinted:\n{out.getvalue()}"
            )
    finally:
        settings.load_profile(pytest_plugin.active_profile or "default")
