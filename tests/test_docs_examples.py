"""The docs cannot rot: every Python example in README.md and docs/ runs and prints
what the page says it prints (conventions in ``docs_examples``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from docs_examples import ExampleFailed, examples, output_matches, pages, run_page
from glassgrad import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
PAGES = [p for p in pages(ROOT) if any(ex.run for ex in examples(p.read_text(encoding="utf-8"), str(p)))]


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_page_examples_run_and_print_what_the_page_says(page: Path, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # files the examples write land in a fresh folder
    monkeypatch.setenv("MPLBACKEND", "Agg")
    found = examples(page.read_text(encoding="utf-8"), str(page.relative_to(ROOT)))
    registered = dict(REGISTRY)
    try:
        assert run_page(found) == sum(ex.run for ex in found)
    finally:  # an op a page registers stays on that page
        REGISTRY.clear()
        REGISTRY.update(registered)


def test_readme_and_tutorial_have_examples() -> None:
    assert ROOT / "README.md" in PAGES
    assert ROOT / "docs" / "tutorial.md" in PAGES


# -- the collector itself ---------------------------------------------------------------

PAGE = """\
# A page

```python
x = 2
print(x * 21)
```

```text
42
```

<!-- no-run -->
```python
raise SystemExit("never run")
```

```bash
echo not python
```

```python
print(x + 1)
```
Some prose.

```text
not the output of the block above: prose stands between them
```
"""


def test_collector_pairs_code_with_output_and_honours_no_run() -> None:
    found = examples(PAGE)
    assert [(ex.line, ex.run, ex.expected) for ex in found] == [(3, True, "42\n"), (13, False, None), (21, True, None)]
    assert run_page(found) == 2


def test_collector_reports_wrong_output_with_page_and_line() -> None:
    found = examples(PAGE.replace("42\n```", "43\n```"), "page.md")
    with pytest.raises(ExampleFailed, match=r"page\.md, the python block at line 3 printed:\n42"):
        run_page(found)


def test_collector_reports_an_exception_with_page_and_line() -> None:
    found = examples("```python\nx = 1\n```\n\n```python\n1 / 0\n```\n", "p.md")
    with pytest.raises(ExampleFailed, match=r"p\.md, the python block at line 5 raised:(.|\n)*ZeroDivisionError"):
        run_page(found)


def test_unclosed_block_is_an_error() -> None:
    with pytest.raises(ValueError, match="line 1: the code block opened here is never closed"):
        examples("```python\nprint(1)\n")


@pytest.mark.parametrize(
    ("expected", "actual", "ok"),
    [
        ("a\nb\n", "a  \nb\n\n", True),
        ("took ... s\n", "took 0.25 s\n", True),
        ("loss ...\n", "loss 0.1\nextra line\n", True),
        ("a\n", "b\n", False),
        ("a\n", "a\nb\n", False),
    ],
)
def test_output_comparison(expected: str, actual: str, ok: bool) -> None:
    assert output_matches(expected, actual) is ok
