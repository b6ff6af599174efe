"""Differential testing of ``glassgrad.trace``'s guards against eager glassgrad: random
functions that read random kinds of Python state are traced, the state is changed
between calls, and every call of the compiled step is compared with an eager run of
the same function on the same inputs (value and gradients).

    python benchmarks/trace_guard_differential.py [--seed 0] [--seconds 60]

Each function is written as source from random pieces and run in a module of its own
(a file's name, or ``<string>`` as ``exec`` gives), so that its globals, closures and
classes are real. A piece is one kind of state read (a global, a closure's value, a
class's or an instance's attribute down a chain of bases, ``getattr`` and ``hasattr``,
a helper's default argument, a dict, list, set or array read and changed in place, a
module's attribute, a nested settings object, a dataclass, an object with
``__slots__``, a helper function swapped, a ``functools.partial``, a loop count, a
constant Tensor, a module of glassgrad.nn; and reads by other means than a name the
function's code loads: ``vars(obj)`` and ``obj.__dict__``, ``operator.attrgetter``,
``itemgetter`` and ``methodcaller``, ``object.__getattribute__``, a ``__getattr__``, a
descriptor and a property's getter, a helper's argument, an object a helper returns,
``super()``, ``dataclasses.asdict``, a ``weakref.ref``) with the changes it may
undergo. After each change, a call is one of:

- ``equal``: the compiled step gives what eager glassgrad gives;
- ``retraced``: it traced the function again (what it read changed), and agrees;
- ``refused``: it raised ``TraceError`` (a message that starts with ``trace:``);
- ``SILENT MISMATCH``: it differs, and nothing says so. Each is replayed with its last
  change alone on a fresh module, and printed with the function's source.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import types
import warnings
from dataclasses import dataclass
from typing import Any

import glassgrad as gg
import numpy as np
from glassgrad import tracing
from glassgrad.errors import TraceError, TraceWarning

VALUES = ("0.5", "1.5", "2.0", "-1.0", "3.0")
FAKE_DIR = os.path.join(tempfile.gettempdir(), "guardfuzz")  # a user's folder, never written


@dataclass
class Piece:
    """One kind of state a function reads: the module source that makes it (``{i}``
    numbers it), the expression the function reads it with (a number, or a Tensor
    like ``x`` when ``tensor``), or a statement on ``out``, and the changes it may
    undergo."""

    setup: str
    read: str
    changes: list[str]
    tensor: bool = False
    statement: bool = False
    closure: str = ""  # a closure's variable, set in the factory, changed by set_{i}


def pieces() -> dict[str, Piece]:
    classes_with_s = (
        "class K{i}:\n    s = {v}\n    t = 0.25\n    def __init__(self):\n        self.t = {v}\no{i} = K{i}()\n"
    )
    return {
        "global": Piece("g{i} = {v}", "g{i}", ["g{i} = {v}"]),
        "closure": Piece("", "c{i}", ["set_{i}({v})"], closure="c{i}"),
        "class": Piece(
            "class K{i}:\n    s = {v}\n", "K{i}.s", ["K{i}.s = {v}", "K{i} = type('K{i}', (), {{'s': {v}}})"]
        ),
        "instance": Piece(
            classes_with_s,
            "(o{i}.s + o{i}.t)",
            [
                "o{i}.s = {v}",
                "K{i}.s = {v}",
                "o{i}.t = {v}",
                "o{i}.__dict__.pop('t', None)",
                "o{i}.__dict__.pop('s', None)",
            ],
        ),
        "bases": Piece(
            "class B{i}:\n    s = {v}\nclass M{i}(B{i}):\n    pass\nclass D{i}(M{i}):\n    pass\n"
            "class E{i}(B{i}):\n    s = {v}\no{i} = D{i}()\n",
            "o{i}.s",
            [
                "B{i}.s = {v}",
                "M{i}.s = {v}",
                "D{i}.s = {v}",
                "o{i}.s = {v}",
                "o{i}.__class__ = E{i}",
                "D{i}.__bases__ = (E{i},)",
                "E{i}.s = {v}",
            ],
        ),
        "method": Piece(
            "class K{i}:\n    s = {v}\n    def m(self):\n        return self.s * 2.0\no{i} = K{i}()\n",
            "o{i}.m()",
            ["o{i}.s = {v}", "K{i}.s = {v}", "K{i}.m = lambda self: {v}", "o{i}.m = lambda: {v}"],
        ),
        "property": Piece(
            "class K{i}:\n    def __init__(self):\n        self._s = {v}\n    @property\n    def s(self):\n"
            "        return self._s\no{i} = K{i}()\n",
            "o{i}.s",
            ["o{i}._s = {v}", "K{i}.s = property(lambda self: {v})"],
        ),
        "getattr_default": Piece(
            "class K{i}:\n    pass\no{i} = K{i}()\n",
            'getattr(o{i}, "s", 1.0)',
            ["o{i}.s = {v}", "K{i}.s = {v}", "o{i}.__dict__.pop('s', None)"],
        ),
        "hasattr": Piece(
            "class K{i}:\n    pass\no{i} = K{i}()\n",
            '(2.0 if hasattr(o{i}, "flag") else 1.0)',
            ["o{i}.flag = True", "K{i}.flag = 1", "o{i}.__dict__.pop('flag', None)"],
        ),
        "getattr_name": Piece(
            'name{i} = "s"\nclass K{i}:\n    s = {v}\n    t = {v}\no{i} = K{i}()\n',
            "getattr(o{i}, name{i})",
            ['name{i} = "t"', 'name{i} = "s"', "o{i}.s = {v}", "K{i}.t = {v}"],
        ),
        "default": Piece("def h{i}(k={v}):\n    return k\n", "h{i}()", ["h{i}.__defaults__ = ({v},)"]),
        "kwdefault": Piece(
            "def h{i}(*, k={v}):\n    return k\n",
            "h{i}()",
            ["h{i}.__kwdefaults__['k'] = {v}", "h{i}.__kwdefaults__ = {{'k': {v}}}"],
        ),
        "dict": Piece(
            "D{i} = {{'a': {v}, 'b': {v}}}",
            "D{i}['a']",
            ["D{i}['a'] = {v}", "D{i} = {{'a': {v}}}", "D{i}.update(a={v})"],
        ),
        "defaultdict": Piece(
            "D{i} = collections.defaultdict(float, {{'a': {v}}})",
            "D{i}['a']",
            ["D{i}['a'] = {v}", "D{i}.update(a={v})"],
        ),
        "ordereddict": Piece("D{i} = collections.OrderedDict(a={v})", "D{i}['a']", ["D{i}['a'] = {v}"]),
        "list": Piece(
            "L{i} = [{v}, {v}]", "sum(L{i})", ["L{i}[0] = {v}", "L{i}.append({v})", "L{i}[:] = [{v}]", "L{i}.sort()"]
        ),
        "list_subclass": Piece(
            "class MyList{i}(list):\n    pass\nL{i} = MyList{i}([{v}, {v}])",
            "sum(L{i})",
            ["L{i}[0] = {v}", "L{i}.append({v})"],
        ),
        "tuple_of_lists": Piece("T{i} = ([{v}], [{v}])", "T{i}[1][0]", ["T{i}[1][0] = {v}", "T{i}[0].append({v})"]),
        "set": Piece("S{i} = {{{v}}}", "sum(S{i})", ["S{i}.add({v})", "S{i}.clear()"]),
        "deque": Piece("Q{i} = collections.deque([{v}])", "sum(Q{i})", ["Q{i}.append({v})", "Q{i}[0] = {v}"]),
        "array_operand": Piece(
            "A{i} = np.array([{v}, {v}, {v}])",
            "x * A{i}",
            ["A{i}[0] = {v}", "A{i} *= 2.0", "A{i} = np.ones(3)"],
            tensor=True,
        ),
        "array_number": Piece(
            "A{i} = np.array([{v}, {v}, {v}])", "float(A{i}.sum())", ["A{i}[1] = {v}", "A{i} += 1.0"]
        ),
        "array_module": Piece(
            "import array\nAA{i} = array.array('d', [{v}, {v}])", "sum(AA{i})", ["AA{i}[0] = {v}", "AA{i}.append({v})"]
        ),
        "module_attr": Piece(
            "cfgmod{i} = types.ModuleType('cfgmod{i}')\n"
            "cfgmod{i}.__file__ = FAKE_DIR + '/cfgmod{i}.py'\ncfgmod{i}.lr = {v}",
            "cfgmod{i}.lr",
            ["cfgmod{i}.lr = {v}"],
        ),
        "nested": Piece(
            "class Opt{i}:\n    def __init__(self):\n        self.lr = {v}\nclass Cfg{i}:\n    def __init__(self):\n"
            "        self.opt = Opt{i}()\ncfg{i} = Cfg{i}()\n",
            "cfg{i}.opt.lr",
            ["cfg{i}.opt.lr = {v}", "cfg{i}.opt = Opt{i}()", "Opt{i}.lr = {v}"],
        ),
        "dataclass": Piece(
            "@dataclasses.dataclass\nclass DC{i}:\n    lr: float = {v}\ndc{i} = DC{i}()\n",
            "dc{i}.lr",
            ["dc{i}.lr = {v}"],
        ),
        "namespace": Piece(
            "ns{i} = types.SimpleNamespace(lr={v})", "ns{i}.lr", ["ns{i}.lr = {v}", "del ns{i}.lr; ns{i}.lr = {v}"]
        ),
        "slots": Piece(
            "class SL{i}:\n    __slots__ = ('lr',)\n    def __init__(self):\n        self.lr = {v}\nsl{i} = SL{i}()\n",
            "sl{i}.lr",
            ["sl{i}.lr = {v}"],
        ),
        "helper": Piece(
            "def ha{i}(z):\n    return z * {v}\ndef hb{i}(z):\n    return z * {v}\nhelper{i} = ha{i}\n",
            "helper{i}(x)",
            ["helper{i} = hb{i}", "helper{i} = ha{i}", "ha{i}.__code__ = hb{i}.__code__"],
            tensor=True,
        ),
        "partial": Piece(
            "def hp{i}(z, k):\n    return z * k\nP{i} = functools.partial(hp{i}, k={v})\n",
            "P{i}(x)",
            ["P{i} = functools.partial(hp{i}, k={v})", "P{i}.keywords['k'] = {v}"],
            tensor=True,
        ),
        "loop": Piece(
            "n{i} = 2", "for _ in range(n{i}):\n            out = out * 0.5 + x", ["n{i} = {n}"], statement=True
        ),
        "flag": Piece(
            "flag{i} = True", "if flag{i}:\n            out = out + x * x", ["flag{i} = not flag{i}"], statement=True
        ),
        "constant": Piece(
            "T{i} = gg.Tensor([{v}, {v}, {v}])",
            "x * (T{i} * 2.0)",
            ["T{i}.data[0] = {v}", "T{i}.data = np.full(3, {v})", "T{i} = gg.Tensor([{v}, 1.0, 1.0])"],
            tensor=True,
        ),
        "nn_module": Piece(
            "class Net{i}(gg.nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.lin = gg.nn.Linear(3, 3)\n        self.scale = {v}\n"
            "    def forward(self, z):\n        h = self.lin(z) * self.scale\n"
            "        return h * 2.0 if self.training else h\nnet{i} = Net{i}()\n",
            "net{i}(x)",
            ["net{i}.scale = {v}", "net{i}.eval()", "net{i}.train()", "net{i}.lin = gg.nn.Linear(3, 3)"],
            tensor=True,
        ),
        # reads by other means than a name the code loads
        "vars": Piece(
            "class K{i}:\n    pass\no{i} = K{i}()\no{i}.s = {v}\n",
            "vars(o{i})['s']",
            ["o{i}.s = {v}", "vars(o{i})['s'] = {v}"],
        ),
        "dunder_dict": Piece(
            "class K{i}:\n    pass\no{i} = K{i}()\no{i}.s = {v}\n",
            "o{i}.__dict__.get('s', 1.0)",
            ["o{i}.s = {v}", "o{i}.__dict__['s'] = {v}", "del o{i}.s"],
        ),
        "attrgetter": Piece(
            "class K{i}:\n    pass\no{i} = K{i}()\no{i}.s = {v}\nget{i} = operator.attrgetter('s')\n",
            "get{i}(o{i})",
            ["o{i}.s = {v}", "K{i}.s = {v}; del o{i}.s"],
        ),
        "attrgetter_dotted": Piece(
            "class K{i}:\n    pass\no{i} = K{i}()\no{i}.c = K{i}()\no{i}.c.s = {v}\n",
            "operator.attrgetter('c.s')(o{i})",
            ["o{i}.c.s = {v}", "o{i}.c = types.SimpleNamespace(s={v})"],
        ),
        "attrgetter_computed": Piece(  # refused: which attribute it reads only running it tells
            "class K{i}:\n    pass\no{i} = K{i}()\no{i}.s = {v}\nname{i} = 's'\n",
            "operator.attrgetter(name{i})(o{i})",
            ["o{i}.s = {v}"],
        ),
        "itemgetter": Piece(
            "class K{i}:\n    pass\no{i} = K{i}()\no{i}.s = {v}\nD{i} = {{'a': {v}}}\n"
            "item{i} = operator.itemgetter('a')\n",
            "(item{i}(D{i}) + operator.itemgetter('s')(vars(o{i})))",
            ["D{i}['a'] = {v}", "o{i}.s = {v}", "item{i} = operator.itemgetter('b'); D{i}['b'] = {v}"],
        ),
        "methodcaller": Piece(
            "class K{i}:\n    s = {v}\n    def m(self, k):\n        return self.s * k\no{i} = K{i}()\n"
            "call{i} = operator.methodcaller('m', 2.0)\n",
            "call{i}(o{i})",
            ["o{i}.s = {v}", "K{i}.m = lambda self, k: {v}", "o{i}.m = lambda k: {v}"],
        ),
        "dunder_getattr": Piece(
            "class K{i}:\n    def __getattr__(self, name):\n        if name not in LOOKUP{i}:\n"
            "            raise AttributeError(name)\n        return LOOKUP{i}[name]\nLOOKUP{i} = {{'s': {v}}}\n"
            "o{i} = K{i}()\n",
            "o{i}.s",
            [
                "LOOKUP{i}['s'] = {v}",
                "o{i}.s = {v}",
                "K{i}.s = {v}",
                "K{i}.__getattr__ = lambda self, name: {v}",
            ],
        ),
        "dunder_getattr_table": Piece(
            "class K{i}:\n    def __init__(self):\n        self.table = {{'s': {v}}}\n"
            "    def __getattr__(self, name):\n        return self.__dict__['table'][name]\no{i} = K{i}()\n",
            "getattr(o{i}, 's')",
            ["o{i}.table['s'] = {v}", "o{i}.table = {{'s': {v}}}", "o{i}.s = {v}"],
        ),
        "descriptor": Piece(
            "class Desc{i}:\n    def __init__(self, k):\n        self.k = k\n"
            "    def __get__(self, obj, owner):\n        return obj._s * self.k\n"
            "class K{i}:\n    s = Desc{i}({v})\n    def __init__(self):\n        self._s = {v}\no{i} = K{i}()\n",
            "o{i}.s",
            ["o{i}._s = {v}", "vars(K{i})['s'].k = {v}", "K{i}.s = Desc{i}({v})"],
        ),
        "property_lambda": Piece(
            "class K{i}:\n    s = property(lambda obj: obj._s)\n    def __init__(self):\n        self._s = {v}\n"
            "o{i} = K{i}()\n",
            "o{i}.s",
            ["o{i}._s = {v}", "K{i}.s = property(lambda obj: {v})"],
        ),
        "helper_argument": Piece(
            "class C{i}:\n    lr = {v}\ncfg{i} = C{i}()\ndef hh{i}(c):\n    return c.lr\n",
            "hh{i}(cfg{i})",
            ["cfg{i}.lr = {v}", "C{i}.lr = {v}"],
        ),
        "asdict": Piece(
            "@dataclasses.dataclass\nclass DA{i}:\n    lr: float = {v}\nda{i} = DA{i}()\n",
            "dataclasses.asdict(da{i})['lr']",
            ["da{i}.lr = {v}"],
        ),
        "weakref": Piece(
            "class K{i}:\n    pass\no{i} = K{i}()\no{i}.s = {v}\nR{i} = weakref.ref(o{i})\n",
            "R{i}().s",
            ["o{i}.s = {v}"],
        ),
        "class_vars": Piece("class K{i}:\n    s = {v}\n", "vars(K{i})['s']", ["K{i}.s = {v}"]),
        "getattribute": Piece(
            "class K{i}:\n    s = {v}\no{i} = K{i}()\n",
            "object.__getattribute__(o{i}, 's')",
            ["o{i}.s = {v}", "K{i}.s = {v}"],
        ),
        "returned": Piece(
            "class C{i}:\n    lr = {v}\ncfg{i} = C{i}()\ndef get{i}():\n    return cfg{i}\n",
            "get{i}().lr",
            ["cfg{i}.lr = {v}", "C{i}.lr = {v}"],
        ),
        "super_method": Piece(
            "class B{i}:\n    def m(self):\n        return {v}\nclass D{i}(B{i}):\n    def m(self):\n"
            "        return super().m() * 2.0\no{i} = D{i}()\n",
            "o{i}.m()",
            ["B{i}.m = lambda self: {v}", "D{i}.m = lambda self: {v}"],
        ),
        "super_data": Piece(
            "class B{i}:\n    s = {v}\nclass M{i}(B{i}):\n    pass\nclass D{i}(M{i}):\n    s = {v}\n"
            "    def m(self):\n        return super(D{i}, self).s\no{i} = D{i}()\n",
            "o{i}.m()",
            ["B{i}.s = {v}", "M{i}.s = {v}", "o{i}.s = {v}"],
        ),
    }


PIECES = pieces()
PRELUDE = (
    "import collections, dataclasses, functools, operator, types, weakref\nimport numpy as np\nimport glassgrad as gg\n"
)


@dataclass
class Case:
    """A function made of pieces: its module source, and the changes it may undergo."""

    source: str
    changes: list[tuple[str, str]]  # (statement, its piece and template)
    named: bool  # compiled with a file's name, or as <string>


def random_case(rng: random.Random) -> Case:
    names = rng.sample(sorted(PIECES), rng.randint(1, 4))
    setups, closures, body, changes = [], [], ["    out = x * W"], []
    for i, name in enumerate(names):
        piece = PIECES[name]

        def fill(text: str, i: int = i) -> str:
            return text.format(i=i, v=rng.choice(VALUES), n=rng.randint(0, 3))

        if piece.setup:
            setups.append(fill(piece.setup))
        if piece.closure:
            closures.append(fill(piece.closure) + f" = {rng.choice(VALUES)}")
        if piece.statement:
            body.append("    " + fill(piece.read))
        elif piece.tensor:
            body.append(f"    out = out + {fill(piece.read)}")
        else:
            body.append(f"    out = out * {fill(piece.read)}")
        for change in piece.changes:
            changes += [(fill(change), f"{name}: {change}") for _ in range(3)]
    cells = [c.split(" = ")[0] for c in closures]
    lines = ["def make():", *("    " + c for c in closures)]
    lines += ["    def f(x):", *("    " + b for b in body), "        return (out * out).sum()"]
    for c in cells:
        lines += [f"    def set_{c[1:]}(v):", f"        nonlocal {c}", f"        {c} = v"]
    lines.append("    return f" + "".join(f", set_{c[1:]}" for c in cells))
    head = "f" + "".join(f", set_{c[1:]}" for c in cells)
    source = PRELUDE + "W = gg.Tensor([0.5, -1.0, 2.0], requires_grad=True)\n"
    source += "\n".join(setups) + "\n" + "\n".join(lines) + f"\n{head} = make()\n"
    return Case(source, changes, rng.random() < 0.8)


_counter = [0]


def load(case: Case) -> dict[str, Any]:
    """Run the case's source in a fresh module of a file's name, or with ``exec`` in a
    namespace of its own, and return its namespace."""
    _counter[0] += 1
    name = f"guardfuzz_{_counter[0]}"
    space: dict[str, Any] = {"__name__": name, "FAKE_DIR": FAKE_DIR}
    filename = "<string>"
    if case.named:
        module = types.ModuleType(name)
        filename = module.__file__ = os.path.join(FAKE_DIR, name + ".py")
        space = vars(module) | space
        module.__dict__.update(space)
        space = vars(module)
        sys.modules[name] = module
    exec(compile(case.source, filename, "exec", dont_inherit=True), space)
    return space


def unload(space: dict[str, Any]) -> None:
    sys.modules.pop(space["__name__"], None)


TRACES = [0]
_compile = tracing._compile


def _counting(*args: Any, **kwargs: Any) -> Any:
    TRACES[0] += 1
    return _compile(*args, **kwargs)


def eager(space: dict[str, Any], x: np.ndarray, params: tuple[Any, ...]) -> tuple[float, list[np.ndarray]]:
    for p in params:
        p.grad = None
    xt = gg.Tensor(x, requires_grad=True)
    out = space["f"](xt)
    out.backward()
    return float(out.data), [xt.grad, *(np.zeros_like(p.data) if p.grad is None else p.grad for p in params)]


def close(a: Any, b: Any) -> bool:
    return bool(np.allclose(a, b, rtol=1e-12, atol=1e-12, equal_nan=True))


def call(step: Any, space: dict[str, Any], x: np.ndarray) -> tuple[str, str]:
    """One call compared with eager glassgrad: (outcome, detail)."""
    before = TRACES[0]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TraceWarning)
            value, grads = step(gg.Tensor(x, requires_grad=True))
    except TraceError as e:
        return ("refused" if str(e).startswith("trace:") else "unclear refusal"), str(e)
    except Exception as e:  # a failure of its own where eager runs is a mismatch
        error: Exception | None = e
    else:
        error = None
    try:
        want, want_grads = eager(space, x, tuple(step.wrt[1:]))
    except Exception as e:  # the function itself fails now: not the step's doing
        return "eager fails", repr(e)
    if error is not None:
        return "mismatch", f"the step raises {error!r}, eager runs"
    if close(float(value), want) and len(grads) == len(want_grads) and all(map(close, grads, want_grads)):
        return ("retraced" if TRACES[0] > before else "equal"), ""
    return "mismatch", f"compiled {float(value)!r} {list(grads)}, eager {want!r} {want_grads}"


def replay(case: Case, change: str, x: np.ndarray) -> str | None:
    """The mismatch with the change alone on a fresh module, if it shows so."""
    space = load(case)
    try:
        step = gg.trace(space["f"], gg.Tensor(x, requires_grad=True))
        exec(change, space)
        outcome, detail = call(step, space, x)
    except Exception:
        return None
    finally:
        unload(space)
    return detail if outcome == "mismatch" else None


def run_case(case: Case, rng: random.Random, counts: dict[str, int], reported: set[str]) -> None:
    space = load(case)
    x = np.array([0.7, -0.3, 1.1])
    try:
        step = gg.trace(space["f"], gg.Tensor(x, requires_grad=True))
    except TraceError:
        counts["refused at trace"] += 1
        unload(space)
        return
    except Exception as e:
        counts["trace fails"] += 1
        if type(e).__name__ not in reported:
            reported.add(type(e).__name__)
            print(f"\ntrace fails: {e!r}\n" + "\n".join("    " + line for line in case.source.splitlines()[4:]))
        unload(space)
        return
    counts["functions"] += 1
    for _ in range(rng.randint(1, 8)):
        change, kind = rng.choice(case.changes)
        try:
            exec(change, space)
        except Exception:
            continue
        counts["changes"] += 1
        if rng.random() < 0.3:
            x = rng.choice([0.5, -2.0, 1.0]) * np.array([rng.uniform(-2, 2) for _ in range(3)])
        outcome, detail = call(step, space, x)
        counts["calls"] += 1
        counts[outcome] += 1
        if outcome == "mismatch":
            counts["SILENT MISMATCH"] += 1
            alone = replay(case, change, x)
            key = kind if alone else case.source
            if key not in reported:
                reported.add(key)
                print(f"\nSILENT MISMATCH [{kind}] after `{change}`" + (" (alone, on a fresh trace)" if alone else ""))
                print(f"  {alone or detail}\n" + "\n".join("    " + line for line in case.source.splitlines()[4:]))
            try:  # start afresh
                step = gg.trace(space["f"], gg.Tensor(x, requires_grad=True))
            except Exception:  # the trace fails as it did at first: counted there
                break
        elif outcome == "unclear refusal" and detail not in reported:
            reported.add(detail)
            print(f"\nunclear TraceError after `{change}`: {detail}")
        elif outcome == "refused":
            break
    unload(space)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=60.0, help="time budget of the whole run")
    args = parser.parse_args()
    tracing._compile = _counting  # counts the traces made, again ones too
    rng = random.Random(args.seed)
    outcomes = ("equal", "retraced", "refused", "eager fails", "unclear refusal", "mismatch")
    counts = dict.fromkeys(
        ("functions", "refused at trace", "trace fails", "changes", "calls", *outcomes, "SILENT MISMATCH"), 0
    )
    reported: set[str] = set()
    start = time.process_time()
    with np.errstate(all="ignore"):
        while time.process_time() - start < args.seconds:
            run_case(random_case(rng), rng, counts, reported)
    cpu = time.process_time() - start
    print(
        f"\nseed {args.seed}, {cpu:.0f} s of CPU: {counts['functions']:,} functions traced "
        f"({counts['refused at trace']:,} refused at trace, {counts['trace fails']:,} failed), "
        f"{counts['changes']:,} changes, {counts['calls']:,} calls"
    )
    for outcome in outcomes[:-1]:
        print(f"  {outcome}: {counts[outcome]:,}")
    print(f"  SILENT MISMATCH: {counts['SILENT MISMATCH']:,} ({len(reported)} distinct reported)")


if __name__ == "__main__":
    main()
