"""The benchmark: chainrule against PyTorch, JAX and NumPy, each contender in its own process.

    python benchmarks/run.py                  # everything; writes docs/performance.md and results/latest.json
    python benchmarks/run.py --quick          # one repeat, one thread setting, small workloads; writes nothing
    python benchmarks/run.py --only online-2-2-1 --threads 1

Every contender runs in a child process with its thread count set in the environment before any
import (and `torch.set_num_threads`; XLA_FLAGS for one thread in JAX), reads the same workload file
(data, initial weights), proves its first 3 updates equal chainrule's engine, warms up, and then
times blocks of updates when asked. The contenders take turns within each repeat, so that a change
in what else the machine does falls on all alike. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "src"))

import report  # noqa: E402
from docfile import DOC  # noqa: E402
from harness import Child, Row, child_env, measure  # noqa: E402
from workloads import MNIST_MISSING, WORKLOADS, Workload, write_mnist  # noqa: E402

CONTENDERS = ("chainrule_api", "chainrule_cli", "torch_eager", "torch_compile", "jax_step", "jax_scan", "numpy_ref")
RESULTS = ROOT / "benchmarks" / "results"


def gemm_peaks(threads: list[int], tmp: Path) -> dict[str, float]:
    """FLOP/s of a 2048² product, through NumPy and PyTorch, each in its own process."""
    peaks = {}
    for lib in ("numpy", "torch"):
        for dtype in ("float32", "float64"):
            for t in threads:
                child = Child("gemm", {"lib": lib, "dtype": dtype, "threads": t}, t, tmp)
                got = child.read()
                child.close()
                if "flops" in got:
                    peaks[f"{lib}-{dtype}-{t}"] = got["flops"]
                    print(f"GEMM {lib} {dtype} {t} thread(s): {got['flops'] / 1e9:.1f} GFLOP/s", flush=True)
    return peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--quick", action="store_true", help="one repeat, one thread setting, small workloads, no torch.compile"
    )
    parser.add_argument("--only", help="only workloads whose key contains this (writes no document)")
    parser.add_argument("--threads", default="1,2", help="thread settings to try (default 1,2)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--no-scaling", action="store_true")
    parser.add_argument("--mnist-epochs", type=int, default=8)
    args = parser.parse_args()
    threads = [int(t) for t in args.threads.split(",")][: 1 if args.quick else None]
    repeats = 1 if args.quick else args.repeats
    names = args.contenders.split(",")
    if args.quick and args.contenders == ",".join(CONTENDERS):  # its compilation alone takes most of 2 minutes
        names.remove("torch_compile")
    chosen = [w for w in WORKLOADS if (w.small or not args.quick) and (not args.only or args.only in w.key)]
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="chainrule-bench-"))
    peaks = gemm_peaks(threads, tmp) if not args.quick and any(not w.small for w in chosen) else {}
    results: list[tuple[Workload, list[Row]]] = []
    for w in chosen:
        print(f"{w.title} ...", flush=True)
        block = {"block_seconds": 0.1 if args.quick else 0.25}
        plan: list[tuple[str, int, dict[str, Any]]] = [(n, t, block) for n in names for t in threads]
        results.append((w, measure(w, w.write(tmp), plan, repeats, tmp)))
        print(report.table([results[-1]], peaks), flush=True)
    mnist: list[dict[str, Any]] | str = "not run (--quick or --only)"
    if not args.quick and (not args.only or args.only in "mnist"):
        from mnist import run_mnist

        npz = write_mnist(tmp)
        mnist = MNIST_MISSING if npz is None else run_mnist(npz, max(threads), tmp, args.mnist_epochs, names)
        print(mnist if isinstance(mnist, str) else report.mnist_lines(mnist), flush=True)
    scaling = None
    if not (args.quick or args.only or args.no_scaling):
        from scaling import run_scaling

        scaling = run_scaling(min(threads), tmp)
    took = time.perf_counter() - started
    text = report.table(results, peaks)
    print("\n" + text + "\n\n" + report.sameness(results) + f"\n\nWhole run: {took / 60:.1f} min")
    if args.quick or args.only:
        return
    RESULTS.mkdir(exist_ok=True)
    raw = {**report.provenance(), "threads": threads, "repeats": repeats,
           "gemm": peaks, "workloads": report.as_json(results), "mnist": mnist, "minutes": took / 60}  # fmt: skip
    (RESULTS / "latest.json").write_text(json.dumps(raw, indent=1, default=str) + "\n")
    DOC.write_text(report.document(results, peaks, mnist, scaling, threads, repeats))
    memory = [sys.executable, str(ROOT / "benchmarks" / "memory.py"), "--write"]
    subprocess.run(memory, check=True, cwd=ROOT, env=child_env(max(threads)))  # this tree's chainrule
    print(f"wrote {DOC.relative_to(ROOT)} and {(RESULTS / 'latest.json').relative_to(ROOT)}")


if __name__ == "__main__":
    main()
