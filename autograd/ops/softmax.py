"""Softmax, log-softmax and log-sum-exp: turning scores into probabilities.

For scores x along an axis,

    logsumexp(x) = ln Σⱼ e^{xⱼ}               ∂/∂xᵢ = e^{xᵢ − logsumexp(x)} = softmaxᵢ(x)
    softmaxᵢ(x)  = e^{xᵢ} / Σⱼ e^{xⱼ}         vjp: s ⊙ (g − Σⱼ gⱼsⱼ)
    log_softmaxᵢ(x) = xᵢ − logsumexp(x)       vjp: g − s·Σⱼ gⱼ

All three shift by m = max x first (e^{x−m} ≤ 1 never overflows, and the largest term
is 1, so the sum never underflows to 0): scores of ±1e4 give exact, finite results.
The Jacobians are not diagonal, so each backward spells out its vector-Jacobian
product instead of multiplying by a derivative.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..graph import Function
from .base import call, normalize_axis
from .elementwise import exp
from .reduction import Axes, _axes_detail, _kept_shape, keeps_dims
from .shape import reshape

Axis = int | tuple[int, ...] | None


def logsumexp_kept(x: np.ndarray, axes: tuple[int, ...]) -> Any:
    """ln Σ e^x over ``axes``, keeping them as size 1, computed as m + ln Σ e^{x−m}.

    An infinite m is not subtracted (∞ − ∞ is NaN): a slice that is all −∞ sums to
    e^{−∞} = 0 and gives −∞, one holding +∞ gives +∞, as the sum itself does.
    """
    m = np.max(x, axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):  # ln 0 = −∞ is the answer, not a mistake
        return np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m


class LogSumExp(Function, register=True):
    """y = ln Σ e^{xᵢ} over ``axis``;  ∂y/∂xᵢ = e^{xᵢ − y} = softmaxᵢ(x)"""

    Saved = Axes

    @staticmethod
    def reference(x, axis, keepdims):
        return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        axes = normalize_axis(axis, x.ndim)
        if any(x.shape[a] == 0 for a in axes):
            raise ValueError(f"logsumexp over an empty axis of shape {x.shape}")
        ctx.saved = Axes(axes)
        y = logsumexp_kept(x, axes)
        return y if keepdims else np.squeeze(y, axis=axes)

    @staticmethod
    def backward(ctx, g, y, x):
        kept = _kept_shape(x.shape, ctx.saved.axes)
        return (reshape(g, kept) * exp(x - reshape(y, kept)),)

    @staticmethod
    def formulas(ctx, y, x):
        return (f"e^({x}−{y})",)

    detail = staticmethod(_axes_detail)

    @staticmethod
    def to_onnx(ctx, b, x):
        axes = ctx.saved.axes
        m = b.reduce("Max", x, axes, True)
        y = b.op("Add", b.op("Log", b.reduce("Sum", b.op("Exp", b.op("Sub", x, m)), axes, True)), m)
        return y if keeps_dims(ctx) else b.op("Squeeze", y, b.ints(axes))


class OneAxis(NamedTuple):
    """What softmax and log-softmax save: the axis the probabilities sum to 1 along."""

    axis: int


def _axis_detail(ctx: Any) -> str:
    return f"axis={ctx.saved.axis}"


def _one_axis(op: str, x: np.ndarray, axis: int) -> int:
    if x.ndim == 0:
        raise ValueError(f"{op} needs at least one axis to normalize along, got a 0-d array")
    (a,) = normalize_axis(int(axis), x.ndim)
    if x.shape[a] == 0:
        raise ValueError(f"{op} along an empty axis {axis} of shape {x.shape}")
    return a


class Softmax(Function, register=True):
    """sᵢ = e^{xᵢ} / Σⱼ e^{xⱼ} along ``axis``;  ∂sᵢ/∂xⱼ = sᵢ(δᵢⱼ − sⱼ), so the
    vector-Jacobian product is s ⊙ (g − Σⱼ gⱼsⱼ)"""

    reads_inputs = False
    Saved = OneAxis

    @staticmethod
    def reference(x, axis):
        e = np.exp(x)
        return e / np.sum(e, axis=axis, keepdims=True)

    @staticmethod
    def forward(ctx, x, axis):
        a = _one_axis("softmax", x, axis)
        ctx.saved = OneAxis(a)
        e = np.exp(x - np.max(x, axis=a, keepdims=True))
        return e / np.sum(e, axis=a, keepdims=True)

    @staticmethod
    def backward(ctx, g, s, x):
        return (s * (g - (g * s).sum(axis=ctx.saved.axis, keepdims=True)),)

    @staticmethod
    def formulas(ctx, s, x):
        return (f"{s}⊙(g − Σ g⊙{s})",)

    detail = staticmethod(_axis_detail)

    @staticmethod
    def to_onnx(ctx, b, x):
        return b.op("Softmax", x, axis=ctx.saved.axis)


class LogSoftmax(Function, register=True):
    """yᵢ = xᵢ − ln Σⱼ e^{xⱼ} along ``axis``;  ∂yᵢ/∂xⱼ = δᵢⱼ − softmaxⱼ(x), so the
    vector-Jacobian product is g − e^y·Σⱼ gⱼ"""

    name = "log_softmax"
    reads_inputs = False
    Saved = OneAxis

    @staticmethod
    def reference(x, axis):
        return x - np.log(np.sum(np.exp(x), axis=axis, keepdims=True))

    @staticmethod
    def forward(ctx, x, axis):
        a = _one_axis("log_softmax", x, axis)
        ctx.saved = OneAxis(a)
        return x - logsumexp_kept(x, (a,))

    @staticmethod
    def backward(ctx, g, y, x):
        return (g - exp(y) * g.sum(axis=ctx.saved.axis, keepdims=True),)

    @staticmethod
    def formulas(ctx, y, x):
        return (f"g − e^{y}·Σ g",)

    detail = staticmethod(_axis_detail)

    @staticmethod
    def to_onnx(ctx, b, x):
        return b.op("LogSoftmax", x, axis=ctx.saved.axis)


def logsumexp(x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    """ln Σ eˣ over ``axis`` (all axes by default), without overflow."""
    return call(LogSumExp, x, axis=axis, keepdims=keepdims)


def softmax(x: Any, axis: int = -1) -> Any:
    """Probabilities e^{xᵢ}/Σⱼ e^{xⱼ} along ``axis`` (the last by default): each slice
    along it is positive and sums to 1."""
    return call(Softmax, x, axis=axis)


def log_softmax(x: Any, axis: int = -1) -> Any:
    """ln softmax(x) along ``axis``, computed as x − logsumexp(x): exact where softmax
    rounds to 0."""
    return call(LogSoftmax, x, axis=axis)
