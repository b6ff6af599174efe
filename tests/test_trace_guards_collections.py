"""A compiled step sees what the traced function reads from collections of every kind
the standard library has, changed in place (a set, a deque, an ``array.array``, an
OrderedDict, a defaultdict, a subclass of list), from the values a ``functools.partial``
binds, changed in place through its ``keywords``, from an object's ``__slots__``, and
the class attributes an object reads after its ``__class__`` or its class's
``__bases__`` are assigned; and a ``getattr`` with a default in code that also reads
a helper function traces. These are the cases benchmarks/trace_guard_differential.py
found replayed stale (or failing to trace)."""

import array
import collections
import functools

import numpy as np
import pytest
from glassgrad import Tensor, trace

W = Tensor([1.0, 2.0], requires_grad=True)
X = Tensor([1.0, -1.0])


class Floats(list):
    pass


def changes():
    """(the collection read, the change made to it in place) by kind."""
    return {
        "set": ({1.5}, lambda s: s.add(2.0)),
        "deque": (collections.deque([1.5]), lambda q: q.append(2.0)),
        "array.array": (array.array("d", [1.5]), lambda a: a.__setitem__(0, 2.0)),
        "bytearray": (bytearray(b"\x01"), lambda b: b.__setitem__(0, 3)),
        "OrderedDict": (collections.OrderedDict(a=1.5), lambda d: d.__setitem__("a", 2.0)),
        "defaultdict": (collections.defaultdict(float, a=1.5), lambda d: d.update(a=2.0)),
        "list subclass": (Floats([1.5]), lambda x: x.append(2.0)),
    }


def total(collection):
    return float(sum(collection.values() if isinstance(collection, dict) else collection))


@pytest.mark.parametrize("kind", sorted(changes()))
def test_a_collection_changed_in_place_is_seen(kind):
    collection, change = changes()[kind]

    def f(x):
        return (x * W * total(collection)).sum()

    step = trace(f, X)
    change(collection)
    value, (g_w,) = step(X)
    assert float(value) == float(f(X).data) == -total(collection)
    np.testing.assert_array_equal(g_w, [total(collection), -total(collection)])


def scaled(z, k):
    return z * k


def test_a_partials_keywords_changed_in_place_are_seen():
    bound = functools.partial(scaled, k=1.5)

    def f(x):
        return (bound(x) * W).sum()

    step = trace(f, X)
    bound.keywords["k"] = 2.0
    value, (g_w,) = step(X)
    assert float(value) == float(f(X).data) == -2.0
    np.testing.assert_array_equal(g_w, [2.0, -2.0])


class Settings:
    pass


settings = Settings()


def two():
    return 2.0


def test_getattr_with_a_default_beside_a_helper_traces():
    def f(x):
        return (x * W * getattr(settings, "scale", 1.0) * two()).sum()

    step = trace(f, X)
    settings.scale = 3.0
    value, _ = step(X)
    assert float(value) == float(f(X).data) == -6.0


class Slotted:
    __slots__ = ("lr",)

    def __init__(self):
        self.lr = 1.5


class Base:
    lr = 1.5


class Other(Base):
    lr = 2.0


class Derived(Base):
    pass


def assert_seen(f, change):
    step = trace(f, X)
    change()
    value, (g_w,) = step(X)
    eager = f(X)
    eager.backward()
    assert float(value) == float(eager.data)
    np.testing.assert_array_equal(g_w, W.grad)
    W.grad = None


def test_an_attribute_held_in_slots_is_seen():
    held = Slotted()

    def f(x):
        return (x * W * held.lr).sum()

    assert_seen(f, lambda: setattr(held, "lr", 2.0))
    step = trace(f, X)
    del held.lr  # an empty slot: the step raises as eager glassgrad does
    with pytest.raises(AttributeError, match="lr"):
        step(X)


def test_an_objects_class_swapped_is_seen():
    held = Derived()
    assert_seen(lambda x: (x * W * held.lr).sum(), lambda: setattr(held, "__class__", Other))


def test_a_classs_bases_swapped_are_seen():
    class Mine(Base):
        pass

    held = Mine()
    assert_seen(lambda x: (x * W * held.lr).sum(), lambda: setattr(Mine, "__bases__", (Other,)))
    assert_seen(lambda x: (x * W * Mine.lr).sum(), lambda: setattr(Mine, "__bases__", (Base,)))


def test_getattr_with_a_default_beside_an_object_with_slots_traces():
    held = Slotted()

    def f(x):
        return (x * W * getattr(settings, "shift", 1.0) * held.lr).sum()

    assert_seen(f, lambda: setattr(held, "lr", 3.0))
