"""`chainrule train` itself, each run a whole process:

    chainrule train NET --data DATA.npz --epochs E --no-shuffle -q -o OUT.npz

NET holds the initial weights, lr, batch, mean reduction and dtype (TOML for small networks,
.npz for large ones); DATA.npz holds x and y. A timed block is two runs, E1 = 1 epoch and
E2 = 1 + k epochs; the parent takes per update = (T(E2) − T(E1)) / (k × updates per epoch),
which subtracts start-up, loading and saving. Whatever `chainrule train` does per epoch
(its metrics) is included. The first run is a warm-up (numba's on-disk cache of compiled kernels);
where a long run would use the loop written out for the network's shape, it is compiled into the
disk cache first, as the first long run of that shape does, so every timed run loads it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from contenders.base import serve
from contenders.chainrule_api import network

from chainrule.io import netfile
from chainrule.io.netnpz import save_npz
from chainrule.train.compiled import loop as fast
from chainrule.train.compiled import special
from chainrule.train.paths import loop_for


class CommandLine:
    def __init__(self, job: dict[str, Any], x: np.ndarray, y: np.ndarray, params: list[np.ndarray]) -> None:
        self.w = job["workload"]
        self.folder = Path(job["tmp"]) / f"{job['id']}-cli-{len(x)}"
        self.folder.mkdir(exist_ok=True)
        net = network(self.w, params)
        self.net_path = self.folder / ("net.npz" if net.parameter_count() > 20_000 else "net.toml")
        (save_npz if self.net_path.suffix == ".npz" else netfile.save)(net, self.net_path)
        self.data_path = self.folder / "data.npz"
        np.savez(self.data_path, x=x, y=y)
        self.out = self.folder / "out.npz"
        self.per_epoch = -(-len(x) // self.w["batch"])
        self.epochs_done = 0
        self.extra: int | None = None
        self.block_seconds = 4 * job.get("block_seconds", 0.25)
        self.last: dict[str, Any] = {}
        self.info = {"path": "chainrule train, whole process", "net file": self.net_path.suffix}
        if loop_for(net, self.w["batch"]) == "specialised":  # what a long run compiles once and caches
            special.module(fast.pack(net))
            self.info["loop"] = "specialised"

    def _train(self, epochs: int) -> float:
        """Wall time of one whole `chainrule train` process."""
        cmd = [sys.executable, "-m", "chainrule", "train", str(self.net_path), "--data", str(self.data_path)]
        cmd += ["--epochs", str(epochs), "--no-shuffle", "-q", "-o", str(self.out)]
        t = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
        took = time.perf_counter() - t
        if done.returncode != 0:
            raise RuntimeError(f"chainrule train exit {done.returncode}: {done.stderr.strip()[-150:]}")
        return took

    def check(self, updates: int) -> None:
        assert updates == self.per_epoch, "the check data is exactly the check's batches"
        self._train(1)

    def warm_up(self) -> float:
        """Find k, the extra epochs of a timed block, so that T(1 + k) − T(1) is about
        `block_seconds` (start-up noise small beside it); these runs are the warm-up."""
        t1, k = self._train(1), 1
        while k < 1_000_000:
            took = self._train(1 + k) - t1
            if took >= self.block_seconds:
                break
            k = int(k * self.block_seconds / took * 1.2) + 1 if took > 0.2 else k * 8
        self.extra = k
        return 1.0  # unused: `run` ignores the block size it is given

    def run(self, updates: int) -> int:
        """Ignores `updates`: every block is the pair E1 = 1, E2 = 1 + k (see _calibrate)."""
        extra = self.extra or 1
        t1, t2 = self._train(1), self._train(1 + extra)
        self.last = {"t1": t1, "t2": t2}
        return extra * self.per_epoch

    def epoch(self) -> int:
        """One more epoch than the last call, as a new whole process from the initial weights;
        its wall time (start-up included; the faster of two runs, as reading the data from disk
        varies by a second from run to run) is the time to reach this epoch's parameters."""
        self.epochs_done += 1
        self.last = {"wall": min(self._train(self.epochs_done) for _ in range(2))}
        return self.epochs_done * self.per_epoch

    def restart(self, params: list[np.ndarray]) -> None:
        self.epochs_done = 0  # every run starts from NET, which holds the initial parameters

    def params(self) -> list[np.ndarray]:
        net = netfile.load(self.out, require_examples=False)
        return [np.array(p) for la in net.layers for p in (la.weight, la.bias)]


if __name__ == "__main__":
    serve(CommandLine)
