"""Ops that move elements without computing new values: reshape, transpose,
broadcast_to, indexing, concatenate and stack. Their backward moves the gradient
back the same way (indexing scatters it, adding where an index repeats).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from ..graph import Function
from .base import as_raw, call, normalize_axis, sum_to


class Reshape(Function, register=True):
    """y = x viewed with a new shape;  ∂L/∂x = ∂L/∂y reshaped back"""

    category = "shape"
    reads_inputs = False

    @staticmethod
    def reference(x, shape):
        return np.reshape(x, shape)  # positionally: numpy 2.0 names the keyword newshape

    @staticmethod
    def forward(ctx, x, shape):
        return np.reshape(x, shape)

    @staticmethod
    def backward(ctx, g, y, x):
        return (reshape(g, x.shape),)

    @staticmethod
    def formulas(ctx, y, x):
        return ("reshape g back",)

    @staticmethod
    def to_onnx(ctx, b, x):
        return b.reshape(x, ctx.parents[0], ctx)


class Transpose(Function, register=True):
    """y = x with axes permuted;  ∂L/∂x = ∂L/∂y with the inverse permutation"""

    category = "shape"
    reads_inputs = False
    reference = np.transpose

    class Saved(NamedTuple):
        axes: tuple[int, ...]  # the permutation, non-negative

    @staticmethod
    def forward(ctx, x, axes):
        axes = tuple(reversed(range(x.ndim))) if axes is None else tuple(int(a) % max(x.ndim, 1) for a in axes)
        if sorted(axes) != list(range(x.ndim)):
            raise ValueError(f"axes {axes} are not a permutation of the {x.ndim} axes")
        ctx.saved = Transpose.Saved(axes)
        return np.transpose(x, axes)

    @staticmethod
    def backward(ctx, g, y, x):
        return (transpose(g, tuple(np.argsort(ctx.saved.axes))),)

    @staticmethod
    def formulas(ctx, y, x):
        return ("transpose g back",)

    @staticmethod
    def to_onnx(ctx, b, x):
        # A 0-d value has no axes to permute (and ONNX no empty perm).
        return b.op("Transpose", x, perm=list(ctx.saved.axes)) if ctx.saved.axes else b.op("Identity", x)


class BroadcastTo(Function, register=True):
    """y = x repeated along broadcast axes;  ∂L/∂x = ∂L/∂y summed over them"""

    category = "shape"
    name = "broadcast_to"
    reads_inputs = False
    reference = np.broadcast_to

    @staticmethod
    def forward(ctx, x, shape):
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, g, y, x):
        return (sum_to(g, x.shape),)

    @staticmethod
    def formulas(ctx, y, x):
        return ("sum g over the broadcast axes",)

    @staticmethod
    def to_onnx(ctx, b, x):
        # Expand broadcasts its input against the shape given: a 1 keeps the input's
        # length, which is how an axis that follows the batch size stays free.
        shape, source = list(ctx.data.shape), ctx.parents[0]
        lead = len(shape) - np.ndim(source.data)
        kept = {lead + i for i in b.batch_axes(source)}
        for i in b.batch_axes(ctx):
            if i not in kept:
                raise b.refuse(
                    f"the op broadcast_to {tuple(shape)} makes axis {i} follow the batch size from a value "
                    f"of shape {np.shape(source.data)} that does not"
                )
            shape[i] = 1
        return b.op("Expand", x, b.ints(shape))


def _is_basic_index(key: Any) -> bool:
    """True when ``x[key]`` selects each element at most once (ints, slices, None, ...)."""
    parts = key if isinstance(key, tuple) else (key,)
    return all(isinstance(k, (int, np.integer, slice, type(None), type(Ellipsis))) for k in parts)


class Index(NamedTuple):
    """What indexing and its adjoint save: the index."""

    key: Any


class GetItem(Function, register=True):
    """y = x[key];  ∂L/∂x = zeros with ∂L/∂y scattered (added) at the selected places"""

    category = "shape"
    name = "getitem"
    reads_inputs = False
    Saved = Index

    @staticmethod
    def reference(x, key):
        return x[key]

    @staticmethod
    def forward(ctx, x, key):
        ctx.saved = Index(key)
        return x[key]

    @staticmethod
    def backward(ctx, g, y, x):
        return (scatter_add(g, ctx.saved.key, x.shape),)

    @staticmethod
    def formulas(ctx, y, x):
        return ("scatter g into zeros",)


class ScatterAdd(Function, register=True):
    """y = zeros(shape) with v added at [key];  ∂L/∂v = (∂L/∂y)[key]

    The adjoint of indexing, so that indexing has gradients of every order.
    """

    category = "shape"
    name = "scatter_add"
    reads_inputs = False
    Saved = Index

    @staticmethod
    def reference(v, key, shape):
        out = np.zeros(shape, dtype=v.dtype)
        np.add.at(out, key, v)
        return out

    @staticmethod
    def forward(ctx, v, key, shape):
        ctx.saved = Index(key)
        out = np.zeros(shape, dtype=np.result_type(v))
        if _is_basic_index(key):
            out[key] = v
        else:  # an advanced index may repeat positions: add, don't overwrite
            np.add.at(out, key, v)
        return out

    @staticmethod
    def backward(ctx, g, y, v):
        return (getitem(g, ctx.saved.key),)

    @staticmethod
    def formulas(ctx, y, v):
        return ("g[key]",)


class Axis(NamedTuple):
    """What joining saves: the axis the inputs were joined along."""

    axis: int


class Concatenate(Function, register=True):
    """y = [x₁, x₂, …] joined along ``axis``;  ∂L/∂xᵢ = the matching slice of ∂L/∂y"""

    category = "shape"
    reads_inputs = False
    Saved = Axis

    @staticmethod
    def reference(*xs, axis):
        return np.concatenate(xs, axis=axis)

    @staticmethod
    def forward(ctx, *xs, axis):
        ctx.saved = Axis(axis)
        return np.concatenate(xs, axis=axis)

    @staticmethod
    def backward(ctx, g, y, *xs):
        axis = normalize_axis(ctx.saved.axis, len(xs[0].shape))[0]
        grads, start = [], 0
        for x in xs:
            stop = start + x.shape[axis]
            grads.append(getitem(g, (slice(None),) * axis + (slice(start, stop),)))
            start = stop
        return grads

    @staticmethod
    def formulas(ctx, y, *xs):
        return tuple(f"slice {i} of g" for i in range(len(xs)))

    @staticmethod
    def to_onnx(ctx, b, *xs):
        return b.op("Concat", *xs, axis=int(ctx.saved.axis))


class Stack(Function, register=True):
    """y = [x₁, x₂, …] stacked along a new ``axis``;  ∂L/∂xᵢ = ∂L/∂y taken at index i"""

    category = "shape"
    reads_inputs = False
    Saved = Axis

    @staticmethod
    def reference(*xs, axis):
        return np.stack(xs, axis=axis)

    @staticmethod
    def forward(ctx, *xs, axis):
        out = np.stack(xs, axis=axis)
        ctx.saved = Axis(int(axis) % out.ndim)
        return out

    @staticmethod
    def backward(ctx, g, y, *xs):
        axis = ctx.saved.axis
        return [getitem(g, (slice(None),) * axis + (i,)) for i in range(len(xs))]

    @staticmethod
    def formulas(ctx, y, *xs):
        return tuple(f"g[{i}]" for i in range(len(xs)))


def reshape(x: Any, *shape: Any) -> Any:
    """x with a new shape (one dimension may be -1)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return call(Reshape, x, shape=tuple(int(n) for n in shape))


def transpose(x: Any, axes: Sequence[int] | None = None) -> Any:
    """Permute the axes (reverse them by default, as ``x.T``)."""
    return call(Transpose, x, axes=None if axes is None else tuple(axes))


def broadcast_to(x: Any, shape: Sequence[int]) -> Any:
    """x repeated to ``shape`` by numpy's broadcasting rules (a read-only view on raw data)."""
    return call(BroadcastTo, x, shape=tuple(shape))


def getitem(x: Any, key: Any) -> Any:
    """``x[key]`` with numpy's basic and advanced indexing."""
    return call(GetItem, x, key=key)


def scatter_add(g: Any, key: Any, shape: Sequence[int]) -> Any:
    """zeros(shape) with ``g`` added at ``[key]`` (repeated indices add up)."""
    return call(ScatterAdd, g, key=key, shape=tuple(shape))


def concatenate(xs: Sequence[Any], axis: int | None = 0) -> Any:
    """Join values along an existing axis; ``axis=None`` joins them flattened (as numpy)."""
    if len(xs) == 0:
        raise ValueError("concatenate needs at least one value")
    if axis is None:
        return call(Concatenate, *[reshape(x, -1) for x in xs], axis=0)
    return call(Concatenate, *xs, axis=axis)


def stack(xs: Sequence[Any], axis: int = 0) -> Any:
    """Join values of one shape along a new axis."""
    if len(xs) == 0:
        raise ValueError("stack needs at least one value")
    return call(Stack, *xs, axis=axis)


def flatten(x: Any, start_axis: int = 0, end_axis: int = -1) -> Any:
    """x with the axes ``start_axis`` … ``end_axis`` merged into one (all of them by
    default; ``flatten(images, 1)`` turns (N, 28, 28) into (N, 784)). A reshape."""
    shape = tuple(np.shape(as_raw(x)))
    if not shape:
        return reshape(x, (1,))
    start, end = (normalize_axis(a, len(shape))[0] for a in (start_axis, end_axis))
    if start > end:
        raise ValueError(f"flatten: start_axis {start_axis} comes after end_axis {end_axis} for shape {shape}")
    return reshape(x, (*shape[:start], int(np.prod(shape[start : end + 1])), *shape[end + 1 :]))


def squeeze(x: Any, axis: int | tuple[int, ...] | None = None) -> Any:
    """x without the given size-1 axes (all of them by default). A reshape."""
    shape = tuple(np.shape(as_raw(x)))
    axes = normalize_axis(axis, len(shape)) if axis is not None else tuple(i for i, n in enumerate(shape) if n == 1)
    for a in axes:
        if shape[a] != 1:
            raise ValueError(f"squeeze: axis {a} of shape {shape} has size {shape[a]}, not 1")
    return reshape(x, tuple(n for i, n in enumerate(shape) if i not in axes))


def unsqueeze(x: Any, axis: int | tuple[int, ...]) -> Any:
    """x with a new size-1 axis at position ``axis`` of the result, or one at each of
    several positions (as ``numpy.expand_dims``). A reshape."""
    shape = tuple(np.shape(as_raw(x)))
    n = 1 if isinstance(axis, (int, np.integer)) else len(axis)
    new = normalize_axis(axis, len(shape) + n)
    if len(set(new)) != n:
        raise ValueError(f"unsqueeze: axis {axis} names a position twice")
    rest = iter(shape)
    return reshape(x, tuple(1 if i in new else next(rest) for i in range(len(shape) + n)))
