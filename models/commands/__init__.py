"""The subcommands of ``glassgrad``, one module each.

Every module has the same three parts: ``HELP`` (one line for ``glassgrad --help``),
``add_arguments(parser)`` and ``run(args) -> exit status``; its docstring is the
command's description. ``COMMANDS`` names them in the order of the help; :func:`load`
imports them, which main does inside its handlers: Ctrl-C while they load (the drawing
library, ...) prints one line, not a traceback.
"""

from __future__ import annotations

import importlib
from types import ModuleType

COMMANDS = ("demo", "train", "predict", "export", "descent", "graph")


def load() -> dict[str, ModuleType]:
    """Each command's module, by the command's name."""
    return {name: importlib.import_module(f"{__name__}.{name}") for name in COMMANDS}
