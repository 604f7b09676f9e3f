"""Memory while training 60,000 × 784 float32 examples in batches of 256 (784-1024-1024-10).

    .venv/bin/python benchmarks/memory.py [--epochs 3]
    .venv/bin/python benchmarks/memory.py --long 1000000   # a long run of the 2-2-1 network

With --long N: the resident memory before and after N epochs of the reference network, which must
not grow with N (the history in memory is a bounded summary; tests/test_train.py checks 10⁶).

Prints the peak resident memory against the budget of the speed issue — 1.5 × (data + parameters
+ one batch's activations and gradients) — and the resident memory after each epoch, which must
not grow. Runs `chainrule.train.trainer` itself, the loop `chainrule train` runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from chainrule.io import netfile
from chainrule.train.allocator import keep_freed_memory
from chainrule.train.trainer import EpochRecord, TrainConfig, fit

SIZES = (784, 1024, 1024, 10)


def rss_mib(field: str = "VmRSS") -> float:
    """This process's resident memory (VmRSS), or its peak (VmHWM), in MiB. The peak is read here,
    not from getrusage: Linux carries ru_maxrss over from the parent through fork and exec, so a
    child of a large process would report the parent's size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="put the result in docs/performance.md")
    parser.add_argument("--long", type=int, metavar="N", help="instead: N epochs of the 2-2-1 reference network")
    args = parser.parse_args()
    if args.long:
        long_run(args.long)
        return
    keep_freed_memory()  # as `chainrule train` does
    base = rss_mib()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((60_000, 784), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 60_000)]
    doc = {
        "inputs": 784,
        "loss": "cross_entropy",
        "layers": [
            {"units": 1024, "activation": "relu", "bias": [0.0] * 1024},
            {"units": 1024, "activation": "relu", "bias": [0.0] * 1024},
            {"units": 10, "activation": "softmax", "bias": [0.0] * 10},
        ],
        "training": {"learning_rate": 0.01, "batch": 256, "dtype": "float32"},
    }
    net = netfile.from_dict(doc, require_examples=False)
    params = sum(la.weight.size + la.bias.size for la in net.layers)
    batch_values = 256 * sum(SIZES) * 3  # z, a and δ of every layer for one batch
    budget = (x.nbytes + y.nbytes + 4 * (2 * params + batch_values)) / 2**20  # parameters and their gradients
    after: list[float] = []

    def watch(record: EpochRecord) -> None:
        after.append(rss_mib())
        print(f"epoch {record.epoch}: loss {record.loss:.4f}, resident {after[-1]:.0f} MiB", flush=True)

    fit(net, x, y, TrainConfig(epochs=args.epochs, shuffle=True), callbacks=[watch])
    peak = rss_mib("VmHWM")
    lines = [
        f"- the interpreter and libraries before the data: {base:.0f} MiB",
        f"- data + parameters (and their gradients) + one batch's values: {budget:.0f} MiB; "
        f"1.5× that: {1.5 * budget:.0f} MiB",
        f"- peak resident memory: {peak:.0f} MiB ({peak / budget:.2f}×)",
        f"- resident memory after each epoch: {', '.join(f'{a:.0f}' for a in after)} MiB "
        f"(growth {after[-1] - after[0]:+.1f} MiB)",
    ]
    print("\n".join(lines))
    if args.write:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from docfile import replace_section

        intro = __doc__.split("\n\n", 2)[2].strip()
        replace_section("Memory", f"{intro}\n\n" + "\n".join(lines))
        print("wrote docs/performance.md")


def long_run(epochs: int) -> None:
    """Resident memory before and after `epochs` epochs of the reference network (compiled path)."""
    import time

    net = netfile.load()
    fit(net, config=TrainConfig(epochs=20_000))  # the compiled loop loaded, the allocator warmed up
    before, start = rss_mib(), time.perf_counter()
    result = fit(net, config=TrainConfig(epochs=epochs))
    took = time.perf_counter() - start
    print(
        f"{epochs:,} epochs in {took:.1f} s: resident {before:.0f} → {rss_mib():.0f} MiB "
        f"({rss_mib() - before:+.1f} MiB); {len(result.history)} points kept for the curve"
    )


if __name__ == "__main__":
    main()
