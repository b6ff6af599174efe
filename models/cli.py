"""glassgrad: train and inspect a one-unit digit detector built on the glassgrad engine.

    glassgrad demo                       differentiate a tiny expression
    glassgrad train [options]            train the 9-detector (embedded MNIST sample by default)
    glassgrad predict MODEL IMAGE...     probability that each picture is the digit
    glassgrad export MODEL --to onnx     write the model as an ONNX file
    glassgrad descent [options]          gradient descent on x², step by step, with a plot
    glassgrad graph [options]            draw the logistic unit's forward and backward graphs

Bad input (missing files, bad data, impossible options) and a run larger than the
memory end with exit status 2 and one line on stderr; Ctrl-C or SIGTERM with exit
status 130 (train first writes the run so far); a reader that leaves (| head) with 141.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    # python -m glassgrad.models.cli: Python has imported glassgrad and glassgrad.models
    # (NumPy, the engine) before this line, out of any handler of ours. From here on it
    # is the installed command: its entry point imports this module (again, under its
    # own name) inside its handler of Ctrl-C and SIGTERM, then runs main.
    import _glassgrad_cli

    sys.exit(_glassgrad_cli.main())

import argparse
import io
import os
import signal
import threading
from collections.abc import Callable
from typing import Any

from glassgrad import __version__
from glassgrad.errors import GlassgradError

from . import commands
from .commands.blas import blas_threads
from .commands.options import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, EXIT_USAGE, Parser


def build_parser() -> Parser:
    """The parser of every subcommand, each registered from its module the same way."""
    parser = Parser(prog="glassgrad", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"glassgrad {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name, command in commands.load().items():
        p = sub.add_parser(name, help=command.HELP, description=command.__doc__)
        command.add_arguments(p)
        p.set_defaults(run=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command ``argv`` (default: the process's arguments); returns the exit status:
    0 done, 2 bad input (one line on stderr), 130 interrupted by Ctrl-C or SIGTERM, 141
    (quietly) when the reader of the output left."""
    name = "glassgrad"
    _escape_what_the_output_cannot_encode()
    restore = _sigterm_like_ctrl_c()
    try:
        args = build_parser().parse_args(argv)
        name = f"glassgrad {args.command}"
        with blas_threads(getattr(args, "threads", None)):  # only the commands that compute take --threads
            return args.run(args)
    except BrokenPipeError:  # the reader of the output left (``| head``): stop without a word
        _drop_stdout()
        return EXIT_BROKEN_PIPE
    except (GlassgradError, OSError) as exc:
        print(f"{name}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except MemoryError as exc:  # what the options ask for (data × copies, hidden units) can outgrow any machine
        print(f"{name}: error: out of memory ({_one_line(exc)}); ask for a smaller run", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        restore()


def _drop_stdout() -> None:
    """Point stdout at the null device: Python flushes it on exit, and writing what is
    left to the closed pipe would fail again."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, io.UnsupportedOperation):  # not a file (main() called from Python)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def _escape_what_the_output_cannot_encode() -> None:
    """Write a character stdout or stderr cannot encode (→, ×, ≤ in an ASCII or cp1252
    file) as a backslash escape, not as a UnicodeEncodeError after half the output. A
    stream Python set to write undecodable file names back as their bytes keeps doing so."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict":
            stream.reconfigure(errors="backslashreplace")


def _sigterm_like_ctrl_c() -> Callable[[], None]:
    """Make SIGTERM raise KeyboardInterrupt, as Ctrl-C does, so a killed run cleans up the
    same way; returns the function that puts the previous handler back."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        return lambda: None
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)

    def restore() -> None:
        signal.signal(signal.SIGTERM, previous)

    return restore


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _one_line(exc: BaseException) -> str:
    text = str(exc) if not isinstance(exc, OSError) or not exc.filename else f"{exc.filename}: {exc.strerror}"
    return " ".join(text.split()) or type(exc).__name__
