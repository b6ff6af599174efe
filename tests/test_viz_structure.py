"""Structure of drawings, read from the DOT source and the spec (no `dot` needed)."""

import os
import re
import subprocess
import sys
import warnings

import glassgrad as ag
import numpy as np
import pytest
from glassgrad import GradError, Scalar, Tensor
from glassgrad.models.graphs import logistic_unit
from glassgrad.viz import VizWarning, draw, to_text
from glassgrad.viz.labels import escape, summary
from glassgrad.viz.style import CATEGORY_COLOR, HEALTH_COLOR, ROLE_COLOR

NODE = re.compile(r"^\s*(v\d+|f\d+|g\d+) \[", re.M)
EDGE = re.compile(r"^\s*(\w+) -> (\w+)", re.M)


def nodes(source):
    return NODE.findall(source)


def edges(source):
    return EDGE.findall(source)


def node_line(source, node_id):
    return next(line for line in source.splitlines() if line.strip().startswith(f"{node_id} ["))


def test_logistic_unit_forward_structure():
    u = logistic_unit()
    src = draw(u.loss, show_legend=False).source
    ids = nodes(src)
    # x w b y, x·w z ŷ L: 8 values; matmul add sigmoid bce: 4 ops
    assert sorted(i for i in ids if i[0] == "v") == [f"v{k}" for k in range(8)]
    assert len([i for i in ids if i[0] == "f"]) == 4
    # one edge per input use (2 + 2 + 1 + 2) and one per op output (4)
    assert len(edges(src)) == 11
    for name, typ in [("w", "f64[2]"), ("x", "f64[2]"), ("ŷ", "f64[]"), ("x·w", "f64[]")]:
        assert f"<B>{name}</B>" in src
        assert typ in src
    assert "strict" not in src.split("{")[0]


def test_node_numbers_are_topological_and_the_text_is_the_same_in_another_process():
    script = (
        "from glassgrad.models.graphs import logistic_unit\n"
        "from glassgrad.viz import draw\n"
        "u = logistic_unit()\n"
        "print(draw(u.loss).source + draw(u.loss, view='backward').source)\n"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    ]
    assert runs[0] == runs[1]
    u = logistic_unit()
    assert runs[0] == draw(u.loss).source + draw(u.loss, view="backward").source + "\n"
    spec = draw(u.loss).spec
    pos = {v.node: v.index for v in spec.values}
    for v in spec.values:
        if not v.node.is_leaf:
            assert all(pos[p] < v.index for p in v.node.parents)


def test_gradient_shows_dash_before_backward_and_values_after():
    u = logistic_unit()
    before = draw(u.loss, show_legend=False).source
    assert '<TD ALIGN="LEFT">—</TD>' in node_line(before, "v2")  # w: no grad yet, not 0
    u.loss.backward(retain_graph=True)
    after = draw(u.loss, show_legend=False).source
    w_line = next(line for line in after.splitlines() if "<B>w</B>" in line)
    assert escape(summary(u.w.grad)) in w_line
    assert "—" not in w_line


def test_roles_and_op_categories_pick_colours():
    u = logistic_unit()
    spec = draw(u.loss).spec
    src = draw(u.loss).source
    roles = {v.node.name: v.role for v in spec.values}
    assert roles == {"x": "input", "y": "input", "w": "param", "b": "param", "x·w": "intermediate",
                     "z": "intermediate", "ŷ": "intermediate", "L": "output"}  # fmt: skip
    for v in spec.values:
        assert ROLE_COLOR[v.role][0] in node_line(src, v.id)
    cats = {o.node.op: o.category for o in spec.ops}
    assert cats == {"matmul": "matmul", "add": "elementwise", "sigmoid": "activation", "binary_cross_entropy": "loss"}
    for o in spec.ops:
        assert f'fillcolor="{CATEGORY_COLOR[o.category]}"' in node_line(src, o.id)
    # a literal number is a constant, not a data input
    s = Scalar(2.0, name="s")
    spec = draw(1.0 - s * s).spec
    assert sorted(v.role for v in spec.values) == ["const", "intermediate", "output", "param"]


def test_x_times_x_has_two_edges_and_positions_only_where_order_matters():
    x = Scalar(3.0, name="x")
    src = draw(x * x, show_legend=False).source
    assert edges(src).count(("v0", "f1")) == 2
    a, b = Scalar(1.0, name="a"), Scalar(2.0, name="b")
    src = draw((a - b) + (a * b), show_legend=False).source
    assert src.count("arg 0") == 1 and src.count("arg 1") == 1  # only sub is positional


def test_nonfinite_gradient_is_red_and_zero_gradient_grey():
    x = Tensor([1.0, 4.0], requires_grad=True, name="x")
    r = Tensor([-1.0, -2.0], requires_grad=True, name="r")
    loss = (x * np.array([np.inf, 1.0])).sum() + r.relu().sum()
    loss.backward(retain_graph=True)
    assert np.isinf(x.grad[0]) and not r.grad.any()
    src = draw(loss).source
    assert HEALTH_COLOR["nonfinite"] in next(line for line in src.splitlines() if "<B>x</B>" in line)
    assert HEALTH_COLOR["zero"] in next(line for line in src.splitlines() if "<B>r</B>" in line)
    assert "gradient has NaN / inf" in src and "gradient exactly 0" in src  # legend rows


@pytest.mark.parametrize(
    "name", ["x<0", "|x|", "{a}", 'say "hi"', "a&b", "back\\slash", "\\N", "tab\there", "<b>bold</b>"]
)
def test_user_names_are_escaped(name):
    v = Tensor([1.0, 2.0], requires_grad=True, name=name)
    view = draw((v * 2).sum())
    src = view.source
    line = node_line(src, next(b.id for b in view.spec.values if b.node is v))
    assert f"<B>{escape(name)}</B>" in line
    label = line.split("label=<", 1)[1].rsplit("> shape", 1)[0]
    assert "<b>" not in label and "\t" not in label


def test_drawing_a_freed_graph_says_how_to_keep_it():
    u = logistic_unit()
    u.loss.backward()
    with pytest.raises(GradError, match="retain_graph=True"):
        draw(u.loss)
    with pytest.raises(GradError, match="before calling backward"):
        draw(u.loss, view="backward")


def test_highlight_marks_exactly_the_paths_from_the_leaf():
    u = logistic_unit()
    spec = draw(u.loss, highlight=u.b).spec
    on = {v.node.name for v in spec.values if v.on_path}
    assert on == {"b", "z", "ŷ", "L"}
    assert {o.node.op for o in spec.ops if o.on_path} == {"add", "sigmoid", "binary_cross_entropy"}
    on_edges = {(e.tail, e.head) for e in spec.edges if e.on_path}
    ids = {v.node.name: v.id for v in spec.values}
    assert (ids["b"], "f5") in on_edges and (ids["x·w"], "f5") not in on_edges
    by_name = draw(u.loss, highlight="w").spec
    assert {v.node.name for v in by_name.values if v.on_path} == {"w", "x·w", "z", "ŷ", "L"}
    with pytest.raises(ValueError, match="named values: L, b, w, x, x·w, y, z, ŷ"):
        draw(u.loss, highlight="nope")


def _two_neurons():
    x = Tensor([1.0, -2.0], name="x")
    outs = []
    with ag.scope("layer"):
        for i in range(2):
            with ag.scope(f"n{i}"):
                w = Tensor([0.5, 0.25 * (i + 1)], requires_grad=True, name=f"w{i}")
                outs.append((x @ w).tanh())
    return x, (outs[0] * outs[1] + 1.0).sigmoid()


def test_collapse_folds_a_scope_into_one_box_with_its_shapes():
    x, out = _two_neurons()
    full = draw(out).spec
    folded = draw(out, collapse=("n0",)).spec
    (g,) = folded.groups
    assert g.path == ("layer", "n0")
    assert g.n_ops == 2 and g.n_values == 3  # w0, x@w0, tanh
    assert g.inputs == ["f64[2]"] and g.outputs == ["f64[]"]
    assert folded.box_count() == full.box_count() - 5 + 1
    x_box = next(v.id for v in folded.values if v.node is x)
    assert (x_box, g.id) in {(e.tail, e.head) for e in folded.edges}  # x flows into the box
    outer = draw(out, collapse=("layer",)).spec
    assert [gr.path for gr in outer.groups] == [("layer",)] and outer.groups[0].n_ops == 4
    with pytest.raises(ValueError, match="scopes: layer, layer/n0, layer/n1"):
        draw(out, collapse=("n2",))


def test_max_nodes_folds_deepest_scopes_first_then_falls_back_to_text():
    _x, out = _two_neurons()
    n = draw(out, max_nodes=None).spec.box_count()
    spec = draw(out, max_nodes=n - 1).spec
    assert sorted(g.path for g in spec.groups) == [("layer", "n0"), ("layer", "n1")]
    spec = draw(out, max_nodes=spec.box_count() - 1).spec
    assert [g.path for g in spec.groups] == [("layer",)]
    with pytest.warns(VizWarning, match="over max_nodes=2"):
        view = draw(out, max_nodes=2)
    assert view.too_large
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        assert view._repr_mimebundle_() == {"text/plain": to_text(out)}


def test_text_listing_is_typed_and_names_leaves():
    u = logistic_unit()
    text = to_text(u.loss)
    lines = text.splitlines()
    assert lines[0] == "# inputs"
    assert "%2: f64[2] w = [0.8, 0.3]  (parameter)" in lines
    assert "%4: f64[] = matmul(%3, %2)  # x·w = 1.05" in lines
    assert re.fullmatch(r"%7: f64\[\] = binary_cross_entropy\(%6, %0\)  # L = 0\.2751", lines[-2])
    assert lines[-1] == "# output: %7 L"
    _, out = _two_neurons()
    assert "# scope layer/n0" in to_text(out)


def test_deep_chain_falls_back_without_recursion_error():
    c = Scalar(0.5, name="c0")
    for _ in range(50_000):
        c = c * 1.0001  # 100,001 values, 50,000 ops
    with pytest.warns(VizWarning, match="over max_nodes"):
        view = draw(c)
    assert view.too_large
    assert len(view.text.splitlines()) == 50_001 + 50_000 + 3  # leaves, ops, 3 headings
    with pytest.raises(ag.GlassgradError, match="max_nodes=None"):
        view.svg()
    spec = draw(c, max_nodes=None).spec  # the whole spec, still no recursion
    assert spec.box_count() == 150_001


def test_gradients_that_are_graph_values_show_their_numbers():
    x = Scalar(2.0, name="x")
    y = x * x * x
    y.backward(create_graph=True)  # x.grad is itself a graph value now
    (xbox,) = [v for v in draw(y).spec.values if v.node is x]
    assert xbox.grad == 12.0
