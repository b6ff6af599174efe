"""mkdocs hook: lay out the sources under their import names for the API reference.

The folders ``autograd/`` and ``models/`` install as ``glassgrad`` and
``glassgrad.models``; the reference reads the sources statically, so it needs a tree
whose folders carry those names. The hook builds it from symbolic links in
``build/api-source/`` when mkdocs loads its configuration, before any page is read.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from mkdocs.plugins import event_priority

ROOT = Path(__file__).resolve().parent.parent
TREE = ROOT / "build" / "api-source"


def build_tree(target: Path = TREE) -> Path:
    """``target/glassgrad`` holds links to everything in autograd/, plus ``models``:
    the package as it installs. The type check lays out the same tree."""
    package = target / "glassgrad"
    shutil.rmtree(target, ignore_errors=True)
    package.mkdir(parents=True)
    for entry in (ROOT / "autograd").iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    (package / "models").symlink_to(ROOT / "models")
    return target


@event_priority(100)  # before mkdocstrings reads its paths
def on_config(config: object) -> object:
    """mkdocs hook: the tree is in place before any page is read."""
    build_tree()
    return config
