"""Find the Python examples in Markdown pages, run them, and compare what they print.

The conventions (also described in docs/contributing.md):

- Every fenced block whose info string is ``python`` is run. The blocks of one page
  run in order in one shared namespace, so a later block can use what an earlier one
  defined. They run in a fresh temporary folder, so files they write go nowhere.
- A ``python`` block followed directly (only blank lines between) by a ``text`` block
  must print exactly that text. Trailing spaces and trailing blank lines are ignored;
  ``...`` stands for any run of characters (for numbers that depend on the machine,
  such as timings).
- A block preceded directly by the line ``<!-- no-run -->`` is shown but not run. Use
  it rarely: for code that needs the network or would take minutes.
"""

from __future__ import annotations

import contextlib
import io
import re
import traceback
from dataclasses import dataclass
from pathlib import Path

NO_RUN = "<!-- no-run -->"
_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")


@dataclass
class Example:
    """One ``python`` block: its code, the output it must print (or None) and where it is."""

    page: str
    line: int  # 1-based line of the opening fence
    code: str
    expected: str | None
    run: bool


@dataclass
class _Block:
    info: str
    line: int
    body: str
    end: int  # 0-based index of the line after the closing fence
    no_run: bool


def _blocks(text: str) -> list[_Block]:
    """Every fenced block of a Markdown text, with the line that precedes it checked
    for the no-run marker."""
    lines = text.splitlines()
    blocks: list[_Block] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, indent = m["fence"], len(m["indent"])
        prev = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not (
            lines[j].strip().startswith(fence[0] * len(fence)) and lines[j].strip().strip(fence[0]) == ""
        ):
            body.append(lines[j][indent:] if lines[j][:indent].strip() == "" else lines[j])
            j += 1
        if j == len(lines):
            raise ValueError(f"line {i + 1}: the code block opened here is never closed (missing {fence})")
        blocks.append(_Block(m["info"].strip(), i + 1, "\n".join(body) + "\n", j + 1, prev == NO_RUN))
        i = j + 1
    return blocks


def examples(text: str, page: str = "<page>") -> list[Example]:
    """The ``python`` examples of a Markdown text, each paired with the ``text`` block
    that follows it directly, if any."""
    blocks = _blocks(text)
    lines = text.splitlines()
    found: list[Example] = []
    for k, b in enumerate(blocks):
        if b.info.split()[:1] != ["python"]:
            continue
        expected = None
        nxt = blocks[k + 1] if k + 1 < len(blocks) else None
        if nxt is not None and nxt.info == "text" and all(not s.strip() for s in lines[b.end : nxt.line - 1]):
            expected = nxt.body
        found.append(Example(page, b.line, b.body, expected, not b.no_run))
    return found


def output_matches(expected: str, actual: str) -> bool:
    """Whether printed output matches the expected text: lines compared without
    trailing spaces, trailing blank lines ignored, ``...`` matching anything."""

    def norm(s: str) -> str:
        return "\n".join(line.rstrip() for line in s.rstrip().splitlines())

    pattern = ".*?".join(re.escape(part) for part in norm(expected).split("..."))
    return re.fullmatch(pattern, norm(actual), flags=re.DOTALL) is not None


class ExampleFailed(AssertionError):
    """An example raised or printed something other than its expected output."""


def run_page(examples_: list[Example]) -> int:
    """Run a page's examples in order in one namespace; raise :class:`ExampleFailed`
    naming the page and line of the first that fails. Returns how many ran."""
    namespace: dict = {"__name__": "__docs__"}
    ran = 0
    for ex in examples_:
        if not ex.run:
            continue
        where = f"{ex.page}, the python block at line {ex.line}"
        out = io.StringIO()
        try:
            code = compile(ex.code, where, "exec")
            with contextlib.redirect_stdout(out):
                exec(code, namespace)
        except Exception:
            raise ExampleFailed(
                f"{where} raised:\n{traceback.format_exc()}\nprinted before that:\n{out.getvalue()}"
            ) from None
        if ex.expected is not None and not output_matches(ex.expected, out.getvalue()):
            raise ExampleFailed(f"{where} printed:\n{out.getvalue()}\nbut the page says it prints:\n{ex.expected}")
        ran += 1
    return ran


def pages(root: Path) -> list[Path]:
    """README.md and every Markdown page under docs/."""
    return [root / "README.md", *sorted((root / "docs").rglob("*.md"))]
