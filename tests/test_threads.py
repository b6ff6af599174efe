"""Engine state is per thread, and threads sharing a parameter get every gradient.

The switch interval is shortened to a microsecond so that threads interleave between
almost any two bytecodes: a race in the engine shows up within a few hundred steps.
"""

import dis
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


def test_one_no_grad_object_entered_by_two_threads_restores_each_threads_mode():
    """A no_grad() kept in a global and entered by two threads, which leave it in the
    other order: each thread gets back the mode it had (not the other thread's)."""
    quiet = ag.no_grad()
    inside, leave = threading.Event(), threading.Event()
    seen = {}

    def first():
        with quiet:
            inside.set()
            leave.wait(10)
        seen["first thread, after its block"] = ag.is_grad_enabled()

    t = threading.Thread(target=first)
    t.start()
    inside.wait(10)
    try:
        with ag.no_grad():
            with quiet:
                leave.set()
                t.join()
            seen["main thread, in its outer no_grad()"] = ag.is_grad_enabled()
    finally:
        leave.set()
        t.join()
    assert seen == {"first thread, after its block": True, "main thread, in its outer no_grad()": False}
    assert ag.is_grad_enabled() and not ag.state.switched


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


class _Stall:
    """The graph's clock, where the first reading taken in ``thread`` waits for ``go``
    after it is drawn: an in-place change caught between taking its clock reading and
    storing it. (The engine records in-place changes with ``next(graph._clock)``.)"""

    def __init__(self, clock, thread_name):
        self.clock, self.thread_name = clock, thread_name
        self.drawn, self.go = threading.Event(), threading.Event()

    def __iter__(self):
        return self

    def __next__(self):
        reading = next(self.clock)
        if threading.current_thread().name == self.thread_name and not self.drawn.is_set():
            self.drawn.set()
            self.go.wait(10)
        return reading


@pytest.mark.parametrize("stalled", ["another tensor", "the same tensor"])
def test_an_inplace_change_stored_late_does_not_hide_a_newer_one(monkeypatch, stalled):
    """Thread A changes a tensor and is held between taking its clock reading and
    storing it; meanwhile a graph saves w and thread B changes w. Storing A's older
    reading last must not make backward miss B's change (a wrong gradient, silently)."""
    from glassgrad import InPlaceError, graph

    w = Tensor([1.0, 2.0], requires_grad=True)
    other = Tensor([0.0, 0.0], requires_grad=True)
    target = w if stalled == "the same tensor" else other
    clock = _Stall(graph._clock, "stalled")
    monkeypatch.setattr(graph, "_clock", clock)

    def change(t):
        with ag.no_grad():
            t += 1.0

    a = threading.Thread(target=change, args=(target,), name="stalled")
    b_done = threading.Event()
    b = threading.Thread(target=lambda: (change(w), b_done.set()))
    a.start()
    try:
        assert clock.drawn.wait(10)
        y = (w * w).sum()  # saves w after A's reading was taken
        b.start()
        b_done.wait(0.3)  # B changes w at once, unless it waits for A to finish
    finally:
        clock.go.set()
        a.join()
    b.join()
    with pytest.raises(InPlaceError):
        y.backward()
    assert w.grad is None


def test_ops_called_first_in_two_threads_at_once_each_show_their_own_code(monkeypatch):
    """The first call of an op writes its code, naming the source text it compiles; two
    ops written at once (one thread held inside the compiler) get names of their own,
    so Function.source() and tracebacks show each op's lines. (Numbers no other op
    uses: a text compiled before is not compiled again.)"""
    from glassgrad import Function, recorders

    class Seven(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 7.25e-7

        @staticmethod
        def backward(ctx, g, out, x):
            return (g * 7.25e-7,)

    class Eleven(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 11.75e-7

        @staticmethod
        def backward(ctx, g, out, x):
            return (g * 11.75e-7,)

    inside, go = threading.Event(), threading.Event()

    def held_compile(*args, **kwargs):
        if threading.current_thread().name == "held" and not inside.is_set():
            inside.set()
            go.wait(10)
        return compile(*args, **kwargs)

    monkeypatch.setattr(recorders, "compile", held_compile, raising=False)
    held = threading.Thread(target=lambda: Seven.apply(Tensor([1.0])), name="held")
    held.start()
    try:
        assert inside.wait(10)
        Eleven.apply(Tensor([1.0]))
    finally:
        go.set()
        held.join()
    monkeypatch.undo()
    assert "7.25e-07" in Seven.source() and "1.175e-06" not in Seven.source()
    assert "1.175e-06" in Eleven.source() and "7.25e-07" not in Eleven.source()


class _Pause:
    """What HeldSquare's backward calls before it reads its input: nothing, until a test
    sets ``then`` (a wait for another thread)."""

    then = None

    @classmethod
    def __call__(cls):
        if cls.then is not None:
            cls.then()


class HeldSquare(ag.Function):
    """y = x²; dy/dx = 2x, read after a pause (a slow backward, another thread meanwhile)."""

    @staticmethod
    def forward(ctx, x):
        return x * x

    @staticmethod
    def backward(ctx, g, out, x):
        _Pause()()
        return (g * 2.0 * x,)


def test_an_inplace_update_waits_for_a_running_backward_that_reads_the_value(monkeypatch):
    """Another thread updates w in place while a backward pass is about to read w: the
    update waits for the pass, which gets the gradient at the w its forward read;
    without waiting, the pass read the new w: a wrong gradient, silently."""
    w = Tensor([1.0, 2.0], requires_grad=True)
    paused, updated = threading.Event(), threading.Event()

    def update():
        paused.wait(10)
        with ag.no_grad():
            w.__iadd__(10.0)
        updated.set()

    loss = HeldSquare.apply(w).sum()
    monkeypatch.setattr(_Pause, "then", lambda: (paused.set(), updated.wait(0.3)))
    t = threading.Thread(target=update)
    t.start()
    try:
        loss.backward()
    finally:
        paused.set()
        t.join()
    np.testing.assert_array_equal(w.grad, [2.0, 4.0])
    np.testing.assert_array_equal(w.data, [11.0, 12.0])


def test_an_inplace_update_waits_for_a_running_compiled_step(fast_switching):
    """A compiled step reads w in its forward and again in its backward, with no graph
    to check in between: while another thread flips w between 1 and 2 in place, every
    step's value and gradient must be those of one w (Σw² is n or 4n, its gradient 2w).
    NumPy lets other threads run during an operation on arrays this large, so before
    updates waited for the step, most steps read a half-updated w."""
    n = 200_000
    w = Tensor(np.ones(n), requires_grad=True)
    step = ag.trace(lambda x: (x * w * w).sum(), Tensor(np.ones(n)))
    x, stop = Tensor(np.ones(n)), threading.Event()

    def flip():
        with ag.no_grad():
            while not stop.is_set():
                w.__iadd__(1.0)
                w.__isub__(1.0)

    t = threading.Thread(target=flip)
    t.start()
    seen = []
    try:
        for _ in range(30):
            value, (g,) = step(x)
            seen.append((float(value), g.min(), g.max()))
    finally:
        stop.set()
        t.join()
    assert all(v in (n, 4.0 * n) and lo == hi == 2.0 * (v / n) ** 0.5 for v, lo, hi in seen), seen


def _stall_before(code, store, name, arrived, go):
    """A tracer (``sys.settrace``) that holds the thread once, where it is about to store
    ``name`` (``store``: STORE_GLOBAL, STORE_ATTR; STORE_SUBSCR with name None) in ``code``
    (None: in any code), until
    ``go``: a switch between reading a value and storing what was computed from it."""
    stores = {}

    def local(frame, event, arg):
        if event == "opcode" and frame.f_lasti in stores[frame.f_code] and not arrived.is_set():
            arrived.set()
            go.wait(10)
        return local

    def tracer(frame, event, arg):
        if code is not None and frame.f_code is not code:
            return None
        if frame.f_code not in stores:
            found = dis.get_instructions(frame.f_code)
            stores[frame.f_code] = {i.offset for i in found if i.opname == store and i.argval == name}
        if not stores[frame.f_code]:
            return None
        frame.f_trace_opcodes = True
        return local

    return tracer


def test_a_module_attribute_set_while_another_thread_assigns_one_reaches_the_compiled_step():
    """A compiled step compares a module's attributes with those it traced when the
    count of assignments moved. One thread held while storing its count, another
    assigning meanwhile, then the first storing: a later assignment must still move
    the count (it did not when the held thread stored an older count back)."""
    from glassgrad import nn

    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = 2.0

        def forward(self, x):
            return (x * self.scale).sum()

    model = Scaled()
    step = ag.trace(model, Tensor([1.0, 1.0], requires_grad=True))
    arrived, go = threading.Event(), threading.Event()
    tracer = _stall_before(nn.Module.__setattr__.__code__, "STORE_GLOBAL", "_assignments", arrived, go)

    def assign():
        sys.settrace(tracer)
        try:
            model.other = 1.0
        finally:
            sys.settrace(None)

    t = threading.Thread(target=assign)
    t.start()
    try:
        assert arrived.wait(10)
        model.third = 1.0
        model.scale = 5.0
        seen = [float(step(Tensor([1.0, 1.0]))[0])]
    finally:
        go.set()
        t.join()
    model.scale = 7.0
    seen.append(float(step(Tensor([1.0, 1.0]))[0]))
    assert seen == [10.0, 14.0]


def test_zero_grad_waits_for_a_backward_pass_adding_to_the_gradient():
    """A backward pass in one thread adds to w.grad while another thread zeroes it: the
    zeroing waits for the pass, so the gradient is None, never the old gradient plus
    the pass's (the zeroing lost between the pass's read of the old gradient and its
    store of the sum)."""
    w = Tensor([1.0, 2.0], requires_grad=True)
    (w * 3.0).sum().backward()
    arrived, go, zeroed = threading.Event(), threading.Event(), threading.Event()
    tracer = _stall_before(type(w)._grad_store.__code__, "STORE_SUBSCR", None, arrived, go)  # meta["grad"] = …

    def accumulate():
        sys.settrace(tracer)
        try:
            (w * 3.0).sum().backward()
        finally:
            sys.settrace(None)

    a = threading.Thread(target=accumulate)
    b = threading.Thread(target=lambda: (w.zero_grad(), zeroed.set()))
    a.start()
    try:
        assert arrived.wait(10)
        b.start()
        zeroed.wait(0.3)  # zeroes at once, unless it waits for the pass
    finally:
        go.set()
        a.join()
    b.join()
    assert w.grad is None


def _metadata_made_while_changed(make):
    """One thread makes a constant's metadata by ``make(constant)`` (held as it stores
    the new dict), another changes the constant in place meanwhile: the change's
    version must survive, so a graph that saved the constant before the change refuses
    backward. Returns the constant."""
    from glassgrad import InPlaceError, Scalar

    c = Scalar(2.0, requires_grad=False)  # a Scalar's version is its metadata's (a Tensor's memory has one too)
    w = Scalar(3.0, requires_grad=True)
    y = w * c  # saves c
    arrived, go, changed = threading.Event(), threading.Event(), threading.Event()
    tracer = _stall_before(None, "STORE_ATTR", "_meta", arrived, go)

    def first_use():
        sys.settrace(tracer)
        try:
            make(c)
        finally:
            sys.settrace(None)

    def change():
        c.data = 5.0
        changed.set()

    a, b = threading.Thread(target=first_use), threading.Thread(target=change)
    a.start()
    try:
        assert arrived.wait(10)
        b.start()
        changed.wait(0.3)  # changes at once, unless it waits for the dict being made
    finally:
        go.set()
        a.join()
    b.join()
    with pytest.raises(InPlaceError):
        y.backward()
    return c


def test_a_name_given_while_another_thread_changes_the_value_keeps_its_version():
    """A value's metadata (name, hooks, in-place version) is made at its first use. Two
    threads making it at once, one naming a constant and one changing it in place,
    kept one dict: the version was lost, and a graph that saved the constant before
    the change ran backward with the new numbers."""
    assert _metadata_made_while_changed(lambda c: setattr(c, "name", "c")).name == "c"


def test_requires_grad_set_while_another_thread_changes_the_value_keeps_its_version():
    """Setting requires_grad on a leaf makes its metadata (its gradient and in-place
    version live there). Made while another thread changed the value in place, it
    replaced the dict holding the change's version: a graph that saved the value
    before the change ran backward with the new numbers."""
    assert _metadata_made_while_changed(lambda c: setattr(c, "requires_grad", True)).requires_grad
