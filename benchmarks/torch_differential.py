"""Differential testing of the eager engine against PyTorch: random graphs run through
both, forward values, output dtypes and gradients compared; a mismatch is shrunk to a
small program and printed as Python.

    python benchmarks/torch_differential.py [--seed 0] [--seconds 60] [--family all]

Needs torch beside glassgrad in one interpreter. Five families of graphs:

- ``float32``: float32 and float64 leaves mixed with float64 constants, Python numbers,
  ``astype`` round trips and losses against float64, bool and uint8 targets. Each
  value's dtype must be NumPy's (NEP 50: a Python number takes the array's dtype, two
  arrays promote), and ``.grad`` its leaf's dtype.
  PyTorch promotes by dimension category instead, so its operands are cast to NumPy's
  result dtype first. The oracle of a float32 gradient is PyTorch's float64 run of the
  same program: glassgrad may differ from it by a few times PyTorch's own float32
  error, plus a few hundred float32 epsilons of the gradient's size.
- ``broadcast``: float64 graphs over size-1 axes, 0-d values, empty arrays, keepdims
  reductions and negative axes. Every family draws from the same steps: elementwise
  ops, the four arithmetic ops with a Python number on either side, reductions
  (sum, mean, max, min, var, logsumexp), softmax and log_softmax, reshape, transpose,
  basic and integer-array indexing, broadcast_to, (un)squeeze, concatenate, stack,
  where, matmul, cross-entropy (labels, probabilities, class weights) and both binary
  cross-entropies (``pos_weight``), each reduction.
- ``views``: a value saved by an op, an alias of its memory (``detach()``, ``reshape``,
  ``transpose``, a slice, ``as_tensor`` of the same array), an in-place change through
  the alias (under ``no_grad()`` or not) before or after the forward pass, then
  backward: glassgrad must refuse, or give the gradient of the values the forward pass
  used (PyTorch's, when PyTorch does not refuse). Where glassgrad refuses and PyTorch
  does not, the case is counted by its reason, not reported: glassgrad checks an op's
  output and (when it reads any) all its inputs, where PyTorch checks only what it
  saved; and it sees a change through another ``as_tensor`` of one array, where
  PyTorch's two tensors keep two version counters and its gradient is wrong.
- ``second``: Hessian-vector products, ``grad(create_graph=True)`` then ``grad`` again.
- ``accumulate``: several ``backward(retain_graph=True)`` calls with hooks that replace
  the gradient and ``retain_grad()`` on intermediates.

Where the engines differ on purpose, programs avoid the point: ``maximum``/``minimum``
give a tie's gradient to the first operand (PyTorch splits it), so steps that tie are
not drawn, nor relu or abs at 0; an int beside an index array is an advanced index in
NumPy only, so keys do not mix them; PyTorch has no negative slice steps.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from typing import Any

import glassgrad as gg
import numpy as np
import programs
import torch
from glassgrad import ops

torch.set_default_dtype(torch.float64)
F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
TORCH_DTYPE = {F32: torch.float32, F64: torch.float64}
TORCH_NUMPY = {t: n for n, t in TORCH_DTYPE.items()}

Step = tuple[Any, ...]  # (kind, *arguments): one line of a program
Program = list[Step]


# -- the two engines, one surface ------------------------------------------------------

# Elementwise steps as formulas over glassgrad.ops's names, evaluated in each engine's
# namespace (so a reproduction prints as glassgrad code). Domains are kept by the
# formulas: log and sqrt see x² + c, a divisor b² + 1; maximum and minimum shift one
# operand so that no pair ties (the engines split a tie differently on purpose).
UNARY = {
    "neg": "neg(x)",
    "exp": "exp(tanh(x))",
    "tanh": "tanh(x)",
    "sigmoid": "sigmoid(x)",
    "relu": "relu(x)",
    "abs": "abs_(x)",
    "softplus": "softplus(x)",
    "log_sigmoid": "log_sigmoid(x)",
    "log": "log(x * x + 0.5)",
    "sqrt": "sqrt(x * x + 0.25)",
    "square": "power(x, 2)",
    "cube": "power(x, 3)",
    "rsqrt": "power(x * x + 1.0, -0.5)",
    "recip": "1.0 / (x * x + 1.0)",
    "clip": "clip(x, -0.7, 0.9)",
}
BINARY = {
    "add": "add(a, b)",
    "sub": "sub(a, b)",
    "mul": "mul(a, b)",
    "div": "div(a, b * b + 1.0)",
    "maximum": "maximum(a, b + 0.125)",
    "minimum": "minimum(a, b - 0.125)",
}
NUMBER_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
}


def _compiled(formulas: dict[str, str], args: str, namespace: dict[str, Any]) -> dict[str, Callable[..., Any]]:
    return {name: eval(f"lambda {args}: {src}", namespace) for name, src in formulas.items()}


def _promoting(fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """A PyTorch binary op on operands cast to NumPy's result dtype first: PyTorch lets a
    0-d float64 operand take a float32 one's dtype, NumPy (and glassgrad) promote."""

    def promoted(a: Any, b: Any) -> Any:
        return fn(*_promoted(a, b))

    return promoted


def _promoted(a: Any, b: Any) -> tuple[Any, Any]:
    dt = torch.promote_types(a.dtype, b.dtype)
    return a.to(dt), b.to(dt)


TORCH_OPS = {
    "neg": torch.neg,
    "exp": torch.exp,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
    "abs_": torch.abs,
    "softplus": torch.nn.functional.softplus,
    "log_sigmoid": torch.nn.functional.logsigmoid,
    "log": torch.log,
    "sqrt": torch.sqrt,
    "power": torch.pow,
    "clip": torch.clamp,
    "add": _promoting(torch.add),
    "sub": _promoting(torch.sub),
    "mul": _promoting(torch.mul),
    "div": _promoting(torch.div),
    "maximum": _promoting(torch.maximum),
    "minimum": _promoting(torch.minimum),
}


class Glass:
    """glassgrad's side of each step."""

    unary = _compiled(UNARY, "x", vars(ops))
    binary = _compiled(BINARY, "a, b", vars(ops))

    @staticmethod
    def leaf(data: np.ndarray, requires_grad: bool) -> Any:
        return gg.Tensor(data, requires_grad=requires_grad)

    @staticmethod
    def reduce(name: str, x: Any, axis: Any, keepdims: bool) -> Any:
        if name.startswith("var"):
            return gg.var(x, axis=axis, keepdims=keepdims, ddof=int(name[3:]))
        return getattr(gg, name)(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def along(name: str, x: Any, axis: int) -> Any:
        return getattr(gg, name)(x, axis=axis)

    @staticmethod
    def cast(x: Any, dtype: np.dtype) -> Any:
        return x.astype(dtype)

    reshape = staticmethod(lambda x, shape: x.reshape(shape))
    transpose = staticmethod(lambda x, axes: x.transpose(axes))
    getitem = staticmethod(lambda x, key: x[key])
    broadcast = staticmethod(gg.broadcast_to)
    unsqueeze = staticmethod(gg.unsqueeze)
    squeeze = staticmethod(gg.squeeze)
    concat = staticmethod(lambda a, b, axis: gg.concatenate([a, b], axis=axis))
    stack = staticmethod(lambda a, b, axis: gg.stack([a, b], axis=axis))
    where = staticmethod(gg.where)
    matmul = staticmethod(gg.matmul)
    total = staticmethod(lambda x, w: (x * w).sum())
    grad = staticmethod(gg.grad)
    scalar = staticmethod(np.float64)

    @staticmethod
    def loss(name: str, x: Any, y: Any, reduction: str, weight: Any, target: np.ndarray) -> Any:
        if name == "ce_labels":
            return gg.cross_entropy(x, target, weight=weight, reduction=reduction)
        if name == "ce_probs":
            return gg.cross_entropy(x, gg.softmax(y, axis=-1), weight=weight, reduction=reduction)
        if name == "bce_logits":
            return gg.binary_cross_entropy_with_logits(x, target, pos_weight=weight, reduction=reduction)
        return gg.binary_cross_entropy(gg.sigmoid(x) * 0.98 + 0.01, target, reduction=reduction)

    @staticmethod
    def data(x: Any) -> np.ndarray:
        return np.array(x.data)

    @staticmethod
    def dtype(x: Any) -> np.dtype:
        return np.dtype(x.dtype)


class Torch:
    """PyTorch's side of each step."""

    unary = _compiled(UNARY, "x", TORCH_OPS)
    binary = _compiled(BINARY, "a, b", TORCH_OPS)

    @staticmethod
    def leaf(data: np.ndarray, requires_grad: bool) -> Any:
        return torch.tensor(data, requires_grad=requires_grad)

    @staticmethod
    def reduce(name: str, x: Any, axis: Any, keepdims: bool) -> Any:
        dim = tuple(range(x.ndim)) if axis is None else axis
        if name.startswith("var"):
            return torch.var(x, dim=dim, keepdim=keepdims, correction=int(name[3:]))
        if not x.ndim and name in ("max", "min"):  # amax and amin refuse dim=() on 0-d
            return x * 1
        fn = {"sum": torch.sum, "mean": torch.mean, "max": torch.amax, "min": torch.amin, "logsumexp": torch.logsumexp}
        return fn[name](x, dim=dim, keepdim=keepdims)

    @staticmethod
    def along(name: str, x: Any, axis: int) -> Any:
        return getattr(torch, name)(x, dim=axis)

    @staticmethod
    def cast(x: Any, dtype: np.dtype) -> Any:
        return x.to(TORCH_DTYPE[dtype])

    reshape = staticmethod(lambda x, shape: x.reshape(shape))
    transpose = staticmethod(lambda x, axes: x.permute(axes))
    broadcast = staticmethod(lambda x, shape: x.broadcast_to(shape))
    unsqueeze = staticmethod(lambda x, axis: x.unsqueeze(axis))
    squeeze = staticmethod(lambda x, axis: x.squeeze(axis))
    concat = staticmethod(lambda a, b, axis: torch.cat(_promoted(a, b), dim=axis))
    stack = staticmethod(lambda a, b, axis: torch.stack(_promoted(a, b), dim=axis))
    matmul = staticmethod(_promoting(torch.matmul))
    total = staticmethod(lambda x, w: (x * torch.tensor(w, dtype=x.dtype)).sum())
    grad = staticmethod(torch.autograd.grad)
    scalar = staticmethod(torch.tensor)

    @staticmethod
    def loss(name: str, x: Any, y: Any, reduction: str, weight: Any, target: np.ndarray) -> Any:
        f = torch.nn.functional
        if name == "ce_labels":
            w = None if weight is None else torch.tensor(weight, dtype=x.dtype)
            return f.cross_entropy(x, torch.tensor(target), weight=w, reduction=reduction)
        if name == "ce_probs":
            x, p = _promoted(x, torch.softmax(y, dim=-1))
            w = None if weight is None else torch.tensor(weight, dtype=x.dtype)
            return f.cross_entropy(x, p, weight=w, reduction=reduction)
        if name == "bce_logits":
            x, t = _promoted(x, torch.tensor(target))
            w = None if weight is None else torch.tensor(weight, dtype=x.dtype)
            return f.binary_cross_entropy_with_logits(x, t, pos_weight=w, reduction=reduction)
        # PyTorch's fused binary_cross_entropy adds 1e-12 to p(1−p) in its second
        # derivative (10⁻¹⁰ off here); its formula, spelled out, is exact. The
        # probabilities are computed in the logits' dtype, as glassgrad's are.
        p, t = _promoted(torch.sigmoid(x) * 0.98 + 0.01, torch.tensor(target))
        loss = -(t * torch.log(p) + (1 - t) * torch.log(1 - p))
        return loss if reduction == "none" else getattr(loss, reduction)()

    @staticmethod
    def getitem(x: Any, key: Any) -> Any:
        parts = key if isinstance(key, tuple) else (key,)
        return x[tuple(torch.tensor(k) if isinstance(k, np.ndarray) else k for k in parts)]

    @staticmethod
    def where(cond: np.ndarray, a: Any, b: Any) -> Any:
        return torch.where(torch.tensor(cond), *_promoted(a, b))

    @staticmethod
    def data(x: Any) -> np.ndarray:
        if x._is_zerotensor():  # a second derivative known to be zero
            return np.zeros(tuple(x.shape), TORCH_NUMPY[x.dtype])
        return x.detach().numpy().copy()

    @staticmethod
    def dtype(x: Any) -> np.dtype:
        return np.dtype(str(x.dtype).removeprefix("torch."))


# -- programs: a list of steps, each reading earlier values by index ------------------


def apply_step(step: Step, vals: list[Any], lib: Any, widen: bool = False) -> Any:
    """The value of one step in one engine (``widen``: every float32 as float64)."""
    kind, *a = step
    if kind == "leaf":
        shape, dtype, requires_grad, seed = a
        data = np.random.default_rng(seed).uniform(-2, 2, shape).astype(F64 if widen else dtype)
        return lib.leaf(data, requires_grad)
    if kind == "number":
        op, x, c, left = NUMBER_OPS[a[0]], vals[a[1]], a[2], a[3]
        return op(c, x) if left else op(x, c)
    if kind == "unary":
        return lib.unary[a[0]](vals[a[1]])
    if kind == "binary":
        return lib.binary[a[0]](vals[a[1]], vals[a[2]])
    if kind == "reduce":
        return lib.reduce(a[0], vals[a[1]], a[2], a[3])
    if kind == "along":
        return lib.along(a[0], vals[a[1]], a[2])
    if kind == "cast":
        return vals[a[0]] if widen else lib.cast(vals[a[0]], a[1])
    if kind in ("concat", "stack"):
        return getattr(lib, kind)(vals[a[0]], vals[a[1]], a[2])
    if kind == "matmul":
        return lib.matmul(vals[a[0]], vals[a[1]])
    if kind == "where":
        return lib.where(a[0], vals[a[1]], vals[a[2]])
    if kind == "loss":
        name, x, y, reduction = a[:4]
        target, weight = loss_constants(step, lib.data(vals[x]).shape, widen)
        return lib.loss(name, vals[x], None if y is None else vals[y], reduction, weight, target)
    if kind == "hook":  # the value itself, with a hook: None, or a replacement gradient
        vals[a[0]].register_hook(HOOKS[a[1]])
        return vals[a[0]]
    if kind == "retain":
        vals[a[0]].retain_grad()
        return vals[a[0]]
    return getattr(lib, kind)(vals[a[0]], a[1])  # reshape, transpose, getitem, broadcast, (un)squeeze


def loss_constants(step: Step, shape: tuple[int, ...], widen: bool = False) -> tuple[Any, Any]:
    """The targets and the weight (class weights, or pos_weight) of a loss step on
    predictions of ``shape``, drawn from the step's seed."""
    _, name, _, _, _, weighted, seed, tdtype = step
    r = np.random.default_rng(seed)
    if name == "ce_labels":
        target = r.integers(0, shape[-1], shape[:-1]) if shape else np.zeros(0, int)
    else:
        target = r.uniform(0, 1, shape)
        target = (target < 0.5).astype(tdtype) if tdtype.kind in "bu" else target.astype(F64 if widen else tdtype)
    weight = None
    if weighted:
        weight = float(r.uniform(0.5, 2)) if name == "bce_logits" else r.uniform(0.5, 2, shape[-1:])
    return target, weight


LOSS_CODE = {
    "ce_labels": "gg.cross_entropy({x}, {target}, weight={weight}, reduction={reduction!r})",
    "ce_probs": "gg.cross_entropy({x}, gg.softmax({y}, axis=-1), weight={weight}, reduction={reduction!r})",
    "bce_logits": "gg.binary_cross_entropy_with_logits({x}, {target}, pos_weight={weight}, reduction={reduction!r})",
    "bce": "gg.binary_cross_entropy(gg.sigmoid({x}) * 0.98 + 0.01, {target}, reduction={reduction!r})",
}


def _array_code(a: Any) -> str:
    """An array (or None, or a number) as code that makes it, empty ones with their shape."""
    if a is None or isinstance(a, float):
        return repr(a)
    return f"np.array({a.tolist()!r}, np.{a.dtype})" if a.size else f"np.zeros({a.shape}, np.{a.dtype})"


def execute(program: Program, lib: Any, widen: bool = False) -> list[Any]:
    vals: list[Any] = []
    for step in program:
        vals.append(apply_step(step, vals, lib, widen))
    return vals


def outputs_of(program: Program) -> list[int]:
    """The values the loss reads: the last three op outputs."""
    return [i for i, s in enumerate(program) if s[0] not in ("leaf", "hook", "retain")][-3:]


HOOKS: dict[str, Callable[[Any], Any]] = {
    "observe": lambda g: None,
    "double": lambda g: g * 2.0,
    "shift": lambda g: g + 0.5,
    "square": lambda g: g * g,
}


def loss_of(program: Program, vals: list[Any], lib: Any) -> Any:
    """Σ over the outputs of ⟨value, fixed random weights⟩, in float64."""
    total = None
    for i in outputs_of(program):
        shape = lib.data(vals[i]).shape
        w = np.random.default_rng(1000 + i).uniform(-1, 1, shape).astype(lib.dtype(vals[i]))
        term = lib.total(vals[i], w)
        term = lib.cast(term, F64) if lib.dtype(term) != F64 else term
        total = term if total is None else total + term
    return total


def grad_leaves(program: Program, vals: list[Any]) -> list[Any]:
    return [v for s, v in zip(program, vals) if s[0] == "leaf" and s[3]]


def retained(program: Program, vals: list[Any]) -> list[Any]:
    """The values whose ``.grad`` backward keeps: leaves that require grad, and the
    values of ``retain`` steps (whose grad is read once, not per step)."""
    keep = {id(v): v for s, v in zip(program, vals) if (s[0] == "leaf" and s[3]) or s[0] == "retain"}
    return list(keep.values())


# -- random programs ---------------------------------------------------------------------

STEP_KINDS = ("unary", "binary", "number", "reduce", "along", "reshape", "transpose", "getitem", "broadcast")
STEP_KINDS += ("unsqueeze", "squeeze", "cast", "concat", "stack", "where", "matmul", "leaf", "loss")
STEP_KINDS += ("hook", "retain")
STEP_WEIGHTS = np.array([17, 20, 8, 10, 4, 4, 4, 6, 3, 2, 2, 5, 3, 2, 3, 3, 4, 6, 0, 0], float)
HOOK_WEIGHTS = STEP_WEIGHTS + np.array([0] * 18 + [12, 12])


class Builder:
    """A random program, step by step; a step is kept when glassgrad runs it (shapes are
    checked by running). A step glassgrad refuses and PyTorch runs is found later, when
    minimized programs are compared."""

    def __init__(
        self, rng: np.random.Generator, dtypes: tuple[np.dtype, ...], shapes: Callable[[], tuple], hooks: bool
    ) -> None:
        self.rng, self.dtypes, self.shapes, self.hooks = rng, dtypes, shapes, hooks
        self.program: Program = []
        self.vals: list[Any] = []

    def add(self, step: Step) -> None:
        try:
            with np.errstate(all="ignore"):
                v = apply_step(step, self.vals, Glass)
        except (ValueError, TypeError, IndexError, gg.GlassgradError):
            return
        if at_kink(step, self.vals):
            return
        self.program.append(step)
        self.vals.append(v)

    def pick(self) -> int:
        """A recent value, mostly: graphs grow deep rather than wide."""
        n = len(self.vals)
        return int(self.rng.integers(max(0, n - 4), n)) if self.rng.random() < 0.8 else int(self.rng.integers(n))

    def leaf(self, requires_grad: bool = True) -> None:
        dtype = self.dtypes[int(self.rng.integers(len(self.dtypes)))]
        self.add(("leaf", self.shapes(), dtype, requires_grad, int(self.rng.integers(2**31))))

    def step(self) -> None:
        r, x = self.rng, self.pick()
        shape = self.vals[x].shape
        nd = len(shape)
        weights = HOOK_WEIGHTS if self.hooks else STEP_WEIGHTS
        kind = STEP_KINDS[r.choice(len(STEP_KINDS), p=weights / weights.sum())]
        axis = int(r.integers(-nd, nd)) if nd else None
        if kind == "leaf":
            self.leaf(requires_grad=bool(r.random() < 0.7))
        elif kind == "unary":
            self.add(("unary", str(r.choice(list(UNARY))), x))
        elif kind == "binary":
            self.add(("binary", str(r.choice(list(BINARY))), x, self.pick()))
        elif kind == "number":
            op = str(r.choice(list(NUMBER_OPS)))
            c = float(r.choice([2.0, -0.5, 3.0, 1.5, 0.25]))
            self.add(("number", op, x, c, bool(r.random() < 0.5) and op != "/"))
        elif kind == "reduce":
            name = str(r.choice(["sum", "mean", "max", "min", "var0", "var1", "logsumexp"]))
            ax = (
                None if axis is None or r.random() < 0.3 else (axis if r.random() < 0.7 else tuple({axis % nd, nd - 1}))
            )
            self.add(("reduce", name, x, ax, bool(r.random() < 0.5)))
        elif kind == "along" and axis is not None:
            self.add(("along", str(r.choice(["softmax", "log_softmax"])), x, axis))
        elif kind == "reshape":
            self.add(("reshape", x, reshaped(r, shape)))
        elif kind == "transpose":
            self.add(("transpose", x, tuple(int(i) for i in r.permutation(nd))))
        elif kind == "getitem" and nd:
            self.add(("getitem", x, random_key(r, shape)))
        elif kind == "broadcast":
            stretched = tuple(n if n != 1 else int(r.integers(0, 4)) for n in shape)
            self.add(("broadcast", x, (int(r.integers(1, 3)), *stretched)))
        elif kind == "unsqueeze":
            self.add(("unsqueeze", x, int(r.integers(-nd - 1, nd + 1))))
        elif kind == "squeeze" and 1 in shape:
            self.add(("squeeze", x, shape.index(1) - nd))
        elif kind == "cast" and F32 in self.dtypes:
            self.add(("cast", x, F32 if self.vals[x].dtype == F64 else F64))
        elif kind in ("concat", "stack") and nd:
            self.add((kind, x, self.pick(), axis))
        elif kind == "where":
            y = self.pick()
            try:
                cshape = np.broadcast_shapes(shape, self.vals[y].shape)
            except ValueError:
                return
            self.add(("where", r.random(cshape) < 0.5, x, y))
        elif kind == "matmul":
            self.add(("matmul", x, self.pick()))
        elif kind == "loss":
            name = str(r.choice(["ce_labels", "ce_probs", "bce_logits", "bce"]))
            y = self.pick() if name == "ce_probs" else None
            labels = (np.dtype(bool), np.dtype(np.uint8)) if F32 in self.dtypes else ()
            tdtype = (*self.dtypes, *labels)[int(r.integers(len(self.dtypes) + len(labels)))]
            reduction = str(r.choice(["mean", "sum", "none"]))
            self.add(("loss", name, x, y, reduction, bool(r.random() < 0.5), int(r.integers(2**31)), tdtype))
        elif kind == "hook" and self.vals[x].requires_grad:
            self.add(("hook", x, str(r.choice(list(HOOKS)))))
        elif kind == "retain" and self.vals[x].requires_grad and not self.vals[x].is_leaf:
            self.add(("retain", x))


def at_kink(step: Step, vals: list[Any]) -> bool:
    """Whether a step evaluates a kink where the engines pick different one-sided
    derivatives on purpose: a tie of maximum or minimum (glassgrad gives the gradient
    to the first operand, PyTorch splits it), relu or abs at 0."""
    kind, *a = step
    if kind == "binary" and a[0] in ("maximum", "minimum"):
        shift = 0.125 if a[0] == "maximum" else -0.125
        with np.errstate(all="ignore"):
            return bool(np.any(vals[a[1]].data == vals[a[2]].data + shift))
    if kind == "unary" and a[0] in ("relu", "abs"):
        return bool(np.any(vals[a[1]].data == 0))
    return False


def reshaped(r: np.random.Generator, shape: tuple[int, ...]) -> tuple[int, ...]:
    """Another shape of as many elements, sometimes spelled with −1."""
    n = math.prod(shape)
    dims = [d for d in range(1, n + 1) if n % d == 0] or [0]
    first = int(r.choice(dims))
    new = (first, n // first if first else 0) if r.random() < 0.6 else (n,)
    new = (*new, 1) if r.random() < 0.3 else new
    if r.random() < 0.3 and n:
        return (-1, *new[1:])
    return new


def random_key(r: np.random.Generator, shape: tuple[int, ...]) -> Any:
    """A basic index (ints, slices, None) or an advanced one (an integer array with
    repeats) on one axis."""
    parts: list[Any] = []
    for n in shape[: int(r.integers(1, len(shape) + 1))]:
        u = r.random()
        if u < 0.3 and n:
            parts.append(int(r.integers(-n, n)))
        elif u < 0.55 and n:
            parts.append(r.integers(-n, n, size=int(r.integers(1, 5))))
            if sum(isinstance(p, np.ndarray) for p in parts) > 1:  # one advanced index at a time
                parts[-1] = slice(None)
        elif u < 0.65:
            parts.append(None)
            parts.append(slice(None))
        else:
            lo, hi = sorted(int(v) for v in r.integers(-n - 1, n + 2, size=2))
            parts.append(slice(lo, hi, int(r.choice([1, 1, 2]))))  # PyTorch has no negative steps
    if any(isinstance(p, np.ndarray) for p in parts):
        # NumPy counts an int beside an index array as one more advanced index (which
        # moves the selected axes first); PyTorch does not. Keep to the common ground.
        parts = [slice(p, p + 1 or None) if isinstance(p, int) else p for p in parts]
    return tuple(parts) if len(parts) > 1 else parts[0]


def shapes_for(family: str, r: np.random.Generator) -> Callable[[], tuple[int, ...]]:
    if family == "broadcast":
        return lambda: tuple(int(r.choice([0, 1, 1, 2, 3])) for _ in range(int(r.integers(0, 4))))
    return lambda: tuple(int(r.integers(1, 4)) for _ in range(int(r.integers(0, 3))))


def random_program(family: str, r: np.random.Generator) -> Program:
    dtypes = (F32, F32, F64) if family == "float32" else (F64,)
    b = Builder(r, dtypes, shapes_for(family, r), hooks=family == "accumulate")
    for _ in range(int(r.integers(1, 3))):
        b.leaf()
    for _ in range(int(r.integers(2, 12))):
        b.step()
    return b.program


# -- comparing one program -------------------------------------------------------------


class Skip(Exception):
    """The program is no test: PyTorch's own result is not finite or not meaningful."""


def run_side(program: Program, lib: Any, family: str, widen: bool = False, fresh: bool = False) -> dict[str, Any]:
    """Values, dtypes and gradients of ``program`` in one engine; ``error`` when it raised."""
    out: dict[str, Any] = {}
    try:
        with np.errstate(all="ignore"):
            vals = execute(program, lib, widen)
            out["values"] = [lib.data(v) for v in vals]
            out["dtypes"] = [lib.dtype(v) for v in vals]
            xs = grad_leaves(program, vals)
            loss = loss_of(program, vals, lib)
            if loss is None or not xs:
                raise Skip("no loss or no leaf that requires grad")
            out["grads"] = first = engine_grad(lib, loss, xs, create_graph=family == "second")
            if family == "second":
                h = None
                for i, g in enumerate(first):
                    if g is not None and g.requires_grad:
                        w = np.random.default_rng(2000 + i).uniform(-1, 1, tuple(g.shape)).astype(lib.dtype(g))
                        term = lib.total(g, w)
                        h = term if h is None else h + term
                out["grads"] = [None if g is None else lib.data(g) for g in first]
                out["hvp"] = [None] * len(xs) if h is None else engine_grad(lib, h, xs, create_graph=False)
                out["hvp"] = [None if g is None else lib.data(g) for g in out["hvp"]]
            else:
                out["grad_dtypes"] = [None if g is None else lib.dtype(g) for g in first]
                out["grads"] = [None if g is None else lib.data(g) for g in first]
            if family == "accumulate":
                out["grads"] = accumulated(program, vals, loss, lib, fresh)
    except Skip:
        raise
    except Exception as exc:
        out["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    return out


def accumulated(program: Program, vals: list[Any], loss: Any, lib: Any, fresh: bool) -> list[Any]:
    """The ``.grad`` of each retained value after two more backward passes (scaled 1 and
    ½) beside the first: through the retained graph, or (``fresh``) through the program
    run again each time, the passes' gradients added up here."""
    totals = [None if v.grad is None else lib.data(v.grad) for v in retained(program, vals)]
    for scale in (1.0, 0.5):
        if fresh:
            vals = execute(program, lib)
            loss_of(program, vals, lib).backward(lib.scalar(scale))
            more = [None if v.grad is None else lib.data(v.grad) for v in retained(program, vals)]
            totals = [m if t is None else t if m is None else t + m for t, m in zip(totals, more)]
        else:
            loss.backward(lib.scalar(scale), retain_graph=True)
    if fresh:
        return totals
    return [None if v.grad is None else lib.data(v.grad) for v in retained(program, vals)]


def engine_grad(lib: Any, y: Any, xs: list[Any], create_graph: bool) -> list[Any]:
    """∂y/∂xs: by ``grad(create_graph=True)``, else by ``backward`` (graph retained) and ``.grad``."""
    if create_graph:
        return list(lib.grad(y, xs, create_graph=True, allow_unused=True))
    y.backward(retain_graph=True)
    return [x.grad for x in xs]


#: Programs whose gradients PyTorch accumulates over a retained graph differently from
#: fresh graphs. One, found by this script (torch 2.13.0): stack, sum(keepdim=True),
#: indexing with a repeated index, then permute; the second pass adds twice the first.
PYTORCH_RETAINED: list[Program] = []


def compare(program: Program, family: str) -> str | None:
    """A one-line description of how glassgrad differs from PyTorch on ``program``, or
    None when it agrees. Raises Skip when the program tests nothing."""
    g = run_side(program, Glass, family)
    t = run_side(program, Torch, family)
    wide = run_side(program, Torch, family, widen=True) if family == "float32" else t
    if family == "accumulate" and "error" not in t:
        # PyTorch's own passes over a retained graph can differ from fresh graphs (see
        # PYTORCH_RETAINED): the fresh graphs are the oracle, the difference is counted.
        fresh = run_side(program, Torch, family, fresh=True)
        if any(differs(a, b, b) for a, b in zip(t["grads"], fresh["grads"])):
            PYTORCH_RETAINED.append(program)
        t = wide = fresh
    if "error" in t and "error" in g:
        return None
    if "error" in g:
        return f"raises: glassgrad raised {g['error']}; PyTorch did not"
    if "error" in t:
        if "error" in wide:
            return f"raises: PyTorch raised {t['error']}; glassgrad did not"
        raise Skip(t["error"])
    arrays = [*wide["values"], *(v for v in wide["grads"] if v is not None), *(wide.get("hvp") or [])]
    if not all(np.isfinite(a).all() and np.abs(a).max(initial=0) < 1e6 for a in arrays if a is not None):
        raise Skip("not finite or too large")
    for i, (gd, td) in enumerate(zip(g["dtypes"], t["dtypes"])):
        if gd != td:
            return f"dtype: v{i} is {gd} in glassgrad, {td} in NumPy's promotion"
    for gd, step in zip(g.get("grad_dtypes", ()), [s for s in program if s[0] == "leaf" and s[3]]):
        if gd is not None and gd != step[2]:
            return f"grad dtype: the .grad of a {step[2]} leaf is {gd}"
    for what in ("values", "grads", "hvp"):
        for i, (gv, tv, wv) in enumerate(zip(g.get(what, ()), t.get(what, ()), wide.get(what, ()))):
            problem = differs(gv, tv, wv, float(np.finfo(F32).eps) if family == "float32" else 0.0)
            if problem:
                return f"{what}: {what[:-1]} {i} {problem}"
    return None


def differs(got: Any, same: Any, wide: Any, eps: float = 0.0) -> str | None:
    """Whether glassgrad's array ``got`` is off PyTorch's: its float64 run ``wide`` is
    the reference, and glassgrad may stray from it by a few times PyTorch's own error
    at the same dtype (``same``) plus a few hundred ``eps`` (at least the array's own;
    10⁻¹² in float64, where the engines' formulas for second derivatives round apart)
    of the array's size, or of 1 when smaller: a difference of two near numbers has no
    relative precision."""
    if got is None or wide is None:
        zero = got if wide is None else wide
        return None if zero is None or not np.any(zero) else f"is {got} in glassgrad, {wide} in PyTorch"
    if got.shape != wide.shape:
        return f"has shape {got.shape} in glassgrad, {wide.shape} in PyTorch"
    if not got.size:
        return None
    finite = np.isfinite(wide)
    if not np.array_equal(got[~finite], wide[~finite], equal_nan=True):
        return f"is {got!r} in glassgrad, {wide!r} in PyTorch"
    got, same, wide = got[finite], same[finite], wide[finite]
    if not wide.size:
        return None
    eps = max(eps, np.finfo(got.dtype).eps)
    wide = wide.astype(F64)
    scale = max(np.abs(wide).max(), 1.0)
    allowed = 4 * np.abs(same.astype(F64) - wide) + max(300 * eps, 1e-12) * scale
    err = np.abs(got.astype(F64) - wide)
    if np.all(err <= allowed):
        return None
    k = int(np.argmax(err - allowed))
    return f"differs at flat index {k}: glassgrad {got.flat[k]!r}, PyTorch {wide.flat[k]!r} (float64 run)"


# -- shrinking a mismatch to a small program ------------------------------------------

# The positions (after the kind) of a step's arguments that name earlier values.
REFS = {"number": (1,), "unary": (1,), "binary": (1, 2), "reduce": (1,), "along": (1,), "where": (1, 2)}


def refs(step: Step) -> tuple[int, ...]:
    kind = step[0]
    if kind == "leaf":
        return ()
    if kind in REFS:
        return REFS[kind]
    if kind == "loss":  # the logits, and the scores of probability targets
        return (1,) if step[3] is None else (1, 2)
    return (0, 1) if kind in ("concat", "stack", "matmul") else (0,)


def without(program: Program, i: int) -> Program | None:
    """``program`` without step i, its uses reading step i's first input instead (None
    for a leaf that is used)."""
    step = program[i]
    if step[0] == "leaf":
        if any(program[j][k + 1] == i for j in range(i + 1, len(program)) for k in refs(program[j])):
            return None
        source = -1
    else:
        source = step[refs(step)[0] + 1]
    out = []
    for s in program[:i] + program[i + 1 :]:
        s = list(s)
        for k in refs(tuple(s)):
            old = s[k + 1]
            s[k + 1] = source if old == i else old - (old > i)
        out.append(tuple(s))
    return out


def shrink(program: Program, family: str, found: str, budget: int = 300) -> tuple[Program, str]:
    """A shorter program with a mismatch of the same kind: prefixes first, then single
    steps dropped, until no step can go."""
    kind = found.split(":")[0]

    def still(p: Program) -> str | None:
        try:
            m = compare(p, family)
        except Skip:
            return None
        return m if m is not None and m.split(":")[0] == kind else None

    return programs.shrink(program, found, still, without, budget)


def render(program: Program) -> str:
    """The program as glassgrad code (the loss reads the last three op outputs)."""
    shapes = [np.shape(v.data) for v in execute(program, Glass)] if any(s[0] == "loss" for s in program) else []
    lines = ["import glassgrad as gg, numpy as np", "from glassgrad import Tensor, ops"]
    for i, (kind, *a) in enumerate(program):
        if kind == "leaf":
            data = np.random.default_rng(a[3]).uniform(-2, 2, a[0]).astype(a[1])
            code = f"Tensor({_array_code(data)}, requires_grad={a[2]})"
        elif kind == "number":
            code = f"{a[2]!r} {a[0]} v{a[1]}" if a[3] else f"v{a[1]} {a[0]} {a[2]!r}"
        elif kind in ("unary", "binary"):
            names = {"x": f"v{a[1]}"} if kind == "unary" else {"a": f"v{a[1]}", "b": f"v{a[2]}"}
            code = programs.formula_code((UNARY if kind == "unary" else BINARY)[a[0]], names)
        elif kind == "reduce":
            name, ddof = ("var", f", ddof={a[0][3:]}") if a[0].startswith("var") else (a[0], "")
            code = f"gg.{name}(v{a[1]}, axis={a[2]!r}, keepdims={a[3]}{ddof})"
        elif kind == "along":
            code = f"gg.{a[0]}(v{a[1]}, axis={a[2]})"
        elif kind == "cast":
            code = f"v{a[0]}.astype(np.{a[1]})"
        elif kind == "where":
            code = f"gg.where({_array_code(np.asarray(a[0]))}, v{a[1]}, v{a[2]})"
        elif kind in ("concat", "stack"):
            code = f"gg.{'concatenate' if kind == 'concat' else kind}([v{a[0]}, v{a[1]}], axis={a[2]})"
        elif kind == "matmul":
            code = f"v{a[0]} @ v{a[1]}"
        elif kind == "loss":
            target, weight = loss_constants(program[i], shapes[a[1]])
            code = LOSS_CODE[a[0]].format(
                x=f"v{a[1]}", y=f"v{a[2]}", target=_array_code(target), weight=_array_code(weight), reduction=a[3]
            )
        elif kind == "hook":
            code = f"v{a[0]}; v{i}.register_hook({HOOK_SOURCE[a[1]]})"
        elif kind == "retain":
            code = f"v{a[0]}; v{i}.retain_grad()"
        elif kind == "getitem":
            code = f"v{a[0]}[{a[1]!r}]".replace("array(", "np.array(")
        else:
            code = f"gg.{'broadcast_to' if kind == 'broadcast' else kind}(v{a[0]}, {a[1]!r})"
        lines.append(f"v{i} = {code}")
    lines.append(f"# loss = Σ ⟨v, fixed weights⟩ over {', '.join(f'v{i}' for i in outputs_of(program))}")
    return "\n".join(lines)


HOOK_SOURCE = {"observe": "lambda g: None", "double": "lambda g: g * 2.0", "shift": "lambda g: g + 0.5"}
HOOK_SOURCE["square"] = "lambda g: g * g"


# -- views and aliases changed in place --------------------------------------------------

FIRST = {  # y = f(x, c): what each op saves differs (inputs, the output, a constant)
    "mul_self": lambda x, c, m: x * x,
    "mul_const": lambda x, c, m: x * c,
    "div_const": lambda x, c, m: c / (x * x + 1.0),
    "exp": lambda x, c, m: m.exp(x),
    "sigmoid": lambda x, c, m: m.sigmoid(x),
    "tanh": lambda x, c, m: m.tanh(x),
    "cube": lambda x, c, m: x**3,
    "add_const": lambda x, c, m: x + c,
    "sum": lambda x, c, m: x.sum(0, keepdims=True) if m is gg else x.sum(0, keepdim=True),
    "matmul": lambda x, c, m: x @ c.T,
    "slice": lambda x, c, m: x[0] * 2.0,
    "reshape": lambda x, c, m: x.reshape(3, 2) * 2.0,
}
SECOND = {  # z = g(y), then loss = Σ z·w
    "square": lambda y, m: y * y,
    "plus": lambda y, m: y + 1.0,
    "exp": lambda y, m: m.exp(y),
}
ALIASES = {
    "self": lambda t, arr, m: t,
    "detach": lambda t, arr, m: t.detach(),
    "detach_reshape": lambda t, arr, m: t.detach().reshape(-1),
    "detach_T": lambda t, arr, m: t.detach().T,
    "detach_slice": lambda t, arr, m: t.detach()[0],
    "as_tensor": lambda t, arr, m: m.as_tensor(arr),
}
CHANGES = {
    "+= 1": lambda a: a.__iadd__(1.0),
    "*= 2": lambda a: a.__imul__(2.0),
    "[0] = 5": lambda a: a.__setitem__(0, 5.0),
}


VIEW_FIELDS = ("first", "second", "target", "alias", "change", "when", "dtype", "mode")


def random_view_case(r: np.random.Generator) -> tuple[str, ...]:
    target = str(r.choice(["x", "c", "y"]))
    return (
        str(r.choice(list(FIRST))),
        str(r.choice(list(SECOND))),
        target,
        str(r.choice([a for a in ALIASES if not (a == "as_tensor" and target == "y")])),
        str(r.choice(list(CHANGES))),
        "after" if target == "y" else str(r.choice(["after", "before"])),
        str(r.choice(["float64", "float32"])),
        str(r.choice(["no_grad", "recording"])),
    )


def run_view_case(case: tuple[str, ...], engine: str, change: bool = True) -> tuple[str, Any]:
    """("raised", message) or ("grads", [∂L/∂x, ∂L/∂c]) of one case in one engine; the
    change through the alias is made ``when`` (before the forward pass or after it),
    under ``no_grad()`` or while recording (refused on a value that requires grad)."""
    first, second, target, alias, what, when, dtype, mode = case
    m: Any = gg if engine == "glassgrad" else torch
    rng = np.random.default_rng(7)
    arrays = {"x": rng.uniform(0.5, 1.5, (2, 3)).astype(dtype), "c": rng.uniform(0.5, 1.5, (2, 3)).astype(dtype)}
    w = rng.uniform(-1, 1, (3, 3)).astype(dtype)
    x, c = m.as_tensor(arrays["x"]), m.as_tensor(arrays["c"])
    x.requires_grad_(True)
    if first == "matmul":
        c.requires_grad_(True)
    values = {"x": x, "c": c}

    def change_now() -> None:
        with m.no_grad() if mode == "no_grad" else m.enable_grad():
            CHANGES[what](ALIASES[alias](values[target], arrays.get(target), m))

    try:
        if change and when == "before":
            change_now()
        values["y"] = FIRST[first](x, c, m)
        z = SECOND[second](values["y"], m)
        loss = (z * m.as_tensor(w[: z.shape[0], : z.shape[-1]].reshape(z.shape))).sum()
        if change and when == "after":
            change_now()
        loss.backward()
    except Exception as exc:
        return "raised", f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
    return "grads", [None if t.grad is None else np.array(t.grad) for t in (x, c)]


def compare_view_case(case: tuple[str, ...]) -> tuple[str | None, str | None]:
    """(mismatch, deliberate difference): each a line, or None. Without the change the
    gradient is the same in both engines; a change after the forward pass must be
    refused, or leave the gradient as it was without it."""
    g, t = run_view_case(case, "glassgrad"), run_view_case(case, "torch")
    if g[0] == "raised" and t[0] == "raised":
        return None, None
    unchanged = run_view_case(case, "torch", change=False)
    if g[0] == "raised":
        if "InPlaceError" not in g[1]:
            return f"raises: glassgrad raised {g[1]}; PyTorch did not", None
        if any(differs(tv, uv, uv) for tv, uv in zip(t[1], unchanged[1])):
            return None, "glassgrad refuses a change PyTorch does not see, which makes PyTorch's gradient wrong"
        _, _, target, *_ = case
        whose = "an op's output" if target == "y" else "an op's input"
        return None, f"glassgrad refuses a change of {whose} that PyTorch's backward does not read"
    want = t if t[0] == "grads" else unchanged
    for i, (gv, tv) in enumerate(zip(g[1], want[1])):
        problem = differs(gv, tv, tv)
        if problem:
            return f"grads: grad {i} {problem}", None
    return None, ("PyTorch refuses; glassgrad's gradient is right" if t[0] == "raised" else None)


# -- the run ---------------------------------------------------------------------------

FAMILIES = ("float32", "broadcast", "views", "second", "accumulate")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=60.0, help="time budget of the whole run")
    parser.add_argument("--family", choices=("all", *FAMILIES), default="all")
    args = parser.parse_args()
    families = FAMILIES if args.family == "all" else (args.family,)
    rng = np.random.default_rng(args.seed)
    compared = dict.fromkeys(families, 0)
    skipped = dict.fromkeys(families, 0)
    deliberate: dict[str, int] = {}
    reported: set[str] = set()
    start = time.process_time()
    while time.process_time() - start < args.seconds:
        for family in families:
            with np.errstate(all="ignore"):
                if family == "views":
                    case = random_view_case(rng)
                    found, known = compare_view_case(case)
                    if known:
                        deliberate[known] = deliberate.get(known, 0) + 1
                    if found and found.split(":")[0] + case[0] + case[3] not in reported:
                        reported.add(found.split(":")[0] + case[0] + case[3])
                        print(f"\n[views] {found}\n  case {dict(zip(VIEW_FIELDS, case))}")
                    compared[family] += 1
                    continue
                program = random_program(family, rng)
                try:
                    found = compare(program, family)
                except Skip:
                    skipped[family] += 1
                    continue
                compared[family] += 1
                if found is None:
                    continue
                small, found = shrink(program, family, found)
                key = family + found.split(":")[0] + " ".join(str(s[:2]) for s in small if s[0] != "leaf")
                if key not in reported:
                    reported.add(key)
                    print(f"\n[{family}] {found}\n{render(small)}")
    cpu = time.process_time() - start
    print(f"\nseed {args.seed}, {cpu:.0f} s of CPU: compared " + ", ".join(f"{n:,} {f}" for f, n in compared.items()))
    print(f"graphs skipped (PyTorch's own values not finite, or nothing to differentiate): {sum(skipped.values()):,}")
    print(f"mismatches reported: {len(reported)}")
    if PYTORCH_RETAINED:
        print(f"PyTorch's retained graph differs from its fresh graphs: {len(PYTORCH_RETAINED):,} programs, as")
        print(render(min(PYTORCH_RETAINED, key=len)))
    for known, n in sorted(deliberate.items()):
        print(f"deliberate difference, {n:,} cases: {known}")


if __name__ == "__main__":
    main()
