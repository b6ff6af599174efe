"""What each of glassgrad's guarantees costs inside the eager W2 step, and the least
an engine that keeps them costs.

The eager step's pieces, timed alone, add up to a third of what the step costs beside
NumPy's (docs/benchmarks.md): Python code runs slower among the step's other code
than alone in a loop. So each guarantee is measured where it runs, by taking it out:
the whole W2 step (minibatches of 64 rows of 784 float64 columns, SGD) is timed in a
fresh process, and again in fresh processes with one guarantee replaced by the least
code that computes the same numbers (the replacements exist only in this script).
Beside them run NumPy's step by hand, the least eager engine (``profiles.tape_step``:
a tape, no checks) and the least engines that keep glassgrad's promises
(checked_floor.py). The parameters after the timed steps are compared with the whole
step's.

    python guarantees.py [--rounds 5] [--steps 2000]

prints a Markdown table: each variant's best time per step (the best of 7 runs of
``--steps`` steps, in each round), as the median over the rounds, which run the
variants in rotating order, and its difference from the whole step.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import synthetic_data

BATCH, LR, BATCHES = 64, 0.1, 79


def _numpy_step(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: np.ndarray) -> None:
    """The hand-written NumPy step of logistic_adapters.NumpyByHand."""
    z = X @ w
    z += b
    sp = np.logaddexp(0, z)
    np.mean(sp - y * z)
    r = np.exp(z - sp)
    r -= y
    r /= len(y)
    gw, gb = X.T @ r, r.sum()
    gw *= LR
    w -= gw
    b -= LR * gb


def _glassgrad_steps(variant: str) -> tuple[Callable[[Any, Any], None], Any, Any]:
    """The eager step a user writes, with the guarantee ``variant`` names taken out."""
    import operator

    from glassgrad import Tensor, binary_cross_entropy_with_logits, no_grad, versions
    from glassgrad.ops import domains

    if variant == "no domain test of the targets":  # the targets are not tested to lie in [0, 1]
        object.__setattr__(domains.UNIT_INTERVAL, "contains", lambda x: True)
    if variant == "gradients stored as handed over":  # no shape, dtype or kind checks, no copy
        Tensor._grad_store = lambda self, g: self._meta.__setitem__("grad", g if type(g) is np.ndarray else np.array(g))
    if variant == "no version marks":  # in-place writes leave no mark for backward
        versions.mark = lambda a, stamp: None
    if variant == "in-place writes unchecked":  # no grad mode, value or trace checks, no lock, no marks
        Tensor.__isub__ = lambda self, other: (operator.isub(self._data, other), self)[1]
    w = Tensor(np.zeros(784), requires_grad=True)
    b = Tensor(0.0, requires_grad=True)
    bce = binary_cross_entropy_with_logits

    def step(X: Any, y: Any) -> None:
        nonlocal w, b  # ``w -= …`` binds the name again (to the same Tensor)
        bce(X @ w + b, y).backward()
        if variant == "no update":  # forward and backward only
            w.grad = b.grad = None
            return
        if variant == "no no_grad() block":  # the arrays written directly
            w._data -= LR * w.grad
            b._data -= LR * b.grad
        else:
            with no_grad():
                w -= LR * w.grad
                b -= LR * b.grad
        w.grad = b.grad = None

    return step, w, b


VARIANTS = (
    "NumPy by hand",
    "whole step",
    "no domain test of the targets",
    "gradients stored as handed over",
    "no version marks",
    "in-place writes unchecked",
    "no no_grad() block",
    "no update",  # computes no parameters: left out of the comparison
    "the tape engine",
    "the tape engine with the guarantees",
    "the least general engine with the guarantees",
)

#: The variants that take one guarantee out of glassgrad's step and compute its numbers.
TAKEN_OUT = VARIANTS[1:7]


def child(variant: str, steps: int) -> None:
    """Time ``variant`` in this process; print µs per step and the parameters' checksum."""
    X, y = synthetic_data.synthetic_mnist(BATCH * BATCHES, "float64", 0)
    if variant in ("the tape engine with the guarantees", "the least general engine with the guarantees"):
        import checked_floor

        general = variant == "the least general engine with the guarantees"
        engine = checked_floor.Engine if general else checked_floor.Tape
        wc, bc = checked_floor.Value(np.zeros(784), True), checked_floor.Value(np.array(0.0), True)
        batches = [(X[i : i + BATCH], y[i : i + BATCH]) for i in range(0, len(X), BATCH)]
        if general:
            batches = [(checked_floor.Value(Xb), checked_floor.Value(yb)) for Xb, yb in batches]

        def step(Xb: Any, yb: Any) -> None:
            engine.step(Xb, yb, wc, bc, LR)

        def params() -> tuple[Any, Any]:
            return wc.data, bc.data
    elif variant == "the tape engine":
        from profiles import TapeNode, tape_step

        wn, bn = TapeNode(np.zeros(784)), TapeNode(np.array(0.0))
        batches = [(X[i : i + BATCH], y[i : i + BATCH]) for i in range(0, len(X), BATCH)]

        def step(Xb: Any, yb: Any) -> None:
            tape_step(Xb, yb, wn, bn, LR)

        def params() -> tuple[Any, Any]:
            return wn.data, bn.data
    elif variant == "NumPy by hand":
        w, b = np.zeros(784), np.array(0.0)
        batches = [(X[i : i + BATCH], y[i : i + BATCH]) for i in range(0, len(X), BATCH)]

        def step(Xb: Any, yb: Any) -> None:
            _numpy_step(Xb, yb, w, b)

        def params() -> tuple[Any, Any]:
            return w, b
    else:
        from glassgrad import as_tensor

        step, wt, bt = _glassgrad_steps(variant)
        batches = [(as_tensor(X[i : i + BATCH]), as_tensor(y[i : i + BATCH])) for i in range(0, len(X), BATCH)]

        def params() -> tuple[Any, Any]:
            return wt._data, bt._data

    def run(n: int) -> float:
        start = time.perf_counter()
        for i in range(n):
            step(*batches[i % BATCHES])
        return time.perf_counter() - start

    run(300)
    best = min(run(steps) for _ in range(7))
    w, b = params()
    print(f"{best / steps * 1e6:.3f} {float(np.sum(w)) + float(b):.17g}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.steps)
        return
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    sums: dict[str, str] = {}
    for r in range(args.rounds):
        for v in VARIANTS[r % len(VARIANTS) :] + VARIANTS[: r % len(VARIANTS)]:
            out = subprocess.run(
                [sys.executable, __file__, "--child", v, "--steps", str(args.steps)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            times[v].append(float(out[0]))
            sums[v] = out[1]
    numpy, whole = statistics.median(times["NumPy by hand"]), statistics.median(times["whole step"])
    print(f"The eager W2 step, {args.rounds} rounds of fresh processes, best of 7 × {args.steps:,} steps each:\n")
    print("| variant | µs per step (median of bests) | × NumPy by hand | difference from the whole step, µs |")
    print("|---|---:|---:|---:|")
    for v in VARIANTS:
        t = statistics.median(times[v])
        print(f"| {v} | {t:.2f} | {t / numpy:.2f} | {t - whole:+.2f} |")
    # The variants of glassgrad's step compute its numbers exactly; the other steps
    # round in their own order (NumPy's step adds b before the mean, for one).
    differing = sorted(v for v in TAKEN_OUT if sums[v] != sums["whole step"])
    verdict = "equal in every variant of glassgrad's step" if not differing else "differ in " + ", ".join(differing)
    others = max(
        abs(float(sums[v]) / float(sums["whole step"]) - 1) for v in VARIANTS if v not in (*TAKEN_OUT, "no update")
    )
    agree = "equal too" if others == 0 else f"within {others:.0e} relative"
    print(f"\nParameters after the timed steps: {verdict}; the other steps' {agree}.")


if __name__ == "__main__":
    main()
