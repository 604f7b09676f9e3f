"""Side-by-side timing: chainrule, PyTorch eager and a plain NumPy reference, in one process.

    .venv/bin/python benchmarks/run.py            # prints the table and writes docs/performance.md
    .venv/bin/python benchmarks/run.py --quick    # fewer repeats, no file written

Each workload runs with warm-up, then several timed rounds in which a GEMM peak measurement,
chainrule, PyTorch and NumPy take turns; the table gives min/median/max of the per-update time,
the ratios of the medians and chainrule's share of the GEMM peak measured beside it. Not a test:
nothing here asserts a time.
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

from docfile import replace_section  # noqa: E402
from workloads import WORKLOADS, Workload  # noqa: E402

from chainrule.train.allocator import keep_freed_memory  # noqa: E402


@dataclass
class Timing:
    name: str
    per_update: list[float]  # seconds, one per repeat

    @property
    def median(self) -> float:
        return statistics.median(self.per_update)


def measure(runners: dict[str, Callable[[int], int]], updates: int, repeats: int) -> dict[str, list[float]]:
    """Seconds per update of each runner over `repeats` rounds of about `updates` updates each,
    after a warm-up run of each. The runners take turns within every round, so a change in what
    else the machine is doing falls on all of them alike.

    A runner returns how many updates it really made (chainrule's run whole epochs)."""
    for run in runners.values():
        run(max(updates // 10, 1))
    out: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            t = time.perf_counter()
            done = run(updates)
            out[name].append((time.perf_counter() - t) / done)
    return out


def gemm_peak(dtype: type, size: int = 2048, repeats: int = 3) -> Callable[[int], int]:
    """A runner that measures the machine's matrix-product rate through NumPy: the best of
    `repeats` size² products. Returns FLOP/s in place of a count (see `row`)."""
    a = np.random.default_rng(0).standard_normal((size, size)).astype(dtype)
    b = a.copy()
    a @ b

    def run(_updates: int) -> int:
        best = min(_timed(lambda: a @ b) for _ in range(repeats))
        PEAKS.setdefault(np.dtype(dtype).name, []).append(2 * size**3 / best)
        return 1

    return run


PEAKS: dict[str, list[float]] = {}  # every GEMM peak measured in this run, by dtype


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


CLI_RUNS = [
    # (what, arguments, the workload whose PyTorch time it compares with)
    (
        "reference 2-2-1, online, 100,000 epochs",
        ["examples/forward-backprop.toml", "--epochs", "100000"],
        "online-2-2-1",
    ),
    (
        "spirals 2-16-16-1 tanh, online, 3,000 epochs",
        ["examples/spirals.toml", "--batch", "online", "--lr", "0.01", "--epochs", "3000"],
        "online-2-16-16-1",
    ),
    (
        "digits 64-128-10, batch 32, 300 epochs",
        ["examples/digits.toml", "--data", "digits", "--standardize", "--epochs", "300"],
        "batch32-64-128-10",
    ),
]


def cli_rate(args: list[str]) -> tuple[float, str]:
    """Updates per second as `chainrule train` reports them (per-epoch evaluation included)."""
    import re

    exe = ROOT / ".venv" / "bin" / "chainrule"
    out = subprocess.run([str(exe), "train", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    match = re.search(r"\(([\d,]+) updates/s, (\w+) path\)", out)
    if not match:
        raise RuntimeError(f"no rate in: {out[:300]}")
    return float(match.group(1).replace(",", "")), match.group(2)


def fmt_time(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.2f} µs"
    return f"{s * 1e3:.2f} ms"


def row(w: Workload, repeats: int, torch_times: dict[str, float]) -> tuple[str, list[str]]:
    """One workload: chainrule, PyTorch and NumPy in turns, and the GEMM peak measured in each
    round just before them, so that the share of the peak compares times taken side by side."""
    dtype = np.dtype(w.dtype).name
    before = len(PEAKS.get(dtype, []))
    times = measure({"peak": gemm_peak(w.dtype), **w.runners()}, w.updates, repeats)
    peaks = PEAKS[dtype][before + 1 :]  # the warm-up's measurement is not one of the rounds
    timings = [Timing(name, t) for name, t in times.items() if name != "peak"]
    base = {t.name: t.median for t in timings}
    torch_times[w.key] = base["pytorch"]
    cells = [w.title]
    for t in timings:
        cells.append(f"{fmt_time(min(t.per_update))} / {fmt_time(t.median)} / {fmt_time(max(t.per_update))}")
    cells.append(f"{base['pytorch'] / base['chainrule']:.1f}x")
    cells.append(f"{base['numpy'] / base['chainrule']:.1f}x")
    shares = [w.flops_per_update / t / p for t, p in zip(times["chainrule"], peaks, strict=True)]
    cells.append(f"{statistics.median(shares):.0%} / {max(shares):.0%}")
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
    keep_freed_memory()  # as `chainrule train` does; process-wide, so PyTorch and NumPy get it too
    repeats = 3 if args.quick else 7
    header = [
        "workload",
        "chainrule min / median / max",
        "PyTorch eager",
        "NumPy reference",
        "vs PyTorch",
        "vs NumPy",
        "of GEMM peak: median / best",
    ]
    rows = []
    torch_times: dict[str, float] = {}
    for w in WORKLOADS:
        if args.only and args.only not in w.key:
            continue
        _key, cells = row(w, repeats, torch_times)
        rows.append(cells)
        print(" | ".join(cells), flush=True)
    cli_lines = []
    for what, cli_args, key in CLI_RUNS:
        if key not in torch_times:
            continue
        rate, path = cli_rate(cli_args)
        line = f"| {what} | {rate:,.0f} updates/s ({path}) | {rate * torch_times[key]:.1f}x |"
        cli_lines.append(line)
        print(line, flush=True)
    peak_line = "GEMM peak (2048², through NumPy), measured in every round beside the workloads: " + ", ".join(
        f"{dt} median {statistics.median(v) / 1e9:.0f} GFLOP/s ({min(v) / 1e9:.0f}–{max(v) / 1e9:.0f})"
        for dt, v in PEAKS.items()
    )
    print(peak_line)
    start = startup(repeats)
    start_line = f"`chainrule` (explain the reference) in a fresh process: min {min(start):.3f} s, median {statistics.median(start):.3f} s"
    print(start_line)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    table = "\n".join(
        ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]
    )
    if not args.quick:
        replace_section(
            "",
            "# Performance\n\n"
            "Measured by `benchmarks/run.py` in one process: each cell is the time per update "
            "(min / median / max of the repeats); ratios compare medians. In each repeat chainrule, "
            "PyTorch and NumPy take turns, just after a 2048² matrix product has measured the GEMM "
            "peak; the share of the peak is chainrule's rate against that repeat's peak, as the "
            "median and the best over the repeats.\n\n"
            f"Machine: {machine()}.\n\n"
            f"{peak_line}.\n\n"
            f"{table}\n\n"
            "`chainrule train` itself, from the command line (its per-epoch evaluation of the whole "
            "training set included), against the same PyTorch eager update time:\n\n"
            "| run | chainrule train | vs PyTorch |\n|---|---|---|\n" + "\n".join(cli_lines) + "\n\n"
            f"{start_line}.\n\nPeak memory of the benchmark process: {rss:.0f} MiB.\n",
        )
        print("wrote docs/performance.md")


if __name__ == "__main__":
    main()
