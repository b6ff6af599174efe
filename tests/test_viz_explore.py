"""explore(): the explorer's steps and page, checked without a browser (the browser
tests are in test_viz_explore_browser.py).

The steps must carry the numbers of the backward drawing and of explain(), and end
on the gradients backward() computes."""

from __future__ import annotations

import html
import json
import re

import numpy as np
import pytest
from glassgrad import Scalar, Tensor, scope
from glassgrad.models.graphs import LOGISTIC_TITLE, logistic_unit, small_mlp, tiny_network
from glassgrad.viz import MAX_NODES, VizWarning, draw, explain, explore
from glassgrad.viz.dot import flow_lines
from glassgrad.viz.labels import escape, summary
from glassgrad.viz.steps import exact


def final_grads(explorer):
    """name -> the full-precision gradient the last step leaves on each value box."""
    w = explorer.walkthrough
    state = w.state(len(w.steps) - 1)
    names = {v.id: v.node.name for v in explorer.spec.values}
    return {
        names[element]: json.loads(value)
        for (element, kind, attr), value in state.items()
        if kind == "attr" and attr == "data-grad" and value is not None
    }


def test_logistic_unit_steps_forward_then_backward_edge_by_edge():
    u = logistic_unit()
    steps = explore(u.loss).walkthrough.steps
    assert [s.phase for s in steps] == ["start"] + ["forward"] * 4 + ["seed"] + ["backward"] * 5
    assert [s.caption.split(" = ")[1].split("(")[0] for s in steps[1:5]] == [
        "matmul",
        "add",
        "sigmoid",
        "binary_cross_entropy",
    ]
    assert steps[5].caption == "backward starts: ∂L/∂L = 1"
    # The edge from the loss back to ŷ: local derivative × upstream = contribution.
    assert steps[6].lines == ["∂L/∂ŷ = (ŷ−y)/(ŷ(1−ŷ)) = −1.317", "× ∂L/∂L = 1", "= −1.317"]


def test_the_last_step_holds_the_gradients_backward_computes():
    u = logistic_unit()
    grads = final_grads(explore(u.loss))
    u.loss.backward()
    assert grads["w"] == u.w.grad.tolist()  # the replay adds in backward()'s order: exactly equal
    assert grads["b"] == float(u.b.grad)
    assert grads["L"] == 1.0


def test_every_edge_step_is_an_edge_label_of_the_backward_drawing_and_explain_agrees():
    u = logistic_unit()
    ex = explore(u.loss)
    source = draw(u.loss, view="backward").source
    index = {id(n): k for k, n in enumerate(ex.spec.order)}
    for flow, step in zip(ex.spec.backprop.flows, ex.walkthrough.steps[6:]):
        assert step.lines[:4] == flow_lines(flow, index, "L")
        for line in step.lines:
            assert escape(line) in source
    boxes = ex._boxes()
    grads = final_grads(ex)
    for v in ex.spec.values:
        if v.node is u.w or v.node is u.b:
            text = explain(v.node, u.loss)
            assert boxes[v.id]["explain"] == str(text)
            np.testing.assert_allclose(grads[v.node.name], text.total, rtol=0, atol=1e-12)


def test_a_value_used_three_times_fills_its_sum_contribution_by_contribution():
    x = Scalar(1.5, name="x")
    y = x * x + x
    y.name = "y"
    ex = explore(y)
    w = ex.walkthrough
    xbox = next(v.id for v in ex.spec.values if v.node is x)
    sums = [w.state(k)[(f"{xbox}-sum", "text", "")] for k in range(len(w.steps))]
    grads = [w.state(k)[(f"{xbox}-grad", "text", "")] for k in range(len(w.steps))]
    assert sums[0] == sums[-1] == "Σ of 3 contributions"
    assert "Σ 1 of 3 so far" in sums and "Σ 2 of 3 so far" in sums
    assert [g for g in dict.fromkeys(grads) if g is not None] == ["1", "2.5", "4"]  # 1, then +1.5, then +1.5
    assert "Σ of 3 contributions" in draw(y, view="backward").source


def test_collapsed_scopes_step_as_one_box_and_still_end_on_the_right_gradients():
    loss, params = tiny_network()
    ex = explore(loss, collapse=("h1",))
    assert any("inside the folded scope hidden/h1" in s.caption for s in ex.walkthrough.steps)
    grads = final_grads(ex)
    loss.backward()
    for name in ("w01", "w02", "b0", "v0", "v1", "c"):
        assert grads[name] == pytest.approx(params[name].grad, abs=1e-12)
    assert "w11" not in grads  # folded away


def test_the_mlp_ends_on_backwards_gradients():
    loss, params = small_mlp()
    grads = final_grads(explore(loss))
    loss.backward()
    for name, p in params.items():
        np.testing.assert_allclose(grads[name], p.grad, rtol=0, atol=1e-12)


def test_over_budget_the_page_folds_scopes_and_says_so():
    xs = []
    for i in range(30):
        with scope(f"block{i}"):
            xs.append(Scalar(float(i), name=f"a{i}") * Scalar(2.0, name=f"k{i}") + 1.0)
    total = xs[0]
    for x in xs[1:]:
        total = total + x
    ex = explore(total, max_nodes=100)
    assert ex.walkthrough is not None
    assert "Over the budget of max_nodes=100 boxes" in ex.notice and "collapsed view" in ex.notice
    assert ex.spec.collapsed


def test_over_budget_even_folded_the_page_shows_the_listing():
    x = Scalar(0.5, name="x")
    for _ in range(300):
        x = x * 1.01
    ex = explore(x, max_nodes=50)
    assert ex.walkthrough is None
    page = ex.html()
    assert "over max_nodes=50" in page and '<pre class="listing">' in page and "explorer-data" not in page


def test_the_page_is_one_file_that_fetches_nothing():
    page = explore(logistic_unit().loss).html()
    assert page.count("<svg") == 1 and 'id="explorer-data"' in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert not re.search(r"<(script|link|img|iframe)[^>]*\b(src|href)=", page)
    urls = set(re.findall(r"https?://[^\s\"'<>]+", page))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    assert 'id="v2-grad"' in page and 'xlink:href="#"' not in page  # cells renamed, links gone
    data = json.loads(re.search(r'id="explorer-data">(.*?)</script>', page, re.S).group(1))
    assert len(data["steps"]) == 11


def test_names_cannot_break_the_page():
    x = Scalar(2.0, name="</script><b>x")
    y = x * x
    y.name = "y & </svg>"
    page = explore(y).html()
    assert page.count("</script>") == 2  # the data's and the script's own
    payload = re.search(r'id="explorer-data">(.*?)</script>', page, re.S).group(1)
    assert "</script><b>x" in json.dumps(json.loads(payload), ensure_ascii=False)
    outside = page.replace(payload, "")
    assert "<b>x" not in outside and "&lt;/script&gt;&lt;b&gt;x" in outside


def test_no_name_opens_markup_inside_the_pages_data():
    # "<!--<script>" inside a script element makes the HTML parser read past its end
    # tag: the page's own script became part of the data and never ran.
    x = Scalar(2.0, requires_grad=True, name="<!--<script>")
    page = explore(x * x).html()
    payload = re.search(r'id="explorer-data">(.*?)</script>', page, re.S).group(1)
    assert "<" not in payload
    assert json.loads(payload)["boxes"]["v0"]["title"].startswith("<!--<script>")


def test_jupyter_shows_it_in_a_sandboxed_iframe():
    ex = explore(logistic_unit().loss)
    frame = ex._repr_html_()
    assert frame.startswith("<iframe srcdoc=") and 'sandbox="allow-scripts"' in frame
    assert html.unescape(re.search(r'srcdoc="(.*?)"', frame, re.S).group(1)) == ex.html()


def test_save_writes_the_page(tmp_path):
    ex = explore(logistic_unit().loss)
    path = ex.save(tmp_path / "explorer.html")
    assert path.read_text(encoding="utf-8") == ex.html()


def test_without_dot_the_page_shows_the_listing_and_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    ex = explore(logistic_unit().loss)
    with pytest.warns(VizWarning, match="dot"):
        page = ex.html()
    assert "apt-get install graphviz" in page and "matmul(%3, %2)" in page


def test_exact_numbers_read_back_exactly():
    values = np.array([0.1, 1 / 3, -2.5e-300, np.nan, np.inf, -np.inf])
    assert json.loads(exact(values)) == [0.1, 1 / 3, -2.5e-300, "nan", "inf", "-inf"]
    assert json.loads(exact(0.1 + 0.2)) == 0.1 + 0.2
    assert exact(np.zeros(20_000)) is None
    assert summary(values[:3]) == "[0.1, 0.3333, −2.5e−300]"


def test_explore_takes_drawings_defaults():
    ex = explore(Tensor([1.0, 2.0], requires_grad=True, name="v").sum())
    assert ex._max_nodes == MAX_NODES
    assert repr(ex) == "<Explorer: 2 values, 3 steps>"
    with pytest.raises(ValueError, match="gradient"):
        explore(Tensor([1.0, 2.0], requires_grad=True) * 2.0)


def test_graph_command_writes_the_explorer_with_html(tmp_path, capsys):
    from glassgrad.models.cli import main

    assert main(["graph", "--out", str(tmp_path), "--html"]) == 0
    page = (tmp_path / "explorer.html").read_text(encoding="utf-8")
    assert "The logistic unit" in page and page == explore(logistic_unit().loss, title=LOGISTIC_TITLE).html()
    assert f"wrote {tmp_path / 'explorer.html'}" in capsys.readouterr().out


def test_train_writes_the_explorer_of_one_digit_beside_its_graphs(tmp_path):
    from glassgrad.models.commands.train import render_sample_graph
    from glassgrad.models.logistic import LogisticModel

    x = np.linspace(0.0, 1.0, 784)[None, :]
    files = render_sample_graph(LogisticModel(), x, np.ones(1), tmp_path)
    assert sorted(files) == ["explorer", "graph_backward", "graph_forward"]
    page = files["explorer"].read_text(encoding="utf-8")
    assert files["explorer"] == tmp_path / "explorer.html" and 'id="explorer-data"' in page
