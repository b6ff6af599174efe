"""An op's class is the whole truth about it: one class added here shows up in the
registry, the gradient checks' op table and random graphs, and the backward view."""

import inspect
from typing import ClassVar

import numpy as np
import pytest
from glassgrad import REGISTRY, Function, Node, Scalar, Tensor, no_grad, ops, sigmoid
from glassgrad.graph import Ctx, RawCtx
from glassgrad.testing import check_op, gradcheck
from glassgrad.testing.opinfo import graph_ops, op_cases, op_table
from glassgrad.testing.strategies import graphs
from glassgrad.viz.explain import explain
from glassgrad.viz.formulas import is_elementwise, local_formula
from hypothesis import find, given, settings


@pytest.fixture
def registry_restored():
    """The registry as it was before the test (a test's own op must not leak)."""
    before = dict(REGISTRY)
    yield
    REGISTRY.clear()
    REGISTRY.update(before)


def test_one_class_is_a_whole_op(registry_restored):
    class Swish(Function, register=True):
        """y = x·σ(x);  dy/dx = σ + y(1 − σ)"""

        elementwise = scalar = True

        @staticmethod
        def reference(x):
            return x / (1 + np.exp(-x))

        @staticmethod
        def forward(ctx, x):
            return x * ctx.xp.sigmoid(x)

        @staticmethod
        def backward(ctx, g, y, x):
            s = sigmoid(x)
            return (g * (s + y * (1 - s)),)

        @staticmethod
        def formulas(ctx, y, x):
            return (f"σ({x}) + {y}(1−σ({x}))",)

    # the registry
    assert REGISTRY["swish"] is Swish
    # the gradient checks' op table, and the random graphs built from it
    info = op_table()["swish"]
    assert info.reference is not None and info.scalar and info.arity == 1
    assert "swish" in graph_ops(scalar=True)

    @settings(max_examples=10, database=None)
    @given(op_cases(info))
    def values_and_gradients(case):
        xs = case.tensors()
        np.testing.assert_allclose(case(*xs).data, case.expected(), rtol=1e-12, atol=1e-12)
        assert gradcheck(case, *xs).ok

    values_and_gradients()

    graph = find(
        graphs(n_ops=3, kind=Scalar), lambda g: "swish" in repr(g), settings=settings(database=None, max_examples=500)
    )
    assert gradcheck(graph, *graph.inputs).ok
    # the backward view
    x = Tensor([0.5, -1.0], requires_grad=True, name="x")
    y = Swish.apply(x)
    y.name = "y"
    assert local_formula(y, 0, "y", ["x"]) == "σ(x) + y(1−σ(x))"
    assert is_elementwise(y)
    assert "σ(x) + y(1−σ(x))" in str(explain(x, y.sum()))


def test_ops_outside_the_registry_stay_out():
    class Cube(Function):
        @staticmethod
        def forward(ctx, x):
            return x**3

        @staticmethod
        def backward(ctx, g, y, x):
            return (3 * g * x * x,)

    assert "cube" not in REGISTRY and Cube.apply(Scalar(2.0)).op == "cube"


class _Probe(Function):
    """z = a·b, recording what its ctx says in forward and in backward."""

    seen: ClassVar[list] = []

    @staticmethod
    def forward(ctx, a, b):
        _Probe.seen.append(("forward", isinstance(ctx, Ctx), ctx.needs_input_grad, ctx.xp))
        return a * b

    @staticmethod
    def backward(ctx, g, z, a, b):
        _Probe.seen.append(("backward", isinstance(ctx, Ctx), ctx.needs_input_grad, ctx.xp))
        return g * b, g * a


@pytest.mark.parametrize("kind", [Scalar, Tensor])
def test_one_ctx_surface_in_forward_and_backward_on_every_path(kind):
    _Probe.seen.clear()
    a, b = kind(2.0, requires_grad=True), kind(3.0, requires_grad=False)
    _Probe.apply(a, b).backward()  # the graph
    with no_grad():
        _Probe.apply(a, b)  # not recorded
    ops.base.call(_Probe, a.data, b.data)  # raw data
    xp = kind.xp
    assert _Probe.seen[:4] == [
        ("forward", True, (True, False), xp),
        ("backward", True, (True, False), xp),
        ("forward", True, (False, False), xp),
        ("forward", True, (False, False), xp),
    ]
    # the op-by-op localizer re-runs forward and backward on its own ctx
    _Probe.seen.clear()
    assert check_op(_Probe.apply(a, b)).ok
    seen = {(where, is_ctx, needs) for where, is_ctx, needs, _ in _Probe.seen[1:]}  # [0]: the apply
    assert seen == {("forward", True, (True, False)), ("backward", True, (True, False))}
    assert issubclass(Node, Ctx) and issubclass(RawCtx, Ctx)


def test_what_an_op_saves_has_names():
    """Every op that saves something saves a NamedTuple of its own (never positions)."""
    for name, fn in sorted(REGISTRY.items()):
        source = inspect.getsource(fn)
        if "ctx.saved =" in source:
            saved = getattr(fn, "Saved", None)
            assert saved is not None and hasattr(saved, "_fields"), f"{name} saves without a Saved NamedTuple"
            assert "saved[" not in source, f"{name} reads what it saved by position"


HOOKS = [
    name
    for name, value in vars(Node).items()
    if name.startswith("_") and not name.startswith("__") and callable(getattr(value, "__func__", value))
]


@pytest.mark.parametrize("kind", [Scalar, Tensor])
def test_every_value_kind_provides_every_hook(kind):
    assert {"_wrap", "_as_data", "_op_error", "_check_seed", "_seed", "_grad_store"} <= set(HOOKS)
    abstract = [h for h in HOOKS if "NotImplementedError" in inspect.getsource(getattr(Node, h))]
    missing = [h for h in abstract if getattr(kind, h) is getattr(Node, h)]
    assert not missing, f"{kind.__name__} lacks {missing}"
    assert kind.xp is not None and kind.data_type in (float, np.ndarray)
