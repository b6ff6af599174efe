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
import math
import sys
from pathlib import Path
from typing import Any, NoReturn

from glassgrad import __version__
from glassgrad.errors import GlassgradError

EXIT_USAGE = 2


class UsageError(GlassgradError):
    """Options that cannot work together, found after parsing."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


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


def existing_dir(text: str) -> Path:
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is not an existing folder")
    return path


def output_dir(text: str) -> Path:
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} exists and is not a folder")
    return path


def _demo(args: argparse.Namespace) -> int:
    from glassgrad import Scalar

    a, b = Scalar(2.0, name="a"), Scalar(-3.0, name="b")
    c = (a * b + a**2).tanh()
    c.backward()
    print(f"c = tanh(a·b + a²) = {c.data:.6f};  ∂c/∂a = {a.grad:.6f},  ∂c/∂b = {b.grad:.6f}")
    return 0


def add_demo_command(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser("demo", help="differentiate a tiny expression")
    p.set_defaults(run=_demo)
    return p


def _descent(args: argparse.Namespace) -> int:
    from glassgrad.stopping import GradientNorm, MaxIterations, TargetLoss

    from . import plots
    from .descent import DOMAIN, descend

    plots.check_available()
    rates = [(args.lr, "")] + ([(0.01, " (too small)"), (0.95, " (too large: zig-zag)")] if args.compare else [])
    runs = []
    for lr, role in rates:
        stop = MaxIterations(args.max_iterations) | TargetLoss(args.target) | GradientNorm(args.tol)
        steps, reason = descend(args.x0, lr, stop)
        print(f"gradient descent on f(x) = x², x₀ = {args.x0:g}, lr = {lr:g}")
        print(f"{'step':>5} {'x':>12} {'f(x)':>12} {'df/dx':>12}")
        for s in steps:
            print(f"{s.iteration:>5} {s.x:>12.6g} {s.f:>12.6g} {s.grad:>12.6g}")
        print(f"stopped: {reason}\n")
        runs.append((f"lr = {lr:g}{role}", [s.x for s in steps]))
    args.out.mkdir(parents=True, exist_ok=True)
    path = plots.descent_plot(args.out / "descent.png", runs, *DOMAIN)
    print(f"plot: {path}")
    return 0


def add_descent_command(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser("descent", help="gradient descent on x² with the Scalar engine, step by step")
    p.add_argument("--x0", type=number(float, -10, 10), default=8.0, help="starting point in [-10, 10] (default 8)")
    p.add_argument("--lr", type=number(float, 0, low_open=True), default=0.1, help="learning rate > 0 (default 0.1)")
    p.add_argument("--compare", action="store_true", help="also run lr 0.01 (too small) and 0.95 (too large)")
    p.add_argument("--max-iterations", type=number(int, 1), default=100, help="at most this many steps (default 100)")
    p.add_argument("--target", type=number(float, 0), default=1e-8, help="stop when x² ≤ target (default 1e-8)")
    p.add_argument("--tol", type=number(float, 0), default=0.0, help="stop when |f'(x)| ≤ tol (default 0)")
    p.add_argument("--out", type=output_dir, default=Path("runs/descent"), help="folder for descent.png")
    p.set_defaults(run=_descent)
    return p


def add_predict_command(subparsers: Any) -> argparse.ArgumentParser:
    from .predict_command import run

    p = subparsers.add_parser("predict", help="probability that pictures (or dataset samples) are the digit")
    p.add_argument("model", type=Path, help="model.npz written by glassgrad train")
    p.add_argument("images", nargs="*", type=Path, help="PNG or JPEG pictures of one digit each, any size")
    p.add_argument(
        "--index", type=number(int, 0), action="append", default=[], help="a sample of the dataset (repeatable)"
    )
    p.add_argument(
        "--data", type=existing_dir, help="folder with IDX or CSV files for --index (default: the embedded sample)"
    )
    p.add_argument(
        "--split", choices=("train", "test"), default="train", help="which split for --index (default train)"
    )
    p.set_defaults(run=run)
    return p


def build_parser() -> Parser:
    from .train_command import add_train_command

    parser = Parser(prog="glassgrad", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"glassgrad {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    add_demo_command(sub)
    add_train_command(sub)
    add_predict_command(sub)
    add_descent_command(sub)
    try:  # `glassgrad graph` arrives with the visualization module
        from . import graphs
    except ImportError:
        pass
    else:
        graphs.add_command(sub)
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
