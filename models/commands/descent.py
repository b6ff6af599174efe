"""glassgrad descent: gradient descent on x² with the Scalar engine, step by step, with a plot."""

from __future__ import annotations

import argparse
from pathlib import Path

from .options import number, output_dir

HELP = "gradient descent on x² with the Scalar engine, step by step"
MAX_STEPS = 10**5  # each step is a line of the table and a point of the plot, kept in memory until the end


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--x0", type=number(float, -10, 10), default=8.0, help="starting point in [-10, 10] (default 8)")
    p.add_argument("--lr", type=number(float, 0, low_open=True), default=0.1, help="learning rate > 0 (default 0.1)")
    p.add_argument("--compare", action="store_true", help="also run lr 0.01 (too small) and 0.95 (too large)")
    p.add_argument(
        "--max-iterations",
        type=number(int, 1, MAX_STEPS),
        default=100,
        help=f"at most this many steps, ≤ {MAX_STEPS:,} (default 100)",
    )
    p.add_argument("--target", type=number(float, 0), default=1e-8, help="stop when x² ≤ target (default 1e-8)")
    p.add_argument("--tol", type=number(float, 0), default=0.0, help="stop when |f'(x)| ≤ tol (default 0)")
    p.add_argument("--out", type=output_dir, default=Path("runs/descent"), help="folder for descent.png")


def run(args: argparse.Namespace) -> int:
    from .. import plots
    from ..descent import DOMAIN, descend
    from ..stopping import GradientNorm, MaxIterations, TargetLoss

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
