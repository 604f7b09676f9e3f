"""The files `chainrule train` writes, checked before training starts: -o, --checkpoint, --history, --plot.

A run that trains for an hour and then cannot write its result has lost the hour: each path is
checked first (`common.writable`: a file name, in a folder that takes a new file; no two options
naming the same file; a plot's format known from its suffix).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chainrule.cli.common import STDOUT, writable
from chainrule.errors import ChainruleError
from chainrule.plots.formats import plot_format
from chainrule.train.checkpoint import beside

__all__ = ["STDOUT", "Outputs", "writable"]


@dataclass(frozen=True)
class Outputs:
    """Where this run writes: the network, its checkpoint, the history CSV and the plot."""

    network: Path | None
    checkpoint: Path | None  # named with --checkpoint
    history: Path | None
    plot: Path | None
    every: int | None  # --checkpoint-every

    @property
    def to_stdout(self) -> bool:
        """-o -: the trained network as TOML on standard output (and the summary on stderr)."""
        return self.network is not None and str(self.network) == STDOUT

    @classmethod
    def check(cls, opts: dict[str, Any]) -> Outputs:
        out = cls(
            network=Path(STDOUT) if opts["output"] == STDOUT else writable(opts["output"], "-o"),
            checkpoint=writable(opts["checkpoint"], "--checkpoint"),
            history=writable(opts["history"], "--history"),
            plot=writable(opts["plot"], "--plot"),
            every=opts["checkpoint_every"],
        )
        named = [(o, p) for o, p in (("-o", None if out.to_stdout else out.network), ("--checkpoint", out.checkpoint_file),
                                     ("--history", out.history), ("--plot", out.plot)) if p]  # fmt: skip
        seen: dict[str, str] = {}
        for option, path in named:
            key = os.path.realpath(path)
            if key in seen:
                raise ChainruleError(f"{option} {path}: the same file as {seen[key]}; expected different files")
            seen[key] = option
        if out.plot is not None:
            plot_format(out.plot)
        if out.every and out.checkpoint_file is None:
            raise ChainruleError("--checkpoint-every: expected --checkpoint FILE (or -o FILE, to save beside it)")
        if out.checkpoint_file is not None and out.checkpoint is None:
            writable(str(out.checkpoint_file), "-o (its checkpoint)")
        return out

    @property
    def checkpoint_file(self) -> Path | None:
        """Where a checkpoint goes: --checkpoint, or beside -o (never the working folder unasked)."""
        if self.checkpoint is not None:
            return self.checkpoint
        return beside(self.network) if self.network is not None and not self.to_stdout else None
