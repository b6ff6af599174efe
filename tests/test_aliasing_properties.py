"""Property: whatever is changed through whichever alias, backward() either refuses with
InPlaceError or returns the gradient of the graph as it was recorded."""

import glassgrad as ag
import numpy as np
from glassgrad import InPlaceError, Tensor
from hypothesis import given
from hypothesis import strategies as st

UNARY = {
    "sigmoid": ag.sigmoid,
    "tanh": ag.tanh,
    "square": lambda v: v * v,
    "neg": lambda v: -v,
    "view": lambda v: v.reshape(2, 2).reshape(4),  # views of v's memory, recorded
    "scale": lambda v: v * 0.5,
}
BINARY = {"add": lambda a, b: a + b, "mul": lambda a, b: a * b, "sub": lambda a, b: a - b}


def _change(v, how, c):
    """One change of v's memory or data, through one route."""
    if how == "detach []=":
        with ag.no_grad():
            v.detach()[1] = c
    elif how == "view *=":
        with ag.no_grad():
            alias = v.detach().reshape(2, 2)
            alias *= c
    elif how == "slice +=":
        with ag.no_grad():
            alias = v.detach()[2:]
            alias += c
    elif how == "itself +=":
        with ag.no_grad():
            v += c
    elif how == ".data =":
        v.data = np.asarray(v.data) * c
    elif how == ".data -=" and v.is_leaf:
        v.data -= c
    elif how == "as_tensor +=" and v.is_leaf:
        alias = ag.as_tensor(v.data)
        alias += c
    elif how == "look":  # reading changes nothing
        float(np.asarray(v.detach()).sum() + v.numpy().sum())


ROUTES = ["detach []=", "view *=", "slice +=", "itself +=", ".data =", ".data -=", "as_tensor +=", "look"]


@st.composite
def programs(draw):
    n_leaves = draw(st.integers(1, 3))
    leaves = [draw(st.lists(st.floats(-2, 2), min_size=4, max_size=4)) for _ in range(n_leaves)]
    steps = []
    for k in range(draw(st.integers(1, 6))):
        n_values = n_leaves + k
        if draw(st.booleans()):
            steps.append((draw(st.sampled_from(sorted(UNARY))), draw(st.integers(0, n_values - 1)), None))
        else:
            i, j = draw(st.integers(0, n_values - 1)), draw(st.integers(0, n_values - 1))
            steps.append((draw(st.sampled_from(sorted(BINARY))), i, j))
    changes = draw(
        st.lists(
            st.tuples(st.integers(0, n_leaves + len(steps) - 1), st.sampled_from(ROUTES), st.floats(0.5, 2.0)),
            max_size=3,
        )
    )
    return leaves, steps, changes


@given(programs())
def test_backward_refuses_or_gives_the_gradient_of_the_recorded_graph(program):
    leaves_data, steps, changes = program
    leaves = [Tensor(d, requires_grad=True) for d in leaves_data]
    values = list(leaves)
    for op, i, j in steps:
        values.append(UNARY[op](values[i]) if j is None else BINARY[op](values[i], values[j]))
    loss = values[-1].sum()
    recorded = ag.grad(loss, leaves, retain_graph=True, allow_unused=True)

    for target, how, c in changes:
        _change(values[target], how, c)
    try:
        loss.backward()
    except InPlaceError:
        return
    for leaf, want in zip(leaves, recorded):
        if want is None:
            assert leaf.grad is None
        else:
            np.testing.assert_allclose(leaf.grad, want, rtol=1e-12, atol=1e-12)
