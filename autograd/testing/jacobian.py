"""The full Jacobian, entry by entry, for small functions.

The element-wise check compares vᵀJ for one random v; an error δ in a single entry
Jᵢⱼ then shows only as vᵢ·δ, which a small vᵢ can hide. For small functions the check
also builds J itself: row i from backward with the one-hot upstream gradient eᵢ,
column j from central differences of all outputs,

    J[:, j] ≈ (f(x + h·eⱼ) − f(x − h·eⱼ)) / 2h,

and reports every entry that disagrees (with the output it belongs to).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .report import MISMATCH, Row


def numeric_jacobian(
    evaluate: Callable[[Sequence[np.ndarray]], np.ndarray],
    base: Sequence[np.ndarray],
    steps: Sequence[np.ndarray],
    eps: float,
) -> tuple[np.ndarray, np.ndarray]:
    """J (outputs × input elements) by central differences, and the rounding noise
    ε·(|f₊| + |f₋|)/2h of each entry. ``evaluate`` maps input arrays to the flat
    float64 vector of all outputs; ``steps`` holds h per input element."""
    columns, noises = [], []
    for k, b in enumerate(base):
        for idx in np.ndindex(b.shape):
            h = float(steps[k][idx])
            vals = list(base)
            vals[k] = b.copy()
            vals[k][idx] = b[idx] + h
            plus = evaluate(vals)
            vals[k][idx] = b[idx] - h
            minus = evaluate(vals)
            columns.append((plus - minus) / (2 * h))
            noises.append(eps * (np.abs(plus) + np.abs(minus)) / (2 * h))
    return np.stack(columns, axis=1), np.stack(noises, axis=1)


def entry_mismatches(
    analytic: np.ndarray,
    numeric: np.ndarray,
    noise: np.ndarray,
    atol: float,
    rtol: float,
    columns: Sequence[tuple[str, str, float]],
    rows: Sequence[str],
    skip: set[int],
) -> list[Row]:
    """Rows for the Jacobian entries that disagree; ``columns`` names each input
    element (input, index, x), ``rows`` each output element, ``skip`` the columns
    already judged non-differentiable."""
    tol = atol + rtol * np.abs(numeric) + noise
    bad = np.argwhere(np.abs(analytic - numeric) > tol)
    found = []
    for i, j in bad:
        if j in skip:
            continue
        name, index, x = columns[j]
        found.append(
            Row(
                name, f"{index} ← {rows[i]}", x, float(analytic[i, j]), float(numeric[i, j]), float(tol[i, j]), MISMATCH
            )
        )
    return found
