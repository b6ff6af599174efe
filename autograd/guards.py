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
engine's, NumPy's or the standard library's; code run from a string, ``python -c`` or
``exec``, is the user's when it runs in the user's module or in a namespace of its own):

- the globals its code loads by name, and the values of its closure, of the
  function's own and of every helper's it calls, and the values a
  ``functools.partial`` binds to the function's parameters;
- the default arguments (``__defaults__``, ``__kwdefaults__``) of the function and of
  every function of the user's it reaches by those names (a helper, a method): a
  function called with a default reads it as a parameter's value;
- the attributes its code loads of the objects its globals and closure values name
  (a settings object, a module of settings), of its arguments (a method's ``self``,
  a helper's settings object, a property's or descriptor's object) and of the values
  the functions it calls return to it, where the object holds them or its class has
  them as data, and so on down the objects they hold (``config.optimizer.lr``) and
  the objects in their lists, tuples and dicts (at most 256 in one: each costs a
  test at every call, so more are refused); the attributes it reads with ``getattr``
  likewise, by a string or a name its code loads (``getattr(obj, "lr")``,
  ``getattr(obj, field)``; a name an expression computes is refused,
  :class:`TraceError`), and those it looks up with ``getattr`` or ``hasattr`` that
  are absent (``getattr(obj, "lr", 0.1)``), which may come to be; the attributes an
  ``operator.attrgetter`` or ``methodcaller`` names (one the code reads, or makes of
  strings: ``attrgetter("opt.lr")``; one it makes of anything else is refused) and
  those ``object.__getattribute__`` or ``inspect.getattr_static`` read by a string;
  the whole ``__dict__`` of an object read through ``vars(obj)`` or ``obj.__dict__``
  (compared as a dict read), every attribute of a class read so;
- the attribute a ``__getattr__`` (or ``__getattribute__``) of the user's computes,
  an object's or a module's: that neither the object nor its classes come to hold it
  and that the method stays, besides what the method's code reads;
- for a method that calls ``super()``, the attributes its code loads in every class
  of the user's in its object's method resolution order, where ``super()`` looks;
- the whole ``__dict__`` of an object of the user's classes that its code hands to
  the library's (``dataclasses.asdict(config)``), as ``vars(obj)``; and the object
  of a ``weakref.ref`` read, as the ref itself;
- the attributes of the user's classes it gets so (``Cfg.scale``, ``self.scale``
  where the class holds ``scale``, a method): the class that holds one, and each
  class before it in the method resolution order, which may come to hold its own
  (and a global or closure value naming a class of the user's, as any other value),
  with the object's ``__class__`` and the class's ``__mro__``, which assigning
  ``__class__`` or ``__bases__`` changes; and an object's ``__slots__``;
- every attribute of every module whose forward runs, and of the modules inside it;
- what the arrays, lists, dicts, sets, deques and ``array.array``s read hold (their
  subclasses' too: an OrderedDict; a copy, compared at every call), and the values a
  ``functools.partial`` read binds, so that a number or item changed in place is seen.
  An array of over 65,536 numbers is too large to compare at every call: one that the
  compiled step's ops take as an operand (and so read afresh at every call) is guarded
  by identity, any other is refused (:class:`TraceError`);
- the version of each graph value read that requires no grad (a constant Tensor, a
  frozen parameter), and its numbers when it holds at most 65,536: what the trace
  computed from it alone, it computed once.

Not guarded: what the function computes in Python or NumPy from a large array (over
65,536 numbers) the ops also read afresh, or from a large constant Tensor's numbers
changed through ``.data[...]``; the attributes of an object it reaches otherwise than
through the places above, as one only C code or the library's modules hand out (a
``functools.cache`` answering from its cache, ``sys.modules["config"]``); the
attributes of the library's classes (glassgrad's, NumPy's, Python's) and of a
metaclass.
"""

from __future__ import annotations

import array
import collections
import dis
import functools
import gc
import inspect
import operator
import os
import random
import sys
import weakref
from collections.abc import Callable, Iterator
from types import (
    BuiltinMethodType,
    CellType,
    CodeType,
    FrameType,
    FunctionType,
    MemberDescriptorType,
    MethodType,
    ModuleType,
)
from typing import Any

import numpy as np

from . import nn
from .errors import TraceError
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

# The numbers (an array's, or a list's or dict's items) a value read may hold for its
# copy to be compared with it at every call (a pass over 512 KiB of float64: see
# docs/benchmarks.md); a larger array is checked only where the ops read it afresh.
_COMPARED = 65_536
# The objects in a list, tuple or dict read whose attributes are guarded, one test each
# at every call; more are refused (see Reads.unwalked).
_WALKED = 256
_BYTES_COPIED = 4096  # an array compared by its bytes up to this size, else by ==
# The collections whose items may change in place: besides lists and dicts (and their
# subclasses: an OrderedDict, a defaultdict), sets, deques and the standard library's
# arrays, compared by their items (see _Items).
_COLLECTIONS = (list, dict, set, collections.deque, array.array, bytearray)


@functools.cache
def _loads(code: CodeType) -> tuple[frozenset[str], frozenset[str]]:
    """The names ``code`` loads as globals, and as attributes: those it names, those
    ``vars(obj)`` reads (``__dict__``), and those it may read by a string (see
    :func:`_probed`)."""
    names: dict[bool, set[str]] = {True: set(), False: set()}
    for ins in dis.get_instructions(code):
        if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
            names[True].add(ins.argval)
        elif ins.opname in ("LOAD_ATTR", "LOAD_METHOD"):
            names[False].add(ins.argval)
    if "vars" in names[True]:
        names[False].add("__dict__")
    if (names[True] | names[False]) & _BY_STRING:
        names[False].update(_strings(code.co_consts))
    return frozenset(names[True]), frozenset(names[False])


# The functions and attributes that read an attribute named by a string: getattr and
# hasattr, operator's attrgetter and methodcaller, an object's __dict__ (vars(obj)),
# object.__getattribute__ and inspect.getattr_static.
_BY_STRING = frozenset(
    {"getattr", "hasattr", "attrgetter", "methodcaller", "__dict__", "vars", "__getattribute__", "getattr_static"}
)


@functools.cache
def _probed(code: CodeType) -> frozenset[str]:
    """The names ``code`` may look up by a string: the strings among its constants when
    it loads one of :data:`_BY_STRING` (``getattr(obj, "lr", 0.1)``,
    ``vars(obj).get("lr")``, or a name from a tuple of them). Such an attribute may be absent, and read so (a default
    taken, False): its coming to be changes what the code reads."""
    return frozenset(_strings(code.co_consts)) if (_loads(code)[0] | _loads(code)[1]) & _BY_STRING else frozenset()


def _strings(constants: Any) -> Iterator[str]:
    """The identifiers among constants and the tuples and frozensets of them, a dotted
    name's parts (``attrgetter("opt.lr")``) too."""
    for c in constants:
        if isinstance(c, str) and all(part.isidentifier() for part in c.split(".")):
            yield from c.split(".")
        elif isinstance(c, (tuple, frozenset)):
            yield from _strings(c)


_WHOLE = frozenset({"__dict__"})  # the names of an object read whole: vars(obj)

# The callables of the operator module that read attributes by name (their reduction
# names them; see _called).
_CALLERS = (operator.attrgetter, operator.methodcaller)


def _called(caller: Any) -> frozenset[str]:
    """The attributes an ``operator.attrgetter`` or ``methodcaller`` reads of the object
    it is called with: the dotted names it was made with, the method's name."""
    factory, args = caller.__reduce__()
    if isinstance(factory, functools.partial):  # a methodcaller with keywords
        args = factory.args
    names = args if type(caller) is operator.attrgetter else args[:1]
    return frozenset(part for name in names for part in name.split("."))


@functools.cache
def _made_of_computed_names(code: CodeType) -> str | None:
    """Where ``code`` makes an ``attrgetter`` or ``methodcaller`` of anything but
    constants (``attrgetter(prefix + "lr")``, or of a variable): which attributes it
    reads only running it tells (no call of either is seen as it runs). None: nowhere."""
    instructions = _instructions(code)[0]
    for i, ins in enumerate(instructions):
        if ins.argval not in ("attrgetter", "methodcaller") or ins.opname not in _LOADING:
            continue
        after = next((later for later in instructions[i + 1 :] if later.opname not in _CONSTANT), ins)
        if after.opname not in _CALLS:
            line = max((n for start, n in dis.findlinestarts(code) if start <= ins.offset and n), default=0)
            return f"{ins.argval} at line {line or code.co_firstlineno} of {code.co_name}"
    return None


# The instructions that load a callable by name, those that may stand between it and
# its call when the call passes only constants, and the calls (Python 3.10 to 3.14).
_LOADING = frozenset({"LOAD_GLOBAL", "LOAD_NAME", "LOAD_ATTR", "LOAD_METHOD", "LOAD_DEREF"})
_CONSTANT = frozenset({"LOAD_CONST", "LOAD_SMALL_INT", "PUSH_NULL", "KW_NAMES", "CACHE", "EXTENDED_ARG"})
_CALLS = frozenset({"PRECALL", "CALL", "CALL_KW", "CALL_FUNCTION", "CALL_METHOD", "CALL_FUNCTION_KW"})


def _computing(frame: FrameType) -> tuple[Any, Any] | None:
    """The object and the attribute's name, when ``frame`` runs the ``__getattr__`` or
    ``__getattribute__`` of the object's class (a lambda assigned as one too), or the
    ``__getattr__`` of a module (its globals')."""
    code, local = frame.f_code, frame.f_locals
    if code.co_argcount == 2:
        owner = local.get(code.co_varnames[0])
        for hook in ("__getattr__", "__getattribute__"):
            if getattr(inspect.getattr_static(type(owner), hook, None), "__code__", None) is code:
                return owner, local.get(code.co_varnames[1])
    elif code.co_argcount == 1 and getattr(frame.f_globals.get("__getattr__"), "__code__", None) is code:
        module = sys.modules.get(frame.f_globals.get("__name__"))  # type: ignore[arg-type]
        if module is not None and vars(module) is frame.f_globals:
            return module, local.get(code.co_varnames[0])
    return None


def _arguments(code: CodeType) -> int:
    """How many of ``code``'s local variables are its arguments (``*args`` and
    ``**kwargs`` too)."""
    varargs = code.co_flags & inspect.CO_VARARGS, code.co_flags & inspect.CO_VARKEYWORDS
    return code.co_argcount + code.co_kwonlyargcount + sum(map(bool, varargs))


# Instructions between a call's last argument and the call, those that load a value by
# name (a local, a closure's cell, a global, a constant), and those that load two locals.
_CALLING = frozenset({"PRECALL", "KW_NAMES", "CACHE", "EXTENDED_ARG", "PUSH_NULL"})
_NAMED = frozenset(
    {"LOAD_CONST", "LOAD_FAST", "LOAD_FAST_CHECK", "LOAD_FAST_BORROW", "LOAD_DEREF", "LOAD_GLOBAL", "LOAD_NAME"}
)
_PAIRED = frozenset({"LOAD_FAST_LOAD_FAST", "LOAD_FAST_BORROW_LOAD_FAST_BORROW"})


@functools.cache
def _instructions(code: CodeType) -> tuple[list[dis.Instruction], dict[int, int]]:
    """The instructions of ``code``, and their indices by offset."""
    instructions = list(dis.get_instructions(code))
    return instructions, {ins.offset: i for i, ins in enumerate(instructions)}


def _getattr_name(frame: FrameType) -> Any:
    """The name a frame's ``getattr`` call about to run reads, when the code loads it
    by name (``getattr(obj, name)``: the value of ``name`` now); MISS when an
    expression computes it (``getattr(obj, prefix + "lr")``), which only running it
    tells. The arguments are found by the values each instruction before the call
    pushes; a jump into them (a conditional expression) leaves the name unknown."""
    instructions, index = _instructions(frame.f_code)
    at = index.get(frame.f_lasti)
    argc = None if at is None else instructions[at].arg
    if at is None or argc is None or argc not in (2, 3):
        return _MISS
    below = argc - 2  # the default getattr may take, above the name
    i = at - 1
    while i >= 0 and instructions[i].opname in _CALLING:
        i -= 1
    pushed = 0
    while pushed < below and i >= 0:
        pushed += dis.stack_effect(instructions[i].opcode, instructions[i].arg, jump=False)
        i -= 1
    if pushed != below or i < 0 or any(ins.is_jump_target for ins in instructions[i + 1 : at + 1]):
        return _MISS
    ins = instructions[i]
    if ins.opname in _PAIRED:  # getattr(obj, name), both locals: the second is the name
        return frame.f_locals.get(ins.argval[1], _MISS)
    if ins.opname not in _NAMED or dis.stack_effect(ins.opcode, ins.arg, jump=False) != 1:
        return _MISS
    if ins.opname == "LOAD_CONST":
        return ins.argval
    if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
        builtins = frame.f_builtins
        return frame.f_globals.get(ins.argval, builtins.get(ins.argval, _MISS))
    return frame.f_locals.get(ins.argval, _MISS)


@functools.cache
def _is_library(filename: str) -> bool:
    if filename.startswith(("<frozen ", "<string>")):
        return True
    path = os.path.realpath(filename)
    if filename.startswith(_ENGINE) or path.startswith(_ENGINE):
        return True
    return path.startswith(_STDLIB) and not path[len(_STDLIB) :].startswith(("site-packages", "dist-packages"))


def _library_code(code: CodeType, space: dict[str, Any]) -> bool:
    """Whether code run in the globals ``space`` (a frame's, a function's) is the
    library's, not the user's. Code run from a string (``python -c``, ``exec``)
    belongs to the module whose globals it runs in: the user's unless a library's
    (dataclasses write a class's methods into its module); in a namespace of no
    module, it is the user's, but for the constructors the standard library writes
    for named tuples."""
    filename = code.co_filename
    if filename != "<string>":
        return _is_library(filename)
    name = space.get("__name__")
    module = sys.modules.get(name) if isinstance(name, str) else None
    if module is not None and vars(module) is space:  # no file: __main__ under python -c
        file = getattr(module, "__file__", None)
        return file is not None and _is_library(file)
    return isinstance(name, str) and name.startswith("namedtuple_")


def _library_module(module: ModuleType) -> bool:
    """Whether a module is the library's: one of no file is, but ``__main__`` (under
    ``python -c``)."""
    file = getattr(module, "__file__", None)
    return module.__name__ != "__main__" if file is None else _is_library(file)


def _library_class(kind: type) -> bool:
    """Whether a class is the library's (its module's; a class of no module known is
    the user's)."""
    module = sys.modules.get(kind.__module__)
    return module is not None and _library_module(module)


def _worth(value: Any) -> bool:
    """Whether a value read may change what the trace records (modules and the
    library's classes are taken as fixed: guarding them costs at every call and
    catches no real change; a name bound to another class of the user's reads that
    class's attributes)."""
    return not isinstance(value, ModuleType) and not (isinstance(value, type) and _library_class(value))


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
        self.closures: set[CodeType] = set()  # the codes whose functions' cells are noted
        # the objects walked, by id and names (see _attributes), each kept: a temporary's
        # id freed may be another's later
        self.walked: dict[tuple[int, frozenset[str]], Any] = {}
        self.unwalked = 0  # the most objects in a container read, when over _WALKED
        self.computed: str | None = None  # where getattr reads a name an expression makes
        self.probed: set[str] = set()  # the names getattr and hasattr look up (see _names)
        self.got: dict[int, _Got] = {}  # the objects read by getattr, one place each
        # the attributes that the attrgetters and methodcallers among the values read read
        self.called: frozenset[str] = frozenset()
        bound: list[tuple[dict[str, Any], str]] = []  # (namespace, name) of the values bound
        while isinstance(fn, functools.partial):
            args = {f"argument {i}": v for i, v in enumerate(fn.args)}
            bound += [(args, k) for k in args] + [(fn.keywords, k) for k in fn.keywords]
            fn = fn.func
        func = getattr(fn, "__func__", fn)
        code, cells = getattr(func, "__code__", None), getattr(func, "__closure__", None) or ()
        attributes = self._names(code) if code else frozenset()
        for name, cell in zip(code.co_freevars if code else (), cells):
            self._add(cell, name)
            self._attributes(_read(cell, name), attributes)
        if code is not None:  # its cells are known: no search for its code's functions
            self.closures.add(code)
        self._defaults(func)
        for space, name in bound:  # read like a closure's values
            self._add(space, name)
            self._attributes(space[name], attributes)
        # the traced function's code, and the values bound to its parameters (see _getattr)
        self.code, self.bound = code, [space[name] for space, name in bound]
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
        self._defaults(value)

    def _defaults(self, function: Any) -> None:
        """Note the default arguments of a function of the user's (or a method's), which
        its code reads as its parameters' values, and what they hold: a function traced
        or called with a default keeps it until ``__defaults__`` or ``__kwdefaults__``
        is rebound. None binds nothing, and stays unguarded: defaults set later only
        fill parameters that every call passes."""
        if isinstance(function, functools.partial):  # its bound values fill parameters
            name = getattr(function.func, "__qualname__", "a partial")
            bound = {
                f"the keywords bound to {name}": function.keywords,
                f"the arguments bound to {name}": function.args,
            }
            for key in bound:  # the keywords dict may change in place (partial.keywords[k] = v)
                self._add(bound, key)
            function = function.func
        if isinstance(function, MethodType):  # not getattr: it would run a __getattr__ of the user's
            function = function.__func__
        if type(function) is not FunctionType or _library_code(function.__code__, function.__globals__):
            return
        attributes = self._names(function.__code__)
        for key in ("__defaults__", "__kwdefaults__"):
            values = getattr(function, key)
            if values is not None:
                self._add(function, key)
                for value in values.values() if type(values) is dict else values:
                    self._generator(value)
                self._attributes(values, attributes)

    def frame(self, frame: FrameType) -> None:
        """Note what the code of a frame that starts may read: its globals, and its
        ``self``'s attributes (all of them for a module)."""
        code = frame.f_code
        if code is _MODULE_RUN:  # the engine's call of a module's forward
            module = frame.f_locals["self"]
            self.modules[id(module)] = module
            return
        if _library_code(code, frame.f_globals):
            self._handed(frame)
            return
        if code.co_freevars and code not in self.closures:
            self._closures(code)
        attributes = self._names(code)
        if attributes & {"attrgetter", "methodcaller"} or _loads(code)[0] & {"attrgetter", "methodcaller"}:
            self.computed = self.computed or _made_of_computed_names(code)
        called = self.called
        self._walk(frame, attributes | called)
        if self.called != called:  # an attrgetter or methodcaller among them: what it reads too
            self._walk(frame, attributes | self.called)
        computing = _computing(frame)
        if computing is not None:
            self._dunder_getattr(*computing)
        if "super" in _loads(code)[0] and code.co_argcount:
            self._super(frame.f_locals.get(code.co_varnames[0]), attributes)
        if "random" in attributes:  # np.random.normal(...): the global generator
            self._generator(np.random.mtrand._rand)

    def _handed(self, frame: FrameType) -> None:
        """Note the whole ``__dict__`` of the objects of the user's classes that the
        user's code hands to the library's (``dataclasses.asdict(config)``,
        ``copy.deepcopy``), which may read any of their attributes, and any of those
        (a weakref's object too) held by them, as ``vars(obj)`` reads them. A module is
        read as any module is (every attribute, by the counter of assignments)."""
        caller = frame.f_back
        if caller is None or _library_code(caller.f_code, caller.f_globals):
            return
        code = frame.f_code
        for name in code.co_varnames[: _arguments(code)]:
            value = frame.f_locals.get(name)
            kind = type(value)
            if not isinstance(value, (type, nn.Module, Node)) and not _library_class(kind):
                self._attributes(value, _WHOLE)

    def _walk(self, frame: FrameType, attributes: frozenset[str]) -> None:
        """Note the globals a frame's code loads, and the ``attributes`` of those, of
        its closure's values and of its arguments (a method's ``self``, a helper's
        settings object, a property's or a descriptor's object)."""
        space = frame.f_globals
        code = frame.f_code
        for name in _loads(code)[0]:
            if name in space:
                self._add(space, name)
                self._attributes(space[name], attributes)
        for name in (*code.co_varnames[: _arguments(code)], *code.co_freevars):
            self._attributes(frame.f_locals.get(name), attributes)

    def _dunder_getattr(self, owner: Any, name: Any) -> None:
        """Note what an object's ``__getattr__`` (or ``__getattribute__``, or a
        module's ``__getattr__``) computing the attribute ``name`` depends on besides
        what its code reads: that neither the object nor a class of its class's method
        resolution order comes to hold ``name`` (which the lookup would find first), and
        which method computes it."""
        if not isinstance(name, str):
            return
        self.probed.add(name)
        if isinstance(owner, ModuleType):
            self._add(owner, name)
        else:
            self._attributes(owner, frozenset({name, "__getattr__", "__getattribute__"}))

    def returned(self, frame: FrameType, value: Any) -> None:
        """Note the attributes that the code a frame returns to loads of the value it
        returns (``settings().lr``), as of the values that code reads by name."""
        caller = frame.f_back
        if isinstance(value, Node) or value is None or caller is None:  # an op's result: nothing to note
            return
        if not _library_code(caller.f_code, caller.f_globals):
            self._attributes(value, self._names(caller.f_code) | self.called)

    def _super(self, owner: Any, names: frozenset[str]) -> None:
        """Note the ``names`` of the user's classes that ``super()`` in a method of
        ``owner`` (its ``self`` or ``cls``) may get: every class of its method
        resolution order that holds one, and the others, which may come to hold it
        (``super()`` looks past the classes the object's own lookup stops at)."""
        kind = owner if isinstance(owner, type) else type(owner)
        mine = [k for k in kind.__mro__ if not _library_class(k)]
        for name in names:
            if any(name in vars(k) for k in mine):
                self._add(self._got_from(kind), "__mro__")
                for k in mine:
                    self._add(k, name)

    def _names(self, code: CodeType) -> frozenset[str]:
        """The attributes ``code`` loads, its probed names noted (see :func:`_probed`)."""
        self.probed |= _probed(code)
        return _loads(code)[1]

    def _closures(self, code: CodeType) -> None:
        """Note the cells of the functions that run ``code`` (a helper's closure): a frame
        does not name its function, the garbage collector's referrers of its code do,
        and every one of them is noted, since which one runs cannot be told apart."""
        self.closures.add(code)
        attributes = _loads(code)[1]
        for function in gc.get_referrers(code):
            if type(function) is FunctionType and function.__code__ is code:
                for name, cell in zip(code.co_freevars, function.__closure__ or ()):
                    self._add(cell, name)
                    self._attributes(_read(cell, name), attributes)

    def c_call(self, frame: FrameType, function: Any) -> None:
        """Note a call of a function written in C from a frame: a draw from Python's
        random numbers, a ``getattr`` or ``hasattr`` of the user's code."""
        if function is getattr or function is hasattr:
            if not _library_code(frame.f_code, frame.f_globals):
                self._getattr(frame, function.__name__)
        elif isinstance(getattr(function, "__self__", None), random.Random):
            self.python_draw = True

    def _getattr(self, frame: FrameType, looks: str) -> None:
        """Note the attribute a frame's ``getattr`` (or ``hasattr``: ``looks``) call
        reads, as if its code loaded it by name (a string constant's is: see
        :func:`_loads`): where the name is a variable, of the objects the frame's code
        reaches by the names it loads (its globals, its closure's values, its
        ``self``, the values bound to the traced function's parameters). A name an
        expression computes is noted, and refused after the run."""
        name = _getattr_name(frame)
        code = frame.f_code
        if name is _MISS:
            self.computed = self.computed or f"{looks} at line {frame.f_lineno} of {code.co_name}"
            return
        attributes = self._names(code) | self.called
        if not isinstance(name, str) or name in attributes:  # not a name: getattr raises
            return
        self.probed.add(name)
        attributes |= {name}
        self._walk(frame, attributes)
        for root in self.bound if code is self.code else ():
            self._attributes(root, attributes)

    def _attributes(self, owner: Any, names: frozenset[str], seen: set[int] | None = None) -> None:
        """Note the attributes among ``names`` that ``owner`` holds in its ``__dict__``
        (a method's ``self``, a settings object or module of the user's), or all of
        them for a module of glassgrad's; and so on down the objects they hold, and the
        objects in the lists, tuples and dicts they hold (``config.optimizer.lr``: the
        code loads both names)."""
        if seen is None:  # a frame's read: the same object and names are walked once
            if (id(owner), names) in self.walked:
                return
            self.walked[id(owner), names] = owner
            seen = set()
        if id(owner) in seen:
            return
        seen.add(id(owner))
        if type(owner) in _CALLERS:  # the attributes it reads, of the objects it is called with
            self.called |= _called(owner)
            return
        if type(owner) is weakref.ref:  # its object, which it holds for good or drops
            self._attributes(owner(), names, seen)
            return
        if isinstance(owner, (list, tuple)) or type(owner) is dict:
            items = list(owner.values()) if type(owner) is dict else owner
            if len(items) <= _WALKED:
                for item in items:
                    self._attributes(item, names, seen)
                return
            for item in items:  # modules cost nothing at every call (their counter)
                if isinstance(item, nn.Module):
                    self.modules[id(item)] = item
                elif names & getattr(item, "__dict__", {}).keys():
                    self.unwalked = max(self.unwalked, len(items))  # refused after the run
            return
        if isinstance(owner, nn.Module):  # every attribute, by the modules' counter of assignments
            self.modules[id(owner)] = owner
            held = vars(owner)
            names = self._whole(owner, names, seen)
            for name in names & held.keys():
                if _mutable(held[name]):  # and what one the code loads holds, changed in place
                    self._add(owner, name)
                self._attributes(held[name], names, seen)
            for name in names - held.keys():  # a class's: no assignment to the module
                self._class_attribute(type(owner), name, names, seen)
            return
        if isinstance(owner, type):
            if "__dict__" in names and not _library_class(owner):  # vars(Cls): every attribute it holds
                for name in vars(owner):
                    self._add(owner, name)
            for name in names:
                self._class_attribute(owner, name, names, seen)
            return
        kind, space = type(owner), getattr(owner, "__dict__", None)
        own = isinstance(space, dict)  # whether it may come to hold an attribute of its own
        if isinstance(owner, Node) or (not own and _library_class(kind)):
            return  # a library's object without attributes of its own (a number, an array)
        if isinstance(owner, ModuleType) and _library_module(owner):
            return
        held = space if isinstance(space, dict) else {}  # else an object with __slots__
        if own:
            names = self._whole(owner, names, seen)
        classed = False  # whether its class gives an attribute read: the class may be swapped
        for name in names:
            if name in held:
                self._add(owner, name)
                self._attributes(held[name], names, seen)
            elif type(inspect.getattr_static(kind, name, None)) is MemberDescriptorType:  # a slot
                self._add(self._got_from(owner), name)
                self._attributes(getattr(owner, name, None), names, seen)
                classed = True
            # a user's class's attribute (or one probed), or a library class's default it
            # may get (not a method): the object may come to hold its own
            elif self._class_attribute(kind, name, names, seen):
                if own:
                    self._add(owner, name)
                classed = True
            elif own and not hasattr(inspect.getattr_static(kind, name, _NO_DATA), "__get__"):
                self._add(owner, name)
        if classed and not _library_class(kind):  # obj.__class__ = Other
            self._add(self._got_from(owner), "__class__")

    def _whole(self, owner: Any, names: frozenset[str], seen: set[int]) -> frozenset[str]:
        """Note the whole ``__dict__`` of an object whose ``__dict__`` the code reads
        (``vars(obj)``): every attribute it holds, compared at every call as a dict
        read, and what they hold; returns the other names."""
        if "__dict__" not in names:
            return names
        self._add(self._got_from(owner), "__dict__")
        self._attributes(vars(owner), names, seen)
        return names - {"__dict__"}

    def _got_from(self, owner: Any) -> _Got:
        """The place of ``owner``'s attributes read by getattr at every call."""
        got = self.got.get(id(owner))
        if got is None:
            got = self.got[id(owner)] = _Got(owner)
        return got

    def _class_attribute(self, kind: type, name: str, names: frozenset[str], seen: set[int]) -> bool:
        """Note where a class of the user's gets an attribute ``name`` (its methods too):
        the class of its method resolution order that holds it, and those before it,
        which may come to hold their own; and so on down what it holds. A name probed
        (see :func:`_probed`) that no class holds: where each of the user's classes may
        come to hold it. Returns whether the user's class gives it, or may (a library's
        class is taken as fixed)."""
        mro = kind.__mro__
        holder = next((k for k in mro if name in vars(k)), None)
        if holder is None:
            if name not in self.probed or all(map(_library_class, mro)):
                return False
            upto = mro
        elif _library_class(holder):
            return False
        else:
            upto = mro[: mro.index(holder) + 1]
        self._add(self._got_from(kind), "__mro__")  # a base swapped: Cls.__bases__ = (Other,)
        for before in upto:
            if not _library_class(before):
                self._add(before, name)
        if holder is not None and not hasattr(vars(holder)[name], "__get__"):  # data, not a method
            self._attributes(vars(holder)[name], names, seen)
        return True

    def _generator(self, value: Any) -> None:
        if isinstance(value, (MethodType, BuiltinMethodType)):  # a generator's method: rng.random
            value = value.__self__
        if isinstance(value, _generator_types()) and id(value) not in self.generators:
            self.generators[id(value)] = value, _state(value)

    def unchecked(self) -> tuple[str, str] | None:
        """What the function read that no guard can test at every call, and what to do
        instead, in words."""
        if self.computed is not None:
            return (
                f"reads an attribute by a name it computes ({self.computed}): which attribute that is only running "
                "the function tells, so no test at every call can check it for changes",
                'Name it with a string (getattr(obj, "name"), attrgetter("name")) or, in getattr, a variable '
                "(getattr(obj, name))",
            )
        if self.unwalked:
            return (
                f"reads the attributes of the objects in a container of {self.unwalked:,} items (over {_WALKED:,}): "
                "too many to check at every call for changes",
                "Pass the values it reads as inputs",
            )
        return None

    def drawn(self) -> str | None:
        """The random number generator the function drew from, if any (its type)."""
        if self.python_draw:
            return "random.Random"
        for generator, state in self.generators.values():
            if not _same_state(_state(generator), state):
                return f"{type(generator).__module__}.{type(generator).__name__}"
        return None

    def guard(self, live: set[int]) -> Guard:
        """The guard of what was read, holding the values read now; ``live``: the ids of
        the arrays the compiled step's ops read afresh at every call."""
        modules = {id(m): m for top in self.modules.values() for m in top.modules()}
        return Guard(list(self.places.values()), list(modules.values()), live)


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


class _Got:
    """The place of an object's attributes that its ``__dict__`` does not hold, read by
    getattr: a slot's value, an object's ``__class__``, a class's ``__mro__``."""

    __slots__ = ("owner",)

    def __init__(self, owner: Any) -> None:
        self.owner = owner


def _read(holder: Any, key: str) -> Any:
    """The value at a place: a global (holder: the globals), a cell, a function's
    defaults, an attribute (of an object or a class; of its slots, its class)."""
    if type(holder) is _Got:
        return getattr(holder.owner, key, _MISS)
    if type(holder) is dict:
        return holder.get(key, _MISS)
    if type(holder) is CellType:
        try:
            return holder.cell_contents
        except ValueError:  # empty
            return _MISS
    if type(holder) is FunctionType:
        return getattr(holder, key)
    return vars(holder).get(key, _MISS)


def _named(holder: Any, key: str) -> str:
    """A place in words: a class's attribute and a function's defaults by the name of
    their holder (``Cfg.scale``, ``loss.__defaults__``), others by their own."""
    holder = holder.owner if type(holder) is _Got else holder
    if key == "__dict__":  # vars(obj), or an object handed to the library's code: read whole
        return f"every attribute of a {type(holder).__name__} object"
    if isinstance(holder, (type, FunctionType)):
        return f"{holder.__qualname__}.{key}"
    return key


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


def _mutable(value: Any) -> bool:
    """Whether a value holds numbers or items that may change in place (an array, a
    list, a dict, another collection of _COLLECTIONS, or a tuple of them)."""
    if isinstance(value, (np.ndarray, _COLLECTIONS)):
        return True
    return type(value) is tuple and any(map(_mutable, value))


def _snapshot(value: Any) -> Any:
    """A copy of what a value holds now: its arrays, lists and dicts copied all the way
    down, any other object itself."""
    if isinstance(value, np.ndarray):
        return np.array(value)
    if type(value) in (list, tuple):
        return type(value)(map(_snapshot, value))
    if type(value) is dict:
        return {k: _snapshot(v) for k, v in value.items()}
    if isinstance(value, _COLLECTIONS):
        return _Items(value)
    return value


def _items(collection: Any) -> list[Any]:
    """A collection's items in order, a mapping's as (key, value) pairs."""
    return list(collection.items()) if isinstance(collection, dict) else list(collection)


class _Items:
    """The snapshot of a collection of another type than list, tuple and dict (a set, a
    deque, a subclass of dict): its type, and a snapshot of its items in order."""

    __slots__ = ("items", "kind")

    def __init__(self, collection: Any) -> None:
        self.kind = type(collection)
        self.items = _snapshot(_items(collection))


def _numbers(value: Any) -> int:
    """How many numbers and other items a value holds, its arrays' numbers counted."""
    if isinstance(value, np.ndarray):
        return int(value.size)
    if type(value) in (list, tuple):
        return sum(map(_numbers, value))
    if type(value) is dict:
        return sum(map(_numbers, value.values()))
    if isinstance(value, _COLLECTIONS):
        return sum(map(_numbers, _items(value)))
    return 1


def _same_content(now: Any, then: Any) -> bool:
    """Whether a value holds what its snapshot ``then`` holds: arrays of the same shape
    and dtype and equal numbers (or the same bytes: a NaN equals itself), lists, tuples
    and dicts of such items, the same objects or equal numbers."""
    if isinstance(then, np.ndarray):
        if not isinstance(now, np.ndarray) or now.shape != then.shape or now.dtype != then.dtype:
            return False
        if then.nbytes <= _BYTES_COPIED:  # two small copies: some 70 ns, where == takes 1–4 µs
            return now.tobytes() == then.tobytes()
        # == without copies (a large copy costs its pages); the bytes when it fails: a NaN
        return bool((now == then).all()) or now.tobytes() == then.tobytes()
    if type(then) in (list, tuple):
        return type(now) is type(then) and len(now) == len(then) and all(map(_same_content, now, then))
    if type(then) is dict:
        return type(now) is dict and now.keys() == then.keys() and all(_same_content(now[k], then[k]) for k in then)
    if type(then) is _Items:
        return type(now) is then.kind and _same_content(_items(now), then.items)
    return now is then or (isinstance(then, _NUMBERS) and type(now) is type(then) and bool(now == then))


def _snapshot_of(key: str, value: Any, live: set[int]) -> Any:
    """The snapshot a guard compares a value read with at every call: MISS for a value
    that holds nothing that changes in place, and for an array too large to compare
    that the compiled step's ops read afresh at every call (``live``: their ids); any
    other value too large to compare is refused."""
    if not _mutable(value):
        return _MISS
    if _numbers(value) <= _COMPARED:
        return _snapshot(value)
    if id(value) in live:
        return _MISS
    raise _unchecked(key, value)


def _holds(now: Any, snapshot: Any) -> bool:
    """Whether a value holds what its snapshot holds (MISS: not compared)."""
    return snapshot is _MISS or _same_content(now, snapshot)


def _unchecked(key: str, value: Any) -> TraceError:
    """The refusal of a value too large to compare at every call."""
    n = _numbers(value)
    held = (
        f"an array of {n:,} numbers"
        if isinstance(value, np.ndarray)
        else f"a {type(value).__name__} of {n:,} numbers and items"
    )
    return TraceError(
        f"trace: the function reads {key}, {held}, from outside its inputs and computes with it outside the ops "
        f"that read it afresh at every call: over {_COMPARED:,} numbers, it is too large to compare at every call "
        "for changes made in place, and the compiled step would reuse what it computed. Pass it as an input of "
        "the compiled step, or hand it to the ops as it is."
    )


class Guard:
    """The values a trace read and where: :meth:`tests` writes the compiled step's test
    of them (identity: a few attribute reads per call), :meth:`holds` compares them by
    value when that test fails."""

    def __init__(self, places: list[tuple[Any, str]], modules: list[nn.Module], live: set[int]) -> None:
        self.places = places
        self.values = [_read(h, k) for h, k in places]
        # What the arrays, lists and dicts read hold now, to compare at every call (MISS:
        # nothing that changes in place, or a large array the ops read afresh).
        self.snapshots = [_snapshot_of(_named(h, k), v, live) for (h, k), v in zip(places, self.values)]
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
        # and their numbers, changed in place through .data (a large one: by version only)
        self.datas = [_snapshot(c._data) if np.size(c._data) <= _COMPARED else _MISS for c in self.constants]
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
            if type(holder) is _Got:  # an empty slot raises AttributeError: the entry's MISS
                namespace[f"holder{i}"] = holder.owner
                tests.append(f"holder{i}.{key} is read{i}")
            elif type(holder) is dict:
                tests.append(f"holder{i}[{key!r}] is read{i}")
            elif type(holder) is CellType:
                tests.append(f"holder{i}.cell_contents is read{i}")
            elif type(holder) is FunctionType:
                tests.append(f"holder{i}.{key} is read{i}")
            elif self.values[i] is _MISS:  # the class's default was read
                tests.append(f"{key!r} not in holder{i}.__dict__")
            else:
                tests.append(f"holder{i}.__dict__[{key!r}] is read{i}")
        namespace["same"] = _same_content
        for i, snapshot in enumerate(self.snapshots):
            if snapshot is not _MISS:
                namespace[f"snapshot{i}"] = snapshot
                tests.append(f"same(read{i}, snapshot{i})")
        for i, (constant, version, data) in enumerate(zip(self.constants, self.versions, self.datas)):
            namespace[f"constant{i}"] = constant
            tests.append(f"constant{i}._version() == {version}")
            if data is not _MISS:
                namespace[f"data{i}"] = data
                tests.append(f"same(constant{i}._data, data{i})")
        return tests

    def _values(self) -> dict[str, Any]:
        return {"assigned": self.assignments, **{f"read{i}": v for i, v in enumerate(self.values)}}

    def holds(self) -> bool:
        """Whether every read would give what it gave when traced; when it would, the
        entries' tests take the values of now."""
        values = [_read(h, k) for h, k in self.places]
        if not all(map(_same, values, self.values)) or not all(map(_holds, values, self.snapshots)):
            return False
        if [c._version() for c in self.constants] != self.versions:
            return False
        if not all(_holds(c._data, data) for c, data in zip(self.constants, self.datas)):
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
        for (holder, key), then, snapshot in zip(self.places, self.values, self.snapshots):
            now = _read(holder, key)
            if not _same(now, then):
                return f"{_named(holder, key)} holds another value"
            if not _holds(now, snapshot):
                return f"{_named(holder, key)} holds other {'numbers' if isinstance(now, np.ndarray) else 'items'}"
        for constant, version, data in zip(self.constants, self.versions, self.datas):
            if constant._version() != version or not _holds(constant._data, data):
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
        twin.snapshots = [_copied(s, memo) for s in self.snapshots]
        twin.datas = self.datas  # copies of arrays: the twin compares its constants with them
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
    if type(value) is _Got:
        return _Got(_copied(value.owner, memo))
    if type(value) is list:
        return [_copied(v, memo) for v in value]
    if type(value) is dict:
        return {k: _copied(v, memo) for k, v in value.items()}
    return memo.get(id(value), value)
