"""The subcommands of ``glassgrad``, one module each.

Every module has the same three parts: ``HELP`` (one line for ``glassgrad --help``),
``add_arguments(parser)`` and ``run(args) -> exit status``; its docstring is the
command's description. ``COMMANDS`` maps each name to its module, in the order of the help.
"""

from __future__ import annotations

from types import ModuleType

from . import demo, descent, export, graph, predict, train

COMMANDS: dict[str, ModuleType] = {
    "demo": demo,
    "train": train,
    "predict": predict,
    "export": export,
    "descent": descent,
    "graph": graph,
}
