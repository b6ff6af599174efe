"""Statistics and Markdown tables of a benchmark run.

Ratios are time per step over the reference's time per step (lower is faster): the
median ratio divides medians; the best ratio divides each side's fastest repeat, which
moves much less than the median on a noisy machine.
"""

from __future__ import annotations

import statistics
from typing import Any

MIB = 1024 * 1024


def summarize(times: list[float]) -> dict[str, float]:
    """Median, min and max of per-step times (seconds)."""
    return {"median": statistics.median(times), "min": min(times), "max": max(times)}


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.2f} {unit}"
    return f"{seconds / 1e-9:.0f} ns"


def fmt_mib(nbytes: float | None, sign: bool = False) -> str:
    if nbytes is None:
        return "—"
    return f"{nbytes / MIB:+,.0f} MiB" if sign else f"{nbytes / MIB:,.0f} MiB"


def ratio(a: float | None, b: float | None) -> str:
    return "—" if a is None or not b else f"{a / b:.2f}"


def timing_table(result: dict[str, Any]) -> str:
    """One row per library of an interleaved workload (W1, W1-large, W2, W3)."""
    refs = result["ratios_to"]
    head = ["library", "version", "time/step median", "min", "max"]
    for ref in refs:
        head += [f"× {ref} (median)", f"× {ref} (best)"]
    head.append("check")
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * 2 + "---:|" * (3 + 2 * len(refs)) + "---|"]
    for lib, r in result["libraries"].items():
        if "skip" in r:
            rows.append(f"| {lib} | — | SKIP: {r['skip']} |" + " |" * (2 + 2 * len(refs)) + " |")
            continue
        ok = r.get("check_ok", False)
        s = r.get("stats")
        cells = [lib, r.get("version", "?")]
        if s and ok:
            cells += [fmt_time(s["median"]), fmt_time(s["min"]), fmt_time(s["max"])]
            for ref in refs:
                rs = result["libraries"].get(ref, {}).get("stats")
                ok_ref = result["libraries"].get(ref, {}).get("check_ok", False)
                cells += [
                    ratio(s["median"], rs and ok_ref and rs["median"]),
                    ratio(s["min"], rs and ok_ref and rs["min"]),
                ]
        else:
            cells += ["FAIL"] * 3 + ["FAIL"] * (2 * len(refs))
        cells.append(r.get("check", "—"))
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def chain_table(result: dict[str, Any]) -> str:
    """W4: one row per (library, depth)."""
    rows = [
        "| library | D | forward | backward | ns/op (fwd+bwd) | of which in GC | full GCs | peak RSS | bytes/op "
        "| result |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in result["runs"]:
        if "fwd" in r and r["fwd"] and "error" not in r:
            fwd, bwd = statistics.median(r["fwd"]), statistics.median(r["bwd"])
            gc_ns = statistics.median(r["gc"]) / (2 * r["depth"]) * 1e9
            rows.append(
                f"| {r['lib']} | {r['depth']:,} | {fwd:.3f} s | {bwd:.3f} s | {r['ns_per_op']:,.0f} | {gc_ns:,.0f} | "
                f"{statistics.median(r['gc_full']):.0f} | {fmt_mib(r['peak'])} | {r['bytes_per_op']:,.0f} | "
                f"{r['result']} |"
            )
        else:
            rows.append(
                f"| {r['lib']} | {r['depth']:,} | — | — | — | — | — | {fmt_mib(r.get('peak'))} | — | {r['result']} |"
            )
    return "\n".join(rows)


def memory_table(result: dict[str, Any]) -> str:
    """W5: resident memory at each stage, one row per library."""
    rows = [
        "| library | after import | + data | + setup | peak in 20 steps | peak − data | peak − setup | 20 steps "
        "| weights |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for lib, r in result["libraries"].items():
        if "skip" in r:
            rows.append(f"| {lib} | SKIP: {r['skip']} | | | | | | | |")
        elif "error" in r or not r.get("finite", True):
            rows.append(f"| {lib} | FAIL: {r.get('error', 'weights not finite after 20 steps')} | | | | | | | |")
        else:
            rows.append(
                f"| {lib} | {fmt_mib(r['after_import'])} | {fmt_mib(r['after_data'])} | {fmt_mib(r['after_setup'])} | "
                f"{fmt_mib(r['peak'])} | {fmt_mib(r['peak'] - r['after_data'], True)} | "
                f"{fmt_mib(r['peak'] - r['after_setup'], True)} | {r['seconds']:.2f} s | "
                f"{r.get('weights_dtype', '?')} |"
            )
    return "\n".join(rows)


def _best_ratio(result: dict[str, Any], lib: str, ref: str) -> tuple[float, float] | None:
    """(best-over-best, median-over-median) time ratio of lib to ref, if both ran and checked OK."""
    libs = result["libraries"]
    a, b = libs.get(lib, {}), libs.get(ref, {})
    if not (a.get("check_ok") and b.get("check_ok") and "stats" in a and "stats" in b):
        return None
    return a["stats"]["min"] / b["stats"]["min"], a["stats"]["median"] / b["stats"]["median"]


def targets_table(run: dict[str, Any]) -> str:
    """glassgrad's targets, judged on this run (ratios: best repeat over best repeat)."""
    w = run["workloads"]
    rows = ["| target | goal | this run | met? |", "|---|---|---|---|"]

    def ratio_row(key: str, lib: str, goal: float, label: str) -> None:
        r = _best_ratio(w[key], lib, "numpy-by-hand") if key in w else None
        if r is None:
            rows.append(f"| {label} | ≤ {goal:.2f}× numpy | not measured | — |")
        else:
            rows.append(
                f"| {label} | ≤ {goal:.2f}× numpy | {r[0]:.2f}× (median {r[1]:.2f}×) | "
                f"{'met' if r[0] <= goal else 'not met'} |"
            )

    def faster_row(lib: str, goal: float, label: str) -> None:
        r = _best_ratio(w["W3"], "micrograd", lib)
        if r is None:
            rows.append(f"| {label} | ≥ {goal:.0f}× faster than micrograd | not measured | — |")
        else:
            rows.append(
                f"| {label} | ≥ {goal:.0f}× faster than micrograd | {r[0]:.1f}× faster (median {r[1]:.1f}×), "
                f"gradients checked | {'met' if r[0] >= goal else 'not met'} |"
            )

    ratio_row("W1", "glassgrad", 1.10, "W1 full batch, N=5,000")
    ratio_row("W1-large", "glassgrad", 1.03, "W1-large, N=60,000")
    ratio_row("W2", "glassgrad", 1.25, "W2 minibatch 64, eager")
    ratio_row("W2", "glassgrad (traced)", 1.05, "W2 minibatch 64, traced")
    if "W3" in w:
        faster_row("glassgrad (Scalar)", 20, "W3 micrograd's demo, eager")
        faster_row("glassgrad (traced)", 100, "W3 micrograd's demo, traced")
    if "W4" in w:
        mine = [r for r in w["W4"]["runs"] if r["lib"].startswith("glassgrad")]
        all_ok = bool(mine) and all(r["result"].startswith("ok") for r in mine)
        deepest = max(mine, key=lambda r: r["depth"]) if mine else None
        if deepest and "ns_per_op" in deepest:
            bpo = ", ".join(f"{r['bytes_per_op']:,.0f}" for r in mine if "bytes_per_op" in r)
            rows.append(
                f"| W4 every depth runs | up to D = 1e6 | {'all ran' if all_ok else 'FAILED'} up to "
                f"D = {deepest['depth']:,} | {'met' if all_ok and deepest['depth'] >= 1_000_000 else 'not met'} |"
            )
            rows.append(
                f"| W4 time at the deepest D | ≤ 1,000 ns/op (fwd+bwd) | {deepest['ns_per_op']:,.0f} ns/op | "
                f"{'met' if deepest['ns_per_op'] <= 1000 else 'not met'} |"
            )
            rows.append(f"| W4 memory | linear in D | {bpo} bytes/op over the depths | see table |")
    if "W5" in w:
        m = w["W5"]["libraries"].get("glassgrad", {})
        if "peak" in m:
            extra = (m["peak"] - m["after_data"]) / MIB
            rows.append(
                f"| W5 peak memory over the data | ≤ +15 MiB (float32) | {extra:+.0f} MiB | "
                f"{'met' if extra <= 15 else 'not met'} |"
            )
    return "\n".join(rows)


def bar_chart(run: dict[str, Any], path: str) -> None:
    """Time per step relative to numpy by hand, per workload and library (best repeats),
    as a horizontal bar chart with a line at 1 (numpy's own time)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows: list[tuple[str, str, float]] = []
    for key, result in run["workloads"].items():
        if result.get("kind") != "timing":
            continue
        ref = result["ratios_to"][0]
        for lib in result["libraries"]:
            r = _best_ratio(result, lib, ref)
            if r is not None and lib != ref:
                rows.append((key, lib, r[0]))
    if not rows:
        return
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(rows) + 1.2))
    labels = [f"{key}  {lib}" for key, lib, _ in rows]
    colors = ["tab:orange" if lib.startswith("glassgrad") else "tab:gray" for _, lib, _ in rows]
    ax.barh(range(len(rows)), [r for *_, r in rows], color=colors)
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xlabel("time per step ÷ numpy by hand (log scale; lower is faster)")
    ax.set_title(f"glassgrad and its peers, {run['date']}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def markdown(run: dict[str, Any]) -> str:
    """The whole run as Markdown: header (date, machine, versions, command), then one table per workload."""
    m = run["machine"]
    lines = [
        f"Run of {run['date']} on {m['cpus']} CPUs ({m['cpu_model']}), Linux {m['kernel']}, "
        f"Python {m['python']}; command: `{run['command']}`; "
        f"{run['repeats']} interleaved repeats of about {run['repeat_seconds']} s each; "
        f"math threads: {run.get('threads') or 'each library’s default'}; "
        f"CPU steal during the run: {run.get('steal', '?')}.",
        "",
    ]
    if not run.get("quick"):  # the targets speak of the full sizes
        lines += ["### glassgrad's targets", "", targets_table(run), ""]
    for key, result in run["workloads"].items():
        lines += [f"### {key}: {result['title']}", ""]
        kind = result["kind"]
        table = {"timing": timing_table, "chain": chain_table, "memory": memory_table}[kind](result)
        lines += [table, ""]
        for note in result.get("notes", []):
            lines += [f"- {note}"]
        if result.get("notes"):
            lines.append("")
    if "profile_w2" in run:
        lines += ["### Where glassgrad's W2 step spends its time", "", run["profile_w2"], ""]
    return "\n".join(lines)
