"""``explore()``: watch back-propagation happen, step by step, in the browser or in Jupyter.

The :class:`Explorer` is one self-contained HTML page: the backward view laid out by
graphviz as inline SVG, the steps of :func:`~glassgrad.viz.steps.walkthrough` as
JSON, and a small script of our own (``explorer.js``) that steps through them. It
loads nothing from the network (its Content-Security-Policy forbids it) and opens
from disk.

Graphs with more than :data:`EDGE_LABEL_BOXES` boxes are laid out without edge
labels (``dot`` is many times faster that way; the caption above the graph still
spells out each edge's chain-rule step).
"""

from __future__ import annotations

import html
import json
import os
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from ..errors import MissingDependency
from ..graph import Node
from ..optional import require
from .dot import to_digraph
from .explain import explain
from .labels import display_name, full, symbol, type_str
from .spec import GraphSpec, build
from .steps import ATTR, CLASS, Walkthrough, walkthrough
from .style import CATEGORY_LABEL, ROLE_LABEL
from .text import op_line, to_text
from .view import DOT_MISSING, INSTALL, MAX_NODES, GraphvizNotFound, VizWarning, _replace_file

#: Beyond this many boxes the graph is laid out without edge labels.
EDGE_LABEL_BOXES = 150
#: Parameters whose explain() text the page carries (each costs a walk of the graph).
MAX_EXPLAINED = 40
# Cheaper network-simplex and crossing-minimization passes for big layouts: ~4× faster
# on a graph of 1,600 boxes, and the picture stays readable.
FAST_LAYOUT = {"nslimit": "2", "nslimit1": "2", "mclimit": "0.05", "searchsize": "10"}
# Inline SVG and scripts only: the page may not fetch anything.
CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"


class Explorer:
    """An interactive explorer of one graph. ``save(path)`` writes the HTML page; in
    Jupyter it plays inline, in a sandboxed iframe of its own.

    ``.spec`` is the backward-view :class:`~glassgrad.viz.spec.GraphSpec` and
    ``.walkthrough`` the steps (None when the graph is over the size budget).
    """

    def __init__(self, spec: GraphSpec, max_nodes: int | None, title: str) -> None:
        self.spec = spec
        self.title = title
        self._max_nodes = max_nodes
        self.walkthrough: Walkthrough | None = None if spec.too_large else walkthrough(spec)
        self._html: str | None = None

    @property
    def notice(self) -> str | None:
        """What the page says about the size budget: the scopes it folded to stay
        under it, or that the graph is too big even folded. None when all is shown."""
        s = self.spec
        if s.too_large:
            return (
                f"This graph has {s.n_boxes} boxes even with every scope folded, over max_nodes={self._max_nodes}: "
                "laying it out could take minutes, so only its listing is shown. Group the model with "
                "glassgrad.scope(name) so it can be folded, pass collapse=(...), or pass max_nodes=None."
            )
        if s.collapsed and self._max_nodes is not None and self._auto_folded():
            names = ", ".join("/".join(p) for p in s.collapsed)
            return (
                f"Over the budget of max_nodes={self._max_nodes} boxes, so the scopes {names} are folded "
                "(collapsed view). Pass max_nodes=None to step through every op."
            )
        return None

    def _auto_folded(self) -> bool:
        n_all = sum(1 if n.fn is None else 2 for n in self.spec.order)
        return n_all > (self._max_nodes or 0)

    def html(self) -> str:
        """The page as one HTML document (runs ``dot`` on first use)."""
        if self._html is None:
            self._html = self._page()
        return self._html

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the page to ``path`` (atomically) and return the path."""
        path = Path(path)
        _replace_file(path, self.html().encode("utf-8"))
        return path

    def _repr_html_(self) -> str:
        # An iframe per explorer: its own document, so several explorers on one
        # notebook page keep their own ids, keys and scripts; sandboxed to scripts only.
        return (
            f'<iframe srcdoc="{html.escape(self.html(), quote=True)}" sandbox="allow-scripts" '
            'style="width: 100%; height: 640px; border: 1px solid #ddd;" title="glassgrad explorer"></iframe>'
        )

    def __repr__(self) -> str:
        n = 0 if self.walkthrough is None else len(self.walkthrough.steps) - 1
        return f"<Explorer: {len(self.spec.order)} values, {n} steps{', over budget' if self.spec.too_large else ''}>"

    # -- the page ----------------------------------------------------------------------
    def _page(self) -> str:
        notice = self.notice
        w = self.walkthrough
        if w is None:
            return _document(self.title, notice, f'<pre class="listing">{html.escape(self._listing())}</pre>', None)
        try:
            svg = self._svg(w)
        except (GraphvizNotFound, MissingDependency) as exc:
            warnings.warn(f"{exc}; the explorer shows the listing instead", VizWarning, stacklevel=3)
            body = f'<pre class="listing">{html.escape(self._listing())}</pre>'
            return _document(self.title, f"No drawing: {exc}", body, None)
        return _document(self.title, notice, svg, self._data(w), fit=self.spec.box_count() <= EDGE_LABEL_BOXES)

    def _listing(self) -> str:
        return to_text(self.spec.root, self.spec.order)

    def _svg(self, start: Walkthrough) -> str:
        graphviz = require("graphviz", "viz", "the explorer's drawing")
        big = self.spec.box_count() > EDGE_LABEL_BOXES
        # No legend: the caption and the details panel say what each box is.
        digraph = to_digraph(self.spec, show_legend=False, anchors=True, compact=big)
        if big:
            digraph.graph_attr.update(FAST_LAYOUT)
        try:
            raw = digraph.pipe(format="svg")
        except graphviz.ExecutableNotFound:
            raise GraphvizNotFound(f"{DOT_MISSING}, so the explorer has no drawing. {INSTALL}") from None
        return inline_svg(raw, start)

    def _data(self, w: Walkthrough) -> dict[str, Any]:
        return {
            "slots": [list(s) for s in w.slots],
            "initial": w.initial,
            "steps": [
                {"phase": s.phase, "caption": s.caption, "focus": s.focus, "changes": s.changes} for s in w.steps
            ],
            "boxes": self._boxes(),
        }

    def _boxes(self) -> dict[str, Any]:
        """What clicking a box shows: type and role, value and gradient in full, and
        explain()'s chain rule for a parameter."""
        spec = self.spec
        assert spec.backprop is not None  # a backward view
        seed = spec.backprop.grad(spec.root)
        index = {id(n): k for k, n in enumerate(spec.order)}
        root = display_name(spec.root, index)
        boxes: dict[str, Any] = {}
        explained = 0
        for v in spec.values:
            node = v.node
            name = display_name(node, index)
            info: dict[str, Any] = {
                "title": f"{name}  (%{v.index})",
                "facts": [["type", f"{type_str(node.data)} · {ROLE_LABEL[v.role]}"]],
                "value": full(node.data),
            }
            if node.requires_grad:
                info["d"] = f"∂{symbol(root)}/∂{symbol(name)}"
                info["grad"] = "— (no gradient reaches it)" if v.grad is None else full(v.grad)
            if v.role == "param" and v.grad is not None:
                if explained < MAX_EXPLAINED:
                    info["explain"] = str(explain(node, spec.root, seed))
                else:
                    info["explain"] = (
                        f"The page carries explain() for its first {MAX_EXPLAINED} parameters; "
                        f"explain({name}, {root}) in Python spells out this one."
                    )
                explained += 1
            boxes[v.id] = info
        for o in spec.ops:
            doc = (o.node.fn.__doc__ or "").strip().splitlines()
            facts = [["op", f"{o.node.op} ({CATEGORY_LABEL[o.category]})"], ["listing", op_line(o.node, index)]]
            if doc:
                facts.append(["math", doc[0]])
            boxes[o.id] = {"title": o.node.op, "facts": facts}
        for g in spec.groups:
            facts = [
                ["folded scope", f"{g.n_ops} ops, {g.n_values} values"],
                ["in", ", ".join(g.inputs) or "—"],
                ["out", ", ".join(g.outputs) or "—"],
            ]
            boxes[g.id] = {"title": "/".join(g.path), "facts": facts}
        return boxes


def inline_svg(raw: bytes, start: Walkthrough) -> str:
    """graphviz's SVG made ready to sit inside the page, in the state of the first step.

    No XML prolog, no titles, no whitespace between elements (a big graph would have
    tens of thousands of those text nodes); each number cell's link wrapper
    (``<g id="a_v3-grad"><a xlink:href="#">…``, see :mod:`~glassgrad.viz.dot`)
    becomes a plain ``<g id="v3-grad">``, or for a cell that is only text the
    ``<text id="v3-grad">`` itself; every slot of ``start`` is set to its initial
    state, so the script writes nothing when the page opens. A text the steps change
    keeps, as ``data-room``, the length of the text graphviz sized its cell for."""
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)
    tree = ET.fromstring(raw)
    href = f"{{{XLINK_NS}}}href"
    text_tag = f"{{{SVG_NS}}}text"
    by_id = {}
    for parent in list(tree.iter()):
        # graphviz titles every box and edge with its DOT name ("v3", "v3->f4"):
        # browsers would show those as tooltips.
        for title in parent.findall(f"{{{SVG_NS}}}title"):
            parent.remove(title)
        if parent.tag != text_tag:
            parent.text = None
        parent.tail = None
        gid = parent.get("id")
        if gid is None:
            continue
        link = parent.find(f"{{{SVG_NS}}}a")
        if gid.startswith("a_") and link is not None and link.get(href) == "#":
            gid = gid[2:]
            parent.remove(link)
            parts = list(link)
            if len(parts) == 1:  # a cell with nothing but its text: the text takes its id
                parent.tag, parent.attrib, parent.text = parts[0].tag, parts[0].attrib, parts[0].text
            else:
                parent.extend(parts)
            parent.set("id", gid)
        by_id[gid] = parent
    for (element, kind, name), value in zip(start.slots, start.initial):
        el = by_id.get(element)
        if el is None:  # a cell the compact drawing leaves out
            continue
        if kind == CLASS:
            classes = [c for c in el.get("class", "").split() if c != name] + ([name] if value else [])
            el.set("class", " ".join(classes))
        elif kind == ATTR:
            if value is not None:
                el.set(name, value)
        else:
            text = list(el.iter(text_tag))[-1]
            text.set("data-room", str(len(text.text or "")))
            text.text = "" if value is None else value
    return ET.tostring(tree, encoding="unicode")


@cache
def _asset(name: str) -> str:
    return files("glassgrad.viz").joinpath(name).read_text(encoding="utf-8")


def _document(title: str, notice: str | None, body: str, data: dict[str, Any] | None, fit: bool = True) -> str:
    """The HTML page: controls, caption, the graph (or the listing) and the details.
    ``fit`` scales the graph to the window."""
    esc = html.escape
    graph_class = "graph fit" if fit else "graph"
    notice_html = f'<p class="notice" id="notice">{esc(notice)}</p>' if notice else ""
    if data is None:
        main = body
        script = ""
    else:
        # No "<" in the data: inside a script element "</script>" would end it early and
        # "<!--<script>" would make the parser read past its end tag. JSON reads \u003c back as "<".
        payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
        main = (
            '<div class="bar">'
            '<button id="first" title="first step (Home)">⇤ first</button>'
            '<button id="prev" title="step back (←)">◀ back</button>'
            '<button id="play" title="play / pause (space)">play ▶</button>'
            '<button id="next" title="step forward (→)">next ▶</button>'
            '<button id="last" title="last step (End)">last ⇥</button>'
            '<label>speed <select id="speed"><option value="0.5">½ step/s</option>'
            '<option value="1" selected>1 step/s</option><option value="2">2 steps/s</option>'
            '<option value="5">5 steps/s</option></select></label>'
            f'<label><input type="checkbox" id="fit"{" checked" if fit else ""}> fit the graph in the window</label>'
            '<input type="range" id="slider" min="0" max="0" value="0" aria-label="step">'
            '<span id="counter"></span></div>'
            '<div id="caption" aria-live="polite"></div>'
            # The drawing waits in a template (parsed, not yet drawn); the script moves
            # it into the page a few hundred elements per frame.
            f'<div class="main"><div class="{graph_class}" id="graph"><template id="drawing">{body}</template></div>'
            '<aside id="details"><p>Click a value to see it in full, its gradient and, for a parameter, '
            "the chain rule behind it. Keys: ← → step, space plays, Home / End jump.</p></aside></div>"
        )
        script = (
            f'<script type="application/json" id="explorer-data">{payload}</script>\n'
            f"<script>{_asset('explorer.js')}</script>"
        )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{_asset('explorer.css')}</style></head>\n"
        f"<body><header><h1>{esc(title)}</h1>{notice_html}</header>{main}\n{script}</body></html>\n"
    )


def explore(
    root: Node,
    collapse: Sequence[str] = (),
    max_nodes: int | None = MAX_NODES,
    gradient: Any = None,
    title: str | None = None,
) -> Explorer:
    """An interactive explorer of everything ``root`` depends on: step through the
    forward pass op by op, then back-propagation edge by edge.

    Like ``draw``, it reads the recorded graph: call it before ``backward()`` (or after
    ``backward(retain_graph=True)``). ``collapse`` folds scopes into one box each and
    ``max_nodes`` is the budget of boxes (over it, scopes are folded deepest first and
    the page says so; if folding is not enough the page shows the listing instead).
    ``gradient`` seeds ∂L/∂root for a root with more than one element. Returns an
    :class:`Explorer`: ``save("explorer.html")``, or show it as a notebook cell's value.
    """
    spec = build(root, view="backward", collapse=collapse, max_nodes=max_nodes, gradient=gradient)
    if title is None:
        index = {id(n): k for k, n in enumerate(spec.order)}
        title = f"glassgrad explorer: {display_name(root, index)}"
    return Explorer(spec, max_nodes, title)
