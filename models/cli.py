"""glassgrad: train and inspect a one-unit digit detector built on the glassgrad engine.

    glassgrad demo                       differentiate a tiny expression
    glassgrad train [options]            train the 9-detector (embedded MNIST sample by default)
    glassgrad predict MODEL IMAGE...     probability that each picture is the digit
    glassgrad descent [options]          gradient descent on x², step by step, with a plot
    glassgrad graph [options]            draw the logistic unit's forward and backward graphs

Bad input (missing files, bad data, impossible options) ends with exit status 2 and
one line on stderr.
"""

from __future__ import annotations

import argparse
import sys

from glassgrad import __version__
from glassgrad.errors import GlassgradError

from .commands import COMMANDS
from .commands.options import EXIT_USAGE, Parser


def build_parser() -> Parser:
    """The parser of every subcommand, each registered from its module the same way."""
    parser = Parser(prog="glassgrad", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"glassgrad {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name, command in COMMANDS.items():
        p = sub.add_parser(name, help=command.HELP, description=command.__doc__)
        command.add_arguments(p)
        p.set_defaults(run=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (GlassgradError, OSError) as exc:
        print(f"glassgrad {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"glassgrad {args.command}: interrupted", file=sys.stderr)
        return 130


def _one_line(exc: BaseException) -> str:
    text = str(exc) if not isinstance(exc, OSError) or not exc.filename else f"{exc.filename}: {exc.strerror}"
    return " ".join(text.split()) or type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
