"""Ctrl-C on a 784-1024-1024-10 network: seconds from SIGINT to exit 130, the work saved.

Starts `chainrule train` on a 784-1024-1024-10 relu/softmax cross-entropy network (random data in
an .npz) and sends SIGINT at a random moment of one of these stages:

- compile: a fresh numba cache (batch 16: the compiled path), while the loop is being built;
- compiled: the compiled path with a warm cache, mid-epoch;
- lean: batch 256 (the lean NumPy path), mid-epoch;
- save: short epochs with --checkpoint-every 1, so that a checkpoint is being written often;
- torch: --backend torch (when PyTorch is installed), mid-epoch.

For each try: the stage, the delay, seconds from SIGINT to the process's exit, the exit status, and
whether what it said it saved loads (the network with `netfile.load`, the checkpoint by resuming
it for one more epoch with --resume, exit status 0). A timing, not a test: tests/test_interrupt*.py
assert the behaviour with loose bounds.

    python benchmarks/interrupt.py                 # 3 tries per stage, random moments
    python benchmarks/interrupt.py --tries 10 --stages lean,save --seed 7
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHAPE = (784, 1024, 1024, 10)
STAGES = {  # stage: (extra arguments, examples in the data, seconds after start to pick the moment in)
    "compile": (["--batch", "16"], 512, (0.5, 6.0)),
    "compiled": (["--batch", "16"], 4096, (6.0, 14.0)),
    "lean": (["--batch", "256"], 4096, (4.0, 12.0)),
    "save": (["--batch", "256", "--checkpoint-every", "1"], 512, (4.0, 14.0)),
    "torch": (["--batch", "256", "--backend", "torch"], 4096, (6.0, 14.0)),
}


def write_network(folder: Path) -> Path:
    """The network file: 784 inputs, relu hidden layers, a softmax output, cross-entropy."""
    lines = ['title = "784-1024-1024-10"', "inputs = [" + ", ".join(f'"p{i}"' for i in range(SHAPE[0])) + "]"]
    lines.append('loss = "cross_entropy"')
    for units in SHAPE[1:]:
        lines += ["", "[[layers]]", f"units = {units}", f'activation = "{"softmax" if units == SHAPE[-1] else "relu"}"']
    lines += ["", "[training]", "learning_rate = 0.01", "epochs = 1000", "seed = 1"]
    path = folder / "big.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def write_data(folder: Path, examples: int) -> Path:
    rng = np.random.default_rng(examples)
    path = folder / f"data-{examples}.npz"
    x = rng.random((examples, SHAPE[0]))
    np.savez(path, x=x, y=np.eye(SHAPE[-1])[rng.integers(0, SHAPE[-1], examples)])
    return path


def _env(cache: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src"), "CHAINRULE_CACHE_DIR": str(cache)}


def chainrule(args: list[str], cwd: Path, cache: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "chainrule", "train", *args]
    return subprocess.Popen(
        command, cwd=cwd, env=_env(cache), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def one_try(stage: str, delay: float, net: Path, data: Path, work: Path) -> dict[str, object]:
    """Start a run, SIGINT it after `delay` seconds, time the exit, check what it saved."""
    extra, _examples, _window = STAGES[stage]
    cache = work / "cache" if stage != "compile" else Path(tempfile.mkdtemp(dir=work, prefix="fresh-cache-"))
    for old in work.glob("out*"):
        old.unlink()
    run = chainrule([str(net), "--data", str(data), "-o", "out.toml", "-q", *extra], work, cache)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(run.stderr))  # type: ignore[arg-type]
    reader.start()
    time.sleep(delay)
    run.send_signal(signal.SIGINT)
    sent = time.monotonic()
    try:
        code = run.wait(timeout=120)
    except subprocess.TimeoutExpired:
        run.kill()
        code = run.wait()
    took = time.monotonic() - sent
    reader.join()
    said = "".join(lines)
    return {"stage": stage, "delay": delay, "seconds": took, "code": code, "saved": _check(said, net, data, work),
            "said": said.strip().splitlines()[-1] if said.strip() else ""}  # fmt: skip


def _check(said: str, net: Path, data: Path, work: Path) -> str:
    """ "nothing" (interrupted before training), "ok" (the network loads, and the checkpoint loads
    into a run of the same data with the network's parameters), or what failed."""
    if "chainrule: saved" not in said:
        return "nothing" if "nothing" in said else "NOT SAID"
    sys.path.insert(0, str(ROOT / "src"))
    from chainrule.engine.batching import parse_batch
    from chainrule.io import netfile
    from chainrule.train.checkpoint import load_checkpoint
    from chainrule.train.trainer import TrainConfig, Trainer

    try:
        saved = netfile.load(work / "out.npz", require_examples=False)
        arrays = np.load(data, allow_pickle=False)
        trainer = Trainer(netfile.load(net, require_examples=False), arrays["x"], arrays["y"],
                          TrainConfig(batch=parse_batch("256")))  # fmt: skip
        load_checkpoint(trainer, work / "out.checkpoint.npz")
    except Exception as exc:  # a timing script: report, do not stop
        return f"FAILED: {exc}"
    same = all(np.array_equal(a.weight, b.weight) for a, b in zip(saved.layers, trainer.net.layers, strict=True))
    return "ok" if same else "FAILED: the checkpoint's parameters differ from the network's"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tries", type=int, default=3, help="tries per stage")
    parser.add_argument("--stages", default=",".join(STAGES), help="comma-separated: " + ", ".join(STAGES))
    parser.add_argument("--seed", type=int, help="random moments (default: unseeded)")
    args = parser.parse_args()
    stages = [s for s in args.stages.split(",") if s != "torch" or importlib.util.find_spec("torch")]
    moments = random.Random(args.seed)
    rows = []
    with tempfile.TemporaryDirectory(prefix="chainrule-interrupt-") as tmp:
        work = Path(tmp)
        net = write_network(work)
        for stage in stages:
            data = write_data(work, STAGES[stage][1])
            for _ in range(args.tries):
                row = one_try(stage, moments.uniform(*STAGES[stage][2]), net, data, work)
                rows.append(row)
                print(f"{row['stage']:9} SIGINT at {row['delay']:5.2f} s → exit {row['code']} in "
                      f"{row['seconds']:.2f} s; saved: {row['saved']}; said: {row['said'][:90]}", flush=True)  # fmt: skip
    times = [float(r["seconds"]) for r in rows]  # type: ignore[arg-type]
    print(f"\n{len(rows)} tries: exit 130 in {sum(r['code'] == 130 for r in rows)}; seconds to exit "
          f"p50 {statistics.median(times):.2f}, max {max(times):.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
