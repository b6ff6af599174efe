"""What a gradient check found: the result with its report, and the error raised
when it failed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import GlassgradError
from .localize import Localization
from .report import KINK, Row, format_table
from .taylor import TaylorResult


def function_name(fn: Callable[..., Any]) -> str:
    """How a report names the checked function."""
    return getattr(fn, "__name__", type(fn).__name__)


#: The sub-checks, in the order they are reported.
SUB_CHECKS = ("jacobian", "subgradient", "linearity", "reentrancy", "shape", "dtype", "mutation", "aliasing")


class GradcheckError(GlassgradError, AssertionError):
    """The analytic gradient disagrees with central differences (or a sub-check failed).
    ``.result`` holds the :class:`GradcheckResult` with the full report."""

    def __init__(self, message: str, result: GradcheckResult | None = None) -> None:
        super().__init__(message)
        self.result = result


@dataclass
class GradcheckResult:
    """What a gradient check compared and what it concluded; falsy when it failed.

    ``rows`` is the comparison table, worst first (elements in full mode, directions
    in fast mode); ``kinks`` the rows judged non-differentiable (passed);
    ``failures`` maps each failed sub-check to what went wrong.
    """

    fn_name: str = "fn"
    analytic: list[np.ndarray] = field(default_factory=list)
    numeric: list[np.ndarray] = field(default_factory=list)  # full mode only
    rows: list[Row] = field(default_factory=list)
    kinks: list[Row] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    mode: str = "full"
    evaluations: int = 0
    dtype: np.dtype = field(default_factory=lambda: np.dtype(np.float64))
    atol: float = 0.0
    rtol: float = 0.0
    step: str = ""
    taylor: TaylorResult | None = None
    localization: Localization | None = None
    notes: list[str] = field(default_factory=list)
    jacobian: tuple[np.ndarray, np.ndarray] | None = None  # (analytic, numeric), full mode on small fns
    objective: str = "φ = Σ vᵀf"  # the one number central differences are taken of
    sub_checks: tuple[str, ...] = SUB_CHECKS  # the sub-checks that ran

    @property
    def ok(self) -> bool:
        return not self.failures

    def __bool__(self) -> bool:
        return self.ok

    @property
    def max_abs_error(self) -> float:
        return max((r.abs_error for r in self.rows if r.verdict != KINK), default=0.0)

    def report(self, limit: int = 10) -> str:
        """The human-readable account: verdict, settings, table, diagnoses, sub-checks."""
        head = (
            f"gradcheck of {self.fn_name} failed: {', '.join(self.failures)}"
            if self.failures
            else f"gradcheck of {self.fn_name} passed"
        )
        lines = [
            head,
            f"mode {self.mode}, {self.evaluations} evaluations of f in float64 ({self.objective}), "
            f"step {self.step}; tolerance atol={self.atol:g} + rtol={self.rtol:g}·|numeric| + rounding "
            f"({self.dtype} gradients)",
        ]
        for name, why in self.failures.items():
            if name not in ("jacobian", "subgradient"):
                lines.append(f"{name} FAILED: {why}")
        if self.rows:
            lines.append(format_table(self.rows, limit))
        if self.kinks:
            lines.append(
                f"{len(self.kinks)} non-differentiable point(s), not failures: at a kink the one-sided slopes "
                "differ and the analytic value lies between them (a valid subgradient); at a discontinuity "
                "the function jumps and no derivative exists"
            )
        lines.extend(self.notes)
        if self.taylor is not None:
            lines.append(self.taylor.summary())
        if self.localization is not None:
            lines.append(self.localization.summary())
        lines.append(
            "sub-checks: " + ", ".join(f"{c} {'FAILED' if c in self.failures else 'ok'}" for c in self.sub_checks)
        )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()
