"""Engine state is per thread, and threads sharing a parameter get every gradient.

The switch interval is shortened to a microsecond so that threads interleave between
almost any two bytecodes: a race in the engine shows up within a few hundred steps.
"""

import sys
import threading

import glassgrad as ag
import numpy as np
import pytest
from glassgrad import Tensor, grad

STEPS = 2000


@pytest.fixture
def fast_switching():
    saved = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(saved)


def _run_threads(*targets):
    errors = []

    def guarded(target):
        try:
            target()
        except BaseException as exc:  # reported in the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def _data(seed, steps=STEPS):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(steps, 3)), rng.normal(size=steps)


def _train(xs, ys, w):
    """SGD on (x·w − y)², returning every step's gradient."""
    grads = []
    for x, y in zip(xs, ys):
        loss = ((Tensor(x) * w).sum() - y) ** 2
        loss.backward()
        grads.append(w.grad.copy())
        with ag.no_grad():
            w -= 0.01 * w.grad
        w.zero_grad()
    return grads


def test_training_next_to_no_grad_inference_gets_every_gradient(fast_switching):
    xs, ys = _data(0)
    expected = _train(xs, ys, Tensor([0.1, 0.2, 0.3], requires_grad=True))

    got = []
    stop = threading.Event()

    def train():
        try:
            got.extend(_train(xs, ys, Tensor([0.1, 0.2, 0.3], requires_grad=True)))
        finally:
            stop.set()

    def predict():
        w = Tensor([1.0, 2.0, 3.0], requires_grad=True)
        while not stop.is_set():
            with ag.no_grad():
                assert not (w * 2.0).requires_grad

    _run_threads(train, predict)
    assert len(got) == STEPS
    np.testing.assert_array_equal(np.array(got), np.array(expected))
    assert ag.is_grad_enabled()


def test_two_threads_taking_grad_of_one_shared_parameter(fast_switching):
    w = Tensor([0.5, -1.0, 2.0], requires_grad=True)
    results = {}

    def worker(seed):
        xs, _ = _data(seed, steps=STEPS // 2)
        results[seed] = [grad((Tensor(x) * w * w).sum(), w)[0] for x in xs]

    _run_threads(lambda: worker(1), lambda: worker(2))
    for seed, grads in results.items():
        xs, _ = _data(seed, steps=STEPS // 2)
        np.testing.assert_array_equal(np.array(grads), 2 * xs * w.data)
    assert w.grad is None


def test_backward_into_one_shared_parameter_sums_every_thread(fast_switching):
    w = Tensor([1.0, 2.0], requires_grad=True)
    n = STEPS // 2

    def worker(c):
        for _ in range(n):
            (w * Tensor(c)).sum().backward()

    _run_threads(lambda: worker([1.0, 10.0]), lambda: worker([100.0, 1000.0]))
    np.testing.assert_array_equal(w.grad, [n * 101.0, n * 1010.0])


def test_a_mode_switched_in_one_thread_is_not_seen_in_another():
    entered, release = threading.Event(), threading.Event()
    seen = {}

    def hold(mode):
        with mode:
            seen["inside"] = (ag.is_grad_enabled(), (Tensor([1.0], requires_grad=True) * 2.0).scope)
            entered.set()
            release.wait(10)

    for mode, expect in [(ag.no_grad(), False), (ag.scope("layer"), True)]:
        entered.clear()
        release.clear()
        t = threading.Thread(target=hold, args=(mode,))
        t.start()
        entered.wait(10)
        try:
            w = Tensor([1.0], requires_grad=True, name="w")
            y = w * 2.0
            assert ag.is_grad_enabled() and y.requires_grad and y.scope == () and w.scope == ()
        finally:
            release.set()
            t.join()
        assert seen["inside"][0] is expect
    assert seen["inside"][1] == ("layer",)


def test_modes_are_restored_on_exceptions_in_every_thread():
    def fail_inside():
        with ag.no_grad(), ag.detect_anomaly(), ag.scope("s"):
            raise KeyError("boom")

    def thread_body():
        with pytest.raises(KeyError):
            fail_inside()
        assert ag.is_grad_enabled()

    _run_threads(thread_body, thread_body)
    with pytest.raises(KeyError):
        fail_inside()
    assert ag.is_grad_enabled()
    w = Tensor([1.0], requires_grad=True)
    y = w * 2.0
    assert y.scope == () and y.site is None


def test_backward_does_not_switch_grad_mode_off_in_other_threads():
    w = Tensor([1.0], requires_grad=True)
    inside = threading.Event()
    release = threading.Event()
    seen = []

    def hook(g):
        inside.set()
        release.wait(10)
        return g

    def run_backward():
        y = w * 3.0
        y.register_hook(hook)
        y.sum().backward()

    t = threading.Thread(target=run_backward)
    t.start()
    inside.wait(10)
    try:
        seen.append(ag.is_grad_enabled())
        seen.append((w * 2.0).requires_grad)
    finally:
        release.set()
        t.join()
    assert seen == [True, True]
    np.testing.assert_array_equal(w.grad, [3.0])


def test_backward_leaves_the_collector_alone_while_other_threads_run():
    """The collector switch is process-wide: a graph-building backward pauses it only
    when it is the only thread, so another thread's collections (or its own gc.disable)
    are kept; an ordinary backward, which allocates nothing to collect, leaves it on."""
    import gc

    seen = []
    x = Tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: seen.append(gc.isenabled()))
    alone = threading.active_count() == 1  # other tests may have left threads running
    (x * x).sum().backward(create_graph=True)  # paused during the pass when alone
    (x * x).sum().backward()  # an ordinary pass: left on
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        (x * x).sum().backward(create_graph=True)  # another thread runs: left on
    finally:
        stop.set()
        other.join()
    assert seen == [not alone, True, True] and gc.isenabled()
