"""What the differential scripts share about their random programs (lists of steps,
each reading earlier ones): shrinking a finding to a small program, and writing a
step's formula as the glassgrad code the printed reproduction runs."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

P = TypeVar("P", bound=list)


def shrink(
    program: P, found: str, still: Callable[[P], str | None], without: Callable[[P, int], P | None], budget: int
) -> tuple[P, str]:
    """The shortest prefix of ``program`` that ``still`` shows a finding of (its message
    or None), then steps dropped one at a time, latest first, while one still does;
    ``without(program, i)`` is the program without step i (None where it cannot go),
    and ``budget`` bounds the tries of the second phase. Returns the program and its
    finding."""
    for k in range(1, len(program)):
        m = still(program[:k])
        if m:
            program, found = program[:k], m
            break
    changed = True
    while changed and budget > 0:
        changed = False
        for i in reversed(range(len(program))):
            smaller = without(program, i)
            budget -= 1
            m = still(smaller) if smaller else None
            if m:
                program, found, changed = smaller, m, True
                break
    return program, found


def formula_code(formula: str, names: dict[str, str]) -> str:
    """``formula`` over x (or a and b) as glassgrad code over the program's values:
    each call is glassgrad's op of that name, each operand the value ``names`` gives."""
    code = re.sub(r"\b([a-z_]+)\(", r"ops.\1(", formula)
    return re.sub(r"\b[abx]\b", lambda m: names[m[0]], code)
