"""W2 in one process: hand-written NumPy and the traced glassgrad step alternating,
repeat by repeat, with a third contender that updates the parameters through the
``.data`` setter (``w.data -= lr * g``) instead of in place. One process has less
noise than run.py's one per library; the ratios it prints are the median of the
per-repeat ratios and best over best.

    python benchmarks/alternating.py [STEPS_PER_REPEAT] [REPEATS]
"""

from __future__ import annotations

import statistics
import sys
import time

import logistic_adapters
import synthetic_data


class TracedThroughSetter(logistic_adapters.GlassgradTraced):
    """The traced step, updating ``w`` and ``b`` through the ``.data`` setter, which
    records the change for eager graphs that saved them."""

    def sgd_step(self, X, y):  # type: ignore[no-untyped-def]
        _, grads = self.compiled(X, y)
        gw = grads[self.iw]
        gw *= self.lr
        self.w.data -= gw
        self.b.data -= self.lr * grads[self.ib]


def main(steps: int = 2000, repeats: int = 15) -> None:
    X, y = synthetic_data.synthetic_mnist(5000, "float64", 0)
    w0, b0 = synthetic_data.initial_parameters(X.shape[1], "float64", 0)
    libs = {
        "numpy-by-hand": logistic_adapters.NumpyByHand(X, y, w0, b0, 0.1, 64),
        "glassgrad (traced)": logistic_adapters.GlassgradTraced(X, y, w0, b0, 0.1, 64),
        "glassgrad (traced), .data setter": TracedThroughSetter(X, y, w0, b0, 0.1, 64),
    }
    for adapter in libs.values():  # warm-up
        for _ in range(200):
            adapter.step()
    times: dict[str, list[float]] = {name: [] for name in libs}
    names = list(libs)
    for r in range(repeats):
        k = r % len(names)
        for name in names[k:] + names[:k]:  # the order rotates every repeat
            step = libs[name].step
            t0 = time.perf_counter()
            for _ in range(steps):
                step()
            times[name].append((time.perf_counter() - t0) / steps * 1e6)
    ref = times["numpy-by-hand"]
    print(f"W2 in one process, {repeats} repeats of {steps:,} steps; µs per step")
    print("| library | median | best | × numpy (median of ratios) | × numpy (best) |")
    print("|---|---:|---:|---:|---:|")
    for name, t in times.items():
        ratio = statistics.median(a / b for a, b in zip(t, ref))
        print(f"| {name} | {statistics.median(t):.2f} | {min(t):.2f} | {ratio:.3f} | {min(t) / min(ref):.3f} |")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
