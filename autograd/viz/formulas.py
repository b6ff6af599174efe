"""The local derivative of an op, as a formula in the names of its values.

``local_formula(node, i, out, args)`` spells ∂out/∂argᵢ for the op that produced
``node``, with ``out`` and ``args`` the display names of its output and inputs; for
``z = mul(x, w)`` and i = 1 that is ``x``. The op itself says it (its
:meth:`~glassgrad.graph.Function.formulas`), so an op defined anywhere is drawn like a
built-in one. These are the words of the drawing and of
:func:`~glassgrad.viz.explain`; the numbers always come from the op's own backward,
so a formula can never make a displayed value wrong.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..graph import Node
from ..ops.loss import mean_suffix


def local_formula(node: Node, i: int, out: str, args: Sequence[str]) -> str | None:
    """∂out/∂argᵢ of ``node``'s op as a formula, or None when the op gives none."""
    fn = node.fn
    formulas = None if fn is None else fn.formulas(node, out, *args)
    if formulas is None or i >= len(formulas):
        return None
    return formulas[i]


def is_elementwise(node: Node) -> bool:
    """Whether ``node``'s op acts element by element (so its local derivative is an
    array: the diagonal of its Jacobian); a loss counts when it is not reduced."""
    fn = node.fn
    return fn is not None and (fn.elementwise or getattr(node.saved, "reduction", None) == "none")


def n_suffix(node: Node) -> str:
    """``/n`` for a mean-reduced loss over n > 1 elements, else ''."""
    return mean_suffix(node.saved) if hasattr(node.saved, "reduction") else ""
