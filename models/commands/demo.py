"""glassgrad demo: differentiate a tiny expression with the Scalar engine."""

from __future__ import annotations

import argparse

HELP = "differentiate a tiny expression"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``demo`` takes no options."""


def run(args: argparse.Namespace) -> int:
    from glassgrad import Scalar

    a, b = Scalar(2.0, name="a"), Scalar(-3.0, name="b")
    c = (a * b + a**2).tanh()
    c.backward()
    print(f"c = tanh(a·b + a²) = {c.data:.6f};  ∂c/∂a = {a.grad:.6f},  ∂c/∂b = {b.grad:.6f}")
    return 0
