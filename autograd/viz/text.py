"""The graph as a typed listing, one line per op (in the spirit of a jaxpr)::

    # inputs
    %0: f64[2] x = [1.5, −0.5]  (data)
    %1: f64[2] w = [0.8, 0.3]  (parameter)
    # ops
    %2: f64[] = matmul(%0, %1)  # = 0.75
    ...
    # output: %7 L

It needs neither graphviz nor ``dot`` and stays readable for graphs of any size, so
it is what ``draw`` falls back to when ``dot`` is missing or the graph is too big.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..graph import Node
from .backprop import graph_nodes
from .labels import op_detail, printable, summary, type_str
from .style import ROLE_SHORT, role


def to_text(root: Node, order: Sequence[Node] | None = None) -> str:
    """A typed listing of everything ``root`` depends on: leaves first, with names and
    values, then one line per op in topological order, ``%k`` naming the k-th value."""
    order = graph_nodes(root) if order is None else order
    index = {id(n): k for k, n in enumerate(order)}
    lines = ["# inputs"]
    for k, node in enumerate(order):
        if node.fn is None:
            name = f" {printable(node.name)}" if node.name else ""
            lines.append(
                f"%{k}: {type_str(node.data)}{name} = {summary(node.data)}  ({ROLE_SHORT[role(node, node is root)]})"
            )
    lines.append("# ops")
    scope: tuple[str, ...] = ()
    for node in order:
        if node.fn is None:
            continue
        if node.scope != scope:
            scope = node.scope
            lines.append(f"# scope {printable('/'.join(scope))}" if scope else "# scope (top level)")
        lines.append(op_line(node, index))
    name = f" {printable(root.name)}" if root.name else ""
    lines.append(f"# output: %{index[id(root)]}{name}")
    return "\n".join(lines)


def op_line(node: Node, index: dict[int, int]) -> str:
    """One op of the listing: ``%5: f64[] = add(%4, %1)  # z = 1.15``."""
    args = ", ".join(f"%{index[id(p)]}" for p in node.parents)
    detail = op_detail(node)
    if detail:
        args += f", {detail}"
    note = f"{printable(node.name)} = " if node.name else "= "
    op = printable(node.op or "")
    return f"%{index[id(node)]}: {type_str(node.data)} = {op}({args})  # {note}{summary(node.data)}"
