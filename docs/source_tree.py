"""mkdocs hook: lay out the sources under their import names for the API reference.

The folders ``autograd/`` and ``models/`` install as ``glassgrad`` and
``glassgrad.models``; the reference reads the sources statically, so it needs a tree
whose folders carry those names. The hook builds it from symbolic links in
``build/api-source/`` when mkdocs loads its configuration, before any page is read.
"""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TREE = ROOT / "build" / "api-source"


def build_tree() -> Path:
    """``TREE/glassgrad`` holds links to everything in autograd/, plus ``models``."""
    package = TREE / "glassgrad"
    shutil.rmtree(TREE, ignore_errors=True)
    package.mkdir(parents=True)
    for entry in (ROOT / "autograd").iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    (package / "models").symlink_to(ROOT / "models")
    return TREE


build_tree()
