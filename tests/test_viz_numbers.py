"""The numbers a drawing shows: what a summary of a large array says, and how rounding
is made visible."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from glassgrad import Scalar, Tensor
from glassgrad.models.graphs import logistic_unit
from glassgrad.viz import draw, explain, explore
from glassgrad.viz.dot import flow_lines
from glassgrad.viz.labels import summary


@pytest.mark.parametrize(
    ("data", "shown"),
    [
        (np.full(7, 1e308), "min 1e+308 · mean 1e+308 · max 1e+308"),
        (np.full(7, 3e38, dtype=np.float32), "min 3e+38 · mean 3e+38 · max 3e+38"),
        (np.array([-1e308, -1e308, 1e308, 1e308, 1e308, 1e308, 1e308]), "min −1e+308 · mean 4.286e+307 · max 1e+308"),
    ],
)
def test_the_mean_of_large_finite_values_is_finite(data, shown):
    # Their sum overflows: the mean read "inf" under an overflow warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert summary(data) == shown


def test_a_summary_shows_enough_digits_to_tell_min_from_max():
    # 4 significant digits showed "min 1 · mean 1 · max 1": a constant, which it is not.
    data = 1 + np.arange(7) * 1e-5
    assert summary(data) == "min 1 · mean 1 · max 1.0001"
    assert summary(np.append(data, np.nan)) == "min 1 · max 1.0001 · 1 nan, 0 inf"
    assert summary(np.full(7, 0.1)) == "min 0.1 · mean 0.1 · max 0.1"


def test_an_edge_whose_rounded_numbers_do_not_multiply_out_says_so():
    # 0.1827 × −1.317 is −0.2406: the edge's "= −0.2405" (right, from unrounded numbers)
    # read as a wrong product.
    u = logistic_unit()
    src = draw(u.loss, view="backward").source
    assert "× ∂L/∂ŷ = −1.317<BR/>≈ −0.2405>" in src
    assert "× ∂L/∂L = 1<BR/>= −1.317>" in src  # −1.317 × 1 multiplies out
    assert "≈ where the rounded" in src  # the legend says what ≈ means
    lines = explore(u.loss).walkthrough.steps[7].lines
    assert lines == ["∂ŷ/∂z = ŷ(1−ŷ) = 0.1827", "× ∂L/∂ŷ = −1.317", "≈ −0.2405"]
    text = explain(u.b, u.loss)
    assert "        = −1.317 · 0.1827 · 1\n        ≈ −0.2405\n" in text
    assert "≈ where the rounded factors" in text


def test_edges_whose_rounded_numbers_multiply_out_keep_their_equals_sign():
    x = Tensor([0.5, 2.0], requires_grad=True, name="x")
    loss = (x * 3.0).sum()
    spec = draw(loss, view="backward").spec
    index = {id(n): k for k, n in enumerate(spec.order)}
    flow = next(f for f in spec.backprop.flows if f.parent is x)
    assert flow_lines(flow, index, "L") == ["∂%2/∂x = %0 = [3, 3]", "× ∂L/∂%2 = [1, 1]", "= [3, 3]"]


def test_a_tooltip_shows_a_number_not_numpys_spelling_of_it():
    # ∂L/∂ŷ of a single-number tensor is a numpy float: its tooltip read "np.float64(-1.3166…)".
    source = draw(logistic_unit().loss, view="backward").source
    assert "np.float64" not in source
    assert "gradient:\n-1.316636769379053" in source


def test_a_sum_whose_rounded_contributions_add_to_another_number_says_so():
    # x used three times, each use sending 1/3: the edges read 0.3333 three times and the
    # box 1 as their "Σ of 3 contributions"; the explorer's last step "Σ 3 of 3 so far = 1".
    x = Scalar(1.0, requires_grad=True, name="x")
    y = x * (1 / 3) + x * (1 / 3) + x * (1 / 3)
    y.name = "y"
    src = draw(y, view="backward").source
    assert "≈ Σ of 3 contributions" in src and "≈ where the rounded" in src
    sums = [s.lines[-1] for s in explore(y).walkthrough.steps if "so far" in "".join(s.lines)]
    assert sums == [
        "∂y/∂x = Σ 1 of 3 so far = 0.3333",
        "∂y/∂x = Σ 2 of 3 so far ≈ 0.6667",  # 0.3333 + 0.3333
        "∂y/∂x = Σ 3 of 3 so far ≈ 1",
    ]
    x = Scalar(1.0, requires_grad=True, name="x")
    y = x * 0.5 + x * 0.25
    assert "≈" not in draw(y, view="backward").source  # 0.5 + 0.25 = 0.75: nothing to say
