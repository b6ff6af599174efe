"""How often gradcheck's default fast mode misses one wrong element of 1,000, printed
as Markdown (docs/benchmarks.md shows the runs):

    python benchmarks/fast_mode_misses.py [--trials 1000]

f(x) = Σ xᵢ² on 1,000 elements, through an op whose backward is right everywhere but
at element 517, where it is scaled by a factor (0: the element is dropped; 1.01: 1 %
off). Trial k draws x from U(−1, 1) with its own generator and checks with seed=k
(the upstream gradient and the directions), once with x₅₁₇ as drawn and once with
x₅₁₇ = 0.8. ``report_limit=0`` keeps the verdict of the directions alone (no element
table is recomputed), ``localize=False`` skips the op-by-op search.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from glassgrad import Function, Tensor
from glassgrad.testing import gradcheck

N, WRONG = 1000, 517
FACTORS = (0.0, 0.9, 0.99, 0.999)


def one_wrong(factor: float) -> type[Function]:
    """x², with a backward off by ``factor`` at element 517 only."""

    class OneWrong(Function):
        @staticmethod
        def forward(ctx, x):
            return x * x

        @staticmethod
        def backward(ctx, g, y, x):
            d = 2 * g * x
            d[WRONG] *= factor
            return (d,)

    return OneWrong


def misses(factor: float, trials: int, x_wrong: float | None) -> tuple[int, float]:
    """(checks that passed, mean seconds per check)."""
    op = one_wrong(factor)
    passed = 0
    start = time.perf_counter()
    for k in range(trials):
        x = np.random.default_rng(10_000 + k).uniform(-1.0, 1.0, N)
        if x_wrong is not None:
            x[WRONG] = x_wrong
        r = gradcheck(
            lambda t: op.apply(t).sum(),
            Tensor(x, requires_grad=True),
            seed=k,
            raise_exception=False,
            localize=False,
            report_limit=0,
        )
        passed += bool(r)
    return passed, (time.perf_counter() - start) / trials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    args = parser.parse_args()
    print("| element 517's gradient | x₅₁₇ drawn: missed | x₅₁₇ = 0.8: missed | ms per check |")
    print("|---|---|---|---|")
    for factor in FACTORS:
        drawn, t1 = misses(factor, args.trials, None)
        fixed, t2 = misses(factor, args.trials, 0.8)
        what = "dropped" if factor == 0 else f"{abs(1 - factor):.1%} off"
        ms = 1e3 * (t1 + t2) / 2
        print(f"| {what} | {drawn} of {args.trials} | {fixed} of {args.trials} | {ms:.1f} |")


if __name__ == "__main__":
    main()
