"""Every differentiable operation, forward and backward side by side.

Each op is a :class:`~glassgrad.graph.Function` subclass (listed by name in
``glassgrad.graph.REGISTRY``) plus a public function that applies it. The functions
accept graph values (recording the op) or raw floats and numpy arrays (computing it
directly), which is what lets backward formulas double as graph builders.
"""

from .arithmetic import Add, Div, GraphPower, Mul, Neg, Power, Sub, add, div, mul, neg, power, sub
from .cross_entropy import CrossEntropy, SoftCrossEntropy, cross_entropy
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
    Sqrt,
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
    sqrt,
    tanh,
    where,
)
from .linalg import MatMul, dot, matmul
from .loss import BCE, BCEWithLogits, binary_cross_entropy, binary_cross_entropy_with_logits
from .reduction import Max, Mean, Min, Sum, Var, argmax, max, mean, min, sum, var
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
    flatten,
    getitem,
    reshape,
    scatter_add,
    squeeze,
    stack,
    transpose,
    unsqueeze,
)
from .softmax import LogSoftmax, LogSumExp, Softmax, log_softmax, logsumexp, softmax

__all__ = [name for name in dir() if not name.startswith("_")]
