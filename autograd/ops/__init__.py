"""Every differentiable operation, forward and backward side by side.

Each op is a :class:`~glassgrad.graph.Function` subclass (listed by name in
``glassgrad.graph.REGISTRY``) plus a public function that applies it. The functions
accept graph values (recording the op) or raw floats and numpy arrays (computing it
directly), which is what lets backward formulas double as graph builders.
"""

from .arithmetic import Add, Div, GraphPower, Mul, Neg, Power, Sub, add, div, mul, neg, power, sub
from .elementwise import (
    Abs,
    Cast,
    Clip,
    Exp,
    Log,
    LogSigmoid,
    Relu,
    Sigmoid,
    Softplus,
    Tanh,
    Where,
    abs_,
    cast,
    clip,
    exp,
    log,
    log_sigmoid,
    relu,
    sigmoid,
    softplus,
    tanh,
    where,
)
from .linalg import MatMul, dot, matmul
from .loss import BCE, BCEWithLogits, binary_cross_entropy, binary_cross_entropy_with_logits
from .reduction import Max, Mean, Sum, max, mean, sum
from .shape import (
    BroadcastTo,
    Concatenate,
    GetItem,
    Reshape,
    ScatterAdd,
    Stack,
    Transpose,
    broadcast_to,
    concatenate,
    getitem,
    reshape,
    scatter_add,
    stack,
    transpose,
)

__all__ = [name for name in dir() if not name.startswith("_")]
