"""Back-propagation replayed on a recorded graph, keeping what each edge carries.

The engine's backward driver only keeps totals. To *show* the chain rule we replay
it: visiting values newest first, each op's own backward turns the upstream gradient
``g = ∂L/∂out`` into one contribution per input, and a value used k times receives
k contributions that add up::

    ∂L/∂x = Σ over the uses of x:  sum_to(backward(∂L/∂out))

A value's hooks (``register_hook``) then turn its gradient into the one it passes on,
as in ``backward()``: they run in the replay too, on a copy, so a hook that changes its
argument in place changes no contribution already recorded.

For every edge we also record the *local* derivative ∂out/∂x, where it is an array:
for element-wise ops (the diagonal of the Jacobian, ``backward(1)``) and for ops
with a single-number output (the gradient of out, again ``backward(1)``). Then
``contribution = sum_to(upstream · local)``. Nothing is written to ``.grad``.

The graph must still be recorded: draw before ``backward()``, or call
``backward(retain_graph=True)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import GradError
from ..graph import Node, run_hooks, walk
from ..ops.base import broadcast_axes, sum_to
from .formulas import is_elementwise
from .labels import shape_of

FREED_HINT = (
    "the graph was freed by backward(): draw or explain before calling backward(), "
    "or call backward(retain_graph=True) to keep it"
)


@dataclass
class Flow:
    """What one edge carries back: ``parent`` is argument ``arg`` of the op that
    produced ``child``."""

    child: Node
    parent: Node
    arg: int
    upstream: Any  # ∂L/∂child
    local: Any  # ∂child/∂parent (diagonal or gradient), None when it is a full Jacobian
    contribution: Any  # ∂L/∂parent through this edge, summed back to parent's shape
    reduced_axes: tuple[int, ...]  # broadcast axes the contribution was summed over


@dataclass
class Backprop:
    """The replayed backward pass from ``root``."""

    order: list[Node]  # every node the root depends on, oldest first
    grads: dict[int, Any] = field(default_factory=dict)  # id(node) -> ∂L/∂node
    flows: list[Flow] = field(default_factory=list)
    into: dict[int, list[Flow]] = field(default_factory=dict)  # id(parent) -> its flows
    before_hooks: dict[int, Any] = field(default_factory=dict)  # id(node) -> ∂L/∂node its hooks changed

    def grad(self, node: Node) -> Any:
        """∂L/∂node, or None when no gradient reaches it."""
        return self.grads.get(id(node))


def graph_nodes(root: Node) -> list[Node]:
    """``walk(root)`` with a clear error for a graph that backward() has freed."""
    if not isinstance(root, Node):
        raise TypeError(f"expected a graph value (Tensor or Scalar), got {type(root).__name__}")
    try:
        return walk(root)
    except GradError:
        raise GradError(FREED_HINT) from None


def seed_for(root: Node, gradient: Any = None) -> Any:
    """∂L/∂root: 1 for a single number, else the ``gradient`` the caller gives."""
    data = root.data
    if gradient is not None:
        g = gradient.data if isinstance(gradient, Node) else gradient
        if isinstance(data, float):
            return float(g)
        g = np.asarray(g, dtype=data.dtype)
        if g.shape != data.shape:
            raise ValueError(f"gradient has shape {g.shape} but the root has shape {data.shape}")
        return g
    if isinstance(data, float):
        return 1.0
    if data.size != 1:
        raise ValueError(
            f"the backward view starts from ∂L/∂root = 1, which needs a single-number root; "
            f"this root has shape {data.shape}. Reduce it (e.g. .sum()) or pass gradient= of that shape."
        )
    return np.ones_like(data)


def vjps(node: Node, g: Any) -> Any:
    """What the op that produced ``node`` sends back to each input for the upstream
    gradient ``g``: its backward, before broadcast axes are summed away."""
    if node.fn is None:
        raise ValueError("vjps: a leaf was made by no op, so it has no vector-Jacobian products")
    return node.fn.backward(node, g, node.data, *[p.data for p in node.parents])


def local_derivatives(node: Node) -> Any:
    """∂node/∂input for every input of ``node``'s op, as arrays, where that is all
    there is to say: element-wise ops (the Jacobian's diagonal) and single-number
    outputs (the gradient). Both are the op's backward of 1. None otherwise."""
    if not (is_elementwise(node) or shape_of(node.data) in ((), (1,))):
        return None
    return vjps(node, 1.0 if isinstance(node.data, float) else np.ones_like(node.data))


def descendants(order: list[Node], starts: set[int]) -> set[int]:
    """ids of the nodes of ``order`` (oldest first) that depend on a node in ``starts``
    (those included): the nodes on some path from a start to the root."""
    on: set[int] = set()
    for node in order:  # parents are decided before their consumers
        if id(node) in starts or (node.fn is not None and any(id(p) in on for p in node.parents)):
            on.add(id(node))
    return on


def backprop(root: Node, gradient: Any = None, order: list[Node] | None = None) -> Backprop:
    """Replay back-propagation from ``root`` (see the module docstring)."""
    order = graph_nodes(root) if order is None else order
    bp = Backprop(order=order)
    bp.grads[id(root)] = seed_for(root, gradient)
    for node in reversed(order):
        g = bp.grads.get(id(node))
        if g is None:
            continue
        if node._get_meta("hooks"):
            g = _hooked(bp, node, g)
        if node.fn is None:
            continue
        grads = vjps(node, g)
        locals_ = local_derivatives(node)
        for i, (p, gp) in enumerate(zip(node.parents, grads)):
            if gp is None or not p.requires_grad:
                continue
            pshape = shape_of(p.data)
            gshape = shape_of(gp)
            axes = broadcast_axes(gshape, pshape) if gshape != pshape else ()
            contribution = sum_to(gp, pshape) if gshape != pshape else gp
            if isinstance(p.data, float):
                contribution = float(contribution)
            flow = Flow(node, p, i, g, None if locals_ is None else locals_[i], contribution, axes)
            bp.flows.append(flow)
            bp.into.setdefault(id(p), []).append(flow)
            prev = bp.grads.get(id(p))
            bp.grads[id(p)] = contribution if prev is None else prev + contribution
    return bp


def _hooked(bp: Backprop, node: Node, g: Any) -> Any:
    """``g`` after ``node``'s hooks, recorded in ``bp``; the value before is kept when
    they changed it."""
    after = run_hooks(node, g if isinstance(g, float) else g.copy())
    if not np.array_equal(after, g):
        bp.before_hooks[id(node)] = g
        bp.grads[id(node)] = after
    return after
