"""Numbers as the drawings and the ops' formulas print them."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: Significant digits of a number in a drawing or a formula.
DIGITS = 4


def number(x: Any, digits: int = DIGITS) -> str:
    """One number, 4 significant digits (or ``digits``): ``0.2689``, ``-1.5``, ``1e+04``, ``nan``."""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "−inf"
    return f"{x:.{digits}g}".replace("-", "−")
