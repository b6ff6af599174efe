"""NumPy functions on Tensors: record glassgrad's own op, or refuse in one line.

``np.exp(t)``, ``np.dot(a, t)``, ``np.sum(t, axis=0)`` and the other calls in
:data:`UFUNCS` and :data:`FUNCTIONS` reach ``Tensor.__array_ufunc__`` /
``Tensor.__array_function__`` (NEP 13 and NEP 18) and run the glassgrad function of
the same meaning, so the result is a Tensor in the graph, exactly as if the user had
called ``glassgrad.exp(t)``. Comparisons and value tests (:data:`PREDICATES`, such as
``array < t`` and ``np.isnan(t)``) and questions answered with booleans or indices
(:data:`QUESTIONS`: ``np.allclose``, ``np.argmax``, ...) have no gradient: they give
the answer about the data, as the comparison operators do. Any other NumPy function would compute on the bare array
and drop the gradient without a word, so it raises a ``TypeError`` that names the
glassgrad function to use, or ``.detach()`` to leave the graph on purpose.

``np.asarray(t)`` and ``np.array(t)`` are not NumPy functions in this sense: they
convert through ``Tensor.__array__``, which gives the data of a value that does not
require grad (a read-only view, or a copy) and refuses one that does, since NumPy
converts there without a word, also each Tensor in a list (``np.sum([a, b])``).

The tables map NumPy's functions to the op functions in :mod:`glassgrad.ops` by name;
only where NumPy spells an argument differently is there a small adapter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from . import ops
from .ops.base import read_values

_NOVALUE: Any = getattr(np, "_NoValue", None)


def _reshape(a: Any, shape: Any = None, *, newshape: Any = None, order: str = "C", copy: Any = None) -> Any:
    if order != "C" or copy:
        raise TypeError("numpy.reshape on a graph value: only order='C' without copy is recorded")
    return ops.reshape(a, shape if shape is not None else newshape)


def _clip(a: Any, a_min: Any = _NOVALUE, a_max: Any = _NOVALUE, *, min: Any = None, max: Any = None) -> Any:
    lo = min if a_min is _NOVALUE or a_min is None else a_min
    hi = max if a_max is _NOVALUE or a_max is None else a_max
    return ops.clip(a, lo, hi)


def _sum(a: Any, axis: Any = None, *, keepdims: bool = False) -> Any:
    return ops.sum(a, axis=axis, keepdims=keepdims)


def _mean(a: Any, axis: Any = None, *, keepdims: bool = False) -> Any:
    return ops.mean(a, axis=axis, keepdims=keepdims)


def _max(a: Any, axis: Any = None, *, keepdims: bool = False) -> Any:
    return ops.max(a, axis=axis, keepdims=keepdims)


def _min(a: Any, axis: Any = None, *, keepdims: bool = False) -> Any:
    return ops.min(a, axis=axis, keepdims=keepdims)


def _var(a: Any, axis: Any = None, *, keepdims: bool = False, ddof: int = 0) -> Any:
    return ops.var(a, axis=axis, keepdims=keepdims, ddof=ddof)


def _square(x: Any) -> Any:
    """x² elementwise: the power op with c = 2."""
    return ops.power(x, 2)


#: NumPy ufunc -> the glassgrad function it records (called with the same operands).
UFUNCS: dict[np.ufunc, Callable[..., Any]] = {
    np.add: ops.add,
    np.subtract: ops.sub,
    np.multiply: ops.mul,
    np.true_divide: ops.div,
    np.negative: ops.neg,
    np.power: ops.power,
    np.exp: ops.exp,
    np.log: ops.log,
    np.sqrt: ops.sqrt,
    np.tanh: ops.tanh,
    np.absolute: ops.abs_,
    np.square: _square,
    np.matmul: ops.matmul,
    np.maximum: ops.maximum,
    np.minimum: ops.minimum,
}

#: NumPy function -> the glassgrad function it records (called with the same arguments).
FUNCTIONS: dict[Callable[..., Any], Callable[..., Any]] = {
    np.dot: ops.dot,
    np.sum: _sum,
    np.mean: _mean,
    np.max: _max,
    np.amax: _max,
    np.min: _min,
    np.amin: _min,
    np.var: _var,
    np.squeeze: ops.squeeze,
    np.expand_dims: ops.unsqueeze,
    np.broadcast_to: ops.broadcast_to,
    np.reshape: _reshape,
    np.transpose: ops.transpose,
    np.stack: ops.stack,
    np.concatenate: ops.concatenate,
    np.where: ops.where,
    np.clip: _clip,
}

# Comparisons and tests of the values: boolean results, nothing to differentiate, so
# they see the data (as the comparison operators do).
PREDICATES = frozenset(
    {np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal, np.isnan, np.isinf, np.isfinite}
)

# Questions about the array's layout, not its values: nothing to differentiate.
_LAYOUT: dict[Callable[..., Any], Callable[[Any], Any]] = {
    np.shape: lambda t: t.shape,
    np.ndim: lambda t: t.ndim,
    np.size: lambda t: t.size,
}

#: Functions whose results are booleans or indices, which have no gradient: they see
#: the data (as PREDICATES do).
QUESTIONS = frozenset(
    {np.allclose, np.isclose, np.array_equal, np.argmax, np.argmin, np.count_nonzero, np.any, np.all, np.nonzero}
)


def _read(values: Iterable[Any], what: str) -> list[Any]:
    """The data of graph values (see ops.base.read_values), other arguments as they are."""
    return [read_values(x, what) for x in values]


def array_ufunc(ufunc: np.ufunc, method: str, inputs: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    """``Tensor.__array_ufunc__``: record the ufunc's glassgrad op, or refuse."""
    if ufunc in PREDICATES and method == "__call__" and not kwargs:
        return ufunc(*_read(inputs, f"numpy.{ufunc.__name__}"))
    fn = UFUNCS.get(ufunc)
    if fn is None or method != "__call__" or kwargs:
        raise TypeError(_refusal(f"numpy.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}"), kwargs))
    return fn(*inputs)


def array_function(func: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    """``Tensor.__array_function__``: record the function's glassgrad op, or refuse."""
    if func in QUESTIONS:
        what = f"numpy.{func.__name__}"
        return func(*_read(args, what), **dict(zip(kwargs, _read(kwargs.values(), what))))
    fn = FUNCTIONS.get(func)
    if fn is None:
        layout = _LAYOUT.get(func)
        if layout is not None and len(args) == 1 and not kwargs:
            return layout(args[0])
        raise TypeError(_refusal(f"numpy.{func.__name__}", {}))
    if kwargs.get("out") is not None:
        raise TypeError(_refusal(f"numpy.{func.__name__}", kwargs))
    kwargs = {k: v for k, v in kwargs.items() if k != "out"}
    try:
        return fn(*args, **kwargs)
    except TypeError as exc:
        if "argument" not in str(exc):
            raise
        raise TypeError(
            f"numpy.{func.__name__} on a graph value records glassgrad's op, which takes no such "
            f"argument ({exc}); call glassgrad's function directly, or .detach() first"
        ) from None


def _refusal(name: str, kwargs: dict[str, Any]) -> str:
    """One line: why ``name`` is refused on a graph value and what to call instead."""
    if kwargs.get("out") is not None:
        return (
            f"{name}(..., out=...) on a graph value would change it behind the graph's back; "
            "use the tensor's in-place operators (under no_grad() when it requires grad)"
        )
    short = name.rsplit(".", 1)[-1]
    ours = getattr(ops, short, None) or getattr(ops, short + "_", None)
    instead = f"glassgrad.{short}" if ours is not None else "a glassgrad op"
    detail = f" with {', '.join(sorted(kwargs))}" if kwargs else ""
    return (
        f"{name}{detail} is not recorded on a graph value and would drop its gradient: use "
        f"{instead}, or call .detach() first to leave the graph"
    )
