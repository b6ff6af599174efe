"""The local derivative of each built-in op, as a formula in the names of its values.

``local_formula(node, i, out, args)`` spells ∂out/∂argᵢ for the op that produced
``node``, with ``out`` and ``args`` the display names of its output and inputs; for
``z = mul(x, w)`` and i = 1 that is ``x``. These are the words of the drawing and of
:func:`~glassgrad.viz.explain`; the numbers always come from the op's own backward,
so a formula here can never make a displayed value wrong.

Ops whose Jacobian is not diagonal (matrix products, reductions to a non-scalar,
reshapes) are described by how their vector-Jacobian product acts on the upstream
gradient ``g``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..graph import Node
from .labels import number, shape_of

# Each entry maps (out, args, node) to one formula per input.
Formula = Callable[[str, Sequence[str], Node], Sequence[str]]


def n_suffix(node: Node) -> str:
    """``/n`` for a mean-reduced loss over n > 1 elements (reduction, n are saved first)."""
    saved = node.saved
    if saved and saved[0] == "mean" and saved[1] > 1:
        return f"/{saved[1]}"
    return ""


def _power(o: str, a: Sequence[str], node: Node) -> Sequence[str]:
    c = float(node.saved)
    if c == 0:
        return ("0",)
    if c == 1:
        return ("1",)
    if c == 2:
        return (f"2·{a[0]}",)
    return (f"{number(c)}·{a[0]}^{number(c - 1)}",)


def _clip(o: str, a: Sequence[str], node: Node) -> Sequence[str]:
    lo, hi = node.saved
    parts = [f"{number(lo)} ≤ " if lo is not None else "", a[0], f" ≤ {number(hi)}" if hi is not None else ""]
    return (f"[{''.join(parts)}]",)


def _bce(o: str, a: Sequence[str], node: Node) -> Sequence[str]:
    p, y = a
    n = n_suffix(node)
    return (f"({p}−{y})/({p}(1−{p})){n}", f"(ln(1−{p}) − ln {p}){n}")


def _bce_logits(o: str, a: Sequence[str], node: Node) -> Sequence[str]:
    z, y = a
    n = n_suffix(node)
    if node.saved[2] is None:
        return (f"(σ({z})−{y}){n}", f"−{z}{n}")
    w = number(node.saved[2])
    return (f"((1+({w}−1){y})σ({z}) − {w}·{y}){n}", f"({w}·softplus(−{z}) − softplus({z})){n}")


def _matmul(o: str, a: Sequence[str], node: Node) -> Sequence[str]:
    x, y = a
    if len(shape_of(node.parents[0].data)) == 1 and len(shape_of(node.parents[1].data)) == 1:
        return (y, x)  # inner product: the gradient is the other vector
    return (f"g·{y}ᵀ", f"{x}ᵀ·g")


def _reduction_mean(o: str, a: Sequence[str], node: Node) -> Sequence[str]:
    return (f"1/{node.saved[1]}",)


FORMULAS: dict[str, Formula] = {
    "add": lambda o, a, n: ("1", "1"),
    "sub": lambda o, a, n: ("1", "−1"),
    "mul": lambda o, a, n: (a[1], a[0]),
    "div": lambda o, a, n: (f"1/{a[1]}", f"−{a[0]}/{a[1]}²"),
    "neg": lambda o, a, n: ("−1",),
    "power": _power,
    "pow": lambda o, a, n: (f"{a[1]}·{a[0]}^({a[1]}−1)", f"{o}·ln {a[0]}"),
    "exp": lambda o, a, n: (o,),
    "log": lambda o, a, n: (f"1/{a[0]}",),
    "sigmoid": lambda o, a, n: (f"{o}(1−{o})",),
    "tanh": lambda o, a, n: (f"1−{o}²",),
    "relu": lambda o, a, n: (f"[{a[0]} > 0]",),
    "abs": lambda o, a, n: (f"sign({a[0]})",),
    "softplus": lambda o, a, n: (f"σ({a[0]})",),
    "log_sigmoid": lambda o, a, n: (f"σ(−{a[0]})",),
    "clip": _clip,
    "where": lambda o, a, n: ("[cond]", "[not cond]"),
    "cast": lambda o, a, n: ("1",),
    "sum": lambda o, a, n: ("1",),
    "mean": _reduction_mean,
    "max": lambda o, a, n: (f"[{a[0]} = max]",),
    "matmul": _matmul,
    "binary_cross_entropy": _bce,
    "bce_with_logits": _bce_logits,
    "reshape": lambda o, a, n: ("reshape g back",),
    "transpose": lambda o, a, n: ("transpose g back",),
    "broadcast_to": lambda o, a, n: ("sum g over the broadcast axes",),
    "getitem": lambda o, a, n: ("scatter g into zeros",),
    "scatter_add": lambda o, a, n: ("g[key]",),
    "concatenate": lambda o, a, n: tuple(f"slice {i} of g" for i in range(len(a))),
    "stack": lambda o, a, n: tuple(f"g[{i}]" for i in range(len(a))),
}

# Ops that act element by element: ∂outᵢ/∂argᵢ is all there is (the Jacobian is
# diagonal), so the local derivative can be shown as an array of the output's shape.
ELEMENTWISE = frozenset(
    (
        "add", "sub", "mul", "div", "neg", "power", "pow", "exp", "log", "sigmoid", "tanh",
        "relu", "abs", "softplus", "log_sigmoid", "clip", "where", "cast",
    )
)  # fmt: skip
_LOSSES = frozenset(("binary_cross_entropy", "bce_with_logits"))


def local_formula(node: Node, i: int, out: str, args: Sequence[str]) -> str | None:
    """∂out/∂argᵢ of ``node``'s op as a formula, or None for ops it does not know."""
    rule = FORMULAS.get(node.op or "")
    if rule is None:
        return None
    formulas = rule(out, args, node)
    return formulas[i] if i < len(formulas) else None


def is_elementwise(node: Node) -> bool:
    """Whether ``node``'s op acts element by element (so its local derivative is an
    array: the diagonal of its Jacobian); losses count when not reduced."""
    op = node.op
    return op in ELEMENTWISE or (op in _LOSSES and node.saved is not None and node.saved[0] == "none")
