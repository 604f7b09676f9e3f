"""Where each path wins: time per update of a 2-W-W-1 network as it widens and the batch grows.

    python benchmarks/scaling.py [--threads 1]     # prints the table, writes benchmarks/results/scaling.json

Each cell (tanh or relu hidden layers, width W, batch B; SGD on 1,024 examples, half squared error,
sigmoid output) times chainrule's loop written out for the network's shape, the general compiled
loop example by example, the same loop on each batch as matrices, its lean NumPy path, and PyTorch
eager, each in its own process (checked against the engine, warmed up, interleaved repeats; see
run.py), and records the loop a long `chainrule train` run takes (`paths.loop_for`). The table
says whether that pick was the fastest chainrule loop and, if not, by how much it misses. The JSON
keeps every timing: test data for the thresholds behind the choice (tests/test_thresholds_match_recorded_timings.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "src"))

from contenders.chainrule_api import network  # noqa: E402
from harness import Row, measure  # noqa: E402
from report import fmt_time, provenance  # noqa: E402
from workloads import Workload  # noqa: E402

from chainrule.train import paths  # noqa: E402

HIDDEN = ("tanh", "relu")
WIDTHS = (4, 16, 64, 256)
BATCHES = (1, 8, 32, 256)
OUT = ROOT / "benchmarks" / "results" / "scaling.json"
# label: (contender module, PlainSGD options)
PATHS: dict[str, tuple[str, dict[str, Any]]] = {
    "specialised": ("chainrule_api", {"compiled": True, "matrices": False, "specialise": True}),
    "per example": ("chainrule_api", {"compiled": True, "matrices": False, "specialise": False}),
    "matrices": ("chainrule_api", {"compiled": True, "matrices": True, "specialise": False}),
    "NumPy": ("chainrule_api", {"compiled": False}),
    "PyTorch": ("torch_eager", {}),
}


def chosen(w: Workload) -> str:
    """The loop a long `chainrule train` run takes for this network and batch (`paths.loop_for`)."""
    name = paths.loop_for(network(w.job(), _zeros(w)), w.batch)
    return "NumPy" if name == "numpy" else name


def _zeros(w: Workload) -> list[Any]:
    import numpy as np

    return [np.zeros(s) for a, b in zip(w.sizes[:-1], w.sizes[1:], strict=True) for s in ((b, a), (b,))]


def cell(hidden: str, width: int, batch: int, threads: int, repeats: int, tmp: Path) -> dict[str, Any]:
    w = Workload(f"scale-{hidden}-{width}-{batch}", "", (2, width, width, 1), hidden, "sigmoid", batch, 1024, 2000)
    plan = [
        (label, threads, {"module": module, "options": options, "block_seconds": 0.1})
        for label, (module, options) in PATHS.items()
        if not (label == "matrices" and batch == 1) and not (label == "specialised" and w.params * batch > 300_000)
    ]
    rows: list[Row] = measure(w, w.write(tmp), plan, repeats, tmp)
    times = {}
    for r in rows:
        if r.per_update and not r.error:
            lo, mid, hi = r.stats()
            times[r.contender] = {"min": lo, "median": mid, "max": hi, "runs": r.per_update, "ran": r.info.get("path")}
        else:
            times[r.contender] = {"error": r.error}
    return {"hidden": hidden, "width": width, "params": w.params, "batch": batch, "threads": threads,
            "times": times, "choice": chosen(w)}  # fmt: skip


def line(c: dict[str, Any]) -> str:
    med = {k: v["median"] for k, v in c["times"].items() if "median" in v}
    ours = {k: v for k, v in med.items() if k != "PyTorch"}
    fastest = min(ours, key=ours.__getitem__) if ours else "–"
    cells = " | ".join(fmt_time(med[k]) if k in med else "–" for k in PATHS)
    choice = c["choice"]
    if choice == fastest:
        verdict = "yes"
    elif choice in med and fastest in med:
        verdict = f"no: {med[choice] / med[fastest]:.2f}× the fastest"
    else:
        verdict = "–"
    return (
        f"| {c['hidden']} | {c['width']} | {c['params']} | {c['batch']} | {cells} | {fastest} | {choice} | {verdict} |"
    )


def run_scaling(threads: int, tmp: Path, repeats: int = 3) -> str:
    """Every cell measured; the JSON written; the Markdown table (with its introduction) returned."""
    head = (
        "| hidden | width W | params | batch | " + " | ".join(PATHS) + " | fastest chainrule path | "
        "`chainrule train` takes | the fastest? |"
    )
    lines = [head, "|" + "---|" * (8 + len(PATHS) - 1)]
    print(head, flush=True)
    cells = []
    for hidden, width, batch in ((h, w, b) for h in HIDDEN for w in WIDTHS for b in BATCHES):
        cells.append(cell(hidden, width, batch, threads, repeats, tmp))
        lines.append(line(cells[-1]))
        print(lines[-1], flush=True)
    OUT.parent.mkdir(exist_ok=True)
    recording = {**provenance(), "threads": threads, "repeats": repeats, "cells": cells}
    OUT.write_text(json.dumps(recording, indent=1) + "\n")
    intro = __doc__.split("\n\n", 2)[2].strip()
    return f"{intro}\n\nMedians per update, {threads} thread(s), {repeats} repeats.\n\n" + "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(run_scaling(args.threads, Path(tempfile.mkdtemp(prefix="chainrule-scaling-")), args.repeats))


if __name__ == "__main__":
    main()
