"""Where each path wins: time per update as the network widens and the batch grows.

    .venv/bin/python benchmarks/scaling.py          # prints the table; --write adds it to docs/performance.md

A 2-W-W-1 network (W = width; tanh or relu hidden layers) trained by SGD at several batch sizes,
timed in one process on chainrule's compiled loop working example by example, the same loop working
on each batch as matrices (BLAS products), its lean NumPy path, and PyTorch eager.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from docfile import replace_section  # noqa: E402
from workloads import Workload  # noqa: E402

from chainrule.train.allocator import keep_freed_memory  # noqa: E402
from chainrule.train.compiled.loop import MATRIX_MIN_BATCH  # noqa: E402
from chainrule.train.paths import PlainSGD, choose_path  # noqa: E402

HIDDEN = ("tanh", "relu")
WIDTHS = (4, 16, 64, 256)
BATCHES = (1, 8, 32, 256)


def per_update(run, updates: int) -> float:  # type: ignore[no-untyped-def]
    """The best of three runs, per update really made (a chainrule runner makes whole epochs)."""
    run(max(updates // 10, 1))
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        done = run(updates)
        best = min(best, (time.perf_counter() - t) / done)
    return best


def chainrule_runner(w: Workload, compiled: bool, matrices: bool | None = None):  # type: ignore[no-untyped-def]
    trainer = PlainSGD(w.network(), w.batch, compiled=compiled, matrices=matrices)
    per_epoch = -(-w.examples // w.batch)

    def run(updates: int) -> int:
        epochs = max(round(updates / per_epoch), 1)
        trainer.epochs(epochs, lr=0.01, with_loss=False)
        return epochs * per_epoch

    return run


def fmt(s: float) -> str:
    return f"{s * 1e6:.1f}" if s < 1e-3 else f"{s * 1e3:.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="append the table to docs/performance.md")
    args = parser.parse_args()
    keep_freed_memory()  # as `chainrule train` does; process-wide, so PyTorch and NumPy get it too
    lines = [
        "| hidden | width W (2-W-W-1) | params | batch | compiled, per example µs | compiled, matrices µs"
        " | NumPy µs | PyTorch µs | fastest | `chainrule train` takes |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    print(lines[0])
    for hidden, width, batch in ((h, w, b) for h in HIDDEN for w in WIDTHS for b in BATCHES):
        w = Workload("s", "s", (2, width, width, 1), hidden, "sigmoid", "half_squared_error", batch, 1024, 0)
        cost = max(1, batch * w.params // 2000)
        updates = max(20, 4000 // cost)
        times = {
            "per example": per_update(chainrule_runner(w, True, False), updates),
            "matrices": per_update(chainrule_runner(w, True, True), updates) if batch > 1 else float("nan"),
            "NumPy": per_update(chainrule_runner(w, False), updates),
            "PyTorch": per_update(w.pytorch(), updates),
        }
        best = min((k for k in times if times[k] == times[k]), key=times.__getitem__)
        cells = " | ".join("–" if t != t else fmt(t) for t in times.values())
        path, _ = choose_path(w.network(), batch)
        takes = "NumPy" if path == "numpy" else "per example" if batch < MATRIX_MIN_BATCH else "matrices"
        line = f"| {hidden} | {width} | {w.params} | {batch} | {cells} | {best} | {takes} |"
        lines.append(line)
        print(line, flush=True)
    if args.write:
        intro = __doc__.split("\n\n", 2)[2].strip()
        replace_section("Where each path wins", intro + "\n\n" + "\n".join(lines))
        print("wrote docs/performance.md")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
