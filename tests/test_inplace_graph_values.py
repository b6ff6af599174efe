"""Writing a graph value into a Tensor in place (``t[i] = x``, ``t += x``) records no
op, so while gradients are recorded it is refused when x requires grad: the gradient
through the write would be lost without a word. A write that fails changes nothing,
so it leaves the version alone and backward() still runs."""

import re

import glassgrad as ag
import numpy as np
import pytest
from glassgrad import InPlaceError, Tensor

WRITES = {
    "item assignment": lambda buf, x: buf.__setitem__(slice(0, 2), x),
    "+=": lambda buf, x: buf.__iadd__(x),
    "-=": lambda buf, x: buf.__isub__(x),
    "*=": lambda buf, x: buf.__imul__(x),
    "/=": lambda buf, x: buf.__itruediv__(x),
}


@pytest.mark.parametrize("what", list(WRITES))
def test_writing_a_value_that_requires_grad_is_refused_while_recording(what):
    x = Tensor([1.5, 2.5], requires_grad=True, name="x")
    buf = Tensor(np.ones(2))
    with pytest.raises(
        InPlaceError, match=rf"{re.escape(what)} of Tensor 'x' f64\[2\], which requires grad.*detach\(\)"
    ):
        WRITES[what](buf, x)
    np.testing.assert_array_equal(buf.data, [1.0, 1.0])  # nothing written


@pytest.mark.parametrize("what", list(WRITES))
def test_writing_a_graph_value_under_no_grad_or_detached_takes_its_numbers(what):
    x = Tensor([1.5, 2.5], requires_grad=True)
    a, b = Tensor(np.ones(2)), Tensor(np.ones(2))
    with ag.no_grad():
        WRITES[what](a, x)
    WRITES[what](b, x.detach())
    np.testing.assert_array_equal(a.data, b.data)


def test_a_failed_write_leaves_the_version_and_the_graph_usable():
    x = Tensor([1.0, 2.0], requires_grad=True)
    c = Tensor([3.0, 4.0])
    loss = (x * c).sum()  # mul saves c
    with pytest.raises(ValueError, match="broadcast"):
        c += np.ones(5)  # does not broadcast: nothing changes
    with pytest.raises(ValueError, match="could not convert"):
        c[0] = "a string"
    loss.backward()
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])
