"""Module/Parameter and the one-unit logistic model."""

import glassgrad
import numpy as np
import pytest
from glassgrad import Tensor
from glassgrad.errors import ShapeError
from glassgrad.models.logistic import LogisticModel, logistic_loss
from glassgrad.nn import Module, Parameter
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


class Two(Module):
    def __init__(self):
        self.first = LogisticModel(3)
        self.scale = Parameter(np.ones(1))

    def forward(self, x):
        return self.first(x) * self.scale


def test_parameters_are_named_after_their_attributes_and_found_recursively():
    m = Two()
    assert [n for n, _ in m.named_parameters()] == ["first.w", "first.b", "scale"]
    assert [p.name for p in m.parameters()] == ["w", "b", "scale"]
    assert all(p.requires_grad and p.is_leaf for p in m.parameters())


def test_call_runs_forward_inside_the_module_scope():
    m = LogisticModel(3)
    z = m(np.ones((2, 3)))
    assert z.scope == ("LogisticModel",)
    assert m.w.scope == ()  # parameters were created outside


def test_zero_grad_and_state_dict_round_trip():
    m = LogisticModel(4)
    logistic_loss(m, np.ones((2, 4)), [1, 0]).backward()
    assert m.w.grad is not None
    m.zero_grad()
    assert m.w.grad is None and m.b.grad is None
    with glassgrad.no_grad():
        m.w[:] = [1, 2, 3, 4]
    state = m.state_dict()
    with glassgrad.no_grad():
        m.w[:] = 0  # state_dict is a copy
    assert state["w"].tolist() == [1, 2, 3, 4]
    other = LogisticModel(4)
    buffer = other.w.data
    other.load_state_dict(state)
    assert np.shares_memory(other.w.data, buffer) and other.w.data.tolist() == [1, 2, 3, 4]


def test_load_state_dict_names_what_does_not_fit_and_changes_nothing():
    m = LogisticModel(4)
    with pytest.raises(KeyError, match="missing \\['b'\\]"):
        m.load_state_dict({"w": np.zeros(4)})
    with pytest.raises(KeyError, match="unexpected \\['c'\\]"):
        m.load_state_dict({"w": np.zeros(4), "b": np.zeros(1), "c": np.zeros(1)})
    with pytest.raises(ValueError, match=r"'w' is float64\[4\] but the state holds float64\[5\]"):
        m.load_state_dict({"w": np.ones(5), "b": np.ones(1)})
    with pytest.raises(ValueError, match="float32"):
        m.load_state_dict({"w": np.ones(4, np.float32), "b": np.ones(1)})
    with pytest.raises(ValueError, match=r"'b' is float64\[1\] but the state holds float64\[2\]"):
        m.load_state_dict({"w": np.ones(4), "b": np.ones(2)})
    assert not m.w.data.any()  # the failed loads left w alone


@settings(max_examples=40, deadline=None)
@given(
    X=arrays(np.float64, (6, 5), elements=st.floats(-2, 2)),
    w=arrays(np.float64, 5, elements=st.floats(-2, 2)),
    b=st.floats(-2, 2),
    y=arrays(np.int8, 6, elements=st.integers(0, 1)),
)
def test_logits_proba_and_the_loss_gradient_match_numpy(X, w, b, y):
    m = LogisticModel(5)
    with glassgrad.no_grad():
        m.w[:] = w
    with glassgrad.no_grad():
        m.b[:] = b
    z = X @ w + b
    np.testing.assert_allclose(m(X).data, z, rtol=1e-12, atol=1e-12)
    p = sigmoid(z)
    np.testing.assert_allclose(m.predict_proba(X), p, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(m.predict(X, threshold=0.3), p >= 0.3)
    loss = logistic_loss(m, X, y)
    # −[y ln σ(z) + (1−y) ln(1−σ(z))] = ln(1 + eᶻ) − y·z, exact where 1 − σ(z) rounds (|z| ≈ 20)
    expected = np.mean(np.logaddexp(0.0, z) - y * z)
    assert loss.item() == pytest.approx(expected, rel=1e-9, abs=1e-12)
    loss.backward()
    np.testing.assert_allclose(m.w.grad, X.T @ (p - y) / len(y), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(m.b.grad, [np.mean(p - y)], rtol=1e-9, atol=1e-12)


def test_pos_weight_scales_the_positive_terms():
    m = LogisticModel(2)
    with glassgrad.no_grad():
        m.w[:] = [0.5, -1.0]
    X, y = np.array([[1.0, 2.0], [0.5, 0.1]]), np.array([1.0, 0.0])
    p = sigmoid(X @ m.w.data)
    expected = -np.mean(3.0 * y * np.log(p) + (1 - y) * np.log(1 - p))
    assert logistic_loss(m, X, y, pos_weight=3.0).item() == pytest.approx(expected)


def test_float32_inputs_are_not_copied_and_stay_float32():
    m = LogisticModel(3, dtype=np.float32)
    X = np.ones((4, 3), np.float32)
    t = m.inputs(X)
    assert np.shares_memory(t.data, X)
    loss = logistic_loss(m, X, np.ones(4, np.float32))
    loss.backward()
    assert loss.dtype == np.float32 and m.w.grad.dtype == np.float32
    assert m.predict_proba(X).dtype == np.float32
    T = Tensor(X)
    assert m.inputs(T) is T


def test_bad_inputs_name_the_shapes():
    m = LogisticModel(3)
    with pytest.raises(ShapeError, match=r"\(N, 3\).*\(2, 4\)"):
        m(np.ones((2, 4)))
    with pytest.raises(ShapeError, match="targets"):
        logistic_loss(m, np.ones((2, 3)), np.ones(3))
    with pytest.raises(ValueError, match="n_features"):
        LogisticModel(0)
    with pytest.raises(TypeError, match="float"):
        LogisticModel(3, dtype=np.int32)
