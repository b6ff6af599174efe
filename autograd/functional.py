"""Gradients as functions: ``grad(f)``, ``value_and_grad(f)``, and ``grad(outputs, inputs)``.

The functional form suits people who think of the derivative as an operator on
functions (∇f is itself a function); the outputs/inputs form is PyTorch's
``torch.autograd.grad``. Both run the same backward driver as ``.backward()`` and
neither touches ``.grad``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .errors import GradError
from .graph import Node, run_backward
from .scalar import Scalar
from .tensor import Tensor

ArgNums = int | Sequence[int]


def grad(
    fun_or_outputs: Callable[..., Any] | Node | Sequence[Node],
    inputs: Node | Sequence[Node] | None = None,
    grad_outputs: Any = None,
    *,
    argnums: ArgNums = 0,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> Any:
    """Two spellings of the gradient.

    ``grad(f, argnums=0)`` returns the function x ↦ ∇f(x) for an f that returns one
    number. Arguments may be floats, arrays, Scalars or Tensors; plain data gives plain
    data back. Called on values that are themselves being differentiated, it records
    its work, so ``grad(grad(f))`` is the second derivative.

    ``grad(outputs, inputs, grad_outputs=None, ...)`` returns ∂outputs/∂inputs as a
    tuple, one gradient per input (None for an unreachable input with
    ``allow_unused=True``). With ``create_graph=True`` the gradients are graph values
    that can be differentiated again (Hessian-vector products).
    """
    if callable(fun_or_outputs) and not isinstance(fun_or_outputs, Node):
        return _grad_of_function(fun_or_outputs, argnums, with_value=False)
    if inputs is None:
        raise TypeError("grad(outputs, inputs): give the inputs to differentiate with respect to")
    return _grad_of_outputs(fun_or_outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused)


def value_and_grad(fun: Callable[..., Any], argnums: ArgNums = 0) -> Callable[..., tuple[Any, Any]]:
    """Like ``grad(fun)`` but the returned function gives ``(f(x), ∇f(x))``."""
    return _grad_of_function(fun, argnums, with_value=True)


def _grad_of_outputs(
    outputs: Node | Sequence[Node],
    inputs: Node | Sequence[Node],
    grad_outputs: Any,
    retain_graph: bool | None,
    create_graph: bool,
    allow_unused: bool,
) -> tuple[Any, ...]:
    outs = [outputs] if isinstance(outputs, Node) else list(outputs)
    ins = [inputs] if isinstance(inputs, Node) else list(inputs)
    if grad_outputs is None:
        seeds: list[Any] = [None] * len(outs)
    else:
        seeds = [grad_outputs] if isinstance(outputs, Node) else list(grad_outputs)
        if len(seeds) != len(outs):
            raise GradError(f"grad: {len(outs)} outputs but {len(seeds)} grad_outputs")
    for i, x in enumerate(ins):
        if not isinstance(x, Node) or not x.requires_grad:
            raise GradError(
                f"grad: input {i} does not require grad, so it has no gradient; create it with requires_grad=True"
            )
    keep = create_graph if retain_graph is None else retain_graph
    grads = run_backward(outs, seeds, retain_graph=keep, create_graph=create_graph, inputs=ins)
    assert grads is not None
    for i, (x, g) in enumerate(zip(ins, grads)):
        if g is None and not allow_unused:
            raise GradError(
                f"grad: input {i} ({x._describe()}) is not reachable from the outputs, so its gradient "
                "is undefined; pass allow_unused=True to get None for it"
            )
    return tuple(grads)


def _as_leaf(x: Any) -> tuple[Node, bool]:
    """A leaf to differentiate with respect to, and whether the result must stay a
    graph value (it must when an outer ``grad`` is differentiating x itself)."""
    if isinstance(x, Node):
        if x.requires_grad:
            return x, True
        if isinstance(x, Scalar):
            return Scalar(x._data), False
        x = x._data
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return Scalar(float(x)), False
    arr = np.asarray(x)
    return Tensor(arr if arr.dtype.kind == "f" else arr.astype(np.float64), requires_grad=True), False


def _grad_of_function(fun: Callable[..., Any], argnums: ArgNums, with_value: bool) -> Callable[..., Any]:
    many = not isinstance(argnums, int)
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)

    def gradient(*args: Any, **kwargs: Any) -> Any:
        inputs = list(args)
        made: dict[int, Node] = {}  # an argument named twice is one leaf, made once
        nested = False
        for i in nums:
            if i not in made:
                made[i], traced = _as_leaf(inputs[i])
                inputs[i] = made[i]
                nested = nested or traced
        leaves = [made[i] for i in nums]
        out = fun(*inputs, **kwargs)
        if not isinstance(out, Node):
            name = getattr(fun, "__name__", "the function")
            raise TypeError(f"grad: {name} must return a Scalar or Tensor, got {type(out).__name__}")
        if not out.requires_grad:
            grads: list[Any] = [_zeros_like(leaf, nested) for leaf in leaves]
        else:
            found = run_backward([out], [None], retain_graph=nested, create_graph=nested, inputs=leaves)
            assert found is not None
            grads = [g if g is not None else _zeros_like(leaf, nested) for g, leaf in zip(found, leaves)]
        result = tuple(grads) if many else grads[0]
        if with_value:
            return (out if nested else out._data), result
        return result

    gradient.__name__ = f"grad_{getattr(fun, '__name__', 'f')}"
    gradient.__doc__ = f"Gradient of {getattr(fun, '__name__', 'f')} with respect to argument(s) {argnums}."
    return gradient


def _zeros_like(leaf: Node, as_node: bool) -> Any:
    """The gradient of a function that does not depend on ``leaf``: zero."""
    zero = np.zeros_like(leaf._data) if isinstance(leaf, Tensor) else 0.0
    return type(leaf)._wrap(zero) if as_node else zero
