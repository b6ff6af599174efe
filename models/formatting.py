"""Numbers as the commands and the training figures print them."""

from __future__ import annotations

import math


def probability(p: float, threshold: float | None = None, decimals: int = 4) -> str:
    """``p`` with ``decimals`` decimals, or with as many more as it takes to keep what a
    reader checks true: a p that is not exactly 0 or 1 never shows as 0 or 1 (0.99996 is
    not a certainty), and a p compared with ``threshold`` shows on its side (0.49996
    against 0.5 read "0.5000 → not a 9"). A p too small for 17 decimals is written
    as ``3.000e-25``."""
    p = float(p)
    for digits in range(decimals, 18):
        text = f"{p:.{digits}f}"
        shown = float(text)
        if shown in (0.0, 1.0) and shown != p:
            continue
        if threshold is not None and (shown >= threshold) != (p >= threshold):
            continue
        return text
    return f"{p:.{decimals - 1}e}" if math.isfinite(p) else str(p)
