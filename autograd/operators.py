"""Python operators and method spellings shared by Scalar and Tensor.

Every operator delegates to a function in :mod:`glassgrad.ops`, which wraps Python
numbers and arrays as constants, so ``2 * x``, ``x * 2`` and ``array * x`` all record
the same ``mul``. Comparisons compare the data and return plain booleans (or boolean
arrays): they are not differentiable.
"""

from __future__ import annotations

from typing import Any

from . import ops
from .errors import mixed_kinds
from .graph import Node
from .ops.arithmetic import Add, Div, Mul, Sub


class Operators:
    """Mixin of the arithmetic every value type supports."""

    __slots__ = ()

    # Two graph values record directly, as ``call`` would: the generic path (``ops.add``
    # → ``call``) first looks for Python numbers and arrays to wrap, a third of the
    # cost of recording a small op. Reflected operators run only when the left operand
    # is not a value (``2 * x``, ``array - x``), so they keep the generic path.
    def __add__(self, other: Any) -> Any:
        return Add.apply(self, other) if isinstance(other, Node) else ops.add(self, other)

    def __radd__(self, other: Any) -> Any:
        return ops.add(other, self)

    def __sub__(self, other: Any) -> Any:
        return Sub.apply(self, other) if isinstance(other, Node) else ops.sub(self, other)

    def __rsub__(self, other: Any) -> Any:
        return ops.sub(other, self)

    def __mul__(self, other: Any) -> Any:
        return Mul.apply(self, other) if isinstance(other, Node) else ops.mul(self, other)

    def __rmul__(self, other: Any) -> Any:
        return ops.mul(other, self)

    def __truediv__(self, other: Any) -> Any:
        return Div.apply(self, other) if isinstance(other, Node) else ops.div(self, other)

    def __rtruediv__(self, other: Any) -> Any:
        return ops.div(other, self)

    def __pow__(self, exponent: Any) -> Any:
        return ops.power(self, exponent)

    def __rpow__(self, base: Any) -> Any:
        return ops.power(base, self)

    def __neg__(self) -> Any:
        return ops.neg(self)

    def __pos__(self) -> Any:
        return self

    def __abs__(self) -> Any:
        return ops.abs_(self)

    def _compared(self, other: Any, op: str) -> Any:
        """The raw data to compare with; a value of the other kind is refused."""
        if isinstance(other, Node):
            if other.data_type is not self.data_type:  # type: ignore[attr-defined]
                raise mixed_kinds(type(self), type(other), op)
            return other._data
        return other

    def __lt__(self, other: Any) -> Any:
        return self._data < self._compared(other, "<")  # type: ignore[attr-defined]

    def __le__(self, other: Any) -> Any:
        return self._data <= self._compared(other, "<=")  # type: ignore[attr-defined]

    def __gt__(self, other: Any) -> Any:
        return self._data > self._compared(other, ">")  # type: ignore[attr-defined]

    def __ge__(self, other: Any) -> Any:
        return self._data >= self._compared(other, ">=")  # type: ignore[attr-defined]

    def __eq__(self, other: Any) -> Any:  # type: ignore[override]
        return self._data == self._compared(other, "==")  # type: ignore[attr-defined]

    def __ne__(self, other: Any) -> Any:  # type: ignore[override]
        return self._data != self._compared(other, "!=")  # type: ignore[attr-defined]

    # Defining __eq__ would drop hashing; values stay hashable by identity.
    __hash__ = object.__hash__

    def exp(self) -> Any:
        """eˣ"""
        return ops.exp(self)

    def log(self) -> Any:
        """ln x (x > 0)"""
        return ops.log(self)

    def sigmoid(self) -> Any:
        """σ(x) = 1/(1+e⁻ˣ)"""
        return ops.sigmoid(self)

    def tanh(self) -> Any:
        """tanh x"""
        return ops.tanh(self)

    def relu(self) -> Any:
        """max(x, 0)"""
        return ops.relu(self)

    def softplus(self) -> Any:
        """ln(1 + eˣ)"""
        return ops.softplus(self)

    def log_sigmoid(self) -> Any:
        """ln σ(x)"""
        return ops.log_sigmoid(self)

    def abs(self) -> Any:
        """|x|"""
        return ops.abs_(self)

    def clip(self, lo: float | None = None, hi: float | None = None) -> Any:
        """min(max(x, lo), hi)"""
        return ops.clip(self, lo, hi)
