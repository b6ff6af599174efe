"""The exceptions glassgrad raises. Each message names the op, the shapes and what to do."""

from __future__ import annotations


class GlassgradError(Exception):
    """Base class of every error glassgrad raises on purpose."""


class ShapeError(GlassgradError, ValueError):
    """Operands whose shapes do not fit the operation (broadcasting, matmul, reshape)."""


class DomainError(GlassgradError, ValueError):
    """An input outside an op's domain, e.g. ``log`` of a value ≤ 0."""


class GradError(GlassgradError, RuntimeError):
    """A backward pass that cannot run: freed graph, no path to a leaf, bad seed gradient."""


class InPlaceError(GradError):
    """A value the graph saved for backward was modified in place after the forward pass."""


def mixed_kinds(a: type, b: type, op: str | None = None) -> TypeError:
    """The error for a Scalar and a Tensor in one operation: a graph holds one kind of
    value, and a Scalar's gradient is one number where a Tensor's has a shape."""
    where = f"{op}: " if op else ""
    return TypeError(
        f"{where}cannot combine a {a.__name__} with a {b.__name__}; a graph holds one "
        "kind of value. Convert the Scalar s with Tensor(s.data), or a one-number Tensor t "
        "with Scalar(t.item())"
    )


class AnomalyError(GlassgradError, FloatingPointError):
    """Raised under ``detect_anomaly()``: the first op whose output or gradient is NaN or inf."""


class TraceError(GlassgradError):
    """The function cannot be replayed from one trace (see the rules of tracing)."""


class TraceWarning(UserWarning):
    """A compiled step keeps tracing its function again: what the function reads from
    outside its inputs changes between calls."""


class MissingDependency(GlassgradError, ImportError):
    """An optional part needs a package that is not installed; the message names the extra
    that installs it."""
