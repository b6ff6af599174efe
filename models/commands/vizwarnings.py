"""The drawing library's warnings (no graphviz, a graph too large to draw) as a command's
own lines on stderr: ``glassgrad <command>: warning: ...``, each message once, instead of
Python's warning with its file name and source line."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from glassgrad.viz import VizWarning


@contextmanager
def viz_warnings(command: str) -> Iterator[None]:
    """Collect the VizWarnings raised inside the block; print them when it ends."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", VizWarning)
        yield
    for message in dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, VizWarning)):
        print(f"glassgrad {command}: warning: {message}", file=sys.stderr)
