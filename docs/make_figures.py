"""Regenerate the pictures and text outputs the docs show.

Run from the repository root (graphviz's ``dot`` must be installed)::

    python docs/make_figures.py
"""

from __future__ import annotations

from pathlib import Path

from models.graphs import write_docs_figures

IMAGES = Path(__file__).resolve().parent / "images"


def visualization_figures() -> list[Path]:
    """docs/visualization.md: the logistic unit's forward and backward graphs, its
    explain() output and listing, a value used three times, highlighting and folding."""
    return write_docs_figures(IMAGES / "viz")


if __name__ == "__main__":
    for path in visualization_figures():
        print(path)
