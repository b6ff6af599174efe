"""The explorer at a thousand values: how long the page takes to make, and what a step
costs in the browser.

Run as ``python benchmarks/explorer.py`` (needs graphviz's ``dot``, and for the browser
part Chromium, chromium-driver and selenium). It builds ``scalar_network()`` (a
2-16-16-1 network of Scalars, about a thousand values) and prints

* the seconds ``dot`` and the rest of ``explore(...).html()`` take, and the page's size;
  for comparison, the seconds of ``draw(view="backward").svg()`` (full edge labels);
* in headless Chromium: the longest frame while the page loads, and, over 40 single
  steps, the renderer's CPU milliseconds per step (read from /proc, so Linux only) and
  the longest and median gaps between animation frames.

Frame gaps are wall-clock time: on a busy machine they measure the other processes
too, which is why the load average is printed with them; CPU time per step does not
depend on the load.
"""

from __future__ import annotations

import glob
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the browser tests' headless Chromium and frame probes

import browser  # noqa: E402
from glassgrad.models.graphs import scalar_network  # noqa: E402
from glassgrad.viz import draw, explore  # noqa: E402

STEPS = 40


def renderer_cpu_seconds() -> float:
    """CPU seconds used so far by the renderer processes of the test browser."""
    total = 0.0
    for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(cmdline, "rb") as f:
                args = f.read()
            if b"glassgrad-chromium" not in args or b"--type=renderer" not in args:
                continue
            with open(cmdline.replace("cmdline", "stat")) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def main() -> int:
    root = scalar_network()
    t0 = time.perf_counter()
    explorer = explore(root, max_nodes=None)
    page = explorer.html()
    t1 = time.perf_counter()
    spec, steps = explorer.spec, explorer.walkthrough.steps
    print(f"values {len(spec.order)}, boxes {spec.box_count()}, steps {len(steps) - 1}")
    print(f"explore(...).html(): {t1 - t0:.2f} s, page {len(page.encode()) / 1e6:.2f} MB")
    t0 = time.perf_counter()
    draw(root, view="backward", max_nodes=None).svg()
    print(f"draw(view='backward').svg() of the same graph: {time.perf_counter() - t0:.2f} s")
    reason = browser.missing()
    if reason:
        print(f"no browser measurements: {reason}")
        return 0
    with tempfile.TemporaryDirectory() as folder, browser.chromium() as driver:
        path = explorer.save(Path(folder) / "big.html")
        driver.set_script_timeout(120)
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": browser.FRAME_PROBE})
        browser.open_page(driver, path)
        loading = driver.execute_async_script(browser.NEXT_FRAMES)
        cpu0 = renderer_cpu_seconds()
        gaps = driver.execute_async_script(browser.PRESS_IN_FRAMES, ["ArrowRight"] * STEPS)
        cpu = (renderer_cpu_seconds() - cpu0) * 1000 / STEPS
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} cores")
    print(f"longest frame while loading: {max(loading):.0f} ms")
    print(
        f"{STEPS} single steps: renderer CPU {cpu:.1f} ms per step; frame gaps longest {max(gaps):.0f} ms, "
        f"median {sorted(gaps)[len(gaps) // 2]:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
