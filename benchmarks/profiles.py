"""Where glassgrad's time goes on W2 (minibatch logistic regression): cProfile of the
training step, printed as Markdown. Run by run.py (or ``python profiles.py``) with
glassgrad importable; the profile explains the distance to hand-written NumPy.

cProfile's own cost per Python call inflates the engine's share, so the table is
read for *where* the time goes, and the timed workloads for *how much*.
"""

from __future__ import annotations

import cProfile
import pstats
import sys

import logistic_adapters
import synthetic_data

STEPS = 3000


def profile_minibatch(seed: int = 0, top: int = 14) -> str:
    X, y = synthetic_data.synthetic_mnist(5000, "float64", seed)
    w0, b0 = synthetic_data.initial_parameters(X.shape[1], "float64", seed)
    adapter = logistic_adapters.Glassgrad(X, y, w0, b0, 0.1, 64)
    for _ in range(100):
        adapter.step()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(STEPS):
        adapter.step()
    prof.disable()
    stats = pstats.Stats(prof)
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = [
        f"cProfile of {STEPS:,} glassgrad W2 steps ({total / STEPS * 1e6:.0f} µs per step under the profiler), "
        f"top {top} by own time:",
        "",
        "| function | calls per step | own µs per step | share |",
        "|---|---:|---:|---:|",
    ]
    entries = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)  # type: ignore[attr-defined]
    for (file, line, name), (_, ncalls, tottime, _, _) in entries[:top]:
        where = name if file == "~" else f"{file.split('/')[-2]}/{file.split('/')[-1]}:{line} {name}"
        rows.append(f"| `{where}` | {ncalls / STEPS:.0f} | {tottime / STEPS * 1e6:.1f} | {tottime / total:.0%} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(profile_minibatch(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
