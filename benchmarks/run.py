"""Side-by-side timing: chainrule, PyTorch eager and a plain NumPy reference, in one process.

    .venv/bin/python benchmarks/run.py            # prints the table and writes docs/performance.md
    .venv/bin/python benchmarks/run.py --quick    # fewer repeats, no file written

Each workload runs with warm-up, then several timed repeats; the table gives min/median/max of
the per-update time and the ratios of the medians. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from workloads import WORKLOADS, Workload  # noqa: E402


@dataclass
class Timing:
    name: str
    per_update: list[float]  # seconds, one per repeat

    @property
    def median(self) -> float:
        return statistics.median(self.per_update)


def measure(run: Callable[[int], None], updates: int, repeats: int) -> list[float]:
    """Seconds per update over `repeats` runs of `updates` updates each, after one warm-up run."""
    run(max(updates // 10, 1))
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        run(updates)
        out.append((time.perf_counter() - t) / updates)
    return out


def gemm_peak(dtype: type, size: int = 2048, repeats: int = 5) -> float:
    """The machine's measured matrix-product rate (FLOP/s) for this dtype, through NumPy."""
    a = np.random.default_rng(0).standard_normal((size, size)).astype(dtype)
    b = a.copy()
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * size**3 / best


def _timed(f: Callable[[], object]) -> float:
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def startup(repeats: int) -> list[float]:
    exe = ROOT / ".venv" / "bin" / "chainrule"
    times = []
    for _ in range(repeats + 1):
        t = time.perf_counter()
        subprocess.run([str(exe)], check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return times[1:]


def fmt_time(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.2f} µs"
    return f"{s * 1e3:.2f} ms"


def row(w: Workload, repeats: int, peak: float | None) -> tuple[str, list[str]]:
    timings = [Timing(name, measure(fn, w.updates, repeats)) for name, fn in w.runners().items()]
    base = {t.name: t.median for t in timings}
    cells = [w.title]
    for t in timings:
        cells.append(f"{fmt_time(min(t.per_update))} / {fmt_time(t.median)} / {fmt_time(max(t.per_update))}")
    cells.append(f"{base['pytorch'] / base['chainrule']:.1f}x")
    cells.append(f"{base['numpy'] / base['chainrule']:.1f}x")
    if peak and w.flops_per_update:
        cells.append(f"{w.flops_per_update / base['chainrule'] / peak:.0%}")
    else:
        cells.append("")
    return w.key, cells


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    return (
        f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, NumPy {np.__version__}, "
        f"PyTorch {torch.__version__} ({torch.get_num_threads()} threads)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repeats; do not write docs/performance.md")
    parser.add_argument("--only", help="run only workloads whose key contains this")
    args = parser.parse_args()
    repeats = 3 if args.quick else 7
    peak32, peak64 = gemm_peak(np.float32), gemm_peak(np.float64)
    print(f"GEMM peak (2048², NumPy): float32 {peak32 / 1e9:.0f} GFLOP/s, float64 {peak64 / 1e9:.0f} GFLOP/s")
    header = [
        "workload",
        "chainrule min / median / max",
        "PyTorch eager",
        "NumPy reference",
        "vs PyTorch",
        "vs NumPy",
        "of GEMM peak",
    ]
    rows = []
    for w in WORKLOADS:
        if args.only and args.only not in w.key:
            continue
        peak = peak32 if w.dtype == np.float32 else peak64
        _key, cells = row(w, repeats, peak)
        rows.append(cells)
        print(" | ".join(cells), flush=True)
    start = startup(repeats)
    start_line = f"`chainrule` (explain the reference) in a fresh process: min {min(start):.3f} s, median {statistics.median(start):.3f} s"
    print(start_line)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    table = "\n".join(
        ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]
    )
    if not args.quick:
        doc = ROOT / "docs" / "performance.md"
        doc.write_text(
            "# Performance\n\n"
            "Measured by `benchmarks/run.py` in one process: each cell is the time per update "
            "(min / median / max of the repeats); ratios compare medians.\n\n"
            f"Machine: {machine()}.\n\n"
            f"GEMM peak measured in the same run: float32 {peak32 / 1e9:.0f} GFLOP/s, float64 {peak64 / 1e9:.0f} GFLOP/s.\n\n"
            f"{table}\n\n{start_line}.\n\nPeak memory of the benchmark process: {rss:.0f} MiB.\n"
        )
        print(f"wrote {doc}")


if __name__ == "__main__":
    main()
