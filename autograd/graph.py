"""The graph core shared by Scalar and Tensor.

Every value is a :class:`Node`. An operation is a :class:`Function` subclass: its
``forward`` computes the output from raw data (floats or numpy arrays) and its
``backward`` maps the upstream gradient ``g = ∂L/∂out`` to one gradient per input
(a vector-Jacobian product). ``Function.apply`` runs forward and, when gradients are
wanted, records the output's parents, so the graph is built as a side effect of
ordinary arithmetic.

``backward`` walks the recorded graph in reverse topological order without
recursion and applies the chain rule::

    ∂L/∂x = Σ over every use of x:  backward(∂L/∂out)

The same driver serves both value types and, with ``create_graph=True``, records the
backward pass itself as a graph, which gives gradients of gradients.
"""

from __future__ import annotations

import itertools
import operator
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar, overload, runtime_checkable

from . import recorders, state, versions
from .errors import AnomalyError, DomainError, GradError, InPlaceError, TraceError, mixed_kinds
from .recorders import specialise
from .state import GradMode

if TYPE_CHECKING:
    from .ops.domains import Domain

# Creation order of op nodes, and the clock of in-place modifications. One counter
# for both: a parent whose version is newer than its consumer was modified after use.
_clock = itertools.count(1)
# Clock reading of the newest in-place change anywhere (0: none yet). Backward checks
# a node's inputs for in-place changes only when one happened after the node was made.
_last_inplace = 0


def tick() -> int:
    """A reading of the clock that orders op nodes: every op recorded later has a
    larger ``_seq``."""
    return next(_clock)


#: A kind of graph value (Scalar or Tensor): an op's output is of its inputs' kind.
N = TypeVar("N", bound="Node")

_VISITED = object()  # marks a node reached by the current traversal; no gradient yet
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------------------------------
# Modes
# ---------------------------------------------------------------------------------------


_NO_GRAD, _ENABLE_GRAD = GradMode(False), GradMode(True)


def no_grad() -> GradMode:
    """Stop recording in this thread: inside ``with no_grad():`` (or a function
    decorated with ``@no_grad()``) results have no history and ``requires_grad=False``."""
    return _NO_GRAD


def enable_grad() -> GradMode:
    """Record again inside a ``no_grad()`` region (in this thread)."""
    return _ENABLE_GRAD


def is_grad_enabled() -> bool:
    """Whether operations are being recorded right now in this thread."""
    return state.grad_enabled()


@contextmanager
def scope(name: str) -> Iterator[None]:
    """Group the values created inside (in this thread) into a named scope; the graph
    drawing shows a scope as a cluster and can collapse it into one box."""
    saved = state.set_mode("scope", (*state.modes.scope, str(name)))
    try:
        yield
    finally:
        state.restore_mode("scope", saved)


@contextmanager
def record_sites() -> Iterator[None]:
    """Remember, for every value created inside (in this thread), the line of user code
    that created it."""
    saved = state.set_mode("record_sites", state.modes.record_sites + 1)
    try:
        yield
    finally:
        state.restore_mode("record_sites", saved)


@contextmanager
def detect_anomaly() -> Iterator[None]:
    """Raise :class:`AnomalyError` at the first op whose output (forward) or input
    gradient (backward) is NaN or inf, naming the op and the line that created it.

    Checking every value costs a pass over each array; use it to debug, not to train.
    Like every mode, it holds in the thread that switched it on.
    """
    with record_sites():
        saved = state.set_mode("anomaly", state.modes.anomaly + 1)
        try:
            yield
        finally:
            state.restore_mode("anomaly", saved)


def _user_site() -> str:
    """``file:line in function`` of the innermost frame outside this package."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    return f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"


# ---------------------------------------------------------------------------------------
# Nodes
# ---------------------------------------------------------------------------------------


@runtime_checkable
class Ctx(Protocol):
    """What an op's ``forward`` and ``backward`` see besides the data: one surface,
    valid in both, on every path.

    - ``saved``: what forward keeps for backward: None, or the op's ``Saved``
      NamedTuple, read by field name (``ctx.saved.axes``).
    - ``xp``: the kernels of the data's kind, so one formula serves both kinds:
      ``ctx.xp.exp(x)`` is ``math.exp`` on a Scalar's float, ``numpy.exp`` on an array.
    - ``needs_input_grad``: one bool per input, whether its gradient is wanted (all
      False when the op is not recorded); backward may skip the others' work.

    In the graph the ctx is the op's output :class:`Node` (so recording an op makes one
    object, not two); outside it (an op function called on raw data, the op-by-op
    check of :func:`~glassgrad.testing.localize`) it is a :class:`RawCtx`. A protocol
    rather than a base class of Node: a base would be one more level of every node's
    deallocation and garbage-collector walk.
    """

    saved: Any

    @property
    def xp(self) -> Any: ...

    @property
    def needs_input_grad(self) -> tuple[bool, ...]: ...


class RawCtx:
    """The ctx of an op run on raw data, outside the graph (see Ctx)."""

    __slots__ = ("needs_input_grad", "saved", "xp")

    xp: Any
    needs_input_grad: tuple[bool, ...]

    def __init__(self, xp: Any, needs_input_grad: tuple[bool, ...] = ()) -> None:
        self.saved: Any = None
        self.xp = xp
        self.needs_input_grad = needs_input_grad


class Node:
    """A value in the graph: the common base of :class:`Scalar` and :class:`Tensor`.

    A *leaf* is created by the user (``_fn is None``); it gets ``.grad`` after
    backward when ``requires_grad`` is set. A non-leaf was produced by the op
    ``_fn`` from its inputs (:attr:`parents`) and is itself the op's context:
    ``saved`` holds what the op's backward needs beyond its inputs and output.

    Eight slots, and the inputs of unary and binary ops in two of them rather than in a
    tuple: Python's garbage collector walks every live node on each full collection,
    and on a big scalar graph those walks dominate the time per node. A tuple would be
    one more object to walk, and a node of eight slots takes 96 bytes where ten take
    112: the walks read less memory. So fields most nodes never use live in ``_meta``
    (name, hooks, in-place version, and the accumulated ``.grad``, which only leaves
    and retained values have), and ``requires_grad`` is read from ``_seq``.
    """

    __slots__ = (
        "_data",  # float (Scalar) or numpy array (Tensor)
        "_fn",  # the Function that produced this value, None for a leaf
        "_g",  # gradient being accumulated during one backward pass
        "_meta",  # None, or a dict: grad, name, scope, site, hooks, retain, version,
        #           changed_input (a loaded op whose input changed in place after use)
        "_p0",  # the input of a unary op, the first of a binary op, the tuple of all
        #         inputs of an op with more; None for a leaf and once backward freed it
        "_p1",  # the second input of a binary op, else None
        "_seq",  # clock reading at creation, which orders the graph topologically; on a
        #          leaf −1 when it requires grad, else 0: requires_grad is _seq != 0
        "saved",  # what the op's forward kept for its backward (see Ctx)
    )
    _data: Any
    _fn: type[Function] | None
    _g: Any
    _meta: dict[str, Any] | None
    _p0: Any  # Node, tuple of Nodes or None: the hot paths tell which by _p1 and _fn
    _p1: Node | None
    _seq: int
    saved: Any

    # -- the hooks of a value kind -----------------------------------------------------
    # Scalar and Tensor differ only here: the graph core and the ops reach the data
    # through these and nothing else (tests check that every kind defines each one).
    #: The kernels of this kind's data (see Ctx.xp).
    xp: ClassVar[Any]
    #: Whether values have shapes that numpy broadcasting can stretch (Tensor: yes).
    broadcasting: ClassVar[bool] = False
    #: The type of ``_data`` (float or numpy.ndarray); op outputs are converted to it.
    data_type: ClassVar[type] = object

    @classmethod
    def _wrap(cls, x: Any, like: Any = None) -> Node:  # pragma: no cover - abstract
        """``x`` as a value of this kind: itself if it is one, else a constant (like ``like``)."""
        raise NotImplementedError

    @staticmethod
    def _as_data(data: Any) -> Any:  # pragma: no cover - abstract
        """An op's output converted to ``data_type``."""
        raise NotImplementedError

    @staticmethod
    def _all_finite(data: Any) -> bool:  # pragma: no cover - abstract
        """Whether raw data holds no NaN or inf (for the anomaly checks)."""
        raise NotImplementedError

    def _check_new_data(self, value: Any) -> Any:  # pragma: no cover - abstract
        """``value`` converted for an assignment to ``.data``, or a TypeError."""
        raise NotImplementedError

    def _seed(self) -> Any:  # pragma: no cover - abstract
        """∂self/∂self for ``backward()`` without a gradient (one number only)."""
        raise NotImplementedError

    def _check_seed(self, gradient: Any) -> Any:  # pragma: no cover - abstract
        """A user's ``backward(gradient)`` checked against this value and converted."""
        raise NotImplementedError

    def _sum_to(self, g: Any) -> Any:
        """``g`` summed back to this value's shape (kinds that broadcast override it)."""
        return g

    def _as_grad(self, g: Any) -> Any:
        """``g``, a gradient that reached this value, as ``.grad`` and ``grad()`` give it
        (kinds with several dtypes override it)."""
        return g

    def _grad_store(self, g: Any) -> None:  # pragma: no cover - abstract
        """Accumulate ``g`` into ``.grad``."""
        raise NotImplementedError

    def _describe(self) -> str:  # pragma: no cover - abstract
        """A short description for error messages: kind, name, dtype, shape or value."""
        raise NotImplementedError

    @classmethod
    def _op_error(
        cls, fn: type[Function], inputs: Sequence[Node], exc: Exception
    ) -> Exception:  # pragma: no cover - abstract
        """The error to raise when ``fn``'s forward failed with ``exc`` on ``inputs``."""
        raise NotImplementedError

    # -- identity and metadata --------------------------------------------------------
    def _init_leaf(self, data: Any, requires_grad: bool, name: str | None) -> None:
        self._data = data
        self._fn = None
        self._p0 = self._p1 = None
        self.saved = None
        self._g = None
        self._meta = None
        self.requires_grad = requires_grad
        if name is not None or (state.switched and not state.modes.plain):
            self._annotate(name)

    def _annotate(self, name: str | None = None) -> dict[str, Any]:
        meta = self._meta if self._meta is not None else {}
        if name is not None:
            meta["name"] = str(name)
        modes = state.modes
        if modes.scope:
            meta["scope"] = modes.scope
        if modes.record_sites:
            meta["site"] = _user_site()
        self._meta = meta
        return meta

    def _get_meta(self, key: str, default: Any = None) -> Any:
        return default if self._meta is None else self._meta.get(key, default)

    def _meta_dict(self) -> dict[str, Any]:
        """This value's metadata, made now if it has none: under
        ``state.backward_lock``, since two threads each making it (one naming the
        value, one recording an in-place change of it) would keep one dict, and the
        other's entry (its version: a change that backward no longer sees) is lost."""
        meta = self._meta
        if meta is None:
            with state.backward_lock:
                meta = self._meta
                if meta is None:
                    meta = self._meta = {}
        return meta

    @property
    def name(self) -> str | None:
        """A label for drawings and error messages (``Tensor(..., name="w")``)."""
        name: str | None = self._get_meta("name")
        return name

    @name.setter
    def name(self, value: str | None) -> None:
        if value is None:
            if self._meta is not None:
                self._meta.pop("name", None)
        else:
            # Only the name: scope and site belong to where the value was created,
            # not to where it is named.
            self._meta_dict()["name"] = str(value)

    @property
    def scope(self) -> tuple[str, ...]:
        """The nested ``scope()`` names active when this value was created."""
        scope: tuple[str, ...] = self._get_meta("scope", ())
        return scope

    @property
    def site(self) -> str | None:
        """``file:line`` of the user code that created this value, when recorded."""
        site: str | None = self._get_meta("site")
        return site

    @property
    def params(self) -> dict[str, Any]:
        """The keyword parameters the op's ``forward`` was called with (``axis``,
        ``keepdims``, …), recorded inside ``record_sites()``; empty otherwise."""
        return dict(self._get_meta("params", {}))

    @property
    def is_leaf(self) -> bool:
        """True for values created by the user rather than by an operation."""
        return self._fn is None

    @property
    def op(self) -> str | None:
        """Name of the operation that produced this value; None for a leaf."""
        return None if self._fn is None else self._fn.name

    @property
    def fn(self) -> type[Function] | None:
        """The :class:`Function` that produced this value; None for a leaf."""
        return self._fn

    @property
    def needs_input_grad(self) -> tuple[bool, ...]:
        """Which inputs of the op that made this value want a gradient (see Ctx)."""
        p0, p1 = self._p0, self._p1
        if self._fn is None:  # not recorded: no input gets a gradient through it
            return (False,) * (0 if p0 is None else 2 if p1 is not None else len(p0) if type(p0) is tuple else 1)
        if p1 is not None:  # binary: asked on every backward of matmul and the losses
            return (p0._seq != 0, p1._seq != 0)  # requires_grad, read without a call
        return tuple(p.requires_grad for p in self.parents)

    @property
    def parents(self) -> tuple[Node, ...]:
        """The inputs of the operation that produced this value (empty for a leaf).

        Raises :class:`GradError` once a backward pass has freed this part of the graph.
        """
        parents = _inputs(self)
        if parents is None:
            raise GradError(_freed_message(self))
        return parents

    @property
    def is_freed(self) -> bool:
        """True once backward (without ``retain_graph=True``) has released this node."""
        return self._p0 is None and self._fn is not None

    @property
    def data(self) -> Any:
        """The raw value (a float for Scalar, a numpy array for Tensor)."""
        self._read("reading .data")
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        if state.switched:  # a mode is on somewhere: maybe a trace in this thread
            self._refuse_change_while_tracing("assigning .data")
        new = self._check_new_data(value)
        with state.backward_lock:  # see _bump_version
            self._data = new
            self._bump_version()

    def _refuse_change_while_tracing(self, what: str, traced: bool = False) -> None:
        """Refuse, while a function is being traced, a change of a parameter (a value
        that requires grad), or a write of values that depend on the traced inputs or
        parameters (``traced``): the compiled step replays the graph's ops, not changes
        made to values, so it would not make the change again."""
        if state.modes.tracing and (self._seq or traced):
            raise TraceError(
                f"trace: {what} on {self._describe()} inside the traced function changes a parameter, or writes "
                "values computed from the traced inputs or parameters: the compiled step replays the graph's "
                "ops, not such changes. Update parameters after the compiled step (its backward(), then an "
                "optimizer's step())."
            )

    def _read(self, what: str) -> None:
        """Refuse, while a function is being traced, to hand Python the data of a value
        that depends on the traced inputs or on parameters (one that requires grad):
        the compiled step would replay what was read at trace time, not read it again."""
        if state.switched and state.modes.tracing and self._seq:
            raise TraceError(
                f"trace: {what} reads the values of {self._describe()} outside the graph, and they "
                "depend on the traced inputs or parameters: the compiled step would reuse the values "
                "read now (a branch on them is Python control flow on values). Compute with glassgrad "
                "ops instead (relu, clip, abs, np.maximum, np.minimum), or run the function eagerly."
            )

    def _bump_version(self) -> int:
        """Record a change of this value; graphs that saved it will refuse backward.
        Returns the clock reading of the change.

        The caller holds ``state.backward_lock`` from its write of the data to its
        record of the memory's version (``versions.mark``): a backward pass reads an
        op's inputs after checking them, so a change waits for the pass to end; and a
        clock reading is stored before another thread takes a newer one, where the
        older reading, stored last, would hide the newer change from every graph made
        between the two."""
        global _last_inplace
        meta = self._meta  # a leaf that requires grad always has it
        (self._meta_dict() if meta is None else meta)["version"] = _last_inplace = next(_clock)
        return _last_inplace

    def _version(self) -> int:
        """Clock reading of the last in-place change (0: never changed)."""
        return 0 if self._meta is None else self._meta.get("version", 0)

    # -- hooks --------------------------------------------------------------------------
    def register_hook(self, hook: Callable[[Any], Any]) -> Callable[[], None]:
        """Call ``hook(grad)`` when this value's gradient is computed; a non-None
        return value replaces the gradient. Returns a function that removes the hook.

        Refused inside a traced function (:class:`TraceError`): eager glassgrad adds a
        hook at every call, the compiled step never runs the function again."""
        if state.switched and state.modes.tracing:
            raise TraceError(
                f"trace: register_hook() on {self._describe()} inside the traced function: eager glassgrad would "
                "add one more hook at every call, the compiled step adds none. Register hooks before tracing "
                "(hooks on parameters and inputs run at every call of the compiled step)."
            )
        if not self.requires_grad:
            raise GradError(
                f"register_hook on a value that does not require grad ({self._describe()}): "
                "no gradient will ever reach it"
            )
        hooks = self._meta_dict().setdefault("hooks", [])
        hooks.append(hook)
        return lambda: hooks.remove(hook) if hook in hooks else None

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf value after backward (leaves always keep it)."""
        if not self.requires_grad:
            raise GradError(f"retain_grad on a value that does not require grad ({self._describe()})")
        self._meta_dict()["retain"] = True

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``.grad = None``)."""
        self.grad = None

    @property
    def requires_grad(self) -> bool:
        """Whether gradients flow back to this value: chosen for a leaf, true of every
        value an op recorded."""
        return self._seq != 0

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if self._fn is not None:
            raise GradError(
                f"requires_grad can be set on leaves only, not on {self._describe()} made by {self.op}; "
                "use detach() to start a new leaf"
            )
        self._seq = -1 if value else 0
        if value:
            # The leaf's metadata exists from now on: its gradient and its in-place
            # version are kept there, and two threads that each created the dict (a
            # backward storing the gradient, an update under no_grad marking the
            # version) could lose one of the two. It is made under the lock, as every
            # first use makes it: a change in place meanwhile keeps its version.
            self._meta_dict()

    @property
    def _grad(self) -> Any:
        """The accumulated gradient behind ``grad`` (None until a backward reaches it): a
        float or an array, a graph value after ``backward(create_graph=True)``."""
        meta = self._meta
        return None if meta is None else meta.get("grad")

    @_grad.setter
    def _grad(self, value: Any) -> None:
        if self._meta is not None:
            self._meta["grad"] = value
        elif value is not None:
            self._meta = {"grad": value}

    @property
    def grad(self) -> Any:
        """∂L/∂self accumulated by ``backward()``: on leaves that require grad, and on
        other values only after :meth:`retain_grad`. Reading it on a value an op made,
        without ``retain_grad()``, warns once (it stays None), as PyTorch does."""
        # The _grad property's read, written out: an optimizer reads .grad per
        # parameter and step.
        meta = self._meta
        g = None if meta is None else meta.get("grad")
        if g is None and self._fn is not None and not self._get_meta("retain"):
            _warn_non_leaf_grad(self)
        return g

    @grad.setter
    def grad(self, value: Any) -> None:
        value = None if value is None else self._checked_grad(value)
        # A backward pass in another thread reads the old gradient, then stores the sum:
        # a change waits for it (not ``with``: an optimizer's zero_grad pays this per
        # parameter).
        lock = state.backward_lock
        lock.acquire()
        try:
            meta = self._meta  # a leaf that requires grad always has it
            if meta is not None:
                meta["grad"] = value
            else:
                self._grad = value
        finally:
            lock.release()

    def _checked_grad(self, value: Any) -> Any:
        """A gradient assigned to ``.grad``, as this kind of value keeps it."""
        return value

    # -- backward -----------------------------------------------------------------------
    def backward(self, gradient: Any = None, retain_graph: bool = False, create_graph: bool = False) -> None:
        """Accumulate ∂self/∂leaf into ``leaf.grad`` for every leaf that requires grad.

        ``gradient`` is ∂L/∂self; it may be omitted only when self holds one number.
        The graph is freed afterwards unless ``retain_graph=True``. With
        ``create_graph=True`` the backward pass is recorded too, so the gradients are
        themselves differentiable (and ``.grad`` holds graph values).
        """
        run_backward([self], [gradient], retain_graph=retain_graph or create_graph, create_graph=create_graph)

    # Comparisons are by value (see subclasses); hashing stays by identity, so nodes
    # can key dicts and sets.
    __hash__ = object.__hash__

    # Pickling and copying (``__reduce_ex__``, ``__copy__``) are installed by the
    # pickling module, which follows a graph of any depth without recursion.


def _warn_non_leaf_grad(node: Node) -> None:
    if node._get_meta("warned_grad"):
        return
    node._meta_dict()["warned_grad"] = True
    warnings.warn(
        f"the .grad of {node._describe()}, made by {node.op}, is not kept: backward() fills "
        ".grad on leaves only. Call .retain_grad() on it before backward() to keep it.",
        UserWarning,
        stacklevel=3,
    )


def _inputs(node: Node) -> tuple[Node, ...] | None:
    """The inputs of the op that made ``node`` (() for a leaf), None once freed."""
    p0 = node._p0
    if node._p1 is not None:
        return (p0, node._p1)
    if p0 is None:
        return () if node._fn is None else None
    return p0 if type(p0) is tuple else (p0,)


def _freed_message(node: Node) -> str:
    return (
        f"the graph through {node.op} ({node._describe()}) was freed by an earlier backward(). "
        "Trying to backward through the graph a second time: pass retain_graph=True to the "
        "first backward() to keep it, or recompute the forward pass."
    )


# ---------------------------------------------------------------------------------------
# Functions (operations)
# ---------------------------------------------------------------------------------------

_new = object.__new__

#: The registered ops by name: the built-in ones and every op declared with
#: ``register=True``. The gradient-check strategies draw from it.
REGISTRY: dict[str, type[Function]] = {}


class Function:
    """A differentiable operation: the one place that knows everything about it.

    Subclass it to define an op (the built-in ones are written the same way)::

        class Cube(Function, register=True):
            '''y = x³;  dy/dx = 3x²'''

            elementwise = scalar = True
            reference = staticmethod(lambda x: x**3)

            @staticmethod
            def forward(ctx, x):
                return x**3

            @staticmethod
            def backward(ctx, g, y, x):
                return (g * 3 * x * x,)

            @staticmethod
            def formulas(ctx, y, x):
                return (f"3{x}²",)

    ``forward(ctx, *inputs, **params)`` receives raw data (floats or numpy arrays) and
    returns the output; what backward needs beyond the inputs and the output it keeps
    in ``ctx.saved``, as the op's own ``Saved`` NamedTuple (fields by name, never by
    position). ``backward(ctx, g, out, *inputs)`` receives the upstream gradient
    ``g = ∂L/∂out``, the output and the inputs, and returns one gradient per input
    (None where an input gets none). It must use only arithmetic and methods that work
    both on raw data and on graph values (``+ - * / @``, ``.sum``, ``.reshape``,
    ``.T``, the ``ops`` module functions): with ``create_graph=True`` it is called with
    graph values and records itself, which is how higher-order gradients work.
    :class:`Ctx` lists what ``ctx`` offers.

    Class attributes declare the rest; the registry, the drawings' formulas and the
    gradient checks' op table are read from them:

    - ``name``: the op's name (default: the class name in lower case).
    - ``domains``: one :class:`~glassgrad.ops.domains.Domain` (or None) per input;
      ``domains_for(params)`` when the domain depends on a parameter.
    - ``kinks``: points where the derivative jumps: numbers, the name of a parameter
      holding one, or ``"ties"`` (equal elements, as in max).
    - ``elementwise``: output element i depends on input element i only (the
      Jacobian is diagonal, so the backward view shows it as an array).
    - ``broadcasts``: inputs follow numpy broadcasting; the driver sums each gradient
      back to its input's shape, so backward never has to.
    - ``reads_inputs``: backward reads the inputs' values, so changing one in place
      after forward is an error.
    - ``scalar``: the op also runs on Scalars (Python floats).
    - ``reference``: a numpy function computing the same output, which the gradient
      checks compare forward with.
    - ``examples``: parameter sets the gradient checks try (for ops with parameters).
    - ``formulas(ctx, out, *inputs)``: ∂out/∂inputᵢ spelled in the names it gets,
      for the backward view; ``detail(ctx)``: parameters worth showing on the node.
    - ``category``: what the op does, for the drawings' colours: ``"elementwise"``,
      ``"activation"``, ``"reduction"``, ``"matmul"``, ``"loss"``, ``"shape"`` or
      ``"other"``; ``commutative``: its inputs can be swapped, so drawings need not
      number them.
    - ``onnx_op``: the ONNX operator that computes the op from the same inputs, or
      ``to_onnx(ctx, b, *inputs)``: the op spelled in ONNX with the
      :class:`~glassgrad.export.OnnxBuilder` ``b`` (for :func:`glassgrad.export.to_onnx`).

    ``register=True`` in the class statement (``class SiLU(Function, register=True)``)
    lists the op in :data:`REGISTRY` beside the built-in ones.
    """

    name: ClassVar[str] = ""
    domains: ClassVar[tuple[Domain | None, ...]] = ()
    kinks: ClassVar[tuple[float | str, ...]] = ()
    elementwise: ClassVar[bool] = False
    broadcasts: ClassVar[bool] = False
    reads_inputs: ClassVar[bool] = True
    scalar: ClassVar[bool] = False
    reference: ClassVar[Callable[..., Any] | None] = None
    examples: ClassVar[tuple[dict[str, Any], ...]] = ()
    category: ClassVar[str] = "other"
    commutative: ClassVar[bool] = False
    onnx_op: ClassVar[str | None] = None
    to_onnx: ClassVar[Callable[..., str] | None] = None
    #: The chain rule at one node of this op, on raw data and on graph values: the
    #: backward driver's step, written for the op by ``recorders.specialise``.
    _chains: ClassVar[tuple[Callable[[Node, Any, bool, int], None], ...]]

    def __init_subclass__(cls, register: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = cls.__name__.lower()
        if register:
            REGISTRY[cls.name] = cls
        own = specialise(cls, globals())
        cls.apply = staticmethod(own.apply)  # type: ignore[method-assign]
        cls._chains = own.chains

    @classmethod
    def source(cls) -> str:
        """The Python the engine runs for this op: its recorder (``apply``, which the
        operators call) and its step of the chain rule in ``backward()``, written from
        one template for every op, with ``forward`` and ``backward`` written in place
        where each is a single ``return``."""
        return recorders.source(cls.apply)

    @classmethod
    def domains_for(cls, params: dict[str, Any]) -> tuple[Domain | None, ...]:
        """The domain of each input under these parameters: the declared ``domains``,
        unless the domain depends on a parameter (xᶜ's on c)."""
        return cls.domains

    @classmethod
    def check_domains(cls, datas: Sequence[Any]) -> None:
        """Raise :class:`DomainError` when raw input data lies outside the declared domains."""
        for i, (dom, x) in enumerate(zip(cls.domains, datas)):
            if dom is not None and not dom.contains(x):
                which = f"input {i}" if len(cls.domains) > 1 else "its input"
                raise DomainError(
                    f"{cls.name}: {which} must satisfy {dom.describe()} ({dom.name}); {dom.violations(x)}"
                )

    @staticmethod
    def forward(ctx: Ctx, *inputs: Any, **params: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Ctx, g: Any, out: Any, *inputs: Any) -> Sequence[Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def formulas(ctx: Any, out: str, *inputs: Any) -> Sequence[str] | None:
        """∂out/∂inputᵢ as formulas in the display names ``out`` and ``inputs`` (None:
        the op does not say). ``ctx`` is the recorded output node. An op whose
        Jacobian is not diagonal says what its vector-Jacobian product does to ``g``."""
        return None

    @staticmethod
    def detail(ctx: Any) -> str:
        """The op's parameters worth showing beside its name in drawings ('' for none)."""
        return ""

    # The output is of the inputs' kind, typed by the first (unary ops; the others).
    # ``__init_subclass__`` installs each op's own recorder (see recorders.RECORD);
    # these declarations type it.
    @overload
    @classmethod
    def apply(cls, a: N, /, **params: Any) -> N: ...

    @overload
    @classmethod
    def apply(cls, a: N, /, *inputs: Node, **params: Any) -> N: ...

    @classmethod
    def apply(cls, /, *inputs: Node, **params: Any) -> Node:  # pragma: no cover - replaced
        """Run forward on the inputs' data and record the result in the graph.

        ``inputs`` are values of one kind (all Scalar or all Tensor); the second input of
        a binary op may also be a Python number or an array, taken as a constant
        (``x * 2``). Other numbers and arrays must be wrapped by the caller.
        """
        raise NotImplementedError


def _operand(kind: type[Node], x: Any, like: Node, fn: type[Function]) -> Node:
    """The second input of a binary op as a value of ``kind``: a graph value of the same
    kind as it is, a Python number or an array as a constant (``x * 2``)."""
    if isinstance(x, Node):
        if x.data_type is not kind.data_type:
            raise mixed_kinds(kind, type(x), fn.name)
        return x
    return kind._wrap(x, like)


def _annotate_op(cls: type[Function], out: Node, inputs: tuple[Node, ...], params: dict[str, Any] | None) -> None:
    """What the switched modes of this thread record about a new op node."""
    modes = state.modes
    if modes.tracing and out._fn is None and any(x._seq for x in inputs):
        _untraced(cls, inputs)
    if modes.scope or modes.record_sites:
        meta = out._annotate()
        if modes.record_sites and params:
            # Checkers re-run the op's forward on its recorded inputs (see .params).
            meta["params"] = params
    if modes.anomaly:
        _check_forward(cls, out, inputs)


def _untraced(cls: type[Function], inputs: Sequence[Node]) -> None:
    """Refuse an op that ``no_grad()`` kept out of a graph being traced while one of
    its inputs depends on the traced inputs or on parameters: the compiled step replays
    the graph, so it would reuse the output computed now."""
    value = next(x for x in inputs if x._seq)
    raise TraceError(
        f"trace: {cls.name} runs under no_grad() on {value._describe()}, which depends on the traced inputs "
        "or parameters: an op no_grad() does not record is not replayed, so the compiled step would reuse "
        "the value computed now. Compute it outside the traced function and pass it in as an input, or run "
        "the function eagerly."
    )


def _check_forward(fn: type[Function], out: Node, inputs: Sequence[Node]) -> None:
    if not type(out)._all_finite(out._data) and all(type(x)._all_finite(x._data) for x in inputs):
        raise AnomalyError(
            f"{fn.name} produced NaN or inf in the forward pass from finite inputs "
            f"({', '.join(x._describe() for x in inputs)}); created at {out.site}"
        )


# ---------------------------------------------------------------------------------------
# Backward
# ---------------------------------------------------------------------------------------


_seq_key = operator.attrgetter("_seq")


def _reachable(roots: Sequence[Node]) -> list[Node]:
    """Nodes that require grad and are reachable from roots, newest first.

    A node's consumers are always newer than it (``_seq`` is the creation order), so
    newest-first is a reverse topological order: every node comes after all its uses.
    Marks each node's ``_g`` with ``_VISITED``; the caller must reset ``_g``.
    """
    order: list[Node] = []
    found = order.append
    stack = []
    for r in roots:
        if r._g is None:  # each root once, even when passed twice (grad((y, y), ...))
            r._g = _VISITED
            stack.append(r)
    pop, push = stack.pop, stack.append
    while stack:
        node = pop()
        found(node)
        p0, p1 = node._p0, node._p1
        if p1 is not None:  # a binary op, unrolled: most nodes are
            if p0._g is None and p0._seq:  # _seq != 0: requires grad
                p0._g = _VISITED
                push(p0)
            if p1._g is None and p1._seq:
                p1._g = _VISITED
                push(p1)
            continue
        if p0 is None:
            if node._fn is None:  # a leaf
                continue
            raise GradError(_freed_message(node))
        for p in p0 if type(p0) is tuple else (p0,):
            if p._g is None and p._seq:
                p._g = _VISITED
                push(p)
    # Depth-first order of a chain is already sorted; timsort sees that in one pass.
    order.sort(key=_seq_key, reverse=True)
    return order


def run_backward(
    roots: Sequence[Node],
    gradients: Sequence[Any],
    *,
    retain_graph: bool = False,
    create_graph: bool = False,
    inputs: Sequence[Node] | None = None,
) -> list[Any] | None:
    """The backward driver behind ``Node.backward`` and ``grad``.

    Seeds each root with its gradient, then visits every node once, newest first, and
    hands ``∂L/∂node`` to its op's backward. Without ``inputs`` the gradients are
    accumulated into the ``.grad`` of leaves; with ``inputs`` they are returned
    (one per input, None where no path leads) and no ``.grad`` is touched.

    An ordinary pass works on raw data: it records nothing and allocates nothing the
    collector tracks beyond a moment, so it switches no mode. With
    ``create_graph=True`` the pass is recorded (also inside ``no_grad()``) and
    allocates a whole new graph, which forms no reference cycles; Python's cyclic
    collector is paused meanwhile, when no other thread runs (see
    ``state.CollectorPause``), since each full collection it triggered would walk every
    live node and free nothing.
    """
    seeds = []
    for root, gradient in zip(roots, gradients):
        if not root._seq:  # requires_grad
            raise GradError(
                f"backward from a value that does not require grad ({root._describe()}): "
                "nothing it was computed from has requires_grad=True, or it was computed "
                "under no_grad(). Create the leaves with requires_grad=True."
            )
        seeds.append(root._seed() if gradient is None and not create_graph else _seed_for(root, gradient, create_graph))

    captured: dict[int, Any] | None = None if inputs is None else {id(x): None for x in inputs}
    order: list[Node] = []
    # One pass at a time: the pass keeps its running sums on the nodes (_g), and a
    # parameter shared by threads is a node of each thread's graph.
    lock = state.backward_lock
    lock.acquire()  # not ``with``: a training step pays it once
    try:
        order = _reachable(roots)
        for root, seed in zip(roots, seeds):
            root._g = seed if root._g is _VISITED else root._g + seed
        if create_graph:
            with GradMode(True), state.CollectorPause():
                _backward_pass(order, captured, retain_graph, 1)
        else:
            _backward_pass(order, captured, retain_graph, 0)
    except BaseException:
        for node in order:
            node._g = None
        raise
    finally:
        lock.release()
    if captured is None:
        return None
    return [captured[id(x)] for x in inputs]  # type: ignore[union-attr]


def _backward_pass(order: list[Node], captured: dict[int, Any] | None, retain_graph: bool, graph: int) -> None:
    """The chain rule over ``order`` (newest first): each node's ``_g`` is complete
    when it is reached, because all its consumers came before it. ``graph`` picks the
    ops' chain-rule steps: 0 on raw data, 1 on graph values (see Function._chains)."""
    visited = _VISITED
    # One graph holds one kind of value (Scalars and Tensors do not mix).
    broadcasting = bool(order) and order[0].broadcasting
    anomaly = bool(state.switched) and state.modes.anomaly  # a thread-local read only when a mode is on
    for node in order:
        g = node._g
        node._g = None
        if g is visited:  # reachable, but every path to it carried no gradient
            continue
        meta = node._meta
        if meta is not None and ("hooks" in meta or "retain" in meta):
            g = _run_hooks(node, meta, g, graph)
        if captured is not None and id(node) in captured:
            captured[id(node)] = node._as_grad(g)
        fn = node._fn
        if fn is None:
            if captured is None:
                node._grad_store(g)
            continue
        if _last_inplace > node._seq:  # something changed in place since node was made
            _check_versions(node, fn)
        try:
            fn._chains[graph](node, g, broadcasting, anomaly)
        except (OverflowError, ZeroDivisionError) as exc:
            # Python's float arithmetic raises where IEEE gives inf (x ** y, math.exp):
            # say whose backward it was.
            raise type(exc)(f"backward of {fn.name}, whose output is {node._describe()}: {exc}") from None
        if not retain_graph:  # release the inputs and saved constants once its backward ran
            node._p0 = node._p1 = None
            node.saved = None


def _seed_for(root: Node, gradient: Any, create_graph: bool) -> Any:
    seed = root._seed() if gradient is None else root._check_seed(gradient)
    if create_graph:
        return seed if isinstance(seed, Node) else type(root)._wrap(seed)
    return seed._data if isinstance(seed, Node) else seed


def _run_hooks(node: Node, meta: dict[str, Any], g: Any, graph: int) -> Any:
    g = run_hooks(node, g, graph)
    if meta.get("retain") and node._fn is not None:
        node._grad_store(g)
    return g


def run_hooks(node: Node, g: Any, graph: int = 0) -> Any:
    """``g`` = ∂L/∂node passed through the hooks registered on ``node``, in their order:
    each sees it as ``.grad`` would hold it (the value's dtype, an array) and may return
    a replacement. What backward() passes on from ``node``; the drawings' replay of
    backward calls it too."""
    # A hook records what it computes only in a pass that is recorded (create_graph).
    with GradMode(bool(graph)):
        for hook in list(node._get_meta("hooks", ())):
            # A hook that returns None passes g on as it came: a float64 gradient
            # through a float32 value is not rounded because someone looked at it.
            replaced = hook(node._as_grad(g))
            if replaced is not None:
                g = _hook_result(node, replaced, graph)
    return g


def _hook_result(node: Node, replaced: Any, graph: int) -> Any:
    """A hook's replacement gradient, checked and converted as a ``backward(gradient)``
    is: another shape would be broadcast into ``.grad`` or through the ops before it."""
    try:
        return _seed_for(node, replaced, bool(graph))
    except (GradError, TypeError, ValueError) as exc:
        raise GradError(
            f"a hook on {node._describe()} returned a gradient that does not fit ({exc}); "
            "return one of the value's shape, or None to keep the gradient"
        ) from None


def _check_versions(node: Node, fn: type[Function]) -> None:
    """Refuse the backward of an op whose output or (when its backward reads them)
    inputs changed after the op was made (see :func:`changed_after_use`)."""
    changed = changed_after_use(node)
    if changed is not None:
        raise InPlaceError(_inplace_message(node, changed))


def changed_after_use(node: Node) -> Node | None:
    """The value among ``node`` and (when its op's backward reads them) the op's inputs
    that changed after the op was made, through the value or an alias of its memory;
    None when there is none (always for a leaf).

    The output is always checked: ops do not declare whether their backward reads it
    (sigmoid, exp and sqrt do), and refusing is never a wrong gradient."""
    fn = node._fn
    if fn is None:
        return None
    inputs = (_inputs(node) or ()) if fn.reads_inputs else ()
    for p in (node, *inputs):
        if p._version() > node._seq:
            return p
    # An array the op keeps beside its inputs (a mask, an index) stands for the op.
    return node if versions.changed_since(node.saved, node._seq) else None


def _inplace_message(node: Node, changed: Node) -> str:
    meta = node._meta
    if changed is node and meta is not None and "changed_input" in meta:
        changed = node.parents[meta["changed_input"]]  # loaded: the output stands for the input
    where = f" (created at {node.site})" if node.site else ""
    if changed is node and node._version() <= node._seq:  # not the output: what the op kept
        return (
            f"an array {node.op}{where} kept (a mask or an index) was modified in place after "
            f"{node.op} used it, through a Tensor sharing its memory, so its gradient would be wrong. "
            "Recompute the forward pass after the change, or pass a copy."
        )
    what = f"the output of {node.op}" if changed is node else f"an input of {node.op}"
    return (
        f"{what}{where}, {changed._describe()}, was modified in place after {node.op} saved it, "
        "directly or through a value sharing its memory (detach(), a view, as_tensor), "
        "so its gradient would be wrong. Recompute the forward pass after the change, or "
        "modify a copy."
    )


def _check_backward(node: Node, grads: Sequence[Any]) -> None:
    for i, gp in enumerate(grads):
        if gp is None:
            continue
        raw = gp._data if isinstance(gp, Node) else gp
        if not type(node)._all_finite(raw):
            raise AnomalyError(
                f"the backward of {node.op} produced NaN or inf for input {i} "
                f"({node.parents[i]._describe()}); {node.op} was created at {node.site}"
            )


def walk(roots: Node | Sequence[Node]) -> list[Node]:
    """Every node the roots depend on (constants included), oldest first, each once.

    Iterative, so graphs of any depth work; ties in creation order (leaves) keep the
    order in which they were first met going back from the roots.
    """
    roots = [roots] if isinstance(roots, Node) else list(roots)
    seen: set[int] = set()
    found: list[Node] = []
    stack = list(reversed(roots))
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        found.append(node)
        stack.extend(reversed(node.parents))
    # Stable sort: leaves (seq 0, or −1 when they require grad) tie and stay in
    # discovery order.
    found.reverse()
    found.sort(key=lambda node: max(node._seq, 0))
    return found
