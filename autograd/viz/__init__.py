"""See the graph: forward and backward drawings, a text listing and ``explain()``.

>>> from glassgrad import Tensor, sigmoid, binary_cross_entropy, scope
>>> from glassgrad.viz import draw, explain, to_text
>>> x = Tensor([1.5, -0.5], name="x"); y = Tensor(1.0, name="y")
>>> w = Tensor([0.8, 0.3], requires_grad=True, name="w")
>>> b = Tensor(0.1, requires_grad=True, name="b")
>>> z = x @ w + b; z.name = "z"
>>> y_hat = sigmoid(z); y_hat.name = "ŷ"
>>> L = binary_cross_entropy(y_hat, y); L.name = "L"
>>> draw(L).save("forward.svg")                      # doctest: +SKIP
>>> draw(L, view="backward").save("backward.svg")    # doctest: +SKIP
>>> print(explain(w, L))                             # doctest: +SKIP
>>> explore(L).save("explorer.html")                 # doctest: +SKIP

``explore`` writes one HTML page that steps through the forward pass and then
back-propagation, edge by edge, with the same numbers as the backward drawing.

The drawings read the recorded graph, which ``backward()`` frees: draw (and
explain) before ``backward()``, or call ``backward(retain_graph=True)``.

Needs the ``graphviz`` Python package (extra ``viz``) and graphviz's ``dot``
program for pictures; ``to_text`` and ``explain`` need neither. Without the package,
asking for a picture or DOT text raises ``MissingDependency`` (an ``ImportError``)
naming the extra; without ``dot``, ``save`` writes the DOT text instead. In a notebook
a drawing that cannot be made shows the text listing, with a one-line warning.
"""

from .backprop import Backprop, Flow, backprop
from .explain import Explanation, PathTerm, explain
from .explore import Explorer, explore
from .spec import GraphSpec, build
from .text import to_text
from .view import MAX_NODES, GraphTooLarge, GraphView, GraphvizNotFound, VizWarning, draw

__all__ = [
    "MAX_NODES",
    "Backprop",
    "Explanation",
    "Explorer",
    "Flow",
    "GraphSpec",
    "GraphTooLarge",
    "GraphView",
    "GraphvizNotFound",
    "PathTerm",
    "VizWarning",
    "backprop",
    "build",
    "draw",
    "explain",
    "explore",
    "to_text",
]
