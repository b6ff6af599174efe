"""glassgrad graph: draw the logistic unit's forward and backward graphs and explain ∂L/∂w."""

from __future__ import annotations

import argparse
from pathlib import Path

from glassgrad.viz import explain, explore

from ..graphs import (
    DEFAULT_B,
    DEFAULT_W,
    DEFAULT_X,
    DEFAULT_Y,
    FORMATS,
    LOGISTIC_TITLE,
    logistic_unit,
    write_logistic_figures,
)
from .options import UsageError, number, output_dir
from .vizwarnings import viz_warnings

HELP = "draw the logistic unit's forward and backward graphs and explain ∂L/∂w"
FINITE = number(float)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=output_dir, default=Path("graphs"), help="folder for the files (default: graphs)")
    p.add_argument(
        "--format", action="append", choices=FORMATS, help="picture format; repeat for several (default: svg)"
    )
    p.add_argument(
        "--html", action="store_true", help="also write explorer.html: step through forward and backward in a browser"
    )
    p.add_argument("--x", type=FINITE, nargs="+", default=list(DEFAULT_X), help="the sample's features")
    p.add_argument("--w", type=FINITE, nargs="+", default=list(DEFAULT_W), help="the weights (as many as features)")
    p.add_argument("--b", type=FINITE, default=DEFAULT_B, help="the bias")
    p.add_argument("--y", type=number(float, 0, 1), default=DEFAULT_Y, help="the label, in [0, 1]")


def run(args: argparse.Namespace) -> int:
    try:
        unit = logistic_unit(args.x, args.w, args.b, args.y)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    with viz_warnings("graph"):
        paths = write_logistic_figures(args.out, args.format or ["svg"], unit)
        if args.html:
            paths.append(explore(unit.loss, title=LOGISTIC_TITLE).save(args.out / "explorer.html"))
    for path in paths:
        print(f"wrote {path}")
    print(explain(unit.w, unit.loss))
    return 0
