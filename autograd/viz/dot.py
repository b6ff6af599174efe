"""DOT emission: a :class:`~glassgrad.viz.spec.GraphSpec` as a ``graphviz.Digraph``.

Values are HTML-like tables (name, shape·dtype, value, gradient), ops are rounded
boxes filled by category, folded scopes are dashed boxes, scopes are clusters. In the
backward view every edge points back toward the input it feeds and is labelled

    ∂out/∂in = formula = local  ×  ∂L/∂out = upstream  =  contribution

All user text passes through :func:`~glassgrad.viz.labels.escape`.

With ``anchors=True`` (the explorer's drawing) every box, edge and number cell gets
an SVG id the explorer's script finds it by: ``v3``, ``f4``, ``g5``, ``e0`` for the
boxes and edges of the spec, ``v3-value``, ``v3-grad`` and ``v3-sum`` for a value's
cells. graphviz 2.4x writes a cell's ``ID`` only for a cell with a link, so those
cells get ``HREF="#"``, which the explorer removes from the SVG again.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ops.base import sum_to
from ..optional import require
from .backprop import Flow
from .formulas import local_formula
from .labels import (
    SMALL_ARRAY,
    as_shown,
    display_name,
    escape,
    escape_attr,
    full,
    health,
    op_detail,
    shape_of,
    shorten,
    summary,
    symbol,
    type_str,
)
from .spec import Edge, GraphSpec, GroupBox, OpBox, ValueBox
from .style import (
    CATEGORIES,
    CATEGORY_COLOR,
    CATEGORY_LABEL,
    DIM_COLOR,
    DIM_TEXT,
    FLOW_COLOR,
    FONT,
    GROUP_COLOR,
    HEALTH_COLOR,
    HEALTH_LABEL,
    HIGHLIGHT_COLOR,
    ROLE_COLOR,
    ROLE_LABEL,
    ROLE_SHORT,
    ROLES,
)

EDGE_COLOR = "#444444"


def to_digraph(
    spec: GraphSpec,
    rankdir: str | None = None,
    show_legend: bool = True,
    anchors: bool = False,
    compact: bool = False,
) -> Any:
    """The ``graphviz.Digraph`` of ``spec`` (the graph is never ``strict``: ``x*x``
    keeps both of its edges). ``anchors`` adds the explorer's SVG ids (see the module
    docstring). ``compact`` draws each value as a few lines (name, value, gradient),
    edges as bare lines (inputs above, outputs below) and no tooltips: ``dot`` lays a
    big graph out many times faster that way, and a browser draws it with a fraction
    of the elements. Raises ``MissingDependency`` without the ``graphviz`` package
    (extra ``viz``)."""
    graphviz = require("graphviz", "viz", "drawing a graph")

    index = {id(n): k for k, n in enumerate(spec.order)}
    if rankdir is None:
        # Small forward graphs read left to right; the backward view's edge labels
        # are wide, so it (and any big graph) stacks top to bottom.
        rankdir = "LR" if spec.view == "forward" and spec.box_count() <= 50 else "TB"
    dot = graphviz.Digraph(
        "glassgrad",
        graph_attr={"rankdir": rankdir, "fontname": FONT, "nodesep": "0.3", "ranksep": "0.4", "tooltip": " "},
        node_attr={"fontname": FONT, "fontsize": "11"},
        edge_attr={"fontname": FONT, "fontsize": "10", "color": EDGE_COLOR, "arrowsize": "0.7"},
    )
    root_name = display_name(spec.root, index)
    clusters: dict[tuple[str, ...], list[tuple[int, str, dict[str, str]]]] = {}
    for v in spec.values:
        attrs = _compact_value_attrs(spec, v, anchors) if compact else _value_attrs(spec, v, index, root_name, anchors)
        clusters.setdefault(v.scope, []).append((v.index, v.id, attrs))
    for o in spec.ops:
        clusters.setdefault(o.scope, []).append((o.index, o.id, _op_attrs(spec, o)))
    for g in spec.groups:
        clusters.setdefault(g.scope, []).append((int(g.id[1:]), g.id, _group_attrs(g)))
    for items in clusters.values():
        for _, box_id, attrs in items:
            if anchors:
                attrs["id"] = box_id
            if compact:
                attrs.pop("tooltip", None)
    _emit_clusters(dot, clusters)
    for k, e in enumerate(spec.edges):
        attrs = _edge_attrs(spec, e, index, root_name)
        if compact:  # bare lines: a big graph's arrowheads are thousands of elements
            attrs.pop("label", None)
            attrs.update(arrowhead="none", arrowtail="none")
        if anchors:
            attrs["id"] = f"e{k}"
        dot.edge(e.tail, e.head, **attrs)
    if show_legend:
        dot.node("legend", **_legend(spec))
    return dot


# -- clusters ------------------------------------------------------------------------------


def _emit_clusters(dot: Any, clusters: dict[tuple[str, ...], list[tuple[int, str, dict[str, str]]]]) -> None:
    """Nested ``cluster_*`` subgraphs, one per scope path, built deepest first so each
    finished cluster can be pasted into its parent (no recursion)."""
    import graphviz

    paths = set(clusters)
    for p in list(paths):
        paths.update(p[:d] for d in range(len(p)))
    first = {
        p: min((i for q, items in clusters.items() if q[: len(p)] == p for i, _, _ in items), default=0) for p in paths
    }
    ordered = sorted(paths, key=lambda p: (first[p], len(p)))
    graphs: dict[tuple[str, ...], Any] = {(): dot}
    for n, p in enumerate(ordered):
        if p:
            graphs[p] = graphviz.Digraph(
                f"cluster_{n}",
                graph_attr={
                    "label": f"<<B>{escape(shorten(p[-1]))}</B>>",
                    "style": "rounded,dashed",
                    "color": "#888888",
                    "fontname": FONT,
                    "fontsize": "11",
                },
            )
        for _, node_id, attrs in sorted(clusters.get(p, ())):
            graphs[p].node(node_id, **attrs)
    for p in sorted((p for p in ordered if p), key=lambda p: (-len(p), first[p])):
        graphs[p[:-1]].subgraph(graphs[p])


# -- boxes ----------------------------------------------------------------------------


def _value_attrs(spec: GraphSpec, v: ValueBox, index: dict[int, int], root_name: str, anchors: bool) -> dict[str, str]:
    node = v.node

    def cell(part: str) -> str:  # the id of a number cell, for the explorer
        return f' ID="{v.id}-{part}" HREF="#"' if anchors else ""

    dim = v.on_path is False
    fill, border = ROLE_COLOR[v.role]
    if dim:
        fill, border = "#f7f7f7", DIM_COLOR
    elif v.on_path:
        border = HIGHLIGHT_COLOR
    text = DIM_TEXT if dim else "#000000"
    name = node.name
    head = f"<B>{escape(shorten(name))}</B> " if name else ""
    head += f'<FONT POINT-SIZE="9">%{v.index}</FONT>'
    rows = [
        f'<TR><TD COLSPAN="2" BGCOLOR="{fill}">{head}</TD></TR>',
        f'<TR><TD COLSPAN="2"><FONT POINT-SIZE="9">{escape(type_str(node.data))} · {ROLE_SHORT[v.role]}'
        "</FONT></TD></TR>",
        f'<TR><TD ALIGN="LEFT">value</TD><TD ALIGN="LEFT"{cell("value")}>{escape(summary(node.data))}</TD></TR>',
    ]
    if node.requires_grad:
        me = symbol(shorten(display_name(node, index), 12))
        label = escape(f"∂{symbol(root_name)}/∂{me}") if spec.view == "backward" else "grad"
        shown = "—" if v.grad is None else escape(summary(v.grad))
        state = health(v.grad)
        bg = f' BGCOLOR="{HEALTH_COLOR[state]}"' if state and not dim else ""
        rows.append(f'<TR><TD ALIGN="LEFT">{label}</TD><TD ALIGN="LEFT"{bg}{cell("grad")}>{shown}</TD></TR>')
    if v.fan_in > 1:
        rows.append(f'<TR><TD COLSPAN="2"{cell("sum")}><FONT POINT-SIZE="9">{box_sum_text(spec, v)}</FONT></TD></TR>')
    if v.before_hooks is not None:
        rows.append(f'<TR><TD COLSPAN="2"{cell("hook")}><FONT POINT-SIZE="9">{escape(hook_text(v))}</FONT></TD></TR>')
    table = (
        f'<TABLE BORDER="{2 if v.on_path else 1}" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3" COLOR="{border}">'
        + "".join(rows)
        + "</TABLE>"
    )
    if dim:
        table = f'<FONT COLOR="{text}">{table}</FONT>'
    tip = [f"{display_name(node, index)}: {type_str(node.data)}", full(node.data)]
    if v.grad is not None:
        tip += ["gradient:", full(v.grad)]
    return {"label": f"<{table}>", "shape": "plain", "tooltip": _tooltip(tip)}


def _compact_value_attrs(spec: GraphSpec, v: ValueBox, anchors: bool) -> dict[str, str]:
    """A value as lines in a rounded box of its role's colours: name, value, gradient and
    (for a value used several times) its number of contributions."""
    node = v.node
    fill, border = ROLE_COLOR[v.role]

    def anchor(part: str) -> str:
        return f' ID="{v.id}-{part}" HREF="#"' if anchors else ""

    head = f"<B>{escape(shorten(node.name))}</B> " if node.name else ""
    rows = [
        f'<TR><TD>{head}<FONT POINT-SIZE="9">%{v.index}</FONT></TD></TR>',
        f"<TR><TD{anchor('value')}>{escape(summary(node.data))}</TD></TR>",
    ]
    if node.requires_grad:
        rows.append(f"<TR><TD{anchor('grad')}>{'—' if v.grad is None else escape(summary(v.grad))}</TD></TR>")
    if v.fan_in > 1:
        rows.append(f'<TR><TD{anchor("sum")}><FONT POINT-SIZE="9">{box_sum_text(spec, v)}</FONT></TD></TR>')
    if v.before_hooks is not None:
        rows.append(f'<TR><TD{anchor("hook")}><FONT POINT-SIZE="9">{escape(hook_text(v))}</FONT></TD></TR>')
    table = '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">' + "".join(rows) + "</TABLE>"
    return {"label": f"<{table}>", "shape": "box", "style": "rounded,filled", "fillcolor": fill, "color": border}


def fan_in_text(k: int, exact: bool = True) -> str:
    """The note on a value that sums ``k`` contributions, led by ≈ unless ``exact``."""
    return f"{'' if exact else '≈ '}Σ of {k} contributions"


def box_sum_text(spec: GraphSpec, v: ValueBox) -> str:
    """:func:`fan_in_text` for the value of box ``v`` in the backward view ``spec``."""
    assert spec.backprop is not None  # only the backward view counts contributions
    return fan_in_text(v.fan_in, adds_up(spec.backprop.into[id(v.node)], v.summed))


def adds_up(flows: list[Flow], total: Any) -> bool:
    """Whether the contributions of ``flows`` as shown, rounded, add up to ``total`` as
    shown: three edges of 0.3333 add up to 0.9999, not to the 1 their value shows. True
    where one is a summary: there is no sum to check."""
    parts = [f.contribution for f in flows]
    if any(np.size(p) > SMALL_ARRAY for p in [*parts, total]):
        return True
    return summary(sum(as_shown(p) for p in parts)) == summary(total)


def hook_text(v: ValueBox) -> str:
    """The note on a value whose hooks changed the gradient it passes on."""
    return f"a hook changed it from {summary(v.before_hooks)}"


def _op_attrs(spec: GraphSpec, o: OpBox) -> dict[str, str]:
    dim = o.on_path is False
    detail = op_detail(o.node)
    label = f"<B>{escape(o.node.op)}</B>" + (f'<BR/><FONT POINT-SIZE="9">{escape(detail)}</FONT>' if detail else "")
    return {
        "label": f"<{label}>",
        "shape": "box",
        "style": "rounded,filled",
        "fillcolor": "#f7f7f7" if dim else CATEGORY_COLOR[o.category],
        "color": DIM_COLOR if dim else (HIGHLIGHT_COLOR if o.on_path else "#555555"),
        "fontcolor": DIM_TEXT if dim else "#000000",
        "penwidth": "2.5" if o.on_path else "1",
        "tooltip": _tooltip([f"{o.node.op} ({CATEGORY_LABEL[o.category]})", _first_line(o.node.fn.__doc__)]),
    }


def _first_line(doc: str | None) -> str:
    """The formula line of an op's docstring (``z = a·b;  ∂z/∂a = b, …``)."""
    return doc.strip().splitlines()[0] if doc and doc.strip() else ""


def _group_attrs(g: GroupBox) -> dict[str, str]:
    fill, border = GROUP_COLOR
    lines = [
        f"<B>{escape(shorten('/'.join(g.path), 48))}</B>",
        f"{g.n_ops} ops · {g.n_values} values",
        f"in: {escape(', '.join(g.inputs) or '—')}",
        f"out: {escape(', '.join(g.outputs) or '—')}",
    ]
    return {
        "label": "<" + "<BR/>".join(lines) + ">",
        "shape": "box",
        "style": "dashed,filled,rounded",
        "fillcolor": "#f7f7f7" if g.on_path is False else fill,
        "color": HIGHLIGHT_COLOR if g.on_path else border,
        "penwidth": "2.5" if g.on_path else "1",
        "tooltip": _tooltip([f"folded scope {'/'.join(g.path)}"]),
    }


def _tooltip(lines: list[str]) -> Any:
    import graphviz

    # One DOT line per text line: escape each, join with real newlines (DOT allows
    # them inside quoted strings; escape_attr would spell them \x0a).
    parts = [part for line in lines for part in line.splitlines() if part]
    return graphviz.nohtml("\n".join(escape_attr(part) for part in parts))


# -- edges ------------------------------------------------------------------------------


def flow_lines(flow: Flow, index: dict[int, int], root_name: str) -> list[str]:
    """The chain-rule step an edge carries, as plain text lines:
    ``∂z/∂w = x = 1.5``, ``× ∂L/∂z = 0.27``, ``= 0.405``, ``sum over axis 0``."""
    child, parent = flow.child, flow.parent
    out = display_name(child, index)
    args = [symbol(display_name(p, index)) for p in child.parents]
    formula = local_formula(child, flow.arg, symbol(out), args)
    d = f"∂{symbol(out)}/∂{symbol(display_name(parent, index))}"
    if flow.local is not None:
        first = (
            f"{d} = {formula} = {summary(flow.local)}"
            if formula and formula != summary(flow.local)
            else f"{d} = {summary(flow.local)}"
        )
    else:
        first = f"{d}: vjp {formula}" if formula else f"{d}: vjp of {child.op}"
    lines = [first, f"× ∂{symbol(root_name)}/∂{symbol(out)} = {summary(flow.upstream)}"]
    if flow.reduced_axes:
        lines.append(f"sum over axis {', '.join(map(str, flow.reduced_axes))}")
    lines.append(f"{'=' if multiplies_out(flow) else '≈'} {summary(flow.contribution)}")
    return lines


def multiplies_out(flow: Flow) -> bool:
    """Whether the edge's rounded numbers, as shown, multiply out: local × upstream
    (summed over broadcast axes) shows as the contribution shown. 0.1827 × −1.317 is
    −0.2406, while the contribution, from the unrounded numbers, is −0.2405: that edge
    reads ≈. True where a factor is a vjp or a summary: there is no product to check."""
    parts = (flow.local, flow.upstream, flow.contribution)
    if flow.local is None or any(np.size(p) > SMALL_ARRAY for p in parts):
        return True
    product = sum_to(as_shown(flow.upstream) * as_shown(flow.local), shape_of(flow.contribution))
    return summary(product) == summary(flow.contribution)


def merged_flow_line(flows: list[Flow]) -> str:
    """The label of an edge into or out of a folded scope, which carries several
    contributions: ``Σ of 3 = 0.75``."""
    total = sum((f.contribution for f in flows[1:]), flows[0].contribution)
    return f"Σ of {len(flows)} = {summary(total)}"


def _edge_attrs(spec: GraphSpec, e: Edge, index: dict[int, int], root_name: str) -> dict[str, str]:
    attrs: dict[str, str] = {}
    lines: list[str] = []
    if e.arg is not None:
        lines.append(f"arg {e.arg}")
    if spec.view == "backward":
        attrs["dir"] = "back"
        if len(e.flows) == 1:
            lines += flow_lines(e.flows[0], index, root_name)
        elif e.flows:
            lines.append(merged_flow_line(e.flows))
        if e.flows or not e.tail.startswith("v"):
            attrs["color"] = FLOW_COLOR
        else:  # from a constant: no gradient flows back into it
            attrs.update(color="#999999", style="dashed")
    if lines:
        attrs["label"] = "<" + "<BR/>".join(escape(line) for line in lines) + ">"
    if e.on_path:
        attrs.update(color=HIGHLIGHT_COLOR, penwidth="2.5")
    elif e.on_path is False:
        attrs.update(color=DIM_COLOR, fontcolor=DIM_TEXT)
    return attrs


# -- legend ----------------------------------------------------------------------------


def _legend(spec: GraphSpec) -> dict[str, str]:
    rows = ['<TR><TD COLSPAN="2"><B>legend</B></TD></TR>']

    def row(color: str, text: str, border: str = "#666666") -> None:
        rows.append(
            f'<TR><TD BGCOLOR="{color}" COLOR="{border}" WIDTH="18"> </TD><TD ALIGN="LEFT">{escape(text)}</TD></TR>'
        )

    present_roles = {v.role for v in spec.values}
    for r in ROLES:
        if r in present_roles:
            row(ROLE_COLOR[r][0], ROLE_LABEL[r], ROLE_COLOR[r][1])
    present_cats = {o.category for o in spec.ops}
    for c in CATEGORIES:
        if c in present_cats:
            row(CATEGORY_COLOR[c], f"op: {CATEGORY_LABEL[c]}")
    states = {health(v.grad) for v in spec.values}
    for s in ("nonfinite", "zero"):
        if s in states:
            row(HEALTH_COLOR[s], HEALTH_LABEL[s])
    if spec.groups:
        row(GROUP_COLOR[0], "folded scope")
    if spec.highlighted:
        row(HIGHLIGHT_COLOR, f"on a path from {', '.join(spec.highlighted)} to the output")
    if spec.view == "backward":
        into = spec.backprop.into if spec.backprop is not None else {}
        rounded = any(not multiplies_out(f) for e in spec.edges if len(e.flows) == 1 for f in e.flows) or any(
            v.fan_in > 1 and not adds_up(into[id(v.node)], v.summed) for v in spec.values
        )
        rows.append(
            '<TR><TD COLSPAN="2" ALIGN="LEFT"><FONT POINT-SIZE="9">'
            'edge: local ∂out/∂in × upstream ∂L/∂out<BR ALIGN="LEFT"/>'
            '= contribution to ∂L/∂in; a value used k times<BR ALIGN="LEFT"/>'
            'sums its k contributions (Σ of k)<BR ALIGN="LEFT"/>'
            + (
                'numbers have 4 significant digits; ≈ where the rounded<BR ALIGN="LEFT"/>'
                'numbers shown multiply or add to another last digit<BR ALIGN="LEFT"/>'
                if rounded
                else ""
            )
            + "</FONT></TD></TR>"
        )
    footer = "dashed: no gradient flows (constant)" if spec.view == "backward" else "—: no gradient yet"
    rows.append(f'<TR><TD COLSPAN="2"><FONT POINT-SIZE="9">%k: topological index; {footer}</FONT></TD></TR>')
    table = '<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="2">' + "".join(rows) + "</TABLE>"
    return {"label": f"<{table}>", "shape": "plain", "tooltip": "legend"}
