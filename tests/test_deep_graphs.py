"""Pickling, copying and repr follow graphs of any depth without recursion."""

import copy
import gc
import pickle
import time

import glassgrad as ag
import numpy as np
import pytest
from glassgrad import Scalar, Tensor


@pytest.fixture(autouse=True)
def no_cyclic_gc():
    """A million live nodes make every full collection walk them all, and the graph
    has no cycles to find: the collector would only slow the test down."""
    gc.disable()
    yield
    gc.enable()


def _chain(depth):
    x = Scalar(0.5, name="x")
    y = x
    for _ in range(depth):
        y = -y
    return x, y


def test_a_million_deep_pickle_round_trip_keeps_the_graph():
    x, y = _chain(1_000_000)
    start = time.perf_counter()
    x2, y2 = pickle.loads(pickle.dumps((x, y)))
    assert time.perf_counter() - start < 30  # a few seconds; generous for loaded machines
    assert x2 is not x and x2.name == "x"
    assert y2.data == y.data and y2.op == "neg" and y2.parents[0].op == "neg"


def test_deepcopy_pickle_and_copy_of_a_deep_graph_keep_its_gradient():
    x, y = _chain(100_000)
    for x2, y2 in [copy.deepcopy((x, y)), pickle.loads(pickle.dumps((x, y)))]:
        y2.backward()
        assert x2.grad == 1.0  # an even number of negations; the leaf is shared
    assert x.grad is None
    shallow = copy.copy(y)
    assert shallow is not y and shallow.parents == y.parents
    shallow.backward()
    assert x.grad == 1.0


def test_repr_of_a_deep_graph():
    _, y = _chain(100_000)
    assert repr(y) == "Scalar(0.5, op=neg)"


def test_tensor_graph_with_saved_constants_round_trips():
    w = Tensor([0.5, -1.0, 2.0], requires_grad=True, name="w")
    loss = (ag.sigmoid(w * 3.0) ** 2.0).sum()
    w2, loss2 = pickle.loads(pickle.dumps((w, loss)))
    loss.backward()
    loss2.backward(retain_graph=True)
    np.testing.assert_array_equal(w2.grad, w.grad)
    # values made after loading are newer than the loaded ones: backward sees both
    w2.grad = None
    (loss2 * 2.0).backward()
    np.testing.assert_array_equal(w2.grad, 2 * w.grad)


@pytest.mark.parametrize("copier", [lambda x: pickle.loads(pickle.dumps(x)), copy.deepcopy], ids=["pickle", "deepcopy"])
def test_a_graph_changed_in_place_after_use_still_refuses_backward_once_loaded(copier):
    # c = Σ a·a saved a = (1, 1, 1); a[0] = 5 afterwards. The loaded graph forgot the
    # change, and backward gave ∂c/∂a = 2·(5, 1, 1) where the forward pass used 2·(1, 1, 1).
    a = Tensor(np.ones(3), requires_grad=True)
    c = (a * a).sum()
    with ag.no_grad():
        a[0] = 5.0
    d = (a * 3.0).sum()  # made after the change: its graph is sound
    a2, c2, d2 = copier((a, c, d))
    with pytest.raises(ag.InPlaceError, match=r"an input of mul, Tensor f64\[3\], was modified in place"):
        c2.backward()
    d2.backward()
    np.testing.assert_array_equal(a2.grad, [3.0, 3.0, 3.0])


def test_a_loaded_value_has_no_in_place_history():
    w = Tensor([1.0, 2.0], requires_grad=True)
    with ag.no_grad():
        w += 1.0
    loaded = pickle.loads(pickle.dumps(w))
    y = (loaded * loaded).sum()
    with ag.no_grad():
        Tensor([0.0]).__iadd__(1.0)  # some unrelated in-place change after y was made
    y.backward()
    np.testing.assert_array_equal(loaded.grad, [4.0, 6.0])
