"""Two builds of glassgrad timed side by side: the workloads of ``instructions.py``
(W2: 300 minibatch steps, W3: one step of the scalar MLP, W4: a 20,000-link chain),
each build in its own virtualenv, their processes alternating round by round (A, B,
then B, A), so drift on a shared machine hits both alike:

    python benchmarks/before_after.py PYTHON_A PYTHON_B [--rounds 8] [--repeats 5]

Every process runs each workload once untimed (an engine that writes an op's code on
its first call pays for it there), then ``--repeats`` timed runs. Printed: median and
best seconds per build, B over A for the medians, for the best runs, and the median of
the rounds' ratios. Both builds run this same file, so only the engine differs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

WORKLOADS = ("w2", "w3", "w4")


def child(repeats: int) -> None:
    """Time each workload ``repeats`` times after one untimed run; one JSON line."""
    import instructions

    times: dict[str, list[float]] = {}
    for name in WORKLOADS:
        work = instructions.WORKLOADS[name]
        work()
        times[name] = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            work()
            times[name].append(time.perf_counter() - t0)
    print(json.dumps(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("python_a")
    parser.add_argument("python_b")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.repeats)
        return
    pythons = {"A": args.python_a, "B": args.python_b}
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    runs: dict[str, list[dict[str, list[float]]]] = {"A": [], "B": []}
    load = [os.getloadavg()[0]]
    for r in range(args.rounds):
        for build in ("A", "B") if r % 2 == 0 else ("B", "A"):
            out = subprocess.run(
                [pythons[build], __file__, "x", "x", "--child", "--repeats", str(args.repeats)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            runs[build].append(json.loads(out.stdout))
    load.append(os.getloadavg()[0])
    print(
        f"{args.rounds} rounds (A, B alternating), {args.repeats} timed runs per workload per process; "
        f"one OpenBLAS thread; load average {load[0]:.2f} at the start, {load[1]:.2f} at the end"
    )
    print("A:", pythons["A"])
    print("B:", pythons["B"])
    print()
    print(
        "| workload | A median | A best | B median | B best | B / A (medians) | B / A (best) | B / A (rounds' median) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in WORKLOADS:
        a = [t for run in runs["A"] for t in run[name]]
        b = [t for run in runs["B"] for t in run[name]]
        rounds = [statistics.median(rb[name]) / statistics.median(ra[name]) for ra, rb in zip(runs["A"], runs["B"])]
        print(
            f"| {name.upper()} | {statistics.median(a) * 1e3:.2f} ms | {min(a) * 1e3:.2f} ms "
            f"| {statistics.median(b) * 1e3:.2f} ms | {min(b) * 1e3:.2f} ms "
            f"| {statistics.median(b) / statistics.median(a):.3f} | {min(b) / min(a):.3f} "
            f"| {statistics.median(rounds):.3f} |"
        )


if __name__ == "__main__":
    sys.exit(main())
