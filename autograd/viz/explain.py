"""explain(param, root): the chain rule behind one gradient, factor by factor.

A gradient is a sum over paths. For every path w → … → L from the parameter to the
root, the path's term is the product of the local derivatives along it, applied
from the root down (a chain of vector-Jacobian products)::

    ∂L/∂w = Σ over paths  ∂L/∂vₘ · ∂vₘ/∂vₘ₋₁ · … · ∂v₁/∂w

For the logistic unit z = x·w + b, ŷ = σ(z), L = BCE(ŷ, y) there is one path and

    ∂L/∂w = ∂L/∂ŷ · ∂ŷ/∂z · ∂z/∂w = (ŷ−y)/(ŷ(1−ŷ)) · ŷ(1−ŷ) · x = (ŷ−y)·x

Each factor's number comes from its op's own backward, so the total equals what
``backward()`` accumulates into ``.grad`` (summed over samples when batched).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..graph import Node
from ..ops.base import broadcast_axes, sum_to
from ..ops.base import shape_of as raw_shape
from .backprop import backprop, descendants, graph_nodes, local_derivatives, seed_for, vjps
from .formulas import local_formula, n_suffix
from .labels import SMALL_ARRAY, as_shown, display_name, summary, symbol
from .style import ROLE_LABEL, role

#: Paths listed one by one; beyond this only their count and sum are shown.
MAX_PATHS = 12

# Adjacent factors whose formulas cancel, shown as one simpler factor:
# (outer op, the argument the path enters by, inner op) -> formula in the outer op's
# argument names and its 1/n suffix. BCE on a sigmoid: (p−y)/(p(1−p)) · p(1−p) = p−y.
_CANCELLATIONS: dict[tuple[str | None, int, str | None], Callable[[list[str], str], str]] = {
    ("binary_cross_entropy", 0, "sigmoid"): lambda args, n: f"({args[0]}−{args[1]}){n}",
}


@dataclass
class Step:
    """One edge of a path: ``parent`` is argument ``arg`` of the op producing ``child``."""

    child: Node
    parent: Node
    arg: int


@dataclass
class PathTerm:
    steps: list[Step]  # from the root down to the parameter
    factors: list[tuple[str, str, Any]]  # (∂child/∂parent, formula, local value or None)
    notes: list[str]  # sums over broadcast or batch axes met on the way
    value: Any  # this path's term of ∂L/∂param


class Explanation(str):
    """The text of :func:`explain` (a ``str`` that prints itself in a REPL) plus the
    numbers: ``total`` (∂L/∂param) and ``paths`` (one :class:`PathTerm` each)."""

    total: Any
    paths: list[PathTerm]
    n_paths: int

    def __repr__(self) -> str:
        return str(self)


def explain(param: Node, root: Node, gradient: Any = None, max_paths: int = MAX_PATHS) -> Explanation:
    """The chain-rule factorization of ∂root/∂param, with the value of every factor.

    Walks every path from ``param`` to ``root`` (up to ``max_paths`` are spelled out;
    the rest are summed), and returns the text with ``.total`` and ``.paths``. Needs
    the recorded graph: call it before ``backward()`` or after
    ``backward(retain_graph=True)``.
    """
    if not isinstance(param, Node):
        raise TypeError(f"explain: param must be a graph value, got {type(param).__name__}")
    order = graph_nodes(root)
    index = {id(n): k for k, n in enumerate(order)}
    if id(param) not in index:
        raise ValueError(
            f"explain: {param._describe()} is not part of the graph of {root._describe()}; "
            "pass the root computed from it (e.g. the loss)"
        )
    if not param.requires_grad:
        raise ValueError(
            f"explain: {param._describe()} does not require grad, so no gradient is computed for it; "
            "create it with requires_grad=True"
        )
    seed = seed_for(root, gradient)
    on = descendants(order, {id(param)})
    counts = _path_counts(order, on, root)
    n_paths = counts.get(id(param), 0)
    terms = [_term(path, seed, index) for path in _paths(order, on, param, root, max_paths)]
    total = _sum([t.value for t in terms])
    rest = _rest(order, on, param, root, seed, terms, n_paths)
    if rest is not None:
        total = rest if total is None else total + rest
    hooked: list[str] = []
    if any(node._get_meta("hooks") for node in order if id(node) in on):
        # A hook may return anything: the gradient is then no sum of path terms, and
        # the total is the replayed backward pass's, which runs the hooks.
        bp = backprop(root, seed, order)
        hooked = [display_name(n, index) for n in order if id(n) in bp.before_hooks and id(n) in on]
        if hooked:
            total = bp.grad(param)
    # A gradient given for the root (other than 1) is the first factor of every term.
    given = None if gradient is None or np.all(np.asarray(seed) == 1) else seed
    text = _render(param, root, index, terms, n_paths, rest, total, hooked, given)
    out = Explanation(text)
    out.total, out.paths, out.n_paths = total, terms, n_paths
    return out


# -- paths ---------------------------------------------------------------------------


def _path_counts(order: list[Node], on: set[int], root: Node) -> dict[int, int]:
    """Number of distinct paths (edge sequences) from each on-path node to the root."""
    counts = {id(root): 1}
    for node in reversed(order):
        c = counts.get(id(node), 0)
        if c and node.fn is not None:
            for p in node.parents:
                if id(p) in on:
                    counts[id(p)] = counts.get(id(p), 0) + c
    return counts


def _consumers(order: list[Node], on: set[int]) -> dict[int, list[Step]]:
    uses: dict[int, list[Step]] = {}
    for node in order:
        if node.fn is not None and id(node) in on:
            for i, p in enumerate(node.parents):
                if id(p) in on:
                    uses.setdefault(id(p), []).append(Step(node, p, i))
    return uses


def _paths(order: list[Node], on: set[int], param: Node, root: Node, limit: int) -> list[list[Step]]:
    """Up to ``limit`` paths from param to root, each as steps from the root down
    (iterative depth-first search, in the order the graph recorded the uses).

    A partial path is a linked list ``(step, rest)``, so extending it costs O(1) and a
    long chain stays linear."""
    uses = _consumers(order, on)
    found: list[list[Step]] = []
    stack: list[tuple[Node, Any]] = [(param, None)]
    while stack and len(found) < limit:
        node, link = stack.pop()
        if node is root:
            steps = []
            while link is not None:  # newest step first: from the root down
                step, link = link
                steps.append(step)
            found.append(steps)
            continue
        stack.extend((step.child, (step, link)) for step in reversed(uses.get(id(node), [])))
    return found


def _term(steps: list[Step], seed: Any, index: dict[int, int]) -> PathTerm:
    g = seed
    factors, notes = [], []
    for step in steps:
        child, parent = step.child, step.parent
        out = symbol(display_name(child, index))
        args = [symbol(display_name(p, index)) for p in child.parents]
        formula = local_formula(child, step.arg, out, args) or f"∂{child.op}"
        local = local_derivatives(child)
        factors.append(
            (f"∂{out}/∂{symbol(display_name(parent, index))}", formula, None if local is None else local[step.arg])
        )
        raw = vjps(child, g)[step.arg]
        pshape, gshape = raw_shape(parent.data), raw_shape(raw)
        if gshape != pshape:
            axes = broadcast_axes(gshape, pshape)
            axes_text = ", ".join(map(str, axes))
            notes.append(f"{display_name(parent, index)} was broadcast in {child.op}: summed over axis {axes_text}")
        elif child.op == "matmul" and len(pshape) == 1 and len(raw_shape(child.parents[1 - step.arg].data)) == 2:
            rows = raw_shape(child.data)[0]
            notes.append(
                f"matmul's vjp sums over the {rows} rows (samples) of the matrix into ∂/∂{display_name(parent, index)}"
            )
        g = sum_to(raw, pshape)
        if isinstance(parent.data, float):
            g = float(g)
    return PathTerm(steps, factors, notes, g)


def _rest(
    order: list[Node], on: set[int], param: Node, root: Node, seed: Any, terms: list[PathTerm], n_paths: int
) -> Any:
    """The summed term of the paths not spelled out: the full gradient minus the listed
    paths (the full gradient by the replayed backward pass)."""
    if n_paths <= len(terms):
        return None
    full = backprop(root, seed, order).grad(param)
    listed = _sum([t.value for t in terms])
    return full if listed is None else full - listed


def _sum(values: list[Any]) -> Any:
    total = None
    for v in values:
        total = v if total is None else total + v
    return total


# -- text -------------------------------------------------------------------------------


def _render(
    param: Node,
    root: Node,
    index: dict[int, int],
    terms: list[PathTerm],
    n_paths: int,
    rest: Any,
    total: Any,
    hooked: list[str],
    given: Any,
) -> str:
    p = display_name(param, index)
    r = display_name(root, index)
    d = f"{'' if given is None else 'g·'}∂{symbol(r)}/∂{symbol(p)}"
    paths = f"{n_paths} path{'s' * (n_paths != 1)}"
    head = f"{d}: {p} is a {ROLE_LABEL[role(param, False)]}, {r} the output; {paths} from {p} to {r}"
    lines = [head]
    seed = [] if given is None else [("g", "g", given)]
    if given is not None:
        lines.append(f"(g = the gradient given for {r} = {summary(given)}: every path's term starts from it)")
    factors = [v for t in terms for _, _, v in [*seed, *t.factors]]
    if any(v is not None and raw_shape(v) not in ((), (1,)) for v in factors):
        lines.append("(· multiplies arrays element by element)")
    if any(v is None for v in factors):
        lines.append("(a factor shown as a vjp, such as Xᵀ·g, applies to g: the product of the factors on its left)")
    if any(len(seed + t.factors) > 1 and not _multiplies_out(t, seed + t.factors) for t in terms):
        lines.append("(numbers have 4 significant digits; ≈ where the rounded factors multiply to another last digit)")
    lines.append("")
    for k, term in enumerate(terms, 1):
        chain = p + "".join(
            f" →{_arg_tag(s)} {s.child.op} → {display_name(s.child, index)}" for s in reversed(term.steps)
        )
        lines.append(f"path {k} of {n_paths}:  {chain}")
        path_factors = seed + term.factors
        names = [f for f, _, _ in path_factors]
        formulas = [f for _, f, _ in path_factors]
        values = [summary(v) if v is not None else "(vjp)" for _, _, v in path_factors]
        if len(path_factors) == 1:  # one edge: the factor is the whole term
            lines.append(f"  {names[0]} = {formulas[0]}" + (f" = {values[0]}" if values[0] != formulas[0] else ""))
            lines.extend(f"    note: {note}" for note in term.notes)
            lines.append("")
            continue
        eq = " " * (len(d) + 3) + "= "
        lines.append(f"  {d} = " + " · ".join(names))
        lines.append(eq + " · ".join(_wrap(f) for f in formulas))
        simpler = _simplify(term, index)
        if simpler is not None:
            lines.append(eq + ("g · " if seed else "") + simpler)
        lines.append(eq + " · ".join(_wrap(v) for v in values))
        lines.append(eq[:-2] + ("= " if _multiplies_out(term, path_factors) else "≈ ") + summary(term.value))
        width = max(len(n) for n in names)
        lines.extend(
            f"    {name.ljust(width)} = {formula}" + (f" = {shown}" if shown != formula else "")
            for (name, formula, _value), shown in zip(path_factors, values)
        )
        lines.extend(f"    note: {note}" for note in term.notes)
        lines.append("")
    if rest is not None:
        lines.append(f"the other {n_paths - len(terms)} paths add up to {summary(rest)}")
        lines.append("")
    lines.extend(
        f"note: a hook on {name} changes the gradient passing through it; the paths leave it out" for name in hooked
    )
    how = "backward()'s, with the hooks" if hooked else f"sum over {n_paths} paths" if n_paths > 1 else ""
    lines.append(f"{d} = {summary(total)}" + (f"  ({how})" if how else ""))
    return "\n".join(lines)


def _multiplies_out(term: PathTerm, factors: list[tuple[str, str, Any]]) -> bool:
    """Whether the term's ``factors`` as shown, rounded, multiply to the term as shown:
    −1.317 · 0.1827 is −0.2406, the term (from the unrounded numbers) −0.2405. True
    where a factor is a vjp or a summary, or a sum is taken on the way: nothing to check."""
    values = [v for _, _, v in factors]
    if term.notes or any(v is None or np.size(v) > SMALL_ARRAY for v in [*values, term.value]):
        return True
    product = functools.reduce(operator.mul, [as_shown(v) for v in values])
    return np.shape(product) != raw_shape(term.value) or summary(product) == summary(term.value)


def _arg_tag(step: Step) -> str:
    """``(arg 1)`` when the op has several inputs, so paths through x*x stay distinct."""
    return f"(arg {step.arg})" if len(step.child.parents) > 1 else ""


def _wrap(text: str) -> str:
    """Parenthesize a factor with an operator outside brackets (``1−ŷ²``, ``a/b``), which
    would read ambiguously next to a ``·``; a leading sign is fine."""
    depth = 0
    for i, c in enumerate(text):
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif depth == 0 and i > 0 and c in " +−-·":
            return f"({text})"
    return text


def _simplify(term: PathTerm, index: dict[int, int]) -> str | None:
    """The formula line with known cancellations applied and factors of 1 dropped, or
    None when nothing simplifies."""
    out: list[str] = []
    changed = False
    k = 0
    steps, factors = term.steps, term.factors
    while k < len(steps):
        step = steps[k]
        if k + 1 < len(steps):
            inner = steps[k + 1]
            rule = _CANCELLATIONS.get((step.child.op, step.arg, inner.child.op))
            if rule is not None and inner.child is step.parent:
                args = [symbol(display_name(q, index)) for q in step.child.parents]
                out.append(rule(args, n_suffix(step.child)))
                changed = True
                k += 2
                continue
        if factors[k][1] == "1":
            changed = True
        else:
            out.append(_wrap(factors[k][1]))
        k += 1
    if not changed:
        return None
    return " · ".join(out) if out else "1"
