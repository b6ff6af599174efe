"""The drawing as plain data: which boxes, which arrows, which clusters.

:func:`build` turns a recorded graph into a :class:`GraphSpec` that knows nothing of
graphviz, so its structure can be tested directly and emitted as DOT or as text.

* Every value is a box ``v{k}`` and the op that produced it an oval ``f{k}``; k is
  the value's position in topological order, so ids (and the DOT text) are the
  same on every run.
* An edge runs from each input value to the op, one per use: ``x*x`` has two.
* Scopes (``glassgrad.scope("name")``) become clusters; a collapsed scope becomes one
  group box ``g{k}`` with its input and output shapes and its op count.
* A ``max_nodes`` budget collapses the deepest scopes first; if the graph is still
  too big the spec is marked ``too_large`` and only the text listing is offered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..graph import Node
from .backprop import Backprop, Flow, backprop, descendants, graph_nodes
from .labels import type_str
from .style import category, role

VIEWS = ("forward", "backward")


@dataclass
class ValueBox:
    id: str
    index: int
    node: Node
    role: str
    scope: tuple[str, ...]
    grad: Any  # forward: node.grad; backward: the replayed ∂L/∂node; None: not computed
    fan_in: int = 0  # contributions summed into this value (backward view)
    on_path: bool | None = None  # None when nothing is highlighted
    before_hooks: Any = None  # backward view: ∂L/∂node before its hooks changed it, if they did

    @property
    def summed(self) -> Any:
        """∂L/∂node as the sum of its contributions: before its hooks, if any."""
        return self.grad if self.before_hooks is None else self.before_hooks


@dataclass
class OpBox:
    id: str
    index: int
    node: Node  # the op's output value
    category: str
    scope: tuple[str, ...]
    on_path: bool | None = None


@dataclass
class GroupBox:
    """A collapsed scope drawn as one box."""

    id: str
    path: tuple[str, ...]
    n_ops: int
    n_values: int
    inputs: list[str] = field(default_factory=list)  # types of the values flowing in
    outputs: list[str] = field(default_factory=list)  # types of the values flowing out
    on_path: bool | None = None

    @property
    def scope(self) -> tuple[str, ...]:
        return self.path[:-1]


@dataclass
class Edge:
    tail: str
    head: str
    arg: int | None = None  # argument position, shown for non-commutative ops
    flows: list[Flow] = field(default_factory=list)  # backward view: what it carries back
    on_path: bool | None = None


@dataclass
class GraphSpec:
    view: str
    root: Node
    order: list[Node]  # every node the root depends on, oldest first
    values: list[ValueBox] = field(default_factory=list)
    ops: list[OpBox] = field(default_factory=list)
    groups: list[GroupBox] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    collapsed: tuple[tuple[str, ...], ...] = ()
    n_boxes: int = 0
    too_large: bool = False
    highlighted: tuple[str, ...] = ()  # display names of the highlighted values
    backprop: Backprop | None = None

    def box_count(self) -> int:
        return len(self.values) + len(self.ops) + len(self.groups)


def build(
    root: Node,
    view: str = "forward",
    highlight: Node | str | Iterable[Node | str] | None = None,
    collapse: Sequence[str] = (),
    max_nodes: int | None = None,
    gradient: Any = None,
) -> GraphSpec:
    """The :class:`GraphSpec` of everything ``root`` depends on (see the module docstring)."""
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
    if isinstance(collapse, str):
        collapse = (collapse,)
    order = graph_nodes(root)
    index = {id(n): k for k, n in enumerate(order)}
    scopes = _scope_paths(order)
    for name in collapse:
        if not any(name in path or "/".join(path) == name for path in scopes):
            known = sorted({"/".join(p) for p in scopes}) or ["(none: create values inside glassgrad.scope(name))"]
            raise ValueError(f"collapse: no scope named {name!r} in this graph; scopes: {', '.join(known)}")
    folded = _fold_paths(scopes, collapse)
    spec = GraphSpec(view=view, root=root, order=order)
    n = _count(order, root, folded)
    if max_nodes is not None:
        # Over budget: fold whole levels of scopes, deepest first.
        for depth in sorted({len(p) for p in scopes}, reverse=True):
            if n <= max_nodes:
                break
            folded = _outermost(folded | {p[:depth] for p in scopes if len(p) >= depth})
            n = _count(order, root, folded)
    spec.collapsed = tuple(sorted(folded))
    spec.n_boxes = n
    if max_nodes is not None and n > max_nodes:
        spec.too_large = True
        return spec
    bp = backprop(root, gradient, order) if view == "backward" else None
    spec.backprop = bp
    on_path = None
    if highlight is not None:
        on_path, starts = _highlighted(order, highlight)
        spec.highlighted = tuple(n.name or f"%{index[id(n)]}" for n in starts)
    _fill(spec, index, folded, bp, on_path)
    return spec


# -- scopes and folding ------------------------------------------------------------------


def _scope_paths(order: Sequence[Node]) -> set[tuple[str, ...]]:
    """Every scope path and all its prefixes."""
    paths: set[tuple[str, ...]] = set()
    for node in order:
        s = node.scope
        for d in range(1, len(s) + 1):
            paths.add(s[:d])
    return paths


def _fold_paths(scopes: set[tuple[str, ...]], names: Sequence[str]) -> set[tuple[str, ...]]:
    """The scope paths to fold: those whose last part (or whole ``a/b`` path) is named."""
    chosen = {p for p in scopes if p[-1] in names or "/".join(p) in names}
    return _outermost(chosen)


def _outermost(paths: set[tuple[str, ...]]) -> set[tuple[str, ...]]:
    """Drop paths that lie inside another path of the set (folding the outer hides them)."""
    return {p for p in paths if not any(p[:d] in paths for d in range(1, len(p)))}


def _group_of(node: Node, root: Node, folded: set[tuple[str, ...]]) -> tuple[str, ...] | None:
    if node is root or not folded:
        return None
    s = node.scope
    for d in range(1, len(s) + 1):
        if s[:d] in folded:
            return s[:d]
    return None


def _count(order: Sequence[Node], root: Node, folded: set[tuple[str, ...]]) -> int:
    """Boxes drawn: a value and its op each count one; a folded scope counts one."""
    groups = set()
    n = 0
    for node in order:
        g = _group_of(node, root, folded)
        if g is None:
            n += 1 if node.fn is None else 2
        else:
            groups.add(g)
    return n + len(groups)


# -- highlighting ----------------------------------------------------------------------


def _highlighted(order: Sequence[Node], highlight: Any) -> tuple[set[int], list[Node]]:
    """ids of the nodes on some path from a highlighted value to the root, and the
    highlighted values themselves."""
    targets = list(highlight) if isinstance(highlight, (list, tuple, set)) else [highlight]
    start: set[int] = set()
    chosen: list[Node] = []
    for t in targets:
        matches = [n for n in order if n is t] if isinstance(t, Node) else [n for n in order if n.name == str(t)]
        if not matches:
            names = sorted({n.name for n in order if n.name})
            raise ValueError(
                f"highlight: {t!r} is not part of this graph"
                + (
                    f"; named values: {', '.join(names)}"
                    if names
                    else "; name values with name=... to pick them by name"
                )
            )
        start.update(id(n) for n in matches)
        chosen += matches
    return descendants(list(order), start), chosen


# -- boxes and edges ----------------------------------------------------------------------


def _fill(
    spec: GraphSpec,
    index: dict[int, int],
    folded: set[tuple[str, ...]],
    bp: Backprop | None,
    on_path: set[int] | None,
) -> None:
    root = spec.root
    order = spec.order
    groups: dict[tuple[str, ...], GroupBox] = {}
    box_of: dict[int, str] = {}  # id(node) -> box that shows the value
    op_box_of: dict[int, str] = {}  # id(node) -> box that shows the op producing it
    group_members: dict[tuple[str, ...], set[int]] = {}

    def mark(ids: Iterable[int]) -> bool | None:
        return None if on_path is None else any(i in on_path for i in ids)

    for k, node in enumerate(order):
        g = _group_of(node, root, folded)
        if g is not None:
            if g not in groups:
                groups[g] = GroupBox(id=f"g{k}", path=g, n_ops=0, n_values=0)
                group_members[g] = set()
            box = groups[g]
            box.n_values += 1
            box.n_ops += node.fn is not None
            group_members[g].add(id(node))
            box_of[id(node)] = op_box_of[id(node)] = box.id
            continue
        grad = bp.grad(node) if bp is not None else node._grad
        if isinstance(grad, Node):  # after backward(create_graph=True) .grad is a graph value
            grad = grad.data
        fan_in = len(bp.into.get(id(node), ())) if bp is not None else 0
        before = bp.before_hooks.get(id(node)) if bp is not None else None
        spec.values.append(
            ValueBox(f"v{k}", k, node, role(node, node is root), node.scope, grad, fan_in, mark([id(node)]), before)
        )
        box_of[id(node)] = f"v{k}"
        if node.fn is not None:
            spec.ops.append(OpBox(f"f{k}", k, node, category(node), node.scope, mark([id(node)])))
            op_box_of[id(node)] = f"f{k}"
    flows = {(id(f.child), f.arg): f for f in bp.flows} if bp is not None else {}
    merged: dict[tuple[str, str], Edge] = {}
    crossing: dict[tuple[str, str], dict[int, Node]] = {}  # (group id, in/out) -> values
    for node in order:
        if node.fn is None:
            continue
        head = op_box_of[id(node)]
        parents = node.parents
        positional = len(parents) > 1 and not node.fn.commutative
        for i, p in enumerate(parents):
            tail = box_of[id(p)]
            if tail == head:
                continue  # both inside one folded scope
            flow = flows.get((id(node), i))
            flow = flow if flow is not None and flow.parent is p else None
            on = None if on_path is None else (id(p) in on_path and id(node) in on_path)
            if tail.startswith("g") or head.startswith("g"):
                # Edges in or out of a folded scope merge: one arrow per pair of boxes.
                edge = merged.get((tail, head))
                if edge is None:
                    edge = merged[(tail, head)] = Edge(tail, head, on_path=on)
                    spec.edges.append(edge)
                elif on:
                    edge.on_path = True
                if flow is not None:
                    edge.flows.append(flow)
                if head.startswith("g"):
                    crossing.setdefault((head, "in"), {})[id(p)] = p
                if tail.startswith("g"):
                    crossing.setdefault((tail, "out"), {})[id(p)] = p
            else:
                spec.edges.append(Edge(tail, head, i if positional else None, [flow] if flow else [], on))
        if not head.startswith("g"):
            spec.edges.append(Edge(head, box_of[id(node)], on_path=mark([id(node)])))
    for path, box in groups.items():
        box.on_path = mark(group_members[path])
        box.inputs = [type_str(v.data) for v in crossing.get((box.id, "in"), {}).values()]
        box.outputs = [type_str(v.data) for v in crossing.get((box.id, "out"), {}).values()]
    spec.groups = sorted(groups.values(), key=lambda b: int(b.id[1:]))
