"""Fixed amounts of W2, W3 and W4 work for counting instructions, when timings are too
noisy to compare two builds of the engine (docs/benchmarks.md says how it is used):

    OPENBLAS_NUM_THREADS=1 PYTHONHASHSEED=0 valgrind --tool=callgrind \\
        --callgrind-out-file=/dev/null python benchmarks/instructions.py w4

``import`` does nothing but import glassgrad: its count is subtracted from the others.
``w2-loss`` and ``w2-backward`` stop W2's steps early, and ``w2-numpy`` and ``w2-tape``
do them without glassgrad, so one step's phases and what the engine adds to NumPy's
work are counted by difference; ``w2-traced`` does them through ``glassgrad.trace``.
Every run does the same work: fixed seeds, fixed sizes, no timing. An optional count
runs the workload that many times in one process (``w4 3``): an engine that writes code
on an op's first call pays for it once, so (count of ``w4 3`` − count of ``w4 1``) / 2
is the steady-state cost of one run, and count of ``w4 1`` − ``import`` the first run's.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import numpy as np
from glassgrad import Scalar, Tensor, binary_cross_entropy_with_logits, no_grad, trace


def chain(links: int = 20_000) -> None:
    """W4: x ← x·a + c, then backward."""
    x, a, c = Scalar(0.5), Scalar(0.999), Scalar(0.001)
    for _ in range(links):
        x = x * a + c
    x.backward()


def mlp_step() -> None:
    """W3: one step of micrograd's demo MLP 2-16-16-1 on 100 points (SVM loss, relu)."""
    rng = random.Random(0)
    w1 = [[Scalar(rng.uniform(-1, 1)) for _ in range(3)] for _ in range(16)]
    w2 = [[Scalar(rng.uniform(-1, 1)) for _ in range(17)] for _ in range(16)]
    w3 = [Scalar(rng.uniform(-1, 1)) for _ in range(17)]
    points = [(rng.uniform(-2, 2), rng.uniform(-2, 2)) for _ in range(100)]
    labels = [rng.choice([-1.0, 1.0]) for _ in range(100)]
    loss = Scalar(0.0, requires_grad=False)
    for (x0, x1), y in zip(points, labels):
        h1 = [(w[0] * x0 + w[1] * x1 + w[2]).relu() for w in w1]
        h2 = [sum((wi * hi for wi, hi in zip(w[:-1], h1)), w[-1]).relu() for w in w2]
        score = sum((wi * hi for wi, hi in zip(w3[:-1], h2)), w3[-1])
        loss = loss + (1 + -y * score).relu()
    (loss * (1.0 / len(points))).backward()


def minibatches(steps: int = 300, upto: str = "update") -> None:
    """W2: logistic regression on minibatches of 64 MNIST-shaped rows, SGD. ``upto``
    stops each step after recording the loss (``"loss"``) or after ``"backward"``, so
    the phases of one step are counted by difference."""
    w = Tensor(np.zeros(784), requires_grad=True)
    b = Tensor(0.0, requires_grad=True)
    for X, y in _batches(steps):
        loss = binary_cross_entropy_with_logits(Tensor(X) @ w + b, Tensor(y))
        if upto == "loss":
            continue
        loss.backward()
        if upto == "backward":
            w.grad = b.grad = None
            continue
        with no_grad():
            w -= 0.1 * w.grad
            b -= 0.1 * b.grad
        w.grad = b.grad = None


def minibatches_traced(steps: int = 300) -> None:
    """W2's steps through one compiled step (``glassgrad.trace``), traced once per
    process, updating the parameters' arrays in place as NumPy code does: a run is
    ``steps`` calls of the replay, so (``w2-traced 3`` − ``w2-traced 1``) / 600 is one
    call and its update."""
    step, w, b, batches = _traced_step()
    iw, ib = [next(i for i, p in enumerate(step.wrt) if p is q) for q in (w, b)]
    w_data, b_data = w.data, b.data  # a leaf's .data is its array itself
    for k in range(steps):
        _, grads = step(*batches[k % len(batches)])
        gw = grads[iw]
        gw *= 0.1
        w_data -= gw
        b_data -= 0.1 * grads[ib]


@cache
def _traced_step() -> tuple[Any, Tensor, Tensor, list[tuple[Tensor, Tensor]]]:
    """W2's loss traced on its first minibatch, and its minibatches as Tensors."""
    w = Tensor(np.zeros(784), requires_grad=True)
    b = Tensor(0.0, requires_grad=True)
    batches = [(Tensor(X), Tensor(y)) for X, y in _batches(4992 // 64)]

    def loss_of(X: Tensor, y: Tensor) -> Tensor:
        return binary_cross_entropy_with_logits(X @ w + b, y)

    return trace(loss_of, *batches[0]), w, b, batches


def minibatches_by_hand(steps: int = 300, engine: str = "numpy") -> None:
    """W2's steps without glassgrad, on copies of the same minibatches (as ``Tensor``
    makes): hand-written NumPy, or the least eager engine (``profiles.tape_step``)."""
    import logistic_adapters  # here, not above: ``import`` counts glassgrad's import alone
    import profiles

    adapter = logistic_adapters.NumpyByHand(np.zeros((64, 784)), np.zeros(64), np.zeros(784), np.zeros(()), 0.1, 64)
    tw, tb = profiles.TapeNode(np.zeros(784)), profiles.TapeNode(np.zeros(()))
    for X, y in _batches(steps):
        if engine == "numpy":
            adapter.sgd_step(X.copy(), y.copy())
        else:
            profiles.tape_step(X.copy(), y.copy(), tw, tb, 0.1)


def _batches(steps: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    features, targets = _data()
    for k in range(steps):
        i = (k * 64) % 4992
        yield features[i : i + 64], targets[i : i + 64]


@cache
def _data() -> tuple[np.ndarray, np.ndarray]:
    """W2's 5,000 rows, drawn once per process: drawing them takes about 270 M
    instructions, more than 300 steps of any contender, so a steady-state count
    (``w2 3`` − ``w2 1``) would otherwise be mostly the random numbers."""
    rng = np.random.default_rng(0)
    return rng.standard_normal((5000, 784)), (rng.random(5000) < 0.1).astype(np.float64)


WORKLOADS: dict[str, Callable[[], None]] = {
    "w4": chain,
    "w3": mlp_step,
    "w2": minibatches,
    # W2's step by phase, and the same steps without glassgrad
    "w2-loss": lambda: minibatches(upto="loss"),
    "w2-backward": lambda: minibatches(upto="backward"),
    "w2-traced": minibatches_traced,
    "w2-numpy": minibatches_by_hand,
    "w2-tape": lambda: minibatches_by_hand(engine="tape"),
    "import": lambda: None,
}

if __name__ == "__main__":
    for _ in range(int(sys.argv[2]) if len(sys.argv) > 2 else 1):
        WORKLOADS[sys.argv[1]]()
