"""Reductions: sum, mean, max, min and variance over axes (and argmax, which has no
gradient).

The backward of a reduction spreads the gradient back over the reduced axes:
``reshape`` restores the reduced axes as size 1 and ``broadcast_to`` copies the
gradient along them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

import numpy as np

from ..graph import Function
from .base import call, normalize_axis, read_values
from .shape import broadcast_to, reshape

Axis = int | tuple[int, ...] | None


def _kept_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Axes(NamedTuple):
    """What a reduction saves: the reduced axes, sorted and non-negative."""

    axes: tuple[int, ...]


def keeps_dims(ctx: Any) -> bool:
    """Whether a recorded reduction kept its reduced axes (as size 1)."""
    return bool(np.ndim(ctx.data) == np.ndim(ctx.parents[0].data))


def _axes_detail(ctx: Any) -> str:
    """``axis=…`` when the reduction keeps some axes (a total needs no label)."""
    axes = ctx.saved.axes
    return f"axis={axes}" if len(axes) < len(getattr(ctx.parents[0].data, "shape", ())) else ""


class Sum(Function, register=True):
    """y = Σ x over ``axis``;  ∂y/∂x = 1 for every summed element"""

    category = "reduction"
    reads_inputs = False
    reference = np.sum
    Saved = Axes

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        axes = normalize_axis(axis, x.ndim)
        ctx.saved = Axes(axes)
        return x.sum(axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g, y, x):
        shape = x.shape
        return (broadcast_to(reshape(g, _kept_shape(shape, ctx.saved.axes)), shape),)

    @staticmethod
    def formulas(ctx, y, x):
        return ("1",)

    detail = staticmethod(_axes_detail)

    @staticmethod
    def to_onnx(ctx, b, x):
        return b.reduce("Sum", x, ctx.saved.axes, keeps_dims(ctx))


class Mean(Function, register=True):
    """y = (1/n) Σ x over ``axis`` (n elements reduced);  ∂y/∂x = 1/n"""

    category = "reduction"
    reads_inputs = False
    reference = np.mean

    class Saved(NamedTuple):
        axes: tuple[int, ...]
        n: int  # elements reduced into each output element

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        axes = normalize_axis(axis, x.ndim)
        n = 1
        for a in axes:
            n *= x.shape[a]
        if n == 0:
            raise ValueError(f"mean over an empty axis of shape {x.shape}")
        ctx.saved = Mean.Saved(axes, n)
        return x.mean(axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g, y, x):
        shape = x.shape
        return (broadcast_to(reshape(g / ctx.saved.n, _kept_shape(shape, ctx.saved.axes)), shape),)

    @staticmethod
    def formulas(ctx, y, x):
        return (f"1/{ctx.saved.n}",)

    detail = staticmethod(_axes_detail)

    @staticmethod
    def to_onnx(ctx, b, x):
        return b.reduce("Mean", x, ctx.saved.axes, keeps_dims(ctx))


def _to_selected(g: Any, y: Any, x: Any, axes: tuple[int, ...]) -> Any:
    """The gradient of max and min: g goes to the element(s) equal to the result,
    shared equally among ties."""
    shape = x.shape
    kept = _kept_shape(shape, axes)
    # Comparisons give constant masks, on raw data and on graph values alike.
    mask = x == reshape(y, kept)
    share = (mask / mask.sum(axis=axes, keepdims=True)).astype(x.dtype)
    return broadcast_to(reshape(g, kept), shape) * share


def _select(ctx: Any, x: Any, axis: Any, keepdims: bool, extreme: Any) -> Any:
    """The forward of max and min (``extreme``): an empty axis has no such element."""
    axes = normalize_axis(axis, x.ndim)
    if any(x.shape[a] == 0 for a in axes):
        raise ValueError(f"{extreme.__name__} over an empty axis of shape {x.shape}")
    ctx.saved = Axes(axes)
    return extreme(x, axis=axes, keepdims=keepdims)


class Max(Function, register=True):
    """y = max x over ``axis``;  ∂y/∂x = 1 at the maximum, 0 elsewhere.

    Ties share the gradient equally (each of k tied maxima gets 1/k), the average of
    the one-sided derivatives: a tie is a kink.
    """

    category = "reduction"
    kinks = ("ties",)
    # Declared as Function's, so that Min's np.min, typed apart from np.max, may replace it.
    reference: ClassVar[Callable[..., Any] | None] = np.max
    Saved = Axes

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        return _select(ctx, x, axis, keepdims, np.max)

    @staticmethod
    def backward(ctx, g, y, x):
        return (_to_selected(g, y, x, ctx.saved.axes),)

    @staticmethod
    def formulas(ctx, y, x):
        return (f"[{x} = {ctx.op}]",)

    detail = staticmethod(_axes_detail)

    @staticmethod
    def to_onnx(ctx, b, x):
        return b.reduce(ctx.op.capitalize(), x, ctx.saved.axes, keeps_dims(ctx))


class Min(Max, register=True):
    """y = min x over ``axis``;  ∂y/∂x = 1 at the minimum, 0 elsewhere (ties share it,
    as in :class:`Max`)"""

    reference = np.min

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        return _select(ctx, x, axis, keepdims, np.min)


class Var(Function, register=True):
    """y = Σ (x − x̄)² / (n − ddof) over ``axis`` (n elements reduced, x̄ their mean);
    ∂y/∂x = 2(x − x̄)/(n − ddof)"""

    class Saved(NamedTuple):
        axes: tuple[int, ...]
        dof: int  # n − ddof, the divisor

    @staticmethod
    def reference(x, axis, keepdims, ddof):
        return np.var(x, axis=axis, keepdims=keepdims, ddof=ddof)

    @staticmethod
    def forward(ctx, x, axis, keepdims, ddof):
        axes = normalize_axis(axis, x.ndim)
        n = 1
        for a in axes:
            n *= x.shape[a]
        if n - ddof <= 0:
            raise ValueError(f"var: {n} elements per result with ddof={ddof} leave no degrees of freedom")
        ctx.saved = Var.Saved(axes, n - ddof)
        return x.var(axis=axes, keepdims=keepdims, ddof=ddof)

    @staticmethod
    def backward(ctx, g, y, x):
        axes = ctx.saved.axes
        centered = x - x.mean(axis=axes, keepdims=True)
        return (reshape(g, _kept_shape(x.shape, axes)) * centered * (2.0 / ctx.saved.dof),)

    @staticmethod
    def formulas(ctx, y, x):
        return (f"2({x} − mean)/{ctx.saved.dof}",)

    detail = staticmethod(_axes_detail)

    @staticmethod
    def to_onnx(ctx, b, x):
        axes = ctx.saved.axes
        centered = b.op("Sub", x, b.reduce("Mean", x, axes, True))
        total = b.reduce("Sum", b.op("Mul", centered, centered), axes, keeps_dims(ctx))
        # n − ddof, with n read at run time when it follows the batch size.
        x_node, dtype = ctx.parents[0], ctx.data.dtype
        ddof = np.prod([np.shape(x_node.data)[a] for a in axes]) - ctx.saved.dof
        return b.op("Div", total, b.op("Sub", b.count(x, x_node, axes, dtype), b.const(ddof, dtype)))


def sum(x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    """Σ x over ``axis`` (all axes by default)."""
    return call(Sum, x, axis=axis, keepdims=keepdims)


def mean(x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    """Arithmetic mean over ``axis`` (all axes by default)."""
    return call(Mean, x, axis=axis, keepdims=keepdims)


def max(x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    """Maximum over ``axis`` (all axes by default); ties share the gradient."""
    return call(Max, x, axis=axis, keepdims=keepdims)


def min(x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    """Minimum over ``axis`` (all axes by default); ties share the gradient."""
    return call(Min, x, axis=axis, keepdims=keepdims)


def var(x: Any, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Any:
    """Variance over ``axis``: Σ(x − x̄)²/(n − ddof). ``ddof=0`` (numpy's default) is the
    population variance; ``ddof=1`` the unbiased sample variance (``torch.var``'s
    default)."""
    if isinstance(ddof, bool) or not isinstance(ddof, (int, np.integer)) or ddof < 0:
        raise ValueError(f"var: ddof must be an integer ≥ 0, got {ddof!r}")
    return call(Var, x, axis=axis, keepdims=keepdims, ddof=int(ddof))


def argmax(x: Any, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
    """The index of the largest element (of the flattened array when ``axis`` is None),
    as a numpy integer array: an index has no gradient, so nothing is recorded."""
    values = read_values(x, "argmax")
    # numpy's stubs type np.argmax by the literal value of keepdims: one call for each.
    index = np.argmax(values, axis=axis, keepdims=True) if keepdims else np.argmax(values, axis=axis)
    return np.asarray(index)
