"""`chainrule train --backend torch` beside a plain PyTorch loop, per epoch, each in its own process.

The work: a 784-256-10 network (ReLU, softmax with cross-entropy), float32, batches of 64,
shuffled, on random data of MNIST's shape (60,000 × 784; the numbers do not change the work).
The plain loop is PyTorch as its tutorials write it: nn.Sequential, F.cross_entropy on class
indices, optim.SGD, a random permutation sliced into batches. chainrule's side is the trainer with
the torch backend (`TorchEpochs`), as the command runs it: running metrics every epoch, the last
epoch evaluated by the engine (not timed: only the epochs before it are).

    python benchmarks/torch_backend.py [--threads 1] [--epochs 3] [--repeats 2] [--json results/torch_backend.json]

Each side runs in fresh processes (`--repeats` each, the sides taking turns) with its threads set
before PyTorch is imported (OMP_NUM_THREADS, MKL_NUM_THREADS, torch.set_num_threads); the first
epoch of each process is a warm-up and is not counted. The result names the machine, the commit, the versions and the date.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
N, INPUTS, HIDDEN, CLASSES, BATCH, LR = 60_000, 784, 256, 10, 64, 0.01


def _data() -> tuple[object, object]:
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.random((N, INPUTS), dtype=np.float32)
    labels = rng.integers(0, CLASSES, N)
    return x, labels


def plain(epochs: int) -> list[float]:
    """The PyTorch tutorial's loop; seconds per epoch."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    x_np, labels_np = _data()
    x, labels = torch.from_numpy(x_np), torch.from_numpy(labels_np)  # type: ignore[arg-type]
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(INPUTS, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, CLASSES))
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(N)
        for s in range(0, N, BATCH):
            idx = order[s : s + BATCH]
            opt.zero_grad()
            loss = F.cross_entropy(model(x[idx]), labels[idx])
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - start)
    return times


def chainrule(epochs: int) -> list[float]:
    """The trainer on the torch backend; seconds per epoch (its records' elapsed times)."""
    import numpy as np

    from chainrule.io import netfile
    from chainrule.train.torch_backend import TorchEpochs
    from chainrule.train.trainer import TrainConfig, Trainer

    x, labels = _data()
    y = np.eye(CLASSES, dtype=np.float32)[labels]  # type: ignore[index]
    doc = {
        "inputs": INPUTS,
        "loss": "cross_entropy",
        "layers": [{"units": HIDDEN, "activation": "relu"}, {"units": CLASSES, "activation": "softmax"}],
        "training": {"learning_rate": LR, "batch": BATCH, "reduction": "mean", "dtype": "float32"},
    }
    net = netfile.from_dict(doc, require_examples=False)
    trainer = Trainer(net, x, y, TrainConfig(epochs=epochs + 1))  # type: ignore[arg-type]
    trainer.runner = TorchEpochs(trainer.optimizer)
    trainer.runner.load(trainer)
    trainer.run()
    assert trainer.ran == {"torch"}
    elapsed = [0.0, *(r.seconds for r in trainer.history.curve())]
    return [b - a for a, b in itertools.pairwise(elapsed)][:epochs]


def _child(side: str, epochs: int, threads: int) -> list[float]:
    env = os.environ | {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
                        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}  # fmt: skip
    code = f"import sys; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); import torch; torch.set_num_threads({threads}); "
    code += f"import torch_backend as b, json; print(json.dumps(b.{side}({epochs})))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{side}: {done.stderr.strip().splitlines()[-1:]}")
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def _versions() -> dict[str, str]:
    import numpy
    import torch

    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": numpy.__version__,
            "commit": commit, "machine": f"{platform.machine()} {platform.processor() or ''} "
            f"{os.cpu_count()} cores, {platform.system()} {platform.release()}".strip()}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=3, help="epochs timed after the warm-up one")
    parser.add_argument("--repeats", type=int, default=2, help="processes per side, taking turns")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args()
    result: dict[str, object] = {"date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                                 "threads": args.threads, "work": f"{INPUTS}-{HIDDEN}-{CLASSES} float32, "
                                 f"batch {BATCH}, {N} examples, shuffled"} | _versions()  # fmt: skip
    times: dict[str, list[float]] = {"plain": [], "chainrule": []}
    for _ in range(args.repeats):  # the sides take turns, so a busy moment of the machine falls on both
        for side, kept in times.items():
            kept += _child(side, args.epochs + 1, args.threads)[1:]  # the first epoch warms up
    for side, kept in times.items():
        result[side] = {
            "median_s": statistics.median(kept),
            "min_s": min(kept),
            "max_s": max(kept),
            "epochs": len(kept),
        }
    ratio = result["chainrule"]["median_s"] / result["plain"]["median_s"]  # type: ignore[index]
    result["ratio"] = round(ratio, 3)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
