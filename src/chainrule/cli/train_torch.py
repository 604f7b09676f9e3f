"""`chainrule train --backend torch`: which rank this process is, and `--nproc N`'s other processes.

Under torchrun every process runs the whole command (RANK, WORLD_SIZE, LOCAL_RANK set); rank 0
writes the files and shows the progress, the others train quietly and write nothing. `--nproc N`
without torchrun does the same on this host: it starts N − 1 processes that run this very command
as ranks 1 … N − 1 (train/torch_backend.py says how the ranks stay equal), and this process is
rank 0. They meet on 127.0.0.1 at a free port; nothing listens beyond this host.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chainrule.errors import ChainruleError
from chainrule.train.torch_backend import Group, TorchEpochs, preflight
from chainrule.train.trainer import Trainer

# What only rank 0 does: the options that write files or show progress, and their "off" values.
RANK_ZERO_ONLY = {"output": None, "checkpoint": None, "history": None, "plot": None, "checkpoint_every": None,
                  "torch_script": None, "quiet": True}  # fmt: skip


def for_rank(opts: dict[str, Any]) -> dict[str, Any]:
    """The options as this process takes them: as given on rank 0 (or outside a group), with
    every file and the progress off on the other ranks."""
    group = Group.from_env()
    if group is None or group.rank == 0 or opts.get("backend") != "torch":
        return opts
    return opts | RANK_ZERO_ONLY


def runner(file: Path, opts: dict[str, Any], trainer: Trainer, follow: Callable[..., None]) -> TorchEpochs:
    """The torch backend for this run, in the group torchrun described, or in one that
    `--nproc N` starts now: each other process calls `follow(file, opts, env)` (cli/train.py's,
    which runs this command there with env as its torchrun environment)."""
    group, nproc = Group.from_env(), opts["nproc"]
    if group is None and nproc > 1:
        if str(opts.get("data")) == "-":
            raise ChainruleError("--nproc: expected --data FILE (standard input reaches one process only)")
        preflight(trainer, opts["device"], nproc)  # one line here rather than one from every process
        group = _launch(follow, file, opts, nproc)
    return TorchEpochs(trainer.optimizer, device=opts["device"], nproc=nproc if group is None else 1, group=group)


def _launch(follow: Callable[..., None], file: Path, opts: dict[str, Any], nproc: int) -> Group:
    """Start ranks 1 … nproc − 1 (daemons: they end with this process, and write nothing);
    this process is rank 0."""
    import multiprocessing

    with socket.socket() as s:  # a free port on this host only
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    context = multiprocessing.get_context("spawn")
    started = []
    for rank in range(1, nproc):
        env = {"RANK": str(rank), "WORLD_SIZE": str(nproc), "LOCAL_RANK": str(rank),
               "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}  # fmt: skip
        started.append(context.Process(target=follow, args=(file, opts, env), daemon=True))
        started[-1].start()
    threading.Thread(target=_watch, args=(started,), daemon=True).start()
    return Group(0, nproc, 0, f"tcp://127.0.0.1:{port}")


def _watch(started: list[Any]) -> None:
    """Rank 0 would wait for a rank that failed until the group's timeout: end the run at once
    instead (that rank said why on its own line). A rank that stopped for Ctrl-C (130) is not a
    failure: rank 0 got the same Ctrl-C and stops at the same epoch."""
    while any(p.is_alive() for p in started):
        time.sleep(0.5)
        failed = [p.exitcode for p in started if p.exitcode not in (None, 0, 130)]
        if failed:
            sys.stderr.write(f"chainrule: --nproc: a process stopped (exit status {failed[0]}); stopping\n")
            sys.stderr.flush()
            os._exit(2)
