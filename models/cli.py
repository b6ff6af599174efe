"""The ``glassgrad`` command."""

from __future__ import annotations

import argparse
import sys


def _demo(args: argparse.Namespace) -> int:
    from autograd import Scalar

    a, b = Scalar(2.0, name="a"), Scalar(-3.0, name="b")
    c = (a * b + a**2).tanh()
    c.backward()
    print(f"c = tanh(a·b + a²) = {c.data:.6f};  ∂c/∂a = {a.grad:.6f},  ∂c/∂b = {b.grad:.6f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="glassgrad", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="differentiate a tiny expression").set_defaults(run=_demo)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
