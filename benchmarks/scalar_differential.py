"""Differential testing of the Scalar engine: random Scalar programs run through
glassgrad, through PyTorch's 0-d float64 tensors and through plain Python floats; a
mismatch is shrunk to a small program and printed as Python.

    python benchmarks/scalar_differential.py [--seed 0] [--seconds 60] [--oracle both|torch|python]

A program is a list of steps over Scalars: every Scalar op and method (``+ - * / **``
and their reflections, unary ``-`` and ``+``, ``abs()``, ``exp``, ``log``, ``sqrt``,
``sigmoid``, ``tanh``, ``relu``, ``softplus``, ``log_sigmoid``, ``clip``, ``power``,
``maximum``, ``minimum``, ``where`` on a comparison, both binary cross-entropies,
``detach``), with a number on either side of a binary op drawn from every kind Python
code hands over: int (huge ones too), bool, float, NumPy scalars of each float, int and
bool dtype, 0-d arrays, ``Fraction`` and ``Decimal``; with inf, nan, −0.0, subnormals
and numbers near the overflow among the values (family ``edges``), or not
(``ordinary``).

Forward, each step is compared on the values glassgrad computed for its operands:

- with Python floats, to the last bit (the same ``math`` and operator calls: the
  number's value is ``float(n)``, Python's own conversion);
- with PyTorch, to the last bit where both do one IEEE operation (``+ - * /``, ``abs``,
  ``relu``, ``clip``, ``maximum``, ``minimum``, ``where``), else within 4 units in the
  last place (the libm functions, ``sqrt``, whose 0-d float64 sqrt(2) PyTorch gives 1
  unit off, and ``**``), and the binary cross-entropies, which the engines spell
  differently, within 10⁻¹² of their size (or of 1). The sign of a zero is not compared
  (glassgrad refuses to divide by a zero), and results below 10⁻³⁰⁰ compare equal
  (PyTorch's sigmoid is 0 where σ(x) is subnormal);
- where glassgrad raises, PyTorch must give nan or inf (or raise too), and the error
  must be glassgrad's own or name the op or the number: a silent wrong number, a
  refusal of a defined value and an error that names nothing are reported.

Gradients, when every forward value is finite, are compared with PyTorch's run of the
program from its leaves (within 10⁻¹⁰ of their size, or of 1 when smaller), by one
of: ``backward()``; three ``backward(retain_graph=True)`` passes with hooks that
replace gradients and ``retain_grad()`` on intermediates; ``glassgrad.grad(outputs,
inputs)``; ``value_and_grad`` of the program as a function of Python floats; second
derivatives through ``grad(create_graph=True)``. Where they differ, the program is
evaluated in mpmath at 50 digits and differentiated numerically: glassgrad's gradient
may not be further from that value than PyTorch's (a sum that cancels to 0, as
∂(v/v)/∂v, keeps PyTorch's roundings of its terms). A backward that raises must meet a
gradient PyTorch finds infinite or nan. Beside each program one Scalar meets a Tensor
in a random operator, which must be refused by name ("cannot combine").

Where the engines differ on purpose, programs avoid the point or the run counts it
instead of reporting it: ``maximum`` and ``minimum`` give a tie's gradient to the
first operand (PyTorch splits it), so steps that tie are not drawn; ``a ** b`` with a
graph value as exponent needs a > 0 (its gradient in b is aᵇ·ln a), and xᶜ with a
fractional c needs x ≥ 0, −inf too, where PyTorch computes them; the backward of √x
and of xᶜ (0 < c < 1) at x = 0 is refused even when a zero gradient reaches it;
PyTorch's backward of a ** b is a ``where(b == 0, 0, …)``, which loses ∂²/∂a∂b at
b = 0; where a value or a constant is beyond 10^±100, the engines' gradient formulas
overflow at different points (PyTorch's ∂(a/b)/∂b = −a/b², glassgrad's −(a/b)/b), and
a gradient PyTorch finds infinite or nan where glassgrad's is finite is counted; the
binary cross-entropy of an infinite logit is NaN in glassgrad for +inf, in PyTorch for
−inf. ``Decimal`` operands are refused, as Python's floats refuse them. PyTorch's
``softplus`` is x itself above x = 20 (its ``threshold``): its side computes
logaddexp(0, x), the function itself. ``--oracle python`` runs without PyTorch
(Python floats only, forward).
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Any, ClassVar

import glassgrad as gg
import numpy as np
import programs

try:
    import torch
except ImportError:  # --oracle python
    torch = None

Step = tuple[Any, ...]  # (kind, *arguments): one line of a program
Program = list[Step]
Spec = tuple[str, Any]  # a number: (kind, payload)

# -- numbers of every kind ----------------------------------------------------------------

NUMBER_KINDS: dict[str, Callable[[Any], Any]] = {
    "int": int,
    "bool": bool,
    "float": float,
    "np.float64": np.float64,
    "np.float32": np.float32,
    "np.float16": np.float16,
    "np.longdouble": np.longdouble,
    "np.int64": np.int64,
    "np.int32": np.int32,
    "np.int8": np.int8,
    "np.uint8": np.uint8,
    "np.bool_": np.bool_,
    "0-d float64": lambda v: np.array(v, np.float64),
    "0-d float32": lambda v: np.array(v, np.float32),
    "0-d float16": lambda v: np.array(v, np.float16),
    "0-d int64": lambda v: np.array(v, np.int64),
    "0-d bool": lambda v: np.array(v, np.bool_),
    "Fraction": lambda v: Fraction(*v),
    "Decimal": Decimal,
}
INT_KINDS = ("int", "np.int64", "np.int32", "np.int8", "np.uint8", "0-d int64")
BOOL_KINDS = ("bool", "np.bool_", "0-d bool")
#: Kinds glassgrad refuses as an operand, as Python's floats do.
REFUSED = ("Decimal",)

ORDINARY = (2.0, -0.5, 3.0, 1.5, 0.25, -1.25, 0.1, 7.0, -3.0)
SPECIAL = (math.inf, -math.inf, math.nan, -0.0, 0.0, 5e-324, 2.2250738585072014e-308, 1e-310, 1.7e308)
SPECIAL += (-1.7e308, 709.8, 710.0, -745.2, 1e-200, 1e200, 36.7, -36.7, 1.0, -1.0)
HUGE_INTS = (2**53 + 1, -(10**20), 2**1023, 10**308, 10**400, -(2**1030))


def number(spec: Spec) -> Any:
    """The number itself (1e200 as a float16 is inf, as NumPy rounds it)."""
    kind, payload = spec
    with np.errstate(over="ignore"):
        return NUMBER_KINDS[kind](payload)


def meaning(spec: Spec) -> float:
    """The float a number stands for: Python's own conversion (raises for 10**400)."""
    return float(number(spec))


def number_code(spec: Spec) -> str:
    kind, v = spec
    if kind in ("int", "bool"):
        return repr(v)
    if kind == "float":
        return f"float({str(v)!r})" if not math.isfinite(v) else repr(v)
    if kind == "Fraction":
        return f"Fraction{v!r}"
    if kind == "Decimal":
        return f"Decimal({str(v)!r})"
    arg = f"float({str(v)!r})" if isinstance(v, float) and not math.isfinite(v) else repr(v)
    if kind.startswith("0-d"):
        return f"np.array({arg}, np.{kind[4:]})"
    return f"{kind}({arg})"


def random_spec(r: np.random.Generator, special: bool, kinds: tuple[str, ...] = tuple(NUMBER_KINDS)) -> Spec:
    kind = str(r.choice(kinds))
    if kind in BOOL_KINDS:
        return kind, bool(r.random() < 0.5)
    if kind == "Fraction":
        return kind, (int(r.integers(-9, 10)), int(r.integers(1, 8)))
    if kind in INT_KINDS:
        if kind == "int" and special and r.random() < 0.3:
            return kind, int(r.choice(HUGE_INTS))
        lo = 0 if kind in ("np.uint8",) else -4
        return kind, int(r.integers(lo, 8))
    v = float(r.choice(SPECIAL if special and r.random() < 0.4 else ORDINARY))
    return kind, (str(v) if kind == "Decimal" else v)


# -- the ops: glassgrad, PyTorch and Python floats, side by side -------------------------


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _softplus(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _torch_softplus(x: Any) -> Any:
    return torch.logaddexp(torch.zeros_like(x), x)


# name: (glassgrad, PyTorch, Python float); exact: one IEEE operation in both engines.
UNARY: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any], Callable[[float], float]]] = {
    "neg": (lambda x: -x, lambda x: -x, lambda x: -x),
    "pos": (lambda x: +x, lambda x: +x, lambda x: +x),
    "abs": (lambda x: abs(x), lambda x: abs(x), abs),
    "exp": (lambda x: x.exp(), lambda x: x.exp(), math.exp),
    "log": (lambda x: x.log(), lambda x: x.log(), math.log),
    "sqrt": (lambda x: gg.sqrt(x), lambda x: x.sqrt(), math.sqrt),
    "sigmoid": (lambda x: x.sigmoid(), lambda x: x.sigmoid(), _sigmoid),
    "tanh": (lambda x: x.tanh(), lambda x: x.tanh(), math.tanh),
    "relu": (lambda x: x.relu(), lambda x: x.relu(), lambda x: 0.0 if x < 0 else x),
    "softplus": (lambda x: x.softplus(), lambda x: _torch_softplus(x), _softplus),
    "log_sigmoid": (
        lambda x: x.log_sigmoid(),
        lambda x: torch.nn.functional.logsigmoid(x),
        lambda x: -_softplus(-x),
    ),
    "abs_method": (lambda x: x.abs(), lambda x: x.abs(), abs),
}
UNARY_CODE = {
    "neg": "-{x}",
    "pos": "+{x}",
    "abs": "abs({x})",
    "sqrt": "gg.sqrt({x})",
    "abs_method": "{x}.abs()",
}
BINARY_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "**": lambda a, b: a**b,
}
EXACT = {"neg", "pos", "abs", "abs_method", "relu", "+", "-", "*", "/", "clip", "max", "min", "where"}
EXACT |= {"detach"}


def _python_pow(a: float, b: float) -> float:
    r = a**b
    if isinstance(r, complex):
        raise ValueError("complex result")
    return r


def _py_binary(op: str, a: float, b: float) -> float:
    if op == "**":
        return _python_pow(a, b)
    if op == "max":
        return float(np.maximum(a, b))
    if op == "min":
        return float(np.minimum(a, b))
    return BINARY_OPS[op](a, b)


def _glass_binary(op: str, a: Any, b: Any) -> Any:
    if op == "max":
        return gg.ops.maximum(a, b)
    if op == "min":
        return gg.ops.minimum(a, b)
    return BINARY_OPS[op](a, b)


def _torch_binary(op: str, a: Any, b: Any) -> Any:
    if op == "max":
        return torch.maximum(a, b)
    if op == "min":
        return torch.minimum(a, b)
    return BINARY_OPS[op](a, b)


COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def _bce(p: Any, t: float, m: Any) -> Any:
    """−(t ln p + (1 − t) ln(1 − p)), spelled out on PyTorch's side: its fused op clamps
    the logs at −100 and adds 1e-12 in its second derivative."""
    return -(t * m.log(p) + (1 - t) * m.log(1 - p))


def _bce_probability(x: Any) -> Any:
    return x.sigmoid() * 0.98 + 0.01


class Glass:
    """glassgrad's side of each step."""

    @staticmethod
    def leaf(spec: Spec, requires_grad: bool) -> Any:
        return gg.Scalar(number(spec), requires_grad=requires_grad)

    @staticmethod
    def const(x: Any, op: str, spec: Spec, left: bool) -> Any:
        c = number(spec)
        if op == "power":
            return gg.power(x, c)
        return _glass_binary(op, c, x) if left else _glass_binary(op, x, c)

    @staticmethod
    def clip(x: Any, lo: Spec | None, hi: Spec | None) -> Any:
        return x.clip(None if lo is None else number(lo), None if hi is None else number(hi))

    @staticmethod
    def where(x: Any, compare: str, spec: Spec, a: Any, b: Any) -> Any:
        return gg.where(COMPARE[compare](x, number(spec)), a, b)

    @staticmethod
    def bce(x: Any, t: float, logits: bool) -> Any:
        if logits:
            return gg.binary_cross_entropy_with_logits(x, t)
        return gg.binary_cross_entropy(_bce_probability(x), t)

    unary: ClassVar[dict[str, Callable[..., Any]]] = {k: v[0] for k, v in UNARY.items()}
    binary = staticmethod(_glass_binary)
    detach = staticmethod(lambda x: x.detach())
    value = staticmethod(lambda x: x.data)


class Torch:
    """PyTorch's side: 0-d float64 tensors; a number is given as the float it means."""

    @staticmethod
    def leaf(spec: Spec, requires_grad: bool) -> Any:
        return torch.tensor(meaning(spec), dtype=torch.float64, requires_grad=requires_grad)

    @staticmethod
    def const(x: Any, op: str, spec: Spec, left: bool) -> Any:
        c = torch.tensor(meaning(spec), dtype=torch.float64)
        if op == "power":
            return torch.pow(x, c)
        return _torch_binary(op, c, x) if left else _torch_binary(op, x, c)

    @staticmethod
    def clip(x: Any, lo: Spec | None, hi: Spec | None) -> Any:
        return torch.clamp(x, None if lo is None else meaning(lo), None if hi is None else meaning(hi))

    @staticmethod
    def where(x: Any, compare: str, spec: Spec, a: Any, b: Any) -> Any:
        # The condition is Python's comparison of the float with the number (exact, also
        # for an int beyond the floats): the comparison is not what is tested here.
        return torch.where(torch.tensor(COMPARE[compare](float(x), number(spec))), a, b)

    @staticmethod
    def bce(x: Any, t: float, logits: bool) -> Any:
        if logits:
            return torch.nn.functional.binary_cross_entropy_with_logits(x, torch.tensor(t, dtype=torch.float64))
        return _bce(_bce_probability(x), t, torch)

    unary: ClassVar[dict[str, Callable[..., Any]]] = {k: v[1] for k, v in UNARY.items()}
    binary = staticmethod(_torch_binary)
    detach = staticmethod(lambda x: x.detach())
    value = staticmethod(lambda x: float(x.detach()))


class Python:
    """Plain Python floats (forward only)."""

    leaf = staticmethod(lambda spec, requires_grad: meaning(spec))

    @staticmethod
    def const(x: float, op: str, spec: Spec, left: bool) -> float:
        c = meaning(spec)
        if op == "power":
            return _python_pow(x, c)
        return _py_binary(op, c, x) if left else _py_binary(op, x, c)

    @staticmethod
    def clip(x: float, lo: Spec | None, hi: Spec | None) -> float:
        return float(np.clip(x, -math.inf if lo is None else meaning(lo), math.inf if hi is None else meaning(hi)))

    @staticmethod
    def where(x: float, compare: str, spec: Spec, a: float, b: float) -> float:
        return a if COMPARE[compare](x, number(spec)) else b

    @staticmethod
    def bce(x: float, t: float, logits: bool) -> None:
        return None  # glassgrad's formula is its own: PyTorch is the oracle

    unary: ClassVar[dict[str, Callable[..., Any]]] = {k: v[2] for k, v in UNARY.items()}
    binary = staticmethod(_py_binary)
    detach = staticmethod(lambda x: x)
    value = staticmethod(lambda x: x)


def apply_step(step: Step, vals: list[Any], lib: Any) -> Any:
    kind, *a = step
    if kind == "leaf":
        return lib.leaf(a[0], a[1])
    if kind == "unary":
        return lib.unary[a[0]](vals[a[1]])
    if kind == "binary":
        return lib.binary(a[0], vals[a[1]], vals[a[2]])
    if kind == "const":
        return lib.const(vals[a[1]], a[0], a[2], a[3])
    if kind == "clip":
        return lib.clip(vals[a[0]], a[1], a[2])
    if kind == "where":
        return lib.where(vals[a[0]], a[1], a[2], vals[a[3]], vals[a[4]])
    if kind == "bce":
        return lib.bce(vals[a[0]], a[1], a[2])
    if kind == "detach":
        return lib.detach(vals[a[0]])
    if kind == "hook":
        vals[a[0]].register_hook(HOOKS[a[1]])
        return vals[a[0]]
    if kind == "retain":
        vals[a[0]].retain_grad()
        return vals[a[0]]
    raise ValueError(kind)


HOOKS: dict[str, Callable[[Any], Any]] = {
    "observe": lambda g: None,
    "double": lambda g: g * 2.0,
    "shift": lambda g: g + 0.5,
}
HOOK_CODE = {"observe": "lambda g: None", "double": "lambda g: g * 2.0", "shift": "lambda g: g + 0.5"}


def op_name(step: Step) -> str:
    kind, *a = step
    if kind in ("unary", "binary", "const"):
        return str(a[0])
    return kind


# -- random programs ---------------------------------------------------------------------

STEP_KINDS = ("leaf", "unary", "binary", "const", "clip", "where", "bce", "detach", "hook", "retain")
STEP_WEIGHTS = np.array([6, 24, 14, 24, 5, 4, 3, 1, 0, 0], float)
HOOK_WEIGHTS = STEP_WEIGHTS + np.array([0] * 8 + [5, 4])
MODES = ("backward", "accumulate", "grad", "value_and_grad", "second")
FLOAT_LEAF_KINDS = ("float", "np.float64", "np.float32", "np.float16", "0-d float64", "0-d float32", "int")
FLOAT_LEAF_KINDS += ("np.int64", "Fraction")


def random_program(r: np.random.Generator, special: bool, mode: str) -> Program:
    program: Program = []
    glass: list[Any] = []

    def add(step: Step) -> None:
        if step[0] in ("binary", "const") and step[1] in ("max", "min") and ties(step, glass):
            return
        try:
            with np.errstate(all="ignore"):
                v = apply_step(step, glass, Glass)
        except Exception:  # kept: the comparison judges the refusal, and the program ends here
            program.append(step)
            raise StopIteration from None
        program.append(step)
        glass.append(v)

    def pick() -> int:
        n = len(glass)
        return int(r.integers(max(0, n - 3), n)) if r.random() < 0.8 else int(r.integers(n))

    def leaf(requires_grad: bool = True) -> Step:
        if special and r.random() < 0.3:
            return ("leaf", ("float", float(r.choice(SPECIAL))), requires_grad)
        kind = str(r.choice(FLOAT_LEAF_KINDS))
        if kind == "Fraction":
            return ("leaf", random_spec(r, False, ("Fraction",)), requires_grad)
        value = float(np.round(r.uniform(-3, 3), int(r.integers(1, 17))))
        return ("leaf", (kind, int(value) if kind in INT_KINDS else value), requires_grad)

    weights = HOOK_WEIGHTS if mode == "accumulate" else STEP_WEIGHTS
    try:
        for _ in range(int(r.integers(1, 3))):
            add(leaf())
        for _ in range(int(r.integers(1, 12))):
            kind = STEP_KINDS[r.choice(len(STEP_KINDS), p=weights / weights.sum())]
            x = pick()
            if kind == "leaf":
                add(leaf(bool(r.random() < 0.8)))
            elif kind == "unary":
                add(("unary", str(r.choice(list(UNARY))), x))
            elif kind == "binary":
                add(("binary", str(r.choice(["+", "-", "*", "/", "**", "max", "min"])), x, pick()))
            elif kind == "const":
                op = str(r.choice(["+", "-", "*", "/", "**", "max", "min", "power"]))
                kinds = tuple(NUMBER_KINDS) if r.random() < 0.9 else ("Decimal",)
                add(("const", op, x, random_spec(r, special, kinds), op != "power" and bool(r.random() < 0.5)))
            elif kind == "clip":
                lo = random_spec(r, special) if r.random() < 0.7 else None
                hi = random_spec(r, special) if r.random() < 0.7 or lo is None else None
                lo, hi = [s if s is None or s[0] != "Decimal" else ("float", float(s[1])) for s in (lo, hi)]
                add(("clip", x, lo, hi))
            elif kind == "where":
                spec = random_spec(r, special, tuple(k for k in NUMBER_KINDS if k not in REFUSED))
                add(("where", x, str(r.choice(list(COMPARE))), spec, pick(), pick()))
            elif kind == "bce":
                add(("bce", x, float(r.choice([0.0, 1.0, 0.25, 0.8])), bool(r.random() < 0.5)))
            elif kind == "detach":
                add(("detach", x))
            elif kind == "hook" and glass[x].requires_grad:
                add(("hook", x, str(r.choice(list(HOOKS)))))
            elif kind == "retain" and glass[x].requires_grad and not glass[x].is_leaf:
                add(("retain", x))
    except StopIteration:
        pass
    return program


def ties(step: Step, vals: list[Any]) -> bool:
    """Whether maximum or minimum compares equal operands: glassgrad gives the gradient
    to the first (documented), PyTorch splits it."""
    if step[0] == "binary":
        a, b = vals[step[2]].data, vals[step[3]].data
    else:
        try:
            a, b = vals[step[2]].data, meaning(step[3])
        except (OverflowError, ValueError, TypeError):
            return False
    return a == b


# -- running a program in each engine --------------------------------------------------


class Outcome:
    """What an engine did with a program's forward pass: values, then maybe an error."""

    def __init__(self) -> None:
        self.vals: list[Any] = []
        self.error: BaseException | None = None


def forward(program: Program, lib: Any) -> Outcome:
    out = Outcome()
    try:
        with np.errstate(all="ignore"):
            for step in program:
                out.vals.append(apply_step(step, out.vals, lib))
    except Exception as exc:
        out.error = exc
    return out


def local(program: Program, i: int, operands: list[float], lib: Any) -> float | None:
    """Step i of ``program`` in ``lib`` on the operands glassgrad computed (as floats);
    None where ``lib`` refuses it."""
    vals: list[Any] = [
        None if v is None else (torch.tensor(v, dtype=torch.float64) if lib is Torch else v) for v in operands
    ]
    step = program[i]
    if step[0] in ("hook", "retain"):
        return operands[step[1]]
    try:
        with np.errstate(all="ignore"):
            out = apply_step(step, vals, lib)
            return None if out is None else lib.value(out)
    except Exception:  # refused: None
        return None


#: Results smaller than this compare as equal: PyTorch's sigmoid is 0 where σ(x) is
#: subnormal, and a unit in the last place of a subnormal is not relative.
TINY = 1e-300


def ulps(a: float, b: float) -> float:
    return abs(a - b) / math.ulp(max(abs(a), abs(b)))


def same_number(got: float, want: float, exact: bool, composite: bool = False) -> bool:
    """Equal to the last bit (``exact``), within 4 units in the last place, or (a
    ``composite`` of several roundings, spelled differently by the engines) within 10⁻¹²
    of its size, or of 1 when smaller."""
    if math.isnan(got) or math.isnan(want):
        return math.isnan(got) and math.isnan(want)
    if exact or math.isinf(got) or math.isinf(want):
        return got == want
    if abs(got) < TINY and abs(want) < TINY:
        return True
    if composite:
        return abs(got - want) <= 1e-12 * max(abs(want), 1.0)
    return ulps(got, want) <= 4


def clear(exc: BaseException, step: Step) -> bool:
    """An error that says what went wrong: glassgrad's own, or one that names the op or
    the number it could not take."""
    if isinstance(exc, gg.GlassgradError):
        return True
    text = str(exc)
    name = op_name(step)
    words = {"power": ("power",), "**": ("power",), "+": ("add",), "-": ("sub",), "*": ("mul",), "/": ("div",)}
    return "Scalar" in text or name in text or any(w in text for w in words.get(name, ()))


class Skip(Exception):
    """Nothing to compare (no gradient anywhere, or PyTorch's own values not finite)."""


def compare(program: Program, mode: str, oracles: tuple[str, ...]) -> tuple[str | None, str | None]:
    """(mismatch, deliberate difference) of one program: each a line, or None."""
    g = forward(program, Glass)
    operands = [v._data for v in g.vals] + [None]
    n = len(g.vals) + (g.error is not None)
    deliberate = None
    for i in range(n):
        step = program[i]
        got = operands[i] if i < len(g.vals) else None
        exact = op_name(step) in EXACT or (step[0] == "const" and op_name(step) in EXACT)
        if step[0] == "bce" and not math.isfinite(operands[step[1]]):
            deliberate = "binary cross-entropy of an infinite logit: NaN for +inf in glassgrad, for −inf in PyTorch"
            continue
        if step[0] == "leaf" and got is not None:
            want = meaning(step[1])
            if not same_number(got, want, True):
                return f"forward: v{i} is {got!r}, Python's float() of the number is {want!r}", None
            continue
        for lib_name in oracles:
            lib = Torch if lib_name == "torch" else Python
            want = local(program, i, operands, lib)
            if got is not None:
                if want is not None and not same_number(got, want, exact or lib is Python, step[0] == "bce"):
                    return f"forward: v{i} = {op_name(step)} is {got!r} in glassgrad, {want!r} in {lib_name}", None
                continue
            exc = g.error
            assert exc is not None
            if step[0] == "const" and step[3][0] in REFUSED:
                if not (isinstance(exc, TypeError) and "Decimal" in str(exc)):
                    return f"raises: a Decimal operand raised {type(exc).__name__}: {exc}", None
                continue
            if not clear(exc, step):
                return f"unclear: v{i} = {op_name(step)} raised {type(exc).__name__}: {exc}", None
            if lib is Torch and want is not None and math.isfinite(want):
                graph_exponent = step[0] == "binary" or (step[0] == "const" and step[4])
                if isinstance(exc, gg.DomainError) and "graph_power" in str(exc) and graph_exponent:
                    deliberate = "a ** b with a graph value as exponent refuses a ≤ 0 (PyTorch computes it)"
                    continue
                if isinstance(exc, gg.DomainError) and str(exc).endswith("got -inf"):
                    deliberate = "xᶜ with a fractional c refuses every x < 0, −inf too (C's pow gives 0 or inf there)"
                    continue
                return (
                    f"refuses: v{i} = {op_name(step)} raised {type(exc).__name__}: {exc}; PyTorch gives {want!r}",
                    None,
                )
    if g.error is not None or "torch" not in oracles:
        return None, deliberate
    if not all(math.isfinite(v) for v in operands[:-1]):
        raise Skip
    found = compare_grads(program, mode)
    if found and found.startswith("grads:") and extreme(program, operands):
        found = "deliberate: values beyond 1e±100: the engines' formulas overflow at different points"
    if found and mode == "second" and zero_exponent(program, operands):
        found = "deliberate: PyTorch's backward of a ** b is 0 in a where b = 0 (a where), so its ∂²/∂a∂b is 0 there"
    if found and found.startswith("deliberate"):
        return None, found.removeprefix("deliberate: ")
    return found, deliberate


def extreme(program: Program, operands: list[Any]) -> bool:
    """Whether a value or a constant is nonzero and beyond 10^±100 in size, where the
    engines' formulas for a gradient (PyTorch's ∂(a/b)/∂b = −a/b², glassgrad's −(a/b)/b)
    overflow or underflow at different points."""
    numbers = [v for v in operands[:-1] if v]
    for s in program:
        for spec in s[1:]:
            if isinstance(spec, tuple) and len(spec) == 2 and spec[0] in NUMBER_KINDS:
                try:
                    numbers.append(meaning(spec))
                except (OverflowError, ValueError):
                    return True
    return any(v and not 1e-100 <= abs(v) <= 1e100 for v in numbers)


def zero_exponent(program: Program, operands: list[Any]) -> bool:
    """Whether a graph value is an exponent, and 0."""
    return any(s[0] == "binary" and s[1] == "**" and operands[s[3]] == 0 for s in program) or any(
        s[0] == "const" and s[1] == "**" and s[4] and operands[s[2]] == 0 for s in program
    )


def outputs_of(program: Program) -> list[int]:
    return [i for i, s in enumerate(program) if s[0] not in ("leaf", "hook", "retain")][-3:]


WEIGHTS = (0.75, -1.25, 0.5)


def loss_of(program: Program, vals: list[Any]) -> Any:
    total = None
    for w, i in zip(WEIGHTS, outputs_of(program)):
        term = vals[i] * w
        total = term if total is None else total + term
    return total


def leaves(program: Program, vals: list[Any]) -> list[Any]:
    return [v for s, v in zip(program, vals) if s[0] == "leaf" and s[2]]


def retained(program: Program, vals: list[Any]) -> list[Any]:
    keep = {id(v): v for s, v in zip(program, vals) if (s[0] == "leaf" and s[2]) or s[0] == "retain"}
    return list(keep.values())


def run_grads(program: Program, mode: str, lib: Any, m: Any) -> list[float | None]:
    """The gradients ``mode`` computes, in engine ``lib`` (module ``m``)."""
    vals = forward(program, lib).vals
    loss = loss_of(program, vals)
    if loss is None or not loss.requires_grad:
        raise Skip
    xs = leaves(program, vals)
    if not xs:
        raise Skip
    if mode == "backward":
        loss.backward()
        found = [x.grad for x in xs]
    elif mode == "accumulate":
        for _ in range(3):
            loss.backward(retain_graph=True)
        found = [x.grad for x in retained(program, vals)]
    elif mode == "grad":
        found = list(
            m.autograd.grad(loss, xs, allow_unused=True) if m is torch else gg.grad(loss, xs, allow_unused=True)
        )
    elif mode == "second":
        first = (
            torch.autograd.grad(loss, xs, create_graph=True, allow_unused=True)
            if m is torch
            else gg.grad(loss, xs, create_graph=True, allow_unused=True)
        )
        total = sum((gi * (0.5 + k) for k, gi in enumerate(first) if gi is not None and gi.requires_grad), 0.0)
        if not hasattr(total, "requires_grad"):
            raise Skip
        found = list(
            torch.autograd.grad(total, xs, allow_unused=True) if m is torch else gg.grad(total, xs, allow_unused=True)
        )
    else:  # value_and_grad: the program as a function of its grad leaves' floats
        return value_and_grad(program, lib)
    return [None if v is None else float(v.detach() if m is torch else v) for v in found]


def value_and_grad(program: Program, lib: Any) -> list[float | None]:
    positions = [i for i, s in enumerate(program) if s[0] == "leaf" and s[2]]

    def f(*xs: Any) -> Any:
        vals: list[Any] = []
        for i, step in enumerate(program):
            vals.append(xs[positions.index(i)] if i in positions else apply_step(step, vals, lib))
        return loss_of(program, vals)

    floats = [meaning(program[i][1]) for i in positions]
    if lib is Torch:
        xs = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in floats]
        value = f(*xs)
        found = torch.autograd.grad(value, xs, allow_unused=True)
        return [float(value), *[0.0 if g is None else float(g) for g in found]]
    value, grads = gg.value_and_grad(f, argnums=tuple(range(len(positions))))(*floats)
    return [float(value), *[float(g) for g in grads]]


def compare_grads(program: Program, mode: str) -> str | None:
    try:
        with np.errstate(all="ignore"):
            want = run_grads(program, mode, Torch, torch)
    except Skip:
        raise
    except Exception as exc:
        return f"script: PyTorch raised {type(exc).__name__}: {exc}"
    try:
        with np.errstate(all="ignore"):
            got = run_grads(program, mode, Glass, gg)
    except Skip:
        if all(not w or not math.isfinite(w) for w in want):  # 0 everywhere need not be recorded
            return None
        return f"grads: glassgrad has nothing to differentiate, PyTorch gives {want}"
    except Exception as exc:
        if isinstance(exc, gg.DomainError) and "is infinite at x = 0" in str(exc):
            return "deliberate: the backward of √x or xᶜ (0 < c < 1) at x = 0 is refused, also when 0 reaches it"
        if all(w is None or math.isfinite(w) for w in want):
            return f"grads: {mode} raised {type(exc).__name__}: {exc}; PyTorch gives {want}"
        if not isinstance(exc, gg.GlassgradError) and "backward" not in str(exc):
            return f"unclear: {mode} raised {type(exc).__name__}: {exc}; PyTorch gives {want}"
        return None
    if len(got) != len(want):
        return f"grads: {len(got)} gradients in glassgrad, {len(want)} in PyTorch"
    for k, (gv, tv) in enumerate(zip(got, want)):
        gz = 0.0 if gv is None and mode == "second" else gv
        tz = 0.0 if tv is None and mode == "second" else tv
        if gz is None or tz is None:
            if gz != tz:
                return f"grads: {mode} gradient {k} is {gv!r} in glassgrad, {tv!r} in PyTorch"
            continue
        if math.isfinite(tz) and math.isfinite(gz):
            if abs(gz - tz) <= 1e-10 * max(abs(tz), 1.0):
                continue
            truth = true_value(program, mode, k)
            if truth is not None and abs(gz - truth) <= max(abs(tz - truth), 1e-10 * max(abs(truth), 1.0)):
                return "deliberate: PyTorch's gradient is further than glassgrad's from the 50-digit one"
        elif same_number(gz, tz, True):
            continue
        elif math.isfinite(gz):
            return "deliberate: PyTorch's gradient is not finite, glassgrad's is (b² in PyTorch's ∂(a/b)/∂b underflows)"
        return f"grads: {mode} gradient {k} is {gz!r} in glassgrad, {tz!r} in PyTorch"
    return None


def true_value(program: Program, mode: str, k: int) -> float | None:
    """The k-th number ``mode`` computes, from the program in mpmath at 50 digits,
    differentiated numerically (mpmath.diff); None where it cannot be so computed (a
    hook or a retained value, a step mpmath refuses). Conditions and detached values
    are glassgrad's, fixed at the program's point."""
    import mpmath

    if any(s[0] in ("hook", "retain") for s in program):
        return None
    positions = [i for i, s in enumerate(program) if s[0] == "leaf" and s[2]]
    fixed = [v.data for v in forward(program, Glass).vals]

    def loss(*xs: Any) -> Any:
        vals: list[Any] = []
        for i, step in enumerate(program):
            vals.append(xs[positions.index(i)] if i in positions else mp_step(step, vals, fixed, mpmath))
        return sum((vals[i] * w for w, i in zip(WEIGHTS, outputs_of(program))), mpmath.mpf(0))

    base = [mpmath.mpf(meaning(program[i][1])) for i in positions]
    n = len(base)
    try:
        with mpmath.workdps(50):
            if mode == "value_and_grad" and k == 0:
                return float(loss(*base))
            j = k - 1 if mode == "value_and_grad" else k

            def partial(*wrt: int) -> Any:
                return mpmath.diff(loss, base, tuple(sum(w == i for w in wrt) for i in range(n)))

            if mode == "second":
                return float(sum(((0.5 + a) * partial(a, j) for a in range(n)), mpmath.mpf(0)))
            return float(partial(j) * (3 if mode == "accumulate" else 1))
    except (ValueError, TypeError, ZeroDivisionError, OverflowError):
        return None


def mp_step(step: Step, vals: list[Any], fixed: list[float], mp: Any) -> Any:
    """One step on mpmath numbers (a complex result is refused)."""
    kind, *a = step
    real = {"neg": lambda x: -x, "pos": lambda x: x, "abs": abs, "abs_method": abs, "exp": mp.exp}
    real |= {"log": mp.log, "sqrt": mp.sqrt, "tanh": mp.tanh, "relu": lambda x: max(x, 0)}
    real |= {"sigmoid": lambda x: 1 / (1 + mp.exp(-x)), "softplus": lambda x: mp.log(1 + mp.exp(x))}
    real |= {"log_sigmoid": lambda x: -mp.log(1 + mp.exp(-x))}
    if kind == "leaf":
        out = mp.mpf(meaning(a[0]))
    elif kind == "unary":
        out = real[a[0]](vals[a[1]])
    elif kind in ("binary", "const"):
        x, y = (vals[a[1]], vals[a[2]]) if kind == "binary" else (vals[a[1]], mp.mpf(meaning(a[2])))
        op = "**" if a[0] == "power" else a[0]
        if kind == "const" and a[3]:
            x, y = y, x
        out = {"max": max, "min": min}[op](x, y) if op in ("max", "min") else BINARY_OPS[op](x, y)
    elif kind == "clip":
        out = vals[a[0]]
        out = out if a[1] is None else max(out, mp.mpf(meaning(a[1])))
        out = out if a[2] is None else min(out, mp.mpf(meaning(a[2])))
    elif kind == "where":
        out = vals[a[3]] if COMPARE[a[1]](fixed[a[0]], number(a[2])) else vals[a[4]]
    elif kind == "bce":
        x, t = vals[a[0]], a[1]
        if a[2]:
            out = mp.log(1 + mp.exp(x)) - t * x
        else:
            p = 1 / (1 + mp.exp(-x)) * mp.mpf(0.98) + mp.mpf(0.01)
            out = -(t * mp.log(p) + (1 - t) * mp.log(1 - p))
    else:  # detach: glassgrad's value, a constant
        out = mp.mpf(fixed[len(vals)])
    if not isinstance(out, mp.mpf):
        raise ValueError("not a real number")
    return out


def mixed_kinds(r: np.random.Generator) -> str | None:
    """A Scalar and a Tensor in one operator, either side: refused by name."""
    x, t = gg.Scalar(1.5), gg.Tensor(np.float64(2.0), requires_grad=bool(r.random() < 0.5))
    op = str(r.choice([*BINARY_OPS, "max", "min", *COMPARE]))
    fn = COMPARE.get(op) or (lambda a, b: _glass_binary(op, a, b))
    pair = (x, t) if r.random() < 0.5 else (t, x)
    try:
        fn(*pair)
    except TypeError as exc:
        if "cannot combine" in str(exc):
            return None
        return f"mixed kinds: {type(pair[0]).__name__} {op} {type(pair[1]).__name__} raised TypeError: {exc}"
    except Exception as exc:
        return f"mixed kinds: {type(pair[0]).__name__} {op} {type(pair[1]).__name__} raised {type(exc).__name__}"
    return f"mixed kinds: {type(pair[0]).__name__} {op} {type(pair[1]).__name__} was computed"


# -- shrinking and printing --------------------------------------------------------------

REFS = {"unary": (1,), "binary": (1, 2), "const": (1,), "clip": (0,), "where": (0, 3, 4), "bce": (0,)}
REFS |= {"detach": (0,), "hook": (0,), "retain": (0,)}


def without(program: Program, i: int) -> Program | None:
    step = program[i]
    if step[0] == "leaf":
        if any(program[j][k + 1] == i for j in range(i + 1, len(program)) for k in REFS.get(program[j][0], ())):
            return None
        source = -1
    else:
        source = step[REFS[step[0]][0] + 1]
    out = []
    for s in program[:i] + program[i + 1 :]:
        s = list(s)
        for k in REFS.get(s[0], ()):
            old = s[k + 1]
            s[k + 1] = source if old == i else old - (old > i)
        out.append(tuple(s))
    return out


def shrink(program: Program, mode: str, oracles: tuple[str, ...], found: str, budget: int = 200) -> tuple[Program, str]:
    kind = found.split(":")[0]

    def still(p: Program) -> str | None:
        try:
            m, _ = compare(p, mode, oracles)
        except Skip:
            return None
        return m if m is not None and m.split(":")[0] == kind else None

    return programs.shrink(program, found, still, without, budget)


def render(program: Program, mode: str) -> str:
    lines = ["import glassgrad as gg, numpy as np", "from decimal import Decimal", "from fractions import Fraction"]
    for i, (kind, *a) in enumerate(program):
        if kind == "leaf":
            code = f"gg.Scalar({number_code(a[0])}, requires_grad={a[1]})"
        elif kind == "unary":
            code = UNARY_CODE.get(a[0], "{x}." + a[0] + "()").format(x=f"v{a[1]}")
        elif kind == "binary":
            code = f"gg.ops.{'maximum' if a[0] == 'max' else 'minimum'}(v{a[1]}, v{a[2]})"
            code = code if a[0] in ("max", "min") else f"v{a[1]} {a[0]} v{a[2]}"
        elif kind == "const":
            c, x = number_code(a[2]), f"v{a[1]}"
            first, second = (c, x) if a[3] else (x, c)
            if a[0] == "power":
                code = f"gg.power({x}, {c})"
            elif a[0] in ("max", "min"):
                code = f"gg.ops.{'maximum' if a[0] == 'max' else 'minimum'}({first}, {second})"
            else:
                code = f"{first} {a[0]} {second}"
        elif kind == "clip":
            lo, hi = ("None" if s is None else number_code(s) for s in (a[1], a[2]))
            code = f"v{a[0]}.clip({lo}, {hi})"
        elif kind == "where":
            code = f"gg.where(v{a[0]} {a[1]} {number_code(a[2])}, v{a[3]}, v{a[4]})"
        elif kind == "bce":
            code = (
                f"gg.binary_cross_entropy_with_logits(v{a[0]}, {a[1]!r})"
                if a[2]
                else f"gg.binary_cross_entropy(v{a[0]}.sigmoid() * 0.98 + 0.01, {a[1]!r})"
            )
        elif kind == "detach":
            code = f"v{a[0]}.detach()"
        elif kind == "hook":
            code = f"v{a[0]}; v{i}.register_hook({HOOK_CODE[a[1]]})"
        else:
            code = f"v{a[0]}; v{i}.retain_grad()"
        lines.append(f"v{i} = {code}")
    outs = outputs_of(program)
    if outs:
        lines.append(
            "loss = " + " + ".join(f"v{i} * {w!r}" for w, i in zip(WEIGHTS, outs)) + f"  # gradients by {mode}"
        )
    return "\n".join(lines)


# -- the run -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=60.0, help="CPU time budget of the whole run")
    parser.add_argument("--oracle", choices=("torch", "python", "both"), default="both")
    args = parser.parse_args(argv)
    oracles = ("python",) if args.oracle == "python" else ("torch",) if args.oracle == "torch" else ("torch", "python")
    if "torch" in oracles and torch is None:
        parser.error("PyTorch is not installed: use --oracle python")
    if torch is not None:
        torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(args.seed)
    counts = {"programs": 0, "steps": 0, "skipped": 0, "mixed": 0, "mismatched": 0}
    by_mode = dict.fromkeys(MODES, 0)
    deliberate: dict[str, int] = {}
    reported: set[str] = set()
    start = time.process_time()
    while time.process_time() - start < args.seconds:
        for family in ("ordinary", "edges"):
            mode = MODES[int(rng.integers(len(MODES)))]
            program = random_program(rng, family == "edges", mode)
            problem = mixed_kinds(rng)
            counts["mixed"] += 1
            counts["mismatched"] += problem is not None
            if problem and problem not in reported:
                reported.add(problem)
                print(f"\n[{family}] {problem}")
            try:
                found, known = compare(program, mode, oracles)
            except Skip:
                counts["skipped"] += 1
                found, known = None, None
            counts["programs"] += 1
            counts["steps"] += len(program)
            by_mode[mode] += 1
            if known:
                deliberate[known] = deliberate.get(known, 0) + 1
            if found is None:
                continue
            counts["mismatched"] += 1
            small, found = shrink(program, mode, oracles, found)
            key = found.split(":")[0] + " ".join(sorted({op_name(s) for s in small if s[0] != "leaf"}))
            if key not in reported:
                reported.add(key)
                print(f"\n[{family}] {found}\n{render(small, mode)}")
    cpu = time.process_time() - start
    print(
        f"\nseed {args.seed}, {cpu:.0f} s of CPU, oracles {', '.join(oracles)}: {counts['programs']:,} programs "
        f"({counts['steps']:,} steps; gradients by " + ", ".join(f"{m} {n:,}" for m, n in by_mode.items()) + "), "
        f"{counts['mixed']:,} Scalar-Tensor operators"
    )
    print(f"programs without gradients to compare: {counts['skipped']:,}")
    print(f"mismatches reported: {len(reported)} (programs and operators with a mismatch: {counts['mismatched']:,})")
    for known, n in sorted(deliberate.items()):
        print(f"deliberate difference, {n:,} programs: {known}")
    return 1 if reported else 0


if __name__ == "__main__":
    raise SystemExit(main())
