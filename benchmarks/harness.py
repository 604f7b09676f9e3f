"""The parent side: start each contender in its own process with its threads set, check that its
updates are the engine's, and time the contenders in interleaved repeats."""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from contenders.base import CHECK_UPDATES, MARK
from contenders.chainrule_api import network
from workloads import Workload, parameters, read

ROOT = Path(__file__).resolve().parent.parent
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
ONE_THREAD_XLA = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
# Between one child's timed block and the next: BLAS and OpenMP worker threads keep spinning for a
# while after their work, and would take the cores from whichever child is timed next.
SETTLE_SECONDS = 0.3
TOLERANCE = {"float64": 1e-9, "float32": 1e-4}  # relative, parameters after the check's updates


def child_env(threads: int) -> dict[str, str]:
    """The environment of a child: every library's thread count set before anything is imported."""
    env = os.environ.copy()
    for name in THREAD_VARS:
        env[name] = str(threads)
    if threads == 1:
        env["XLA_FLAGS"] = ONE_THREAD_XLA
    else:
        env.pop("XLA_FLAGS", None)  # XLA's default: a thread per core
    paths = [str(ROOT / "src"), str(ROOT / "benchmarks"), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    return env


def pin(threads: int) -> Any:
    """Run the child (and what it starts) on that many cores: a library that keeps threads of its
    own beyond the settings above (XLA does) still gets only those cores. Linux only."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cores = sorted(os.sched_getaffinity(0))[:threads]
    return lambda: os.sched_setaffinity(0, cores)


class Child:
    """One contender process, answering one JSON line per command."""

    def __init__(self, module: str, args: dict[str, Any], threads: int, tmp: Path) -> None:
        self.log = tempfile.TemporaryFile("w+", dir=tmp)  # noqa: SIM115 — open as long as the child lives
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, json.dumps(args)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True,
            env=child_env(threads), cwd=ROOT, preexec_fn=pin(threads),
        )  # fmt: skip

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(MARK):
                return dict(json.loads(line[len(MARK) :]))
        self.proc.wait()
        self.log.seek(0)
        tail = [ln for ln in self.log.read().splitlines() if ln.strip()][-1:] or [f"exit {self.proc.returncode}"]
        return {"error": tail[0][:200]}

    def ask(self, cmd: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(cmd) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            return {"error": "the process ended"}
        return self.read()

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(BrokenPipeError, ValueError, OSError):
                assert self.proc.stdin is not None
                self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


def reference(w: Workload, arrays: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The check's parameters by chainrule's engine in float64: CHECK_UPDATES batches in file
    order, each Network.forward, Network.backward (mean reduction), θ ← θ − η ∂L/∂θ."""
    net = network({**w.job(), "dtype": "float64"}, [p.astype(np.float64) for p in parameters(arrays)])
    x, y = arrays["x"].astype(np.float64), arrays["y"].astype(np.float64)
    for i in range(CHECK_UPDATES):
        s = slice(i * w.batch, (i + 1) * w.batch)
        back = net.backward(net.forward(x[s]), y[s], "mean")
        for layer, dw, db in zip(net.layers, back.d_weight, back.d_bias, strict=True):
            layer.weight = layer.weight - w.lr * dw
            layer.bias = layer.bias - w.lr * db
    return [p for la in net.layers for p in (la.weight, la.bias)]


def compare(got: list[np.ndarray], ref: list[np.ndarray], start: list[np.ndarray], dtype: str) -> dict[str, Any]:
    """Largest difference from the engine relative to the largest parameter, and relative to the
    largest change the updates made (a contender that did not update fails the second)."""
    diff = max(float(np.max(np.abs(g - r))) for g, r in zip(got, ref, strict=True))
    size = max(float(np.max(np.abs(r))) for r in ref)
    moved = max(float(np.max(np.abs(r - s))) for r, s in zip(ref, start, strict=True))
    tol = TOLERANCE[dtype]
    rel, rel_moved = diff / size, diff / moved if moved else float("inf")
    same = rel <= tol and rel_moved <= tol * 1e3
    return {"same": same, "relative": rel, "of_change": rel_moved, "tolerance": tol}


@dataclass
class Row:
    """One contender at one thread setting on one workload."""

    contender: str
    threads: int
    info: dict[str, Any] = field(default_factory=dict)
    check: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    per_update: list[float] = field(default_factory=list)  # seconds, one per repeat
    t1: list[float] = field(default_factory=list)  # chainrule_cli: whole-process times, E1 and E2
    t2: list[float] = field(default_factory=list)
    extra_updates: int = 0

    def stats(self) -> tuple[float, float, float]:
        """(min, median, max) over the repeats of seconds per update (for the command line, of
        (T(E2) − T(E1)) / updates between them, one run of each per repeat)."""
        return min(self.per_update), statistics.median(self.per_update), max(self.per_update)

    def of_minima(self) -> float | None:
        """The command line: (min T(E2) − min T(E1)) / updates, each time the min over the repeats."""
        return (min(self.t2) - min(self.t1)) / self.extra_updates if self.t1 else None


def start(
    w: Workload, npz: Path, contender: str, threads: int, tmp: Path, extra: dict[str, Any]
) -> tuple[Row, Child | None]:
    """Start a contender, wait until it is ready and compare its check with the engine's."""
    row, began = Row(contender, threads), time.perf_counter()
    job = {"workload": w.job(), "npz": str(npz), "tmp": str(tmp), "id": f"{w.key}-{contender}-{threads}",
           "threads": threads, **extra}  # fmt: skip
    child = Child(f"contenders.{extra.get('module', contender)}", job, threads, tmp)
    ready = child.read()
    if "error" in ready:
        row.error = ready["error"]
        child.close()
        return row, None
    row.info = ready["info"]
    print(f"  {contender}, {threads} thread(s): ready in {time.perf_counter() - began:.1f} s", flush=True)
    arrays = read(npz)
    got = parameters(read(ready["check"]))
    row.check = compare(got, reference(w, arrays), parameters(arrays), w.dtype)
    if not row.check["same"]:
        row.error = f"updates differ from the engine's (relative {row.check['relative']:.1e})"
        child.close()
        return row, None
    return row, child


def measure(w: Workload, npz: Path, plan: list[tuple[str, int, dict[str, Any]]], repeats: int, tmp: Path) -> list[Row]:
    """Every (contender, threads, options) of `plan` started one after another (no child runs while
    another warms up), then `repeats` rounds in which each times one block in turn."""
    started = [start(w, npz, name, threads, tmp, extra) for name, threads, extra in plan]
    live = [(row, child) for row, child in started if child is not None]
    for _ in range(repeats):
        for row, child in live:
            time.sleep(SETTLE_SECONDS)
            got = child.ask({"cmd": "block"})
            if "error" in got:
                row.error = got["error"]
                continue
            if "t1" in got:
                row.per_update.append((got["t2"] - got["t1"]) / got["updates"])
                row.t1.append(got["t1"])
                row.t2.append(got["t2"])
                row.extra_updates = got["updates"]
            else:
                row.per_update.append(got["seconds"] / got["updates"])
    for _row, child in live:
        child.close()
    for row, _child in live:
        if row.error:
            row.per_update = []
    return [row for row, _ in started]


def best(rows: list[Row]) -> dict[str, Row]:
    """Each contender's fastest thread setting (by median), or its failed row."""
    out: dict[str, Row] = {}
    for row in rows:
        have = out.get(row.contender)
        if have is None or (row.per_update and (not have.per_update or row.stats()[1] < have.stats()[1])):
            out[row.contender] = row
    return out
