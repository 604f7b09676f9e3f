"""What `chainrule train` shows while it runs and when it stops: the progress bar and the summary."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from chainrule.train.records import STOP_WORDS, EpochRecord
from chainrule.train.trainer import Trainer, TrainResult

PATH_WORDS = {"compiled": "compiled", "lean": "lean NumPy", "numpy": "NumPy"}


def metrics_text(r: EpochRecord) -> str:
    """loss 0.0211 acc 99.2% │ val 0.1695 acc 96.7%: short enough for an 80-column progress line.
    Running training metrics (the epoch's own forward passes) say so: "running loss …"."""
    text = ("running " if r.measured == "running" else "") + f"loss {r.loss:.4g}"
    text += "" if r.accuracy is None else f" acc {r.accuracy:.1%}"
    if r.val_loss is not None:
        text += f" │ val {r.val_loss:.4g}" + ("" if r.val_accuracy is None else f" acc {r.val_accuracy:.1%}")
    return text


@contextmanager
def progress_bar(total: int, start: int, enabled: bool) -> Iterator[Any]:
    """A rich progress bar on stderr, redrawn at most ten times a second whatever the epoch rate."""
    if not enabled:
        yield lambda record, force=False: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("epoch"),
        MofNCompleteColumn(),
        BarColumn(bar_width=16),
        TextColumn("{task.fields[metrics]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), refresh_per_second=10) as progress:
        task = progress.add_task("train", total=total, completed=start, metrics="")
        last = 0.0

        def update(record: EpochRecord, force: bool = False) -> None:
            nonlocal last
            now = time.monotonic()
            if force or now - last >= 0.1 or record.epoch == total:
                last = now
                progress.update(task, completed=record.epoch, metrics=metrics_text(record))

        yield update


def sample(n: int, k: int = 5) -> np.ndarray:
    """k example indices spread evenly over the data (sorted data sets show every part)."""
    return np.unique(np.linspace(0, n - 1, min(k, n)).round().astype(int))


def _where(trainer: Trainer) -> str:
    """Where the updates ran: the built-in path, or the torch backend, its device and processes."""
    runner = trainer.runner
    if getattr(trainer, "backend", None) == "torch":  # a shaped network's run (train.model_trainer)
        return "torch backend on cpu, 1 process"
    if getattr(runner, "name", None) == "torch":
        n = int(getattr(runner, "nproc", 1))
        return f"torch backend on {getattr(runner, 'device', 'cpu')}, {n} process{'es' if n > 1 else ''}"
    return f"{PATH_WORDS[trainer.path]} path"


def summary(result: TrainResult, trainer: Trainer, before: np.ndarray, first: int) -> Any:
    """What happened: why it stopped, time, epochs, final metrics, predictions before and after."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    last = result.final
    lines = [Text(f"Stopped: {STOP_WORDS[result.stopped_by]}.", style="bold")]
    rate = (trainer.updates / result.seconds) if result.seconds > 0 else float("inf")
    lines.append(
        Text(
            f"{trainer.epoch - first} epochs{f' (resumed at {first})' if first else ''}, {trainer.updates:,} updates "
            f"in {result.seconds:.2f} s ({rate:,.0f} updates/s, {_where(trainer)})"
        )
    )
    target = trainer.config.until_loss
    if target is not None and result.stopped_by == "epochs":
        lines.append(Text(f"The target loss {target:g} was not reached: train longer with --epochs.", style="yellow"))
    if result.best_epoch is not None:
        lines.append(Text(f"Kept the parameters of epoch {result.best_epoch}, the best validation loss."))
    if last is not None:
        lines.append(Text(("Kept: " if result.best_epoch else "Final: ") + metrics_text(last)))
    net = result.network
    shown = sample(len(trainer.x))
    after = net.forward(trainer.x[shown]).output
    lines.append(Text(f"\nPredictions on {len(shown)} training examples, before and after training:"))
    table = Table()
    for name in ("example", "target", "before", "after"):
        table.add_column(name, justify="right")
    for j, i in enumerate(shown):
        row = [str(i + 1)] + [_vec(v) for v in (trainer.y[i], before[j], after[j])]
        table.add_row(*row)
    return Group(*lines, table)


def _vec(v: np.ndarray) -> str:
    return ", ".join(f"{x:.4g}" for x in v)
