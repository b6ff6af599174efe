"""Shrinking a differential run's finding to a small program, the same way for every
differential script: a program is a list of steps, each reading earlier ones."""

from __future__ import annotations

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
