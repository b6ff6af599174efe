"""The arithmetic ops: ``+ - * / **`` and unary minus.

Binary ops follow numpy broadcasting; their backward returns gradients at the
broadcast shape and the graph driver sums them back to each input's shape
(``broadcasts = True``).
"""

from __future__ import annotations

import math
import numbers
from typing import Any, NamedTuple

import numpy as np

from ..errors import DomainError
from ..formatting import number
from ..graph import Function
from .base import as_raw, call
from .domains import NONNEGATIVE, NONZERO, POSITIVE, Domain, check_derivative_at_zero
from .elementwise import log


class Add(Function, register=True):
    """z = a + b;  ∂z/∂a = 1,  ∂z/∂b = 1"""

    category = "elementwise"
    commutative = True
    onnx_op = "Add"
    elementwise = broadcasts = scalar = True
    reads_inputs = False
    reference = np.add

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, g, z, a, b):
        return g, g

    @staticmethod
    def formulas(ctx, z, a, b):
        return "1", "1"


class Sub(Function, register=True):
    """z = a − b;  ∂z/∂a = 1,  ∂z/∂b = −1"""

    category = "elementwise"
    onnx_op = "Sub"
    elementwise = broadcasts = scalar = True
    reads_inputs = False
    reference = np.subtract

    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, g, z, a, b):
        return g, -g

    @staticmethod
    def formulas(ctx, z, a, b):
        return "1", "−1"


class Mul(Function, register=True):
    """z = a·b;  ∂z/∂a = b,  ∂z/∂b = a"""

    category = "elementwise"
    commutative = True
    onnx_op = "Mul"
    elementwise = broadcasts = scalar = True
    reference = np.multiply

    @staticmethod
    def forward(ctx, a, b):
        return a * b

    @staticmethod
    def backward(ctx, g, z, a, b):
        return g * b, g * a

    @staticmethod
    def formulas(ctx, z, a, b):
        return b, a


class Div(Function, register=True):
    """z = a / b (b ≠ 0);  ∂z/∂a = 1/b,  ∂z/∂b = −a/b² = −z/b"""

    category = "elementwise"
    onnx_op = "Div"
    elementwise = broadcasts = scalar = True
    domains = (None, NONZERO)
    reference = np.divide

    @staticmethod
    def forward(ctx, a, b):
        return a / b

    @staticmethod
    def backward(ctx, g, z, a, b):
        ga = g / b
        return ga, -ga * z

    @staticmethod
    def formulas(ctx, z, a, b):
        return f"1/{b}", f"−{a}/{b}²"


class Neg(Function, register=True):
    """z = −a;  ∂z/∂a = −1"""

    category = "elementwise"
    onnx_op = "Neg"
    elementwise = scalar = True
    reads_inputs = False
    reference = np.negative

    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, g, z, a):
        return (-g,)

    @staticmethod
    def formulas(ctx, z, a):
        return ("−1",)


class Power(Function, register=True):
    """z = xᶜ for a constant exponent c;  ∂z/∂x = c·xᶜ⁻¹

    xᶜ is real and finite for any x when c is whole and ≥ 0, for x ≠ 0 when c is whole
    and < 0, for x ≥ 0 when c is fractional and > 0, for x > 0 when fractional and < 0.
    (A graph value as exponent is :class:`GraphPower`.)
    """

    category = "elementwise"
    elementwise = scalar = True
    examples = tuple({"c": c} for c in (0.0, 1.0, 2.0, 3.0, -1.0, -2.0, 0.5, 1.5, -0.5))

    class Saved(NamedTuple):
        c: float

    @staticmethod
    def reference(x, c):
        return np.power(x, c)

    @classmethod
    def domains_for(cls, params: dict[str, Any]) -> tuple[Domain | None, ...]:
        c = params["c"]
        # ±inf counts as whole: C's pow defines x^±inf for every x (0, 1 or inf by |x|).
        whole = float(c).is_integer() or math.isinf(c)
        if whole and c >= 0:
            return (None,)
        return (NONZERO if whole else (NONNEGATIVE if c > 0 else POSITIVE),)

    @staticmethod
    def forward(ctx, x, c):
        (dom,) = Power.domains_for({"c": c})
        if dom is not None and not dom.contains(x):
            raise DomainError(f"power: x**{c:g} needs {dom.describe()}; {dom.violations(x)}")
        ctx.saved = Power.Saved(c)
        return ctx.xp.power(x, c)

    @staticmethod
    def backward(ctx, g, z, x):
        c = ctx.saved.c
        if c == 0:
            return (g * 0.0,)
        if 0 < c < 1:  # xᶜ is defined at 0, its derivative c·xᶜ⁻¹ is not
            check_derivative_at_zero(as_raw(x), f"x ** {c:g}", f"{c:g}·x ** {c - 1:g}")
        return (g * c * power(x, c - 1),)

    @staticmethod
    def formulas(ctx, z, x):
        c = float(ctx.saved.c)
        if c in (0.0, 1.0):
            return (number(c),)
        if c == 2:
            return (f"2·{x}",)
        return (f"{number(c)}·{x}^{number(c - 1)}",)

    @staticmethod
    def detail(ctx):
        return f"c={number(ctx.saved.c)}"

    @staticmethod
    def to_onnx(ctx, b, x):
        return b.op("Pow", x, b.const(ctx.saved.c, ctx.data.dtype))


class GraphPower(Function, register=True):
    """z = aᵇ with a graph value as exponent (a > 0);  ∂z/∂a = b·aᵇ⁻¹,  ∂z/∂b = aᵇ·ln a

    (A constant exponent is :class:`Power`.)
    """

    category = "elementwise"
    onnx_op = "Pow"
    name = "graph_power"
    elementwise = broadcasts = scalar = True
    domains = (POSITIVE, None)
    reference = np.power

    @staticmethod
    def forward(ctx, a, b):
        return a**b

    @staticmethod
    def backward(ctx, g, z, a, b):
        return g * b * a ** (b - 1), g * z * log(a)

    @staticmethod
    def formulas(ctx, z, a, b):
        return f"{b}·{a}^({b}−1)", f"{z}·ln {a}"


def add(a: Any, b: Any) -> Any:
    """a + b (numpy broadcasting)."""
    return call(Add, a, b)


def sub(a: Any, b: Any) -> Any:
    """a − b (numpy broadcasting)."""
    return call(Sub, a, b)


def mul(a: Any, b: Any) -> Any:
    """a · b, elementwise (numpy broadcasting)."""
    return call(Mul, a, b)


def div(a: Any, b: Any) -> Any:
    """a / b, elementwise; b must not contain 0."""
    return call(Div, a, b)


def neg(a: Any) -> Any:
    """−a."""
    return call(Neg, a)


def power(x: Any, c: Any) -> Any:
    """xᶜ. A number exponent (Python's or numpy's) is a constant (op ``power``); an
    array or graph value as exponent is differentiated too (op ``graph_power``, needs
    x > 0)."""
    if _is_number(c, type(x)):
        return call(Power, x, c=_exponent(c))
    return call(GraphPower, x, c)


def _is_number(c: Any, kind: type) -> bool:
    """Whether the exponent is one constant real number: Python's (a bool or a
    ``Fraction`` too) or numpy's, and beside a Scalar a 0-d real array (an array beside a
    Tensor keeps NumPy's promotion of its dtype). xᶜ of a negative x is then defined
    where c is whole, where ``graph_power`` needs x > 0 for its gradient in c. (Of
    the exponent and the base's type only, so a trace computes it once.)"""
    if isinstance(c, np.ndarray):
        return c.ndim == 0 and c.dtype.kind in "biuf" and getattr(kind, "broadcasting", True) is False
    return isinstance(c, (numbers.Real, np.integer, np.floating, np.bool_))


def _exponent(c: Any) -> float:
    """A number exponent as a float; an int beyond the floats is refused by name."""
    try:
        return float(c)
    except OverflowError:
        raise OverflowError(
            f"power: the exponent, an int of {len(str(abs(int(c))))} digits, is beyond the largest float"
        ) from None
