"""The arithmetic ops: ``+ - * / **`` and unary minus.

Binary ops follow numpy broadcasting; their backward returns gradients at the
broadcast shape and the graph driver sums them back to each input's shape
(``broadcasts = True``).
"""

from __future__ import annotations

from typing import Any

from ..errors import DomainError
from ..graph import Function
from .base import as_raw, call
from .domains import NONNEGATIVE, NONZERO, POSITIVE


class Add(Function):
    """z = a + b;  ∂z/∂a = 1,  ∂z/∂b = 1"""

    broadcasts = True
    reads_inputs = False

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, g, z, a, b):
        return g, g


class Sub(Function):
    """z = a − b;  ∂z/∂a = 1,  ∂z/∂b = −1"""

    broadcasts = True
    reads_inputs = False

    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, g, z, a, b):
        return g, -g


class Mul(Function):
    """z = a·b;  ∂z/∂a = b,  ∂z/∂b = a"""

    broadcasts = True

    @staticmethod
    def forward(ctx, a, b):
        return a * b

    @staticmethod
    def backward(ctx, g, z, a, b):
        return g * b, g * a


class Div(Function):
    """z = a / b (b ≠ 0);  ∂z/∂a = 1/b,  ∂z/∂b = −a/b² = −z/b"""

    broadcasts = True
    domains = (None, NONZERO)

    @staticmethod
    def forward(ctx, a, b):
        return a / b

    @staticmethod
    def backward(ctx, g, z, a, b):
        ga = g / b
        return ga, -ga * z


class Neg(Function):
    """z = −a;  ∂z/∂a = −1"""

    reads_inputs = False

    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, g, z, a):
        return (-g,)


class Power(Function):
    """z = xᶜ for a constant exponent c;  ∂z/∂x = c·xᶜ⁻¹

    Domain depends on c: any x for whole c ≥ 0, x ≠ 0 for whole c < 0, x ≥ 0 for
    fractional c > 0 and x > 0 for fractional c < 0 (where xᶜ is real and finite).
    """

    @staticmethod
    def forward(ctx, x, c):
        _check_power_domain(x, c)
        ctx.saved = c
        return ctx.xp.power(x, c)

    @staticmethod
    def backward(ctx, g, z, x):
        c = ctx.saved
        if c == 0:
            return (g * 0.0,)
        if 0 < c < 1:  # xᶜ is defined at 0, its derivative c·xᶜ⁻¹ is not
            _check_derivative_domain(as_raw(x), c)
        return (g * c * power(x, c - 1),)


def _check_derivative_domain(x: Any, c: float) -> None:
    """Name the expression the user wrote, ``x ** c``, not the derivative's power."""
    if not POSITIVE.contains(x):
        raise DomainError(
            f"backward of x ** {c:g}: the derivative {c:g}·x ** {c - 1:g} is infinite at x = 0 "
            f"({POSITIVE.violations(x)}); x ** {c:g} has no gradient there. Keep x > 0, "
            f"e.g. (x + eps) ** {c:g}"
        )


def _check_power_domain(x: Any, c: float) -> None:
    whole = float(c).is_integer()
    if whole and c >= 0:
        return
    dom = NONZERO if whole else (NONNEGATIVE if c > 0 else POSITIVE)
    if not dom.contains(x):
        raise DomainError(f"power: x**{c:g} needs {dom.describe()}; {dom.violations(x)}")


class Pow(Function):
    """z = aᵇ with a graph-valued exponent (a > 0);  ∂z/∂a = b·aᵇ⁻¹,  ∂z/∂b = aᵇ·ln a"""

    name = "pow"
    broadcasts = True
    domains = (POSITIVE, None)

    @staticmethod
    def forward(ctx, a, b):
        return a**b

    @staticmethod
    def backward(ctx, g, z, a, b):
        from .elementwise import log

        return g * b * a ** (b - 1), g * z * log(a)


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
    """xᶜ. A Python-number exponent is a constant (op ``power``); an array or graph
    value as exponent is differentiated too (op ``pow``, needs x > 0)."""
    if isinstance(c, (int, float)):
        return call(Power, x, c=float(c))
    return call(Pow, x, c)
