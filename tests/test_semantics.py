"""PyTorch-shaped semantics: leaves, requires_grad, accumulation, no_grad, detach, seeds."""

import glassgrad as ag
import numpy as np
import pytest
from glassgrad import Scalar, Tensor


def test_leaves_and_requires_grad_propagate():
    w = Tensor([1.0, 2.0], requires_grad=True)
    x = Tensor([3.0, 4.0])
    z = w * x
    assert w.is_leaf and x.is_leaf and not z.is_leaf
    assert z.requires_grad and not (x * 2).requires_grad
    assert z.op == "mul" and z.parents == (w, x)


def test_requires_grad_is_set_on_leaves_only():
    w = Scalar(2.0, requires_grad=False)
    w.requires_grad = True
    y = w * w
    assert w.requires_grad and y.requires_grad
    with pytest.raises(ag.GradError, match="leaves only"):
        y.requires_grad = False
    y.backward()
    assert w.grad == 4.0
    w.requires_grad = False
    assert not (w * w).requires_grad


def test_only_leaves_keep_grad_unless_retained():
    w = Tensor([1.0, 2.0], requires_grad=True)
    h = w * 3
    h.retain_grad()
    u = w * 2
    (h * u).sum().backward()
    np.testing.assert_array_equal(h.grad, u.data)
    with pytest.warns(UserWarning, match="retain_grad"):
        assert u.grad is None
    np.testing.assert_array_equal(w.grad, 3 * u.data + 2 * h.data)


def test_grad_none_resets_like_zero_grad():
    w = Tensor([1.0], requires_grad=True)
    (w * 2).sum().backward()
    w.grad = None
    (w * 5).sum().backward()
    np.testing.assert_array_equal(w.grad, [5.0])


def test_backward_needs_gradient_for_non_scalar_output():
    w = Tensor([1.0, 2.0], requires_grad=True)
    y = w * w
    with pytest.raises(ag.GradError, match="single-number output"):
        y.backward()
    y.backward(np.array([1.0, 10.0]))
    np.testing.assert_array_equal(w.grad, [2.0, 40.0])


def test_backward_gradient_shape_is_checked():
    w = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ag.GradError, match="shape"):
        (w * w).backward(np.ones(3))


def test_no_grad_context_and_decorator():
    w = Tensor([1.0], requires_grad=True)
    with ag.no_grad():
        y = w * 2
        assert not ag.is_grad_enabled()
        with ag.enable_grad():
            assert (w * 2).requires_grad
    assert not y.requires_grad and y.is_leaf

    @ag.no_grad()
    def f(t):
        return t * 3

    assert not f(w).requires_grad
    assert ag.is_grad_enabled()


def test_a_grad_mode_cannot_be_changed():
    """no_grad() hands out one object for every call: changing it would switch every
    other no_grad() block of the process."""
    with pytest.raises(AttributeError, match="cannot be changed"):
        ag.no_grad().enabled = True
    w = Tensor([1.0], requires_grad=True)
    with ag.no_grad():
        assert not (w * 2).requires_grad


def test_detach_cuts_the_graph_and_shares_data():
    w = Tensor([1.0, 2.0], requires_grad=True)
    d = (w * 2).detach()
    assert not d.requires_grad and d.is_leaf
    z = (w * d).sum()
    z.backward()
    np.testing.assert_array_equal(w.grad, d.data)


def test_value_accessors_and_repr():
    t = Tensor([[1.0, 2.0]], requires_grad=True, name="w")
    assert t.shape == (1, 2) and t.dtype == np.float64 and t.ndim == 2 and t.size == 2
    assert isinstance(t.numpy(), np.ndarray) and np.shares_memory(t.numpy(), t.data)
    assert not t.numpy().flags.writeable and not (t * 2).data.flags.writeable
    assert Tensor(3.5).item() == 3.5 and isinstance(Tensor(3.5).item(), float)
    assert repr(t) == "Tensor([[1., 2.]], requires_grad=True, name='w')"
    assert repr(t * 2).endswith("op=mul)")
    assert repr(Scalar(2.0)) == "Scalar(2.0)"
    with pytest.raises(ValueError, match="one element"):
        t.item()


def test_python_numbers_and_arrays_on_either_side():
    x = Tensor([1.0, 2.0], requires_grad=True)
    arr = np.array([3.0, 4.0])
    for y in (
        2 + x,
        x + 2,
        2 - x,
        x - 2,
        2 * x,
        x * 2,
        2 / x,
        x / 2,
        2**x,
        x**2,
        arr * x,
        x * arr,
        arr - x,
        arr @ x,
        x @ arr,
        -x,
    ):
        assert isinstance(y, Tensor) and y.requires_grad
    s = Scalar(2.0)
    for y in (1 + s, s + 1, 1 - s, s - 1, 3 * s, s * 3, 1 / s, s / 2, 2**s, s**2, -s):
        assert isinstance(y, Scalar) and y.requires_grad


def test_tensor_constructor_conventions():
    assert Tensor([1, 2]).dtype == np.float64  # Python data: float64 by default
    assert Tensor(np.arange(3)).dtype == np.int64  # numpy data keeps its dtype
    a = np.ones(3)
    assert Tensor(a).data is not a  # Tensor() copies
    assert np.shares_memory(ag.as_tensor(a).data, a)  # as_tensor() shares
    assert Scalar(3).data == 3.0 and isinstance(Scalar(3).data, float)


def test_hooks_see_and_replace_gradients():
    w = Tensor([1.0, 2.0], requires_grad=True)
    h = w * 3
    seen = []
    h.register_hook(lambda g: seen.append(g.copy()))
    remove = w.register_hook(lambda g: g * 0.5)
    h.sum().backward()
    np.testing.assert_array_equal(seen[0], [1.0, 1.0])
    np.testing.assert_array_equal(w.grad, [1.5, 1.5])
    remove()
    w.grad = None
    (w * 3).sum().backward()
    np.testing.assert_array_equal(w.grad, [3.0, 3.0])


def test_hooks_record_only_in_a_recorded_pass():
    """A hook runs in the pass's grad mode, as in PyTorch: off in an ordinary backward
    (even when the caller records), on with create_graph (even inside no_grad)."""
    w = Tensor([1.0, 2.0], requires_grad=True)
    modes = []
    w.register_hook(lambda g: modes.append(ag.is_grad_enabled()))
    (w * 3).sum().backward()
    loss = (w * w).sum()
    with ag.no_grad():
        loss.backward(create_graph=True)
    assert modes == [False, True] and ag.is_grad_enabled()


def test_gradients_do_not_alias():
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0, 4.0], requires_grad=True)
    g = np.array([1.0, 1.0])
    (a + b).backward(g)
    a.grad[0] = 100.0
    assert b.grad[0] == 1.0 and g[0] == 1.0


def test_same_result_twice_with_retain_graph():
    rng = np.random.default_rng(0)
    w = Tensor(rng.standard_normal(5), requires_grad=True)
    loss = ag.binary_cross_entropy_with_logits(rng.standard_normal((8, 5)) @ w, (rng.random(8) > 0.5) * 1.0)
    loss.backward(retain_graph=True)
    first = w.grad.copy()
    w.grad = None
    loss.backward()
    np.testing.assert_array_equal(first, w.grad)
