"""A value and everything that aliases its memory share one version: a change through
any alias is an error at backward(), never a wrong gradient."""

import glassgrad as ag
import numpy as np
import pytest
from glassgrad import InPlaceError, Tensor, sigmoid


def _sigmoid_loss():
    z = Tensor([0.0, 1.0], requires_grad=True)
    s = sigmoid(z)
    return z, s, s.sum()


def test_the_issue_example_a_detached_alias_changed_in_place():
    z, s, loss = _sigmoid_loss()
    p = s.detach()
    p *= 100
    with pytest.raises(InPlaceError, match=r"the output of sigmoid, Tensor f64\[2\], was modified in place"):
        loss.backward()
    assert z.grad is None


@pytest.mark.parametrize(
    "change",
    [
        lambda w: w.detach().__imul__(2.0),
        lambda w: w.detach().__setitem__(0, 5.0),
        lambda w: w.detach().reshape(2, 1).__iadd__(1.0),  # a view made by an op
        lambda w: w.detach()[1:].__isub__(1.0),  # a view of part of the memory
        lambda w: w.detach().T.__itruediv__(3.0),
        lambda w: w.__setitem__(1, 0.0),  # the value itself
    ],
    ids=["detach *=", "detach []=", "reshape view +=", "slice -=", "transpose /=", "itself"],
)
def test_every_tensor_alias_of_a_saved_input_shares_its_version(change):
    w = Tensor([1.0, 2.0], requires_grad=True, name="w")
    loss = (w * w).sum()  # mul saves w
    with ag.no_grad():
        change(w)
    with pytest.raises(InPlaceError, match=r"an input of mul, Tensor 'w' f64\[2\], was modified in place"):
        loss.backward()


def test_in_place_through_as_tensor_of_the_same_array_is_seen():
    buffer = np.array([1.0, 2.0])
    w = ag.as_tensor(buffer, requires_grad=True, name="w")
    loss = (w * w).sum()
    other = ag.as_tensor(buffer)  # a second Tensor over the same memory
    other += 1.0
    with pytest.raises(InPlaceError, match=r"an input of mul, Tensor 'w' f64\[2\]"):
        loss.backward()


def test_replacing_data_of_a_saved_value_is_seen():
    _, s, loss = _sigmoid_loss()
    s.data = np.array([0.9, 0.9])
    with pytest.raises(InPlaceError, match="sigmoid"):
        loss.backward()


@pytest.mark.parametrize(
    "hand_out",
    [
        lambda s: s.data,
        lambda s: s.numpy(),
        lambda s: np.asarray(s.detach()),
        lambda s: np.asarray(s.detach(), dtype=np.float64),  # the data's own dtype: no copy either
        lambda s: np.array(s.detach(), dtype="f8", copy=None),
    ],
    ids=[
        ".data of an op's value",
        ".numpy()",
        "np.asarray of .detach()",
        "np.asarray with its dtype",
        "np.array copy=None",
    ],
)
def test_numpy_arrays_handed_out_are_read_only_views(hand_out):
    z, s, loss = _sigmoid_loss()
    arr = hand_out(s)
    assert np.shares_memory(arr, s.numpy())  # no copy: looking is free
    with pytest.raises(ValueError, match="read-only"):
        arr[0] = 100.0
    with pytest.raises(ValueError, match="read-only"):
        arr *= 100.0
    loss.backward()
    np.testing.assert_allclose(z.grad, [0.25, 0.19661193324148185])


def test_augmenting_the_data_of_a_leaf_is_recorded():
    w = Tensor([1.0, 2.0], requires_grad=True, name="w")
    loss = (w * w).sum()
    w.data -= 0.5  # the classic manual SGD step, made too early
    with pytest.raises(InPlaceError, match="'w'"):
        loss.backward()
    w.data -= 0.5  # after a fresh forward pass, fine
    (w * w).sum().backward()
    np.testing.assert_array_equal(w.grad, [0.0, 2.0])


def test_a_value_computed_from_data_alone_is_a_leaf_with_its_own_array():
    # No op is recorded without a value that requires grad: X * 2 is a leaf, and its
    # .data is its own array, as the rules of the engine say.
    z = Tensor([1.0, 2.0]) * 2
    assert z.is_leaf and z.op is None
    z.data[0] = 5.0
    assert z.tolist() == [5.0, 4.0]


def test_a_copy_is_free_to_change():
    z, s, loss = _sigmoid_loss()
    mine = np.array(s.detach())  # a copy (np.array copies by default)
    mine[0] = 100.0
    p = Tensor(s.detach())  # Tensor() copies too
    p *= 100
    loss.backward()
    np.testing.assert_allclose(z.grad, [0.25, 0.19661193324148185])


def test_a_change_before_the_op_is_fine_and_after_backward_too():
    w = Tensor([1.0, 2.0], requires_grad=True)
    with ag.no_grad():
        w.detach()[0] = 3.0
    loss = (w * w).sum()
    loss.backward()
    np.testing.assert_array_equal(w.grad, [6.0, 4.0])
    with ag.no_grad():
        w -= 0.1 * w.grad  # the optimizer's step, after backward
    (w * w).sum().backward()


@pytest.mark.parametrize(
    ("record", "kept", "change"),
    [
        (lambda x, m: ag.where(m, x, 0.0), [True, False, True], lambda m: m.__setitem__(0, False)),
        (lambda x, m: np.where(m, x, 0.0), [True, False, True], lambda m: m.__setitem__(0, False)),
        (lambda x, m: ag.where(m.numpy(), x, 0.0), [True, False, True], lambda m: m.__setitem__(0, False)),
        (lambda x, i: x[i], [0, 0], lambda i: i.__setitem__(0, 2)),
        (lambda x, i: x[i, None], [0, 0], lambda i: i.__iadd__(1)),
        (lambda x, m: x[m], [True, False, False], lambda m: m.__setitem__(2, True)),
    ],
    ids=["where's mask", "np.where's mask", "a .numpy() view as mask", "index", "index in a tuple", "boolean index"],
)
def test_a_mask_or_index_changed_through_a_tensor_after_use_is_seen(record, kept, change):
    # The op keeps the array itself, not a copy, and no input of the op holds it: its
    # memory's version is what tells backward that the gradient would use new values.
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    held = Tensor(np.array(kept))
    loss = record(x, held).sum()
    change(held)
    with pytest.raises(InPlaceError, match=r"an array .* kept .*was modified in place"):
        loss.backward()
    assert x.grad is None


def test_a_view_numpy_makes_through_another_object_shares_the_version():
    # sliding_window_view (as_strided) lends a's memory through an object of its own:
    # the window's base is that object, not a.
    a = np.arange(6.0)
    windows = ag.as_tensor(np.lib.stride_tricks.sliding_window_view(a, 3))
    x = Tensor(np.ones(3), requires_grad=True)
    loss = (windows[1] * x).sum()  # mul saves the window [1, 2, 3]
    ag.as_tensor(a)[1] = 10.0
    with pytest.raises(InPlaceError, match="an input of mul"):
        loss.backward()


@pytest.mark.parametrize(
    ("op", "derivative"),
    [
        (ag.exp, lambda y: y),  # d/dx eˣ = eˣ = y
        (sigmoid, lambda s: s * (1 - s)),  # dσ/dx = σ(1−σ)
        (ag.tanh, lambda y: 1 - y * y),  # d/dx tanh x = 1 − y²
        (ag.sqrt, lambda y: 1 / (2 * y)),  # d/dx √x = 1/(2y)
        (ag.softmax, None),
    ],
    ids=["exp", "sigmoid", "tanh", "sqrt", "softmax"],
)
def test_an_input_whose_op_reads_only_its_output_may_change_after_the_op(op, derivative):
    # These backwards read the output alone (as PyTorch's, which saves only the output):
    # a change of the input after the op, under no_grad, leaves the gradient of the
    # values the forward pass used, as in PyTorch.
    x = Tensor([0.25, 1.0, 2.0], requires_grad=True)
    y = op(x)
    weights = np.array([1.0, -2.0, 0.5])
    (y * weights).sum().backward(retain_graph=True)
    expected = x.grad.copy()
    x.grad = None
    with ag.no_grad():
        x.detach()[0] = 9.0
        x += 1.0
    (y * weights).sum().backward()
    np.testing.assert_allclose(x.grad, expected)
    if derivative is not None:
        np.testing.assert_allclose(expected, weights * derivative(y.data))
