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
                cells += [ratio(s["median"], rs and ok_ref and rs["median"]), ratio(s["min"], rs and ok_ref and rs["min"])]
        else:
            cells += ["FAIL"] * 3 + ["FAIL"] * (2 * len(refs))
        cells.append(r.get("check", "—"))
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def chain_table(result: dict[str, Any]) -> str:
    """W4: one row per (library, depth)."""
    rows = [
        "| library | D | forward | backward | ns/op (fwd+bwd) | peak RSS | bytes/op | result |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in result["runs"]:
        if "fwd" in r and r["fwd"] and "error" not in r:
            fwd, bwd = statistics.median(r["fwd"]), statistics.median(r["bwd"])
            rows.append(
                f"| {r['lib']} | {r['depth']:,} | {fwd:.3f} s | {bwd:.3f} s | {r['ns_per_op']:,.0f} | "
                f"{fmt_mib(r['peak'])} | {r['bytes_per_op']:,.0f} | {r['result']} |"
            )
        else:
            rows.append(f"| {r['lib']} | {r['depth']:,} | — | — | — | {fmt_mib(r.get('peak'))} | — | {r['result']} |")
    return "\n".join(rows)


def memory_table(result: dict[str, Any]) -> str:
    """W5: resident memory at each stage, one row per library."""
    rows = [
        "| library | after import | + data | + setup | peak in 20 steps | peak − data | peak − setup | 20 steps |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for lib, r in result["libraries"].items():
        if "skip" in r:
            rows.append(f"| {lib} | SKIP: {r['skip']} | | | | | | |")
        elif "error" in r:
            rows.append(f"| {lib} | FAIL: {r['error']} | | | | | | |")
        else:
            rows.append(
                f"| {lib} | {fmt_mib(r['after_import'])} | {fmt_mib(r['after_data'])} | {fmt_mib(r['after_setup'])} | "
                f"{fmt_mib(r['peak'])} | {fmt_mib(r['peak'] - r['after_data'], True)} | "
                f"{fmt_mib(r['peak'] - r['after_setup'], True)} | {r['seconds']:.2f} s |"
            )
    return "\n".join(rows)


def markdown(run: dict[str, Any]) -> str:
    """The whole run as Markdown: header (date, machine, versions, command), then one table per workload."""
    m = run["machine"]
    lines = [
        f"Run of {run['date']} on {m['cpus']} CPUs ({m['cpu_model']}), Linux {m['kernel']}, "
        f"Python {m['python']}; command: `{run['command']}`; "
        f"{run['repeats']} interleaved repeats of about {run['repeat_seconds']} s each; "
        f"CPU steal during the run: {run.get('steal', '?')}.",
        "",
    ]
    for key, result in run["workloads"].items():
        lines += [f"### {key}: {result['title']}", ""]
        kind = result["kind"]
        table = {"timing": timing_table, "chain": chain_table, "memory": memory_table}[kind](result)
        lines += [table, ""]
        for note in result.get("notes", []):
            lines += [f"- {note}"]
        if result.get("notes"):
            lines.append("")
    return "\n".join(lines)
