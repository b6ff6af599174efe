"""Griffe extension for the reference pages: the docstrings are written for Python's
``help()`` and reST habits; this turns the three habits Markdown misreads into Markdown.

- a doctest (lines from ``>>>`` to the next blank line) becomes a fenced ``pycon``
  block; Markdown would read ``>>>`` as three nested quotes;
- a Sphinx role such as ``:func:`~glassgrad.viz.explain``` becomes the code span
  ``explain``;
- a paragraph ending in ``::`` (reST's "literal block follows") ends in ``:``; the
  indented block after it is already a Markdown code block.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:func|class|mod|meth|attr|exc|data|obj):`(~?)([^`]+)`")
_DOCTEST_FLAG = re.compile(r"\s*# doctest:.*$")


def _role(match: re.Match[str]) -> str:
    target = match[2]
    return f"`{target.rsplit('.', 1)[-1] if match[1] else target}`"


def to_markdown(text: str) -> str:
    """The docstring ``text`` with doctests fenced, roles as code spans, ``::`` as ``:``."""
    out: list[str] = []
    in_doctest = False
    for line in text.splitlines():
        if not in_doctest and line.startswith(">>>"):
            out.append("```pycon")
            in_doctest = True
        if in_doctest and not line.strip():
            out.append("```")
            in_doctest = False
        if in_doctest:
            out.append(_DOCTEST_FLAG.sub("", line))
            continue
        line = _ROLE.sub(_role, line)
        literal_follows = line.endswith("::") and not line.startswith("    ") and line.strip() != "::"
        out.append(line[:-1] if literal_follows else line)
    if in_doctest:
        out.append("```")
    return "\n".join(out)


class MarkdownDocstrings(griffe.Extension):
    """Rewrite every docstring with :func:`to_markdown` as griffe loads it."""

    def on_instance(self, *, node: Any, obj: griffe.Object, agent: Any, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value)
