"""The explorer's script as data: the forward pass op by op, then back-propagation edge by edge.

:func:`walkthrough` reads a backward-view :class:`~glassgrad.viz.spec.GraphSpec` (its
boxes, edges and replayed :class:`~glassgrad.viz.backprop.Backprop`) and lists

* the start: leaves show their values, nothing else is computed yet;
* one **forward** step per op in topological order: the op runs, its output appears;
* the **seed** ∂L/∂L = 1 on the root;
* one **backward** step per edge that carries gradient, in the order the replayed
  backward pass visits them: the edge shows local derivative × upstream = contribution
  (the lines of the backward drawing), and the input's gradient becomes the running
  sum of the contributions it has received so far; a value used k times fills up
  ``Σ j of k`` until the sum is complete.

Every number is text made by the backward drawing's own helpers from the replayed
backward pass, so the explorer, ``draw(view="backward")`` and ``explain()`` agree. A
running sum adds the contributions in the order the replay adds them, so the last
one equals the replay's gradient bit for bit.

A step is a list of changes to *slots*: the text of a number cell, a CSS class of a
box or edge, or a data attribute holding a value at full precision (``repr`` of every
float, as JSON). Ops inside a folded scope make one step per run of consecutive ops.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..graph import Node
from .backprop import Backprop, Flow
from .dot import adds_up, box_sum_text, fan_in_text, flow_lines, hook_text, merged_flow_line
from .labels import display_name, summary, symbol
from .spec import Edge, GraphSpec, GroupBox, ValueBox
from .text import op_line

#: Values with more elements than this keep only their summary in the page (no
#: full-precision data attribute), so a big batch does not bloat the file.
EXACT_ELEMENTS = 10_000

# Slot kinds: the text of an SVG cell, a CSS class of an element, an attribute.
TEXT, CLASS, ATTR = "text", "class", "attr"
# The class that marks what the current step has not reached yet.
TODO = "todo"


@dataclass
class Step:
    phase: str  # "start", "forward", "seed" or "backward"
    caption: str  # one line: what this step does
    lines: list[str] = field(default_factory=list)  # the chain-rule step in full
    focus: list[str] = field(default_factory=list)  # ids of the boxes and edges it is about
    changes: list[tuple[int, Any]] = field(default_factory=list)  # (slot, its new state)


@dataclass
class Walkthrough:
    slots: list[tuple[str, str, str]] = field(default_factory=list)  # (element id, kind, name)
    initial: list[Any] = field(default_factory=list)  # each slot's state at the start
    steps: list[Step] = field(default_factory=list)
    _index: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def slot(self, element: str, kind: str, name: str, initial: Any) -> int:
        """The number of a slot, declared with its initial state on first use."""
        key = (element, kind, name)
        if key not in self._index:
            self._index[key] = len(self.slots)
            self.slots.append(key)
            self.initial.append(initial)
        return self._index[key]

    def state(self, upto: int) -> dict[tuple[str, str, str], Any]:
        """Every slot's state after step ``upto`` (0 is the start)."""
        now = list(self.initial)
        for step in self.steps[1 : upto + 1]:
            for slot, value in step.changes:
                now[slot] = value
        return dict(zip(self.slots, now))


def exact(data: Any) -> str | None:
    """A value at full precision as JSON (floats by ``repr``, so they read back
    exactly; NaN and ±inf as the strings ``"nan"``, ``"inf"``, ``"-inf"``), or None for
    arrays over :data:`EXACT_ELEMENTS` elements."""
    if isinstance(data, (float, int)):
        return json.dumps(_finite_or_text(float(data)))
    arr = np.asarray(data)
    if arr.size > EXACT_ELEMENTS:
        return None
    if arr.dtype.kind in "fc":
        return json.dumps(_nested(arr.astype(float).tolist()))
    return json.dumps(arr.tolist())


def _finite_or_text(x: float) -> Any:
    return x if math.isfinite(x) else ("nan" if math.isnan(x) else ("inf" if x > 0 else "-inf"))


def _nested(items: Any) -> Any:
    return [_nested(i) for i in items] if isinstance(items, list) else _finite_or_text(items)


def walkthrough(spec: GraphSpec) -> Walkthrough:
    """The steps of ``spec`` (a backward view; see the module docstring)."""
    if spec.backprop is None:
        raise ValueError("walkthrough needs a backward view: build(root, view='backward')")
    return _Writer(spec, spec.backprop).run()


class _Writer:
    """Builds a :class:`Walkthrough` box by box; holds the lookups it needs."""

    def __init__(self, spec: GraphSpec, bp: Backprop) -> None:
        self.spec = spec
        self.bp = bp
        self.out = Walkthrough()
        self.index = {id(n): k for k, n in enumerate(spec.order)}
        self.root_name = display_name(spec.root, self.index)
        self.value_box = {id(v.node): v for v in spec.values}
        self.op_box = {id(o.node): o.id for o in spec.ops}
        self.group_of = {id(n): g for n in spec.order if (g := _group_of(spec.groups, n, spec.root)) is not None}
        self.edge_of_flow: dict[int, int] = {id(f): k for k, e in enumerate(spec.edges) for f in e.flows}
        self.edges_into: dict[str, list[int]] = {}
        self.edges_from: dict[str, list[int]] = {}
        for k, e in enumerate(spec.edges):
            self.edges_into.setdefault(e.head, []).append(k)
            self.edges_from.setdefault(e.tail, []).append(k)

    def run(self) -> Walkthrough:
        self._start()
        self._forward()
        self._seed()
        self._backward()
        return self.out

    # -- the start -------------------------------------------------------------------
    def _start(self) -> None:
        out = self.out
        for v in self.spec.values:
            computed = v.node.fn is None
            out.slot(v.id, CLASS, TODO, not computed)
            out.slot(f"{v.id}-value", TEXT, "", summary(v.node.data) if computed else None)
            out.slot(v.id, ATTR, "data-value", exact(v.node.data) if computed else None)
            if v.node.requires_grad:
                out.slot(f"{v.id}-grad", TEXT, "", None)
                out.slot(v.id, ATTR, "data-grad", None)
            if v.fan_in > 1:
                out.slot(f"{v.id}-sum", TEXT, "", box_sum_text(self.spec, v))
            if v.before_hooks is not None:
                out.slot(f"{v.id}-hook", TEXT, "", None)
        for o in self.spec.ops:
            out.slot(o.id, CLASS, TODO, True)
        for g in self.spec.groups:
            out.slot(g.id, CLASS, TODO, g.n_ops > 0)
        for k, e in enumerate(self.spec.edges):
            if e.flows:
                out.slot(f"e{k}", CLASS, TODO, True)
                if len(e.flows) > 1:
                    out.slot(f"e{k}", TEXT, "", None)
        n_values = len(self.spec.order)
        n_ops = sum(1 for n in self.spec.order if n.fn is not None)
        counts = f"{n_values} value{'s' * (n_values != 1)}, {n_ops} op{'s' * (n_ops != 1)}"
        out.steps.append(Step("start", f"{counts}: step through the forward pass, then backward"))

    def _set(self, step: Step, element: str, kind: str, name: str, value: Any) -> None:
        step.changes.append((self.out._index[(element, kind, name)], value))

    # -- forward -----------------------------------------------------------------------
    def _forward(self) -> None:
        ops = [n for n in self.spec.order if n.fn is not None]
        n_ops = len(ops)
        k = 0
        while k < n_ops:
            node = ops[k]
            group = self.group_of.get(id(node))
            if group is None:
                self.out.steps.append(self._op_step(node, k + 1, n_ops))
                k += 1
                continue
            run = k
            while run < n_ops and self.group_of.get(id(ops[run])) is group:
                run += 1
            self.out.steps.append(self._group_forward(group, ops[k:run], k + 1, n_ops))
            k = run

    def _op_step(self, node: Node, number: int, n_ops: int) -> Step:
        f = self.op_box[id(node)]
        v = self.value_box[id(node)].id
        line = op_line(node, self.index)
        step = Step("forward", f"forward, op {number} of {n_ops}:  {line}", [line])
        step.focus = [f, v, *(f"e{k}" for k in self.edges_into.get(f, ())), *(f"e{k}" for k in self.edges_from[f])]
        self._set(step, f, CLASS, TODO, False)
        self._set(step, v, CLASS, TODO, False)
        self._set(step, f"{v}-value", TEXT, "", summary(node.data))
        self._set(step, v, ATTR, "data-value", exact(node.data))
        return step

    def _group_forward(self, group: GroupBox, ops: list[Node], number: int, n_ops: int) -> Step:
        last = number + len(ops) - 1
        span = f"op {number}" if len(ops) == 1 else f"ops {number}–{last}"
        lines = [op_line(n, self.index) for n in ops]
        caption = f"forward, {span} of {n_ops}, inside the folded scope {'/'.join(group.path)}"
        step = Step("forward", caption, lines, [group.id, *(f"e{k}" for k in self.edges_into.get(group.id, ()))])
        self._set(step, group.id, CLASS, TODO, False)
        return step

    # -- backward ---------------------------------------------------------------------
    def _seed(self) -> None:
        root = self.spec.root
        box = self.value_box[id(root)]
        seed = self.bp.grad(root) if box.before_hooks is None else box.before_hooks
        d = f"∂{symbol(self.root_name)}/∂{symbol(self.root_name)}"
        step = Step("seed", f"backward starts: {d} = {summary(seed)}", [f"{d} = {summary(seed)}"], [box.id])
        if root.requires_grad:
            self._set(step, f"{box.id}-grad", TEXT, "", summary(seed))
            self._set(step, box.id, ATTR, "data-grad", exact(seed))
            self._hooks(step, box, d)
        step.caption = "backward starts: " + "  ".join(step.lines)
        self.out.steps.append(step)

    def _hooks(self, step: Step, box: ValueBox, d: str) -> None:
        """The change of the gradient complete on ``box`` by its value's hooks, if any."""
        if box.before_hooks is None:
            return
        after = self.bp.grad(box.node)
        step.lines.append(f"{d} after the hooks on {display_name(box.node, self.index)} = {summary(after)}")
        self._set(step, f"{box.id}-grad", TEXT, "", summary(after))
        self._set(step, box.id, ATTR, "data-grad", exact(after))
        self._set(step, f"{box.id}-hook", TEXT, "", hook_text(box))

    def _backward(self) -> None:
        flows = self.bp.flows
        running: dict[int, Any] = {}  # id(value) -> the sum of its contributions so far
        received: dict[int, int] = {}  # id(value) -> how many it has received
        edge_done: dict[int, int] = {}  # edge -> flows it has carried
        n = len(flows)
        k = 0
        while k < n:
            flow = flows[k]
            edge = self.edge_of_flow.get(id(flow))
            if edge is None:  # inside one folded scope
                group = self.group_of[id(flow.child)]
                run = k
                while (
                    run < n
                    and self.edge_of_flow.get(id(flows[run])) is None
                    and self.group_of.get(id(flows[run].child)) is group
                ):
                    self._accumulate(flows[run], running, received)
                    run += 1
                caption = f"backward, inside the folded scope {'/'.join(group.path)}: {run - k} edge(s)"
                self.out.steps.append(Step("backward", caption, [], [group.id]))
                k = run
                continue
            self._accumulate(flow, running, received)
            edge_done[edge] = edge_done.get(edge, 0) + 1
            self.out.steps.append(self._flow_step(flow, edge, edge_done[edge], running, received, k + 1, n))
            k += 1

    def _accumulate(self, flow: Flow, running: dict[int, Any], received: dict[int, int]) -> None:
        # The replay's own order of addition (backprop.backprop), so the last running
        # sum is its gradient exactly.
        key = id(flow.parent)
        running[key] = flow.contribution if key not in running else running[key] + flow.contribution
        received[key] = received.get(key, 0) + 1

    def _flow_step(
        self,
        flow: Flow,
        edge: int,
        carried: int,
        running: dict[int, Any],
        received: dict[int, int],
        number: int,
        n_flows: int,
    ) -> Step:
        e: Edge = self.spec.edges[edge]
        parent = flow.parent
        lines = flow_lines(flow, self.index, self.root_name)
        name = display_name(parent, self.index)
        d = f"∂{symbol(self.root_name)}/∂{symbol(name)}"
        box = self.value_box.get(id(parent))
        total = running[id(parent)]
        fan_in = len(self.bp.into[id(parent)])
        got = received[id(parent)]
        sums = adds_up(self.bp.into[id(parent)][:got], total)
        if fan_in > 1:  # else the contribution is the whole gradient
            lines.append(f"{d} = Σ {got} of {fan_in} so far {'=' if sums else '≈'} {summary(total)}")
        step = Step("backward", "", lines, [f"e{edge}", e.head, e.tail])
        self._set(step, f"e{edge}", CLASS, TODO, False)
        if len(e.flows) > 1:
            self._set(step, f"e{edge}", TEXT, "", merged_flow_line(e.flows[:carried]))
        if box is not None:
            self._set(step, f"{box.id}-grad", TEXT, "", summary(total))
            self._set(step, box.id, ATTR, "data-grad", exact(total))
            if fan_in > 1:
                text = fan_in_text(fan_in, sums) if got == fan_in else f"Σ {got} of {fan_in} so far"
                self._set(step, f"{box.id}-sum", TEXT, "", text)
            if got == fan_in:
                self._hooks(step, box, d)
        step.caption = f"backward, edge {number} of {n_flows}:  " + "  ".join(lines)
        return step


def _group_of(groups: list[GroupBox], node: Node, root: Node) -> GroupBox | None:
    """The folded scope that hides ``node``, if any (the root is never folded)."""
    if node is root:
        return None
    for g in groups:
        if node.scope[: len(g.path)] == g.path:
            return g
    return None
