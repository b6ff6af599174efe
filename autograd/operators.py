"""Python operators and method spellings shared by Scalar and Tensor.

Every operator delegates to a function in :mod:`glassgrad.ops`, which wraps Python
numbers and arrays as constants, so ``2 * x``, ``x * 2`` and ``array * x`` all record
the same ``mul``. Comparisons compare the data and return plain booleans (or boolean
arrays): they are not differentiable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import ops
from .errors import mixed_kinds
from .graph import Node
from .ops.arithmetic import Add, Div, Mul, Sub

if TYPE_CHECKING:
    from typing_extensions import Self


class Operators(Node):
    """The arithmetic every value type supports (the base of Scalar and Tensor)."""

    __slots__ = ()

    # Two graph values record directly, as ``call`` would: the generic path (``ops.add``
    # → ``call``) first looks for Python numbers and arrays to wrap, a third of the
    # cost of recording a small op. Reflected operators run only when the left operand
    # is not a value (``2 * x``, ``array - x``), so they keep the generic path.
    def __add__(self, other: Any) -> Self:
        return Add.apply(self, other) if isinstance(other, Node) else ops.add(self, other)

    def __radd__(self, other: Any) -> Self:
        return ops.add(other, self)

    def __sub__(self, other: Any) -> Self:
        return Sub.apply(self, other) if isinstance(other, Node) else ops.sub(self, other)

    def __rsub__(self, other: Any) -> Self:
        return ops.sub(other, self)

    def __mul__(self, other: Any) -> Self:
        return Mul.apply(self, other) if isinstance(other, Node) else ops.mul(self, other)

    def __rmul__(self, other: Any) -> Self:
        return ops.mul(other, self)

    def __truediv__(self, other: Any) -> Self:
        return Div.apply(self, other) if isinstance(other, Node) else ops.div(self, other)

    def __rtruediv__(self, other: Any) -> Self:
        return ops.div(other, self)

    def __pow__(self, exponent: Any) -> Self:
        return ops.power(self, exponent)

    def __rpow__(self, base: Any) -> Self:
        return ops.power(base, self)

    def __neg__(self) -> Self:
        return ops.neg(self)

    def __pos__(self) -> Self:
        return self

    def __abs__(self) -> Self:
        return ops.abs_(self)

    def _compared(self, other: Any, op: str) -> Any:
        """The raw data to compare with; a value of the other kind is refused."""
        if isinstance(other, Node):
            if other.data_type is not self.data_type:
                raise mixed_kinds(type(self), type(other), op)
            return other._data
        return other

    def __lt__(self, other: Any) -> Any:
        return self._data < self._compared(other, "<")

    def __le__(self, other: Any) -> Any:
        return self._data <= self._compared(other, "<=")

    def __gt__(self, other: Any) -> Any:
        return self._data > self._compared(other, ">")

    def __ge__(self, other: Any) -> Any:
        return self._data >= self._compared(other, ">=")

    def __eq__(self, other: Any) -> Any:
        return self._data == self._compared(other, "==")

    def __ne__(self, other: Any) -> Any:
        return self._data != self._compared(other, "!=")

    # Defining __eq__ would drop hashing; values stay hashable by identity.
    __hash__ = object.__hash__

    def exp(self) -> Self:
        """eˣ"""
        return ops.exp(self)

    def log(self) -> Self:
        """ln x (x > 0)"""
        return ops.log(self)

    def sigmoid(self) -> Self:
        """σ(x) = 1/(1+e⁻ˣ)"""
        return ops.sigmoid(self)

    def tanh(self) -> Self:
        """tanh x"""
        return ops.tanh(self)

    def relu(self) -> Self:
        """max(x, 0)"""
        return ops.relu(self)

    def softplus(self) -> Self:
        """ln(1 + eˣ)"""
        return ops.softplus(self)

    def log_sigmoid(self) -> Self:
        """ln σ(x)"""
        return ops.log_sigmoid(self)

    def abs(self) -> Self:
        """|x|"""
        return ops.abs_(self)

    def clip(self, lo: float | None = None, hi: float | None = None) -> Self:
        """min(max(x, lo), hi)"""
        return ops.clip(self, lo, hi)
