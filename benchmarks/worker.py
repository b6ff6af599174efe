"""A child process that holds one library's adapter for W1, W2 or W3 and times it on
request, so the parent can interleave the repeats of every library.

Started as ``python worker.py '<json config>'``. It prints one JSON line, either
``{"skip": reason}`` or ``{"ready": ..., "check": ...}`` (loss, gradients and the
parameters after a few SGD steps, for the cross-library check), then answers each
``time N`` line on stdin with ``{"seconds": t}`` for N steps, until ``quit``.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import traceback

CHECK_STEPS = 3


def library_version(module: str) -> str:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:
        return getattr(sys.modules.get(module), "__version__", "?")


def unavailable(lib: str, module: str) -> str | None:
    """Why ``lib`` cannot run in this interpreter, or None when it can."""
    try:
        importlib.import_module(module)
    except ImportError as exc:
        return f"{module} is not installed for {sys.executable} ({exc.__class__.__name__}: {exc})"
    return None


def build(config: dict):  # type: ignore[no-untyped-def]
    """The adapter and the check data (loss, gradients, parameters after a few steps)."""
    if config["workload"] == "mlp":
        import mlp_demo

        X, y = mlp_demo.make_moons(config["n"], seed=config["seed"])
        adapter = mlp_demo.ADAPTERS[config["lib"]](X, y, mlp_demo.initial_parameters(config["seed"]))
        loss, grad = adapter.value_and_grad()
        fingerprint = [float(X.sum()), float(y.sum())]
    else:
        import logistic_adapters
        import numpy as np
        import synthetic_data

        X, y = synthetic_data.load(config["n"], config["dtype"], config["seed"], config.get("mnist"))
        w0, b0 = synthetic_data.initial_parameters(X.shape[1], config["dtype"], config["seed"])
        fingerprint = synthetic_data.fingerprint(X, y)
        adapter = logistic_adapters.ADAPTERS[config["lib"]](X, y, w0, b0, config["lr"], config.get("batch"))
        del X, y  # the adapter keeps what it needs
        loss, gw, gb = adapter.value_and_grad(0)
        grad = np.concatenate([gw, [gb]])
    for _ in range(CHECK_STEPS):
        adapter.step()
    params = adapter.params()
    if isinstance(params, tuple):
        import numpy as np

        params = np.concatenate([params[0], [params[1]]])
    check = {"loss": float(loss), "grad": [float(v) for v in grad], "params": [float(v) for v in params]}
    return adapter, check, fingerprint


def main() -> None:
    config = json.loads(sys.argv[1])
    out = sys.stdout
    sys.stdout = sys.stderr  # libraries that print must not break the protocol

    def send(msg: dict) -> None:
        out.write(json.dumps(msg) + "\n")
        out.flush()

    reason = unavailable(config["lib"], config["module"])
    if reason:
        send({"skip": reason})
        return
    try:
        adapter, check, fingerprint = build(config)
    except Exception as exc:
        send({"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()})
        return
    send(
        {
            "ready": True,
            "check": check,
            "fingerprint": fingerprint,
            "version": library_version(config["module"]),
            "python": sys.version.split()[0],
        }
    )
    step = adapter.step
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        n = int(cmd[1])
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        send({"seconds": time.perf_counter() - t0})


if __name__ == "__main__":
    main()
