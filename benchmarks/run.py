"""Benchmarks of glassgrad side by side with hand-written NumPy and its peers.

    python benchmarks/run.py [--peers-python PYTHON] [--quick] [--out DIR] [--mnist DIR]

Workloads (docs/benchmarks.md tells what each one measures and why):
  W1        logistic regression, full batch, N=5000, float64
  W1-large  the same at N=60000
  W2        the same in minibatches of 64 over N=5000
  W3        micrograd's MLP demo (2-16-16-1, 100 points), one scalar op at a time
  W4        a chain x ← x·a + c of D links, then backward (each run in a child process)
  W5        peak memory of 20 full-batch steps, N=60000 in float32 (child processes)

glassgrad and NumPy run under this interpreter; the peers (PyTorch, HIPS autograd,
MyGrad, JAX, micrograd) under ``--peers-python``, the python of a separate virtualenv
that keeps their dependencies (torch, jax) out of the project's own; glassgrad's import
name is its own, so the two may also share one environment. Every library of W1–W3 lives in its
own child process for the whole workload, and the parent asks them in turn for one
timed repeat, so drift on a noisy machine hits all of them alike. Before timing, each
library's loss, gradients and parameters after a few SGD steps must match the
reference within a relative error of 1e-8, or its row says FAIL. A library that is not
installed is reported as SKIP with the reason. Results go to DIR/benchmarks.json and
DIR/benchmarks.md (written atomically).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from typing import Any

import report

HERE = os.path.dirname(os.path.abspath(__file__))
TOLERANCE = 1e-8
WORKLOADS = ("W1", "W1-large", "W2", "W3", "W4", "W5")
OWN = {
    "numpy-by-hand",
    "glassgrad",
    "numpy-by-hand (vectorized)",
    "glassgrad (Scalar)",
    "glassgrad (traced)",
    "python-floats-by-hand",
    "slotted-objects floor",
}


# ---------------------------------------------------------------------------------------
# Child processes
# ---------------------------------------------------------------------------------------


THREADS: int | None = None  # --threads: the thread count every child's math libraries get


def child_env() -> dict[str, str]:
    """Every child gets the same environment but for the interpreter that runs it
    (glassgrad's is this one, where glassgrad is installed). With ``--threads N`` the
    math libraries (OpenBLAS, MKL, OpenMP for torch, XLA for jax) get N threads."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if THREADS is not None:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(THREADS)
        if THREADS == 1:
            env["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    return env


class Worker:
    """One library of an interleaved workload, in its own process (see worker.py)."""

    def __init__(self, python: str, config: dict[str, Any]):
        # stderr goes to a file: a pipe nobody reads would block a chatty library.
        self.err = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - the worker owns it; close() closes it
        self.proc = subprocess.Popen(
            [python, os.path.join(HERE, "worker.py"), json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.err,
            text=True,
            cwd=HERE,
            env=child_env(),
        )
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            self.proc.wait()
            self.err.seek(0)
            err = self.err.read().strip().splitlines()
            self.hello: dict[str, Any] = {"error": "worker died: " + (err[-1] if err else f"exit {self.proc.wait()}")}
        else:
            self.hello = json.loads(line)

    def time(self, steps: int) -> float:
        """Seconds per step over ``steps`` steps."""
        self.proc.stdin.write(f"time {steps}\n")  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]
        return json.loads(self.proc.stdout.readline())["seconds"] / steps  # type: ignore[union-attr]

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")  # type: ignore[union-attr]
                self.proc.stdin.flush()  # type: ignore[union-attr]
            except BrokenPipeError:
                pass
        self.proc.wait()
        self.err.close()


def run_json_child(python: str, script: str, args: list[str]) -> dict[str, Any]:
    """Run a one-shot child (W4, W5) and parse its one JSON line."""
    proc = subprocess.run(
        [python, os.path.join(HERE, script), *args], capture_output=True, text=True, cwd=HERE, env=child_env()
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        err = proc.stderr.strip().splitlines()
        return {"error": "child died: " + (err[-1] if err else f"exit {proc.returncode}")}
    return json.loads(lines[-1])


# ---------------------------------------------------------------------------------------
# The cross-library check
# ---------------------------------------------------------------------------------------


def rel_error(a: list[float] | float, ref: list[float] | float) -> float:
    """max |a − ref| / max |ref| (a norm-wise relative error; inf on a length mismatch)."""
    a_, r_ = (a, ref) if isinstance(a, list) else ([a], [ref])  # type: ignore[list-item]
    if len(a_) != len(r_):
        return math.inf
    scale = max((abs(v) for v in r_), default=0.0) or 1.0
    return max((abs(x - y) for x, y in zip(a_, r_)), default=0.0) / scale


def check_against(hello: dict[str, Any], ref: dict[str, Any] | None) -> tuple[bool, str]:
    if ref is None:
        return False, "no reference ran"
    if rel_error(hello["fingerprint"], ref["fingerprint"]) > 1e-12:
        return False, "FAIL (different data: the two numpy versions built other arrays)"
    errs = {k: rel_error(hello["check"][k], ref["check"][k]) for k in ("loss", "grad", "params")}
    worst = max(errs.values())
    if not worst <= TOLERANCE:
        which = max(errs, key=errs.get)  # type: ignore[arg-type]
        return False, f"FAIL ({which} rel err {worst:.1e})"
    return True, f"OK (max rel {worst:.0e})"


# ---------------------------------------------------------------------------------------
# Workloads
# ---------------------------------------------------------------------------------------


def steal_ticks() -> tuple[int, int]:
    """(steal, total) CPU ticks of the machine so far, from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        return fields[7], sum(fields[:8])
    except (OSError, IndexError, ValueError):
        return 0, 0


def interleaved(
    config: dict[str, Any], libs: dict[str, str], modules: dict[str, str], args: argparse.Namespace, reference: str
) -> dict[str, Any]:
    """Start one worker per library, check them against ``reference``, then time
    ``args.repeats`` rounds, each library once per round (order rotated every round)."""
    out: dict[str, Any] = {}
    workers: dict[str, Worker] = {}
    try:
        for lib, python in libs.items():
            w = Worker(python, {**config, "lib": lib, "module": modules[lib]})
            h = w.hello
            if "skip" in h or "error" in h:
                out[lib] = {"skip": h["skip"]} if "skip" in h else {"check": f"FAIL ({h['error']})", "check_ok": False}
                w.close()
                continue
            workers[lib] = w
            out[lib] = {"version": h["version"], "python": h["python"]}
        ref = workers[reference].hello if reference in workers else None
        for lib, w in workers.items():
            ok, text = check_against(w.hello, ref)
            out[lib].update(check_ok=ok, check=text)
        timed = [lib for lib in workers if out[lib]["check_ok"]]
        steps = {}
        for lib in timed:
            workers[lib].time(1)  # warm-up (jit compilation, caches)
            per_step = workers[lib].time(1)
            steps[lib] = max(1, round(args.repeat_seconds / per_step))
        times: dict[str, list[float]] = {lib: [] for lib in timed}
        for r in range(args.repeats):
            k = r % max(1, len(timed))
            for lib in timed[k:] + timed[:k]:
                times[lib].append(workers[lib].time(steps[lib]))
        for lib in timed:
            out[lib].update(stats=report.summarize(times[lib]), times=times[lib], steps_per_repeat=steps[lib])
    finally:
        for w in workers.values():
            w.close()
    return out


def logistic_workload(n: int, batch: int | None, args: argparse.Namespace) -> dict[str, Any]:
    import logistic_adapters

    libs = {lib: (sys.executable if lib in OWN else args.peers_python) for lib in logistic_adapters.ADAPTERS}
    libs = {k: v for k, v in libs.items() if v and wanted(k, args)} | skipped_peers(logistic_adapters.ADAPTERS, args)
    config = {
        "workload": "logistic",
        "n": n,
        "dtype": "float64",
        "batch": batch,
        "seed": args.seed,
        "lr": 0.1,
        "mnist": args.mnist,
    }
    kind = "full batch" if batch is None else f"minibatch {batch}"
    title = f"logistic regression, {kind}, N={n:,}, float64"
    return {
        "kind": "timing",
        "title": title,
        "config": config,
        "ratios_to": ["numpy-by-hand"],
        "libraries": run_with_skips(config, libs, logistic_adapters.MODULES, args, "numpy-by-hand"),
    }


def skipped_peers(adapters: dict[str, Any], args: argparse.Namespace) -> dict[str, str]:
    """Peers to report as SKIP because no peers python was given."""
    if args.peers_python:
        return {}
    return {lib: "" for lib in adapters if lib not in OWN and wanted(lib, args)}


def run_with_skips(
    config: dict[str, Any], libs: dict[str, str], modules: dict[str, str], args: argparse.Namespace, reference: str
) -> dict[str, Any]:
    runnable = {lib: py for lib, py in libs.items() if py}
    out = interleaved(config, runnable, modules, args, reference)
    for lib, py in libs.items():
        if not py:
            out[lib] = {"skip": "peer: no --peers-python given"}
    return {lib: out[lib] for lib in libs}


def mlp_workload(args: argparse.Namespace) -> dict[str, Any]:
    import mlp_demo

    libs = {lib: (sys.executable if lib in OWN else args.peers_python) for lib in mlp_demo.ADAPTERS}
    libs = {k: v for k, v in libs.items() if v and wanted(k, args)} | skipped_peers(mlp_demo.ADAPTERS, args)
    n = 20 if args.quick else 100
    config = {"workload": "mlp", "n": n, "seed": args.seed}
    ref = "numpy-by-hand (vectorized)"
    return {
        "kind": "timing",
        "title": f"micrograd's MLP demo 2-16-16-1, {n} points, scalar ops",
        "config": config,
        "ratios_to": [ref, "micrograd"],
        "libraries": run_with_skips(config, libs, mlp_demo.MODULES, args, ref),
        "notes": ["× micrograd below 1 means faster than micrograd: 0.10 is ten times faster."],
    }


def chain_workload(args: argparse.Namespace) -> dict[str, Any]:
    import deep_chain

    depths = [100, 1000] if args.quick else [100, 1000, 10_000, 100_000, 1_000_000]
    libs = [lib for lib in deep_chain.LIBS if wanted(lib, args)]
    runs, failed_at, ref_grads = [], {}, {}
    for depth in depths:
        repeats = 1 if depth >= 1_000_000 else 3 if depth >= 100_000 else 5
        for lib in libs:
            row: dict[str, Any] = {"lib": lib, "depth": depth}
            python = sys.executable if lib in OWN else args.peers_python
            if not python:
                row.update(result="SKIP: peer: no --peers-python given")
            elif lib in failed_at:
                row.update(result=f"not run: {failed_at[lib]}")
            else:
                r = run_json_child(python, "deep_chain.py", [lib, str(depth), str(repeats)])
                row.update(r)
                if "skip" in r:
                    row["result"] = f"SKIP: {r['skip']}"
                    failed_at[lib] = "SKIP"
                elif "error" in r:
                    row["result"] = f"FAIL: {r['error'][:90]}"
                    failed_at[lib] = f"{r['error'].split(':')[0]} already at D={depth:,}"
                else:
                    if lib == "python-floats-by-hand":
                        ref_grads[depth] = r["grads"]
                    err = rel_error(r["grads"], ref_grads[depth]) if depth in ref_grads else math.nan
                    ok = err <= TOLERANCE
                    total = [f + b for f, b in zip(r["fwd"], r["bwd"])]
                    row["ns_per_op"] = sorted(total)[len(total) // 2] / (2 * depth) * 1e9
                    row["bytes_per_op"] = (r["peak"] - r["rss_before"]) / (2 * depth)
                    row["result"] = f"ok (grad rel err {err:.0e})" if ok else f"FAIL (grad rel err {err:.1e})"
            runs.append(row)
            print(f"  W4 {lib} D={depth:,}: {row['result']}", file=sys.stderr, flush=True)
    return {
        "kind": "chain",
        "title": "chain x ← x·a + c of D links (2 ops each), then backward",
        "runs": runs,
        "notes": [
            "ns/op is the median over the repeats (5 up to D=1e4, 3 at 1e5, 1 at 1e6) of forward + "
            "backward time over 2·D; bytes/op is (peak RSS − RSS before the chain) / (2·D). "
            "Python's garbage collector is on, as users run it; 'of which in GC' is the time its "
            "collections took (timed with gc.callbacks) per op, 'full GCs' how many walked every "
            "live object. The slotted-objects floor is the least any engine with one Python object "
            "per op can cost: no dispatch, no checks, a tape and one reverse sweep."
        ],
    }


def memory_workload(args: argparse.Namespace) -> dict[str, Any]:
    import logistic_adapters

    n = 2000 if args.quick else 60_000
    out = {}
    for lib in logistic_adapters.ADAPTERS:
        if not wanted(lib, args):
            continue
        python = sys.executable if lib in OWN else args.peers_python
        if not python:
            out[lib] = {"skip": "peer: no --peers-python given"}
            continue
        config = {
            "lib": lib,
            "module": logistic_adapters.MODULES[lib],
            "n": n,
            "seed": args.seed,
            "lr": 0.1,
            "mnist": args.mnist,
        }
        out[lib] = run_json_child(python, "peak_memory.py", [json.dumps(config)])
        print(f"  W5 {lib}: done", file=sys.stderr, flush=True)
    return {
        "kind": "memory",
        "title": f"peak memory, 20 full-batch steps, N={n:,}, float32",
        "libraries": out,
        "notes": [
            "Each library in a fresh process; the peak watermark is reset just before the 20 steps "
            "(after one untimed step)."
        ],
    }


def wanted(lib: str, args: argparse.Namespace) -> bool:
    return lib in OWN or not args.quick


# ---------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "?")
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def display_command(args: argparse.Namespace) -> str:
    """The command line, with machine paths replaced by names (for the report)."""
    parts = ["python benchmarks/run.py"]
    if args.peers_python:
        parts.append("--peers-python $PEERS_PYTHON")
    if args.quick:
        parts.append("--quick")
    if args.mnist:
        parts.append("--mnist $MNIST_DIR")
    if args.workloads != list(WORKLOADS):
        parts.append("--workloads " + " ".join(args.workloads))
    if args.repeats != 9:
        parts.append(f"--repeats {args.repeats}")
    if args.threads is not None:
        parts.append(f"--threads {args.threads}")
    return " ".join(parts)


def write_atomic(path: str, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--peers-python", help="python of the virtualenv that holds the peers (torch, autograd, ...)")
    p.add_argument("--quick", action="store_true", help="seconds-long smoke run: glassgrad and numpy only, tiny sizes")
    p.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=WORKLOADS)
    p.add_argument("--repeats", type=int, default=9, help="timed repeats per library (default 9)")
    p.add_argument("--repeat-seconds", type=float, default=0.2, help="target length of one repeat (default 0.2)")
    p.add_argument("--threads", type=int, help="threads for every library's math (default: each library's own)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mnist", help="directory with MNIST's IDX files, instead of synthetic data")
    p.add_argument("--out", default=os.path.join(HERE, "results"), help="where to write benchmarks.json and .md")
    args = p.parse_args(argv)
    if args.quick:
        args.repeats, args.repeat_seconds = min(args.repeats, 3), 0.02
    if args.peers_python and not os.path.exists(args.peers_python):
        p.error(
            f"--peers-python {args.peers_python}: no such file; create the peers virtualenv first (docs/benchmarks.md)"
        )
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    global THREADS
    args = parse_args(argv)
    THREADS = args.threads
    quick = args.quick
    plans = {
        "W1": lambda: logistic_workload(500 if quick else 5000, None, args),
        "W1-large": lambda: logistic_workload(2000 if quick else 60_000, None, args),
        "W2": lambda: logistic_workload(500 if quick else 5000, 64, args),
        "W3": lambda: mlp_workload(args),
        "W4": lambda: chain_workload(args),
        "W5": lambda: memory_workload(args),
    }
    run: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "command": display_command(args),
        "quick": args.quick,
        "threads": args.threads,
        "repeats": args.repeats,
        "repeat_seconds": args.repeat_seconds,
        "workloads": {},
    }
    steal0 = steal_ticks()
    t0 = time.perf_counter()
    for key in args.workloads:
        s0, w0 = steal_ticks(), time.perf_counter()
        print(f"{key} ...", file=sys.stderr, flush=True)
        result = plans[key]()
        s1 = steal_ticks()
        result["steal"] = f"{100 * (s1[0] - s0[0]) / max(1, s1[1] - s0[1]):.0f} %"
        result["seconds"] = round(time.perf_counter() - w0, 1)
        result["title"] += f" (steal {result['steal']}, {result['seconds']} s)"
        run["workloads"][key] = result
    if "W2" in args.workloads and not args.quick:
        print("profile of glassgrad's W2 step ...", file=sys.stderr, flush=True)
        proc = subprocess.run(
            [sys.executable, os.path.join(HERE, "profiles.py"), str(args.seed)],
            capture_output=True,
            text=True,
            cwd=HERE,
            env=child_env(),
        )
        run["profile_w2"] = proc.stdout.strip() or f"profile failed: {proc.stderr.strip()[-300:]}"
    s1 = steal_ticks()
    run["steal"] = f"{100 * (s1[0] - steal0[0]) / max(1, s1[1] - steal0[1]):.0f} %"
    run["seconds"] = round(time.perf_counter() - t0, 1)
    os.makedirs(args.out, exist_ok=True)
    md = report.markdown(run)
    write_atomic(os.path.join(args.out, "benchmarks.json"), json.dumps(run, indent=1))
    write_atomic(os.path.join(args.out, "benchmarks.md"), md)
    report.bar_chart(run, os.path.join(args.out, "benchmarks.png"))
    print(md)
    return run


if __name__ == "__main__":
    main()
