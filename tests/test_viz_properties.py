"""Properties over random expression graphs: one box per value and per op, every
gradient the view or explain() shows equals backward()'s, and no user name breaks `dot`."""

import re
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from glassgrad import Scalar, Tensor, walk
from glassgrad.viz import draw, explain
from glassgrad.viz.labels import printable
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

UNARY = {
    "neg": lambda a: -a,
    "tanh": lambda a: a.tanh(),
    "sigmoid": lambda a: a.sigmoid(),
    "relu": lambda a: a.relu(),
    "half": lambda a: a * 0.5,
    "square": lambda a: a**2,
}
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
}
SHAPES = [(), (3,), (2, 3)]  # pairwise broadcastable
values = st.floats(-2.0, 2.0, allow_nan=False, allow_subnormal=False)
# any text, including the characters DOT and HTML give meaning to
names = st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["x<0", "|x|", "{a}", "a&b", '"q"', "\\", "\\N", "\\G", "]", "<>", "&amp;", "\n", "%3"]
)


@st.composite
def expression_graphs(draw_, kind=None):
    """(root, leaves): a random graph of add/sub/mul and activations over named leaves,
    Scalars or broadcasting Tensors, reduced to one number."""
    kind = draw_(st.sampled_from(["scalar", "tensor"])) if kind is None else kind
    n_leaves = draw_(st.integers(1, 4))
    leaves = []
    for i in range(n_leaves):
        name = draw_(names)
        grad = draw_(st.booleans()) or i == 0
        if kind == "scalar":
            leaves.append(Scalar(draw_(values), requires_grad=grad, name=name))
        else:
            shape = draw_(st.sampled_from(SHAPES))
            data = draw_(st.lists(values, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
            leaves.append(Tensor(np.reshape(data, shape), requires_grad=grad, name=name))
    pool = list(leaves)
    for _ in range(draw_(st.integers(1, 10))):
        if draw_(st.booleans()):
            op = UNARY[draw_(st.sampled_from(sorted(UNARY)))]
            pool.append(op(draw_(st.sampled_from(pool))))
        else:
            op = BINARY[draw_(st.sampled_from(sorted(BINARY)))]
            pool.append(op(draw_(st.sampled_from(pool)), draw_(st.sampled_from(pool))))
    root = pool[-1]
    if not root.requires_grad:  # make sure there is something to differentiate
        root = root * leaves[0]
    if kind == "tensor":
        root = root.sum()
    return root, leaves


def _reachable_params(root, leaves):
    ids = {id(n) for n in walk(root)}
    return [p for p in leaves if p.requires_grad and id(p) in ids]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expression_graphs())
def test_one_box_per_value_and_per_op(graph):
    root, _ = graph
    nodes = walk(root)
    n_ops = sum(1 for n in nodes if not n.is_leaf)
    view = draw(root, show_legend=False, max_nodes=None)
    assert len(view.spec.values) == len(nodes)
    assert len(view.spec.ops) == n_ops
    src = view.source
    assert len(re.findall(r"^\s*v\d+ \[", src, re.M)) == len(nodes)
    assert len(re.findall(r"^\s*f\d+ \[", src, re.M)) == n_ops
    # an edge per use of each input, and one from each op to its output
    assert len(re.findall(r"->", src)) == sum(len(n.parents) for n in nodes) + n_ops


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expression_graphs(), st.integers(1, 4))
def test_backward_view_and_explain_agree_with_backward(graph, max_paths):
    root, leaves = graph
    params = _reachable_params(root, leaves)
    spec = draw(root, view="backward", max_nodes=None).spec
    shown = {id(v.node): v.grad for v in spec.values}
    explained = {id(p): explain(p, root, max_paths=max_paths).total for p in params}
    root.backward(retain_graph=True)
    for p in params:
        np.testing.assert_allclose(shown[id(p)], p.grad, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(explained[id(p)], p.grad, rtol=1e-10, atol=1e-12)


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs graphviz's dot")
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expression_graphs(kind="scalar"), st.sampled_from(["forward", "backward"]))
def test_no_user_name_breaks_dot(graph, view):
    root, leaves = graph
    svg = draw(root, view=view).svg()
    tree = ET.fromstring(svg)  # well-formed XML
    text = "".join(tree.itertext())
    drawn = {id(n) for n in walk(root)}  # by identity: == compares values
    for leaf in leaves:
        shown = printable(leaf.name)
        if id(leaf) in drawn and shown.strip() and len(shown) <= 32:
            # dot turns runs of spaces into one in the drawn text
            assert re.sub(r"\s+", " ", shown.strip()) in re.sub(r"\s+", " ", text)
