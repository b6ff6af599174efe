"""Rendering with the real `dot`, saving by suffix, the missing-`dot` fallback and the
`glassgrad graph` command."""

import shutil
import warnings
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from glassgrad import Tensor
from glassgrad.models.cli import main
from glassgrad.models.graphs import logistic_unit
from glassgrad.viz import GraphvizNotFound, VizWarning, draw, to_text
from glassgrad.viz.labels import escape, summary
from glassgrad.viz.view import INSTALL_HINT

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="needs graphviz's dot")


def svg_groups(svg, kind):
    """{title: <g> element} of the SVG's nodes or edges."""
    tree = ET.fromstring(svg)
    return {g.find(f"{SVG}title").text: g for g in tree.iter(f"{SVG}g") if g.get("class") == kind}


@pytest.fixture
def no_dot(monkeypatch, tmp_path):
    """A PATH on which graphviz's `dot` cannot be found."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))


@needs_dot
def test_svg_has_a_node_per_value_and_op_and_tooltips_with_full_arrays():
    w = Tensor(np.arange(12.0).reshape(3, 4) / 10, requires_grad=True, name="W")
    x = Tensor([1.0, -1.0, 0.5, 2.0], name="x")
    loss = (w @ x).tanh().sum()
    svg = draw(loss).svg()
    nodes = svg_groups(svg, "node")
    assert set(nodes) == {"v0", "v1", "v2", "v3", "v4", "f2", "f3", "f4", "legend"}
    assert len(svg_groups(svg, "edge")) == 2 + 1 + 1 + 3
    # the node shows a summary of the 12 numbers, the tooltip all of them
    w_id = next(v.id for v in draw(loss).spec.values if v.node is w)
    w_node = nodes[w_id]
    text = " ".join(w_node.itertext())
    assert summary(w.data) in text
    tips = [a.get(f"{XLINK}title") for a in w_node.iter(f"{SVG}a")]
    assert any("1.1" in t and "0.5" in t and "W: f64[3,4]" in t for t in tips if t)


@needs_dot
def test_save_picks_the_format_by_suffix_and_writes_atomically(tmp_path):
    u = logistic_unit()
    view = draw(u.loss, view="backward")
    magic = {"svg": b"<?xml", "png": b"\x89PNG", "pdf": b"%PDF"}
    for fmt, head in magic.items():
        path = view.save(tmp_path / f"g.{fmt}")
        assert path == tmp_path / f"g.{fmt}"
        assert path.read_bytes().startswith(head)
    assert (view.save(tmp_path / "g.dot")).read_text() == view.source
    assert (view.save(tmp_path / "g.txt")).read_text() == to_text(u.loss)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.dot", "g.pdf", "g.png", "g.svg", "g.txt"]
    with pytest.raises(ValueError, match=r"\.svg, \.png, \.pdf"):
        view.save(tmp_path / "g.jpeg")


@needs_dot
def test_jupyter_shows_svg():
    u = logistic_unit()
    bundle = draw(u.loss)._repr_mimebundle_()
    ET.fromstring(bundle["image/svg+xml"])
    assert bundle["text/plain"] == "<GraphView forward: 8 values, 4 ops>"


def test_missing_dot_falls_back_to_text_with_one_line_hint(no_dot, tmp_path):
    u = logistic_unit()
    view = draw(u.loss)
    with pytest.warns(VizWarning) as caught:
        bundle = view._repr_mimebundle_()
    assert bundle == {"text/plain": to_text(u.loss)}
    (message,) = [str(w.message) for w in caught]
    assert message == INSTALL_HINT and "\n" not in message and "apt-get install graphviz" in message
    with pytest.raises(GraphvizNotFound, match="install") as info:
        view.svg()
    assert info.value.__cause__ is None and info.value.__suppress_context__
    with pytest.warns(VizWarning, match="writing the DOT text"):
        written = view.save(tmp_path / "g.svg")
    assert written == tmp_path / "g.dot" and written.read_text() == view.source
    assert view.source.startswith("digraph")  # the DOT text never needs dot


def _graph_command(argv):
    return main(["graph", *argv])


@needs_dot
def test_graph_command_writes_readable_svgs_and_the_explanation(tmp_path, capsys):
    out = tmp_path / "graphs"
    assert _graph_command(["--out", str(out), "--format", "svg", "--format", "png"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["backward.png", "backward.svg", "explain.txt", "forward.png", "forward.svg", "graph.txt"]
    backward = (out / "backward.svg").read_text()
    nodes = svg_groups(backward, "node")
    assert len([n for n in nodes if n[0] in "vf"]) == 12
    drawn = " ".join(ET.fromstring(backward).itertext())
    for factor in ("∂L/∂ŷ = (ŷ−y)/(ŷ(1−ŷ))", "∂ŷ/∂z = ŷ(1−ŷ)", "∂(x·w)/∂w = x"):
        assert factor in drawn
    u = logistic_unit()
    u.loss.backward()
    explained = (out / "explain.txt").read_text()
    assert f"∂L/∂w = {summary(u.w.grad)}" in explained and f"∂L/∂b = {summary(u.b.grad)}" in explained
    printed = capsys.readouterr().out
    assert f"wrote {out / 'forward.svg'}" in printed and "(ŷ−y) · x" in printed


def test_graph_command_without_dot_writes_dot_files_and_one_warning_line(no_dot, tmp_path, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the command must report, not leak warnings
        assert _graph_command(["--out", str(tmp_path), "--x", "1", "2", "3", "--w", "0", "0", "1", "--y", "0"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backward.dot", "explain.txt", "forward.dot", "graph.txt"]
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("glassgrad graph: warning: graphviz's `dot` program was not found")
    assert escape("x·w") in (tmp_path / "forward.dot").read_text()


def test_graph_command_rejects_mismatched_sizes(tmp_path, capsys):
    assert _graph_command(["--out", str(tmp_path), "--x", "1", "2", "--w", "1"]) == 2
    assert capsys.readouterr().err.startswith("glassgrad graph: error: x has 2 features but w has 1 weights")
    assert not tmp_path.joinpath("forward.svg").exists()


@needs_dot
def test_user_defined_op_with_a_markup_name_renders():
    from glassgrad import Function

    class Abs(Function):
        """y = |x|;  dy/dx = sign x"""

        name = "|x|<op>"

        @staticmethod
        def forward(ctx, x):
            return np.abs(x)

        @staticmethod
        def backward(ctx, g, y, x):
            return (g * np.sign(x),)

    t = Tensor([-1.0, 2.0], requires_grad=True, name="{t}")
    out = Abs.apply(t).sum()
    view = draw(out, view="backward")
    assert [o.category for o in view.spec.ops] == ["other", "reduction"]
    text = " ".join(ET.fromstring(view.svg()).itertext())
    assert "|x|<op>" in text and "{t}" in text and "vjp of |x|<op>" in text
