"""The compiled path as an `EpochRunner`: whole chunks of epochs and their metrics, in numba.

`Trainer` uses it for plain SGD wherever `paths.choose_path` picks the compiled loop; the records
it makes are the NumPy loop's, and the tests hold the two paths' parameters and metrics to 1e-12.
Chunks grow until a call (with the trainer's work on its records) takes about CHUNK_SECONDS, so
progress updates often and Ctrl-C, checked between chunks, answers within a fraction of a second.
"""

from __future__ import annotations

import math
import time

import numpy as np

from chainrule.train.compiled import loop as fast
from chainrule.train.config import non_finite_parameter
from chainrule.train.records import EpochChunk, classify_mode
from chainrule.train.runner import TrainingRun

Array = np.ndarray
CHUNK_SECONDS = 0.05
MAX_CHUNK = 10_000  # epochs a chunk: bounds the records a chunk makes at once (memory)


def _data(run: TrainingRun) -> tuple[Array, Array, Array, Array]:
    x, y = run.x, run.y
    if run.x_val is not None and run.y_val is not None:
        return x, y, run.x_val, run.y_val
    return x, y, np.empty((0, x.shape[1]), x.dtype), np.empty((0, y.shape[1]), y.dtype)


class CompiledEpochs:
    """Epochs of plain SGD in the compiled loop, on the run's parameters packed into one array."""

    name = "compiled"

    def __init__(self) -> None:
        self.packed: fast.Packed | None = None
        self._chunk = 1
        self._last_call: float | None = None
        self._loaded = False
        self.variant = "general"  # or "specialised": the loop written out for this network's shape
        self.why_general = ""

    def load(self, run: TrainingRun) -> None:
        """Load the compiled loop for this run's types and shape (on a fresh install, or for a shape
        met for the first time in a long run: build it, for seconds), by running it for zero epochs."""
        packed = fast.pack(run.net)
        classify, cut = classify_mode(run.net)
        mean = run.net.training.reduction == "mean"
        orders = np.empty((0, len(run.x)), np.int64)
        none = np.empty(0, np.uint8)
        fast.kernel_for(packed, run.size, float(run.epochs - run.epoch) * len(run.x))
        self.variant, self.why_general = packed.variant, packed.why_general
        fast.train_and_evaluate(
            packed, _data(run), orders, run.size, mean, np.empty(0), classify, cut, 0.0, none, specialise=self._special
        )
        self._loaded = True

    @property
    def _special(self) -> bool:
        return self.variant == "specialised"

    def begin(self, run: TrainingRun) -> None:
        if not self._loaded:
            self.load(run)
        self.packed = fast.pack(run.net)
        self._chunk, self._last_call = 1, None

    def epochs(self, run: TrainingRun, limit: int) -> EpochChunk:
        assert self.packed is not None, "begin() first"
        now = time.perf_counter()
        if self._last_call is not None:  # the whole last round: the loop, the records, the callbacks
            took = max(now - self._last_call, 1e-6)
            self._chunk = max(1, min(MAX_CHUNK, int(self._chunk * CHUNK_SECONDS / took)))
        self._last_call = now
        count = max(1, min(limit, self._chunk))
        lrs = run.learning_rates(count)
        flags = run.evaluations(count)
        orders = run.next_orders(count)
        before = self.packed.params.copy()
        done, metrics = self._train(run, orders, lrs, flags)
        bad = self._first_non_finite(run, metrics)
        if bad is not None:  # again from the chunk's start, epoch by epoch, to find the first that diverged
            self.packed.params[...] = before
            bad, metrics = self._replay(run, orders[: bad + 1], lrs, flags, metrics)
            done = bad + 1
        self.packed.unpack_into(run.net)
        records = _records(run, metrics[:done], lrs, time.perf_counter() - now)
        finished = records[-1] if bad is None else (records[-2] if bad else None)
        run.epoch += len(records) - (bad is not None)
        run.updates = finished.updates if finished is not None else run.updates
        return records

    def _train(self, run: TrainingRun, orders: Array, lrs: Array, flags: Array) -> tuple[int, Array]:
        assert self.packed is not None
        classify, cut = classify_mode(run.net)
        until = -math.inf if run.until_loss is None else run.until_loss
        mean = run.net.training.reduction == "mean"
        data = _data(run)
        return fast.train_and_evaluate(
            self.packed, data, orders, run.size, mean, lrs, classify, cut, until, flags, specialise=self._special
        )

    def _replay(self, run: TrainingRun, orders: Array, lrs: Array, flags: Array, metrics: Array) -> tuple[int, Array]:
        """Epoch by epoch from the chunk's start: the first whose metrics or parameters are not
        finite (its training metrics then evaluated on those parameters), with the parameters of
        the epoch before it left in place. The running loss of the epoch after a divergence is
        what first shows it when only the parameters went, hence the replay."""
        assert self.packed is not None
        params = self.packed.params
        metrics = metrics.copy()
        for k in range(len(orders)):
            kept = params.copy()
            _, row = self._train(run, orders[k : k + 1], lrs[k : k + 1], flags[k : k + 1])
            if not np.isfinite(params).all() and np.isfinite(row[0, 0]):
                params[...] = kept
                _, row = self._train(run, orders[k : k + 1], lrs[k : k + 1], np.ones(1, np.uint8))
            metrics[k] = row[0]
            if self._first_non_finite(run, row) is not None:
                run.divergence = self._what(run, row[0])
                params[...] = kept
                return k, metrics
        raise AssertionError("a replayed chunk must diverge where it did")  # the loop is deterministic

    def _first_non_finite(self, run: TrainingRun, metrics: Array) -> int | None:
        """The first epoch whose loss is not finite; the chunk's last when only a parameter is not."""
        assert self.packed is not None
        bad = ~np.isfinite(metrics[:, 0])
        if run.x_val is not None:
            bad |= ~np.isfinite(metrics[:, 2])
        if bad.any():
            return int(np.argmax(bad))
        if len(metrics) and not np.isfinite(self.packed.params).all():
            return len(metrics) - 1
        return None

    def _what(self, run: TrainingRun, row: Array) -> str:
        assert self.packed is not None
        if not math.isfinite(row[0]):
            return f"the loss became {row[0]}"
        self.packed.unpack_into(run.net)
        name = non_finite_parameter(run.net)
        return f"parameter {name} became {run.net.parameters()[name]}" if name else "the validation loss"


def _records(run: TrainingRun, metrics: Array, lrs: Array, took: float) -> EpochChunk:
    """The chunk's epochs, as columns (the chunk's time shared out evenly)."""
    done = len(metrics)
    per_epoch = -(-len(run.x) // run.size)
    step = np.arange(1, done + 1)
    return EpochChunk(
        run.epoch + step,
        metrics,
        lrs[:done],
        run.updates + step * per_epoch,
        run.elapsed + took * step / done,
        classify=bool(classify_mode(run.net)[0]),
        validation=run.x_val is not None,
    )


def load_loop(run: TrainingRun) -> None:
    """Load (on a fresh install: build) the compiled loop for this run's types."""
    CompiledEpochs().load(run)
