"""The one-dimensional picture: gradient descent on f(x) = x² with the Scalar engine.

f'(x) = 2x, so a step with learning rate η maps x to x − 2ηx = (1 − 2η)·x: for
0 < η < 1 the iterates shrink towards the minimum at 0 (monotonically when η < ½,
zig-zagging across it when ½ < η < 1), η = ½ lands on 0 in one step, and η > 1
makes |x| grow. The engine finds f'(x) by back-propagation; nothing here
differentiates by hand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from glassgrad import Scalar
from glassgrad.models.stopping import Criterion, State, StopReason
from glassgrad.optim import SGD

DOMAIN = (-10.0, 10.0)


@dataclass(frozen=True)
class Step:
    iteration: int
    x: float
    f: float
    grad: float


def descend(x0: float, lr: float, stop: Criterion) -> tuple[list[Step], StopReason]:
    """Minimize x² from ``x0`` with SGD(lr) until ``stop`` fires on the current iterate,
    or until f(x) or f'(x) overflows (a learning rate above 1 makes |x| grow without bound).

    The criterion sees ``train_loss = f(x)`` and ``grad_norm = |f'(x)|`` before each step.
    """
    x = Scalar(x0, name="x")
    opt = SGD([x], lr)
    stop.reset()
    steps: list[Step] = []
    while True:
        opt.zero_grad()
        f = x * x
        f.backward()
        if not (math.isfinite(f.data) and math.isfinite(x.grad)):
            return steps, StopReason(
                "Diverged",
                opt.steps,
                f.data,
                f"x² overflowed (x = {x.data:.4g}): |1 − 2·lr| > 1 makes |x| grow; lower the learning rate",
            )
        steps.append(Step(opt.steps, x.data, f.data, x.grad))
        reason = stop.check(State(opt.steps, epoch=opt.steps, train_loss=f.data, grad_norm=abs(x.grad)))
        if reason is not None:
            return steps, reason
        opt.step()
