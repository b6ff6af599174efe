"""The compiled step keeps eager glassgrad's semantics beyond the numbers of one call:
whose ``.grad`` it fills, hooks, a parameter frozen or unfrozen after the trace,
``no_grad()`` inside the traced function, names, copies."""

import copy
import cProfile
import pickle
import random
import sys
import threading

import numpy as np
import pytest
from glassgrad import AnomalyError, GradError, Scalar, Tensor, detect_anomaly, no_grad, trace
from glassgrad.optim import SGD
from glassgrad.tracing import TraceError

X = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]])


def linear_loss():
    w = Tensor([1.0, 2.0], requires_grad=True, name="w")
    b = Tensor(0.5, requires_grad=True, name="b")
    return (lambda x: ((x @ w + b) ** 2).sum()), w, b


def eager_grads(fn, x, leaves):
    for p in leaves:
        p.grad = None
    fn(x).backward()
    grads = [None if p.grad is None else p.grad.copy() for p in leaves]
    for p in leaves:
        p.grad = None
    return grads


def test_backward_fills_the_grad_of_the_inputs_it_is_called_with():
    """As loss.backward() does: the user's x gets x.grad, not a leaf of the trace."""
    x = Tensor([1.0, 2.0], requires_grad=True)
    step = trace(lambda x: (x * x).sum(), x)
    step.backward(x)
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])
    other = Tensor([3.0, 4.0], requires_grad=True)
    step.backward(other)
    step.backward(other)  # accumulates until zeroed
    np.testing.assert_array_equal(other.grad, [12.0, 16.0])
    step.backward(Tensor([5.0, 6.0]))  # an input that does not require grad gets none
    with pytest.raises(GradError, match="input 0 requires grad"):
        trace(lambda x: (x * x).sum(), Tensor([1.0, 2.0])).backward(other)


@pytest.mark.parametrize("change", ["freeze", "unfreeze"])
def test_a_parameter_frozen_or_unfrozen_after_the_trace_is_traced_again(change):
    loss_fn, w, b = linear_loss()
    if change == "unfreeze":
        b.requires_grad = False
    step = trace(loss_fn, Tensor(X))
    b.requires_grad = change == "unfreeze"
    expected = eager_grads(loss_fn, Tensor(X), [w, b])
    for x in (Tensor(X), X):  # the usual call and the general one
        step.backward(x)
        assert [None if p.grad is None else p.grad.tolist() for p in (w, b)] == [
            None if g is None else g.tolist() for g in expected
        ]
        w.grad = b.grad = None
    assert (id(b) in map(id, step.wrt)) == (change == "unfreeze")


def test_hooks_on_parameters_change_the_gradients_as_in_eager():
    loss_fn, w, b = linear_loss()
    step = trace(loss_fn, Tensor(X))
    remove = w.register_hook(lambda g: g * 0.5)  # after the trace: read at every call
    b.register_hook(lambda g: np.zeros_like(g))
    expected = eager_grads(loss_fn, Tensor(X), [w, b])
    for x in (Tensor(X), X):
        _, grads = step(x)
        got = dict(zip(map(id, step.wrt), grads))
        np.testing.assert_array_equal(got[id(w)], expected[0])
        np.testing.assert_array_equal(got[id(b)], expected[1])
    remove()
    _, grads = step(Tensor(X))
    np.testing.assert_array_equal(dict(zip(map(id, step.wrt), grads))[id(w)], eager_grads(loss_fn, X, [w])[0])


def test_hooks_on_inputs_change_their_gradients_as_in_eager():
    x = Tensor(X, requires_grad=True)
    x.register_hook(lambda g: -g)
    step = trace(lambda x: (x * x).sum(), Tensor(X, requires_grad=True))
    step.backward(x)
    np.testing.assert_array_equal(x.grad, -2.0 * X)


@pytest.mark.parametrize("keep", ["register_hook", "retain_grad"])
def test_a_hook_or_retain_grad_inside_the_traced_function_is_refused(keep):
    """The replay computes no intermediate value's gradient as a value a hook could see."""

    def f(x):
        h = x * 2.0
        if keep == "register_hook":
            h.register_hook(lambda g: g * 10.0)
        else:
            h.retain_grad()
        return (h * h).sum()

    with pytest.raises(TraceError, match=keep):
        trace(f, Tensor([1.0, 2.0], requires_grad=True))


def test_a_hook_registered_inside_the_traced_function_is_refused():
    """The trace ran f twice, leaving two hooks on w: the step doubled the gradient twice
    (4) where the first eager call doubles it once (2), and each eager call adds one more."""
    w = Tensor([1.0, 2.0], requires_grad=True)

    def f(x):
        w.register_hook(lambda g: g * 2.0)
        return (x * w).sum()

    with pytest.raises(TraceError, match="register_hook"):
        trace(f, Tensor([1.0, 1.0]))
    assert not (w._meta and w._meta.get("hooks"))


def test_no_grad_inside_the_traced_function_on_a_parameter_is_refused():
    """s = w·3 under no_grad() was computed once, at trace time: after an update of w
    the compiled step returned 9 where eager glassgrad gives 90."""
    w = Tensor([1.0, 2.0], requires_grad=True)

    def f(x):
        with no_grad():
            s = w * 3.0
        return (x * s).sum()

    with pytest.raises(TraceError, match=r"no_grad\(\)"):
        trace(f, Tensor([1.0, 1.0], requires_grad=True))
    c = Tensor([1.0, 2.0])  # constants may still be computed under no_grad()

    def g(x):
        with no_grad():
            s = c * 3.0
        return (x * s).sum()

    assert trace(g, Tensor([1.0, 1.0], requires_grad=True))(Tensor([1.0, 1.0]))[0] == 9.0


def test_an_in_place_update_of_a_parameter_inside_the_traced_function_is_refused():
    """Eager glassgrad makes the update at every call; the replay would make none."""
    w = Tensor([1.0, 2.0], requires_grad=True)
    opt = SGD([w], lr=0.1)

    def f(x):
        nonlocal w
        loss = (x * w).sum()
        with no_grad():
            w -= 0.5
        return loss

    with pytest.raises(TraceError, match=r"-= on .* changes a parameter"):
        trace(f, Tensor([1.0, 1.0]))
    for value in (w, Scalar(1.0, requires_grad=True)):  # w.data = w0 reset w once, at trace time

        def reset(x, value=value):
            value.data = value._data
            return (x * value).sum() if isinstance(x, Tensor) else x * value

        with pytest.raises(TraceError, match=r"assigning \.data on .* changes a parameter"):
            trace(reset, Tensor([1.0, 1.0]) if value is w else Scalar(1.0))
    w.grad = np.ones(2)

    def g(x):
        opt.step()
        return (x * w).sum()

    with pytest.raises(TraceError, match="outside the graph"):  # the step reads w.data first
        trace(g, Tensor([1.0, 1.0]))


def test_names_python_reads_as_one_are_given_one_value():
    """Python reads identifiers in NFKC form: a value named "ｘ" (full width) is x."""

    class Model:
        pass

    model = Model()
    model.params = [Tensor([1.0, 2.0], requires_grad=True, name="ｘ"), Tensor([3.0, 4.0], requires_grad=True)]

    def f(x):
        return (model.params[0] * x * model.params[1]).sum()

    step = trace(f, Tensor([1.0, 1.0], requires_grad=True))
    assert "ｘ" not in step.source
    _, grads = step(Tensor([5.0, 6.0]))
    got = dict(zip(map(id, step.wrt), grads))
    np.testing.assert_array_equal(grads[0], [3.0, 8.0])
    np.testing.assert_array_equal(got[id(model.params[0])], [15.0, 24.0])
    np.testing.assert_array_equal(got[id(model.params[1])], [5.0, 12.0])


def test_a_deep_copy_reads_the_copied_parameters_on_every_path():
    """The copy of a step traced on a model's method follows the copied model, on the
    usual call and on the general one alike."""

    class Unit:
        def __init__(self):
            self.w = Tensor([1.0, 2.0], requires_grad=True)

        def loss(self, x):
            return (x * self.w).sum()

        def step(self):
            return trace(self.loss, Tensor([1.0, 1.0]))

    unit = Unit()
    twin, twin_step = copy.deepcopy((unit, unit.step()))
    unit.w.data = np.array([7.0, 7.0])
    twin.w.data = np.array([2.0, 3.0])
    assert twin_step(Tensor([1.0, 1.0]))[0] == 5.0
    assert twin_step(np.array([1.0, 1.0]))[0] == 5.0


def test_pickling_a_compiled_step_is_refused_in_one_line():
    with pytest.raises(TypeError, match="trace the function again"):
        pickle.dumps(trace(abs_sum, Tensor([1.0, -2.0], requires_grad=True)))


def abs_sum(x):
    return abs(x).sum()


def test_anomaly_mode_names_the_op_as_in_eager():
    """exp(1000) = inf from finite inputs: eager glassgrad's anomaly mode names exp; the
    compiled step returned inf without a word."""
    w = Tensor([1.0, 1.0], requires_grad=True)
    step = trace(lambda x: (x.exp() * w).sum(), Tensor([1.0, 2.0], requires_grad=True))
    big = np.array([1000.0, 2.0])
    with detect_anomaly(), np.errstate(over="ignore"):
        for call in (step, step.backward):
            for x in (Tensor(big), big):
                with pytest.raises(AnomalyError, match="exp produced NaN or inf in the forward pass"):
                    call(x)
        value, _ = step(Tensor([1.0, 2.0]))  # finite: the compiled step's own numbers
    assert value == np.exp(1.0) + np.exp(2.0)
    assert w.grad is None


def test_an_integer_input_is_refused_naming_the_input():
    step = trace(lambda x, y: (x * y).sum(), Tensor([1.0, 2.0], requires_grad=True), Tensor([1.0, 1.0]))
    with pytest.raises(TypeError, match=r"trace: input 1 has dtype int64; .* pass float data"):
        step(Tensor([1.0, 2.0]), np.array([1, 2], dtype=np.int64))


def test_a_value_an_op_made_before_the_trace_is_refused():
    """h = w·2 made outside f: eager glassgrad reuses it (and refuses backward once w has
    changed); the compiled step computed it again from the new w and returned 60
    where eager's forward gives 6."""
    w = Tensor([1.0, 2.0], requires_grad=True)
    h = w * 2.0
    with pytest.raises(TraceError, match=r"made by mul before the trace began"):
        trace(lambda x: (x * h).sum(), Tensor([1.0, 1.0]))


def test_backward_from_an_input_an_op_made_continues_through_its_graph():
    """x = 3v made eagerly: loss.backward() reaches v; the compiled step's backward()
    left v.grad None and put a .grad on x instead."""
    step = trace(lambda x: (x * x).sum(), Tensor([1.0, 1.0], requires_grad=True))
    v = Tensor([1.0, 2.0], requires_grad=True)
    step.backward(v * 3.0)
    np.testing.assert_array_equal(v.grad, [18.0, 36.0])
    twice = Tensor([1.0, 2.0], requires_grad=True)
    twice.register_hook(lambda g: g * g)
    trace(
        lambda a, b: (a * b).sum(), Tensor([1.0, 1.0], requires_grad=True), Tensor([1.0, 1.0], requires_grad=True)
    ).backward(twice, twice)
    np.testing.assert_array_equal(twice.grad, [4.0, 16.0])  # eager: the hook sees the sum 2·twice, once


def test_backward_from_several_threads_loses_no_gradient():
    """Eager backward passes add into .grad one at a time; the compiled step's stores
    raced: 4 threads of 3,000 steps each added 10,020 where 12,000 were due."""
    w = Tensor(np.zeros(3), requires_grad=True)
    step = trace(lambda x: (x * w).sum(), Tensor(np.ones(3)))
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as Python can
    try:
        threads = [threading.Thread(target=lambda: [step.backward(np.ones(3)) for _ in range(1500)]) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    np.testing.assert_array_equal(w.grad, [6000.0] * 3)


def test_tracing_under_cprofile_gives_the_profiler_back():
    """The trace watches the frames the function runs with a profile function of its
    own; putting cProfile's back through sys.setprofile raised TypeError ('Profile'
    object is not callable) as the trace ended."""
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        step = trace(lambda x: (x * x).sum(), Tensor([1.0, 2.0], requires_grad=True))
        assert sys.getprofile() is profiler
    finally:
        profiler.disable()
    assert step(Tensor([1.0, 2.0]))[0] == 5.0


@pytest.mark.parametrize("source", ["python", "numpy", "generator"])
def test_a_traced_function_that_draws_random_numbers_is_refused(source):
    """A branch on a random number: after random.seed(4) both runs of the trace kept the
    output, so every call of the step returned 6, where eager glassgrad drops it half
    the time."""
    w = Tensor([1.0, 2.0], requires_grad=True)
    rng = np.random.default_rng(0)
    draw = {"python": random.random, "numpy": np.random.random, "generator": rng.random}[source]

    def f(x):
        keep = draw() < 0.5
        return (x * w * (2.0 if keep else 0.0)).sum()

    with pytest.raises(TraceError, match="draws random numbers"):
        trace(f, Tensor([1.0, 1.0]))
