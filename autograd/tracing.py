"""Trace once, replay fast: a function's forward and backward pass as straight-line code.

``trace(f, *example_inputs)`` runs ``f`` once on the engine, reads the graph it
recorded, and writes the whole computation out as one Python function: each op's
forward, then the chain rule from the output back to every input, one line per step::

    v = f(x, …)                  forward, op by op, in the order they ran
    ∂L/∂L = 1                    the seed
    ∂L/∂u = Σ (∂L/∂v · ∂v/∂u)    one contribution per use of u, newest op first

The lines are the ops' own ``forward`` and ``backward`` bodies, written out with the
values' names by inlining.py: what is fixed for the traced shapes (parameters, shapes,
which inputs need a gradient) is settled at trace time, what ``forward`` saves for
``backward`` becomes plain variables, and an op the inliner cannot write out is called
instead. The replay computes exactly what eager glassgrad computes, domain checks
included, without building a graph: no nodes, no dispatch, no bookkeeping per op.
``compiled.source`` is that code.

The rules of tracing (as in any tracer, ``jax.jit`` among them):

- The trace records the ops that ran for the example inputs; the replay runs those
  ops again on new values, and nothing else.
- So while tracing, a value computed from the inputs or from parameters refuses to
  hand its numbers to Python (``x > 0``, ``x.item()``, ``float(x)``, ``x.data``,
  ``np.asarray(x)``, ``x.detach()``, ``argmax(x)``) with :class:`TraceError`: a
  branch on them (``if loss.item() > 1``) or a mask made from them would be replayed
  as it was traced. Ops that choose element by element (``relu``, ``clip``, ``abs``,
  ``np.maximum``, ``np.minimum``) read the values at every call.
- For the same reason, ``f`` may not compute from them under ``no_grad()``, change a
  parameter (in place or by assigning ``.data``), put a hook on any value or
  ``retain_grad()`` on a value it computes, or draw random numbers outside an op
  (:class:`TraceError`): none of these is an op of the graph the replay runs. Nor
  may it read a value an op made before the trace (``h = w * 2`` outside ``f``): the
  replay would compute it again, where eager glassgrad reuses it.
- Calling the compiled step with inputs of another shape or dtype traces ``f``
  again for them (each signature is traced once and kept), and so does a parameter
  frozen or unfrozen (``requires_grad``) after the trace.
- Values computed inside ``f`` from nothing but constants (no input, no parameter that
  requires grad) are computed once, at trace time, and Python control flow on them is
  fixed then. What ``f`` reads from outside to compute them or to choose its ops is
  checked at every call (guards.py): a global or closure value (a learning rate), also
  of the helpers it calls, or one a ``functools.partial`` or a default argument binds
  (``__defaults__`` and ``__kwdefaults__`` rebound too, of the helpers as well), a
  module's attributes (its ``training`` flag, a layer or parameter it holds), the
  attributes it reads of a method's ``self``, of a settings object a global names, of
  a helper's arguments and of what a helper returns, by name, by ``getattr`` (a name
  an expression computes, or an ``attrgetter`` made of one: :class:`TraceError`; one
  absent when traced, read by ``getattr`` with a default or ``hasattr``, set later),
  through ``vars(obj)`` or ``obj.__dict__``, an ``operator.attrgetter`` or
  ``methodcaller``, a descriptor or property of the user's, ``super()``, or a
  ``__getattr__`` (and that the object comes to hold no such attribute), and further
  down (``config.optimizer.lr``, the objects of a list: over 256 in one,
  :class:`TraceError`), the attributes of the user's classes read so (``Cfg.scale``,
  ``self.scale`` held by the class, a method; ``Cfg`` rebound), the numbers and items
  of the arrays, lists and dicts it reads, also when changed in place, the data of a
  constant Tensor or frozen parameter read.
  When one is another value than when traced, the step takes the program it traced for
  that value, if it kept one (the last four per signature: ``model.train()`` and
  ``model.eval()`` in turn are traced once each), or traces ``f`` again (the fifth
  time, it says why with a :class:`TraceWarning`: a value that changes at every call
  is an input). An array of over 65,536 numbers is too large to compare at every call:
  the trace refuses it (:class:`TraceError`) unless its ops take it as it is, reading
  it afresh at every call; pass such an array as an input.
- Parameters ``f`` reads from outside (a model's weights) are read afresh at every
  call, so an optimizer's updates between calls are seen, and so are their hooks.
- Under ``detect_anomaly()``, a call whose value or gradient is NaN or inf runs ``f``
  again eagerly, so that the anomaly mode names the op that made it.
"""

from __future__ import annotations

import ast
import copy
import functools
import inspect
import math
import operator
import os
import re
import sys
import unicodedata
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import numpy as np

from . import state
from .errors import GlassgradError, GradError, TraceError, TraceWarning
from .graph import Function, Node, RawCtx, record_sites, run_backward, run_hooks, tick, walk
from .guards import Guard, Reads
from .inlining import CtxView, Giveup, Known, Record, Results, Value, global_names, inline
from .ops.base import call as ops_call
from .ops.base import sum_to
from .ops.kernels import kernels_for
from .scalar import Scalar
from .tensor import Tensor

__all__ = ["Compiled", "TraceError", "TraceWarning", "trace"]

_RETRACES_TOLD = 5  # traces made again after which the step says why, once
_VARIANTS = 4  # programs kept per signature, each for other values read from outside

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _literal(value: Any) -> ast.expr | None:
    """``value`` as a literal expression, when its repr reads back as the same value."""
    try:
        expr = ast.parse(repr(value), mode="eval").body
        same = ast.literal_eval(expr) == value
    except (SyntaxError, ValueError, TypeError):
        return None
    return expr if same is True else None


# ---------------------------------------------------------------------------------------
# Naming values as the user did
# ---------------------------------------------------------------------------------------


@contextmanager
def _watch(names: dict[int, str], reads: Reads) -> Iterator[None]:
    """While active, note what the frames that start may read from outside (``reads``),
    and record the local variable names of the user's frames that hold graph values
    (id → name; the first name seen when a frame returns wins)."""

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            reads.frame(frame)
        elif event == "c_call":
            reads.c_call(frame, arg)
        elif event == "return":
            reads.returned(frame, arg)
            if frame.f_code.co_filename.startswith(_PACKAGE_DIR) or _op_body(frame):
                return
            for name, value in frame.f_locals.items():
                if isinstance(value, Node) and name.isidentifier():
                    names.setdefault(id(value), name)

    previous: Any = sys.getprofile()  # a function, or a profiler written in C
    sys.setprofile(profile)
    try:
        yield
    finally:
        if previous is None or callable(previous):
            sys.setprofile(previous)
        else:  # a profiler written in C (cProfile): sys.setprofile takes only functions
            previous.enable()


def _op_body(frame: FrameType) -> bool:
    """Whether ``frame`` runs an op's own forward or backward (a user's op): its names
    (``ctx``, the output node itself) are the op's, not the user's."""
    code = frame.f_code
    if code.co_name not in ("forward", "backward") or not code.co_argcount:
        return False
    return isinstance(frame.f_locals.get(code.co_varnames[0]), (Node, RawCtx))


def _outer_names(fn: Callable[..., Any]) -> dict[int, str]:
    """Names ``fn`` gives the graph values it reads from outside: its closure's and
    globals' names, and for a method or a Module, its parameters' attribute names."""
    names: dict[int, str] = {}
    owner = getattr(fn, "__self__", None)
    for source in (owner, fn):
        if source is not None and hasattr(source, "named_parameters"):
            names.update((id(p), name.replace(".", "_")) for name, p in source.named_parameters())
    if owner is not None:
        names.update((id(v), k) for k, v in vars(owner).items() if isinstance(v, Node))
    code = getattr(fn, "__code__", None)
    if code is not None:
        cells = zip(code.co_freevars, getattr(fn, "__closure__", None) or ())
        names.update((id(c.cell_contents), k) for k, c in cells if isinstance(_cell(c), Node))
        glob = getattr(fn, "__globals__", {})
        names.update((id(glob[k]), k) for k in code.co_names if isinstance(glob.get(k), Node))
    return names


def _cell(cell: Any) -> Any:
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell
        return None


class _Namer:
    """Unique Python identifiers for values, preferring the user's own names."""

    def __init__(self, taken: set[str]) -> None:
        self.taken = set(taken)
        self.next: dict[str, int] = {}  # the next suffix to try for a base name

    def __call__(self, wish: str) -> str:
        # Python reads an identifier in its NFKC form ("ｘ" is x): names are compared so.
        wish = unicodedata.normalize("NFKC", wish)
        base = wish if wish.isidentifier() and not wish.startswith("_") else "v"
        name, k = base, self.next.get(base, 1)
        if k > 1:
            name = f"{base}_{k}"
        while name in self.taken or name in _KEYWORDS:
            k += 1
            name = f"{base}_{k}"
        self.next[base] = k + 1
        self.taken.add(name)
        return name

    def copy(self) -> _Namer:
        twin = _Namer(self.taken)
        twin.next = dict(self.next)
        return twin


_KEYWORDS = frozenset(__import__("keyword").kwlist) | frozenset(dir(__import__("builtins")))


# ---------------------------------------------------------------------------------------
# The program
# ---------------------------------------------------------------------------------------


_MISS = object()  # no value: what a program's entry returns for inputs it does not take


@dataclass(slots=True)
class _Program:
    """The straight-line code of one traced signature and what it needs to run."""

    source: str
    run: Callable[..., Any]
    wrt: tuple[Node, ...]  # the leaves whose gradients it returns: inputs, then parameters
    captured: tuple[Node, ...]  # leaves read from outside at every call
    # The shape and dtype of each argument of run as traced (Tensors; Scalars are floats).
    shapes: tuple[tuple[int, ...], ...] = ()
    dtypes: tuple[np.dtype, ...] = ()
    # Each captured leaf's _seq as traced: −1 when it required grad, else 0.
    seqs: tuple[int, ...] = ()
    kind: type[Node] = Tensor  # the kind of value the inputs are
    wanted: tuple[bool, ...] = ()  # which inputs' gradients it returns
    # what the function read from outside the graph (None: nothing to guard)
    guard: Guard | None = None
    # run for the usual call (see _entry); MISS when the inputs are not that
    enter: Callable[..., Any] = lambda *inputs: _MISS

    def arguments(self, datas: list[Any]) -> list[Any] | None:
        """The arguments of ``run``: the inputs' data, then the captured leaves' data,
        when all have the shapes and dtypes the program was traced for and the captured
        leaves still require grad or not as they did (None when one has not). Checked
        at every call, since a parameter's data may be replaced by an array of another
        shape and a parameter may be frozen, in plain loops: the fastest way for a few
        arrays. The values the function read from outside the graph must read as they
        did (see guards.py)."""
        if self.guard is not None and not self.guard.holds():
            return None
        for leaf, seq in zip(self.captured, self.seqs):
            if leaf._seq != seq:
                return None
        datas += map(_DATA, self.captured)
        for x, shape, dtype in zip(datas, self.shapes, self.dtypes):
            if x.shape != shape or (x.dtype is not dtype and x.dtype != dtype):
                return None
        return datas

    def leaves(self, inputs: Sequence[Any]) -> list[Node | None]:
        """The leaves of this call the gradients are for, aligned with :attr:`wrt`: the
        inputs as given (None for one that is not a graph value), then the parameters."""
        given = [x if isinstance(x, Node) else None for x, keep in zip(inputs, self.wanted) if keep]
        given += self.params
        return given

    @property
    def params(self) -> tuple[Node, ...]:
        """The parameters the gradients are for: the captured leaves that require grad."""
        return self.wrt[sum(self.wanted) :]

    def __deepcopy__(self, memo: dict[int, Any]) -> _Program:
        """A copy that reads the copied leaves: the entry is written again for them (the
        code of ``run`` refers to no leaf; it is shared)."""
        leaves = copy.deepcopy((self.wrt, self.captured), memo)
        twin = _Program(self.source, self.run, *leaves, self.shapes, self.dtypes, self.seqs, self.kind, self.wanted)
        twin.guard = copy.deepcopy(self.guard, memo)
        twin.enter = _entry(twin)
        return twin


_DATA = operator.attrgetter("_data")


def _hooked(leaves: Sequence[Node | None], grads: tuple[Any, ...]) -> tuple[Any, ...]:
    """Each gradient passed through its leaf's hooks, as a backward pass does."""
    for leaf in leaves:
        if leaf is not None and leaf._meta and "hooks" in leaf._meta:
            break
    else:  # the usual case: no hook
        return grads
    return tuple(
        g if leaf is None or not leaf._meta or "hooks" not in leaf._meta else run_hooks(leaf, g)
        for leaf, g in zip(leaves, grads)
    )


def _entry(program: _Program) -> Callable[..., Any]:
    """The program's entry for the usual call: values of the traced kind whose data,
    and the captured leaves' data, have the traced shapes and dtypes, the captured
    leaves requiring grad as traced, no hook on a leaf whose gradient it returns, and
    the same objects where the function read from outside the graph (the same test
    as :meth:`_Program.arguments`, written out for these arrays: a third of its time;
    the reads by identity). Anything else returns MISS, and the caller takes the
    general path."""
    inputs = [f"x{i}" for i in range(len(program.wanted))]
    leaves = [f"leaf{i}" for i in range(len(program.captured))]
    datas = [f"a{i}" for i in range(len(inputs) + len(leaves))]
    namespace: dict[str, Any] = {"kind": program.kind, "run": program.run, "MISS": _MISS}
    namespace.update(zip(leaves, program.captured))
    namespace.update((f"dtype{i}", d) for i, d in enumerate(program.dtypes))
    reads = [f"{x}._data" for x in [*inputs, *leaves]]
    hooked = [x for x, keep in zip(inputs, program.wanted) if keep] + [x for x, s in zip(leaves, program.seqs) if s]
    tests = [f"{leaf}._seq == {seq}" for leaf, seq in zip(leaves, program.seqs)]
    tests += [f"({x}._meta is None or 'hooks' not in {x}._meta)" for x in hooked]
    tests += [
        f"{a}.shape == {shape!r} and {a}.dtype is dtype{i}" for i, (a, shape) in enumerate(zip(datas, program.shapes))
    ]
    guards = program.guard.tests(namespace) if program.guard is not None else []
    lines = [
        f"def enter({', '.join(inputs)}):",
        f"    if {' and '.join(f'type({x}) is kind' for x in inputs) or 'True'}:",
        f"        {', '.join(datas)}, = {', '.join(reads)}," if datas else "        pass",
        *(
            [
                "        try:",
                f"            if not ({' and '.join(guards)}):",
                "                return MISS",
                "        except (KeyError, ValueError, AttributeError):  # deleted, a cell or slot emptied",
                "            return MISS",
            ]
            if guards
            else []
        ),
        f"        if {' and '.join(tests) or 'True'}:",
        f"            return run({', '.join(datas)})",
        "    return MISS",
    ]
    exec("\n".join(lines), namespace)
    enter: Callable[..., Any] = namespace["enter"]
    return enter


@dataclass
class _Graph:
    """A traced graph, its values named: what the writer turns into code."""

    out: Node
    ops: list[Node]  # the op outputs, oldest first
    inputs: Sequence[Node]
    captured: list[Node]  # leaves read from outside at every call
    wrt: list[Node]  # the leaves whose gradients the program returns
    names: dict[int, str]  # id → the value's name in the code
    namer: _Namer  # the names used so far
    reads: Reads  # where the function read values from outside the graph


def _record(fn: Callable[..., Any], inputs: Sequence[Node], wanted: Sequence[bool]) -> _Graph:
    """Run ``fn`` on ``inputs`` (all requiring grad, so every op on them is recorded)
    and name the values of the graph it builds."""
    local = _outer_names(fn)
    reads = Reads(fn)
    start = tick()
    with record_sites(), _watch(local, reads), _tracing():
        out = fn(*inputs)
    if not isinstance(out, Node):
        name = getattr(fn, "__name__", "the function")
        raise TypeError(f"trace: {name} must return a Scalar or Tensor, got {type(out).__name__}")
    if isinstance(out, Tensor) and out.size != 1:
        raise GradError(
            f"trace: the output has shape {out.shape}; the compiled step differentiates a single number. "
            "Reduce it inside the function (e.g. .sum() or .mean())."
        )
    order = walk(out)
    _check_guardable(fn, reads)
    _check_no_draws(fn, reads, order)
    _check_made_inside(fn, order, start)
    _check_no_retain(order, inputs)
    _check_replayable(fn, inputs, order)
    ops = [n for n in order if n.fn is not None]
    namer = _Namer(set().union(*(_reserved(n.fn) for n in ops)) | set(_BUILTINS))  # type: ignore[arg-type]
    position = {id(x): i for i, x in enumerate(inputs)}
    arg_names = _argument_names(fn, len(inputs))
    names = {id(x): namer(arg_names[i]) for i, x in enumerate(inputs)}
    captured: list[Node] = []
    for node in order:
        if node.fn is None and id(node) not in position:
            names[id(node)] = namer(local.get(id(node)) or node.name or ("p" if node.requires_grad else "c"))
            captured.append(node)
    for node in ops:
        fallback = "loss" if node is out else node.fn.name  # type: ignore[union-attr]
        names[id(node)] = namer(local.get(id(node)) or node.name or fallback)
    wrt = [x for x, keep in zip(inputs, wanted) if keep] + [n for n in captured if n.requires_grad]
    return _Graph(out, ops, inputs, captured, wrt, names, namer, reads)


@contextmanager
def _tracing() -> Iterator[None]:
    """Values that depend on the traced inputs or on parameters refuse to be read
    outside the graph inside (see Node._read), in this thread."""
    saved = state.set_mode("tracing", state.modes.tracing + 1)
    try:
        yield
    finally:
        state.restore_mode("tracing", saved)


def _check_guardable(fn: Callable[..., Any], reads: Reads) -> None:
    """Refuse a function that read more from outside than its guard can test at every
    call: the compiled step would replay what it read when traced."""
    unchecked = reads.unchecked()
    if unchecked is not None:
        what, instead = unchecked
        raise TraceError(
            f"trace: {getattr(fn, '__qualname__', 'the function')} {what}, and the compiled step would replay what "
            f"it read when traced. {instead}, or run the function eagerly."
        )


def _check_no_draws(fn: Callable[..., Any], reads: Reads, order: Sequence[Node]) -> None:
    """Refuse a function that drew random numbers outside its ops: the compiled step
    would repeat what the draw chose (a branch, a mask made in Python) at every call.
    An op of the user's own may draw in its forward, which the replay runs again, and
    its draws cannot be told from the function's: with one in the graph, nothing is
    refused here (a drawn value that reaches the graph is still refused as a constant
    that changes, see :func:`_check_replayable`)."""
    drawn = reads.drawn()
    if drawn is None or any(not _engine_op(n.fn) for n in order if n.fn is not None):
        return
    raise TraceError(
        f"trace: {getattr(fn, '__qualname__', 'the function')} draws random numbers ({drawn}): the compiled step "
        "would repeat what this draw chose at every call, where eager glassgrad draws anew. Draw them outside "
        "and pass them in as an input, or run the function eagerly."
    )


def _engine_op(fn: type[Function]) -> bool:
    """Whether an op is one of glassgrad's own (none of which draws random numbers)."""
    module = sys.modules.get(fn.__module__)
    return os.path.abspath(getattr(module, "__file__", None) or "").startswith(_PACKAGE_DIR)


def _check_made_inside(fn: Callable[..., Any], order: Sequence[Node], start: int) -> None:
    """Refuse a value the function reads that an op made before the trace began (clock
    reading ``start``): the replay would compute it again at every call from what it
    was made from, where eager glassgrad reuses the value made then."""
    for node in order:
        if node.fn is not None and node._seq < start:
            name = getattr(fn, "__qualname__", "the function")
            raise TraceError(
                f"trace: {name} reads {node._describe()}, made by {node.op} before the trace began: the compiled "
                "step would compute it again at every call, where eager glassgrad reuses it. Compute it inside "
                "the function."
            )


def _check_no_retain(order: Sequence[Node], inputs: Sequence[Node]) -> None:
    """Refuse ``retain_grad()`` inside the traced function on a value it computes or on
    an input: the replay has no such value to keep a ``.grad`` in. (A hook put there is
    refused as it is registered, see ``Node.register_hook``.)"""
    ids = {id(x) for x in inputs}
    for node in order:
        meta = node._meta
        if meta and meta.get("retain") and (node._fn is not None or id(node) in ids):
            raise TraceError(
                f"trace: retain_grad() on {node._describe()} inside the traced function: the compiled step "
                "computes that value's gradient as a step of the chain rule, with no value to keep a .grad "
                "in. Run the function eagerly."
            )


def _check_replayable(fn: Callable[..., Any], inputs: Sequence[Node], order: Sequence[Node]) -> None:
    """Run ``fn`` again on slightly moved inputs and compare the graphs: the ops must be
    the same, and so must every constant. A constant that moved was computed from an
    input's values outside the graph by a way ``Node._read`` does not see, and the
    replay would reuse the traced one; ops that differ mean control flow that
    depends on the values. Both are errors: the compiled step would compute something
    else than ``fn``."""
    # Shrunk toward 0 by one part in 2²⁰: inside every domain the inputs were in
    # ([0, 1], x > 0, x ≠ 0), and different wherever an input is not 0.
    if not inputs:  # nothing can move
        return
    moved = [_leaf(type(x), x._data * (1 - 2**-20)) for x in inputs]
    try:
        with record_sites(), _tracing():
            again = walk(fn(*moved))
    except GlassgradError:  # the function refuses the moved inputs: nothing to compare
        return
    name = getattr(fn, "__qualname__", "the function")
    if [n.fn for n in again] != [n.fn for n in order]:
        raise TraceError(
            f"trace: {name} runs other ops when its inputs' values change (Python control flow on values); "
            "trace each branch separately, or run it eagerly"
        )
    for a, b in zip(order, again):
        pa, pb = a.params, b.params
        if pa.keys() != pb.keys() or not all(_same(pa[k], pb[k]) for k in pa):
            raise TraceError(
                f"trace: a parameter of {a.op} ({', '.join(pa)}) is computed from {name}'s inputs' values; "
                "the replay would reuse the traced one. Run it eagerly."
            )
    ids = {id(x) for x in [*inputs, *moved]}
    for a, b in zip(order, again):
        if a.fn is None and id(a) not in ids and not a.requires_grad and not _same(a._data, b._data):
            raise TraceError(
                f"trace: {name} computes a constant ({a._describe()}) that changes from one run to the next, "
                "from its inputs' values outside the graph or from random numbers; the replay would reuse "
                "the traced value. Keep the computation on graph values, or pass it in as an input."
            )


def _leaf(kind: type[Node], data: Any, requires_grad: bool = True) -> Node:
    """A new leaf of ``kind``; traced inputs require grad, so every op on them is recorded."""
    make: Callable[..., Node] = kind
    return make(data, requires_grad=requires_grad)


def _same(a: Any, b: Any) -> bool:
    return a is b or bool(np.array_equal(a, b))


_BUILTINS = {"xp": None, "np": np, "sum_to": sum_to, "RawCtx": RawCtx}


def _reserved(fn: type[Function]) -> frozenset[str]:
    """The global names an op's forward and backward read (kept free of value names)."""
    return global_names(fn.forward) | global_names(fn.backward)


def _rename_in(expr: ast.expr, renamed: dict[str, str]) -> None:
    """Rename, in place, the names of ``expr`` that ``renamed`` maps."""
    if renamed:
        for node in ast.walk(expr):
            if isinstance(node, ast.Name) and node.id in renamed:
                node.id = renamed[node.id]


@dataclass(frozen=True)
class _Check:
    """A domain check of ``values``: it guards them, so it goes where they go unread."""

    text: str
    values: tuple[str, ...]


class _Assign:
    """``target = expr`` (an expression statement when target is None); its text is
    written once, when first asked for."""

    __slots__ = ("_text", "expr", "target")

    def __init__(self, target: str | None, expr: ast.expr) -> None:
        self.target, self.expr, self._text = target, expr, ""

    def rename(self, old: str, new: str) -> None:
        _rename_in(self.expr, {old: new})
        if self.target == old:
            self.target = new
        self._text = ""

    @property
    def text(self) -> str:
        if not self._text:
            code = ast.unparse(self.expr)
            self._text = code if self.target is None else f"{self.target} = {code}"
        return self._text


# A line as written (a comment), a check, or an assignment.
_Line = str | _Check | _Assign
_NAME = re.compile(r"[A-Za-z_]\w*")  # the names a line may read (and a few words more)


@dataclass
class _Writer:
    """Writes the lines of a traced graph and runs each on the traced values as it goes,
    so what is fixed for the signature (shapes, types, which sums a broadcast needs)
    is read from the values themselves."""

    kind: type[Node]
    names: dict[int, str]  # id → the value's name in the code
    namer: _Namer
    reserved: set[str]  # global names the code may use as they are
    namespace: dict[str, Any]
    env: dict[str, Any]  # the traced value of every name the code assigns
    lines: list[_Line] = field(default_factory=list)
    ctxs: dict[int, str] = field(default_factory=dict)  # the ctx name of each op that is called
    saved: dict[int, Record | None] = field(default_factory=dict)  # ctx.saved of each inlined op
    bound: dict[int, str] = field(default_factory=dict)
    returned: tuple[str, ...] = ()  # the names the step returns
    grad_names: set[str] = field(default_factory=set)  # the names given to gradients so far
    ran: int = 0  # the lines before this one have run on the traced values
    renamed: dict[str, str] = field(default_factory=dict)  # renames since the op's backward began

    # -- the inliner's Lines -----------------------------------------------------------
    def line(self, target: str | None, expr: ast.expr) -> str:
        name = None if target is None else self.namer(target)
        self.assign(name, expr)
        return name or ""

    def assign(self, name: str | None, expr: ast.expr) -> None:
        self.lines.append(_Assign(name, expr))

    def raw(self, text: str) -> None:
        self.lines.append(text)

    def check(self, text: str, values: tuple[str, ...]) -> None:
        self.lines.append(_Check(text, values))

    def constants(self) -> set[str]:
        return set(self.namespace)

    def evaluate(self, expr: str) -> Any:
        self.run()
        return eval(expr, self.namespace, self.env)

    def run(self) -> None:
        """Run the lines written since the last run on the traced values (in one go:
        a value is looked at rarely, and one compile of many lines is cheap)."""
        block = [_text(entry) for entry in self.lines[self.ran :]]
        exec("\n".join(block), self.namespace, self.env)
        self.ran = len(self.lines)

    def spell(self, known: Known) -> ast.expr:
        value = known.value
        lit = _literal(value)
        if lit is not None:
            return lit
        if known.spelling is None and isinstance(value, np.generic) and _literal(value.item()) is not None:
            kind = ast.Attribute(ast.Name(self.bind("np", np), ast.Load()), type(value).__name__, ast.Load())
            return ast.Call(kind, [_literal(value.item())], [])  # type: ignore[list-item]
        root, obj, path = known.spelling or ("c", value, ())
        node: ast.expr = ast.Name(self.bind(root, obj), ast.Load())
        for attr in path:
            node = ast.Attribute(node, attr, ast.Load())
        return node

    def mark(self) -> int:
        return len(self.lines)

    def apply(self, fn: type, args: list[Value], params: dict[str, Value]) -> Value | ast.expr:
        assert issubclass(fn, Function)
        _write_domain_checks(self, fn, args)
        xp = kernels_for(self.evaluate(args[0]) if isinstance(args[0], str) else args[0].value)
        ctx = CtxView(xp, (False,) * len(args))
        try:
            return inline(fn.forward, args, self, ctx, params)
        except Giveup:
            call = ast.Name(self.bind("call", ops_call), ast.Load())
            keywords = [ast.keyword(k, self.code(v)) for k, v in params.items()]
            return ast.Call(call, [ast.Name(self.bind(fn.__name__, fn), ast.Load()), *map(self.code, args)], keywords)

    def rollback(self, mark: int) -> None:
        del self.lines[mark:]
        self.ran = min(self.ran, mark)

    # -- the tracer's own --------------------------------------------------------------
    def bind(self, wish: str, value: Any) -> str:
        """A name in the namespace for an object the code refers to (one per object)."""
        if self.namespace.get(wish, _MISS) is value:
            return wish
        name = self.bound.get(id(value))
        if name is None:
            free = wish not in self.namespace and (wish in self.reserved or wish not in self.namer.taken)
            name = wish if free and wish.isidentifier() else self.namer(wish)
            self.namer.taken.add(name)
            self.bound[id(value)] = name
            self.namespace[name] = value
            if isinstance(value, (np.ndarray, np.generic, float)):  # data: say what it holds
                shown = " ".join(repr(value).split())
                self.raw(f"# {name} = {shown if len(shown) < 60 else shown[:56] + ' ...'}, a constant of this step")
        return name

    def code(self, v: Value) -> ast.expr:
        return ast.Name(v, ast.Load()) if isinstance(v, str) else self.spell(v)

    def created(self, name: str, mark: int) -> int | None:
        """The index of the line after ``mark`` that assigns ``name`` (None: none does)."""
        for i in range(len(self.lines) - 1, mark - 1, -1):
            entry = self.lines[i]
            if isinstance(entry, _Assign) and entry.target == name:
                return i
        return None

    def rename(self, old: str, new: str, mark: int) -> None:
        """Call the value ``old`` made after ``mark`` ``new`` instead (the op's result
        takes the name of the value it is)."""
        for i in range(mark, len(self.lines)):
            entry = self.lines[i]
            if isinstance(entry, _Assign):
                entry.rename(old, new)
        for record in self.saved.values():
            if record is not None:
                record.fields = {k: new if v == old else v for k, v in record.fields.items()}
        if old in self.env:
            self.env[new] = self.env.pop(old)
        self.renamed[old] = new

    def result(self, value: Value | ast.expr, name: str, mark: int) -> str:
        """Give the value an op returned (by lines after ``mark``) the unused name ``name``."""
        if isinstance(value, str) and self.created(value, mark) is not None:
            self.rename(value, name, mark)
        else:
            self.assign(name, value if isinstance(value, ast.expr) else self.code(value))
        return name

    def take(self, v: Value, mark: int) -> ast.expr:
        """``v`` as code: the expression of its line when a line after ``mark`` made it
        and nothing else reads it (the line goes), else its name."""
        i = self.created(v, mark) if isinstance(v, str) else None
        if i is None or i != len(self.lines) - 1:
            return self.code(v)
        entry = self.lines.pop()
        self.ran = min(self.ran, len(self.lines))
        assert isinstance(entry, _Assign)
        return entry.expr

    def source(self) -> list[str]:
        """The lines as code, without the assignments nothing reads."""
        used: set[str] = set(self.returned)
        kept: list[str] = []
        for entry in reversed(self.lines):
            if isinstance(entry, _Check):
                if used.intersection(entry.values):
                    kept.append(entry.text)
                continue
            if isinstance(entry, str):  # a comment, or a call of an op that is not written out
                used.update(_NAME.findall(entry))
                kept.append(entry)
                continue
            target = entry.target
            if target is not None and target not in used:
                continue
            text = entry.text
            if target is not None:
                used.discard(target)
                text = text[len(target) + 3 :]
            used.update(_NAME.findall(text))
            kept.append(entry.text)
        return ["    " + line.strip() for line in reversed(kept)]


def _text(entry: _Line) -> str:
    """A line as code."""
    return entry if isinstance(entry, str) else entry.text


def _compile(fn: Callable[..., Any], inputs: Sequence[Node], wanted: Sequence[bool]) -> _Program:
    """Trace ``fn`` and compile its program. What it returns is of types, and shares
    memory, in ways fixed for the signature: a first run on the traced values finds
    what must be converted (see :func:`_conversions`), and only that is."""
    graph = _record(fn, inputs, wanted)
    kind = type(graph.out)
    lines, returned, namespace = _write(graph)
    name = f"<trace of {getattr(fn, '__qualname__', 'f')}>"
    datas = [x._data for x in (*graph.inputs, *graph.captured)]
    source = _source(lines, returned, [""] * len(returned), kind)
    exec(compile(source, name, "exec"), namespace)
    value, grads = namespace["step"](*datas)
    convert = _conversions([value, *grads], datas, kind)
    if any(convert):
        source = _source(lines, returned, convert, kind)
        exec(compile(source, name, "exec"), namespace)
    program = _Program(source, namespace["step"], tuple(graph.wrt), tuple(graph.captured))
    if kind.broadcasting:
        program.shapes, program.dtypes = tuple(d.shape for d in datas), tuple(d.dtype for d in datas)
    program.seqs = tuple(leaf._seq for leaf in graph.captured)
    program.kind, program.wanted = kind, tuple(wanted)
    guard = graph.reads.guard({id(leaf._data) for leaf in graph.captured})
    program.guard = guard if guard.places or guard.modules else None
    program.enter = _entry(program)
    return program


def _argument_names(fn: Callable[..., Any], n: int) -> list[str]:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        params = []
    names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return [names[i] if i < len(names) else f"x{i}" for i in range(n)]


def _needs_grad(ops: Sequence[Node], wrt: set[int]) -> set[int]:
    """The ids of the values whose gradient the program must compute: the wanted
    leaves and every op output that depends on one of them."""
    needs = set(wrt)
    for node in ops:
        if any(id(p) in needs for p in node.parents):
            needs.add(id(node))
    return needs


def _write(graph: _Graph) -> tuple[list[str], list[str], dict[str, Any]]:
    """The program's lines up to its return, the names it returns (the value, then the
    gradients) and the namespace it runs in."""
    kind = type(graph.out)
    leaves = [*graph.inputs, *graph.captured]
    reserved = set().union(*(_reserved(n.fn) for n in graph.ops)) | set(_BUILTINS)  # type: ignore[arg-type]
    namespace = {**_BUILTINS, "xp": kind.xp}
    env = {graph.names[id(x)]: x._data for x in leaves}
    w = _Writer(kind, graph.names, graph.namer.copy(), reserved, namespace, env)
    needs = _needs_grad(graph.ops, {id(x) for x in graph.wrt})
    for node in graph.ops:
        _write_forward(w, node, needs)
    w.raw(f"# backward: the chain rule from g_{graph.names[id(graph.out)]} = 1, newest op first")
    grads = _write_backward(w, graph.ops, needs, graph.out)
    results = []
    for x in graph.wrt:
        g = grads.get(id(x), Known(np.zeros_like(x._data) if x.broadcasting else 0.0))
        if isinstance(g, Known):  # a gradient fixed for the signature: a new copy at every call
            copy = ".copy()" if isinstance(g.value, np.ndarray) else ""
            g = w.line(f"g_{graph.names[id(x)]}", ast.parse(ast.unparse(w.spell(g)) + copy, mode="eval").body)
        results.append(g)
    w.returned = (graph.names[id(graph.out)], *results)
    header = ", ".join(graph.names[id(x)] for x in leaves)
    return [f"def step({header}):", "    # forward", *w.source()], list(w.returned), w.namespace


def _source(lines: list[str], returned: list[str], convert: Sequence[str], kind: type[Node]) -> str:
    """The program with its return line: the value and the gradients, each wrapped in
    its ``convert`` function when it has one."""
    shown = [f"{c}({v})" if c else v for v, c in zip(returned, convert)]
    return "\n".join([*lines, f"    return {shown[0]}, {_tuple(shown[1:]) if shown[1:] else '()'}"]) + "\n"


def _conversions(results: Sequence[Any], arguments: Sequence[Any], kind: type[Node]) -> list[str]:
    """How each result becomes the kind's data that the caller owns: a NumPy scalar a
    0-d array (``np.asarray``); an array that is read-only or may share memory with
    another result or an argument (a broadcast view, the same gradient for two
    inputs) a copy (``np.array``), so that updating one in place changes nothing
    else; a Scalar's number a float."""
    if not kind.broadcasting:
        return ["" if type(r) is float else "float" for r in results]
    convert = []
    for i, r in enumerate(results):
        others = [*results[:i], *results[i + 1 :], *arguments]
        if type(r) is not np.ndarray:
            convert.append("np.asarray")
        elif not r.flags.writeable or any(isinstance(o, np.ndarray) and np.may_share_memory(r, o) for o in others):
            convert.append("np.array")
        else:
            convert.append("")
    return convert


def _write_forward(w: _Writer, node: Node, needs: set[int]) -> None:
    """The op's forward, inlined, or a call of it when the inliner gives up."""
    fn = node.fn
    assert fn is not None
    args = [w.names[id(p)] for p in node.parents]
    out = w.names[id(node)]
    _write_domain_checks(w, fn, args)
    ctx = CtxView(w.kind.xp, tuple(id(p) in needs for p in node.parents))
    mark = w.mark()
    try:
        value = inline(fn.forward, args, w, ctx, {k: Known(v) for k, v in node.params.items()})
        if isinstance(value, Known) and isinstance(value.value, Results):
            raise Giveup("several outputs")
    except Giveup:
        w.rollback(mark)
        op = w.bind(fn.__name__, fn)
        ctx_name = w.ctxs[id(node)] = w.namer(f"ctx_{out}")
        w.raw(f"{ctx_name} = RawCtx(xp, {ctx.needs_input_grad!r})")
        kw = "".join(f", {k}={ast.unparse(w.spell(Known(v, (k, v, ()))))}" for k, v in node.params.items())
        w.raw(f"{out} = {op}.forward({ctx_name}, {', '.join(args)}{kw})")
        return
    w.saved[id(node)] = ctx.saved
    w.result(value, out, mark)


def _write_domain_checks(w: _Writer, fn: type[Function], args: Sequence[Value]) -> None:
    """Eager glassgrad's domain check, as cheap as it gets: one comparison and one count
    per bound (a float comparison on a Scalar), and on a hit the op's own check, which
    raises the error eager glassgrad raises."""
    tests = []
    for dom, x in zip(fn.domains, args):
        if dom is None:
            continue
        if isinstance(x, Known):  # a constant: checked now
            tests += [] if dom.contains(x.value) else ["True"]
            continue
        # Arrays are compared with 0-d float64 bounds, as the op's own check does: numpy
        # takes those as they are, where a Python number goes through its weak-scalar
        # promotion first (a third of the comparison's time on a minibatch).

        def bound(name: str, b: float) -> str:
            return w.bind(name, _bound(b)) if w.kind.broadcasting else repr(b)

        bounds = []
        if dom.low > -math.inf:
            bounds.append(f"{x} {'<' if dom.include_low else '<='} {bound('low', dom.low)}")
        if dom.high < math.inf:
            bounds.append(f"{x} {'>' if dom.include_high else '>='} {bound('high', dom.high)}")
        if dom.nonzero:
            bounds.append(f"{x} == {bound('zero', 0.0)}")
        tests += [f"np.count_nonzero({t})" for t in bounds] if w.kind.broadcasting else bounds
    if tests:
        op = w.bind(fn.__name__, fn)
        text = f"if {' or '.join(tests)}: {op}.check_domains({_tuple([ast.unparse(w.code(a)) for a in args])})"
        w.check(text, tuple(a for a in args if isinstance(a, str)))


@functools.cache
def _bound(b: float) -> np.ndarray:
    """A domain's bound as a read-only 0-d float64 array (one per bound)."""
    array = np.array(b, dtype=np.float64)
    array.flags.writeable = False
    return array


def _tuple(items: Sequence[str]) -> str:
    """A tuple display of names: ``(a,)``, ``(a, b)``."""
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def _write_backward(w: _Writer, ops: Sequence[Node], needs: set[int], out: Node) -> dict[int, Value]:
    """The backward lines; returns each value's gradient (a name, or Known)."""
    seed = out._seed()
    grads: dict[int, Value] = {id(out): Known(seed, (f"g_{w.names[id(out)]}", seed, ()))}
    for node in reversed(ops):
        g = grads.get(id(node))
        if g is None or id(node) not in needs:
            continue
        fn = node.fn
        assert fn is not None
        wanted = [id(p) in needs for p in node.parents]
        mark = w.mark()
        results = _inline_backward(w, node, g, wanted) if id(node) not in w.ctxs else None
        if results is None:
            results = _call_backward(w, node, g, wanted, grads)
        w.renamed.clear()
        for i, (p, v, want) in enumerate(zip(node.parents, results, wanted)):
            if not want or (isinstance(v, Known) and v.value is None):
                continue
            if isinstance(v, ast.expr):  # it may read a line an earlier result renamed
                _rename_in(v, w.renamed)
            if fn.broadcasts and w.kind.broadcasting:
                v = _sum_to(w, v, np.shape(p._data))
            later = {
                n.id
                for r in results[i + 1 :]
                if isinstance(r, ast.expr)
                for n in ast.walk(r)
                if isinstance(n, ast.Name)
            }
            _accumulate(w, grads, p, v, mark, later)
    return grads


def _inline_backward(w: _Writer, node: Node, g: Value, wanted: list[bool]) -> list[Value | ast.expr] | None:
    fn = node.fn
    assert fn is not None
    ctx = CtxView(w.kind.xp, tuple(wanted), w.saved.get(id(node)))
    args = [w.names[id(node)], *(w.names[id(p)] for p in node.parents)]
    mark = w.mark()
    try:
        value = inline(fn.backward, [g, *args], w, ctx)
    except Giveup:
        return None
    results = value.value if isinstance(value, Known) and isinstance(value.value, tuple) else None
    if results is None or len(results) != len(wanted):
        w.rollback(mark)
        return None
    return list(results) if isinstance(results, Results) else [Known(r) for r in results]


def _call_backward(
    w: _Writer, node: Node, g: Value, wanted: list[bool], grads: dict[int, Value]
) -> list[Value | ast.expr]:
    """A line that calls the op's backward; returns the names of its results (a first
    contribution to a gradient is named as the gradient itself, a later one d_…)."""
    fn = node.fn
    assert fn is not None
    out = w.names[id(node)]
    op = w.bind(fn.__name__, fn)
    ctx = w.ctxs.get(id(node))
    if ctx is None:  # inlined forward: backward still wants a ctx (kernels, what is needed, saved)
        ctx = w.namer(f"ctx_{out}")
        w.raw(f"{ctx} = RawCtx(xp, {tuple(wanted)!r})")
        record = w.saved.get(id(node))
        if record is not None:
            saved = ", ".join(f"{k}={ast.unparse(w.code(v))}" for k, v in record.fields.items())
            kind = f"{op}.Saved" if getattr(fn, "Saved", None) is record.kind else w.bind("Saved", record.kind)
            w.raw(f"{ctx}.saved = {kind}({saved})")
    temps = [
        w.namer(f"{'d' if id(p) in grads else 'g'}_{w.names[id(p)]}") if want else "_"
        for p, want in zip(node.parents, wanted)
    ]
    target = ", ".join(temps) + ("," if len(temps) == 1 else "")
    inputs = ", ".join(w.names[id(p)] for p in node.parents)
    w.raw(f"{target} = {op}.backward({ctx}, {ast.unparse(w.code(g))}, {out}, {inputs})")
    return [t if t != "_" else Known(None) for t in temps]


def _sum_to(w: _Writer, g: Value | ast.expr, shape: tuple[int, ...]) -> Value | ast.expr:
    """``g`` summed back to ``shape`` where broadcasting stretched it (the shapes are
    fixed for the signature, so only the sums that change a shape are written)."""
    if isinstance(g, Known):
        return g if np.shape(g.value) == shape else Known(sum_to(g.value, shape))
    if np.shape(w.evaluate(g if isinstance(g, str) else ast.unparse(g))) == shape:
        return g
    if isinstance(g, ast.expr):
        g = w.line("v", g)
    mark = w.mark()
    try:
        value = inline(sum_to, [g, Known(shape)], w)
        if isinstance(value, Known):
            raise Giveup("several results")
    except Giveup:
        w.rollback(mark)
        value = ast.parse(f"sum_to({g}, {shape!r})", mode="eval").body
    return w.line("v", value) if isinstance(value, ast.expr) else value


def _accumulate(w: _Writer, grads: dict[int, Value], p: Node, v: Value | ast.expr, mark: int, later: set[str]) -> None:
    """Add the contribution ``v`` (code, or a value made by lines after ``mark``) to
    ``p``'s gradient; ``later`` are the names the op's next results read."""
    name = w.names[id(p)]
    current = grads.get(id(p))
    if isinstance(v, ast.expr):
        total = v if current is None else ast.BinOp(w.code(current), ast.Add(), v)
        if current is None or isinstance(current, Known):
            g = grads[id(p)] = w.line(f"g_{name}", total)
            w.grad_names.add(g)
        else:
            w.assign(current, total)
        return
    if current is None:
        if isinstance(v, Known):  # fixed for the signature: no line, a name if code needs one
            grads[id(p)] = Known(v.value, v.spelling or (f"g_{name}", v.value, ()))
            return
        if v not in w.grad_names and w.created(v, mark) is not None:
            g = w.result(v, w.namer(f"g_{name}"), mark)
        elif v not in w.grad_names and v.startswith(f"g_{name}"):  # named so by a call of backward
            g = v
        else:
            g = w.line(f"g_{name}", w.code(v))
        grads[id(p)] = g
        w.grad_names.add(g)
        return
    if isinstance(current, Known) and isinstance(v, Known):
        grads[id(p)] = Known(current.value + v.value)
        return
    if isinstance(v, Known) and v.spelling is None:  # a contribution fixed for the signature
        v = Known(v.value, (f"d_{name}", v.value, ()))
    total = ast.BinOp(w.code(current), ast.Add(), w.code(v) if isinstance(v, str) and v in later else w.take(v, mark))
    if isinstance(current, Known):
        g = grads[id(p)] = w.line(f"g_{name}", total)
        w.grad_names.add(g)
    else:
        w.assign(current, total)


# ---------------------------------------------------------------------------------------
# The compiled step
# ---------------------------------------------------------------------------------------


def _signature(values: Sequence[Any]) -> tuple[tuple[tuple[int, ...], str], ...]:
    """What a traced program depends on: the inputs' shapes and dtypes."""
    return tuple((np.shape(v), np.asarray(v).dtype.str) for v in values)


class Compiled:
    """A traced function: ``compiled(*inputs)`` returns ``(value, gradients)``, the
    gradients aligned with :attr:`wrt` (the inputs that require grad, then the
    parameters the function reads from outside), each passed through its leaf's
    hooks; :meth:`backward` adds them to the ``.grad`` of the inputs it is called
    with and of the parameters instead, as ``loss.backward()`` does, so an
    optimizer's ``step()`` can follow. ``print(compiled)`` shows the code it runs."""

    def __init__(self, fn: Callable[..., Any], example_inputs: Sequence[Any]) -> None:
        self.fn = fn
        self._kind: type[Node] = Scalar if all(isinstance(x, (Scalar, float, int)) for x in example_inputs) else Tensor
        self._wanted = tuple(isinstance(x, Node) and x.requires_grad for x in example_inputs)
        # per signature, its programs for the values read from outside, newest first
        self._programs: dict[Any, list[_Program]] = {}
        self._retraced = 0  # traces made again because a read changed (see guards.py)
        self._latest = self._program(self._datas(example_inputs))

    def _datas(self, inputs: Sequence[Any]) -> list[Any]:
        if len(inputs) != len(self._wanted):
            raise TypeError(f"the traced function takes {len(self._wanted)} inputs, got {len(inputs)}")
        datas = []
        for x in inputs:
            if type(x) is self._kind:  # the usual case first
                datas.append(x._data)
            elif isinstance(x, Node):
                if not isinstance(x, self._kind):
                    raise TypeError(f"traced on {self._kind.__name__} inputs, got a {type(x).__name__}")
                datas.append(x._data)
            elif type(x) is np.ndarray and x.dtype.kind == "f":
                datas.append(x)  # read, never written: no copy
            else:
                datas.append(_leaf(self._kind, x, requires_grad=False)._data)  # as a new value converts
        return datas

    def _program(self, datas: Sequence[Any]) -> _Program:
        """The program for inputs with these data: one traced for their signature whose
        reads from outside hold (``model.train()`` and ``model.eval()`` in turn take
        their two programs), else a new trace, kept with the last few."""
        key = _signature(datas)
        variants = self._programs.setdefault(key, [])
        for program in variants:
            if program.arguments(list(datas)) is not None:
                return program
        if variants:
            guard = variants[0].guard
            changed = guard.changed() if guard is not None else None
            if changed is not None:
                self._retraced += 1
                if self._retraced == _RETRACES_TOLD:
                    warnings.warn(
                        f"trace: {getattr(self.fn, '__qualname__', 'the function')} was traced again "
                        f"{self._retraced} times because what it reads from outside changed ({changed}); each "
                        "trace costs as much as many calls. Pass what changes between calls as an input.",
                        TraceWarning,
                        stacklevel=4,
                    )
        for i, d in enumerate(datas):
            if isinstance(d, np.ndarray) and d.dtype.kind != "f":
                raise TypeError(
                    f"trace: input {i} has dtype {d.dtype}; the trace records the ops on each input as on a "
                    "value that requires grad, which holds floats: pass float data (x.astype(np.float64))"
                )
        program = _compile(self.fn, [_leaf(self._kind, d) for d in datas], self._wanted)
        variants.insert(0, program)
        del variants[_VARIANTS:]
        return program

    @property
    def source(self) -> str:
        """The straight-line forward and backward pass of the latest signature traced."""
        return self._latest.source

    @property
    def wrt(self) -> tuple[Node, ...]:
        """The leaves the gradients are for: the inputs that require grad (as traced),
        then the parameters the function reads from outside."""
        return self._latest.wrt

    def __call__(self, *inputs: Any) -> tuple[Any, tuple[Any, ...]]:
        # The step reads the parameters in its forward and again in its backward: an
        # in-place change (which holds the lock, see Node._bump_version) waits for it.
        # Not ``with``: the usual call costs a few microseconds, ``with`` a tenth of it.
        lock = state.backward_lock
        lock.acquire()
        try:
            if len(inputs) == len(self._wanted) and not (state.switched and state.modes.anomaly):
                result: tuple[Any, tuple[Any, ...]] = self._latest.enter(*inputs)
                if result is not _MISS:
                    return result
            value, grads, leaves = self._run(inputs)
            return value, _hooked(leaves, grads)
        finally:
            lock.release()

    def _run(self, inputs: Sequence[Any]) -> tuple[Any, tuple[Any, ...], list[Node | None]]:
        """The general path: the program for these inputs (traced now if there is none),
        its value and gradients, and the leaves of this call they are for."""
        datas = self._datas(inputs)
        program = self._latest
        args = program.arguments(datas)
        if args is None:
            program = self._latest = self._program(datas[: len(inputs)])
            args = program.arguments(datas[: len(inputs)]) or []
        value, grads = program.run(*args)
        if state.switched and state.modes.anomaly:
            self._check_anomaly(program, datas[: len(inputs)], (value, *grads))
        return value, grads, program.leaves(inputs)

    def _check_anomaly(self, program: _Program, datas: Sequence[Any], results: Sequence[Any]) -> None:
        """Under ``detect_anomaly()``, a value or gradient that is NaN or inf: the function
        runs again eagerly, forward and backward, so that anomaly mode names the op
        that made it, as it does in eager glassgrad."""
        if all(map(self._kind._all_finite, results)):
            return
        leaves = [_leaf(self._kind, d, keep) for d, keep in zip(datas, self._wanted)]
        out = self.fn(*leaves)
        run_backward([out], [None], inputs=[x for x in leaves if x.requires_grad] + list(program.params))

    def backward(self, *inputs: Any) -> Any:
        """Run the step and add each gradient to its leaf's ``.grad`` (the inputs it is
        called with that require grad, and the parameters), as ``loss.backward()``
        does: an input an op made passes its gradient on through its graph, and a
        value with hooks gets its gradient through them, once for all its uses;
        returns the value."""
        for i, (x, keep) in enumerate(zip(inputs, self._wanted)):
            if isinstance(x, Node) and x.requires_grad and not keep:
                raise GradError(
                    f"trace: input {i} requires grad, but the step was traced on an example input that does not, "
                    "so it computes no gradient for it; trace it with an input that requires grad"
                )
        roots, seeds = [], []  # where the engine's backward pass goes on
        # Runs, and stores into .grad, one thread at a time, as backward passes do.
        with state.backward_lock:
            value, grads, leaves = self._run(inputs)
            for leaf, g in zip(leaves, grads):
                if leaf is None or not leaf.requires_grad:
                    continue
                if leaf._fn is None and not (leaf._meta and "hooks" in leaf._meta):
                    leaf._grad_store(g)
                else:
                    roots.append(leaf)
                    seeds.append(g)
            if roots:
                run_backward(roots, seeds)
        return value

    def __repr__(self) -> str:
        return self.source

    # Copies are made field by field (each program's entry is written again for the
    # copied leaves, see _Program.__deepcopy__): pickling is refused.
    def __copy__(self) -> Compiled:
        twin = object.__new__(Compiled)
        twin.__dict__.update(self.__dict__)
        return twin

    def __deepcopy__(self, memo: dict[int, Any]) -> Compiled:
        twin = memo[id(self)] = object.__new__(Compiled)
        twin.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return twin

    def __reduce__(self) -> Any:
        raise TypeError(
            "a compiled step cannot be pickled: it holds code written when the function was traced; "
            "pickle the model or the function, and trace the function again after loading it"
        )


def trace(fn: Callable[..., Any], *example_inputs: Any) -> Compiled:
    """Run ``fn`` once on ``example_inputs`` and compile its forward and backward pass
    into straight-line code (see the module docstring for the rules of tracing).

    >>> from glassgrad import Tensor, trace
    >>> w = Tensor([0.5, -1.0], requires_grad=True)
    >>> step = trace(lambda x: (w * x).sum().sigmoid(), Tensor([2.0, 3.0]))
    >>> value, (g_w,) = step(Tensor([2.0, 3.0]))
    >>> g_w.round(4)
    array([0.21 , 0.315])
    """
    return Compiled(fn, example_inputs)
