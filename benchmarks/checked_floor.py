"""The least eager engines that keep glassgrad's promises, for the W2 step (logistic
regression on a minibatch, SGD): what such an engine costs at least, beside NumPy by
hand. guarantees.py times them.

The promises, each kept here in the least code:

- a grad mode per thread, switched by a ``with`` block (``no_grad``);
- in-place writes refused while recording, made under the lock backward holds, and
  stamped with a clock reading per array; backward refuses an op whose inputs changed
  after it used them;
- the targets of the loss tested to lie in [0, 1];
- gradients checked for their shape and dtype, and stored as copies (never an alias
  of another gradient or of the caller's array).

:class:`Tape` hard-codes W2's three ops as closures on a tape, swept in creation order.
:class:`Engine` is the least *general* engine: any graph of its ops (``@``, ``+``,
``bce_with_logits``), the nodes backward reaches found and ordered from the loss,
each op's gradient rule called through the node, broadcast gradients summed back.
"""

from __future__ import annotations

import itertools
import operator
import threading
from typing import Any

import numpy as np

#: NumPy's count of a mask without its Python wrapper, and the bounds as 0-d arrays,
#: as glassgrad's domain test takes them.
_count_nonzero = getattr(getattr(np, "_core", None), "multiarray", np).count_nonzero
_ZERO, _ONE = np.array(0.0), np.array(1.0)

_clock = itertools.count(1)
_local = threading.local()
_lock = threading.RLock()
_switched: list[None] = []  # one entry per grad mode switched off in any thread: read first
_changed: dict[int, int] = {}  # id(array) -> clock reading of its last in-place change
_last_change = 0
_REACHED = object()
_seq = operator.attrgetter("seq")


class NoGrad:
    """``with NoGrad():`` records nothing in this thread."""

    __slots__ = ("old",)

    def __enter__(self) -> None:
        self.old = not _switched or getattr(_local, "grad", True)
        _switched.append(None)
        _local.grad = False

    def __exit__(self, *exc: object) -> None:
        _local.grad = self.old
        _switched.pop()


def _check_targets(y: np.ndarray) -> None:
    if _count_nonzero(y < _ZERO) or _count_nonzero(y > _ONE):
        raise ValueError("targets outside [0, 1]")


class Value:
    """A value of either engine: its array, its gradient, and (when recorded) its
    inputs, its gradient rule and its clock reading (−1: a leaf that requires grad)."""

    __slots__ = ("data", "grad", "inputs", "pending", "seq", "vjp")

    def __init__(self, data: Any, requires_grad: bool = False, inputs: tuple = (), vjp: Any = None) -> None:
        self.data, self.grad, self.pending = data, None, None
        if vjp is not None and (not _switched or getattr(_local, "grad", True)):  # recording
            self.inputs, self.vjp, self.seq = inputs, vjp, next(_clock)
        else:
            self.inputs, self.vjp, self.seq = (), None, -1 if requires_grad else 0

    def __isub__(self, value: Any) -> Value:
        global _last_change
        if self.seq and (not _switched or getattr(_local, "grad", True)):  # recording
            raise RuntimeError("an in-place change of a value that requires grad, while recording")
        _lock.acquire()  # not ``with``: acquire and release cost less
        try:
            self.data -= value
            _last_change = _changed[id(self.data)] = next(_clock)
        finally:
            _lock.release()
        return self

    def store(self, g: Any) -> None:
        if g.shape != self.data.shape or (g.dtype is not self.data.dtype and g.dtype != self.data.dtype):
            raise ValueError("a gradient of another shape or dtype than its value")
        self.grad = np.array(g) if self.grad is None else self.grad + g  # np.array copies

    def zero_grad(self) -> None:
        _lock.acquire()
        try:
            self.grad = None
        finally:
            _lock.release()

    # -- Engine's ops --------------------------------------------------------------------
    def __matmul__(self, other: Value) -> Value:
        recorded = self.seq or other.seq
        return Value(self.data @ other.data, False, (self, other), _matmul_vjp if recorded else None)

    def __add__(self, other: Value) -> Value:
        recorded = self.seq or other.seq
        return Value(self.data + other.data, False, (self, other), _add_vjp if recorded else None)


def _matmul_vjp(g: np.ndarray, a: Value, b: Value) -> tuple[Any, Any]:
    """A matrix times a vector: ∂L/∂A = g bᵀ, ∂L/∂b = Aᵀ g."""
    return (np.outer(g, b.data) if a.seq else None), (a.data.T @ g if b.seq else None)


def _add_vjp(g: np.ndarray, a: Value, b: Value) -> tuple[Any, Any]:
    return g, g


def bce_with_logits(z: Value, y: Value) -> Value:
    """mean(softplus(z) − y·z); ∂/∂z = (σ(z) − y)/n, σ(z) = exp(z − softplus(z))."""
    _check_targets(y.data)
    sp = np.logaddexp(0.0, z.data)
    n = sp.size
    loss = np.add.reduce(sp - y.data * z.data) / n

    def vjp(g: Any, z: Value, y: Value) -> tuple[Any, Any]:
        return (g / n * (np.exp(z.data - sp) - y.data) if z.seq else None), None

    return Value(loss, False, (z, y), vjp if z.seq else None)


def backward(loss: Value) -> None:
    """The chain rule from ``loss`` over the nodes it reaches, newest first."""
    with _lock:
        order, stack = [], [loss]
        loss.pending = _REACHED
        while stack:
            node = stack.pop()
            order.append(node)
            for p in node.inputs:
                if p.seq and p.pending is None:
                    p.pending = _REACHED
                    stack.append(p)
        order.sort(key=_seq, reverse=True)
        loss.pending = np.array(1.0)
        for node in order:
            g, node.pending = node.pending, None
            if g is _REACHED:  # reached, but no path to it carried a gradient
                continue
            if node.vjp is None:
                node.store(g)
                continue
            if _last_change > node.seq and any(_changed.get(id(p.data), 0) > node.seq for p in node.inputs):
                raise RuntimeError("an input changed in place after the op used it")
            for p, gp in zip(node.inputs, node.vjp(g, *node.inputs)):
                if gp is None or not p.seq:
                    continue
                if gp.shape != p.data.shape:  # broadcast: summed back to the input's shape
                    gp = np.add.reduce(gp, axis=None) if not p.data.shape else gp.sum(axis=0)
                p.pending = gp if p.pending is _REACHED else p.pending + gp
            node.inputs = node.vjp = None


class Engine:
    """W2's step written as a user of the general engine writes it."""

    @staticmethod
    def step(X: Value, y: Value, w: Value, b: Value, lr: float) -> None:
        backward(bce_with_logits(X @ w + b, y))
        with NoGrad():
            w -= lr * w.grad
            b -= lr * b.grad
        w.zero_grad()
        b.zero_grad()


class Tape:
    """W2's three ops as closures on a tape, with the same promises."""

    @staticmethod
    def step(X: np.ndarray, y: np.ndarray, w: Value, b: Value, lr: float) -> None:
        _check_targets(y)
        n = len(y)
        xw = Value(X @ w.data, inputs=(w,), vjp=lambda g: (X.T @ g,))
        z = Value(xw.data + b.data, inputs=(xw, b), vjp=lambda g: (g, np.add.reduce(g)))
        sp = np.logaddexp(0.0, z.data)
        loss = Value(
            np.add.reduce(sp - y * z.data) / n, inputs=(z,), vjp=lambda g: (g / n * (np.exp(z.data - sp) - y),)
        )
        with _lock:
            loss.grad = np.array(1.0)
            for op in (loss, z, xw):
                if _last_change > op.seq and any(_changed.get(id(p.data), 0) > op.seq for p in op.inputs):
                    raise RuntimeError("an input changed in place after the op used it")
                for p, g in zip(op.inputs, op.vjp(op.grad)):
                    if p.vjp is None:
                        p.store(g)
                    else:
                        p.grad = g if p.grad is None else p.grad + g
        with NoGrad():
            w -= lr * w.grad
            b -= lr * b.grad
        with _lock:
            w.grad = b.grad = None
