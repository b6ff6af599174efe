"""The engine's fast paths keep the general semantics: inputs held in slots, the
Scalar recording shortcut, the in-place check, the paused garbage collector, the
vectorized domain test and the fused loss backward."""

import gc
import pickle
import sys

import glassgrad as ag
import numpy as np
import pytest
from glassgrad import Scalar, Tensor
from glassgrad.ops.domains import NONZERO, POSITIVE, UNIT_INTERVAL


def test_parents_of_unary_binary_and_nary_ops_and_freeing():
    a, b, c = (Tensor(np.full(2, v), requires_grad=True) for v in (1.0, 2.0, 3.0))
    u, s, n = a.exp(), a * b, ag.concatenate([a, b, c])
    assert u.parents == (a,) and s.parents == (a, b) and n.parents == (a, b, c)
    assert a.parents == () and not a.is_freed
    (u.sum() + s.sum() + n.sum()).backward()
    np.testing.assert_allclose(a.grad, np.exp(1.0) + 2.0 + 1.0)
    np.testing.assert_allclose(c.grad, 1.0)
    for node in (u, s, n):
        assert node.is_freed
        with pytest.raises(ag.GradError, match="retain_graph=True"):
            node.parents


def test_scalar_fast_path_records_like_the_generic_path():
    x = Scalar(3.0)
    y = x * 2 + 1  # Python numbers on the right
    z = 2 * x + 1  # and on the left
    assert y.op == "add" and y.parents[0].op == "mul" and y.data == z.data == 7.0
    (y + z).backward()
    assert x.grad == 4.0
    with ag.no_grad():
        w = x * x
    assert w.is_leaf and not w.requires_grad
    with ag.scope("layer"):
        v = x * x
    assert v.scope == ("layer",)


def test_inplace_change_of_a_scalar_after_use_is_detected():
    x = Scalar(2.0)
    y = x * x
    x.data = 5.0
    with pytest.raises(ag.InPlaceError, match="modified in place"):
        y.backward()
    x.grad = None
    z = x * x  # made after the change: fine
    z.backward()
    assert x.grad == 10.0


@pytest.mark.parametrize("enabled", [True, False])
def test_backward_restores_the_garbage_collector_state(enabled):
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        x = Scalar(1.0)
        (x * x).backward(create_graph=True)  # the pass that pauses it
        assert gc.isenabled() is enabled
        y = x.log()
        y.backward()
        with pytest.raises(ag.GradError):
            y.backward(create_graph=True)  # freed: the error path restores it too
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()


def test_domain_test_agrees_with_a_number_by_number_reference():
    rng = np.random.default_rng(0)
    for dom in (UNIT_INTERVAL, POSITIVE, NONZERO):
        for _ in range(200):
            x = rng.choice([-1.0, 0.0, 0.5, 1.0, 2.0, np.nan], size=rng.integers(0, 5))
            expected = all(np.isnan(v) or not dom._outside(float(v)) for v in x)
            assert dom.contains(x) == expected, (dom.name, x)
            assert dom.contains(x.astype(np.float32)) == expected


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bce_with_logits_backward_from_saved_softplus_matches_sigmoid(dtype):
    z = np.array([-30.0, -2.0, 0.0, 3.0, 40.0], dtype=dtype)
    y = np.array([0.0, 1.0, 0.5, 0.0, 1.0], dtype=dtype)
    t = Tensor(z, requires_grad=True)
    loss = ag.binary_cross_entropy_with_logits(t, y)
    loss.backward()
    assert t.grad.dtype == dtype and loss.dtype == dtype
    expected = (1 / (1 + np.exp(-z.astype(np.float64))) - y) / len(z)
    np.testing.assert_allclose(t.grad, expected, rtol=1e-6 if dtype == np.float32 else 1e-12, atol=1e-8)


def test_scalar_unary_fast_paths_match_their_derivatives():
    x = Scalar(0.3)
    (x.relu() + x.tanh() + x.sigmoid() - (-x)).backward()
    s = 1 / (1 + np.exp(-0.3))
    assert x.grad == pytest.approx(1 + (1 - np.tanh(0.3) ** 2) + s * (1 - s) + 1, rel=1e-15)
    y = Scalar(-2.0)
    z = y.relu()
    assert z.data == 0.0 and z.op == "relu"
    z.backward()
    assert y.grad == 0.0
    assert (1 - y).data == 3.0 and (y - 1).data == -3.0


def test_scalar_fast_path_still_checks_under_detect_anomaly():
    with ag.detect_anomaly():
        with pytest.raises(ag.AnomalyError, match="mul produced NaN or inf"):
            Scalar(1e308) * 1e308
        with pytest.raises(ag.AnomalyError, match="add produced NaN or inf"):
            Scalar(1e308) + 1e308
    assert (Scalar(1e308) * 1e308).data == float("inf")  # outside the mode: IEEE as usual


def test_bce_with_logits_gradient_sums_back_over_broadcast_targets():
    z = Tensor(np.array([0.3]), requires_grad=True)
    y = np.array([0.0, 1.0, 1.0])
    ag.binary_cross_entropy_with_logits(z, y, reduction="sum").backward()
    s = 1 / (1 + np.exp(-0.3))
    np.testing.assert_allclose(z.grad, [3 * s - 2.0], rtol=1e-14)


def test_a_node_is_eight_slots_and_keeps_rare_fields_in_its_metadata():
    """The collector walks every live node on each full collection; eight slots make a
    node 96 bytes (ten made 112), and the walks read that much less memory. A leaf's
    gradient and a value's name live in the metadata, which most nodes never create."""
    w = Scalar(2.0)
    y = w * w
    assert sys.getsizeof(y) <= 96
    assert y._meta is None  # an op node from an ordinary graph: no metadata at all
    # A leaf that requires grad has its metadata from the start, so a backward storing
    # its gradient and an update marking its version never each create one.
    assert w._meta == {} and Scalar(1.0, requires_grad=False)._meta is None
    c = Tensor([1.0])
    c.requires_grad_()
    assert c._meta == {}
    y.backward()
    assert w.grad == 4.0 and w._meta == {"grad": 4.0}
    w.grad = None
    assert w.grad is None
    clone = pickle.loads(pickle.dumps(w * 3.0))
    assert clone.requires_grad and clone.parents[0].requires_grad
