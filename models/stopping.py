"""Stopping criteria: when should gradient descent stop?

A criterion looks at the :class:`State` of training after each step and answers with
None (go on) or a :class:`StopReason` that says which criterion fired, at which
iteration and with what value. Criteria combine: ``a | b`` stops when either fires
(:class:`AnyOf`), ``a & b`` when both fire at the same check (:class:`AllOf`).

Losses (``train_loss``, ``val_loss``) are reported at the end of each epoch (in
full-batch descent every step is an epoch); criteria on a loss ignore the states in
between. :class:`Patience` also keeps the parameters of the best epoch, so early
stopping can restore them.

>>> stop = MaxIterations(100) | TargetLoss(1e-6, on="train")
>>> stop.check(State(iteration=3, train_loss=1e-7))
StopReason(criterion='TargetLoss', iteration=3, value=1e-07, message='train loss 1e-07 ≤ target 1e-06')
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

LOSSES = ("train", "val")


@dataclass
class State:
    """What a criterion sees after an optimizer step.

    ``iteration``: steps taken so far; ``epoch``: epochs completed; ``train_loss`` and
    ``val_loss``: the epoch's mean training loss and the validation loss, given at the
    end of an epoch and None in between; ``grad_norm``: ‖∇L‖₂ of the step's (batch)
    gradient; ``model``: anything with ``state_dict()`` (to remember the best parameters).
    """

    iteration: int
    epoch: int = 0
    train_loss: float | None = None
    val_loss: float | None = None
    grad_norm: float | None = None
    model: Any = None

    def loss(self, on: str) -> float | None:
        return self.train_loss if on == "train" else self.val_loss


@dataclass(frozen=True)
class StopReason:
    """Why training stopped: the criterion, the iteration, the value it judged, in words."""

    criterion: str
    iteration: int
    value: float
    message: str

    def __str__(self) -> str:
        return f"{self.criterion} at iteration {self.iteration}: {self.message}"


class Criterion:
    """Base class: ``check(state)`` returns None or a StopReason; ``reset()`` starts over."""

    def check(self, state: State) -> StopReason | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def reset(self) -> None:
        """Forget what was seen (called when training starts)."""

    def __iter__(self) -> Iterator[Criterion]:
        """This criterion and every criterion inside it."""
        yield self

    def __or__(self, other: Criterion) -> AnyOf:
        return AnyOf(self, other)

    def __and__(self, other: Criterion) -> AllOf:
        return AllOf(self, other)

    def _stop(self, state: State, value: float, message: str) -> StopReason:
        return StopReason(type(self).__name__, state.iteration, float(value), message)


class MaxIterations(Criterion):
    """Stop after ``n`` optimizer steps."""

    def __init__(self, n: int) -> None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"MaxIterations: n must be an integer ≥ 1, got {n!r}")
        self.n = n

    def check(self, state: State) -> StopReason | None:
        if state.iteration >= self.n:
            return self._stop(state, state.iteration, f"reached the maximum of {self.n} iterations")
        return None


class TimeBudget(Criterion):
    """Stop once ``seconds`` of wall time have passed since ``reset()`` (or creation).

    ``clock`` returns seconds (default ``time.perf_counter``); tests inject a fake one.
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.perf_counter) -> None:
        if not (isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"TimeBudget: seconds must be a finite number ≥ 0, got {seconds!r}")
        self.seconds, self.clock = float(seconds), clock
        self.start = clock()

    def reset(self) -> None:
        self.start = self.clock()

    def check(self, state: State) -> StopReason | None:
        elapsed = self.clock() - self.start
        if elapsed >= self.seconds:
            return self._stop(state, elapsed, f"time budget of {self.seconds:g} s used ({elapsed:.2f} s)")
        return None


class TargetLoss(Criterion):
    """Stop when the loss reaches ``target`` (a known lower bound, e.g. 0 for x²)."""

    def __init__(self, target: float, on: str = "train") -> None:
        _check_on(on)
        if not math.isfinite(target):
            raise ValueError(f"TargetLoss: target must be a finite number, got {target!r}")
        self.target, self.on = float(target), on

    def check(self, state: State) -> StopReason | None:
        loss = state.loss(self.on)
        if loss is not None and loss <= self.target:
            return self._stop(state, loss, f"{self.on} loss {loss:.4g} ≤ target {self.target:.4g}")
        return None


class GradientNorm(Criterion):
    """Stop when ‖∇L‖₂ ≤ ``tol`` (a stationary point, up to the tolerance)."""

    def __init__(self, tol: float) -> None:
        _check_tol("GradientNorm", tol)
        self.tol = float(tol)

    def check(self, state: State) -> StopReason | None:
        g = state.grad_norm
        if g is not None and g <= self.tol:
            return self._stop(state, g, f"gradient norm {g:.3g} ≤ {self.tol:.3g}")
        return None


class RelativeChange(Criterion):
    """Stop when |Lₜ − Lₜ₋₁| ≤ ``tol``·max(|Lₜ₋₁|, tiny) between consecutive epochs."""

    def __init__(self, tol: float, on: str = "train") -> None:
        _check_on(on)
        _check_tol("RelativeChange", tol)
        self.tol, self.on = float(tol), on
        self.previous: float | None = None

    def reset(self) -> None:
        self.previous = None

    def check(self, state: State) -> StopReason | None:
        loss = state.loss(self.on)
        if loss is None:
            return None
        previous, self.previous = self.previous, loss
        if previous is None:
            return None
        change = abs(loss - previous) / max(abs(previous), 1e-300)
        if change <= self.tol:
            return self._stop(state, change, f"{self.on} loss changed by {change:.3g} (relative) ≤ {self.tol:.3g}")
        return None


class BestState:
    """The lowest loss seen so far (improving by more than ``min_delta``), when, and a copy
    of the parameters at that moment (``state.model.state_dict()``)."""

    def __init__(self, on: str = "val", min_delta: float = 0.0) -> None:
        _check_on(on)
        if not (math.isfinite(min_delta) and min_delta >= 0):
            raise ValueError(f"min_delta must be a finite number ≥ 0, got {min_delta!r}")
        self.on, self.min_delta = on, float(min_delta)
        self.reset()

    def reset(self) -> None:
        self.loss = math.inf
        self.iteration: int | None = None
        self.params: dict[str, Any] | None = None

    def update(self, state: State) -> bool | None:
        """True if ``state`` improves on the best, False if not, None if it has no loss."""
        loss = state.loss(self.on)
        if loss is None:
            return None
        if not loss < self.loss - self.min_delta:
            return False
        self.loss, self.iteration = loss, state.iteration
        if state.model is not None:
            self.params = state.model.state_dict()
        return True

    def restore(self, model: Any) -> bool:
        """Load the best parameters into ``model``; False if none were kept."""
        if self.params is None:
            return False
        model.load_state_dict(self.params)
        return True


class Patience(Criterion):
    """Early stopping: stop after ``patience`` epochs in a row without the loss improving
    by more than ``min_delta``. ``self.best`` keeps the best parameters."""

    def __init__(self, patience: int, min_delta: float = 0.0, on: str = "val") -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"Patience: patience must be an integer ≥ 1, got {patience!r}")
        self.patience = patience
        self.best = BestState(on, min_delta)
        self.waited = 0

    def reset(self) -> None:
        self.best.reset()
        self.waited = 0

    def check(self, state: State) -> StopReason | None:
        loss = state.loss(self.best.on)
        if loss is None:
            return None
        self.waited = 0 if self.best.update(state) else self.waited + 1
        if self.waited >= self.patience:
            return self._stop(
                state,
                loss,
                f"{self.best.on} loss did not improve by more than {self.best.min_delta:g} for "
                f"{self.waited} epochs (best {self.best.loss:.4g} at iteration {self.best.iteration})",
            )
        return None


class AnyOf(Criterion):
    """Stop when any of the criteria fires. Every criterion sees every state (so Patience
    keeps tracking the best parameters); the first reason in order is returned."""

    criteria: tuple[Criterion, ...]

    def __init__(self, *criteria: Criterion) -> None:
        if not criteria:
            raise ValueError(f"{type(self).__name__} needs at least one criterion")
        flat: list[Criterion] = []
        for c in criteria:
            if not isinstance(c, Criterion):
                raise TypeError(f"{type(self).__name__}: expected stopping criteria, got {c!r}")
            flat.extend(c.criteria if type(c) is type(self) else [c])  # (a | b) | c == AnyOf(a, b, c)
        self.criteria = tuple(flat)

    def __iter__(self) -> Iterator[Criterion]:
        yield self
        for c in self.criteria:
            yield from c

    def reset(self) -> None:
        for c in self.criteria:
            c.reset()

    def check(self, state: State) -> StopReason | None:
        reasons = [c.check(state) for c in self.criteria]
        return next((r for r in reasons if r is not None), None)


class AllOf(AnyOf):
    """Stop when all the criteria fire at the same check."""

    def check(self, state: State) -> StopReason | None:
        reasons = [r for r in (c.check(state) for c in self.criteria) if r is not None]
        if len(reasons) < len(self.criteria):
            return None
        return StopReason(
            " & ".join(r.criterion for r in reasons),
            state.iteration,
            reasons[0].value,
            "; ".join(r.message for r in reasons),
        )


def _check_on(on: str) -> None:
    if on not in LOSSES:
        raise ValueError(f"on must be one of {LOSSES}, got {on!r}")


def _check_tol(name: str, tol: float) -> None:
    if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol >= 0):
        raise ValueError(f"{name}: tol must be a finite number ≥ 0, got {tol!r}")
