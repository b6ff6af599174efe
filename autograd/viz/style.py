"""Colours and categories: what a value is (its role) and what an op does.

Roles of values:
  input         a leaf that does not require grad: data, targets
  param         a leaf that requires grad: what training changes
  const         an unnamed single-number leaf: a literal such as the 1 in 1 − p
  intermediate  produced by an op
  output        the root being drawn (the loss)

Op categories follow what the op does to its inputs' elements; they pick the fill
colour of an op node.
"""

from __future__ import annotations

from typing import Any

from ..graph import Node

ROLES = ("input", "param", "const", "intermediate", "output")
ROLE_LABEL = {
    "input": "data input",
    "param": "parameter (requires grad)",
    "const": "constant",
    "intermediate": "intermediate",
    "output": "output / loss",
}
ROLE_SHORT = {
    "input": "data",
    "param": "parameter",
    "const": "constant",
    "intermediate": "intermediate",
    "output": "output",
}
# (fill of the header cell, border): pale fills keep black text readable.
ROLE_COLOR = {
    "input": ("#cfe2f3", "#3d85c6"),
    "param": ("#fce5cd", "#e69138"),
    "const": ("#eeeeee", "#999999"),
    "intermediate": ("#ffffff", "#666666"),
    "output": ("#d9ead3", "#38761d"),
}

CATEGORIES = ("elementwise", "activation", "reduction", "matmul", "loss", "shape", "other")
CATEGORY_LABEL = {
    "elementwise": "elementwise arithmetic",
    "activation": "activation",
    "reduction": "reduction",
    "matmul": "matrix product",
    "loss": "loss",
    "shape": "reshape / index",
    "other": "user-defined op",
}
CATEGORY_COLOR = {
    "elementwise": "#fff2cc",
    "activation": "#ead1dc",
    "reduction": "#c9daf8",
    "matmul": "#d9d2e9",
    "loss": "#e6b8af",
    "shape": "#d0e0e3",
    "other": "#ffffff",
}
_CATEGORY_OF = {
    **dict.fromkeys(
        ("add", "sub", "mul", "div", "neg", "power", "graph_power", "exp", "log", "abs", "clip", "where", "cast"),
        "elementwise",
    ),
    **dict.fromkeys(("sigmoid", "tanh", "relu", "softplus", "log_sigmoid"), "activation"),
    **dict.fromkeys(("sum", "mean", "max"), "reduction"),
    "matmul": "matmul",
    **dict.fromkeys(("binary_cross_entropy", "bce_with_logits"), "loss"),
    **dict.fromkeys(
        ("reshape", "transpose", "broadcast_to", "getitem", "scatter_add", "concatenate", "stack"), "shape"
    ),
}
# Ops whose inputs can be swapped without changing the result: their edges need no
# argument position.
COMMUTATIVE = frozenset(("add", "mul"))

HEALTH_COLOR = {"nonfinite": "#e06666", "zero": "#d9d9d9"}
HEALTH_LABEL = {"nonfinite": "gradient has NaN / inf", "zero": "gradient exactly 0"}

GROUP_COLOR = ("#f3f3f3", "#666666")
FLOW_COLOR = "#b45f06"  # edges that carry gradient in the backward view
HIGHLIGHT_COLOR = "#cc0000"
DIM_COLOR = "#c8c8c8"
DIM_TEXT = "#a0a0a0"
FONT = "Helvetica"


def role(node: Node, is_root: bool) -> str:
    """The role of a value in the drawing (see the module docstring)."""
    if is_root:
        return "output"
    if not node.is_leaf:
        return "intermediate"
    if node.requires_grad:
        return "param"
    return "const" if node.name is None and _size(node.data) == 1 else "input"


def category(op: str | None) -> str:
    """The category of a built-in op name; ``"other"`` for user-defined ops."""
    return _CATEGORY_OF.get(op or "", "other")


def _size(data: Any) -> int:
    return 1 if isinstance(data, float) else int(getattr(data, "size", 1))
