"""Elementwise functions: exp, log, activations, abs, clip and where.

Backward formulas reuse the forward output where that is cheaper and exact
(``exp``, ``sigmoid``, ``tanh``); comparisons such as ``x > 0`` give constant masks,
so the same formula works on raw data and on graph values.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..graph import Function, Node
from .base import as_raw, call
from .domains import POSITIVE


class Exp(Function):
    """y = eˣ;  dy/dx = eˣ = y"""

    @staticmethod
    def forward(ctx, x):
        return ctx.xp.exp(x)

    @staticmethod
    def backward(ctx, g, y, x):
        return (g * y,)


class Log(Function):
    """y = ln x (x > 0);  dy/dx = 1/x"""

    domains = (POSITIVE,)

    @staticmethod
    def forward(ctx, x):
        return ctx.xp.log(x)

    @staticmethod
    def backward(ctx, g, y, x):
        return (g / x,)


class Sigmoid(Function):
    """σ(x) = 1/(1+e⁻ˣ);  dσ/dx = σ(1−σ)"""

    @staticmethod
    def forward(ctx, x):
        return ctx.xp.sigmoid(x)

    @staticmethod
    def backward(ctx, g, s, x):
        return (g * s * (1 - s),)


class Tanh(Function):
    """y = tanh x;  dy/dx = 1 − y²"""

    @staticmethod
    def forward(ctx, x):
        return ctx.xp.tanh(x)

    @staticmethod
    def backward(ctx, g, y, x):
        return (g * (1 - y * y),)


class Relu(Function):
    """y = max(x, 0);  dy/dx = 1 for x > 0, 0 for x < 0 (and 0 at the kink x = 0)"""

    kinks = (0.0,)

    @staticmethod
    def forward(ctx, x):
        return ctx.xp.relu(x)

    @staticmethod
    def backward(ctx, g, y, x):
        return (g * (x > 0),)


class Abs(Function):
    """y = |x|;  dy/dx = sign x (0 at the kink x = 0)"""

    kinks = (0.0,)

    @staticmethod
    def forward(ctx, x):
        return abs(x)

    @staticmethod
    def backward(ctx, g, y, x):
        return (g * (x > 0) - g * (x < 0),)


class Softplus(Function):
    """y = ln(1 + eˣ);  dy/dx = σ(x)"""

    @staticmethod
    def forward(ctx, x):
        return ctx.xp.softplus(x)

    @staticmethod
    def backward(ctx, g, y, x):
        return (g * sigmoid(x),)


class LogSigmoid(Function):
    """y = ln σ(x) = −softplus(−x);  dy/dx = 1 − σ(x) = σ(−x)"""

    name = "log_sigmoid"

    @staticmethod
    def forward(ctx, x):
        return -ctx.xp.softplus(-x)

    @staticmethod
    def backward(ctx, g, y, x):
        return (g * sigmoid(-x),)


class Clip(Function):
    """y = min(max(x, lo), hi);  dy/dx = 1 inside [lo, hi], 0 outside (kinks at lo, hi)"""

    # The kinks sit at the values of the parameters named here (a bound may be None).
    kinks = ("lo", "hi")

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.saved = (lo, hi)
        if type(x) is not float:  # numpy data (np.float64 is a float subclass: not here)
            return np.clip(x, lo, hi)
        # A Scalar's float; either bound may be None.
        if lo is not None:
            x = max(x, lo)
        return x if hi is None else min(x, hi)

    @staticmethod
    def backward(ctx, g, y, x):
        lo, hi = ctx.saved
        inside = True
        if lo is not None:
            inside = inside & (x >= lo)
        if hi is not None:
            inside = inside & (x <= hi)
        return (g * inside,)


class Where(Function):
    """z = a where cond else b;  ∂z/∂a = cond,  ∂z/∂b = not cond"""

    broadcasts = True
    reads_inputs = False

    @staticmethod
    def forward(ctx, a, b, cond):
        ctx.saved = cond
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, g, z, a, b):
        cond = ctx.saved
        return g * cond, g * ~cond


def exp(x: Any) -> Any:
    """eˣ, elementwise."""
    return call(Exp, x)


def log(x: Any) -> Any:
    """Natural logarithm; every element must be > 0 (else :class:`DomainError`)."""
    return call(Log, x)


def sigmoid(x: Any) -> Any:
    """The logistic function σ(x) = 1/(1+e⁻ˣ), computed without overflow."""
    return call(Sigmoid, x)


def tanh(x: Any) -> Any:
    """Hyperbolic tangent."""
    return call(Tanh, x)


def relu(x: Any) -> Any:
    """max(x, 0); its derivative at 0 is taken as 0."""
    return call(Relu, x)


def abs_(x: Any) -> Any:
    """|x|; its derivative at 0 is taken as 0."""
    return call(Abs, x)


def softplus(x: Any) -> Any:
    """ln(1 + eˣ), computed as logaddexp(0, x): finite for any finite x."""
    return call(Softplus, x)


def log_sigmoid(x: Any) -> Any:
    """ln σ(x) = −softplus(−x): the stable way to take the log of a sigmoid."""
    return call(LogSigmoid, x)


def clip(x: Any, lo: float | None = None, hi: float | None = None) -> Any:
    """Limit x to [lo, hi] (either bound may be None); gradient 1 inside, 0 outside."""
    if lo is None and hi is None:
        raise ValueError("clip: give lo, hi or both")
    return call(Clip, x, lo=lo, hi=hi)


def where(cond: Any, a: Any, b: Any) -> Any:
    """Elementwise ``a if cond else b``; ``cond`` is a boolean mask (not differentiated)."""
    cond = np.asarray(as_raw(cond), dtype=bool)
    if not isinstance(a, Node) and not isinstance(b, Node):
        return np.where(cond, a, b)
    return call(Where, a, b, cond=cond)


class Cast(Function):
    """y = x converted to another float dtype;  ∂L/∂x = ∂L/∂y converted back"""

    reads_inputs = False

    @staticmethod
    def forward(ctx, x, dtype):
        return x.astype(dtype, copy=False)

    @staticmethod
    def backward(ctx, g, y, x):
        return (cast(g, x.dtype),)


def cast(x: Any, dtype: Any) -> Any:
    """x as ``dtype`` (e.g. ``np.float32``); the gradient comes back in x's dtype."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"cast: only float dtypes keep gradients, got {dtype}")
    return call(Cast, x, dtype=dtype)
