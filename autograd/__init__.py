"""glassgrad: a tiny, fast autograd engine that shows what a neural network does.

>>> from glassgrad import Tensor
>>> w = Tensor([0.5, -1.0], requires_grad=True)
>>> x = Tensor([2.0, 3.0])
>>> loss = (w * x).sum().sigmoid()
>>> loss.backward()
>>> w.grad.round(4)
array([0.21 , 0.315])
"""

from typing import TYPE_CHECKING, Any

from . import ops
from . import pickling as pickling  # installs the pickle and copy hooks of every value
from .errors import (
    AnomalyError,
    DomainError,
    GlassgradError,
    GradError,
    InPlaceError,
    MissingDependency,
    ShapeError,
)
from .functional import grad, value_and_grad
from .graph import (
    REGISTRY,
    Function,
    Node,
    detect_anomaly,
    enable_grad,
    is_grad_enabled,
    no_grad,
    record_sites,
    scope,
    walk,
)
from .ops import abs_ as abs
from .ops import (
    argmax,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    broadcast_to,
    cast,
    clip,
    concatenate,
    cross_entropy,
    dot,
    exp,
    flatten,
    log,
    log_sigmoid,
    log_softmax,
    logsumexp,
    matmul,
    max,
    mean,
    min,
    power,
    relu,
    reshape,
    sigmoid,
    softmax,
    softplus,
    sqrt,
    squeeze,
    stack,
    sum,
    tanh,
    transpose,
    unsqueeze,
    var,
    where,
)
from .scalar import Scalar
from .tensor import Tensor, as_tensor

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .tracing import Compiled, TraceError, trace


def __getattr__(name: str) -> Any:
    # The tracer loads on first use: most programs never trace, and it is the
    # heaviest of the engine's modules to import.
    if name in ("Compiled", "TraceError", "trace"):
        from . import tracing

        return getattr(tracing, name)
    raise AttributeError(f"module 'glassgrad' has no attribute {name!r}")


__all__ = [
    "REGISTRY",
    "AnomalyError",
    "Compiled",
    "DomainError",
    "Function",
    "GlassgradError",
    "GradError",
    "InPlaceError",
    "MissingDependency",
    "Node",
    "Scalar",
    "ShapeError",
    "Tensor",
    "TraceError",
    "abs",
    "argmax",
    "as_tensor",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "broadcast_to",
    "cast",
    "clip",
    "concatenate",
    "cross_entropy",
    "detect_anomaly",
    "dot",
    "enable_grad",
    "exp",
    "flatten",
    "grad",
    "is_grad_enabled",
    "log",
    "log_sigmoid",
    "log_softmax",
    "logsumexp",
    "matmul",
    "max",
    "mean",
    "min",
    "no_grad",
    "ops",
    "power",
    "record_sites",
    "relu",
    "reshape",
    "scope",
    "sigmoid",
    "softmax",
    "softplus",
    "sqrt",
    "squeeze",
    "stack",
    "sum",
    "tanh",
    "trace",
    "transpose",
    "unsqueeze",
    "value_and_grad",
    "var",
    "walk",
    "where",
]
