"""How a public op function reaches its :class:`Function`: on graph values it records
the op, on raw data (floats, numpy arrays) it just computes it.

That one rule is what lets every backward formula be written once: during an ordinary
backward pass the formula sees raw arrays and computes numbers; under
``create_graph=True`` it sees graph values and records a graph of its own.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..graph import Function, Node, RawCtx
from .kernels import kernels_for


def call(fn: type[Function], *args: Any, **params: Any) -> Any:
    """Run ``fn`` on ``args``: recorded when any argument is a graph value, else raw."""
    for a in args:
        if not isinstance(a, Node):
            break
    else:  # all graph values: the usual case, one pass over the arguments
        return fn.apply(*args, **params)
    like = next((a for a in args if isinstance(a, Node)), None)
    if like is None:
        fn.check_domains(args)
        return fn.forward(RawCtx(kernels_for(args[0]), (False,) * len(args)), *args, **params)
    # Wrap numbers and arrays as constants of the graph values' kind.
    kind = type(like)
    return fn.apply(*[x if isinstance(x, Node) else kind._wrap(x, like) for x in args], **params)


def shape_of(x: Any) -> tuple[int, ...]:
    """Shape of raw data or a graph value; a Python number has shape ()."""
    return () if type(x) in (float, int, bool) else x.shape


def broadcast_axes(gshape: tuple[int, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    """The axes of ``gshape`` that numpy broadcasting added to ``shape``: the leading
    axes it prepended and the size-1 axes it stretched. ``sum_to`` sums over them."""
    lead = len(gshape) - len(shape)
    return tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and gshape[lead + i] != 1)


def sum_to(g: Any, shape: tuple[int, ...]) -> Any:
    """Undo numpy broadcasting on a gradient: sum ``g`` over the axes that broadcasting
    prepended or stretched from size 1, so the result has ``shape``.

    If ``a`` of shape (3, 1) was broadcast against (2, 3, 4), ``∂L/∂a`` is ``∂L/∂out``
    summed over axis 0 (prepended) and axis 2 (stretched), kept as (3, 1).
    """
    gshape = shape_of(g)
    if gshape == shape:
        return g
    if not shape:  # to one number: a plain total (a bias's gradient, every step)
        return np.add.reduce(g, axis=None) if isinstance(g, np.ndarray) else g.sum()
    axes = broadcast_axes(gshape, shape)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


def as_raw(x: Any) -> Any:
    """The data of a graph value, or the argument itself."""
    return x._data if isinstance(x, Node) else x


def read_values(x: Any, what: str) -> Any:
    """The data of a graph value that ``what`` uses outside the graph (a mask, an index,
    a weight), or the argument itself: refused while a function is traced when the
    value depends on the traced inputs or on parameters (see ``Node._read``)."""
    if isinstance(x, Node):
        x._read(what)
        return x._data
    return x


def normalize_axis(axis: int | tuple[int, ...] | None, ndim: int) -> tuple[int, ...]:
    """Axes as a sorted tuple of non-negative ints (all axes for None)."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(int(a), ndim)
        out.append(int(a) % ndim)
    return tuple(sorted(out))
