"""A compiled step sees the Python the traced function reads beyond globals, closures
and an object's own attributes: the attributes of the user's classes (read on the
class, through an instance, or on a module's class), the attributes ``getattr`` reads
by name, and the default arguments of the function and of the helpers it calls. When
one has changed since the trace, the step traces the function again and computes what
eager glassgrad computes; it never replays a stale number."""

import types

import numpy as np
import pytest
from glassgrad import Tensor, trace
from glassgrad.nn import Module, Parameter
from glassgrad.tracing import TraceError

ONES = np.ones(2)


def assert_step_equals_eager(step, fn, params):
    """The step's value and gradients are eager glassgrad's, for a Tensor (the usual
    path) and an array (the general one)."""
    for p in params:
        p.grad = None
    out = fn(Tensor(ONES))
    out.backward()
    grads = [p.grad.copy() for p in params]
    for p in params:
        p.grad = None
    for given in (Tensor(ONES), ONES):
        value, got = step(given)
        assert float(value) == float(out.data)
        by_leaf = dict(zip(map(id, step.wrt), got))
        for p, g in zip(params, grads):
            np.testing.assert_array_equal(by_leaf[id(p)], g)


W = Tensor([1.0, 2.0], requires_grad=True)


class Cfg:
    scale = 1.0


def configured(x):
    return (x * W * Cfg.scale).sum()


def test_a_class_attribute_read_on_the_class_is_seen(monkeypatch):
    """Cfg.scale = 3 after the trace: the step returned 3 where eager gives 9. An equal
    number bound again keeps the program."""
    step = trace(configured, Tensor(ONES))
    program = step._latest
    monkeypatch.setattr(Cfg, "scale", float("1.0"))
    assert_step_equals_eager(step, configured, [W])
    assert step._latest is program
    monkeypatch.setattr(Cfg, "scale", 3.0)
    assert_step_equals_eager(step, configured, [W])


class Tuned:
    scale = 5.0


def test_a_global_naming_a_class_rebound_is_seen(monkeypatch):
    """Cfg bound to another class of the user's after the trace: the step kept reading
    the first class's scale, 3 where eager gives 15."""
    step = trace(configured, Tensor(ONES))
    monkeypatch.setitem(globals(), "Cfg", Tuned)
    assert_step_equals_eager(step, configured, [W])


class Base:
    scale = 1.0

    def loss(self, x):
        return (x * W * self.scale).sum()


class Unit(Base):
    pass


def test_a_class_attribute_read_through_an_instance_is_seen(monkeypatch):
    """self.scale where the class (or a base class) holds scale: Base.scale = 3, then
    Unit.scale = 5 set on the subclass, each after the trace."""
    unit = Unit()
    step = trace(unit.loss, Tensor(ONES))
    monkeypatch.setattr(Base, "scale", 3.0)
    assert_step_equals_eager(step, unit.loss, [W])
    monkeypatch.setattr(Unit, "scale", 5.0, raising=False)
    assert_step_equals_eager(step, unit.loss, [W])


def test_a_class_attribute_of_an_object_the_function_calls_is_seen(monkeypatch):
    """A method of an object the function calls reads its class's attribute, and the
    method is rebound on the class: the step kept the traced scale and method."""
    unit = Unit()

    def f(x):
        return unit.loss(x) * 2.0

    step = trace(f, Tensor(ONES))
    monkeypatch.setattr(Base, "scale", 3.0)
    assert_step_equals_eager(step, f, [W])
    monkeypatch.setattr(Base, "loss", lambda self, x: (x * W * W).sum())
    assert_step_equals_eager(step, f, [W])


class Scaled(Module):
    """A module whose forward reads its class's attribute."""

    factor = 1.0

    def __init__(self):
        self.w = Parameter(np.array([1.0, 2.0]))

    def forward(self, x):
        return (x * self.w * self.factor).sum()


def test_a_modules_class_attribute_is_seen(monkeypatch):
    """Scaled.factor = 3 after the trace: the step returned 3 where eager gives 9."""
    model = Scaled()
    step = trace(model, Tensor(ONES))
    monkeypatch.setattr(Scaled, "factor", 3.0)
    assert_step_equals_eager(step, model, [model.w])


class Settings:
    def __init__(self):
        self.temperature = 1.0


SETTINGS = Settings()


def by_getattr(x):
    return (x * W / getattr(SETTINGS, "temperature")).sum()  # noqa: B009 (getattr is what is tested)


FIELD = "temperature"


def by_name(x):
    return (x * W / getattr(SETTINGS, FIELD)).sum()


@pytest.mark.parametrize("fn", [by_getattr, by_name])
def test_an_attribute_read_by_getattr_is_seen(fn, monkeypatch):
    """getattr(SETTINGS, "temperature") and getattr(SETTINGS, FIELD): temperature = 4
    after the trace left the step at 3 where eager gives 0.75."""
    step = trace(fn, Tensor(ONES))
    monkeypatch.setattr(SETTINGS, "temperature", 4.0)
    assert_step_equals_eager(step, fn, [W])


class Options:
    """Holds no scale, on the object or its class, until one is set."""


OPTIONS = Options()


def by_default(x):
    return (x * W * getattr(OPTIONS, "scale", 1.0)).sum()


def by_presence(x):
    return (x * W * (2.0 if hasattr(OPTIONS, "scale") else 1.0)).sum()


SCALE = "scale"


def by_presence_of_name(x):
    return (x * W * (2.0 if hasattr(OPTIONS, SCALE) else 1.0)).sum()


@pytest.mark.parametrize("fn", [by_default, by_presence, by_presence_of_name])
def test_an_attribute_absent_when_traced_and_set_later_is_seen(fn, monkeypatch):
    """getattr(OPTIONS, "scale", 1.0), hasattr(OPTIONS, "scale") and by a variable's
    name, with no scale when traced: one set on the object, then on its class, left
    the step at 3 (at 1 for hasattr, where eager gives 2)."""
    step = trace(fn, Tensor(ONES))
    monkeypatch.setattr(OPTIONS, "scale", 3.0, raising=False)
    assert_step_equals_eager(step, fn, [W])
    monkeypatch.undo()
    assert_step_equals_eager(step, fn, [W])
    monkeypatch.setattr(Options, "scale", 5.0, raising=False)
    assert_step_equals_eager(step, fn, [W])


def test_an_attribute_of_a_module_read_by_getattr_is_seen(tmp_path):
    settings = types.ModuleType("settings")
    settings.__file__ = str(tmp_path / "settings.py")
    settings.lr = 1.0

    def f(x):
        return (x * W * getattr(settings, "lr")).sum()  # noqa: B009 (getattr is what is tested)

    step = trace(f, Tensor(ONES))
    settings.lr = 3.0
    assert_step_equals_eager(step, f, [W])


def test_an_attribute_named_by_an_expression_is_refused():
    """getattr(SETTINGS, "temper" + suffix): which attribute it reads is known only as
    it runs, so no guard can test it."""
    suffix = "ature"

    def f(x):
        return (x * W / getattr(SETTINGS, "temper" + suffix)).sum()

    with pytest.raises(TraceError, match=r"name it computes \(getattr at line \d+ of f\).*getattr\(obj, \"name\"\)"):
        trace(f, Tensor(ONES))


def test_default_arguments_rebound_are_seen():
    """f.__defaults__ and f.__kwdefaults__ rebound after the trace, of the traced
    function and of a helper it calls: the step kept the traced defaults."""

    def positional(x, scale=1.0):
        return (x * W * scale).sum()

    def keyword(x, *, scale=1.0):
        return (x * W * scale).sum()

    def helper(x, scale=1.0, *, shift=0.0):
        return x * scale + shift

    def calls(x):
        return (helper(x) * W).sum()

    for fn, defaults in [(positional, "__defaults__"), (keyword, "__kwdefaults__")]:
        step = trace(fn, Tensor(ONES))
        setattr(fn, defaults, (3.0,) if defaults == "__defaults__" else {"scale": 3.0})
        assert_step_equals_eager(step, fn, [W])
    step = trace(calls, Tensor(ONES))
    helper.__defaults__ = (3.0,)
    assert_step_equals_eager(step, calls, [W])
    helper.__kwdefaults__ = {"shift": 2.0}
    assert_step_equals_eager(step, calls, [W])
