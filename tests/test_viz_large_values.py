"""A model-sized graph draws: the 784 weights of the digit detector fit in dot's limits."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from glassgrad import Tensor, binary_cross_entropy_with_logits
from glassgrad.viz import draw


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot is not installed")
@pytest.mark.parametrize("view", ["forward", "backward"])
def test_a_784_weight_unit_renders(view: str, tmp_path) -> None:
    rng = np.random.default_rng(0)
    w = Tensor(rng.standard_normal(784) * 0.01, requires_grad=True, name="w")
    x = Tensor(rng.random((1, 784)), name="x")
    loss = binary_cross_entropy_with_logits(x @ w, Tensor([1.0]))
    path = draw(loss, view=view).save(tmp_path / "unit.svg")
    assert path.suffix == ".svg"
    assert path.read_text(encoding="utf-8").lstrip().startswith(("<?xml", "<svg"))
