"""What a traced function reads from outside its graph, and the guard a compiled step
checks so that it never replays a stale read.

A trace fixes every Python value the function reads on its way to the ops it records:
a module's ``training`` flag, a learning rate in a global or in a closure, the
parameter a global names, the layer a module holds. The trace notes where each such
value was read (the ``reads``, gathered from the frames the function runs), and the
compiled step checks at every call that each place still holds the same object; one
counter of assignments to modules' attributes stands for all the modules' attributes.
When a check fails, the values are compared: an equal number (a float made again)
passes, and the guard takes the new object; anything else traces the function again.

Guarded, for the function and for every function of the user's it calls (not the
engine's, NumPy's or the standard library's):

- the globals its code loads by name, and the values of the function's own closure;
- the attributes its code loads of a method's ``self`` and of the objects those
  globals and closure values name (a settings object, a module of settings), where
  the object holds them or its class has them as data;
- every attribute of every module whose forward runs, and of the modules inside it;
- the version of each graph value read that requires no grad (a constant Tensor, a
  frozen parameter): what the trace computed from it alone, it computed once.

Not guarded: what changes in place inside a value read without the engine (a NumPy
array's numbers, also through a Tensor's ``.data``; a list's or a dict's items; an
attribute further down, ``settings.optimizer.lr``; a class attribute changed).
"""

from __future__ import annotations

import dis
import functools
import inspect
import os
import random
import sys
from collections.abc import Callable, Iterator
from types import CellType, CodeType, FrameType, ModuleType
from typing import Any

import numpy as np

from . import nn
from .graph import Node

_MISS = object()  # an absent global or attribute, an empty cell
_NO_DATA = property()  # stands for a class attribute that is a method or absent (it has __get__)

# Code whose globals and attributes are no user's settings: the engine, NumPy, Python's
# own (its frozen modules too, and the code it writes: namedtuples, dataclasses), and
# not the packages installed beside it. Both the folder a package is imported from
# (the engine's written code is named inside it) and the one its files' links lead to
# count: an install that links every file into place is still the engine.
_ENGINE = tuple(
    {
        os.path.join(os.path.dirname(path(f)), "")
        for f in (__file__, np.__file__)
        for path in (os.path.abspath, os.path.realpath)
    }
)
_STDLIB = os.path.join(os.path.dirname(os.path.realpath(os.__file__)), "")

# Values compared by value when they are another object than the one traced.
_NUMBERS = (bool, int, float, complex, str, bytes, type(None), np.generic)


@functools.cache
def _loads(code: CodeType) -> tuple[frozenset[str], frozenset[str]]:
    """The names ``code`` loads as globals, and as attributes."""
    names: dict[bool, set[str]] = {True: set(), False: set()}
    for ins in dis.get_instructions(code):
        if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
            names[True].add(ins.argval)
        elif ins.opname in ("LOAD_ATTR", "LOAD_METHOD"):
            names[False].add(ins.argval)
    return frozenset(names[True]), frozenset(names[False])


@functools.cache
def _is_library(filename: str) -> bool:
    if filename.startswith(("<frozen ", "<string>")):
        return True
    path = os.path.realpath(filename)
    if filename.startswith(_ENGINE) or path.startswith(_ENGINE):
        return True
    return path.startswith(_STDLIB) and not path[len(_STDLIB) :].startswith(("site-packages", "dist-packages"))


def _worth(value: Any) -> bool:
    """Whether a value read may change what the trace records (modules and classes are
    taken as fixed: guarding them costs at every call and catches no real change)."""
    return not isinstance(value, (ModuleType, type))


class Reads:
    """The places a traced function read values from, gathered from the frames it runs
    (see :meth:`frame`)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.places: dict[tuple[int, str], tuple[Any, str]] = {}  # (holder, key) by ids
        self.modules: dict[int, nn.Module] = {}
        # NumPy's random number generators the function's code reads (NumPy's global
        # one when it reads np.random), with their states before it drew from them;
        # a draw from Python's is seen as it is made (see :meth:`c_call`).
        self.generators: dict[int, tuple[Any, Any]] = {}
        self.python_draw = False
        func = getattr(fn, "__func__", fn)
        code, cells = getattr(func, "__code__", None), getattr(func, "__closure__", None) or ()
        attributes = _loads(code)[1] if code else frozenset()
        for name, cell in zip(code.co_freevars if code else (), cells):
            self._add(cell, name)
            self._attributes(_read(cell, name), attributes)
        owner = getattr(fn, "__self__", None)
        if isinstance(owner, nn.Module):
            self.modules[id(owner)] = owner

    def _add(self, holder: Any, key: str) -> None:
        value = _read(holder, key)
        if isinstance(value, nn.Module):
            self.modules[id(value)] = value
        self._generator(value)
        if _worth(value):
            self.places[id(holder), key] = holder, key

    def frame(self, frame: FrameType) -> None:
        """Note what the code of a frame that starts may read: its globals, and its
        ``self``'s attributes (all of them for a module)."""
        code = frame.f_code
        if code is _MODULE_RUN:  # the engine's call of a module's forward
            module = frame.f_locals["self"]
            self.modules[id(module)] = module
            return
        if _is_library(code.co_filename):
            return
        global_names, attributes = _loads(code)
        space = frame.f_globals
        for name in global_names:
            if name in space:
                self._add(space, name)
                self._attributes(space[name], attributes)
        if code.co_argcount and code.co_varnames[0] == "self":
            self._attributes(frame.f_locals.get("self"), attributes)
        if "random" in attributes:  # np.random.normal(...): the global generator
            self._generator(np.random.mtrand._rand)

    def c_call(self, function: Any) -> None:
        """Note a call of a function written in C: a draw from Python's random numbers."""
        if isinstance(getattr(function, "__self__", None), random.Random):
            self.python_draw = True

    def _attributes(self, owner: Any, names: frozenset[str]) -> None:
        """Note the attributes among ``names`` that ``owner`` holds in its ``__dict__``
        (a method's ``self``, a settings object or module of the user's), or all of
        them for a module of glassgrad's."""
        if isinstance(owner, nn.Module):
            self.modules[id(owner)] = owner
            return
        if isinstance(owner, (Node, type)) or not isinstance(getattr(owner, "__dict__", None), dict):
            return
        if isinstance(owner, ModuleType) and _is_library(getattr(owner, "__file__", None) or "<frozen >"):
            return
        held, kind = vars(owner), type(owner)
        for name in names:
            # an attribute of the object's, or a class default it may get (not a method)
            if name in held or not hasattr(inspect.getattr_static(kind, name, _NO_DATA), "__get__"):
                self._add(owner, name)

    def _generator(self, value: Any) -> None:
        value = getattr(value, "__self__", value)  # a generator's method: rng.random
        if isinstance(value, _generator_types()) and id(value) not in self.generators:
            self.generators[id(value)] = value, _state(value)

    def drawn(self) -> str | None:
        """The random number generator the function drew from, if any (its type)."""
        if self.python_draw:
            return "random.Random"
        for generator, state in self.generators.values():
            if not _same_state(_state(generator), state):
                return f"{type(generator).__module__}.{type(generator).__name__}"
        return None

    def guard(self) -> Guard:
        """The guard of what was read, holding the values read now."""
        modules = {id(m): m for top in self.modules.values() for m in top.modules()}
        return Guard(list(self.places.values()), list(modules.values()))


_MODULE_RUN = nn.Module._run.__code__


def _generator_types() -> tuple[type, ...]:
    """NumPy's generator classes, once numpy.random is imported: a generator exists only
    then, and importing it here would add its import to every program that traces."""
    np_random = sys.modules.get("numpy.random")
    return () if np_random is None else (np_random.Generator, np_random.RandomState)


def _state(generator: Any) -> Any:
    if isinstance(generator, np.random.Generator):
        return generator.bit_generator.state
    return generator.get_state(legacy=False)


def _same_state(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same_state(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray):
        return bool(np.array_equal(a, b))
    return bool(a == b)


def _read(holder: Any, key: str) -> Any:
    """The value at a place: a global (holder: the globals), a cell, an attribute."""
    if type(holder) is dict:
        return holder.get(key, _MISS)
    if type(holder) is CellType:
        try:
            return holder.cell_contents
        except ValueError:  # empty
            return _MISS
    return vars(holder).get(key, _MISS)


def _held(value: Any) -> Any:
    """What a module's attribute holds, kept as it is now (lists and dicts copied)."""
    if type(value) is list:
        return [*value]
    if type(value) is dict:
        return {**value}
    return value


def _same_members(module: nn.Module, members: dict[str, Any]) -> bool:
    """Whether a module's attributes are the same as ``members`` (an attribute absent
    from either reads its class's value: ``training = True`` set on a module that had
    the class default changes nothing)."""
    now, kind = vars(module), type(module)
    return all(
        _same(now.get(k, getattr(kind, k, _MISS)), members.get(k, getattr(kind, k, _MISS)))
        for k in now.keys() | members.keys()
    )


def _same(now: Any, then: Any) -> bool:
    """Whether a value read now gives the trace what it gave then: the same object, an
    equal number or string, or containers of those."""
    if now is then:
        return True
    if type(now) is not type(then):
        return False
    if type(then) in (list, tuple):
        return len(now) == len(then) and all(map(_same, now, then))
    if type(then) is dict:
        return now.keys() == then.keys() and all(_same(now[k], then[k]) for k in then)
    return isinstance(then, _NUMBERS) and bool(now == then)


class Guard:
    """The values a trace read and where: :meth:`tests` writes the compiled step's test
    of them (identity: a few attribute reads per call), :meth:`holds` compares them by
    value when that test fails."""

    def __init__(self, places: list[tuple[Any, str]], modules: list[nn.Module]) -> None:
        self.places = places
        self.values = [_read(h, k) for h, k in places]
        self.modules = modules
        self.members = [{k: _held(v) for k, v in vars(m).items()} for m in modules]
        self.assignments = nn._assignments  # the modules' attributes as of now
        # The values read that hold data the trace may have computed with once: the
        # graph values that require no grad (a constant Tensor, a frozen parameter),
        # tested by their version, which assigning .data or an in-place op moves.
        held = [*self.values, *(v for ms in self.members for v in ms.values())]
        constants = {id(c): c for c in _nodes(held) if not c.requires_grad}
        self.constants = list(constants.values())
        self.versions = [c._version() for c in self.constants]
        self.namespaces: list[dict[str, Any]] = []  # of the entries testing it

    def tests(self, namespace: dict[str, Any]) -> list[str]:
        """The identity tests of the compiled step's entry, their objects put in
        ``namespace`` (which :meth:`holds` updates when an equal value replaces one)."""
        self.namespaces.append(namespace)
        namespace["nn"] = nn
        namespace.update(self._values())
        tests = ["nn._assignments == assigned"] if self.modules else []
        for i, (holder, key) in enumerate(self.places):
            namespace[f"holder{i}"] = holder
            if type(holder) is dict:
                tests.append(f"holder{i}[{key!r}] is read{i}")
            elif type(holder) is CellType:
                tests.append(f"holder{i}.cell_contents is read{i}")
            elif self.values[i] is _MISS:  # the class's default was read
                tests.append(f"{key!r} not in holder{i}.__dict__")
            else:
                tests.append(f"holder{i}.__dict__[{key!r}] is read{i}")
        for i, (constant, version) in enumerate(zip(self.constants, self.versions)):
            namespace[f"constant{i}"] = constant
            tests.append(f"constant{i}._version() == {version}")
        return tests

    def _values(self) -> dict[str, Any]:
        return {"assigned": self.assignments, **{f"read{i}": v for i, v in enumerate(self.values)}}

    def holds(self) -> bool:
        """Whether every read would give what it gave when traced; when it would, the
        entries' tests take the values of now."""
        values = [_read(h, k) for h, k in self.places]
        if not all(map(_same, values, self.values)):
            return False
        if [c._version() for c in self.constants] != self.versions:
            return False
        assigned = nn._assignments
        if assigned != self.assignments and not all(map(_same_members, self.modules, self.members)):
            return False
        self.values, self.assignments = values, assigned
        for namespace in self.namespaces:
            namespace.update(self._values())
        return True

    def changed(self) -> str | None:
        """What reads otherwise than when traced, in words (None: nothing)."""
        for (holder, key), then in zip(self.places, self.values):
            if not _same(_read(holder, key), then):
                return f"{key} holds another value"
        for constant, version in zip(self.constants, self.versions):
            if constant._version() != version:
                return f"the data of {constant._describe()} changed"
        if nn._assignments != self.assignments:
            for module, members in zip(self.modules, self.members):
                if not _same_members(module, members):
                    return f"an attribute of the {type(module).__name__} module changed"
        return None

    def __deepcopy__(self, memo: dict[int, Any]) -> Guard:
        """A copy reading the copies of what was copied (a model, a method's object)
        and the same globals and cells."""
        twin = object.__new__(Guard)
        memo[id(self)] = twin
        twin.places = [(_copied(h, memo), k) for h, k in self.places]
        twin.values = [_copied(v, memo) for v in self.values]
        twin.modules = [_copied(m, memo) for m in self.modules]
        twin.members = [_copied(ms, memo) for ms in self.members]
        twin.constants, twin.versions = _copied(self.constants, memo), self.versions
        twin.assignments, twin.namespaces = self.assignments, []
        return twin


def _nodes(values: list[Any]) -> Iterator[Node]:
    """The graph values among ``values`` and the items of their lists, tuples and dicts."""
    for v in values:
        if isinstance(v, (list, tuple)):
            yield from (x for x in v if isinstance(x, Node))
        elif isinstance(v, dict):
            yield from (x for x in v.values() if isinstance(x, Node))
        elif isinstance(v, Node):
            yield v


def _copied(value: Any, memo: dict[int, Any]) -> Any:
    """``value`` as in a deep copy that has copied what ``memo`` holds, and nothing else."""
    if type(value) is list:
        return [_copied(v, memo) for v in value]
    if type(value) is dict:
        return {k: _copied(v, memo) for k, v in value.items()}
    return memo.get(id(value), value)
