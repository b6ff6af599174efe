"""``draw()`` and the :class:`GraphView` it returns: shown inline in Jupyter, saved to
svg/png/pdf/dot, or listed as text when ``dot`` is missing or the graph is too big."""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..errors import GlassgradError, MissingDependency
from ..graph import Node
from ..optional import require
from .dot import to_digraph
from .spec import GraphSpec, build
from .text import to_text

#: Default budget of boxes: beyond it scopes are folded, then the text listing is used.
MAX_NODES = 400
RENDER_FORMATS = ("svg", "png", "pdf")
TEXT_FORMATS = ("dot", "gv", "txt")
DOT_MISSING = "graphviz's `dot` program was not found on PATH"
INSTALL = (
    "Install it (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz; "
    "conda: conda install graphviz) to get pictures."
)
INSTALL_HINT = f"{DOT_MISSING}; showing the text listing instead. {INSTALL}"


class VizWarning(UserWarning):
    """The drawing fell back to text: ``dot`` is missing or the graph is over budget."""


class GraphTooLarge(GlassgradError, ValueError):
    """A picture was asked of a graph with more boxes than ``max_nodes``."""


class GraphvizNotFound(GlassgradError, RuntimeError):
    """A picture was asked for but graphviz's ``dot`` program is not installed."""


class GraphView:
    """A drawn graph. In Jupyter it shows itself as SVG; in a script call
    :meth:`save` (a script never displays anything by itself).

    ``.source`` is the DOT text, ``.text`` the typed listing, ``.spec`` the
    :class:`~glassgrad.viz.spec.GraphSpec` behind both.
    """

    def __init__(self, spec: GraphSpec, rankdir: str | None, show_legend: bool, max_nodes: int | None) -> None:
        self.spec = spec
        self._rankdir = rankdir
        self._show_legend = show_legend
        self._max_nodes = max_nodes
        self._digraph: Any = None

    # -- forms ---------------------------------------------------------------------
    @property
    def too_large(self) -> bool:
        """True when the graph has more boxes than ``max_nodes`` even with every scope folded."""
        return self.spec.too_large

    @property
    def digraph(self) -> Any:
        """The ``graphviz.Digraph`` (built on first use)."""
        self._check_size("a graphviz graph")
        if self._digraph is None:
            self._digraph = to_digraph(self.spec, self._rankdir, self._show_legend)
        return self._digraph

    @property
    def source(self) -> str:
        """The DOT text; identical for identical graphs (ids are topological indices)."""
        source: str = self.digraph.source  # graphviz has no type hints
        return source

    @property
    def text(self) -> str:
        """The typed listing of :func:`~glassgrad.viz.to_text`."""
        return to_text(self.spec.root, self.spec.order)

    def svg(self) -> str:
        """The picture as an SVG string (runs ``dot``)."""
        return self._pipe("svg").decode("utf-8")

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the graph to ``path``; the suffix picks the format: ``.svg``, ``.png``,
        ``.pdf`` (rendered by ``dot``), ``.dot``/``.gv`` (DOT text) or ``.txt`` (the
        listing). The file is written atomically. Returns the path written.

        Without ``dot`` a picture cannot be made: the DOT text is written next to it
        (suffix ``.dot``) with a warning, and that path is returned.
        """
        path = Path(path)
        fmt = path.suffix.lower().lstrip(".")
        if fmt not in RENDER_FORMATS + TEXT_FORMATS:
            raise ValueError(
                f"cannot tell the format of {str(path)!r} from its suffix; use one of "
                + ", ".join("." + f for f in RENDER_FORMATS + TEXT_FORMATS)
            )
        if fmt == "txt":
            data = self.text.encode("utf-8")
        elif fmt in ("dot", "gv"):
            data = self.source.encode("utf-8")
        else:
            try:
                data = self._pipe(fmt)
            except GraphvizNotFound:
                warnings.warn(f"{DOT_MISSING}; writing the DOT text instead. {INSTALL}", VizWarning, stacklevel=2)
                path = path.with_suffix(".dot")
                data = self.source.encode("utf-8")
        _replace_file(path, data)
        return path

    # -- display -------------------------------------------------------------------
    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """SVG in Jupyter; the text listing (with a warning) when no picture can be made:
        the graph is over budget, or the ``graphviz`` package or ``dot`` is missing."""
        if self.too_large:
            warnings.warn(self._too_large_message(), VizWarning, stacklevel=2)
            return {"text/plain": self.text}
        try:
            return {"image/svg+xml": self.svg(), "text/plain": repr(self)}
        except GraphvizNotFound:
            warnings.warn(INSTALL_HINT, VizWarning, stacklevel=2)
        except MissingDependency as exc:
            warnings.warn(f"{exc}; showing the text listing instead.", VizWarning, stacklevel=2)
        return {"text/plain": self.text}

    def __repr__(self) -> str:
        s = self.spec
        values = len(s.order)
        ops = sum(1 for n in s.order if n.fn is not None)
        extra = f", {len(s.groups)} folded scopes" if s.groups else ""
        extra += ", over budget: text only" if s.too_large else ""
        return f"<GraphView {s.view}: {values} values, {ops} ops{extra}>"

    # -- rendering -----------------------------------------------------------------
    def _check_size(self, what: str) -> None:
        if self.too_large:
            raise GraphTooLarge(self._too_large_message(what))

    def _too_large_message(self, what: str = "a picture") -> str:
        return (
            f"the graph has {self.spec.n_boxes} boxes even with every scope folded, over max_nodes="
            f"{self._max_nodes}: `dot` could take minutes, so {what} is not made. Use .text (the listing), "
            "group the model with glassgrad.scope(name) so it can be folded, or pass max_nodes=None to draw anyway."
        )

    def _pipe(self, fmt: str) -> bytes:
        graphviz = require("graphviz", "viz", f"drawing a graph as {fmt}")
        self._check_size(f"a {fmt} picture")
        try:
            picture: bytes = self.digraph.pipe(format=fmt)
        except graphviz.ExecutableNotFound:
            raise GraphvizNotFound(f"{DOT_MISSING}, so no {fmt} can be made. {INSTALL}") from None
        return picture


def draw(
    root: Node,
    view: str = "forward",
    highlight: Node | str | Iterable[Node | str] | None = None,
    collapse: Sequence[str] = (),
    max_nodes: int | None = MAX_NODES,
    rankdir: str | None = None,
    show_legend: bool = True,
    gradient: Any = None,
) -> GraphView:
    """Draw everything ``root`` depends on.

    Values and ops are separate boxes, numbered in topological order (``%k``), so
    the DOT text is the same on every run.

    - ``view="forward"``: data flow; each value shows its ``.grad`` ("—" where no
      backward has reached it yet, never a made-up 0).
    - ``view="backward"``: the chain rule. Every edge points back to the input it
      feeds and reads ``local ∂out/∂in × upstream ∂L/∂out = contribution``; values
      used more than once show ``Σ of k contributions``; broadcasting shows as
      ``sum over axis …``. The gradients are computed from the recorded graph, so
      draw before ``backward()`` or call ``backward(retain_graph=True)`` first.
      ``gradient`` seeds ∂L/∂root for a root with more than one element.
    - ``highlight``: a value (or its name, or several) whose paths to the root are
      emphasized; everything else is dimmed.
    - ``collapse``: scope names (``glassgrad.scope("name")``, or ``"outer/inner"``)
      drawn as one box each with their input and output shapes and op count.
    - ``max_nodes``: a budget of boxes. Over it the deepest scopes are folded first;
      if that is not enough, only the text listing is shown (with a warning) rather
      than making ``dot`` run for minutes. ``None`` disables the budget.
    - ``rankdir``: ``"LR"`` or ``"TB"``; by default LR for forward views of up to 50
      boxes, TB otherwise (the backward view's edge labels are wide).
    """
    spec = build(root, view=view, highlight=highlight, collapse=collapse, max_nodes=max_nodes, gradient=gradient)
    if spec.too_large:
        warnings.warn(
            f"graph of {spec.n_boxes} boxes is over max_nodes={max_nodes} even with every scope folded; "
            "draw() offers the text listing (.text) instead of running dot",
            VizWarning,
            stacklevel=2,
        )
    return GraphView(spec, rankdir, show_legend, max_nodes)


def _replace_file(path: Path, data: bytes) -> None:
    """Write ``data`` beside ``path`` under a temporary name, then rename it over ``path``
    (atomic), so a reader never sees half a picture. The engine knows no more of files
    than this; the application's writer (``glassgrad.models.atomic``) also syncs to disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:  # the error names the file asked for, never the temporary one
        if exc.errno is None:
            raise
        raise type(exc)(exc.errno, exc.strerror, str(path)) from None
    finally:
        tmp.unlink(missing_ok=True)
