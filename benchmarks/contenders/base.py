"""The child side of the harness: one contender in its own process, driven line by line.

    python -m contenders.NAME '<job as JSON>'      (PYTHONPATH: src and benchmarks/)

The parent sets the thread variables in the environment before the child starts. The child reads
the workload file, runs the sameness check (3 updates from the initial weights, on the first three
batches, parameters saved for the parent to compare), warms up (compilation and first calls
outside the clock), puts the initial weights back, answers ``ready`` and then serves commands on
stdin, one JSON line each:

* ``{"cmd": "block"}``: about `block_seconds` of updates (counted from the warm-up's speed; whole
  epochs for contenders that run epochs), timed; answers the seconds and the updates really made.
* ``{"cmd": "epoch"}``: one epoch over the whole data, timed; saves the parameters for the parent's
  test accuracy (outside the clock).
* ``{"cmd": "quit"}``.

Answers are single lines starting with ``@@bench `` (libraries may print to stdout too).
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from workloads import parameters, read, save_parameters

MARK = "@@bench "
CHECK_UPDATES = 3


class Contender(Protocol):
    info: dict[str, Any]  # what ran (path, settings), shown in the report

    def run(self, updates: int) -> int:
        """Make about `updates` updates in file order from where the last call stopped; return how many."""
        ...

    def params(self) -> list[np.ndarray]: ...

    def restart(self, params: list[np.ndarray]) -> None:
        """Put these parameters in place and go back to the first example."""
        ...


Builder = Callable[[dict[str, Any], np.ndarray, np.ndarray, list[np.ndarray]], Contender]


class Cursor:
    """Batches in file order, starting over at the end of the data (the last batch may be short)."""

    def __init__(self, n: int, batch: int) -> None:
        self.n, self.batch, self.start = n, batch, 0

    def next(self) -> slice:
        if self.start >= self.n:
            self.start = 0
        s = slice(self.start, min(self.start + self.batch, self.n))
        self.start += self.batch
        return s


def whole_epochs(updates: int, per_epoch: int) -> int:
    return max(round(updates / per_epoch), 1)


def answer(**fields: Any) -> None:
    print(MARK + json.dumps(fields), flush=True)


def serve(build: Builder) -> None:
    """Run a contender as described above; any failure is answered as one line."""
    job = json.loads(sys.argv[1])
    try:
        _serve(build, job)
    except Exception as exc:  # the parent reports the row as failed, with this reason
        traceback.print_exc(file=sys.stderr)
        answer(error=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:200])


def warm_up(main: Contender, most: int) -> float:
    """Run doubling blocks until one takes 0.1 s (or `most` updates): compilation, caches and first
    calls happen here; then one more block of that size. Returns its seconds per update."""
    n = 1
    while True:
        t = time.perf_counter()
        done = main.run(n)
        if time.perf_counter() - t > 0.1 or n >= most:
            break
        n *= 2
    t = time.perf_counter()
    done = main.run(n)
    return (time.perf_counter() - t) / done


def _serve(build: Builder, job: dict[str, Any]) -> None:
    w, tmp = job["workload"], Path(job["tmp"])
    arrays = read(job["npz"])
    x, y, start = arrays["x"], arrays["y"], parameters(arrays)
    rows = CHECK_UPDATES * w["batch"]
    checked = build(job, x[:rows].copy(), y[:rows].copy(), [p.copy() for p in start])
    getattr(checked, "check", checked.run)(CHECK_UPDATES)
    check_path = tmp / f"{job['id']}-check.npz"
    save_parameters(check_path, checked.params())
    del checked
    main = build(job, x, y, [p.copy() for p in start])
    whole_process = job.get("epochs_mode") and hasattr(main, "epoch")  # the check's run was its warm-up
    if whole_process:
        per_update = 1.0
    elif hasattr(main, "warm_up"):  # chainrule_cli sizes its own blocks
        per_update = main.warm_up()
    else:
        per_update = warm_up(main, w["updates"])
    block = max(1, round(job.get("block_seconds", 0.25) / per_update))  # each block about that long
    main.restart([p.copy() for p in start])
    answer(ready=True, check=str(check_path), info=main.info)
    epochs = 0
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["cmd"] == "quit":
            break
        updates = w["updates_per_epoch"] if cmd["cmd"] == "epoch" else cmd.get("updates", block)
        t = time.perf_counter()
        epoch = getattr(main, "epoch", None) if cmd["cmd"] == "epoch" else None  # chainrule_cli: a process
        done = epoch() if epoch else main.run(updates)
        seconds = time.perf_counter() - t
        extra: dict[str, Any] = getattr(main, "last", {})
        if cmd["cmd"] == "epoch":
            epochs += 1
            path = tmp / f"{job['id']}-epoch{epochs}.npz"
            save_parameters(path, main.params())
            extra = {**extra, "params": str(path)}
        answer(seconds=seconds, updates=done, **extra)
