"""Optional dependencies: import one, or say in one line which extra installs it."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingDependency

#: Import names whose distribution on PyPI is named otherwise.
DISTRIBUTIONS = {"PIL": "Pillow"}


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """The module ``module``, imported; ``MissingDependency`` naming ``pip install
    'glassgrad[extra]'`` when it is not installed (or is blocked, as a ``None`` entry
    in ``sys.modules`` blocks it)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        package = module.split(".")[0]
        raise MissingDependency(
            f"{purpose} needs the Python package {DISTRIBUTIONS.get(package, package)}, which is not installed: "
            f"pip install 'glassgrad[{extra}]'",
            name=package,
        ) from None
