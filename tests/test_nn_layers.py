"""The layers: Linear, Sequential and the activation modules; Module's walk over
lists and tuples, its repr, and train()/eval()."""

import doctest
import math

import glassgrad.nn
import numpy as np
import pytest
from glassgrad import Tensor
from glassgrad.errors import ShapeError
from glassgrad.nn import Linear, Module, Parameter, ReLU, Sequential, Sigmoid, Tanh
from glassgrad.testing import gradcheck


def test_the_module_docstring_examples_run():
    assert doctest.testmod(glassgrad.nn).failed == 0


def test_linear_computes_x_times_w_transposed_plus_b():
    layer = Linear(3, 2, rng=0)
    x = np.arange(12.0).reshape(4, 3)
    np.testing.assert_allclose(layer(x).data, x @ layer.weight.data.T + layer.bias.data, rtol=1e-15)
    assert layer.weight.shape == (2, 3) and layer.bias.shape == (2,)
    assert Linear(3, 2, bias=False, rng=0)(x).shape == (4, 2)
    assert layer(np.ones(3)).shape == (2,)  # one sample without a batch axis


def test_linear_starts_uniform_within_one_over_root_fan_in_and_the_seed_fixes_it():
    layer = Linear(400, 50, rng=7)
    k = 1 / math.sqrt(400)
    for p in (layer.weight.data, layer.bias.data):
        assert np.abs(p).max() <= k
    # U(−k, k) has variance k²/3: 20,000 draws pin it to a few percent
    assert layer.weight.data.var() == pytest.approx(k**2 / 3, rel=0.05)
    np.testing.assert_array_equal(Linear(400, 50, rng=7).weight.data, layer.weight.data)
    assert not np.array_equal(Linear(400, 50, rng=8).weight.data, layer.weight.data)
    gen = np.random.default_rng(7)
    np.testing.assert_array_equal(Linear(400, 50, rng=gen).weight.data, layer.weight.data)


def test_linear_float32_stays_float32_and_converts_arrays():
    layer = Linear(3, 2, dtype=np.float32, rng=0)
    y = layer(np.ones((2, 3)))  # float64 data: converted to the weights' dtype
    y.sum().backward()
    assert y.dtype == np.float32 and layer.weight.grad.dtype == np.float32
    assert repr(layer) == "Linear(in_features=3, out_features=2, dtype=f32)  # 8 parameters"


def test_linear_gradients_match_central_differences():
    net = Sequential(Linear(3, 4, rng=0), Tanh(), Linear(4, 2, rng=1), Sigmoid())
    x = Tensor(np.random.default_rng(2).normal(size=(5, 3)), requires_grad=True)
    w0, b1 = net[0].weight, net[2].bias
    gradcheck(lambda x, w0, b1: net(x), x, w0, b1)  # raises with a report on a mismatch


def test_linear_refuses_what_does_not_fit():
    with pytest.raises(ShapeError, match=r"Linear\(3 → 2\).*3 features, got shape \(4, 5\)"):
        Linear(3, 2, rng=0)(np.ones((4, 5)))
    with pytest.raises(ValueError, match="in_features must be an integer ≥ 1"):
        Linear(0, 2)
    with pytest.raises(ValueError, match="out_features"):
        Linear(2, 1.5)
    with pytest.raises(TypeError, match="float"):
        Linear(2, 2, dtype=np.int64)


def test_sequential_chains_layers_and_names_them_by_position_like_pytorch():
    net = Sequential(Linear(4, 3, rng=0), ReLU(), Linear(3, 2, rng=1))
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    x = np.random.default_rng(0).normal(size=(5, 4))
    h = np.maximum(x @ net[0].weight.data.T + net[0].bias.data, 0)
    np.testing.assert_allclose(net(x).data, h @ net[2].weight.data.T + net[2].bias.data, rtol=1e-14)
    assert len(net) == 3 and list(net)[1] is net[1]
    with pytest.raises(TypeError, match="layer 1 is a function, not a Module"):
        Sequential(Linear(2, 2), lambda x: x)


def test_each_layer_of_a_sequential_has_its_own_scope():
    net = Sequential(Linear(2, 2, rng=0), ReLU(), Linear(2, 1, rng=1))
    y = net(np.ones((1, 2)))
    assert y.scope == ("Sequential", "Linear 2")
    assert y.parents[0].parents[0].scope == ("Sequential", "ReLU 1")


class Blocks(Module):
    def __init__(self):
        self.blocks = [Linear(2, 3, rng=0), Linear(3, 1, rng=1)]
        self.pair = (ReLU(), Parameter(np.ones(1)))

    def forward(self, x):
        return self.blocks[1](self.pair[0](self.blocks[0](x))) * self.pair[1]


def test_modules_and_parameters_in_lists_and_tuples_are_found():
    m = Blocks()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias", "pair.1"]
    assert m.num_parameters() == 9 + 4 + 1
    assert [type(c).__name__ for _, c in m.named_children()] == ["Linear", "Linear", "ReLU"]
    m(np.ones((2, 2))).sum().backward()
    assert all(p.grad is not None for p in m.parameters())


def test_modules_and_parameters_in_dicts_are_found_under_their_keys():
    # A dict of heads was not looked into: 0 parameters, so an optimizer and save() missed them.
    class Heads(Module):
        def __init__(self):
            self.heads = {"digit": Linear(2, 3, rng=0), "ink": Linear(2, 1, rng=1)}
            self.scales = {"out": Parameter(np.ones(1))}

        def forward(self, x):
            return self.heads["digit"](x).sum() + self.heads["ink"](x).sum() * self.scales["out"]

    m = Heads()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["heads.digit.weight", "heads.digit.bias", "heads.ink.weight", "heads.ink.bias", "scales.out"]
    assert m.num_parameters() == 9 + 3 + 1 and "# 13 parameters" in repr(m)
    m(np.ones((2, 2))).backward()
    assert all(p.grad is not None for p in m.parameters())


def test_a_shared_parameter_is_listed_once():
    first = Linear(2, 2, rng=0)
    net = Sequential(first, Tanh(), first)
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(net.modules())) == 3  # net, first, the Tanh


def test_repr_lists_the_layers_and_their_parameter_counts():
    assert repr(Blocks()) == (
        "Blocks(  # 14 parameters\n"
        "  pair.1: f64[1]\n"
        "  (blocks.0): Linear(in_features=2, out_features=3)  # 9 parameters\n"
        "  (blocks.1): Linear(in_features=3, out_features=1)  # 4 parameters\n"
        "  (pair.0): ReLU()\n"
        ")"
    )
    nested = Sequential(Sequential(Linear(1, 1, bias=False, rng=0)), Sigmoid())
    assert repr(nested) == (
        "Sequential(  # 1 parameter\n"
        "  (0): Sequential(  # 1 parameter\n"
        "    (0): Linear(in_features=1, out_features=1, bias=False)  # 1 parameter\n"
        "  )\n"
        "  (1): Sigmoid()\n"
        ")"
    )


def test_train_and_eval_set_the_mode_of_every_module():
    m = Blocks()
    assert m.training and all(c.training for c in m.modules())
    assert m.eval() is m
    assert not any(c.training for c in m.modules())
    m.blocks[0].train()
    assert m.blocks[0].training and not m.training
    m.train()
    assert all(c.training for c in m.modules())


def test_state_dict_loads_into_a_model_of_the_same_shape():
    a, b = Sequential(Linear(3, 2, rng=0), ReLU()), Sequential(Linear(3, 2, rng=1), ReLU())
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(b[0].weight.data, a[0].weight.data)
    with pytest.raises(KeyError, match=r"missing \['0.bias'\]"):
        Sequential(Linear(3, 2, rng=0)).load_state_dict({"0.weight": np.zeros((2, 3))})
