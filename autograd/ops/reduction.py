"""Reductions: sum, mean and max over axes.

The backward of a reduction spreads the gradient back over the reduced axes:
``reshape`` restores the reduced axes as size 1 and ``broadcast_to`` copies the
gradient along them.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..graph import Function
from .base import call, normalize_axis
from .shape import broadcast_to, reshape

Axis = int | tuple[int, ...] | None


def _kept_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Axes(NamedTuple):
    """What a reduction saves: the reduced axes, sorted and non-negative."""

    axes: tuple[int, ...]


def _axes_detail(ctx: Any) -> str:
    """``axis=…`` when the reduction keeps some axes (a total needs no label)."""
    axes = ctx.saved.axes
    return f"axis={axes}" if len(axes) < len(getattr(ctx.parents[0].data, "shape", ())) else ""


class Sum(Function, register=True):
    """y = Σ x over ``axis``;  ∂y/∂x = 1 for every summed element"""

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


class Mean(Function, register=True):
    """y = (1/n) Σ x over ``axis`` (n elements reduced);  ∂y/∂x = 1/n"""

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


class Max(Function, register=True):
    """y = max x over ``axis``;  ∂y/∂x = 1 at the maximum, 0 elsewhere.

    Ties share the gradient equally (each of k tied maxima gets 1/k), the average of
    the one-sided derivatives: a tie is a kink.
    """

    kinks = ("ties",)
    reference = np.max
    Saved = Axes

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        axes = normalize_axis(axis, x.ndim)
        if any(x.shape[a] == 0 for a in axes):
            raise ValueError(f"max over an empty axis of shape {x.shape}")
        ctx.saved = Axes(axes)
        return x.max(axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g, y, x):
        axes = ctx.saved.axes
        shape = x.shape
        kept = _kept_shape(shape, axes)
        # Comparisons give constant masks, on raw data and on graph values alike.
        mask = x == reshape(y, kept)
        share = (mask / mask.sum(axis=axes, keepdims=True)).astype(x.dtype)
        return (broadcast_to(reshape(g, kept), shape) * share,)

    @staticmethod
    def formulas(ctx, y, x):
        return (f"[{x} = max]",)

    detail = staticmethod(_axes_detail)


def sum(x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    """Σ x over ``axis`` (all axes by default)."""
    return call(Sum, x, axis=axis, keepdims=keepdims)


def mean(x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    """Arithmetic mean over ``axis`` (all axes by default)."""
    return call(Mean, x, axis=axis, keepdims=keepdims)


def max(x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    """Maximum over ``axis`` (all axes by default); ties share the gradient."""
    return call(Max, x, axis=axis, keepdims=keepdims)
