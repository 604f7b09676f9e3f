"""The files `chainrule train` writes, checked before training starts: -o, --checkpoint, --history, --plot.

A run that trains for an hour and then cannot write its result has lost the hour: each path is
checked first (`common.writable`: a file name, in a folder that takes a new file; no two options
naming the same file; a plot's format known from its suffix).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from chainrule.cli.common import STDOUT, writable
from chainrule.errors import ChainruleError
from chainrule.plots.formats import plot_format
from chainrule.train import checkpoint
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
    binary: bool = False  # a large network: -o and the checkpoint as .npz (`for_size`)
    binary_checkpoints: bool = False  # a shaped network: its checkpoints as .npz, -o as asked

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
        out.distinct()
        if out.plot is not None:
            plot_format(out.plot)
        if out.every and out.checkpoint_file is None:
            raise ChainruleError("--checkpoint-every: expected --checkpoint FILE (or -o FILE, to save beside it)")
        if out.checkpoint_file is not None and out.checkpoint is None:
            writable(str(out.checkpoint_file), "-o (its checkpoint)")
        return out

    def distinct(self) -> None:
        """No two options name the same file."""
        named = [(o, p) for o, p in (("-o", None if self.to_stdout else self.network), ("--checkpoint", self.checkpoint_file),
                                     ("--history", self.history), ("--plot", self.plot)) if p]  # fmt: skip
        seen: dict[str, str] = {}
        for option, path in named:
            key = os.path.realpath(path)
            if key in seen:
                raise ChainruleError(f"{option} {path}: the same file as {seen[key]}; expected different files")
            seen[key] = option

    def for_size(self, parameters: int) -> tuple[Outputs, str]:
        """A network over `checkpoint.BINARY_ABOVE` parameters is saved as .npz (a TOML or JSON name
        becomes NAME.npz; -o - stays TOML on stdout), so that Ctrl-C saves it within a second:
        (the outputs, the line that says so, or "" when nothing changes)."""
        to_files = (self.network is not None and not self.to_stdout) or self.checkpoint is not None
        if not checkpoint.is_large(parameters) or not to_files:
            return self, ""
        network = self.network if self.network is None or self.to_stdout else _npz(self.network, "-o")
        out = replace(self, network=network, checkpoint=self.checkpoint and _npz(self.checkpoint, "--checkpoint"),
                      binary=True)  # fmt: skip
        out.distinct()
        if out.checkpoint_file is not None and out.checkpoint is None:
            writable(str(out.checkpoint_file), "-o (its checkpoint)")
        files = " and ".join(str(p) for p in (network, out.checkpoint_file) if p is not None and p != Path(STDOUT))
        limit = checkpoint.BINARY_ABOVE
        return (
            out,
            f"{parameters:,} parameters (over {limit:,}): saving {files} as .npz (TOML or JSON this size takes seconds)",
        )

    @property
    def checkpoint_file(self) -> Path | None:
        """Where a checkpoint goes: --checkpoint, or beside -o (never the working folder unasked)."""
        if self.checkpoint is not None:
            return self.checkpoint
        binary = self.binary or self.binary_checkpoints
        return beside(self.network, binary) if self.network is not None and not self.to_stdout else None

    def with_binary_checkpoints(self) -> Outputs:
        """A shaped network's checkpoints are .npz (`train.checkpoint_model`): a --checkpoint
        named .json becomes .npz, and the one beside -o is NAME.checkpoint.npz."""
        out = replace(
            self, checkpoint=self.checkpoint and _npz(self.checkpoint, "--checkpoint"), binary_checkpoints=True
        )
        out.distinct()
        if out.checkpoint_file is not None and out.checkpoint is None:
            writable(str(out.checkpoint_file), "-o (its checkpoint)")
        return out


def _npz(path: Path, option: str) -> Path:
    """NAME.toml and NAME.json become NAME.npz, NAME.other NAME.other.npz; a name without a suffix
    stays (the readers know a binary file by its signature)."""
    suffix = path.suffix.lower()
    if suffix in ("", ".npz"):
        return path
    new = path.with_suffix(".npz") if suffix in (".toml", ".json") else path.with_name(path.name + ".npz")
    writable(str(new), option)
    return new
