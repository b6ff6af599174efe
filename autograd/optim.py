"""Optimizers (SGD, Adam, AdamW) and learning-rate schedules.

Every optimizer follows PyTorch's update, written out below for a parameter θ with
gradient g at its step t = 1, 2, … and learning rate η (from the schedule).

SGD (``torch.optim.SGD``), momentum μ, dampening τ, weight decay λ:

    g ← g + λ·θ                                (weight decay, an L2 penalty λ/2·‖θ‖²)
    b ← g                  at the first step
    b ← μ·b + (1 − τ)·g    afterwards           (the momentum buffer)
    g ← g + μ·b  (Nesterov)   or   g ← b        (when μ > 0)
    θ ← θ − η·g

Adam (``torch.optim.Adam``, Kingma & Ba 2015), betas (β₁, β₂), eps ε, weight decay λ:

    g ← g + λ·θ                                (Adam: the decay is an L2 penalty)
    θ ← θ − η·λ·θ                              (AdamW: decoupled from the gradient)
    m ← β₁·m + (1 − β₁)·g                      (first moment, from m = 0)
    v ← β₂·v + (1 − β₂)·g²                     (second moment, from v = 0)
    θ ← θ − η/(1 − β₁ᵗ) · m / (√v/√(1 − β₂ᵗ) + ε)

A schedule gives η from the number of steps the optimizer has taken: PyTorch's
StepLR, ExponentialLR, LambdaLR of 1/(1 + k·t) and CosineAnnealingLR, stepped once
per optimizer step.

Where glassgrad differs from PyTorch, on purpose: :class:`Cosine` stays at 0 from
``total_steps`` on (half a cosine over a run of T steps), where CosineAnnealingLR
rises again after T_max (its period is 2·T_max); a parameter listed twice is
refused, in one group as in two (PyTorch refuses two groups; in one group it warns
and updates the parameter twice). Hyperparameters are kept as Python floats, NumPy
numbers included, so that a float32 parameter's buffers and update stay float32.
PyTorch's amsgrad, maximize, foreach and fused options are not offered.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, cast

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
        self.step_size = _count("StepDecay", "step_size", step_size)
        _check_positive("gamma", gamma)
        self.gamma = float(gamma)

    def lr_at(self, step: int) -> float:
        return _geometric(self.lr, self.gamma, step // self.step_size)


class Exponential(Schedule):
    """η_t = η₀ · γ^t"""

    def __init__(self, lr: float, gamma: float) -> None:
        super().__init__(lr)
        _check_positive("gamma", gamma)
        self.gamma = float(gamma)

    def lr_at(self, step: int) -> float:
        return _geometric(self.lr, self.gamma, step)


def _geometric(lr: float, gamma: float, k: int) -> float:
    """η₀·γᵏ; inf where it passes the largest float, as PyTorch's rate does (Python's
    float power raises OverflowError there)."""
    try:
        return lr * gamma**k
    except OverflowError:
        return math.inf


class InverseTime(Schedule):
    """η_t = η₀ / (1 + k·t)  (the classic 1/t decay of stochastic approximation)"""

    def __init__(self, lr: float, decay: float) -> None:
        super().__init__(lr)
        if not (math.isfinite(decay) and decay >= 0):
            raise ValueError(f"InverseTime: decay must be ≥ 0, got {decay!r}")
        self.decay = float(decay)

    def lr_at(self, step: int) -> float:
        return self.lr / (1.0 + self.decay * step)


class Cosine(Schedule):
    """η_t = η₀ · (1 + cos(π·t/T)) / 2 for t < T, then 0: from η₀ down to nothing along
    half a cosine over a run of T steps (Loshchilov & Hutter's SGDR without restarts)."""

    def __init__(self, lr: float, total_steps: int) -> None:
        super().__init__(lr)
        self.total_steps = _count("Cosine", "total_steps", total_steps)

    def lr_at(self, step: int) -> float:
        return self.lr * 0.5 * (1.0 + math.cos(math.pi * min(step, self.total_steps) / self.total_steps))


SCHEDULES = ("constant", "step", "exponential", "inverse-time", "cosine")


def schedule_for(name: str, lr: float, total_steps: int) -> Schedule:
    """A schedule by name, scaled to a run of ``total_steps``: "constant"; "step" (×0.1
    after 75% of the steps); "exponential" (down to 1% of lr at the end);
    "inverse-time" (lr/11 at the end); "cosine" (half a cosine from lr down to 0)."""
    total = max(int(total_steps), 1)
    if name == "constant":
        return Constant(lr)
    if name == "step":
        return StepDecay(lr, step_size=max(1, (3 * total) // 4), gamma=0.1)
    if name == "exponential":
        return Exponential(lr, gamma=0.01 ** (1.0 / total))
    if name == "inverse-time":
        return InverseTime(lr, decay=10.0 / total)
    if name == "cosine":
        return Cosine(lr, total_steps=total)
    raise ValueError(f"unknown schedule {name!r}: use one of {SCHEDULES}")


Group = dict[str, Any]


class Optimizer:
    """The base of every optimizer: parameter groups, per-parameter state, ``zero_grad``,
    ``step`` and ``state_dict``.

    ``params`` is an iterable of parameters (Tensors or Scalars with
    ``requires_grad``), or of groups: dicts with ``"params"`` and any hyperparameter
    that differs from the optimizer's, e.g. ``[{"params": head, "lr": 0.01},
    {"params": body}]``. A learning rate is a number or a :class:`Schedule`; a group's
    ``"lr"`` may be set to another one between steps, as in PyTorch.
    Parameters whose ``.grad`` is None are skipped by :meth:`step`. Updates happen in
    place under ``no_grad()``, so a graph that saved a parameter before the step
    refuses to run backward afterwards. A pickled or deep-copied optimizer keeps its
    state for the copies of its parameters.
    """

    def __init__(self, params: Iterable[Node] | Iterable[Group], defaults: Group) -> None:
        self.defaults = defaults
        self.param_groups: list[Group] = []
        self.state: dict[int, dict[str, Any]] = {}  # id(parameter) -> its state
        self.steps = 0  # steps taken: the schedules' t
        given = list(params)
        if not given:
            raise ValueError(f"{self._name}: got an empty parameter list; pass model.parameters()")
        groups = cast("list[Group]", given) if isinstance(given[0], dict) else [{"params": given}]
        for group in groups:
            self.add_param_group(group)

    @property
    def _name(self) -> str:
        return type(self).__name__

    def add_param_group(self, group: Group) -> None:
        """Add a group of parameters with its own hyperparameters (the others default to
        the optimizer's)."""
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"{self._name}: a parameter group is a dict with a 'params' list, got {group!r}")
        params = list(group["params"])
        if not params:
            raise ValueError(f"{self._name}: a parameter group has no parameters")
        taken = {id(p) for g in self.param_groups for p in g["params"]}
        for p in params:
            if not (isinstance(p, Node) and p.is_leaf and p.requires_grad):
                raise TypeError(f"{self._name}: every parameter must be a leaf with requires_grad=True, got {p!r}")
            if id(p) in taken:
                raise ValueError(f"{self._name}: a parameter appears twice ({p!r}); give each one group")
            taken.add(id(p))
        full = _python_numbers({**self.defaults, **group, "params": params})
        self._check_hyperparameters(full)
        self.param_groups.append(full)

    def _check_hyperparameters(self, group: Group) -> None:
        """Refuse a group with hyperparameters this optimizer does not know, or outside
        their range."""
        unknown = sorted(set(group) - set(self.defaults) - {"params"})
        if unknown:
            raise ValueError(f"{self._name}: unknown hyperparameters {unknown}; known: {sorted(self.defaults)}")
        self._rate(group, self.steps)
        self._check_group(group)

    def _check_group(self, group: Group) -> None:
        """Refuse hyperparameters outside their range (each optimizer knows its own)."""

    def _rate(self, group: Group, step: int) -> float:
        """The learning rate of ``group`` at ``step``: its schedule's, or the number."""
        lr = group["lr"]
        if isinstance(lr, Schedule):
            rate = lr.lr_at(step)
            if not math.isfinite(rate):  # a growing schedule past the largest float, or a user's
                raise ValueError(
                    f"{self._name}: the learning rate of {lr!r} at step {step} is {rate}, not a finite number: "
                    "a schedule that grows must end before it passes the largest float (fewer steps, or a "
                    "smaller gamma)"
                )
            return rate
        if isinstance(lr, bool) or not isinstance(lr, _NUMBERS) or not (math.isfinite(lr) and lr > 0):
            raise ValueError(f"{self._name}: lr must be a finite number > 0 or a Schedule, got {lr!r}")
        return float(lr)

    @property
    def lr(self) -> float:
        """The learning rate the next step will use (in the first group)."""
        return self._rate(self.param_groups[0], self.steps)

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to None (the next backward starts afresh)."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient."""
        for group in self.param_groups:
            lr = self._rate(group, self.steps)
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if isinstance(g, Node):  # a create_graph gradient: step on its value
                    g = g.data
                self._update(p, g, self.state.setdefault(id(p), {}), group, lr)
        self.steps += 1

    def _update(self, p: Node, g: Any, state: dict[str, Any], group: Group, lr: float) -> None:  # pragma: no cover
        raise NotImplementedError

    # -- state ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state, as PyTorch lays it out: ``state`` maps a parameter's
        position (counted across the groups) to copies of its buffers, ``param_groups``
        holds each group's hyperparameters with its parameters' positions; ``steps``
        is the schedules' step count."""
        groups, state, index = [], {}, 0
        for group in self.param_groups:
            positions = list(range(index, index + len(group["params"])))
            for i, p in zip(positions, group["params"]):
                if id(p) in self.state:
                    state[i] = {k: _copy(v) for k, v in self.state[id(p)].items()}
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": positions})
            index += len(positions)
        return {"state": state, "param_groups": groups, "steps": self.steps}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned, onto parameters of the same shapes
        in the same groups; nothing changes unless everything fits: the groups'
        hyperparameters are this optimizer's and in range, each buffer has its
        parameter's shape and dtype (a counter is an integer)."""
        saved_groups = state_dict["param_groups"]
        sizes = [len(g["params"]) for g in self.param_groups]
        if [len(g["params"]) for g in saved_groups] != sizes:
            raise ValueError(
                f"{self._name}.load_state_dict: the state has groups of "
                f"{[len(g['params']) for g in saved_groups]} parameters, this optimizer {sizes}; "
                "build it over the same parameters"
            )
        groups = [
            _python_numbers({**group, **saved, "params": group["params"]})
            for group, saved in zip(self.param_groups, saved_groups)
        ]
        for group in groups:
            self._check_hyperparameters(group)
        params = self._parameters()
        restored = {}
        for i, buffers in state_dict["state"].items():
            p = params[int(i)]
            for name, value in buffers.items():
                _check_buffer(f"{self._name}.load_state_dict", f"{name!r} of parameter {i}", value, p)
            restored[id(p)] = {k: _copy(v) for k, v in buffers.items()}
        for group, checked in zip(self.param_groups, groups):
            group.update(checked)
        self.state = restored
        self.steps = int(state_dict["steps"])

    def _parameters(self) -> list[Node]:
        """Every parameter, counted across the groups as :meth:`state_dict` counts them."""
        return [p for g in self.param_groups for p in g["params"]]

    # The state is keyed by id(parameter), which names nothing in a copy or in another
    # process: a pickled or deep-copied optimizer carries it by parameter position.
    def __getstate__(self) -> dict[str, Any]:
        by_position = {i: self.state[id(p)] for i, p in enumerate(self._parameters()) if id(p) in self.state}
        return {**vars(self), "state": by_position}

    def __setstate__(self, saved: dict[str, Any]) -> None:
        vars(self).update(saved)
        params = self._parameters()
        self.state = {id(params[i]): buffers for i, buffers in saved["state"].items()}


class SGD(Optimizer):
    """``SGD(params, lr, momentum=0, nesterov=False, weight_decay=0, dampening=0)``:
    PyTorch's SGD, with the update in this module's docstring."""

    def __init__(
        self,
        params: Iterable[Node] | Iterable[Group],
        lr: float | Schedule,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        dampening: float = 0.0,
    ) -> None:
        defaults = {"lr": lr, "momentum": momentum, "nesterov": nesterov}
        super().__init__(params, {**defaults, "weight_decay": weight_decay, "dampening": dampening})

    def _check_group(self, group: Group) -> None:
        for name in ("momentum", "weight_decay", "dampening"):
            _check_nonnegative(self._name, name, group[name])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: Nesterov momentum needs momentum > 0 and dampening = 0")

    def _update(self, p: Node, g: Any, state: dict[str, Any], group: Group, lr: float) -> None:
        # float(): a number set by hand in param_groups between steps may be NumPy's
        # (see _python_numbers).
        mu, decay = float(group["momentum"]), float(group["weight_decay"])
        if decay:
            g = g + decay * p.data
        if mu:
            b = state.get("momentum_buffer")
            b = _copy(g) if b is None else mu * b + (1.0 - float(group["dampening"])) * g
            state["momentum_buffer"] = b
            g = g + mu * b if group["nesterov"] else b
        _subtract(p, lr * g)


class Adam(Optimizer):
    """``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)``:
    PyTorch's Adam (defaults and order of operations), with the update in this module's
    docstring. Each parameter counts its own steps t (those it had a gradient at) for
    the bias corrections 1 − β₁ᵗ and 1 − β₂ᵗ, which undo the moments' start at zero.
    """

    decoupled_weight_decay = False
    #: What ``weight_decay=None`` means: none for Adam, 1e-2 for AdamW (PyTorch's defaults).
    default_weight_decay = 0.0

    def __init__(
        self,
        params: Iterable[Node] | Iterable[Group],
        lr: float | Schedule = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float | None = None,
    ) -> None:
        decay = self.default_weight_decay if weight_decay is None else weight_decay
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": decay})

    def _check_group(self, group: Group) -> None:
        betas = group["betas"]
        if len(betas) != 2 or not all(isinstance(b, (int, float)) and 0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"{self._name}: betas must be two numbers in [0, 1), got {betas!r}")
        _check_nonnegative(self._name, "eps", group["eps"])
        _check_nonnegative(self._name, "weight_decay", group["weight_decay"])

    def _update(self, p: Node, g: Any, state: dict[str, Any], group: Group, lr: float) -> None:
        # float(): a number set by hand in param_groups between steps may be NumPy's
        # (see _python_numbers).
        (beta1, beta2), eps, decay = map(float, group["betas"]), float(group["eps"]), float(group["weight_decay"])
        if decay and self.decoupled_weight_decay:
            _subtract(p, lr * decay * p.data)
        elif decay:
            g = g + decay * p.data
        t = state["step"] = state.get("step", 0) + 1
        m = state["exp_avg"] = beta1 * state.get("exp_avg", 0.0) + (1.0 - beta1) * g
        v = state["exp_avg_sq"] = beta2 * state.get("exp_avg_sq", 0.0) + (1.0 - beta2) * (g * g)
        denominator = v**0.5 / math.sqrt(1.0 - beta2**t) + eps
        _subtract(p, (lr / (1.0 - beta1**t)) * (m / denominator))


class AdamW(Adam):
    """``AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2)``:
    Adam with decoupled weight decay (Loshchilov & Hutter 2019), as PyTorch's AdamW:
    θ shrinks by the factor 1 − η·λ before the Adam step, instead of λ·θ joining the
    gradient (where Adam's scaling by 1/√v would weaken it for large gradients)."""

    decoupled_weight_decay = True
    default_weight_decay = 1e-2


_NUMBERS = (int, float, np.integer, np.floating)


def _python_numbers(group: Group) -> Group:
    """``group`` with its hyperparameters' numbers as Python floats. NumPy's scalars are
    strong types beside an array (NEP 50): ``np.float64(0.9) * buffer`` would make a
    float32 parameter's buffers and update float64, where a Python number keeps them
    float32, as PyTorch does."""

    def plain(value: Any) -> Any:
        if isinstance(value, (tuple, list)):  # betas
            return tuple(plain(v) for v in value)
        return float(value) if isinstance(value, _NUMBERS) and not isinstance(value, bool) else value

    return {k: v if k == "params" else plain(v) for k, v in group.items()}


def _copy(g: Any) -> Any:
    return g.copy() if isinstance(g, np.ndarray) else g


def _check_buffer(where: str, what: str, value: Any, p: Node) -> None:
    """Refuse a buffer that is neither an integer counter nor of ``p``'s shape (and,
    for an array, dtype): it would broadcast into, or retype, the updates."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return
    dtype = np.result_type(p.data)
    if np.shape(value) != np.shape(p.data) or (isinstance(value, np.ndarray) and value.dtype != dtype):
        raise ValueError(
            f"{where}: {what} is {np.asarray(value).dtype}{list(np.shape(value))} but the parameter is "
            f"{dtype}{list(np.shape(p.data))}"
        )


def _subtract(p: Node, delta: Any) -> None:
    """θ ← θ − δ in place (arrays) or by replacing the float (Scalars); both bump the
    version counter."""
    with no_grad():
        if isinstance(p.data, np.ndarray):
            p -= delta
        else:
            p.data = p.data - delta


def _check_nonnegative(optimizer: str, name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{optimizer}: {name} must be a finite number ≥ 0, got {value!r}")


def _count(schedule: str, name: str, value: int) -> int:
    """``value`` as an int ≥ 1 (numpy integers too), else a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{schedule}: {name} must be an integer ≥ 1, got {value!r}")
    return int(value)


def _check_positive(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, _NUMBERS) or not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
