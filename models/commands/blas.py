"""How many threads the math library (BLAS, under NumPy's matrix products) has while a
command runs.

A command's matrices are small (a minibatch of a few hundred digits × 784 pixels, at
most a few thousand hidden units): a product splits into pieces too small to pay for a
second thread, and on a busy machine every product waits for the slowest of its threads.
So a command gives BLAS one thread unless the user asks otherwise: ``--threads N``, or a
thread count set in the environment (``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS``, ...),
which the library reads at start-up and the command then leaves alone.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager

from .options import number

DEFAULT_THREADS = 1
MAX_THREADS = 1024  # BLAS libraries take the count as a C int; far more than any machine's cores
# The variables through which the BLAS libraries NumPy is built with take their thread count.
THREAD_VARIABLES = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)


def add_threads_argument(p: argparse._ActionsContainer) -> None:  # a parser or one of its groups
    p.add_argument(
        "--threads",
        type=number(int, 1, MAX_THREADS),
        metavar="N",
        default=None,
        help=f"threads of the math library (BLAS), 1..{MAX_THREADS} (default {DEFAULT_THREADS}, or the count set in "
        f"{' or '.join(THREAD_VARIABLES[:2])})",
    )


@contextmanager
def blas_threads(threads: int | None) -> Iterator[None]:
    """BLAS limited to ``threads`` threads inside the block, to DEFAULT_THREADS when
    ``threads`` is None, unless the environment sets a count; the previous limit after it."""
    if threads is None and any(os.environ.get(name) for name in THREAD_VARIABLES):
        yield
        return
    import numpy  # noqa: F401  threadpoolctl limits the libraries loaded: NumPy's BLAS must be
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads or DEFAULT_THREADS, user_api="blas"):
        yield
