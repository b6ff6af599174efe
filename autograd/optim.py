"""Stochastic gradient descent and learning-rate schedules.

SGD follows PyTorch's ``torch.optim.SGD`` update, step t for a parameter θ with
gradient g, momentum μ, dampening τ, weight decay λ and learning rate η_t:

    g ← g + λ·θ                                (weight decay, an L2 penalty λ/2·‖θ‖²)
    b ← g                  at the first step
    b ← μ·b + (1 − τ)·g    afterwards           (the momentum buffer)
    g ← g + μ·b  (Nesterov)   or   g ← b        (when μ > 0)
    θ ← θ − η_t·g

A schedule gives η_t from the number of steps t already taken.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .graph import Node, no_grad


class Schedule:
    """A learning rate as a function of the step count t = 0, 1, 2, …"""

    def __init__(self, lr: float) -> None:
        _check_positive("lr", lr)
        self.lr = float(lr)

    def lr_at(self, step: int) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class Constant(Schedule):
    """η_t = η₀"""

    def lr_at(self, step: int) -> float:
        return self.lr


class StepDecay(Schedule):
    """η_t = η₀ · γ^⌊t / step_size⌋  (multiply by γ every ``step_size`` steps)"""

    def __init__(self, lr: float, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(lr)
        if not (isinstance(step_size, int) and step_size >= 1):
            raise ValueError(f"StepDecay: step_size must be an integer ≥ 1, got {step_size!r}")
        _check_positive("gamma", gamma)
        self.step_size, self.gamma = step_size, float(gamma)

    def lr_at(self, step: int) -> float:
        return self.lr * self.gamma ** (step // self.step_size)


class Exponential(Schedule):
    """η_t = η₀ · γ^t"""

    def __init__(self, lr: float, gamma: float) -> None:
        super().__init__(lr)
        _check_positive("gamma", gamma)
        self.gamma = float(gamma)

    def lr_at(self, step: int) -> float:
        return self.lr * self.gamma**step


class InverseTime(Schedule):
    """η_t = η₀ / (1 + k·t)  (the classic 1/t decay of stochastic approximation)"""

    def __init__(self, lr: float, decay: float) -> None:
        super().__init__(lr)
        if not (math.isfinite(decay) and decay >= 0):
            raise ValueError(f"InverseTime: decay must be ≥ 0, got {decay!r}")
        self.decay = float(decay)

    def lr_at(self, step: int) -> float:
        return self.lr / (1.0 + self.decay * step)


SCHEDULES = ("constant", "step", "exponential", "inverse-time")


def schedule_for(name: str, lr: float, total_steps: int) -> Schedule:
    """A schedule by name, scaled to a run of ``total_steps``: "constant"; "step" (×0.1
    after 75% of the steps); "exponential" (down to 1% of lr at the end);
    "inverse-time" (lr/11 at the end)."""
    total = max(int(total_steps), 1)
    if name == "constant":
        return Constant(lr)
    if name == "step":
        return StepDecay(lr, step_size=max(1, (3 * total) // 4), gamma=0.1)
    if name == "exponential":
        return Exponential(lr, gamma=0.01 ** (1.0 / total))
    if name == "inverse-time":
        return InverseTime(lr, decay=10.0 / total)
    raise ValueError(f"unknown schedule {name!r}: use one of {SCHEDULES}")


class SGD:
    """``SGD(params, lr, momentum=0, nesterov=False, weight_decay=0, dampening=0)``.

    ``lr`` is a number or a :class:`Schedule`. ``params`` are Tensors (or Scalars) with
    ``requires_grad``; those whose ``.grad`` is None are skipped by :meth:`step`.
    Updates happen in place under ``no_grad()``, so a graph that saved a parameter
    before the step refuses to run backward afterwards.
    """

    def __init__(
        self,
        params: Iterable[Node],
        lr: float | Schedule,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        dampening: float = 0.0,
    ) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError("SGD: got an empty parameter list; pass model.parameters()")
        for p in self.params:
            if not (isinstance(p, Node) and p.is_leaf and p.requires_grad):
                raise TypeError(f"SGD: every parameter must be a leaf with requires_grad=True, got {p!r}")
        self.schedule = lr if isinstance(lr, Schedule) else Constant(lr)
        for name, value in (("momentum", momentum), ("weight_decay", weight_decay), ("dampening", dampening)):
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"SGD: {name} must be a finite number ≥ 0, got {value!r}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum needs momentum > 0 and dampening = 0")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)
        self.weight_decay, self.dampening = float(weight_decay), float(dampening)
        self.steps = 0  # steps taken: the schedule's t
        self._buffers: dict[int, Any] = {}  # id(param) -> momentum buffer b

    @property
    def lr(self) -> float:
        """The learning rate the next step will use."""
        return self.schedule.lr_at(self.steps)

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to None (the next backward starts afresh)."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Move every parameter that has a gradient one step downhill."""
        lr, mu = self.lr, self.momentum
        for p in self.params:
            g = p.grad
            if g is None:
                continue
            if isinstance(g, Node):  # a create_graph gradient: step on its value
                g = g.data
            if self.weight_decay:
                g = g + self.weight_decay * p.data
            if mu:
                b = self._buffers.get(id(p))
                b = _copy(g) if b is None else mu * b + (1.0 - self.dampening) * g
                self._buffers[id(p)] = b
                g = g + mu * b if self.nesterov else b
            _subtract(p, lr * g)
        self.steps += 1


def _copy(g: Any) -> Any:
    return g.copy() if isinstance(g, np.ndarray) else g


def _subtract(p: Node, delta: Any) -> None:
    """θ ← θ − δ in place (arrays) or by replacing the float (Scalars); both bump the
    version counter."""
    with no_grad():
        if isinstance(p.data, np.ndarray):
            p -= delta
        else:
            p.data = p.data - delta


def _check_positive(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
