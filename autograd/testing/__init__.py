"""Check gradients: your own hand-derived ones, glassgrad's ops, and your functions.

- :func:`gradcheck` compares a derivative with central differences at one point and
  explains a failure: a worst-first table, kink verdicts, a Taylor test, and (for
  glassgrad values) the first op whose local derivative is wrong. The derivative is
  either your own, for a plain NumPy function (``grad=``, ``vjp=`` or ``jvp=``), or
  glassgrad's backward, for a function of Scalars and Tensors.
- :func:`gradgradcheck` does the same for second derivatives.
- :func:`check_gradients` / :func:`grad_property` run gradcheck over hypothesis
  strategies (:mod:`glassgrad.testing.strategies`) and shrink a failure to the
  smallest input that shows it. These need hypothesis (``pip install glassgrad[testing]``)
  and are imported on first use.
"""

from typing import Any

from .finite_differences import TOLERANCES, step_size, tolerances_for
from .gradcheck import GradcheckError, GradcheckResult, gradcheck
from .gradgrad import gradgradcheck
from .kinks import KinkEvidence
from .localize import Localization, OpCheck, check_op, localize
from .report import Row, format_table
from .settings import GradcheckSettings
from .taylor import TaylorResult, taylor_test

_NEEDS_HYPOTHESIS = {"check_gradients", "grad_property", "GradientCheckFailure", "literal"}


def __getattr__(name: str) -> Any:
    if name in _NEEDS_HYPOTHESIS:
        from . import properties

        return getattr(properties, name)
    raise AttributeError(f"module 'glassgrad.testing' has no attribute {name!r}")


__all__ = [
    "TOLERANCES",
    "GradcheckError",
    "GradcheckResult",
    "GradcheckSettings",
    "GradientCheckFailure",
    "KinkEvidence",
    "Localization",
    "OpCheck",
    "Row",
    "TaylorResult",
    "check_gradients",
    "check_op",
    "format_table",
    "grad_property",
    "gradcheck",
    "gradgradcheck",
    "literal",
    "localize",
    "step_size",
    "taylor_test",
    "tolerances_for",
]
