"""Differential testing of the optimizers and learning-rate schedules against PyTorch:
random settings run through both libraries step by step, the learning rates, the
parameters, their gradients and the optimizers' buffers compared after every step.

    python benchmarks/torch_optim_differential.py [--seed 0] [--seconds 60]

Needs torch beside glassgrad in one interpreter. A setting draws:

- the optimizer, SGD, Adam or AdamW, and every hyperparameter glassgrad offers (SGD's
  lr, momentum, dampening, nesterov, weight_decay; Adam's and AdamW's lr, betas, eps,
  weight_decay) as Python floats or as NumPy float64 or float32 numbers (as read from
  a NumPy config; PyTorch is given their values as Python floats), one to three
  parameter groups overriding some of them; PyTorch's options glassgrad does not offer
  (amsgrad, maximize, foreach, fused, capturable) keep their defaults;
- a learning-rate schedule: a number, ``Constant``, ``StepDecay`` (StepLR),
  ``Exponential`` (ExponentialLR), ``InverseTime`` (LambdaLR of 1/(1 + k·t)),
  ``Cosine`` (CosineAnnealingLR), or one of them by name through ``schedule_for``
  (models' recipes use that); each group its own base rate; with a fixed rate, now
  and then a number set by hand as a group's ``"lr"``;
- parameters: Tensors of random shapes (0-d and empty included), float32 or float64,
  Scalars (PyTorch: 0-d float64 tensors), or slices of one array that overlap (the
  update of one parameter is seen by the next, as in PyTorch's loop);
- the gradients of each step: random arrays set as ``.grad``, or each library's own
  backward of a random loss Σ a·(θ − c)²/2 + softplus(u·θ) per parameter, where a
  step without ``zero_grad()`` lets them accumulate;
- events: a parameter without gradient at a step (None is skipped: no update, no
  state, no step count), the state saved with ``state_dict()``, pickled, and loaded into
  a fresh optimizer (PyTorch: optimizer and scheduler), or the whole optimizer with its
  parameters deep-copied.

After every step: each group's learning rate, each parameter, whether its ``.grad``
is None, its buffers (``momentum_buffer``; ``step``, ``exp_avg``, ``exp_avg_sq``) and,
before a reload, ``state_dict()`` (buffers by parameter position, the groups'
positions, the hyperparameters both libraries keep). The oracle of a float32 value
is PyTorch's float64 run of the same setting: glassgrad may differ from it by 4×
PyTorch's own float32 error plus 300 float32 ε of the value's size; a float64 value
by 300 float64 ε of its size.

Every tenth setting, a schedule alone over a long run (up to 5,000 steps): its rate
at every step against PyTorch's scheduler, within 8·t float64 ε of the base rate
(PyTorch's schedulers multiply the last rate: one rounding a step). Checked once:
``zero_grad()`` leaves None, a parameter listed twice is refused, a gradient of
another dtype keeps the buffers in the parameter's dtype.

Where glassgrad differs on purpose, the script compares with glassgrad's documented
formula and counts the cases:

- ``Cosine`` stays at 0 from ``total_steps`` on (half a cosine, no restart); PyTorch's
  CosineAnnealingLR rises again after T_max (a period of 2·T_max). PyTorch's side is
  given glassgrad's rate, 0, from there.
- A parameter listed twice, in one group or in two, is refused with a ValueError;
  PyTorch refuses it in two groups and, in one group, warns and updates it twice.
"""

from __future__ import annotations

import argparse
import copy
import math
import pickle
import re
import time
import warnings
from collections.abc import Callable
from typing import Any

import glassgrad as gg
import numpy as np
import torch
from glassgrad import optim

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
BUFFERS = ("momentum_buffer", "step", "exp_avg", "exp_avg_sq")
SCHEDULE_KINDS = ("number", "constant", "step", "exponential", "inverse-time", "cosine", "named")

Setting = dict[str, Any]


# -- drawing a setting ---------------------------------------------------------------


def _log_uniform(r: np.random.Generator, low: float, high: float) -> float:
    return float(math.exp(r.uniform(math.log(low), math.log(high))))


def random_hyperparameters(kind: str, r: np.random.Generator) -> dict[str, Any]:
    """Every hyperparameter glassgrad's ``kind`` offers, except lr, at random."""
    decay = 0.0 if r.random() < 0.3 else _log_uniform(r, 1e-4, 1.0)
    if kind == "sgd":
        momentum = 0.0 if r.random() < 0.3 else float(r.choice([0.9, r.uniform(0.0, 0.99)]))
        nesterov = bool(momentum > 0 and r.random() < 0.4)
        dampening = 0.0 if nesterov or r.random() < 0.5 else float(r.uniform(0.0, 1.0))
        return {"momentum": momentum, "dampening": dampening, "nesterov": nesterov, "weight_decay": decay}
    beta1 = float(r.choice([0.9, 0.0, r.uniform(0.0, 0.99)]))
    beta2 = float(r.choice([0.999, r.uniform(0.5, 0.9999)]))
    eps = float(r.choice([1e-8, _log_uniform(r, 1e-12, 1e-2)]))
    return {"betas": (beta1, beta2), "eps": eps, "weight_decay": decay}


def random_schedule(r: np.random.Generator, steps: int) -> tuple[str, dict[str, Any]]:
    kind = str(r.choice(SCHEDULE_KINDS))
    if kind == "step":
        return kind, {"step_size": int(r.integers(1, 5)), "gamma": float(r.uniform(0.05, 1.5))}
    if kind == "exponential":
        return kind, {"gamma": float(r.uniform(0.5, 1.1))}
    if kind == "inverse-time":
        return kind, {"decay": float(r.choice([0.0, _log_uniform(r, 1e-3, 2.0)]))}
    if kind == "cosine":  # shorter and longer than the run: the deliberate difference after T
        return kind, {"total_steps": int(r.integers(1, steps + 4))}
    if kind == "named":
        return kind, {"name": str(r.choice(optim.SCHEDULES)), "total_steps": int(r.integers(1, steps + 4))}
    return kind, {}


def random_shape(r: np.random.Generator) -> tuple[int, ...]:
    ndim = int(r.choice([0, 1, 1, 2, 2, 3]))
    return tuple(int(r.choice([0, 1, 2, 3, 5])) if r.random() < 0.1 else int(r.integers(1, 6)) for _ in range(ndim))


def random_setting(r: np.random.Generator) -> Setting:
    kind = str(r.choice(["sgd", "adam", "adamw"]))
    steps = int(r.integers(1, 13))
    aliases = bool(r.random() < 0.15)
    n_groups = int(r.choice([1, 1, 2, 3]))
    groups = []
    for _ in range(n_groups):
        overrides = random_hyperparameters(kind, r) if r.random() < 0.4 else {}
        params = []
        for _ in range(int(r.integers(1, 4))):
            dtype = str(r.choice(["float32", "float64"]))
            if aliases:
                params.append(
                    {"kind": "slice", "dtype": dtype, "start": int(r.integers(0, 4)), "size": int(r.integers(1, 5))}
                )
            elif r.random() < 0.15:
                params.append({"kind": "scalar", "dtype": "float64"})
            else:
                params.append({"kind": "tensor", "dtype": dtype, "shape": random_shape(r)})
        groups.append({"lr": _log_uniform(r, 1e-3, 1.0), "overrides": overrides, "params": params})
    n_params = sum(len(g["params"]) for g in groups)
    schedule = random_schedule(r, steps)
    events = []
    for _ in range(steps):
        missing = [i for i in range(n_params) if r.random() < 0.15]
        new_lr = None  # a number set as a group's lr by hand, where no scheduler sets it
        if schedule[0] in ("number", "constant") and r.random() < 0.15:
            new_lr = (int(r.integers(n_groups)), "lr", _log_uniform(r, 1e-3, 1.0))
        new_hyper = None  # momentum or betas set by hand, as PyTorch's OneCycleLR cycles them
        if r.random() < 0.1:
            value = float(r.uniform(0.5, 0.99)) if kind == "sgd" else (float(r.uniform(0.5, 0.95)), 0.999)
            new_hyper = (int(r.integers(n_groups)), "momentum" if kind == "sgd" else "betas", value)
        events.append(
            {
                "zero_grad": bool(r.random() < 0.8),
                "missing": missing,
                "reload": str(r.choice(["state_dict", "deepcopy"])) if r.random() < 0.12 else None,
                "new_lr": new_lr,
                "new_hyper": new_hyper,
            }
        )
    return {
        "optimizer": kind,
        "defaults": random_hyperparameters(kind, r),
        "numbers": str(r.choice(["python", "python", "float64", "float32"])),
        "groups": groups,
        "schedule": schedule,
        "gradients": str(r.choice(["direct", "autograd"])),
        "steps": steps,
        "events": events,
        "seed": int(r.integers(2**31)),
    }


def number(setting: Setting, value: Any, python: bool) -> Any:
    """``value`` as the setting's kind of number: a Python float, or a NumPy float64 or
    float32 scalar, as read from a NumPy config (``python``: that number's value as a
    Python float, for PyTorch's side); a bool (nesterov) stays a bool, a tuple (betas)
    is a tuple of numbers."""
    if isinstance(value, tuple):
        return tuple(number(setting, v, python) for v in value)
    if isinstance(value, bool) or setting["numbers"] == "python":
        return value
    x = np.dtype(setting["numbers"]).type(value)
    return float(x) if python else x


def param_groups(setting: Setting, params: list[Any], lr_of: Callable[[Any], Any], python: bool) -> list[Any]:
    """The setting's groups over ``params``: each with its learning rate, ``lr_of`` its
    base rate, and its hyperparameters (see :func:`number`)."""
    groups, k = [], 0
    for g in setting["groups"]:
        n = len(g["params"])
        hyper = {name: number(setting, v, python) for name, v in g["overrides"].items()}
        groups.append({"params": params[k : k + n], "lr": lr_of(number(setting, g["lr"], python)), **hyper})
        k += n
    return groups


def defaults(setting: Setting, python: bool) -> dict[str, Any]:
    return {name: number(setting, v, python) for name, v in setting["defaults"].items()}


# -- the arrays of a setting, drawn once and given to both libraries ------------------


def initial_arrays(setting: Setting, dtype: str | None = None) -> list[Any]:
    """Each parameter's starting value as a NumPy array (or a float for a Scalar);
    slices of one base array per dtype when the setting aliases. ``dtype``: every
    parameter's, instead of the setting's (a Scalar's float, a 0-d array then)."""
    r = np.random.default_rng(setting["seed"])
    specs = [p for g in setting["groups"] for p in g["params"]]
    bases = {dt: r.uniform(-2, 2, 10).astype(dt) for dt in ("float32", "float64")}
    out: list[Any] = []
    if dtype is not None:
        bases = {k: b.astype(dtype) for k, b in bases.items()}
    for spec in specs:
        if spec["kind"] == "scalar":
            x = float(r.uniform(-2, 2))
            out.append(x if dtype is None else np.array(x, dtype))
        elif spec["kind"] == "slice":
            out.append(bases[spec["dtype"]][spec["start"] : spec["start"] + spec["size"]])
        else:
            out.append(r.uniform(-2, 2, spec["shape"]).astype(spec["dtype"]).astype(dtype or spec["dtype"]))
    return out


def loss_constants(setting: Setting, step: int, shapes: list[tuple[int, ...]]) -> list[tuple[np.ndarray, ...]]:
    """Per parameter (a, c, u) of the loss Σ a·(θ − c)²/2 + softplus(u·θ) at ``step``,
    or the gradient itself (g,) when the setting sets gradients directly; float64."""
    r = np.random.default_rng([setting["seed"], step])
    if setting["gradients"] == "direct":
        return [(r.normal(0, 1, s) * 10.0 ** r.uniform(-3, 1),) for s in shapes]
    return [(r.uniform(0.1, 2.0, s), r.uniform(-2, 2, s), r.uniform(-3, 3, s)) for s in shapes]


# -- the two libraries, one surface --------------------------------------------------


class Glass:
    """glassgrad's side of a setting."""

    def __init__(self, setting: Setting) -> None:
        self.setting = setting
        arrays = initial_arrays(setting)
        self.params: list[Any] = []
        for spec, a in zip((p for g in setting["groups"] for p in g["params"]), arrays):
            if spec["kind"] == "scalar":
                self.params.append(gg.Scalar(a))
            else:  # as_tensor keeps the memory of a slice: the parameters alias
                self.params.append(gg.as_tensor(a).requires_grad_())
        self.opt = self.build(self.params)

    def build(self, params: list[Any]) -> optim.Optimizer:
        s = self.setting
        kind = {"sgd": optim.SGD, "adam": optim.Adam, "adamw": optim.AdamW}[s["optimizer"]]
        groups = param_groups(s, params, lambda lr: glass_schedule(s["schedule"], lr), python=False)
        return kind(groups, lr=groups[0]["lr"], **defaults(s, python=False))

    def set(self, group: int, name: str, value: Any) -> None:
        self.opt.param_groups[group][name] = number(self.setting, value, python=False)

    def lrs(self) -> list[float]:
        t = self.opt.steps
        return [g["lr"].lr_at(t) if isinstance(g["lr"], optim.Schedule) else g["lr"] for g in self.opt.param_groups]

    def gradients(self, step: int, present: list[bool], zero: bool) -> None:
        if zero:
            self.opt.zero_grad()
        shapes = [np.shape(p.data) for p in self.params]
        for p, on, consts in zip(self.params, present, loss_constants(self.setting, step, shapes)):
            dtype = np.result_type(p.data)
            if self.setting["gradients"] == "direct":
                p.grad = consts[0].astype(dtype) if on else None
                continue
            if not on:
                continue
            a, c, u = (x.astype(dtype) if isinstance(p, gg.Tensor) else float(x) for x in consts)
            if isinstance(p, gg.Tensor):
                a, c, u = gg.Tensor(a), gg.Tensor(c), gg.Tensor(u)
            loss = a * (p - c) ** 2 * 0.5 + gg.softplus(u * p)
            (loss.sum() if isinstance(loss, gg.Tensor) else loss).backward()

    def step(self) -> None:
        self.opt.step()

    def reload(self, how: str) -> None:
        if how == "deepcopy":
            self.params, self.opt = copy.deepcopy((self.params, self.opt))
            return
        saved = pickle.loads(pickle.dumps(self.opt.state_dict()))
        self.opt = self.build(self.params)
        self.opt.load_state_dict(saved)

    def values(self) -> list[Any]:
        return [np.array(p.data) for p in self.params]

    def grads_none(self) -> list[bool]:
        return [p.grad is None for p in self.params]

    def buffers(self) -> list[dict[str, Any]]:
        out = []
        for p in self.params:
            state = self.opt.state.get(id(p), {})
            out.append({k: v if k == "step" else np.array(v) for k, v in state.items()})
        return out

    def state_dict(self) -> dict[str, Any]:
        return self.opt.state_dict()


def glass_schedule(schedule: tuple[str, dict[str, Any]], lr: Any) -> Any:
    kind, kw = schedule
    return {
        "number": lambda: lr,
        "constant": lambda: optim.Constant(lr),
        "step": lambda: optim.StepDecay(lr, **kw),
        "exponential": lambda: optim.Exponential(lr, **kw),
        "inverse-time": lambda: optim.InverseTime(lr, **kw),
        "cosine": lambda: optim.Cosine(lr, **kw),
        "named": lambda: optim.schedule_for(kw["name"], lr, kw["total_steps"]),
    }[kind]()


def torch_scheduler(schedule: tuple[str, dict[str, Any]], opt: torch.optim.Optimizer) -> Any:
    """PyTorch's scheduler for glassgrad's schedule (None for a fixed rate)."""
    from torch.optim import lr_scheduler as S

    kind, kw = schedule
    if kind == "named":
        total = max(kw["total_steps"], 1)
        kind, kw = {
            "constant": ("constant", {}),
            "step": ("step", {"step_size": max(1, (3 * total) // 4), "gamma": 0.1}),
            "exponential": ("exponential", {"gamma": 0.01 ** (1.0 / total)}),
            "inverse-time": ("inverse-time", {"decay": 10.0 / total}),
            "cosine": ("cosine", {"total_steps": total}),
        }[kw["name"]]
    if kind in ("number", "constant"):
        return None
    if kind == "step":
        return S.StepLR(opt, step_size=kw["step_size"], gamma=kw["gamma"])
    if kind == "exponential":
        return S.ExponentialLR(opt, gamma=kw["gamma"])
    if kind == "inverse-time":
        k = kw["decay"]
        return S.LambdaLR(opt, lambda t: 1.0 / (1.0 + k * t))
    return S.CosineAnnealingLR(opt, T_max=kw["total_steps"])


def cosine_total(schedule: tuple[str, dict[str, Any]]) -> int | None:
    """T of a cosine schedule (None for the others)."""
    kind, kw = schedule
    if kind == "cosine" or (kind == "named" and kw["name"] == "cosine"):
        return max(int(kw["total_steps"]), 1)
    return None


class Torch:
    """PyTorch's side of a setting (``dtype``: every parameter's, instead of the
    setting's)."""

    def __init__(self, setting: Setting, dtype: str | None = None) -> None:
        self.setting = setting
        self.params = [
            torch.tensor(a, dtype=torch.float64) if isinstance(a, float) else torch.from_numpy(a)
            for a in initial_arrays(setting, dtype)
        ]
        for p in self.params:
            p.requires_grad_(True)
        self.opt, self.sched = self.build(self.params)
        self.steps = 0

    def build(self, params: list[Any]) -> tuple[torch.optim.Optimizer, Any]:
        s = self.setting
        kind = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[s["optimizer"]]
        groups = param_groups(s, params, lambda lr: lr, python=True)
        opt = kind(groups, lr=groups[0]["lr"], foreach=False, **defaults(s, python=True))
        return opt, torch_scheduler(s["schedule"], opt)

    def set(self, group: int, name: str, value: Any) -> None:
        self.opt.param_groups[group][name] = number(self.setting, value, python=True)

    def lrs(self) -> list[float]:
        return [float(g["lr"]) for g in self.opt.param_groups]

    def gradients(self, step: int, present: list[bool], zero: bool) -> None:
        if zero:
            self.opt.zero_grad()
        shapes = [tuple(p.shape) for p in self.params]
        for p, on, consts in zip(self.params, present, loss_constants(self.setting, step, shapes)):
            ts = [torch.from_numpy(np.asarray(x)).to(p.dtype) for x in consts]
            if self.setting["gradients"] == "direct":
                p.grad = ts[0] if on else None
            elif on:
                a, c, u = ts
                # logaddexp(0, x), not F.softplus: that one is x itself for x > 20, and its
                # gradient 1 instead of sigmoid(x) = 1 − 2e-9 at x = 20
                (a * (p - c) ** 2 * 0.5 + torch.logaddexp(torch.zeros_like(p), u * p)).sum().backward()

    def step(self) -> None:
        with warnings.catch_warnings():  # CosineAnnealingLR's closed form past T_max
            warnings.simplefilter("ignore")
            self.opt.step()
            if self.sched is not None:
                self.sched.step()
        self.steps += 1
        total = cosine_total(self.setting["schedule"])
        if total is not None and self.steps > total:  # glassgrad's Cosine stays at 0
            for g in self.opt.param_groups:
                g["lr"] = 0.0

    def reload(self, how: str) -> None:
        if how == "deepcopy":
            self.params, self.opt, self.sched = copy.deepcopy((self.params, self.opt, self.sched))
            return
        saved = pickle.loads(pickle.dumps(self.opt.state_dict()))
        sched = None if self.sched is None else self.sched.state_dict()
        self.opt, self.sched = self.build(self.params)
        self.opt.load_state_dict(saved)
        if sched is not None:
            self.sched.load_state_dict(sched)

    def values(self) -> list[Any]:
        return [p.detach().numpy().copy() for p in self.params]

    def grads_none(self) -> list[bool]:
        return [p.grad is None for p in self.params]

    def buffers(self) -> list[dict[str, Any]]:
        out = []
        for p in self.params:
            state = self.opt.state.get(p, {})
            out.append({k: int(v) if k == "step" else v.numpy().copy() for k, v in state.items() if v is not None})
        return out

    def state_dict(self) -> dict[str, Any]:
        return self.opt.state_dict()


# -- comparing ------------------------------------------------------------------------


def differs(got: Any, same: Any, wide: Any) -> str | None:
    """Why ``got`` (glassgrad) is not PyTorch's value, or None. ``same`` is PyTorch's
    run in ``got``'s dtype, ``wide`` its float64 run."""
    got, same, wide = (np.asarray(x) for x in (got, same, wide))
    if got.shape != wide.shape:
        return f"shape {got.shape} in glassgrad, {wide.shape} in PyTorch"
    if got.dtype != same.dtype:
        return f"dtype {got.dtype} in glassgrad, {same.dtype} in PyTorch"
    if not got.size:
        return None
    eps = np.finfo(got.dtype).eps if got.dtype.kind == "f" else 0.0
    if eps == 0.0:
        return None if np.array_equal(got, same) else f"{got!r} in glassgrad, {same!r} in PyTorch"
    wide64, err = wide.astype(F64), np.abs(got.astype(F64) - wide.astype(F64))
    scale = max(float(np.abs(wide64).max()), 1.0)
    allowed = 4 * np.abs(same.astype(F64) - wide64) + 300 * eps * scale
    if np.all(err <= allowed):
        return None
    k = int(np.argmax(err - allowed))
    return f"at flat index {k}: glassgrad {got.flat[k]!r}, PyTorch {wide64.flat[k]!r} (float64 run)"


def compare_buffers(g: dict[str, Any], t: dict[str, Any], w: dict[str, Any]) -> str | None:
    mine, theirs = {k for k in g if k in BUFFERS}, set(t)
    if mine != theirs:
        return f"buffers {sorted(mine)} in glassgrad, {sorted(theirs)} in PyTorch"
    for name in sorted(mine):
        problem = differs(g[name], t[name], w[name])
        if problem:
            return f"{name} {problem}"
    return None


def compare_state_dicts(g: dict[str, Any], t: dict[str, Any], w: dict[str, Any]) -> str | None:
    """Buffers by position (an empty state is no state), the groups' positions and the
    hyperparameters both libraries keep (the learning rate is compared every step)."""
    g_state = {int(i): s for i, s in g["state"].items() if s}
    if set(g_state) != set(t["state"]):
        return f"state of parameters {sorted(g_state)} in glassgrad, {sorted(t['state'])} in PyTorch"
    for i in g_state:
        tb, wb = ({k: int(v) if k == "step" else v.numpy() for k, v in x["state"][i].items()} for x in (t, w))
        problem = compare_buffers(g_state[i], tb, wb)
        if problem:
            return f"parameter {i}: {problem}"
    for k, (gg_group, t_group) in enumerate(zip(g["param_groups"], t["param_groups"])):
        if gg_group["params"] != t_group["params"]:
            return f"group {k} holds {gg_group['params']} in glassgrad, {t_group['params']} in PyTorch"
        for name in set(gg_group) & set(t_group) - {"lr", "params"}:
            if gg_group[name] != t_group[name]:
                return f"group {k} {name} = {gg_group[name]!r} in glassgrad, {t_group[name]!r} in PyTorch"
    return None


def run_setting(setting: Setting, deliberate: dict[str, int]) -> str | None:
    """The first difference found in ``setting``, as a line, or None."""
    glass = Glass(setting)
    sides = (glass, Torch(setting), Torch(setting, "float64"))
    total = cosine_total(setting["schedule"])
    n = len(glass.params)
    for step, event in enumerate(setting["events"]):
        where = f"step {step + 1}"
        present = [i not in event["missing"] for i in range(n)]
        for change in ("new_lr", "new_hyper"):
            if event[change]:
                for side in sides:
                    side.set(*event[change])
        lrs = [side.lrs() for side in sides]
        for k, (gl, tl) in enumerate(zip(lrs[0], lrs[1])):
            if not math.isclose(gl, tl, rel_tol=1e-12, abs_tol=1e-15):
                return f"{where}: group {k} lr {gl!r} in glassgrad, {tl!r} in PyTorch"
        if total is not None and step > total:
            deliberate[COSINE_AFTER_T] += 1
        for side in sides:
            side.gradients(step, present, event["zero_grad"])
        nones = [side.grads_none() for side in sides]
        if nones[0] != nones[1]:
            return f"{where}: .grad is None at {nones[0]} in glassgrad, {nones[1]} in PyTorch"
        for side in sides:
            side.step()
        for i, values in enumerate(zip(*(side.values() for side in sides))):
            problem = differs(*values)
            if problem:
                return f"{where}: parameter {i} {problem}"
        for i, buffers in enumerate(zip(*(side.buffers() for side in sides))):
            problem = compare_buffers(*buffers)
            if problem:
                return f"{where}: parameter {i} {problem}"
        if event["reload"]:
            problem = compare_state_dicts(*(side.state_dict() for side in sides))
            if problem:
                return f"{where}: state_dict {problem}"
            for side in sides:
                side.reload(event["reload"])
    return None


# -- schedules over long runs ----------------------------------------------------------

COSINE_AFTER_T = "Cosine stays at 0 after total_steps (CosineAnnealingLR rises again)"


def random_long_schedule(r: np.random.Generator) -> tuple[tuple[str, dict[str, Any]], float, int]:
    """A schedule, its base rate and a run of up to 5,000 steps (rates that fall: a
    γ > 1 is drawn in the short settings)."""
    steps = int(_log_uniform(r, 1, 5000))
    kind, kw = random_schedule(r, steps)
    if kind in ("step", "exponential"):
        kw["gamma"] = float(r.uniform(0.05, 1.0) if kind == "step" else r.uniform(0.99, 1.0))
    if kind == "step":
        kw["step_size"] = int(_log_uniform(r, 1, steps + 1))
    if kind in ("cosine", "named"):
        kw["total_steps"] = int(_log_uniform(r, 1, steps + 100))
    return (kind, kw), _log_uniform(r, 1e-4, 10.0), steps


def run_long_schedule(
    schedule: tuple[str, dict[str, Any]], lr: float, steps: int, deliberate: dict[str, int]
) -> str | None:
    """glassgrad's rate against PyTorch's scheduler at every step t. PyTorch's schedulers
    multiply the last rate (StepLR, ExponentialLR, CosineAnnealingLR's recursion), each
    product one rounding: t·ε of the base rate is allowed, 8 times."""
    mine = glass_schedule(schedule, lr)
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    sched = torch_scheduler(schedule, opt)
    total = cosine_total(schedule)
    eps = np.finfo(F64).eps
    with warnings.catch_warnings():  # scheduler.step() without optimizer.step()
        warnings.simplefilter("ignore")
        for t in range(steps):
            got = mine.lr_at(t) if isinstance(mine, optim.Schedule) else mine
            if total is not None and t > total:
                deliberate[COSINE_AFTER_T] += 1
                if got != 0.0:
                    return f"t = {t}: Cosine's rate {got!r} after total_steps = {total}, not 0"
            else:
                want = opt.param_groups[0]["lr"]
                if not abs(got - want) <= 8 * (t + 1) * eps * max(lr, abs(want)):
                    return f"t = {t}: lr {got!r} in glassgrad, {want!r} in PyTorch"
            if sched is not None:
                sched.step()
    return None


# -- what is checked once -------------------------------------------------------------


def check_repeated_parameters() -> list[str]:
    """A parameter listed twice: glassgrad refuses it in one group and in two."""
    found = []
    p = gg.Tensor(np.zeros(3), requires_grad=True)
    for kind in (optim.SGD, optim.Adam, optim.AdamW):
        for params in ([p, p], [{"params": [p]}, {"params": [p]}]):
            try:
                kind(params, lr=0.1)
            except ValueError:
                continue
            found.append(f"{kind.__name__} accepts a parameter listed twice: {params!r}")
    return found


def check_zero_grad() -> list[str]:
    """``zero_grad()`` leaves every ``.grad`` None, as PyTorch's default
    (``set_to_none=True``)."""
    p = gg.Tensor(np.ones(3), requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    (p * p).sum().backward()
    opt.zero_grad()
    t = torch.ones(3, requires_grad=True)
    topt = torch.optim.SGD([t], lr=0.1)
    (t * t).sum().backward()
    topt.zero_grad()
    if (p.grad is None) == (t.grad is None):
        return []
    return [f"after zero_grad: glassgrad {p.grad!r}, PyTorch {t.grad!r}"]


def check_gradient_dtype() -> list[str]:
    """A float64 Tensor assigned as a float32 parameter's ``.grad`` (PyTorch refuses
    one of another dtype): the optimizer's buffers must stay float32."""
    p = gg.Tensor(np.ones(3, np.float32), requires_grad=True)
    opt = optim.Adam([p], lr=0.1)
    try:
        p.grad = gg.Tensor(np.ones(3))
    except Exception:
        return []
    opt.step()
    dtypes = {k: v.dtype for k, v in opt.state[id(p)].items() if isinstance(v, np.ndarray)}
    if all(d == F32 for d in dtypes.values()):
        return []
    return [f"a float64 Tensor as a float32 parameter's .grad is kept, and Adam's buffers are {dtypes}"]


ONCE: tuple[Callable[[], list[str]], ...] = (check_repeated_parameters, check_zero_grad, check_gradient_dtype)


# -- the run ---------------------------------------------------------------------------


def describe(setting: Setting) -> str:
    lines = [f"  {k}: {setting[k]!r}" for k in ("optimizer", "defaults", "numbers", "schedule", "gradients", "seed")]
    lines += [f"  group {i}: {g!r}" for i, g in enumerate(setting["groups"])]
    lines += [
        f"  step {i + 1}: {e!r}"
        for i, e in enumerate(setting["events"])
        if e["missing"] or e["reload"] or e["new_lr"] or e["new_hyper"] or not e["zero_grad"]
    ]
    return "\n".join(lines)


def features(setting: Setting) -> list[str]:
    """What a setting exercises, for the run's counts."""
    specs = [p for g in setting["groups"] for p in g["params"]]
    events = setting["events"]
    found = {
        "aliasing slices": any(p["kind"] == "slice" for p in specs),
        "Scalars": any(p["kind"] == "scalar" for p in specs),
        "float32 parameters": any(p["dtype"] == "float32" for p in specs),
        "0-d or empty tensors": any(p["kind"] == "tensor" and 0 in (len(p["shape"]), *p["shape"]) for p in specs),
        "2 or 3 groups": len(setting["groups"]) > 1,
        "a step without some gradient": any(e["missing"] for e in events),
        "a step without zero_grad": any(not e["zero_grad"] for e in events),
        "state_dict reloaded": any(e["reload"] == "state_dict" for e in events),
        "deep-copied": any(e["reload"] == "deepcopy" for e in events),
        "lr set by hand": any(e["new_lr"] for e in events),
        "momentum or betas set by hand": any(e["new_hyper"] for e in events),
    }
    kinds = [setting["optimizer"], f"schedule {setting['schedule'][0]}", f"gradients {setting['gradients']}"]
    return [*kinds, f"numbers {setting['numbers']}", *(name for name, on in found.items() if on)]


def guarded(run: Callable[[], str | None]) -> str | None:
    """``run()``'s finding, or the exception it raised as one."""
    try:
        with np.errstate(all="ignore"):
            return run()
    except Exception as exc:
        return f"raised {type(exc).__name__}: {str(exc).splitlines()[0][:160]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=60.0, help="time budget of the whole run")
    args = parser.parse_args()
    torch.set_num_threads(1)
    # PyTorch's note on an empty parameter's gradient strides, not a difference.
    warnings.filterwarnings("ignore", message="grad and param do not obey the gradient layout contract")
    rng = np.random.default_rng(args.seed)
    for check in ONCE:
        for line in check():
            print(f"\n[once] {line}")
    settings = steps = schedules = schedule_steps = 0
    counts: dict[str, int] = {}
    deliberate = {COSINE_AFTER_T: 0}
    reported: dict[str, int] = {}

    def report(family: str, found: str, context: str) -> None:
        key = (
            family
            + ": "
            + re.sub(r"(step|t =) \d+:? |parameter \d+ |at flat index \d+|group \d+ |[-\d.e]{6,}|\[.*?\]", "", found)
        )
        reported[key] = reported.get(key, 0) + 1
        if reported[key] == 1:
            print(f"\n[{family}] {found}\n{context}")

    start = time.process_time()
    while time.process_time() - start < args.seconds:
        setting = random_setting(rng)
        found = guarded(lambda setting=setting: run_setting(setting, deliberate))
        settings += 1
        steps += setting["steps"]
        for key in features(setting):
            counts[key] = counts.get(key, 0) + 1
        if found:
            report(setting["optimizer"], found, describe(setting))
        if settings % 10 == 0:  # a long schedule every tenth setting
            schedule, lr, n = random_long_schedule(rng)
            found = guarded(lambda s=schedule, lr=lr, n=n: run_long_schedule(s, lr, n, deliberate))
            schedules += 1
            schedule_steps += n
            if found:
                report("schedule", found, f"  {schedule!r}, lr {lr!r}, {n} steps")
    cpu = time.process_time() - start
    print(f"\nseed {args.seed}, {cpu:.0f} s of CPU: {settings:,} settings, {steps:,} optimizer steps compared")
    print("settings with: " + ", ".join(f"{k} {n:,}" for k, n in sorted(counts.items())))
    print(f"long schedules: {schedules:,}, {schedule_steps:,} rates compared")
    print(f"differences reported: {sum(reported.values()):,} settings, {len(reported)} kinds")
    for key, n in sorted(reported.items()):
        print(f"  {n:,}: {key}")
    for known, n in sorted(deliberate.items()):
        print(f"deliberate difference, {n:,} steps: {known}")
    print("deliberate difference, refused: a parameter listed twice in one group (PyTorch warns, updates it twice)")


if __name__ == "__main__":
    main()
