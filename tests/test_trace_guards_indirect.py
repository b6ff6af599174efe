"""A compiled step sees the Python state the traced function reads otherwise than by a
name its code loads: through ``vars(obj)`` or ``obj.__dict__``, an
``operator.attrgetter`` or ``methodcaller``, a ``__getattr__`` of the user's, a
property's or descriptor's getter, a helper's argument, and ``super()``. When what it
read has changed since the trace, the step traces the function again and computes
what eager glassgrad computes; it never replays a stale number."""

import dataclasses
import operator
import sys
import types
import weakref

import numpy as np
import pytest
from glassgrad import Tensor, trace
from glassgrad.errors import TraceError

ONES = np.ones(2)
W = Tensor([1.0, 2.0], requires_grad=True)


def assert_step_equals_eager(step, fn):
    """The step's value and gradient for W are eager glassgrad's."""
    W.grad = None
    out = fn(Tensor(ONES))
    out.backward()
    value, grads = step(Tensor(ONES))
    assert float(value) == float(out.data)
    np.testing.assert_array_equal(dict(zip(map(id, step.wrt), grads))[id(W)], W.grad)
    W.grad = None


def changed_after_trace(fn, change):
    """Trace ``fn``, make ``change``, and compare the step with eager glassgrad."""
    step = trace(fn, Tensor(ONES))
    change()
    assert_step_equals_eager(step, fn)


class Settings:
    pass


def settings(**values):
    s = Settings()
    vars(s).update(values)
    return s


def test_an_attribute_read_through_vars_is_seen():
    """vars(s)["scale"] and s.__dict__.get("shift", 0.0): the step kept 1 and 0 where
    the attribute changed, set and deleted."""
    s = settings(scale=1.0)
    scaled = lambda x: (x * W * vars(s)["scale"]).sum()  # noqa: E731
    changed_after_trace(scaled, lambda: setattr(s, "scale", 3.0))
    changed_after_trace(scaled, lambda: vars(s).update(scale=5.0))
    shifted = lambda x: (x * W + s.__dict__.get("shift", 0.0)).sum()  # noqa: E731
    changed_after_trace(shifted, lambda: setattr(s, "shift", 2.0))
    changed_after_trace(shifted, lambda: delattr(s, "shift"))


class Table:
    scale = 1.0


def test_a_class_attribute_read_through_vars_is_seen():
    """vars(Table)["scale"]: the step kept 1 after Table.scale = 3."""
    changed_after_trace(lambda x: (x * W * vars(Table)["scale"]).sum(), lambda: setattr(Table, "scale", 3.0))


def test_an_attrgetter_and_a_methodcaller_read_what_they_name():
    """A global attrgetter("scale"), attrgetter("opt.lr") made in the function, and a
    methodcaller("factor") whose method the class rebinds: each kept its number."""
    s = settings(scale=1.0, opt=settings(lr=1.0))
    get = operator.attrgetter("scale")
    changed_after_trace(lambda x: (x * W * get(s)).sum(), lambda: setattr(s, "scale", 3.0))
    dotted = lambda x: (x * W * operator.attrgetter("opt.lr")(s)).sum()  # noqa: E731
    changed_after_trace(dotted, lambda: setattr(s.opt, "lr", 3.0))
    changed_after_trace(dotted, lambda: setattr(s, "opt", settings(lr=5.0)))

    class Unit:
        def factor(self, k):
            return k

    unit, call = Unit(), operator.methodcaller("factor", 2.0)
    changed_after_trace(lambda x: (x * W * call(unit)).sum(), lambda: setattr(Unit, "factor", lambda self, k: k * 3))


LOOKUP = {"scale": 1.0}


class Computed:
    def __getattr__(self, name):
        if name not in LOOKUP:
            raise AttributeError(name)
        return LOOKUP[name]


def test_what_a_getattr_of_the_users_computes_is_seen():
    """computed.scale made by __getattr__: the step kept 1 after the object or its class
    came to hold scale, or the class's __getattr__ was replaced (by a lambda, and then
    the object came to hold it)."""
    computed = Computed()
    scaled = lambda x: (x * W * computed.scale).sum()  # noqa: E731
    changed_after_trace(scaled, lambda: setattr(computed, "scale", 3.0))
    computed = Computed()
    changed_after_trace(scaled, lambda: setattr(Computed, "scale", 5.0))
    del Computed.scale
    computed = Computed()
    original = Computed.__getattr__
    try:
        changed_after_trace(scaled, lambda: setattr(Computed, "__getattr__", lambda self, name: 7.0))
        changed_after_trace(scaled, lambda: setattr(computed, "scale", 9.0))
    finally:
        Computed.__getattr__ = original


class Loose:
    """A __getattr__ that raises KeyError for names it does not know, as some do."""

    def __init__(self):
        self.table = {"scale": 1.0}

    def __getattr__(self, name):
        return self.__dict__["table"][name]


def test_a_getattr_raising_keyerror_is_traced_and_its_table_seen():
    """The trace looked up __self__ and __func__ on the values read, which ran this
    __getattr__ and failed with KeyError where eager glassgrad runs; its table changed
    in place was not seen."""
    loose = Loose()
    changed_after_trace(lambda x: (x * W * loose.scale).sum(), lambda: loose.table.update(scale=3.0))


class Scaled:
    """A descriptor: the object's _scale times its own factor."""

    def __init__(self, factor):
        self.factor = factor

    def __get__(self, obj, owner):
        return obj._scale * self.factor


class Layer:
    scale = Scaled(1.0)
    doubled = property(lambda layer: layer._scale * 2.0)

    def __init__(self):
        self._scale = 1.0


def lr_of(config):
    return config.lr


def test_the_attributes_a_getter_or_a_helper_reads_of_its_argument_are_seen():
    """A descriptor's __get__ reads obj._scale, a property's lambda layer._scale, a
    helper config.lr: the object is an argument, not a self, and its attributes were
    not guarded."""
    layer = Layer()
    changed_after_trace(lambda x: (x * W * layer.scale).sum(), lambda: setattr(layer, "_scale", 3.0))
    changed_after_trace(lambda x: (x * W * layer.scale).sum(), lambda: setattr(vars(Layer)["scale"], "factor", 5.0))
    changed_after_trace(lambda x: (x * W * layer.doubled).sum(), lambda: setattr(layer, "_scale", 7.0))
    config = settings(lr=1.0)
    changed_after_trace(lambda x: (x * W * lr_of(config)).sum(), lambda: setattr(config, "lr", 3.0))


class Base:
    shift = 1.0

    def factor(self):
        return 1.0


class Middle(Base):
    pass


class Derived(Middle):
    shift = 5.0

    def factor(self):
        return super().factor() * 2.0

    def base_shift(self):
        return super().shift


def test_what_super_reaches_is_seen(monkeypatch):
    """super().factor() and super().shift look past Derived: Base.factor rebound and
    Middle.shift set after the trace kept the traced numbers."""
    derived = Derived()
    changed_after_trace(
        lambda x: (x * W * derived.factor()).sum(), lambda: monkeypatch.setattr(Base, "factor", lambda self: 3.0)
    )
    changed_after_trace(
        lambda x: (x * W + derived.base_shift()).sum(), lambda: monkeypatch.setattr(Middle, "shift", 7.0, raising=False)
    )


def configuration():
    return CONFIGURATION


CONFIGURATION = settings(lr=1.0)


def test_the_attributes_read_of_a_returned_object_are_seen():
    """configuration().lr, and object.__getattribute__(config, "lr"): the step kept 1."""
    changed_after_trace(lambda x: (x * W * configuration().lr).sum(), lambda: setattr(CONFIGURATION, "lr", 3.0))
    config = settings(lr=1.0)
    changed_after_trace(
        lambda x: (x * W * object.__getattribute__(config, "lr")).sum(), lambda: setattr(config, "lr", 3.0)
    )


def test_what_a_modules_getattr_computes_is_seen(monkeypatch):
    """A module's __getattr__ gives lr: the step kept it after the module came to hold
    its own lr."""
    module = types.ModuleType("computed_settings")
    exec(
        "def __getattr__(name):\n    if name == 'lr':\n        return 1.0\n    raise AttributeError(name)\n",
        vars(module),
    )
    monkeypatch.setitem(sys.modules, module.__name__, module)
    changed_after_trace(lambda x: (x * W * module.lr).sum(), lambda: setattr(module, "lr", 3.0))


def test_a_dict_read_whole_too_large_to_compare_is_refused():
    """vars(s) holding an array of 70,000 numbers: the trace refuses it, naming it."""
    s = settings(X=np.ones(70_000), scale=1.0)
    with pytest.raises(TraceError, match=r"reads every attribute of a Settings object, a dict of 70,001 numbers"):
        trace(lambda x: (x * W * vars(s)["scale"]).sum(), Tensor(ONES))


def test_an_attrgetter_made_of_a_computed_name_is_refused():
    """attrgetter(prefix + "r"): which attribute it reads only running it tells, and
    no call of it is seen as it runs; the step replayed 1 after s.lr = 3."""
    s, prefix = settings(lr=1.0), "l"
    with pytest.raises(TraceError, match=r"by a name it computes \(attrgetter at line \d+ of <lambda>\)"):
        trace(lambda x: (x * W * operator.attrgetter(prefix + "r")(s)).sum(), Tensor(ONES))
    trace(lambda x: (x * W * operator.attrgetter("lr")(s)).sum(), Tensor(ONES))  # a string is followed


@dataclasses.dataclass
class Hyper:
    lr: float = 1.0


def test_what_the_librarys_code_reads_of_an_object_handed_to_it_is_seen():
    """dataclasses.asdict(hyper)["lr"] and a weakref's object: the step kept 1 after
    hyper.lr = 3 (asdict's reads are the standard library's, which the walk skips)."""
    hyper = Hyper()
    changed_after_trace(lambda x: (x * W * dataclasses.asdict(hyper)["lr"]).sum(), lambda: setattr(hyper, "lr", 3.0))
    config = settings(lr=1.0)
    ref = weakref.ref(config)
    changed_after_trace(lambda x: (x * W * ref().lr).sum(), lambda: setattr(config, "lr", 3.0))
