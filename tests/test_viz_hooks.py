"""Hooks in the pictures: a hook (register_hook) replaces the gradient backward() passes
on, so the backward view, explain() and the explorer replay it too, and say where."""

from __future__ import annotations

import json

import numpy as np
from glassgrad import Scalar, Tensor
from glassgrad.viz import draw, explain, explore
from glassgrad.viz.labels import escape


def clipped_square():
    """L = Σ (3x)², with a hook that clips ∂L/∂h to [−10, 10] on h = 3x."""
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    h = x * 3.0
    h.name = "h"
    h.register_hook(lambda g: np.clip(g, -10, 10))
    loss = (h * h).sum()
    loss.name = "L"
    return x, loss


def test_the_backward_view_passes_on_what_a_hook_returns():
    x, loss = clipped_square()
    spec = draw(loss, view="backward").spec
    shown = {v.node.name: v for v in spec.values}
    loss.backward(retain_graph=True)
    # ∂L/∂h = 2h = [6, 12], clipped to [6, 10]: ∂L/∂x is [18, 30], not [18, 36]
    np.testing.assert_array_equal(shown["x"].grad, x.grad)
    np.testing.assert_array_equal(shown["h"].grad, [6.0, 10.0])
    np.testing.assert_array_equal(shown["h"].before_hooks, [6.0, 12.0])
    assert escape("a hook changed it from [6, 12]") in draw(loss, view="backward").source


def test_explain_and_the_explorer_end_on_backwards_gradient_and_name_the_hook():
    x, loss = clipped_square()
    text = explain(x, loss)
    ex = explore(loss)
    w = ex.walkthrough
    final = w.state(len(w.steps) - 1)
    loss.backward(retain_graph=True)
    np.testing.assert_array_equal(text.total, x.grad)
    assert "a hook on h changes the gradient passing through it" in text
    box = next(v.id for v in ex.spec.values if v.node is x)
    assert json.loads(final[(box, "attr", "data-grad")]) == x.grad.tolist()
    assert any("after the hooks on h" in line for s in w.steps for line in s.lines)


def test_a_hook_on_a_leaf_shows_in_its_gradient_and_drawing_writes_no_grad():
    x = Scalar(2.0, requires_grad=True, name="x")
    x.register_hook(lambda g: g * 10)
    y = x * x
    y.retain_grad()
    shown = {v.node.name: v.grad for v in draw(y, view="backward").spec.values}
    assert x.grad is None and y.grad is None  # the replay writes no .grad, retained or not
    y.backward()
    assert shown["x"] == x.grad == 40.0


def test_a_hook_that_changes_its_argument_in_place_leaves_the_edges_numbers_alone():
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    h = x * 3.0
    h.name = "h"

    def zero(g):
        g[...] = 0.0

    h.register_hook(zero)
    loss = (h * h).sum()
    spec = draw(loss, view="backward").spec
    into_h = [f for f in spec.backprop.flows if f.parent is h]
    assert [f.contribution.tolist() for f in into_h] == [[3.0, 6.0], [3.0, 6.0]]
    loss.backward()
    np.testing.assert_array_equal(spec.backprop.grad(x), x.grad)
