"""W5 child: peak resident memory of 20 full-batch SGD steps on float32 data.

Run as ``python peak_memory.py '<json config>'``; prints one JSON line with the
resident size after importing the library, after building the data, after the
adapter's setup, and the peak during the steps (the peak is reset just before them).
An engine that keeps float32 end to end and never copies X adds almost nothing.
"""

from __future__ import annotations

import json
import sys
import time
import traceback

import numpy as np
import procmem
import worker

STEPS = 20


def main() -> None:
    config = json.loads(sys.argv[1])
    reason = worker.unavailable(config["lib"], config["module"])
    if reason:
        print(json.dumps({"skip": reason}))
        return
    import logistic_adapters
    import synthetic_data

    try:
        after_import = procmem.rss_bytes()
        X, y = synthetic_data.load(config["n"], "float32", config["seed"], config.get("mnist"))
        w0, b0 = synthetic_data.initial_parameters(X.shape[1], "float32", config["seed"])
        after_data = procmem.rss_bytes()
        adapter = logistic_adapters.ADAPTERS[config["lib"]](X, y, w0, b0, config["lr"], None)
        adapter.step()  # first step outside the window: lazy initialisation, compilation
        after_setup = procmem.rss_bytes()
        peak_reset = procmem.reset_peak()
        t0 = time.perf_counter()
        for _ in range(STEPS):
            adapter.step()
        seconds = time.perf_counter() - t0
        peak = procmem.peak_bytes()
        w, _ = adapter.params()  # float64 copies, for the finiteness check only
        out = {
            "after_import": after_import,
            "after_data": after_data,
            "after_setup": after_setup,
            "peak": peak,
            "peak_reset": peak_reset,
            "seconds": seconds,
            "data_bytes": X.nbytes + y.nbytes,
            "weights_dtype": str(getattr(adapter.w, "dtype", "?")).replace("torch.", ""),
            "finite": bool(np.isfinite(w).all()),
        }
    except Exception as exc:
        out = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
