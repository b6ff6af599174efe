"""How to sample and call every op of the registry, for property tests.

``glassgrad.graph.REGISTRY`` knows each op's ``Function`` with its ``domains`` and
``kinks``; what it cannot know is how to call the op (its parameters such as
``axis``/``keepdims``, how many inputs, which shapes fit together, whether it has a
Scalar form) and what numpy computes the same thing. That is recorded here, one
:class:`OpInfo` per op, and :func:`opinfo_for` derives one for any new op whose
forward takes only array inputs — so a new elementwise op is checked for free.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import NDArray

from .. import ops
from ..graph import REGISTRY, Function
from ..ops.domains import NONNEGATIVE, NONZERO, POSITIVE, REAL, UNIT_INTERVAL, Domain
from ..scalar import Scalar
from ..tensor import Tensor
from .strategies import floats_in, shapes

Shapes = tuple[tuple[int, ...], ...]
#: A case: input shapes and forward parameters.
CaseStrategy = Callable[[], st.SearchStrategy[tuple[Shapes, dict[str, Any]]]]


@dataclass(frozen=True)
class OpInfo:
    """Sampling metadata of one op.

    - ``call(*inputs, **params)``: the public spelling (records on graph values).
    - ``cases()``: a strategy of (input shapes, params).
    - ``elements(params, dtype)``: one element strategy per input (default: from the
      Function's ``domains`` and ``kinks``, keeping a margin around both).
    - ``reference(*arrays, **params)``: what numpy computes (None: no reference).
    - ``scalar``: also runs on Scalars; ``gradgrad``: second derivatives are checked;
      ``graph_arity``: usable in random graphs with this many operands (0: no).
    - ``unique``: inputs must have distinct elements (ties are kinks of ``max``).
    """

    name: str
    fn: type[Function]
    call: Callable[..., Any]
    arity: int
    cases: CaseStrategy
    reference: Callable[..., Any] | None = None
    elements: Callable[[dict[str, Any], np.dtype], list[st.SearchStrategy[float]]] | None = None
    scalar: bool = False
    gradgrad: bool = True
    graph_arity: int = 0
    graph_params: st.SearchStrategy[dict[str, Any]] = field(default_factory=lambda: st.just({}))
    unique: bool = False

    def element_strategies(self, params: dict[str, Any], dtype: np.dtype) -> list[st.SearchStrategy[float]]:
        if self.elements is not None:
            return self.elements(params, dtype)
        return [floats_in(d, avoid=self.kink_points(params), dtype=dtype) for d in self.graph_domains(params)]

    def graph_domains(self, params: dict[str, Any]) -> list[Domain]:
        """The domain of each input (REAL where the op declares none)."""
        declared = list(self.fn.domains) + [None] * max(self.arity, 1)
        if self.name == "power":
            return [_power_domain(params.get("c", 1.0))]
        return [d if d is not None else REAL for d in declared[: max(self.arity, 1)]]

    def kink_points(self, params: dict[str, Any]) -> list[float]:
        """The op's kinks as numbers: declared points, and parameters named as kinks
        (clip's ``lo``/``hi``). Symbolic kinks such as max's ``"ties"`` are handled by
        ``unique`` instead."""
        pts = []
        for k in self.fn.kinks:
            value = params.get(k) if isinstance(k, str) else k
            if isinstance(value, (int, float)):
                pts.append(float(value))
        return pts


def _power_domain(c: float) -> Domain:
    whole = float(c).is_integer()
    if whole and c >= 0:
        return REAL
    return NONZERO if whole else (NONNEGATIVE if c > 0 else POSITIVE)


# ---------------------------------------------------------------------------------------
# Case strategies
# ---------------------------------------------------------------------------------------


def _same_shape(n: int, **shape_kw: Any) -> CaseStrategy:
    return lambda: shapes(**shape_kw).map(lambda s: ((s,) * n, {}))


def _broadcast(n: int) -> CaseStrategy:
    return lambda: hnp.mutually_broadcastable_shapes(num_shapes=n, max_dims=3, max_side=3).map(
        lambda b: (tuple(b.input_shapes), {})
    )


def _with_params(base: CaseStrategy, params: Callable[[Shapes], st.SearchStrategy[dict[str, Any]]]) -> CaseStrategy:
    return lambda: base().flatmap(lambda c: params(c[0]).map(lambda p: (c[0], p)))


def _reduction_params(shp: Shapes) -> st.SearchStrategy[dict[str, Any]]:
    nd = len(shp[0])
    axis = (
        st.none()
        | (st.integers(-nd, nd - 1) if nd else st.nothing())
        | (hnp.valid_tuple_axes(nd, min_size=1) if nd else st.nothing())
    )
    return st.fixed_dictionaries({"axis": axis, "keepdims": st.booleans()})


def _reshape_params(shp: Shapes) -> st.SearchStrategy[dict[str, Any]]:
    s = shp[0]
    size = int(np.prod(s))
    return st.sampled_from([(-1,), (1, -1), (size, 1), tuple(reversed(s)), (1, *s)]).map(lambda t: {"shape": t})


def _transpose_params(shp: Shapes) -> st.SearchStrategy[dict[str, Any]]:
    nd = len(shp[0])
    return st.none().map(lambda _: {"axes": None}) | st.permutations(range(nd)).map(lambda p: {"axes": tuple(p)})


@st.composite
def _broadcast_to_case(draw: Callable[..., Any]) -> tuple[Shapes, dict[str, Any]]:
    s = draw(shapes(max_dims=2, max_side=3))
    lead = draw(st.lists(st.integers(1, 3), max_size=2))
    target = tuple(lead) + tuple(draw(st.integers(1, 3)) if n == 1 else n for n in s)
    return (s,), {"shape": target}


@st.composite
def _getitem_case(draw: Callable[..., Any]) -> tuple[Shapes, dict[str, Any]]:
    s = draw(shapes(min_dims=1, max_dims=3, max_side=4))
    if draw(st.booleans()):
        key = draw(hnp.basic_indices(s, allow_newaxis=False, allow_ellipsis=False))
    else:  # an integer-array index may repeat positions: the backward must add
        key = draw(hnp.integer_array_indices(s, result_shape=hnp.array_shapes(min_dims=1, max_dims=1, max_side=4)))
    return (s,), {"key": key}


@st.composite
def _scatter_add_case(draw: Callable[..., Any]) -> tuple[Shapes, dict[str, Any]]:
    (s,), p = draw(_getitem_case())
    return (np.empty(s)[p["key"]].shape,), {"key": p["key"], "shape": s}


@st.composite
def _join_case(draw: Callable[..., Any], new_axis: bool) -> tuple[Shapes, dict[str, Any]]:
    n = draw(st.integers(1, 3))
    s = draw(shapes(min_dims=1, max_dims=3, max_side=3))
    nd = len(s)
    axis = draw(st.integers(-nd - 1, nd) if new_axis else st.integers(-nd, nd - 1))
    if new_axis:
        return (s,) * n, {"axis": axis}
    sides = draw(st.lists(st.integers(1, 3), min_size=n, max_size=n))
    return tuple((*s[: axis % nd], k, *s[axis % nd + 1 :]) for k in sides), {"axis": axis}


def _matmul_case() -> st.SearchStrategy[tuple[Shapes, dict[str, Any]]]:
    return hnp.mutually_broadcastable_shapes(signature=np.matmul.signature, max_dims=2, max_side=3).map(
        lambda b: (tuple(b.input_shapes), {})
    )


def _bce_params(with_weight: bool) -> Callable[[Shapes], st.SearchStrategy[dict[str, Any]]]:
    def params(_: Shapes) -> st.SearchStrategy[dict[str, Any]]:
        d: dict[str, Any] = {"reduction": st.sampled_from(["mean", "sum", "none"])}
        if with_weight:
            d["pos_weight"] = st.none() | st.floats(0.25, 4.0)
        return st.fixed_dictionaries(d)

    return params


# ---------------------------------------------------------------------------------------
# References
# ---------------------------------------------------------------------------------------


def _sigmoid(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return 1.0 / (1.0 + np.exp(-x))


def _reduce(loss: NDArray[np.float64], reduction: str) -> NDArray[np.float64] | np.float64:
    if reduction == "none":
        return loss
    reduced: np.float64 = loss.mean() if reduction == "mean" else loss.sum()
    return reduced


def _bce_logits_ref(z: np.ndarray, y: np.ndarray, pos_weight: float | None = None, reduction: str = "mean") -> Any:
    w = 1.0 if pos_weight is None else pos_weight
    return _reduce(w * y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z), reduction)


def _bce_ref(p: np.ndarray, y: np.ndarray, reduction: str = "mean") -> Any:
    return _reduce(-(y * np.log(p) + (1 - y) * np.log1p(-p)), reduction)


def _scatter_add_ref(g: np.ndarray, key: Any, shape: tuple[int, ...]) -> np.ndarray:
    out = np.zeros(shape, dtype=g.dtype)
    np.add.at(out, key, g)
    return out


def _cast_elements(params: dict[str, Any], dtype: np.dtype) -> list[st.SearchStrategy[float]]:
    return [floats_in(dtype=dtype)]


# ---------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------

_unary = _same_shape(1)
_probability_elements = lambda p, dt: [floats_in(min_value=0.05, max_value=0.95, dtype=dt)] * 2  # noqa: E731
_graph_powers = st.sampled_from([2.0, 3.0, 0.5, -1.0]).map(lambda c: {"c": c})

_TABLE: list[OpInfo] = [
    OpInfo("add", ops.Add, ops.add, 2, _broadcast(2), np.add, scalar=True, graph_arity=2),
    OpInfo("sub", ops.Sub, ops.sub, 2, _broadcast(2), np.subtract, scalar=True, graph_arity=2),
    OpInfo("mul", ops.Mul, ops.mul, 2, _broadcast(2), np.multiply, scalar=True, graph_arity=2),
    OpInfo("div", ops.Div, ops.div, 2, _broadcast(2), np.divide, scalar=True, graph_arity=2),
    OpInfo("neg", ops.Neg, ops.neg, 1, _unary, np.negative, scalar=True, graph_arity=1),
    OpInfo(
        "power",
        ops.Power,
        lambda x, c: ops.power(x, c),
        1,
        _with_params(
            _unary, lambda _: st.sampled_from([0.0, 1.0, 2.0, 3.0, -1.0, -2.0, 0.5, 1.5, -0.5]).map(lambda c: {"c": c})
        ),
        lambda x, c: np.power(x, c),
        scalar=True,
        graph_arity=1,
        graph_params=_graph_powers,
    ),
    OpInfo(
        "pow",
        ops.Pow,
        lambda a, b: ops.power(a, b),
        2,
        _broadcast(2),
        np.power,
        elements=lambda p, dt: [
            floats_in(POSITIVE, max_value=5.0, dtype=dt),
            floats_in(min_value=-3, max_value=3, dtype=dt),
        ],
        scalar=True,
        graph_arity=2,
    ),
    OpInfo("exp", ops.Exp, ops.exp, 1, _unary, np.exp, scalar=True, graph_arity=1),
    OpInfo("log", ops.Log, ops.log, 1, _unary, np.log, scalar=True, graph_arity=1),
    OpInfo("sigmoid", ops.Sigmoid, ops.sigmoid, 1, _unary, _sigmoid, scalar=True, graph_arity=1),
    OpInfo("tanh", ops.Tanh, ops.tanh, 1, _unary, np.tanh, scalar=True, graph_arity=1),
    OpInfo("relu", ops.Relu, ops.relu, 1, _unary, lambda x: np.maximum(x, 0), scalar=True, graph_arity=1),
    OpInfo("abs", ops.Abs, ops.abs_, 1, _unary, np.abs, scalar=True, graph_arity=1),
    OpInfo("softplus", ops.Softplus, ops.softplus, 1, _unary, lambda x: np.logaddexp(0, x), scalar=True, graph_arity=1),
    OpInfo(
        "log_sigmoid",
        ops.LogSigmoid,
        ops.log_sigmoid,
        1,
        _unary,
        lambda x: -np.logaddexp(0, -x),
        scalar=True,
        graph_arity=1,
    ),
    OpInfo(
        "clip",
        ops.Clip,
        ops.clip,
        1,
        _with_params(
            _unary,
            lambda _: st.sampled_from([(-1.0, 1.0), (None, 0.5), (-0.5, None)]).map(lambda b: {"lo": b[0], "hi": b[1]}),
        ),
        lambda x, lo, hi: np.clip(x, lo, hi),
        scalar=True,
        graph_arity=1,
        graph_params=st.just({"lo": -1.0, "hi": 1.0}),
    ),
    OpInfo(
        "where",
        ops.Where,
        lambda a, b, cond: ops.where(cond, a, b),
        2,
        _with_params(
            _broadcast(2),
            lambda s: hnp.arrays(bool, np.broadcast_shapes(*s)).map(lambda c: {"cond": c}),
        ),
        lambda a, b, cond: np.where(cond, a, b),
    ),
    OpInfo(
        "cast",
        ops.Cast,
        ops.cast,
        1,
        _with_params(_unary, lambda _: st.sampled_from([np.float32, np.float64]).map(lambda d: {"dtype": np.dtype(d)})),
        lambda x, dtype: x.astype(dtype),
        elements=_cast_elements,
    ),
    OpInfo("sum", ops.Sum, ops.sum, 1, _with_params(_unary, _reduction_params), np.sum),
    OpInfo("mean", ops.Mean, ops.mean, 1, _with_params(_unary, _reduction_params), np.mean),
    OpInfo(
        "max",
        ops.Max,
        ops.max,
        1,
        _with_params(_same_shape(1, max_side=3), _reduction_params),
        np.max,
        # distinct values on a grid: no ties, and no two within a finite-difference step
        elements=lambda p, dt: [st.integers(-40, 40).map(lambda k: k / 4)],
        unique=True,
    ),
    OpInfo(
        "reshape",
        ops.Reshape,
        lambda x, shape: ops.reshape(x, shape),
        1,
        _with_params(_unary, _reshape_params),
        np.reshape,
    ),
    OpInfo("transpose", ops.Transpose, ops.transpose, 1, _with_params(_unary, _transpose_params), np.transpose),
    OpInfo("broadcast_to", ops.BroadcastTo, ops.broadcast_to, 1, _broadcast_to_case, np.broadcast_to),
    OpInfo("getitem", ops.GetItem, ops.getitem, 1, _getitem_case, lambda x, key: x[key]),
    OpInfo("scatter_add", ops.ScatterAdd, ops.scatter_add, 1, _scatter_add_case, _scatter_add_ref),
    OpInfo(
        "concatenate",
        ops.Concatenate,
        lambda *xs, axis: ops.concatenate(xs, axis=axis),
        -1,
        lambda: _join_case(False),
        lambda *xs, axis: np.concatenate(xs, axis=axis),
    ),
    OpInfo(
        "stack",
        ops.Stack,
        lambda *xs, axis: ops.stack(xs, axis=axis),
        -1,
        lambda: _join_case(True),
        lambda *xs, axis: np.stack(xs, axis=axis),
    ),
    OpInfo("matmul", ops.MatMul, ops.matmul, 2, _matmul_case, np.matmul),
    OpInfo(
        "bce_with_logits",
        ops.BCEWithLogits,
        ops.binary_cross_entropy_with_logits,
        2,
        _with_params(_broadcast(2), _bce_params(with_weight=True)),
        _bce_logits_ref,
        elements=lambda p, dt: [floats_in(dtype=dt), floats_in(UNIT_INTERVAL, dtype=dt)],
    ),
    OpInfo(
        "binary_cross_entropy",
        ops.BCE,
        ops.binary_cross_entropy,
        2,
        _with_params(_broadcast(2), _bce_params(with_weight=False)),
        _bce_ref,
        elements=_probability_elements,
    ),
]

#: Explicit OpInfos by op name.
OPS: dict[str, OpInfo] = {info.name: info for info in _TABLE}


def derived_opinfo(fn: type[Function]) -> OpInfo | None:
    """An OpInfo for an op whose ``forward(ctx, x, …)`` takes only array inputs:
    same-shape elementwise inputs, no reference. None when forward needs parameters."""
    sig = inspect.signature(fn.forward)
    params = list(sig.parameters.values())[1:]
    if any(p.kind is not p.POSITIONAL_OR_KEYWORD or p.default is not p.empty for p in params) or not params:
        return None
    n = len(params)
    return OpInfo(fn.name, fn, lambda *xs: fn.apply(*xs), n, _same_shape(n))


def opinfo_for(name: str) -> OpInfo | None:
    """The OpInfo of a registered op: explicit, else derived (None if neither works)."""
    return OPS.get(name) or derived_opinfo(REGISTRY[name])


def graph_ops(scalar: bool = False) -> dict[str, OpInfo]:
    """Ops usable in random graphs (elementwise, shape-preserving), by name."""
    return {n: i for n, i in OPS.items() if i.graph_arity and (i.scalar or not scalar)}


@dataclass(frozen=True)
class OpCase:
    """One drawn application of an op: input arrays and parameters."""

    info: OpInfo
    arrays: tuple[np.ndarray, ...]
    params: dict[str, Any]

    def tensors(self, requires_grad: bool = True) -> tuple[Tensor, ...]:
        return tuple(Tensor(a, requires_grad=requires_grad) for a in self.arrays)

    def scalars(self) -> tuple[Scalar, ...]:
        return tuple(Scalar(float(a)) for a in self.arrays)

    def __call__(self, *values: Any) -> Any:
        return self.info.call(*values, **self.params)

    def expected(self) -> Any:
        """numpy's result on the same arrays (None without a reference)."""
        ref = self.info.reference
        return None if ref is None else ref(*self.arrays, **self.params)

    def __repr__(self) -> str:
        arrays = ", ".join(f"array({a.tolist()!r}, dtype={a.dtype})" for a in self.arrays)
        params = "".join(f", {k}={v!r}" for k, v in self.params.items())
        return f"{self.info.name}({arrays}{params})"


def op_cases(info: OpInfo, dtype: Any = np.float64) -> st.SearchStrategy[OpCase]:
    """Valid inputs for ``info``'s op: shapes and parameters from its cases, elements
    inside its domains and away from its kinks."""
    dt = np.dtype(dtype)

    @st.composite
    def draw_case(draw: Callable[..., Any]) -> OpCase:
        shapes_, params = draw(info.cases())
        els = info.element_strategies(params, dt) or [floats_in(dtype=dt)]
        els = els + [els[-1]] * (len(shapes_) - len(els))
        arrays = tuple(
            draw(hnp.arrays(dt, s, elements=e, unique=True) if info.unique else hnp.arrays(dt, s, elements=e, fill=e))
            for s, e in zip(shapes_, els)
        )
        return OpCase(info, arrays, params)

    return draw_case()
