"""The ``glassgrad`` command's entry point: Ctrl-C or SIGTERM at any moment is one line and exit status 130.

The command's work starts with importing NumPy, the engine and the command line, a
noticeable part of a second in which Ctrl-C raises KeyboardInterrupt inside an import.
Every module of ``glassgrad`` imports the engine first (it is the package's
``__init__``), so the code that catches it lives outside the package: this module
installs as ``_glassgrad_cli`` and imports nothing of glassgrad's before its handler.
``python -m glassgrad.models.cli`` hands over to :func:`main` at the module's first
line, after Python imported the packages glassgrad and glassgrad.models, which no code
of glassgrad's can wrap.
"""

from __future__ import annotations

import signal
import sys


def main() -> int:
    """:func:`glassgrad.models.cli.main`, imported inside the handler of Ctrl-C, with
    SIGTERM taken as Ctrl-C from the start, as the command's main takes it. Once it
    returns, the command is done: Ctrl-C and SIGTERM are ignored while Python shuts down,
    where the KeyboardInterrupt they raise would be a traceback after the answer."""
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        from glassgrad.models import cli

        return cli.main()
    except KeyboardInterrupt:  # while the command line loads, or before its main's own handler
        print("glassgrad: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
