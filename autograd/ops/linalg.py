"""Matrix products with numpy's ``matmul`` rules: 1-D·1-D, 2-D@1-D, 1-D@2-D, 2-D@2-D
and batched stacks (leading axes broadcast).

For C = A @ B:  ∂L/∂A = G @ Bᵀ  and  ∂L/∂B = Aᵀ @ G,  with G = ∂L/∂C. A 1-D operand
is treated as a row (left) or column (right) vector and squeezed back; batch axes
that broadcasting stretched are summed by the graph driver.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..graph import Function
from .base import as_raw, call
from .shape import reshape, transpose


def _mT(x: Any) -> Any:
    """Swap the last two axes (the matrix transpose of a stack of matrices)."""
    n = len(x.shape)
    return transpose(x, (*tuple(range(n - 2)), n - 1, n - 2))


class MatMul(Function, register=True):
    """C = A @ B;  ∂L/∂A = G @ Bᵀ,  ∂L/∂B = Aᵀ @ G"""

    category = "matmul"
    broadcasts = True
    reference = np.matmul

    @staticmethod
    def forward(ctx, a, b):
        return a @ b

    @staticmethod
    def to_onnx(ctx, b, a, c):
        # A vector on the right of a matrix is written as a column, squeezed from the
        # product: onnxruntime 1.32 fuses a Transpose of the matrix into a MatMul with a
        # vector operand and gets other numbers.
        if np.ndim(ctx.parents[1].data) != 1 or np.ndim(ctx.parents[0].data) == 1:
            return b.op("MatMul", a, c)
        last = b.ints([-1])
        return b.op("Squeeze", b.op("MatMul", a, b.op("Unsqueeze", c, last)), last)

    @staticmethod
    def backward(ctx, g, c, a, b):
        need_a, need_b = ctx.needs_input_grad
        an, bn = len(a.shape), len(b.shape)
        if an == 1 and bn == 1:  # inner product: c = Σ aᵢbᵢ
            return (g * b if need_a else None), (g * a if need_b else None)
        if an == 2 and bn == 1:  # the logistic unit's X @ w: one matrix-vector product per grad
            ga = reshape(g, (-1, 1)) * b if need_a else None
            gb = a.T @ g if need_b else None
            return ga, gb
        # General case: make 1-D operands matrices, multiply, squeeze back.
        a2 = reshape(a, (1, -1)) if an == 1 else a
        b2 = reshape(b, (-1, 1)) if bn == 1 else b
        gshape = g.shape
        if an == 1:
            gshape = (*gshape[:-1], 1, *gshape[-1:]) if bn > 1 else (*gshape, 1)
        if bn == 1:
            gshape = (*gshape, 1)
        g2 = reshape(g, gshape)
        ga = gb = None
        if need_a:
            ga = g2 @ _mT(b2)
            if an == 1:
                ga = reshape(ga.sum(axis=tuple(range(len(ga.shape) - 2))) if len(ga.shape) > 2 else ga, a.shape)
        if need_b:
            gb = _mT(a2) @ g2
            if bn == 1:
                gb = reshape(gb.sum(axis=tuple(range(len(gb.shape) - 2))) if len(gb.shape) > 2 else gb, b.shape)
        return ga, gb

    @staticmethod
    def formulas(ctx, c, a, b):
        if all(len(getattr(p.data, "shape", ())) == 1 for p in ctx.parents):
            return b, a  # inner product: the gradient is the other vector
        return f"g·{b}ᵀ", f"{a}ᵀ·g"


def matmul(a: Any, b: Any) -> Any:
    """a @ b with numpy's matmul rules (batched for more than two dimensions)."""
    return call(MatMul, a, b)


def dot(a: Any, b: Any) -> Any:
    """The dot product of vectors, or a matrix product for 1-D and 2-D operands."""
    for x in (a, b):
        if np.ndim(as_raw(x)) > 2:
            raise ValueError(f"dot takes 1-D or 2-D operands, got shape {np.shape(as_raw(x))}; use matmul for stacks")
    return call(MatMul, a, b)
