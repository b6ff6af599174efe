"""What every subcommand shares: the parser with one-line errors and the option types.

Bad input (missing files, bad data, impossible options) ends with exit status 2 and one
line on stderr: ``glassgrad <command>: error: ...``.
"""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path
from typing import Any, NoReturn

from glassgrad.errors import GlassgradError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for a program stopped by Ctrl-C
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a writer whose reader left


class UsageError(GlassgradError):
    """Options that cannot work together, found after parsing."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump) and exit status 2; ``-1e4`` and
    ``-.5`` are read as numbers, not taken for options; a subcommand's options may come
    before, between or after its positional arguments (``predict MODEL --index 0 IMAGE``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
        self._intermixing = False

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        """As argparse's, but an argument this parser does not take is its own error: a
        subcommand's error names the subcommand (argparse leaves it to the main parser).

        A parser without subcommands reads its arguments intermixed: argparse alone
        lets a ``nargs="*"`` positional match nothing at the first option and then
        refuses the positionals after it. Intermixed parsing calls this method again,
        once for the options and once for the positionals; those inner calls are
        argparse's own."""
        if self._intermixing:
            return super().parse_known_args(args, namespace)
        if self._subparsers is None:
            self._intermixing = True
            try:
                parsed, extra = self.parse_known_intermixed_args(args, namespace)
            finally:
                self._intermixing = False
        else:
            parsed, extra = super().parse_known_args(args, namespace)
        if extra:
            self.error(f"unrecognized arguments: {' '.join(extra)}")
        return parsed, extra


def number(
    kind: type, low: float | None = None, high: float | None = None, low_open: bool = False, high_open: bool = False
) -> Any:
    """An argparse type: a finite ``kind`` within [low, high] (ends open when asked)."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
        too_low = low is not None and (value <= low if low_open else value < low)
        too_high = high is not None and (value >= high if high_open else value > high)
        if not math.isfinite(value) or too_low or too_high:
            bounds = []
            if low is not None:
                bounds.append(f"{'>' if low_open else '≥'} {low:g}")
            if high is not None:
                bounds.append(f"{'<' if high_open else '≤'} {high:g}")
            raise argparse.ArgumentTypeError(f"{text} is out of range: must be {' and '.join(bounds) or 'finite'}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def url(text: str) -> str:
    """An argparse type: an address that is not blank (a blank one would mean the default)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("a blank URL names no server; give the address of a folder of the MNIST files")
    return text


def existing_dir(text: str) -> Path:
    path = Path(text)
    if not _is(path, Path.is_dir):
        raise argparse.ArgumentTypeError(f"{text} is not an existing folder")
    return path


def output_dir(text: str) -> Path:
    path = Path(text)
    if _is(path, Path.exists) and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} exists and is not a folder")
    _check_parents(path)
    return path


def output_file(text: str) -> Path:
    if not text:
        raise argparse.ArgumentTypeError("an empty path names no file")
    path = Path(text)
    if _is(path, Path.is_dir):
        raise argparse.ArgumentTypeError(f"{text} is a folder; give a file name")
    _check_parents(path)
    return path


def _check_parents(path: Path) -> None:
    """Refuse a path whose nearest existing parent is a file: nothing can be made under
    it, and the system's words for that ("File exists", "Not a directory") name the
    path asked for, not the file in the way."""
    for parent in path.parents:
        if _is(parent, Path.exists):
            if not parent.is_dir():
                raise argparse.ArgumentTypeError(f"{path}: {parent} is a file, not a folder")
            return


def _is(path: Path, test: Any) -> bool:
    """``test(path)``, with a path the system refuses to look at (a name too long, a
    loop of links) an argparse error naming it, not an OSError out of the parser."""
    try:
        return bool(test(path))
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"{path}: {exc.strerror}") from None
