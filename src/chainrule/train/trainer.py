"""Training: epochs of updates, batching, stopping rules; progress goes out as events (callbacks).

The loop works on the network's own arrays in place (training runs many thousands of updates; the
explained step's copy-per-update is for one step). The math is the engine's: each update is
``Network.forward`` then ``Network.backward``, and the optimizer moves θ by those gradients,
θ ← θ − η·∂L/∂θ for plain SGD. An update is one call of a *step function*
``step(x_batch, y_batch, learning_rate)``; a runner that does whole epochs at once (the compiled
loop, `runner.EpochRunner`) replaces the steps between epochs without touching the rest.

Three paths, one set of numbers (the tests hold them to 1e-12): "compiled" (plain SGD in numba),
"lean" (plain SGD in place with NumPy, `lean.LeanSGD`) and "numpy" (the engine's backward pass
and any optimizer). Each step function returns its batch's share of the epoch's running metrics
(Σ example losses, Σ classified right, from its forward pass before the update); the whole training
set is evaluated only where `records.evaluation_flags` asks, and at the end (`_final`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from chainrule.engine.batching import batch_size
from chainrule.engine.network import Network
from chainrule.errors import ChainruleError
from chainrule.train import paths as sgd
from chainrule.train.compiled import loop as fast
from chainrule.train.compiled.run import CompiledEpochs
from chainrule.train.config import TrainConfig, checked_data, in_precision, non_finite_parameter, working_copy
from chainrule.train.history import History
from chainrule.train.interrupt import Abandoned, stop_on_interrupt
from chainrule.train.optim import make_optimizer
from chainrule.train.records import (
    CLASSIFIER_LOSSES,
    STOP_WORDS,
    EpochRecord,
    Measured,
    StopReason,
    evaluate,
    evaluation_flags,
    running_metrics,
)
from chainrule.train.runner import EpochRunner
from chainrule.train.steps import StepFn, gradient_arrays, lean_step, numpy_step

__all__ = [
    "CLASSIFIER_LOSSES",
    "STOP_WORDS",
    "EpochRecord",
    "StopReason",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "evaluate",
    "fit",
    "gradient_arrays",
    "stop_on_interrupt",
]

Array = np.ndarray
ABANDON_AFTER_SECONDS = 0.3  # a lean update this long can be dropped by Ctrl-C (see `interrupt`)
PathName = Literal["compiled", "lean", "numpy"]
Callback = Callable[[EpochRecord], None]
# Called once per chunk of epochs with their records (an `EpochChunk` from a fast loop: columns,
# each record made only when read): what the command line's progress bar and files use.
ChunkCallback = Callable[[Sequence[EpochRecord]], None]


@dataclass
class TrainResult:
    """A finished (or stopped) run: the trained network, its history curve, and why it stopped.

    ``history`` is the bounded curve (`history.History.curve`): every epoch of a short run; evenly
    spaced ones, and the last, of a long one."""

    network: Network
    history: list[EpochRecord]
    stopped_by: StopReason
    best_epoch: int | None = None  # with --patience: the epoch whose parameters were kept
    seconds: float = 0.0
    kept: EpochRecord | None = None  # when not the last epoch's: the record of the parameters kept
    divergence: str | None = None  # what stopped being finite, when the run diverged
    last: EpochRecord | None = None  # the last epoch's record, evaluated where it was running

    @property
    def final(self) -> EpochRecord | None:
        """The metrics of the parameters the network holds: the last epoch's, or the one kept;
        the training set evaluated on them (never running metrics)."""
        if self.kept is not None or self.stopped_by == "diverged":
            return self.kept
        return self.last


class Trainer:
    """One training run, resumable: the network, the optimizer, the random stream and the position.

    ``path`` forces one of the three paths (tests, benchmarks); by default the fastest that gives
    the engine's numbers. ``ran`` says which paths made updates."""

    def __init__(
        self,
        net: Network,
        x: Array,
        y: Array,
        config: TrainConfig,
        *,
        rng: np.random.Generator | None = None,
        x_val: Array | None = None,
        y_val: Array | None = None,
        path: PathName | None = None,
    ) -> None:
        config.check()
        self.config = config
        self.net = working_copy(net, config)
        self.x, self.y, self.x_val, self.y_val = self._data(x, y, x_val, y_val)
        if config.patience is not None and self.x_val is None:
            raise ChainruleError("--patience: expected validation data to watch (add --val FRACTION)")
        t = self.net.training
        self.epochs = config.epochs or t.epochs
        self.rng = rng if rng is not None else np.random.default_rng(t.seed)
        # --optimizer and --momentum win over the file's [training] optimizer and momentum; β₁, β₂,
        # ρ and ε come from the file (defaults: PyTorch's).
        s = t.optimizer
        self.optimizer_name = config.optimizer or s.name
        self.optimizer = make_optimizer(
            self.optimizer_name,
            self.net,
            t.learning_rate,
            momentum=s.momentum if config.momentum is None else config.momentum,
            constants={"beta1": s.beta1, "beta2": s.beta2, "rho": s.rho, "eps": s.eps},
            weight_decay=config.weight_decay,
            l1=config.l1,
        )
        n = len(self.x)
        self.size = batch_size(t.batch, n)
        self.path, self.path_note = self._choose(path)
        # Plain SGD steps lean (the compiled path too, to finish an epoch a checkpoint stopped midway).
        lean = self.path != "numpy"
        self.step: StepFn = lean_step(self.net, self.size) if lean else numpy_step(self.net, self.optimizer)
        # Preallocated batch buffers: an update copies its examples in, it allocates nothing for them.
        self._xb = np.empty((self.size, self.x.shape[1]), self.x.dtype)
        self._yb = np.empty((self.size, self.y.shape[1]), self.y.dtype)
        self.runner: EpochRunner | None = CompiledEpochs() if self.path == "compiled" else None
        self.ran: set[str] = set()
        self.order = np.arange(n)
        self.epoch = 0  # epochs finished
        self.position = 0  # examples of the current epoch already used
        self.running = (0.0, 0.0)  # the current epoch's running sums so far: Σ losses, Σ right
        self.updates = 0
        self.history = History()
        self.best: tuple[float, int, list[Array]] | None = None  # val loss, epoch, parameters
        self.stop_requested = False
        self.abandonable = False  # a long lean update under way, which Ctrl-C may drop (`interrupt`)
        self._step_seconds = 0.0  # the last update's time
        self.divergence: str | None = None
        self.elapsed = 0.0
        self.sync_every = 0  # epochs: callbacks that save the network need it current at these epochs
        self._finite = [p.copy() for p in self.optimizer.params]  # the parameters before this epoch

    def _data(
        self, x: Array, y: Array, x_val: Array | None, y_val: Array | None
    ) -> tuple[Array, Array, Array | None, Array | None]:
        x, y = in_precision(self.net, *checked_data(self.net, x, y, "training data"), "training data")
        if x_val is None or y_val is None or not len(x_val):
            return x, y, None, None
        xv, yv = in_precision(self.net, *checked_data(self.net, x_val, y_val, "validation data"), "validation data")
        return x, y, xv, yv

    def _choose(self, forced: PathName | None) -> tuple[PathName, str]:
        """The fastest path that gives the engine's numbers (issue: speed), or the one forced."""
        plain = self.optimizer_name == "sgd" and self.config.weight_decay == 0 and self.config.l1 == 0
        chosen, note = sgd.choose_path(self.net, self.size, plain)
        path: PathName = "compiled" if chosen == "compiled" else "lean" if plain else "numpy"
        if forced is None or forced == path:
            return path, note
        if forced != "numpy" and not plain:
            raise ChainruleError(f"the {forced} path runs plain SGD only")
        if forced == "compiled" and (reason := fast.unsupported(self.net)):
            raise ChainruleError(f"the compiled path cannot train this network: {reason}")
        return forced, ""

    # -- what a runner asks (runner.TrainingRun) --------------------------------------------
    @property
    def until_loss(self) -> float | None:
        return self.config.until_loss

    def learning_rates(self, count: int) -> Array:
        base, schedule = self.net.training.learning_rate, self.config.schedule
        if schedule.kind == "constant":
            return np.full(count, base)
        return np.array([schedule.rate(base, self.epoch + c, self.epochs) for c in range(count)])

    def evaluations(self, count: int) -> Array:
        """Which of the next `count` epochs evaluate the whole training set (1) rather than report
        running metrics (0): all with --until-loss, every --evaluate-every K, and the last."""
        c = self.config
        return evaluation_flags(self.epoch, count, self.epochs, c.evaluate_every, c.until_loss is not None)

    def next_order(self) -> Array:
        if self.config.shuffle and self.size < len(self.x):
            self.rng.shuffle(self.order)
        return self.order

    def next_orders(self, count: int) -> Array:
        """The example orders of the next `count` epochs, one row each (as `next_order` gives
        them, the same random stream); without shuffling, one copy of the order into every row."""
        orders = np.empty((count, len(self.x)), np.int64)  # writable: numba compiles read-only views anew
        if self.config.shuffle and self.size < len(self.x):
            for c in range(count):
                orders[c] = self.next_order()
        else:
            orders[...] = self.order
        return orders

    # -- the loop ---------------------------------------------------------------------------
    def run(self, callbacks: Sequence[Callback] = (), chunk_callbacks: Sequence[ChunkCallback] = ()) -> TrainResult:
        """Train until a stopping rule fires; `stop_requested` (Ctrl-C) stops after the current
        update (between chunks of epochs on the compiled path, a fraction of a second apart).
        `callbacks` get each epoch's record; `chunk_callbacks` each chunk's, at once."""
        stopped: StopReason | None = None
        with np.errstate(all="ignore"):  # a diverging run is reported once, by `divergence`, not warned
            if self.runner is not None:  # before the clock starts (a fresh install compiles)
                self.runner.begin(self)  # the parameters as they are now: after any checkpoint loaded
            start = time.perf_counter() - self.elapsed
            while stopped is None and self.epoch < self.epochs:
                self.elapsed = time.perf_counter() - start
                if self.runner is not None and (self.position == 0 or getattr(self.runner, "mid_epoch", False)):
                    records = self.runner.epochs(self, self._limit())
                    self.ran.add(self.runner.name)
                else:
                    records = self._epoch()
                self.history.extend(records)
                if records:
                    for chunk_callback in chunk_callbacks:
                        chunk_callback(records)
                for record in records if callbacks else ():
                    for callback in callbacks:
                        callback(record)
                stopped = self._stop(records)
            self.elapsed = time.perf_counter() - start
            return self._result(stopped or "epochs")

    def _limit(self) -> int:
        """Epochs the runner may do now: one with --patience (the best is kept epoch by epoch), and
        up to the next epoch a checkpoint is due at, so that it saves that epoch's parameters."""
        count = 1 if self.config.patience is not None else self.epochs - self.epoch
        if self.sync_every:
            count = min(count, self.sync_every - self.epoch % self.sync_every)
        return count

    def _epoch(self) -> list[EpochRecord]:
        """The rest of the current epoch, update by update; no record when stopped mid-epoch."""
        n, size, xb, yb = len(self.x), self.size, self._xb, self._yb
        lr = float(self.learning_rates(1)[0])
        # An epoch's first update dropped by Ctrl-C leaves the run at position 0, where a resume
        # draws the epoch's order again: the order and the random stream go back to before this draw.
        drawn = (self.order.copy(), self.rng.bit_generator.state) if self.position == 0 else None
        order = self.next_order() if self.position == 0 else self.order
        for keep, p in zip(self._finite, self.optimizer.params, strict=True):
            np.copyto(keep, p)
        self.ran.add("numpy" if self.path == "numpy" else "lean")
        loss_sum, right = self.running if self.position else (0.0, 0.0)
        while self.position < n:
            idx = order[self.position : self.position + size]
            k = len(idx)
            np.take(self.x, idx, axis=0, out=xb[:k])
            np.take(self.y, idx, axis=0, out=yb[:k])
            sums = self._step(xb[:k], yb[:k], lr)
            if sums is None:  # dropped by Ctrl-C: stop before this update
                if drawn is not None and self.position == 0:
                    self.order[...], self.rng.bit_generator.state = drawn
                break
            loss_sum, right = loss_sum + sums[0], right + sums[1]
            self.position += k
            self.updates += 1
            if self.stop_requested:
                break
        self.running = (loss_sum, right)
        if self.position < n:
            return []
        self.position = 0
        self.epoch += 1
        record = self._record(lr, running_metrics(self.net, loss_sum, right, n))
        what = f"the loss became {record.loss}" if not record.finite() else None
        name = non_finite_parameter(self.net) if what is None else None
        if what or name:
            self.divergence = what or f"parameter {name} became {self.net.parameters()[name or '']}"
            record = self._evaluated(record) or record  # the loss of the parameters that stopped being finite
            self._restore(self._finite)
            self.epoch -= 1
        return [record]

    def _step(self, x: Array, y: Array, lr: float) -> tuple[float, float] | None:
        """One update; on the lean path one that takes seconds may be dropped by Ctrl-C (None)."""
        if self.path != "lean" or self._step_seconds < ABANDON_AFTER_SECONDS:
            started = time.perf_counter()
            sums = self.step(x, y, lr)
            self._step_seconds = time.perf_counter() - started
            return sums
        kept = [p.copy() for p in self.optimizer.params]
        try:
            self.abandonable = not self.stop_requested
            sums = self.step(x, y, lr)
            self.abandonable = False
        except Abandoned:
            self._restore(kept)
            return None
        return sums

    def _record(self, lr: float, running: tuple[float, float | None]) -> EpochRecord:
        """The epoch just finished: its running training metrics, or evaluated ones where
        `evaluation_flags` asks; the validation set evaluated whenever there is one."""
        c = self.config
        evaluated = evaluation_flags(self.epoch - 1, 1, self.epochs, c.evaluate_every, c.until_loss is not None)[0]
        loss, acc = self._evaluate(self.x, self.y) if evaluated else running
        val_loss = val_acc = None
        if self.x_val is not None and self.y_val is not None:
            val_loss, val_acc = self._evaluate(self.x_val, self.y_val)
        measured: Measured = "evaluated" if evaluated else "running"
        return EpochRecord(self.epoch, loss, val_loss, acc, val_acc, measured, lr, self.updates, self.elapsed)

    def _evaluated(self, record: EpochRecord | None) -> EpochRecord | None:
        """`record` with its training metrics evaluated on the parameters the network holds now
        (the caller makes sure they are that epoch's): the final numbers describe the final parameters."""
        if record is None or record.measured == "evaluated":
            return record
        loss, acc = self._evaluate(self.x, self.y)
        return dataclasses.replace(record, loss=loss, accuracy=acc, measured="evaluated")

    def _evaluate(self, x: Array, y: Array) -> tuple[float, float | None]:
        """The loss and accuracy of the network held now on (x, y); a shaped trainer has its own."""
        return evaluate(self.net, x, y)

    def _stop(self, records: Sequence[EpochRecord]) -> StopReason | None:
        if self.divergence is not None:
            return "diverged"
        if not records:
            return "interrupted"  # mid-epoch
        record = records[-1]
        if self.config.until_loss is not None and record.loss <= self.config.until_loss:
            return "until_loss"
        if self.config.patience is not None and record.val_loss is not None:
            if self.best is None or record.val_loss < self.best[0]:
                self.best = (record.val_loss, record.epoch, [p.copy() for p in self.optimizer.params])
                self.history.kept = record
            elif record.epoch - self.best[1] >= self.config.patience:
                return "patience"
        return "interrupted" if self.stop_requested else None

    def _result(self, stopped: StopReason) -> TrainResult:
        """The run's result; its final record (the last epoch's, or the one kept) evaluated on the
        parameters the network holds where it was running. The history (and its file) keep the
        records as the run made them, so that a resumed run's equal the uninterrupted one's."""
        best_epoch, kept, last = None, None, None
        if stopped == "patience" and self.best is not None:
            self._restore(self.best[2])
            best_epoch, kept = self.best[1], self._evaluated(self.history.kept)
            self.history.kept = kept
        elif stopped == "diverged":
            recent = list(self.history.recent)
            kept = self._evaluated(recent[-2] if len(recent) > 1 and recent[-2].epoch == self.epoch else None)
        elif self.position == 0:  # mid-epoch (interrupted) no record describes the parameters
            last = self._evaluated(self.history.last)
        curve = self.history.curve()
        return TrainResult(self.net, curve, stopped, best_epoch, self.elapsed, kept, self.divergence, last)

    def _restore(self, values: list[Array]) -> None:
        for p, v in zip(self.optimizer.params, values, strict=True):
            p[...] = v


def fit(
    net: Network,
    x: Array | None = None,
    y: Array | None = None,
    config: TrainConfig | None = None,
    *,
    rng: np.random.Generator | None = None,
    x_val: Array | None = None,
    y_val: Array | None = None,
    callbacks: Sequence[Callback] = (),
) -> TrainResult:
    """Train a copy of `net` on (x, y) (default: the file's examples); `net` itself is unchanged."""
    trainer = Trainer(
        net,
        net.x if x is None else x,
        net.y if y is None else y,
        config or TrainConfig(),
        rng=rng,
        x_val=x_val,
        y_val=y_val,
    )
    return trainer.run(callbacks)
