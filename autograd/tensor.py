"""Tensor: a numpy array in the graph."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import numpy_interop, ops, state, versions
from .errors import GradError, InPlaceError, ShapeError, mixed_kinds
from .graph import Function, Node
from .operators import Operators
from .ops.base import as_raw, sum_to
from .ops.kernels import ArrayKernels
from .ops.linalg import MatMul

DEFAULT_DTYPE = np.dtype(np.float64)


def dtype_name(dtype: np.dtype) -> str:
    """Short dtype spelling used in listings and errors: f64, f32, i64, u8, bool."""
    return "bool" if dtype.kind == "b" else f"{dtype.kind}{dtype.itemsize * 8}"


def _to_array(data: Any, dtype: Any, copy: bool) -> np.ndarray:
    """An ndarray from user data: Python numbers and lists become float64 (unless
    ``dtype`` says otherwise), numpy data keeps its dtype."""
    if isinstance(data, Node):
        data = data._data
    if isinstance(data, (np.ndarray, np.generic)):
        arr = np.array(data, dtype=dtype, copy=copy or None)
    else:
        try:
            arr = np.array(data, dtype=dtype if dtype is not None else DEFAULT_DTYPE)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"Tensor data must be numbers, nested lists of numbers or a numpy array: {exc}") from None
    if arr.dtype.kind not in "fiub":
        raise TypeError(
            f"Tensor data must be real numbers; got dtype {arr.dtype} "
            "(object, string and complex arrays are not supported)"
        )
    return arr


class Tensor(Operators, Node):
    """A numpy array that records the operations applied to it.

    ``Tensor(data, requires_grad=False, dtype=None, name=None)`` copies ``data``;
    Python numbers and lists become float64, numpy arrays keep their dtype (float32
    stays float32 through every op and gradient). Only floating-point tensors can
    require grad. Use :func:`as_tensor` to wrap an array without copying.

    A graph value that requires grad is refused (``TypeError``): its copy would be a new
    leaf cut from the graph, through which no gradient reaches the value. Use the value
    itself (``.astype(dtype)`` to convert it in the graph), ``.detach()`` for a leaf
    over the same numbers, or ``Tensor(value.detach())`` for a copy.
    """

    __slots__ = ()
    _data: np.ndarray
    data_type = np.ndarray
    xp = ArrayKernels
    broadcasting = True

    # NumPy calls on a Tensor (and ``array * tensor``) record glassgrad's own op or
    # refuse in one line: see numpy_interop.
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return numpy_interop.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        return numpy_interop.array_function(func, args, kwargs)

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None, name: str | None = None) -> None:
        arr = _to_array(_leaf_data(data, "Tensor()"), dtype, copy=True)
        _check_requires_grad(arr, requires_grad)
        self._init_leaf(arr, bool(requires_grad), name)

    # -- conversion hooks used by the graph core and ops ------------------------------
    @classmethod
    def _wrap(cls, x: Any, like: Any = None) -> Tensor:
        """A constant Tensor for an operand; shares memory with an ndarray operand."""
        if isinstance(x, Tensor):
            return x
        if isinstance(x, Node):
            raise mixed_kinds(cls, type(x))
        if isinstance(x, (int, float, bool)) and like is not None and like.dtype.kind == "f":
            # numpy's rule for Python numbers: they take the array's float dtype
            arr = np.asarray(x, dtype=like.dtype)
        else:
            arr = _to_array(x, None, copy=False)
        t = cls.__new__(cls)
        t._init_leaf(arr, False, None)
        return t

    @staticmethod
    def _as_data(data: Any) -> np.ndarray:
        return data if type(data) is np.ndarray else np.asarray(data)

    @staticmethod
    def _all_finite(data: Any) -> bool:
        return bool(np.isfinite(data).all())

    def _seed(self) -> np.ndarray:
        if self._data.size != 1:
            raise GradError(
                f"backward() without a gradient needs a single-number output, got shape {self.shape}. "
                "Reduce it first (e.g. .sum() or .mean()) or pass gradient= of the same shape."
            )
        # One number, so the shape is (1, …, 1): ndmin makes it in one C call (numpy's
        # ones and ones_like are Python functions).
        return np.array(1, self._data.dtype, ndmin=self._data.ndim)

    def _check_seed(self, gradient: Any) -> Any:
        g = as_raw(gradient)
        g = np.asarray(g, dtype=self._data.dtype) if not isinstance(gradient, Tensor) else gradient
        if tuple(g.shape) != self.shape:
            raise GradError(f"backward gradient has shape {tuple(g.shape)} but the output has shape {self.shape}")
        return g

    def _sum_to(self, g: Any) -> Any:
        shape = self._data.shape
        if not shape and type(g) is np.ndarray:  # to one number: a bias's gradient, every step
            return np.add.reduce(g, axis=None)
        return sum_to(g, shape)

    def _as_grad(self, g: Any) -> Any:
        """In this tensor's dtype (float64 constants promote a float32 graph) and an
        array, 0-d for one number; a graph value stays one, its cast recorded."""
        if isinstance(g, Node):
            return g if g._data.dtype == self._data.dtype else ops.cast(g, self._data.dtype)
        return np.asarray(g, dtype=self._data.dtype)

    def _grad_store(self, g: Any) -> None:
        if isinstance(g, Node):  # create_graph: the gradient is itself a graph value
            g = self._as_grad(g)
            self._grad = g if self._grad is None else self._grad + g
            return
        data = self._data
        if g.shape != data.shape:  # broadcasting it would hide a wrong backward
            raise GradError(
                f"the gradient reaching {self._describe()} has shape {tuple(g.shape)}: an op's backward "
                "returned a gradient of another shape than its input (glassgrad.testing.gradcheck "
                "names the op)"
            )
        if g.dtype is not data.dtype and g.dtype != data.dtype:
            g = g.astype(data.dtype)
        # The _grad property written out: backward stores into every leaf it reaches.
        meta = self._meta
        old = None if meta is None else meta.get("grad")
        if old is None:
            # A copy: never alias another value's gradient (add's backward hands both
            # inputs one array) or the caller's backward(gradient). A numpy scalar (a
            # total) becomes a 0-d array like the data.
            g = g.copy() if type(g) is np.ndarray else np.array(g)
        else:
            if old.shape != data.shape:  # broadcasting the old gradient would be wrong
                raise GradError(
                    f".grad has shape {tuple(old.shape)} but {self._describe()} has a new shape (its .data "
                    "was assigned): set .grad = None before backward()"
                )
            g = old + g
            if isinstance(g, np.generic):  # two 0-d arrays add to a numpy scalar
                g = np.array(g)
        if meta is not None:
            meta["grad"] = g
        else:
            self._grad = g

    def _checked_grad(self, value: Any) -> Any:
        # Cast to the data's dtype, a Tensor as an array: a float64 gradient on float32
        # data would make an optimizer's buffers float64.
        g: Tensor | np.ndarray
        if not isinstance(value, Tensor):
            g = np.asarray(value, dtype=self._data.dtype)
        else:
            g = value if value.dtype == self._data.dtype else value.astype(self._data.dtype)
        if g.shape != self._data.shape:
            raise GradError(f"the grad of {self._describe()} must have its shape {self.shape}, got {tuple(g.shape)}")
        return g

    def _describe(self) -> str:
        name = f" {self.name!r}" if self.name else ""
        return f"Tensor{name} {dtype_name(self._data.dtype)}{list(self._data.shape)}"

    @classmethod
    def _op_error(cls, fn: type[Function], inputs: Sequence[Node], exc: Exception) -> Exception:
        shapes = ", ".join(x._describe() for x in inputs)
        msg = str(exc)
        if isinstance(exc, np.exceptions.AxisError):
            return ShapeError(f"{fn.name} on {shapes}: {msg}; an axis must lie in [-ndim, ndim - 1]")
        if isinstance(exc, ValueError) and (
            "shape" in msg or "broadcast" in msg or "dimension" in msg or "size" in msg
        ):
            if fn.name == "matmul":
                hint = (
                    "; matmul needs operands of at least one dimension; use * to scale by a number"
                    if "enough dimensions" in msg
                    else "; for matmul the last axis of the left operand must equal the second-to-last of the right"
                )
            elif "broadcast" in msg:  # the rule explains a failed broadcast, not a reshape or an empty mean
                hint = "; shapes must be equal, or 1, axis by axis from the right (numpy broadcasting)"
            else:
                hint = ""
            if len(inputs) == 1 and not hint:
                return ShapeError(f"{fn.name} on {shapes}: {msg}")
            return ShapeError(f"{fn.name}: operands {shapes} do not fit: {msg}{hint}")
        return (
            type(exc)(f"{fn.name} on {shapes}: {msg}") if isinstance(exc, (ValueError, TypeError, IndexError)) else exc
        )

    def _check_new_data(self, value: Any) -> np.ndarray:
        arr = _to_array(value, None, copy=False)
        _check_requires_grad(arr, self.requires_grad)
        return arr

    # -- numpy-like attributes -------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def size(self) -> int:
        return self._data.size

    @property
    def T(self) -> Tensor:
        """The transpose (axes reversed)."""
        return ops.transpose(self)

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self) -> Iterator[Tensor]:
        for i in range(len(self)):
            yield self[i]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """``np.asarray(t)``: the data of a value that does not require grad. Without a
        copy it is a read-only view, so no change can bypass the version counter.

        A value that requires grad refuses (as PyTorch's does): NumPy converts through
        here without a word, also each element of a list (``np.sum([a, b])``,
        ``np.array([a, b])``), and the array would carry no gradient."""
        self._read("np.asarray() or another conversion to an array")
        if self.requires_grad:
            raise TypeError(
                f"converting {self._describe()}, which requires grad, to a NumPy array (np.asarray, np.array, "
                "or a NumPy call on a list holding it) would leave the graph and drop its gradient: use "
                ".detach(), .numpy() or .data to look at the numbers, glassgrad.stack to combine a list of "
                "values in the graph"
            )
        if copy:
            return np.array(self._data, dtype=dtype, copy=True)
        data = self._data if dtype is None else np.array(self._data, dtype=dtype, copy=copy)
        # A dtype asked for may be the data's own, and then numpy does not copy either.
        return versions.read_only(data) if np.may_share_memory(data, self._data) else data

    def __bool__(self) -> bool:
        self._read("bool() (an if or while on the tensor)")
        return bool(self._data)

    def __float__(self) -> float:
        self._read("float()")
        return float(self._data)

    def item(self) -> float:
        """The single number this tensor holds, as a Python scalar."""
        if self._data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        self._read("item()")
        return self._data.item()

    def numpy(self) -> np.ndarray:
        """The data as a read-only numpy array (shared, not copied; no gradient flows
        through it). Change a tensor through the tensor (``t[...] = x``, ``t += x``,
        under ``no_grad()`` when it requires grad), where the change is recorded."""
        self._read("numpy()")
        return versions.read_only(self._data)

    @property
    def data(self) -> np.ndarray:
        """The array. A leaf gives its array itself, so ``w.data -= lr * w.grad`` updates a
        parameter; a value made by an op gives a read-only view, since its backward may
        read it. Assigning ``t.data = x`` (also ``t.data -= x``) is recorded: graphs that
        saved ``t`` refuse backward afterwards. A write into a leaf's ``.data[...]`` is
        the one change of a Tensor's memory that glassgrad does not see."""
        self._read("reading .data")
        return self._data if self._fn is None else versions.read_only(self._data)

    @data.setter
    def data(self, value: Any) -> None:
        if state.switched:  # a mode is on somewhere: maybe a trace in this thread
            self._refuse_change_while_tracing("assigning .data")
        new = self._check_new_data(value)
        with state.backward_lock:  # see Node._bump_version
            old, self._data = self._data, new
            stamp = self._bump_version()
            if new is old:  # ``t.data -= x``: changed in place, then assigned back
                versions.mark(old, stamp)

    def _version(self) -> int:
        """The newest change of this value (``.data =``) or of its memory (in place,
        through any Tensor sharing it)."""
        return max(Node._version(self), versions.version(self._data))

    def tolist(self) -> Any:
        self._read("tolist()")
        return self._data.tolist()

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data (and its version: an in-place change
        through it is seen by graphs that saved this tensor), cut from the graph."""
        self._read("detach()")
        t = Tensor.__new__(Tensor)
        t._init_leaf(self._data, False, None)
        return t

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` on a leaf in place; returns self."""
        if not self.is_leaf:
            raise GradError("requires_grad_ works on leaves only; use detach() to start a new leaf")
        _check_requires_grad(self._data, requires_grad)
        self.requires_grad = bool(requires_grad)
        return self

    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", precision=4, threshold=20, prefix="Tensor(")
        extras = []
        if self._data.dtype != DEFAULT_DTYPE:
            extras.append(f"dtype={self._data.dtype}")
        if self._fn is not None:
            extras.append(f"op={self._fn.name}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        if self.name:
            extras.append(f"name={self.name!r}")
        return "Tensor(" + ", ".join([body, *extras]) + ")"

    # -- ops as methods ------------------------------------------------------------------
    if TYPE_CHECKING:

        def __matmul__(self, other: Any) -> Tensor: ...

    else:
        __matmul__ = MatMul.apply  # the op's recorder, as for the operators of Operators

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.matmul(other, self)

    def __getitem__(self, key: Any) -> Tensor:
        return ops.getitem(self, _raw_key(key))

    def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Σ over ``axis`` (all by default)."""
        return ops.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Mean over ``axis`` (all by default)."""
        return ops.mean(self, axis=axis, keepdims=keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Maximum over ``axis`` (all by default); ties share the gradient."""
        return ops.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Minimum over ``axis`` (all by default); ties share the gradient."""
        return ops.min(self, axis=axis, keepdims=keepdims)

    def var(self, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        """Variance over ``axis`` (all by default), dividing by n − ``ddof``."""
        return ops.var(self, axis=axis, keepdims=keepdims, ddof=ddof)

    def argmax(self, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
        """Index of the maximum (a numpy integer array: indices have no gradient)."""
        return ops.argmax(self, axis=axis, keepdims=keepdims)

    def sqrt(self) -> Tensor:
        """√x, elementwise."""
        return ops.sqrt(self)

    def reshape(self, *shape: Any) -> Tensor:
        """Same data, new shape (one dimension may be -1)."""
        return ops.reshape(self, *shape)

    def transpose(self, *axes: Any) -> Tensor:
        """Permute axes (reverse them when none are given)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return ops.transpose(self, axes or None)

    def dot(self, other: Any) -> Tensor:
        """Dot product / matrix product for 1-D and 2-D operands."""
        return ops.dot(self, other)

    def astype(self, dtype: Any) -> Tensor:
        """Convert to another float dtype; gradients come back in this tensor's dtype."""
        return ops.cast(self, dtype)

    # -- in-place updates (allowed only where no gradient can be corrupted) ------------
    def _write(self, what: str, value: Any, write: Callable[[np.ndarray, Any], Any]) -> None:
        """``write(data, raw value)`` into this tensor's memory, and record the change.

        Refused where a gradient would be corrupted (this tensor requires grad) or lost
        (``value`` requires grad) while recording, and inside a traced function where
        the compiled step would not repeat it. The checks come first, so a refused or
        failed write changes nothing; the write and its record hold
        ``state.backward_lock`` (see Node._bump_version)."""
        # The grad mode is read from the state module, not through is_grad_enabled():
        # an optimizer pays this once per parameter and step.
        recording = not state.switched or state.modes.grad_enabled
        if self._seq and recording:  # requires grad (see Node)
            raise InPlaceError(
                f"{what} on {self._describe()}, which requires grad: an in-place change would "
                "corrupt the gradient. Do it under no_grad() (e.g. an optimizer step), or "
                "build a new value."
            )
        traced = False  # whether value depends on inputs or parameters
        if isinstance(value, Node):
            traced = bool(value._seq)
            if value.data_type is not np.ndarray:
                raise mixed_kinds(type(self), type(value), what)
            if value._seq and recording:
                # No op records the write, so the gradient through it would be lost.
                raise InPlaceError(
                    f"{what} of {value._describe()}, which requires grad, into {self._describe()}: "
                    "an in-place write is not recorded, so its gradient would be lost. Build a new "
                    "value (where, concatenate, stack, +), or write value.detach() to drop the "
                    "gradient on purpose."
                )
            value = value._data
        if state.switched and state.modes.tracing:
            self._refuse_change_while_tracing(what, traced)
        lock = state.backward_lock
        lock.acquire()  # not ``with``: an optimizer pays this once per parameter and step
        try:
            write(self._data, value)
            versions.mark(self._data, self._bump_version())
        finally:
            lock.release()

    def __setitem__(self, key: Any, value: Any) -> None:
        self._write("item assignment", value, lambda data, raw: data.__setitem__(_raw_key(key), raw))

    def __iadd__(self, other: Any) -> Tensor:
        self._write("+=", other, operator.iadd)
        return self

    def __isub__(self, other: Any) -> Tensor:
        self._write("-=", other, operator.isub)
        return self

    def __imul__(self, other: Any) -> Tensor:
        self._write("*=", other, operator.imul)
        return self

    def __itruediv__(self, other: Any) -> Tensor:
        self._write("/=", other, operator.itruediv)
        return self


def _raw_key(key: Any) -> Any:
    """An index with any Tensor parts replaced by their data."""
    if isinstance(key, tuple):
        return tuple(as_raw(k) for k in key)
    return as_raw(key)


def _leaf_data(data: Any, what: str) -> Any:
    """``data`` for a new leaf made by ``what``. A graph value that requires grad refuses:
    the leaf would hold its numbers cut from the graph, and a loss built on it would give
    the value no gradient, without a word (NumPy's conversions refuse the same way)."""
    if isinstance(data, Node):
        data._read(what)
        if data.requires_grad:
            instead = (
                "use the value itself to stay in the graph (.astype(dtype) to convert it), .detach() for a "
                "leaf over the same numbers, or Tensor(value.detach()) for a copy"
                if isinstance(data, Tensor)
                else "a Scalar's graph and a Tensor's do not mix; use Tensor(value.detach()) for its number"
            )
            raise TypeError(
                f"{what} of {data._describe()}, which requires grad, would make a new leaf cut from the graph, "
                f"and no gradient would reach the value: {instead}"
            )
    return data


def _check_requires_grad(arr: np.ndarray, requires_grad: bool) -> None:
    if requires_grad and arr.dtype.kind != "f":
        raise TypeError(
            f"only floating-point tensors can require grad, got dtype {arr.dtype}; pass float data or dtype=np.float64"
        )


def as_tensor(data: Any, dtype: Any = None, requires_grad: bool = False, name: str | None = None) -> Tensor:
    """A Tensor that shares memory with ``data`` when it is already a numpy array of the
    right dtype (no copy), else a converted copy.

    What is and is not detected: an in-place change through any Tensor over the same
    memory (another ``as_tensor`` of the array, a ``detach()``, a view) shares one
    version, and ``backward()`` refuses with :class:`InPlaceError` when a value it
    saved changed. A write into ``data`` itself, the array you keep, is not seen: the
    array is yours. Use ``Tensor(data)``, which copies, when it may change before
    ``backward()`` (see the guide "Rules of the engine").

    A graph value that requires grad is refused, as by :class:`Tensor`.
    """
    arr = _to_array(_leaf_data(data, "as_tensor()"), dtype, copy=False)
    _check_requires_grad(arr, requires_grad)
    t = Tensor.__new__(Tensor)
    t._init_leaf(arr, bool(requires_grad), name)
    return t
