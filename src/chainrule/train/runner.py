"""How a faster loop plugs into the trainer: the `EpochRunner` protocol and the run it works on.

`Trainer` runs updates itself, one step function call per batch (the NumPy paths). A runner that
can do whole epochs at once (the compiled loop) implements `EpochRunner`; the trainer hands it
the run (`TrainingRun`: the network, data, position and random stream) between epochs, and gets
back the epochs' records. The runner never sees the trainer's internals, and the trainer keeps
the stopping rules, the history and the callbacks in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from chainrule.engine.network import Network
from chainrule.train.records import EpochRecord


class TrainingRun(Protocol):
    """What a runner reads and moves on: the trainer's public state."""

    net: Network
    x: np.ndarray
    y: np.ndarray
    x_val: np.ndarray | None
    y_val: np.ndarray | None
    size: int  # examples per update
    epoch: int  # epochs finished
    position: int  # examples of the current epoch already used (0 at an epoch boundary)
    running: tuple[float, float]  # the current epoch's running Σ losses, Σ right so far
    stop_requested: bool  # Ctrl-C: stop at the next point the run can be saved and resumed from
    epochs: int  # the epochs the run is to reach (unless a stopping rule fires first)
    updates: int
    elapsed: float  # seconds of training before this call
    order: np.ndarray  # the example order of the current (last) epoch
    rng: np.random.Generator
    divergence: str | None  # what stopped being finite ("the loss", "parameter w5"), once it did

    def learning_rates(self, count: int) -> np.ndarray:
        """The learning rate of each of the next `count` epochs."""
        ...

    def evaluations(self, count: int) -> np.ndarray:
        """uint8 per each of the next `count` epochs: 1 where the whole training set is evaluated
        after it, 0 where its training metrics are the running ones (`records.evaluation_flags`)."""
        ...

    def next_order(self) -> np.ndarray:
        """The example order of the next epoch (shuffled with `rng` when the run shuffles)."""
        ...

    def next_orders(self, count: int) -> np.ndarray:
        """The example orders of the next `count` epochs, (count, n), as `next_order` gives them."""
        ...

    @property
    def until_loss(self) -> float | None: ...


class EpochRunner(Protocol):
    """Whole epochs at once, from an epoch boundary, with the trainer's numbers (tests: to 1e-12).
    A runner whose `mid_epoch` attribute is true also continues an epoch stopped midway (and may
    stop one: no record then, `run.position` and `run.running` moved on)."""

    name: str

    def load(self, run: TrainingRun) -> None:
        """Get ready for this run's types (compile, or load a compiled loop) before the clock starts."""
        ...

    def begin(self, run: TrainingRun) -> None:
        """Take the network's parameters as they are now (after a checkpoint was loaded, say)."""
        ...

    def epochs(self, run: TrainingRun, limit: int) -> Sequence[EpochRecord]:
        """Run at most `limit` epochs (fewer once the loss reaches `until_loss`, or diverges), write
        the parameters back into `run.net`, move `run.epoch` and `run.updates` on, return the records
        (a list, or an `EpochChunk` of columns): running training metrics, or evaluated ones where
        `run.evaluations` asks.

        On divergence the last record is the first non-finite epoch, `run.divergence` says what, and
        the network holds the parameters of the epoch before it (the last finite ones)."""
        ...
