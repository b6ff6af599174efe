"""Scalar: a Python float in the graph — the micrograd-sized view of the engine.

Scalars run the same ops and the same backward driver as Tensors; their kernels use
the ``math`` module, which is fast on single numbers.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

from .errors import GradError, mixed_kinds
from .graph import Function, Node
from .operators import Operators
from .ops.kernels import FloatKernels


def _to_float(x: Any) -> float:
    """The float a number stands for, as Python's ``float()`` converts it: an int, a
    float, a ``Fraction`` (any ``numbers.Real``), a NumPy real scalar, a one-element real
    array. Bools are not numbers here (an operand may be one: see ``Scalar._wrap``)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        import numpy as np

        if isinstance(x, np.ndarray) and x.size == 1 and x.dtype.kind in "fiu":
            return float(x.item())
        if isinstance(x, (bool, np.bool_)) or not isinstance(x, (np.floating, np.integer, numbers.Real)):
            raise TypeError(f"a Scalar holds one real number, got {type(x).__name__} {x!r}")
    try:
        return float(x)
    except OverflowError:
        raise OverflowError(
            f"a Scalar holds one float, and {_short(x)} is beyond the largest float (about 1.8e308)"
        ) from None


def _short(x: Any) -> str:
    """A number for an error message: a huge int by its size, not its thousand digits."""
    text = repr(x)
    return text if len(text) <= 24 else f"{type(x).__name__} {text[:12]}… ({len(text)} characters)"


def _one_number(gradient: Any, what: str) -> Any:
    """A gradient for a Scalar: a graph value as it is (create_graph), else one float."""
    if isinstance(gradient, Node):
        return gradient
    try:
        return _to_float(gradient)
    except TypeError as exc:
        raise GradError(f"{what} must be one number: {exc}") from None


class _ArrayResult(TypeError):
    """An op gave an array of some shape where a Scalar holds one number."""


class Scalar(Operators, Node):
    """One float that records the operations applied to it.

    ``Scalar(data, requires_grad=True, name=None)``: unlike a Tensor, a Scalar requires
    grad by default, as a micrograd ``Value`` does; ``.grad`` is a float.
    """

    __slots__ = ()
    _data: float
    data_type = float
    xp = FloatKernels

    def __init__(self, data: Any, requires_grad: bool = True, name: str | None = None) -> None:
        self._init_leaf(_to_float(data), bool(requires_grad), name)

    @classmethod
    def _wrap(cls, x: Any, like: Any = None) -> Scalar:
        if isinstance(x, Scalar):
            return x
        if isinstance(x, Node):
            raise mixed_kinds(cls, type(x))
        try:
            value = _to_float(x)
        except TypeError:
            # An operand may be a bool, as in Python (2.0 * True), NumPy's (a comparison
            # with a NumPy number), or a one-element bool array (a where's condition).
            import numpy as np

            if np.asarray(x).dtype != bool or np.size(x) != 1:
                raise
            value = float(np.asarray(x).item())
        s = cls.__new__(cls)
        s._init_leaf(value, False, None)
        return s

    @staticmethod
    def _as_data(data: Any) -> float:
        if getattr(data, "ndim", 0):
            raise _ArrayResult(f"it made an array of shape {data.shape}")
        return data if type(data) is float else float(data)

    @staticmethod
    def _all_finite(data: Any) -> bool:
        return math.isfinite(data)

    def _seed(self) -> float:
        return 1.0

    def _check_seed(self, gradient: Any) -> Any:
        return _one_number(gradient, "backward gradient for a Scalar")

    def _checked_grad(self, value: Any) -> Any:
        return _one_number(value, f"the grad of {self._describe()}")

    def _grad_store(self, g: Any) -> None:
        self._grad = g if self._grad is None else self._grad + g

    def _describe(self) -> str:
        name = f" {self.name!r}" if self.name else ""
        return f"Scalar{name} {self._data!r}"

    @classmethod
    def _op_error(cls, fn: type[Function], inputs: Sequence[Node], exc: Exception) -> Exception:
        args = ", ".join(repr(x._data) for x in inputs)
        if isinstance(exc, (AttributeError, _ArrayResult)):  # an op of arrays: shapes, axes
            return TypeError(
                f"{fn.name}({args}): {fn.name} works on arrays, and a Scalar is one Python float; "
                f"use Tensors for it (glassgrad.Tensor([...]))"
            )
        return type(exc)(f"{fn.name}({args}): {exc}")

    def _check_new_data(self, value: Any) -> float:
        return _to_float(value)

    def __float__(self) -> float:
        self._read("float()")
        return self._data

    def item(self) -> float:
        """The value as a Python float."""
        self._read("item()")
        return self._data

    def detach(self) -> Scalar:
        """A new constant with the same value, cut from the graph."""
        self._read("detach()")
        return Scalar(self._data, requires_grad=False)

    def __repr__(self) -> str:
        extras = [f"grad={self._grad!r}"] if self._grad is not None else []
        if self._fn is not None:
            extras.append(f"op={self._fn.name}")
        elif not self.requires_grad:
            extras.append("requires_grad=False")
        if self.name:
            extras.append(f"name={self.name!r}")
        return "Scalar(" + ", ".join([repr(self._data), *extras]) + ")"
