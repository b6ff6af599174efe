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
from .ops.arithmetic import Add, Div, Mul, Neg, Sub
from .ops.elementwise import Exp, Log, Relu, Sigmoid, Tanh

if TYPE_CHECKING:
    from typing_extensions import Self


class Operators(Node):
    """The arithmetic every value type supports (the base of Scalar and Tensor)."""

    __slots__ = ()

    # The operators that record one op are that op's recorder (its ``apply``, which
    # takes a Python number or an array as its second input): nothing runs in between,
    # and a scalar graph is nothing but such calls. Reflected operators run only when
    # the left operand is not a value (``2 * x``, ``array - x``): they take ``ops``.
    if TYPE_CHECKING:

        def __add__(self, other: Any) -> Self: ...
        def __sub__(self, other: Any) -> Self: ...
        def __mul__(self, other: Any) -> Self: ...
        def __truediv__(self, other: Any) -> Self: ...
        def __neg__(self) -> Self: ...
        def exp(self) -> Self:
            """eˣ"""

        def log(self) -> Self:
            """ln x (x > 0)"""

        def sigmoid(self) -> Self:
            """σ(x) = 1/(1+e⁻ˣ)"""

        def tanh(self) -> Self:
            """tanh x"""

        def relu(self) -> Self:
            """max(x, 0)"""

    else:
        __add__, __sub__, __mul__, __truediv__, __neg__ = Add.apply, Sub.apply, Mul.apply, Div.apply, Neg.apply
        exp, log, sigmoid, tanh, relu = Exp.apply, Log.apply, Sigmoid.apply, Tanh.apply, Relu.apply

    def __radd__(self, other: Any) -> Self:
        return ops.add(other, self)

    def __rsub__(self, other: Any) -> Self:
        return ops.sub(other, self)

    def __rmul__(self, other: Any) -> Self:
        return ops.mul(other, self)

    def __rtruediv__(self, other: Any) -> Self:
        return ops.div(other, self)

    def __pow__(self, exponent: Any) -> Self:
        return ops.power(self, exponent)

    def __rpow__(self, base: Any) -> Self:
        return ops.power(base, self)

    def __pos__(self) -> Self:
        return self

    def __abs__(self) -> Self:
        return ops.abs_(self)

    def _compared(self, other: Any, op: str) -> Any:
        """The raw data to compare with; a value of the other kind is refused. A
        comparison reads the values outside the graph (see Node._read)."""
        self._read(f"a comparison ({op})")
        if isinstance(other, Node):
            if other.data_type is not self.data_type:
                raise mixed_kinds(type(self), type(other), op)
            other._read(f"a comparison ({op})")
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
