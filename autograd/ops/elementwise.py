"""Elementwise functions: exp, log, activations, abs, clip, where, maximum, minimum
and cast.

Backward formulas reuse the forward output where that is cheaper and exact
(``exp``, ``sigmoid``, ``tanh``); comparisons such as ``x > 0`` give constant masks
that select the gradient (:func:`selected`), so the same formula works on raw data and
on graph values.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from ..formatting import number
from ..graph import Function, Node
from .base import as_raw, call, read_values
from .domains import NONNEGATIVE, POSITIVE, check_derivative_at_zero


class Exp(Function, register=True):
    """y = eˣ;  dy/dx = eˣ = y"""

    category = "elementwise"
    onnx_op = "Exp"
    elementwise = scalar = True
    reads_inputs = False  # the derivative is a function of the output
    reference = np.exp

    @staticmethod
    def forward(ctx, x):
        return ctx.xp.exp(x)

    @staticmethod
    def backward(ctx, g, y, x):
        return (g * y,)

    @staticmethod
    def formulas(ctx, y, x):
        return (y,)


class Log(Function, register=True):
    """y = ln x (x > 0);  dy/dx = 1/x"""

    category = "elementwise"
    onnx_op = "Log"
    elementwise = scalar = True
    domains = (POSITIVE,)
    reference = np.log

    @staticmethod
    def forward(ctx, x):
        return ctx.xp.log(x)

    @staticmethod
    def backward(ctx, g, y, x):
        return (g / x,)

    @staticmethod
    def formulas(ctx, y, x):
        return (f"1/{x}",)


class Sqrt(Function, register=True):
    """y = √x (x ≥ 0);  dy/dx = 1/(2√x) = 1/(2y) (infinite at x = 0)"""

    onnx_op = "Sqrt"

    elementwise = scalar = True
    reads_inputs = False
    domains = (NONNEGATIVE,)
    reference = np.sqrt

    @staticmethod
    def forward(ctx, x):
        return ctx.xp.sqrt(x)

    @staticmethod
    def backward(ctx, g, y, x):
        check_derivative_at_zero(as_raw(y), "sqrt", "1/(2√x)")  # y = 0 exactly where x = 0
        return (g / (2 * y),)

    @staticmethod
    def formulas(ctx, y, x):
        return (f"1/(2{y})",)


class Sigmoid(Function, register=True):
    """σ(x) = 1/(1+e⁻ˣ);  dσ/dx = σ(1−σ)"""

    category = "activation"
    onnx_op = "Sigmoid"
    elementwise = scalar = True
    reads_inputs = False  # the derivative is a function of the output

    @staticmethod
    def reference(x):
        return 1.0 / (1.0 + np.exp(-x))

    @staticmethod
    def forward(ctx, x):
        return ctx.xp.sigmoid(x)

    @staticmethod
    def backward(ctx, g, s, x):
        return (g * s * (1 - s),)

    @staticmethod
    def formulas(ctx, s, x):
        return (f"{s}(1−{s})",)


class Tanh(Function, register=True):
    """y = tanh x;  dy/dx = 1 − y²"""

    category = "activation"
    onnx_op = "Tanh"
    elementwise = scalar = True
    reads_inputs = False  # the derivative is a function of the output
    reference = np.tanh

    @staticmethod
    def forward(ctx, x):
        return ctx.xp.tanh(x)

    @staticmethod
    def backward(ctx, g, y, x):
        return (g * (1 - y * y),)

    @staticmethod
    def formulas(ctx, y, x):
        return (f"1−{y}²",)


class Relu(Function, register=True):
    """y = max(x, 0);  dy/dx = 1 for x > 0, 0 for x < 0 (and 0 at the kink x = 0)"""

    category = "activation"
    onnx_op = "Relu"
    elementwise = scalar = True
    kinks = (0.0,)

    @staticmethod
    def reference(x):
        return np.maximum(x, 0)

    @staticmethod
    def forward(ctx, x):
        return ctx.xp.relu(x)

    @staticmethod
    def backward(ctx, g, y, x):
        return (selected(g, x > 0),)

    @staticmethod
    def formulas(ctx, y, x):
        return (f"[{x} > 0]",)


class Abs(Function, register=True):
    """y = |x|;  dy/dx = sign x (0 at the kink x = 0)"""

    category = "elementwise"
    onnx_op = "Abs"
    elementwise = scalar = True
    kinks = (0.0,)
    reference = np.abs

    @staticmethod
    def forward(ctx, x):
        return abs(x)

    @staticmethod
    def backward(ctx, g, y, x):
        return (selected(g, x > 0) - selected(g, x < 0),)

    @staticmethod
    def formulas(ctx, y, x):
        return (f"sign({x})",)


class Softplus(Function, register=True):
    """y = ln(1 + eˣ);  dy/dx = σ(x)"""

    category = "activation"
    onnx_op = "Softplus"
    elementwise = scalar = True

    @staticmethod
    def reference(x):
        return np.logaddexp(0, x)

    @staticmethod
    def forward(ctx, x):
        return ctx.xp.softplus(x)

    @staticmethod
    def backward(ctx, g, y, x):
        return (g * sigmoid(x),)

    @staticmethod
    def formulas(ctx, y, x):
        return (f"σ({x})",)


class LogSigmoid(Function, register=True):
    """y = ln σ(x) = −softplus(−x);  dy/dx = 1 − σ(x) = σ(−x)"""

    category = "activation"
    name = "log_sigmoid"
    elementwise = scalar = True

    @staticmethod
    def reference(x):
        return -np.logaddexp(0, -x)

    @staticmethod
    def forward(ctx, x):
        return -ctx.xp.softplus(-x)

    @staticmethod
    def backward(ctx, g, y, x):
        return (g * sigmoid(-x),)

    @staticmethod
    def formulas(ctx, y, x):
        return (f"σ(−{x})",)

    @staticmethod
    def to_onnx(ctx, b, x):
        return b.op("Neg", b.op("Softplus", b.op("Neg", x)))


class Clip(Function, register=True):
    """y = min(max(x, lo), hi);  dy/dx = 1 inside [lo, hi], 0 outside (kinks at lo, hi)"""

    category = "elementwise"
    elementwise = scalar = True
    # The kinks sit at the values of the parameters named here (a bound may be None).
    kinks = ("lo", "hi")
    examples = ({"lo": -1.0, "hi": 1.0}, {"lo": None, "hi": 0.5}, {"lo": -0.5, "hi": None})

    class Saved(NamedTuple):
        lo: float | None
        hi: float | None

    @staticmethod
    def reference(x, lo, hi):
        return np.clip(x, lo, hi)

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.saved = Clip.Saved(lo, hi)
        if type(x) is not float:  # arrays, and numpy scalars (a 0-d tensor's 1 - p)
            return np.clip(x, lo, hi)
        # A Scalar's float; either bound may be None.
        if lo is not None:
            x = max(x, lo)
        return x if hi is None else min(x, hi)

    @staticmethod
    def backward(ctx, g, y, x):
        lo, hi = ctx.saved.lo, ctx.saved.hi
        inside = True
        if lo is not None:
            inside = inside & (x >= lo)
        if hi is not None:
            inside = inside & (x <= hi)
        return (selected(g, inside),)

    @staticmethod
    def formulas(ctx, y, x):
        lo, hi = ctx.saved.lo, ctx.saved.hi
        return (f"[{'' if lo is None else f'{number(lo)} ≤ '}{x}{'' if hi is None else f' ≤ {number(hi)}'}]",)

    @staticmethod
    def detail(ctx):
        lo, hi = ctx.saved.lo, ctx.saved.hi
        return f"[{'' if lo is None else number(lo)}, {'' if hi is None else number(hi)}]"

    @staticmethod
    def to_onnx(ctx, b, x):
        # numpy's own definition, min(max(x, lo), hi), rather than ONNX's Clip: after a
        # Relu, onnxruntime fuses the two and then fails on a float64 bound.
        for extreme, bound in (("Max", ctx.saved.lo), ("Min", ctx.saved.hi)):
            if bound is not None:
                x = b.op(extreme, x, b.const(bound, ctx.data.dtype))
        return x


class Where(Function, register=True):
    """z = a where cond else b;  ∂z/∂a = cond,  ∂z/∂b = not cond"""

    category = "elementwise"
    elementwise = broadcasts = True
    reads_inputs = False

    class Saved(NamedTuple):
        cond: np.ndarray

    @staticmethod
    def reference(a, b, cond):
        return np.where(cond, a, b)

    @staticmethod
    def forward(ctx, a, b, cond):
        cond = np.asarray(cond, dtype=bool)  # ~cond must be logical not, also for a Python bool
        ctx.saved = Where.Saved(cond)
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, g, z, a, b):
        cond = ctx.saved.cond
        return selected(g, cond), selected(g, ~cond)

    @staticmethod
    def formulas(ctx, z, a, b):
        return "[cond]", "[not cond]"

    @staticmethod
    def to_onnx(ctx, b, a, c):
        return b.op("Where", b.const(ctx.saved.cond), a, c)


def selected(g: Any, mask: Any) -> Any:
    """g where ``mask`` holds, 0 elsewhere: the gradient through a kink or a choice
    (relu, abs, clip, where, maximum, minimum). Selected, not multiplied by the mask: an
    infinite or NaN g (a log of 1e-320 after it) stays where the mask holds, where
    g·0 would be NaN, as PyTorch's masks select."""
    if type(g) is float:  # a Scalar's backward: one test
        return g if mask else 0.0
    if isinstance(g, Node):  # create_graph: recorded
        return where(mask, g, 0.0)
    return np.where(mask, g, 0.0)


def _to_taken(g: Any, take_a: Any) -> tuple[Any, Any]:
    """The gradients of maximum and minimum: g goes to the operand whose value was taken."""
    return selected(g, take_a), selected(g, ~take_a)


def _taken_mask(compare: Any, a: Any, b: Any) -> Any:
    """Where a is taken: ``compare(a, b)`` or a is NaN, on the data (under create_graph
    a and b are graph values; the mask is a constant of the graph, as relu's is)."""
    a, b = read_values(a, "the backward of maximum or minimum"), read_values(b, "the backward of maximum or minimum")
    return np.logical_or(compare(a, b), np.isnan(a))


class Maximum(Function, register=True):
    """z = max(a, b), NaN where either is (as numpy);  ∂z/∂a = [a taken],  ∂z/∂b = [b taken]

    a is taken where a ≥ b or a is NaN: a tie takes a (a kink: one of the one-sided
    derivatives), and a NaN is passed on with its gradient.
    """

    category = "elementwise"
    onnx_op = "Max"
    elementwise = broadcasts = True
    kinks = ("ties",)
    reference = np.maximum

    @staticmethod
    def forward(ctx, a, b):
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, g, z, a, b):
        return _to_taken(g, _taken_mask(np.greater_equal, a, b))

    @staticmethod
    def formulas(ctx, z, a, b):
        return f"[{a} ≥ {b}]", f"[{a} < {b}]"


class Minimum(Function, register=True):
    """z = min(a, b), NaN where either is (as numpy);  ∂z/∂a = [a taken],  ∂z/∂b = [b taken]

    a is taken where a ≤ b or a is NaN (ties and NaN as in :class:`Maximum`).
    """

    category = "elementwise"
    onnx_op = "Min"
    elementwise = broadcasts = True
    kinks = ("ties",)
    reference = np.minimum

    @staticmethod
    def forward(ctx, a, b):
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx, g, z, a, b):
        return _to_taken(g, _taken_mask(np.less_equal, a, b))

    @staticmethod
    def formulas(ctx, z, a, b):
        return f"[{a} ≤ {b}]", f"[{a} > {b}]"


class Cast(Function, register=True):
    """y = x converted to another float dtype;  ∂L/∂x = ∂L/∂y converted back"""

    category = "elementwise"
    elementwise = True
    reads_inputs = False
    examples = ({"dtype": np.dtype(np.float32)}, {"dtype": np.dtype(np.float64)})

    @staticmethod
    def reference(x, dtype):
        return x.astype(dtype)

    @staticmethod
    def forward(ctx, x, dtype):
        return x.astype(dtype, copy=False)

    @staticmethod
    def backward(ctx, g, y, x):
        return (cast(g, x.dtype),)

    @staticmethod
    def formulas(ctx, y, x):
        return ("1",)

    @staticmethod
    def to_onnx(ctx, b, x):
        return b.cast(x, ctx.data.dtype)


def exp(x: Any) -> Any:
    """eˣ, elementwise."""
    return call(Exp, x)


def log(x: Any) -> Any:
    """Natural logarithm; every element must be > 0 (else :class:`DomainError`)."""
    return call(Log, x)


def sqrt(x: Any) -> Any:
    """√x, elementwise; every element must be ≥ 0 (else :class:`DomainError`)."""
    return call(Sqrt, x)


def sigmoid(x: Any) -> Any:
    """The logistic function σ(x) = 1/(1+e⁻ˣ), computed without overflow."""
    return call(Sigmoid, x)


def tanh(x: Any) -> Any:
    """Hyperbolic tangent."""
    return call(Tanh, x)


def relu(x: Any) -> Any:
    """max(x, 0); its derivative at 0 is taken as 0."""
    return call(Relu, x)


def abs_(x: Any) -> Any:
    """|x|; its derivative at 0 is taken as 0."""
    return call(Abs, x)


def softplus(x: Any) -> Any:
    """ln(1 + eˣ), computed as logaddexp(0, x): finite for any finite x."""
    return call(Softplus, x)


def log_sigmoid(x: Any) -> Any:
    """ln σ(x) = −softplus(−x): the stable way to take the log of a sigmoid."""
    return call(LogSigmoid, x)


def clip(x: Any, lo: Any = None, hi: Any = None) -> Any:
    """Limit x to [lo, hi] (either bound may be None); gradient 1 inside, 0 outside.

    Number bounds record the op ``clip``. A bound that is an array or a graph value is
    ``minimum(maximum(x, lo), hi)``: an array bound broadcasts as in numpy, and a graph
    value bound gets the gradient of the elements clipped to it.
    """
    if lo is None and hi is None:
        raise ValueError("clip: give lo, hi or both")
    if _is_number_or_none(lo) and _is_number_or_none(hi):
        return call(Clip, x, lo=_bound(lo, "lo"), hi=_bound(hi, "hi"))
    if lo is not None:
        x = maximum(x, lo)
    return x if hi is None else minimum(x, hi)


def _is_number_or_none(v: Any) -> bool:
    return v is None or isinstance(v, (int, float, np.integer, np.floating))


def _bound(v: Any, which: str) -> float | None:
    """A number bound of clip as a float: a NaN bound (which would pass every x through
    on a Scalar and make every element NaN in NumPy) and an int beyond the floats are
    refused by name."""
    if v is None:
        return None
    try:
        bound = float(v)
    except OverflowError:
        raise OverflowError(
            f"clip: {which}, an int of {len(str(abs(int(v))))} digits, is beyond the largest float"
        ) from None
    if math.isnan(bound):
        raise ValueError(f"clip: {which} is NaN; give a number, or None for no bound")
    return bound


def where(cond: Any, a: Any, b: Any) -> Any:
    """Elementwise ``a if cond else b``; ``cond`` is a boolean mask (not differentiated)."""
    cond = np.asarray(read_values(cond, "where's condition"), dtype=bool)
    if not isinstance(a, Node) and not isinstance(b, Node):
        return np.where(cond, a, b)
    return call(Where, a, b, cond=cond)


def maximum(a: Any, b: Any) -> Any:
    """max(a, b) elementwise, as ``numpy.maximum`` (a NaN in either is the result); the
    gradient goes to the operand taken, a on a tie."""
    return call(Maximum, a, b)


def minimum(a: Any, b: Any) -> Any:
    """min(a, b) elementwise, as ``numpy.minimum`` (a NaN in either is the result); the
    gradient goes to the operand taken, a on a tie."""
    return call(Minimum, a, b)


def cast(x: Any, dtype: Any) -> Any:
    """x as ``dtype`` (e.g. ``np.float32``); the gradient comes back in x's dtype."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"cast: only float dtypes keep gradients, got {dtype}")
    return call(Cast, x, dtype=dtype)
