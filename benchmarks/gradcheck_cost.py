"""What a passing gradcheck costs on typical functions, printed as Markdown
(docs/benchmarks.md shows the runs):

    python benchmarks/gradcheck_cost.py [--repeats 15]

Each check runs ``repeats`` times in turn with the others (so drift on the machine
hits them alike); the table gives the evaluations of f, and the median and best
milliseconds of CPU time per check (the process's own: other processes on a shared
machine slow it less than the clock on the wall). The checks are the kinds the test suite makes: losses and
layers of a few dozen to a few hundred elements in full mode (with the Jacobian
compared entry by entry where it is small), one at a kink, one in fast mode.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
from glassgrad import Tensor, cross_entropy, relu
from glassgrad.testing import GradcheckResult, gradcheck


def _tensor(shape: tuple[int, ...], seed: int) -> Tensor:
    return Tensor(np.random.default_rng(seed).uniform(-1.0, 1.0, shape), requires_grad=True)


def checks() -> dict[str, Callable[[], GradcheckResult]]:
    """The checks, by what they check (each builds its inputs afresh)."""
    labels = np.array([1, 0, 3, 2])
    return {
        "cross-entropy, 4 × 5 logits": lambda: gradcheck(lambda z: cross_entropy(z, labels), _tensor((4, 5), 0)),
        "Σ tanh, 200 elements": lambda: gradcheck(lambda x: x.tanh().sum(), _tensor((200,), 1)),
        "sigmoid layer 3 → 2, Jacobian 2 × 9": lambda: gradcheck(
            lambda x, W: (W @ x).sigmoid(), _tensor((3,), 2), _tensor((2, 3), 3)
        ),
        "tanh layer 4 → 20, Jacobian 20 × 84": lambda: gradcheck(
            lambda x, W: (W @ x).tanh(), _tensor((4,), 4), _tensor((20, 4), 5)
        ),
        "relu at its kink, 5 elements": lambda: gradcheck(
            lambda x: relu(x).sum(), Tensor([0.0, 0.5, -1.0, 2.0, 0.0], requires_grad=True)
        ),
        "Σ sigmoid, 1,000 elements (fast mode)": lambda: gradcheck(lambda x: x.sigmoid().sum(), _tensor((1000,), 6)),
        "hand-written vjp of sin, 8 elements": lambda: gradcheck(
            np.sin, np.linspace(-1.0, 1.0, 8), vjp=lambda x, v: v * np.cos(x)
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    todo = checks()
    times: dict[str, list[float]] = {name: [] for name in todo}
    evaluations = {}
    for _ in range(args.repeats):
        for name, check in todo.items():
            start = time.process_time()
            result = check()
            times[name].append(time.process_time() - start)
            evaluations[name] = result.evaluations
    print("| check | evaluations of f | CPU ms per check, median | best |")
    print("|---|---|---|---|")
    for name in todo:
        median, best = 1e3 * statistics.median(times[name]), 1e3 * min(times[name])
        print(f"| {name} | {evaluations[name]} | {median:.1f} | {best:.1f} |")


if __name__ == "__main__":
    main()
