"""Second-order gradient checks.

With ``create_graph=True`` the backward pass is itself recorded, so the vector-
Jacobian product is a differentiable function of the inputs and of the upstream
gradient v:

    G(x, v) = vᵀ ∂f/∂x          (one gradient per input)

``gradgradcheck`` runs :func:`~glassgrad.testing.gradcheck` on G, which compares the
engine's second derivatives (Hessian-vector products, and the linear dependence on v)
with central differences of first derivatives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..functional import grad
from ..graph import Node, enable_grad
from ..scalar import Scalar
from ..tensor import Tensor
from .gradcheck import GradcheckResult, gradcheck


def _differentiable_copy(x: Node) -> Node:
    """A leaf with x's data that requires grad (for evaluations outside any graph)."""
    if isinstance(x, Scalar):
        return Scalar(x.data, requires_grad=True)
    return Tensor(x.data, requires_grad=True)


def gradgradcheck(
    fn: Callable[..., Any],
    *inputs: Any,
    grad_outputs: Any = None,
    seed: int = 0,
    **gradcheck_kw: Any,
) -> GradcheckResult:
    """Check second derivatives of ``fn`` (which returns one Scalar or Tensor).

    ``grad_outputs`` is the upstream gradient v (random, from ``seed``, when omitted);
    it becomes an input of the checked function, so the derivative with respect to v
    is checked too. Other keywords go to :func:`gradcheck`.
    """
    wanted_idx = [i for i, x in enumerate(inputs) if isinstance(x, Node) and x.requires_grad]
    if not wanted_idx:
        raise ValueError("gradgradcheck: no input requires grad; create them with requires_grad=True")
    with enable_grad():
        probe = fn(*inputs)
    if not isinstance(probe, Node):
        raise TypeError(f"gradgradcheck: fn must return one Scalar or Tensor, got {type(probe).__name__}")
    if grad_outputs is None:
        v = np.random.default_rng(seed + 1).standard_normal(np.shape(probe.data))
        if isinstance(probe, Scalar):
            grad_outputs = Scalar(float(v), name="v")
        else:
            grad_outputs = Tensor(v.astype(probe.data.dtype), requires_grad=True, name="v")
    elif not isinstance(grad_outputs, Node):
        grad_outputs = Tensor(grad_outputs, requires_grad=True, name="v")
    n = len(inputs)

    def first_derivative(*args: Any) -> tuple[Node, ...]:
        xs, v = list(args[:n]), args[n]
        with enable_grad():
            # Outside a graph (the numerical side) the inputs arrive as constants.
            for i in wanted_idx:
                if not xs[i].requires_grad:
                    xs[i] = _differentiable_copy(xs[i])
            out = fn(*xs)
            grads = grad(out, [xs[i] for i in wanted_idx], v, create_graph=True, allow_unused=True)
        # An input that does not reach the output has gradient zero, not None.
        return tuple(
            g if g is not None else type(xs[i])._wrap(np.zeros_like(xs[i].data) if isinstance(xs[i], Tensor) else 0.0)
            for g, i in zip(grads, wanted_idx)
        )

    first_derivative.__name__ = f"grad_{getattr(fn, '__name__', 'fn')}"
    return gradcheck(first_derivative, *inputs, grad_outputs, seed=seed, **gradcheck_kw)
