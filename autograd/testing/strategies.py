"""Hypothesis strategies for gradient checks: numbers, NumPy arrays and Tensors,
broadcastable tuples, domains, logistic-regression problems and random computation
graphs. Every Tensor strategy is its array strategy with the arrays wrapped.

Every strategy draws finite floats only (no NaN, no inf, no subnormals) and keeps
a margin around the points it is told to avoid (an op's kinks and domain edges),
so the central-difference stencil x ± h never straddles them. Arrays use ``fill``
(one value repeated, a few elements drawn) so that large shapes stay fast.

>>> from glassgrad.testing import gradcheck
>>> from glassgrad.testing.strategies import tensors
>>> from hypothesis import given
>>> @given(tensors(shape=(3,)))
... def test_square(x):
...     gradcheck(lambda t: t * t, x)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ..graph import Node, no_grad
from ..ops import binary_cross_entropy_with_logits
from ..ops.domains import NONZERO, POSITIVE, REAL, UNIT_INTERVAL, Domain
from ..scalar import Scalar
from ..tensor import Tensor
from ._elements import DEFAULT_BOUND, DEFAULT_MARGIN, Shape, floats_in, shapes
from .opinfo import graph_ops, opinfo_for

__all__ = [
    "DEFAULT_BOUND",
    "DEFAULT_MARGIN",
    "LogisticProblem",
    "RandomGraph",
    "Shape",
    "Step",
    "arrays",
    "broadcastable_arrays",
    "broadcastable_tensors",
    "floats_in",
    "graphs",
    "logistic_problems",
    "nonzero",
    "positive",
    "probabilities",
    "scalars",
    "shapes",
    "tensors",
]


# ---------------------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------------------


def scalars(
    min_value: float = -DEFAULT_BOUND,
    max_value: float = DEFAULT_BOUND,
    *,
    domain: Domain = REAL,
    avoid: Sequence[float] = (),
    margin: float = DEFAULT_MARGIN,
    requires_grad: bool = True,
) -> st.SearchStrategy[Scalar]:
    """Scalars with values from :func:`floats_in` (requiring grad by default)."""
    return floats_in(domain, min_value=min_value, max_value=max_value, avoid=avoid, margin=margin).map(
        lambda v: Scalar(v, requires_grad=requires_grad)
    )


# ---------------------------------------------------------------------------------------
# Arrays and Tensors
# ---------------------------------------------------------------------------------------


def arrays(
    shape: Shape | st.SearchStrategy[Shape] | None = None,
    dtype: Any = np.float64,
    *,
    elements: st.SearchStrategy[float] | None = None,
    fill: st.SearchStrategy[float] | None = None,
    domain: Domain = REAL,
    min_value: float = -DEFAULT_BOUND,
    max_value: float = DEFAULT_BOUND,
    avoid: Sequence[float] = (),
    margin: float = DEFAULT_MARGIN,
    unique: bool = False,
) -> st.SearchStrategy[np.ndarray]:
    """NumPy arrays of ``shape`` (a tuple, a strategy, or :func:`shapes` by default) and
    ``dtype`` (float64, float32, or a strategy of dtypes), for checking plain NumPy
    functions.

    ``elements`` defaults to :func:`floats_in` with ``domain``/``avoid``/``margin``;
    ``fill`` (default: the same elements) is the value most elements share, which
    keeps big arrays fast; ``unique=True`` gives distinct elements (no ties).
    """
    shape_st = shapes() if shape is None else (shape if isinstance(shape, st.SearchStrategy) else st.just(tuple(shape)))
    dtype_st = dtype if isinstance(dtype, st.SearchStrategy) else st.just(np.dtype(dtype))

    @st.composite
    def draw_array(draw: st.DrawFn) -> np.ndarray:
        dt = np.dtype(draw(dtype_st))
        sh = draw(shape_st)
        el = (
            elements
            if elements is not None
            else floats_in(domain, min_value=min_value, max_value=max_value, avoid=avoid, margin=margin, dtype=dt)
        )
        if unique:
            return draw(hnp.arrays(dt, sh, elements=el, unique=True))
        return draw(hnp.arrays(dt, sh, elements=el, fill=fill if fill is not None else el))

    return draw_array()


def tensors(
    shape: Shape | st.SearchStrategy[Shape] | None = None,
    dtype: Any = np.float64,
    *,
    requires_grad: bool = True,
    **kw: Any,
) -> st.SearchStrategy[Tensor]:
    """Tensors whose data is drawn by :func:`arrays` (same ``shape``, ``dtype`` and
    keywords: ``elements``, ``fill``, ``domain``, ``min_value``, ``max_value``,
    ``avoid``, ``margin``, ``unique``), requiring grad by default."""
    return arrays(shape, dtype, **kw).map(lambda a: Tensor(a, requires_grad=requires_grad))


def positive(shape: Shape | st.SearchStrategy[Shape] | None = None, **kw: Any) -> st.SearchStrategy[Tensor]:
    """Tensors with every element > 0 (for log, fractional powers): ``tensors(domain=POSITIVE)``."""
    return tensors(shape, domain=POSITIVE, **kw)


def nonzero(shape: Shape | st.SearchStrategy[Shape] | None = None, **kw: Any) -> st.SearchStrategy[Tensor]:
    """Tensors with no element near 0 (for division)."""
    return tensors(shape, domain=NONZERO, **kw)


def probabilities(shape: Shape | st.SearchStrategy[Shape] | None = None, **kw: Any) -> st.SearchStrategy[Tensor]:
    """Tensors with elements in [0, 1] (targets, probabilities)."""
    return tensors(shape, domain=UNIT_INTERVAL, **kw)


def broadcastable_arrays(
    n: int = 2,
    *,
    max_dims: int = 3,
    max_side: int = 3,
    dtype: Any = np.float64,
    domains: Sequence[Domain] | None = None,
    **kw: Any,
) -> st.SearchStrategy[tuple[np.ndarray, ...]]:
    """``n`` NumPy arrays whose shapes broadcast together (numpy rules), each drawn with
    :func:`arrays` (``domains`` gives one domain per array)."""
    doms = list(domains) if domains is not None else [REAL] * n

    @st.composite
    def draw_tuple(draw: st.DrawFn) -> tuple[np.ndarray, ...]:
        shp = draw(hnp.mutually_broadcastable_shapes(num_shapes=n, max_dims=max_dims, max_side=max_side))
        return tuple(draw(arrays(s, dtype, domain=d, **kw)) for s, d in zip(shp.input_shapes, doms))

    return draw_tuple()


def broadcastable_tensors(
    n: int = 2, *, requires_grad: bool = True, **kw: Any
) -> st.SearchStrategy[tuple[Tensor, ...]]:
    """``n`` Tensors whose shapes broadcast together: :func:`broadcastable_arrays` (same
    keywords) as Tensors."""
    return broadcastable_arrays(n, **kw).map(lambda xs: tuple(Tensor(x, requires_grad=requires_grad) for x in xs))


# ---------------------------------------------------------------------------------------
# Logistic regression
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogisticProblem:
    """Features X (n×d), labels y ∈ {0, 1}ⁿ, weights w (d) and bias b (requiring grad).

    ``loss(w, b)`` is the mean binary cross-entropy of σ(Xw + b) against y, whose
    gradient has the closed form ∂L/∂w = Xᵀ(σ(Xw + b) − y)/n.
    """

    X: Tensor
    y: Tensor
    w: Tensor
    b: Tensor

    def loss(self, w: Node, b: Node) -> Node:
        loss: Node = binary_cross_entropy_with_logits(self.X @ w + b, self.y)
        return loss


def logistic_problems(
    n_samples: int | st.SearchStrategy[int] = st.integers(1, 8),
    n_features: int | st.SearchStrategy[int] = st.integers(1, 4),
    dtype: Any = np.float64,
) -> st.SearchStrategy[LogisticProblem]:
    """Random logistic-regression problems (features and weights in [−3, 3])."""
    ns = n_samples if isinstance(n_samples, st.SearchStrategy) else st.just(n_samples)
    ds = n_features if isinstance(n_features, st.SearchStrategy) else st.just(n_features)

    @st.composite
    def draw_problem(draw: st.DrawFn) -> LogisticProblem:
        n, d = draw(ns), draw(ds)
        X = draw(tensors((n, d), dtype, min_value=-3, max_value=3, requires_grad=False))
        y = Tensor(draw(hnp.arrays(np.dtype(dtype), (n,), elements=st.sampled_from([0.0, 1.0]))))
        w = draw(tensors((d,), dtype, min_value=-3, max_value=3))
        b = draw(tensors((), dtype, min_value=-3, max_value=3))
        return LogisticProblem(X, y, w, b)

    return draw_problem()


# ---------------------------------------------------------------------------------------
# Random computation graphs
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One line of a random program: ``v{n} = op(args…; params)``; an int argument is
    an earlier value's number, a float is a constant."""

    op: str
    args: tuple[int | float, ...]
    params: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class RandomGraph:
    """A random program over the op registry, with the inputs it was drawn with.

    Call it on inputs (``graph(*graph.inputs)``) to build the graph; ``repr`` lists
    the program one op per line.
    """

    n_inputs: int
    steps: tuple[Step, ...]
    inputs: tuple[Node, ...]

    def trace(self, *inputs: Any) -> list[Any]:
        """Every value of the program: the inputs, then one per step."""
        values: list[Any] = list(inputs)
        for s in self.steps:
            args = [values[a] if isinstance(a, int) else a for a in s.args]
            values.append(opinfo_for(s.op).call(*args, **dict(s.params)))
        return values

    def __call__(self, *inputs: Any) -> Any:
        return self.trace(*inputs)[-1]

    def __repr__(self) -> str:
        lines = [f"RandomGraph({self.n_inputs} inputs, {len(self.steps)} ops):"]
        for k, s in enumerate(self.steps):
            args = ", ".join(f"v{a}" if isinstance(a, int) else repr(a) for a in s.args)
            params = "".join(f", {n}={v!r}" for n, v in s.params)
            lines.append(f"  v{self.n_inputs + k} = {s.op}({args}{params})")
        return "\n".join(lines)


def _append(
    steps: list[Step], n_inputs: int, vocab: dict[str, Any], op: str, args: tuple[int, ...], params: dict[str, Any]
) -> int:
    """Add ``op(args)`` to the program, first mapping operands into the op's domain
    (softplus(v) + 0.1 > 0); returns the new value's number."""
    fixed: list[int | float] = []
    for a, dom in zip(args, vocab[op].graph_domains(params)):
        if dom is not None and (dom.low > -math.inf or dom.nonzero):
            steps.append(Step("softplus", (a,)))
            steps.append(Step("add", (n_inputs + len(steps) - 1, 0.1)))
            a = n_inputs + len(steps) - 1
        fixed.append(a)
    steps.append(Step(op, tuple(fixed), tuple(sorted(params.items()))))
    return n_inputs + len(steps) - 1


def graphs(
    n_inputs: int | st.SearchStrategy[int] = st.integers(1, 3),
    n_ops: int | st.SearchStrategy[int] = st.integers(1, 10),
    *,
    kind: type[Node] = Tensor,
    shape: Shape = (3,),
    dtype: Any = np.float64,
    chain: bool = False,
    smooth: bool = False,
    max_abs: float = 1e6,
) -> st.SearchStrategy[RandomGraph]:
    """Random computation graphs built from the op registry's elementwise ops.

    Each step applies an op to values computed so far, with forced reuse: a step
    may feed one value to both operands (``x*x``), build a diamond (two unary ops on
    one value, merged by a binary op), or continue the latest value (``chain=True``
    always does: long chains). Operands are first mapped into an op's domain by ops
    of the graph (softplus(v) + 0.1 for log, division, fractional powers). Graphs
    whose values leave [−max_abs, max_abs] are rejected. ``kind`` is Tensor (of
    ``shape`` and ``dtype``) or Scalar. ``smooth=True`` leaves out ops with kinks
    (relu, abs, clip): for second derivatives, whose value at a kink is a convention
    hidden in constant masks of the backward graph.
    """
    vocab = graph_ops(scalar=kind is Scalar)
    if smooth:
        vocab = {n: info for n, info in vocab.items() if not info.fn.kinks}
    names = sorted(vocab)
    unary = [n for n in names if vocab[n].arity == 1]
    n_in_st = n_inputs if isinstance(n_inputs, st.SearchStrategy) else st.just(n_inputs)
    n_ops_st = n_ops if isinstance(n_ops, st.SearchStrategy) else st.just(n_ops)

    @st.composite
    def draw_graph(draw: st.DrawFn) -> RandomGraph:
        k = draw(n_in_st)
        if kind is Scalar:
            inputs: tuple[Node, ...] = tuple(draw(scalars(-2, 2)) for _ in range(k))
        else:
            inputs = tuple(draw(tensors(shape, dtype, min_value=-2, max_value=2)) for _ in range(k))
        steps: list[Step] = []
        for _ in range(draw(n_ops_st)):
            latest = k + len(steps) - 1
            name = draw(st.sampled_from(names))
            info = vocab[name]
            params = draw(info.graph_params)
            motif = "chain" if chain else draw(st.sampled_from(["any", "square", "diamond", "chain"]))
            if info.arity == 2 and motif == "square":
                args: tuple[int, ...] = (latest, latest)
            elif info.arity == 2 and motif == "diamond":
                u1, u2 = draw(st.sampled_from(unary)), draw(st.sampled_from(unary))
                left = _append(steps, k, vocab, u1, (latest,), draw(vocab[u1].graph_params))
                right = _append(steps, k, vocab, u2, (latest,), draw(vocab[u2].graph_params))
                args = (left, right)
            elif motif == "chain":
                args = (latest, *tuple(draw(st.integers(0, latest)) for _ in range(info.arity - 1)))
            else:
                args = tuple(draw(st.integers(0, latest)) for _ in range(info.arity))
            _append(steps, k, vocab, name, args, params)
        graph = RandomGraph(k, tuple(steps), inputs)
        try:
            with no_grad(), np.errstate(all="ignore"):  # overflowing draws are rejected below
                values = graph.trace(*inputs)
        except (OverflowError, ZeroDivisionError):  # Scalar math kernels raise instead of inf
            assume(False)
        assume(all(np.all(np.isfinite(v.data)) and np.max(np.abs(v.data), initial=0.0) <= max_abs for v in values))
        return graph

    return draw_graph()
