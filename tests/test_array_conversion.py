"""Converting a graph value to a NumPy array, or copying it into a new Tensor: refused
while it requires grad (the array or the new leaf would leave the graph and drop the
gradient), allowed for constants; explicit ways out (.detach(), .numpy(), .data,
float(), .item()) stay open."""

import glassgrad as ag
import numpy as np
import pytest
from glassgrad import Scalar, Tensor, TraceError, trace


def _losses():
    """Three one-number losses of one parameter w: w·w, 2w, w³ at w = 3."""
    w = Tensor(3.0, requires_grad=True)
    return w, w * w, 2.0 * w, w**3


@pytest.mark.parametrize(
    "convert",
    [
        lambda a, b: np.sum([a, b]),
        lambda a, b: np.mean([a, b]),
        lambda a, b: np.array([a, b]),
        lambda a, b: np.tanh([a, 1.0]),
        lambda a, b: np.asarray(a),
        lambda a, b: np.array(b, dtype=np.float32),
        lambda a, b: np.asarray([[a], [b]], dtype=np.float64),
        lambda a, b: Tensor([a, b]),
        lambda a, b: np.add(np.zeros(2), [a, b]),
    ],
    ids=[
        "np.sum list",
        "np.mean list",
        "np.array list",
        "np.tanh list",
        "np.asarray",
        "np.array dtype",
        "nested",
        "Tensor(list)",
        "array + list",
    ],
)
def test_a_value_that_requires_grad_does_not_convert_to_an_array(convert):
    w, l1, l2, _ = _losses()
    for a, b in ((w, w), (l1, l2)):  # a leaf and values made by ops
        with pytest.raises(TypeError, match=r"would leave the graph and drop its gradient") as info:
            convert(a, b)
        message = str(info.value)
        assert "\n" not in message
        for way_out in (".detach()", ".numpy()", ".data", "glassgrad.stack"):
            assert way_out in message


def test_a_list_of_losses_no_longer_gives_a_wrong_gradient_silently():
    """np.mean([l1, l2]) was a float: d total/dw came out as 2w = 6, not 6 + (2 + 27)/2."""
    w, l0, l1, l2 = _losses()
    with pytest.raises(TypeError, match=r"glassgrad\.stack"):
        l0 + np.mean([l1, l2])
    # The way the message names keeps the gradient.
    total = l0 + ag.stack([l1, l2]).mean()
    total.backward()
    assert w.grad == pytest.approx(2 * 3.0 + (2.0 + 3 * 3.0**2) / 2)


def _constants():
    data = np.array([1.0, 2.0])
    w = Tensor(data, requires_grad=True)
    with ag.no_grad():
        made = w * 1.0
    return {"constant": Tensor(data), "made under no_grad()": made, "detached": (w * 1.0).detach()}


@pytest.mark.parametrize("kind", list(_constants()))
def test_values_that_do_not_require_grad_convert_as_before(kind):
    c = _constants()[kind]
    view = np.asarray(c)
    assert type(view) is np.ndarray and view.tolist() == [1.0, 2.0]
    assert np.shares_memory(view, c.numpy()) and not view.flags.writeable
    copy = np.array(c)
    assert copy.flags.writeable and not np.shares_memory(copy, c.numpy())
    assert np.asarray(c, dtype=np.float32).dtype == np.float32
    assert np.sum([c, c]) == 6.0 and np.array([c, c]).shape == (2, 2)
    assert np.tanh([c[0], 1.0]).tolist() == pytest.approx([np.tanh(1.0)] * 2)


def test_the_explicit_ways_out_stay_open():
    _, l1, l2, _ = _losses()
    v = Tensor([1.0, 2.0], requires_grad=True) * 2.0
    assert np.asarray(v.detach()).tolist() == [2.0, 4.0]
    assert v.numpy().tolist() == v.data.tolist() == v.tolist() == [2.0, 4.0]
    assert float(l1) == l1.item() == 9.0
    assert np.sum([l1.item(), l2.item()]) == 15.0
    assert np.shape(v) == (2,) and np.ndim(v) == 1 and np.size(v) == 2


def test_a_list_of_scalars_stays_in_the_graph():
    """A Scalar is no array: NumPy holds a list of Scalars as an object array and its
    reductions and elementwise methods call the Scalars' own operators."""
    a, b = Scalar(2.0), Scalar(3.0)
    objects = np.array([a, b])
    assert objects.dtype == object and objects[0] is a
    # Floats asked for by name come from float(a), as explicit as float(a) itself.
    assert np.array([a, b], dtype=float).tolist() == [2.0, 3.0]
    total = np.sum([a, b]) + np.mean([a, b]) + np.tanh([a, b]).sum()
    assert isinstance(total, Scalar)
    total.backward()
    assert a.grad == pytest.approx(1.5 + (1 - np.tanh(2.0) ** 2))
    assert b.grad == pytest.approx(1.5 + (1 - np.tanh(3.0) ** 2))


def test_while_tracing_the_trace_guard_still_refuses_first():
    """Inside a traced function a value computed from the inputs refuses np.asarray with
    TraceError, whether or not it requires grad; a constant still converts."""
    c = Tensor([1.0, 2.0, 3.0])

    def peek(x):
        np.asarray(x * 2.0)
        return (x * c).sum()

    for requires_grad in (False, True):
        with pytest.raises(TraceError, match=r"np\.asarray\(\) .* reads the values"):
            trace(peek, Tensor([1.0, -2.0, 3.0], requires_grad=requires_grad))
        with pytest.raises(TraceError, match=r"Tensor\(\) reads the values"):  # a copy would be a constant
            trace(lambda x: (x * Tensor(x)).sum(), Tensor([1.0, -2.0, 3.0], requires_grad=requires_grad))
    step = trace(lambda x: (x * np.asarray(c)).sum(), Tensor([1.0, 1.0, 1.0], requires_grad=True))
    value, (grad,) = step(Tensor([2.0, 0.0, 1.0]))
    assert value == 5.0 and grad.tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize(
    "construct",
    [
        lambda v: Tensor(v),
        lambda v: Tensor(v, requires_grad=True),
        lambda v: Tensor(v, dtype=np.float32),
        lambda v: ag.as_tensor(v),
        lambda v: ag.as_tensor(v, dtype=np.float32),
    ],
    ids=["Tensor", "Tensor requires_grad", "Tensor dtype", "as_tensor", "as_tensor dtype"],
)
def test_a_value_that_requires_grad_is_not_copied_into_a_new_leaf(construct):
    """Tensor(w) copied w's numbers into a new leaf cut from the graph: a loss built on the
    copy gave w no gradient, without a word."""
    w, l1, _, _ = _losses()
    for v in (w, l1, Scalar(3.0)):  # a leaf, a value made by an op, a Scalar (which requires grad)
        with pytest.raises(TypeError, match=r"requires grad, .* new leaf cut from the graph") as info:
            construct(v)
        message = str(info.value)
        assert "\n" not in message and "Tensor(value.detach())" in message
        if isinstance(v, Tensor):
            assert ".astype(dtype)" in message and ".detach() for a leaf over the same numbers" in message


def test_a_tensor_that_does_not_require_grad_converts_as_before():
    w, *_ = _losses()
    for kind, c in _constants().items():
        copy = Tensor(c)
        assert copy.tolist() == [1.0, 2.0] and not copy.requires_grad, kind
        assert not np.shares_memory(copy.numpy(), c.numpy())
        assert np.shares_memory(ag.as_tensor(c).numpy(), c.numpy())
        assert Tensor(c, dtype=np.float32).dtype == ag.as_tensor(c, dtype=np.float32).dtype == np.float32
        assert Tensor(c, requires_grad=True).requires_grad  # a constant may start a new parameter
    assert Tensor(Scalar(2.0, requires_grad=False)).item() == 2.0
    # The ways the message names: the value itself keeps the gradient, a copy on purpose is a new leaf.
    fresh = Tensor(w.detach(), requires_grad=True)
    (w * w + fresh).backward()
    assert (w.grad, fresh.grad) == (6.0, 1.0)
