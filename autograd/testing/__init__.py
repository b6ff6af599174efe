"""Check gradients: of glassgrad's ops and of your own functions.

- :func:`gradcheck` compares backward with central differences at one point and
  explains a failure (table, kinks, Taylor test, the first wrong op).
- :func:`gradgradcheck` does the same for second derivatives.
- :func:`check_gradients` / :func:`grad_property` run gradcheck over hypothesis
  strategies (see :mod:`autograd.testing.strategies`) and shrink a failure to the
  smallest input that shows it.
"""

from .finite_differences import TOLERANCES, step_size, tolerances_for
from .gradcheck import GradcheckError, GradcheckResult, gradcheck
from .kinks import KinkEvidence
from .localize import Localization, OpCheck, check_op, localize
from .report import Row, format_table
from .taylor import TaylorResult, taylor_test

__all__ = [
    "GradcheckError",
    "GradcheckResult",
    "KinkEvidence",
    "Localization",
    "OpCheck",
    "Row",
    "TOLERANCES",
    "TaylorResult",
    "check_op",
    "format_table",
    "gradcheck",
    "localize",
    "step_size",
    "taylor_test",
    "tolerances_for",
]
