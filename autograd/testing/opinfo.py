"""How to sample and call each op, for property tests, read from the op's class.

An op's :class:`~glassgrad.graph.Function` declares what the checks need: its
``domains`` and ``kinks`` (where inputs are drawn from), ``broadcasts`` (whether input
shapes may differ), ``examples`` (parameter sets), ``reference`` (what numpy computes),
``scalar`` and ``elementwise``. :func:`opinfo` turns that into an :class:`OpInfo` for
any op, registered or not, so a new op is checked without a line here.

What a class cannot declare without hypothesis is how to draw parameters that depend
on the input shapes (the axes of a reduction, an index, a target shape): the few
built-in ops that have such parameters get their case strategy below.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .. import ops
from ..graph import REGISTRY, Function
from ..ops.base import call
from ..ops.domains import POSITIVE, REAL, Domain
from ..scalar import Scalar
from ..tensor import Tensor
from ._elements import floats_in, shapes

Shapes = tuple[tuple[int, ...], ...]
#: A case: input shapes and forward parameters.
CaseStrategy = Callable[[], st.SearchStrategy[tuple[Shapes, dict[str, Any]]]]
Elements = Callable[[dict[str, Any], np.dtype], list[st.SearchStrategy[float]]]


@dataclass(frozen=True)
class OpInfo:
    """Sampling metadata of one op.

    - ``call(*inputs, **params)``: applies the op (records on graph values).
    - ``cases()``: a strategy of (input shapes, params).
    - ``elements(params, dtype)``: one element strategy per input (default: from the
      Function's domains and kinks, keeping a margin around both).
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
    elements: Elements | None = None
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
        n = max(self.arity, 1)
        declared = list(self.fn.domains_for(params)) + [None] * n
        return [d if d is not None else REAL for d in declared[:n]]

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
def _broadcast_to_case(draw: st.DrawFn) -> tuple[Shapes, dict[str, Any]]:
    s = draw(shapes(max_dims=2, max_side=3))
    lead = draw(st.lists(st.integers(1, 3), max_size=2))
    target = tuple(lead) + tuple(draw(st.integers(1, 3)) if n == 1 else n for n in s)
    return (s,), {"shape": target}


@st.composite
def _getitem_case(draw: st.DrawFn) -> tuple[Shapes, dict[str, Any]]:
    s = draw(shapes(min_dims=1, max_dims=3, max_side=4))
    key: object
    if draw(st.booleans()):
        key = draw(hnp.basic_indices(s, allow_newaxis=False, allow_ellipsis=False))
    else:  # an integer-array index may repeat positions: the backward must add
        key = draw(hnp.integer_array_indices(s, result_shape=hnp.array_shapes(min_dims=1, max_dims=1, max_side=4)))
    return (s,), {"key": key}


@st.composite
def _scatter_add_case(draw: st.DrawFn) -> tuple[Shapes, dict[str, Any]]:
    (s,), p = draw(_getitem_case())
    return (np.empty(s)[p["key"]].shape,), {"key": p["key"], "shape": s}


@st.composite
def _join_case(draw: st.DrawFn, new_axis: bool) -> tuple[Shapes, dict[str, Any]]:
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


def _one_axis_params(shp: Shapes) -> st.SearchStrategy[dict[str, Any]]:
    nd = len(shp[0])
    return st.integers(-nd, nd - 1).map(lambda a: {"axis": a})


@st.composite
def _var_params(draw: Callable[..., Any], shp: Shapes) -> dict[str, Any]:
    params = draw(_reduction_params(shp))
    axes = range(len(shp[0])) if params["axis"] is None else np.atleast_1d(params["axis"])
    n = int(np.prod([shp[0][a] for a in axes]))
    return {**params, "ddof": draw(st.sampled_from([0, 1] if n > 1 else [0]))}


def _class_weights(n_classes: int) -> st.SearchStrategy[Any]:
    return st.none() | hnp.arrays(np.float64, n_classes, elements=st.floats(0.25, 4.0))


@st.composite
def _cross_entropy_case(draw: Callable[..., Any], soft: bool) -> tuple[Shapes, dict[str, Any]]:
    """Logits (N, C) or (C,); integer labels in [0, C) (or probabilities, an input);
    optional class weights; every reduction."""
    shape = (*draw(st.sampled_from([(), (draw(st.integers(1, 4)),)])), draw(st.integers(1, 4)))
    params = {"weight": draw(_class_weights(shape[-1])), "reduction": draw(st.sampled_from(["mean", "sum", "none"]))}
    if soft:
        return (shape, shape), params
    labels = draw(hnp.arrays(np.intp, shape[:-1], elements=st.integers(0, shape[-1] - 1)))
    return (shape,), {"labels": labels, **params}


#: Ops whose parameters depend on the input shapes.
_CASES: dict[type[Function], CaseStrategy] = {
    ops.Where: _with_params(
        _broadcast(2), lambda s: hnp.arrays(bool, np.broadcast_shapes(*s)).map(lambda c: {"cond": c})
    ),
    ops.Sum: _with_params(_same_shape(1), _reduction_params),
    ops.Mean: _with_params(_same_shape(1), _reduction_params),
    ops.Max: _with_params(_same_shape(1, max_side=3), _reduction_params),
    ops.Min: _with_params(_same_shape(1, max_side=3), _reduction_params),
    ops.Var: _with_params(_same_shape(1), _var_params),
    ops.LogSumExp: _with_params(_same_shape(1), _reduction_params),
    ops.Softmax: _with_params(_same_shape(1, min_dims=1), _one_axis_params),
    ops.LogSoftmax: _with_params(_same_shape(1, min_dims=1), _one_axis_params),
    ops.CrossEntropy: lambda: _cross_entropy_case(False),
    ops.SoftCrossEntropy: lambda: _cross_entropy_case(True),
    ops.Reshape: _with_params(_same_shape(1), _reshape_params),
    ops.Transpose: _with_params(_same_shape(1), _transpose_params),
    ops.BroadcastTo: _broadcast_to_case,
    ops.GetItem: _getitem_case,
    ops.ScatterAdd: _scatter_add_case,
    ops.Concatenate: lambda: _join_case(False),
    ops.Stack: lambda: _join_case(True),
    ops.MatMul: _matmul_case,
}

_QUARTERS = st.integers(-40, 40).map(lambda k: k / 4)
_UNTIED_PAIR = [_QUARTERS, _QUARTERS.map(lambda v: v + 1 / 8)]

#: Element ranges narrower than the domains, where a wide one makes the check flaky.
_ELEMENTS: dict[type[Function], Elements] = {
    # aᵇ overflows for large a and b
    ops.GraphPower: lambda p, dt: [
        floats_in(POSITIVE, max_value=5.0, dtype=dt),
        floats_in(min_value=-3, max_value=3, dtype=dt),
    ],
    # distinct values on a grid: no ties, and no two within a finite-difference step
    ops.Max: lambda p, dt: [st.integers(-40, 40).map(lambda k: k / 4)],
    ops.Min: lambda p, dt: [st.integers(-40, 40).map(lambda k: k / 4)],
    # a on quarters, b halfway between them: the operands never tie
    ops.Maximum: lambda p, dt: _UNTIED_PAIR,
    ops.Minimum: lambda p, dt: _UNTIED_PAIR,
    # 1/(p(1−p)) grows fast towards 0 and 1, and central differences with it
    ops.BCE: lambda p, dt: [floats_in(min_value=0.05, max_value=0.95, dtype=dt)] * 2,
}

#: Random graphs chain ops, so they use exponents that keep values moderate.
_GRAPH_PARAMS: dict[type[Function], st.SearchStrategy[dict[str, Any]]] = {
    ops.Power: st.sampled_from([2.0, 3.0, 0.5, -1.0]).map(lambda c: {"c": c}),
}


# ---------------------------------------------------------------------------------------
# The table, read from the classes
# ---------------------------------------------------------------------------------------


def _arity(fn: type[Function]) -> int:
    """The number of inputs: what backward takes after (ctx, g, out); -1 for any."""
    params = list(inspect.signature(fn.backward).parameters.values())[3:]
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return -1
    return len(params)


@functools.cache
def opinfo(fn: type[Function]) -> OpInfo:
    """The OpInfo of any op, from its class (and its case strategy above, if it has one)."""
    arity = _arity(fn)
    cases = _CASES.get(fn)
    if cases is None:
        cases = _broadcast(arity) if fn.broadcasts else _same_shape(arity)
        if fn.examples:
            examples = st.sampled_from(fn.examples)
            cases = _with_params(cases, lambda _: examples)
    graph_params = _GRAPH_PARAMS.get(fn)
    if graph_params is None:
        graph_params = st.sampled_from(fn.examples) if fn.examples else st.just({})
    return OpInfo(
        name=fn.name,
        fn=fn,
        call=functools.partial(call, fn),
        arity=arity,
        cases=cases,
        reference=fn.reference,
        elements=_ELEMENTS.get(fn),
        scalar=fn.scalar,
        graph_arity=arity if fn.elementwise and fn.scalar else 0,
        graph_params=graph_params,
        unique="ties" in fn.kinks,
    )


def opinfo_for(name: str) -> OpInfo:
    """The OpInfo of a registered op."""
    return opinfo(REGISTRY[name])  # type: ignore[arg-type]  # mypy finds a class from a dict unhashable


def op_table() -> dict[str, OpInfo]:
    """Every registered op's OpInfo, by name (read from the registry when called, so
    ops registered later are in it)."""
    return {name: opinfo(fn) for name, fn in REGISTRY.items()}  # type: ignore[arg-type]  # as in opinfo_for


def graph_ops(scalar: bool = False) -> dict[str, OpInfo]:
    """Ops usable in random graphs (elementwise, shape-preserving), by name."""
    return {n: i for n, i in op_table().items() if i.graph_arity and (i.scalar or not scalar)}


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
    def draw_case(draw: st.DrawFn) -> OpCase:
        shapes_, params = draw(info.cases())
        els = info.element_strategies(params, dt) or [floats_in(dtype=dt)]
        els = els + [els[-1]] * (len(shapes_) - len(els))
        arrays = tuple(
            draw(hnp.arrays(dt, s, elements=e, unique=True) if info.unique else hnp.arrays(dt, s, elements=e, fill=e))
            for s, e in zip(shapes_, els)
        )
        return OpCase(info, arrays, params)

    return draw_case()
