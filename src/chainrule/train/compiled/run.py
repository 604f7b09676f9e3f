"""The compiled path as an `EpochRunner`: whole chunks of epochs and their metrics, in numba.

`Trainer` uses it for plain SGD wherever `paths.choose_path` picks the compiled loop; the records
it makes are the NumPy loop's, and the tests hold the two paths' parameters and metrics to 1e-12.
Chunks grow until a call (with the trainer's work on its records) takes about CHUNK_SECONDS, so
progress updates often and Ctrl-C, checked between chunks, answers within a fraction of a second.
An epoch that would take longer than LONG_EPOCH_SECONDS (a large network, many examples; the first
epoch, until its speed is known) runs in stretches of about STRETCH_SECONDS instead, Ctrl-C checked
between them: the run then stops mid-epoch, and its checkpoint resumes there. Stretches carry the
epoch's running sums on, so they give the whole epoch's numbers exactly.
"""

from __future__ import annotations

import math
import time

import numpy as np

from chainrule.train.compiled import loop as fast
from chainrule.train.compiled import special
from chainrule.train.config import non_finite_parameter
from chainrule.train.records import EpochChunk, classify_mode
from chainrule.train.runner import TrainingRun

Array = np.ndarray
CHUNK_SECONDS = 0.05
MAX_CHUNK = 10_000  # epochs a chunk: bounds the records a chunk makes at once (memory)
LONG_EPOCH_SECONDS = 0.25
STRETCH_SECONDS = 0.1


def _data(run: TrainingRun) -> tuple[Array, Array, Array, Array]:
    x, y = run.x, run.y
    if run.x_val is not None and run.y_val is not None:
        return x, y, run.x_val, run.y_val
    return x, y, np.empty((0, x.shape[1]), x.dtype), np.empty((0, y.shape[1]), y.dtype)


class CompiledEpochs:
    """Epochs of plain SGD in the compiled loop, on the run's parameters packed into one array."""

    name = "compiled"
    mid_epoch = True  # it continues an epoch a checkpoint or Ctrl-C stopped midway (`Trainer.run`)

    def __init__(self) -> None:
        self.packed: fast.Packed | None = None
        self._chunk = 1
        self._last_call: float | None = None
        self._loaded = False
        self._special = False  # whether to ask for the loop written out for this network's shape
        self.variant = ""  # the loop that ran last, as it said: "general" or "specialised"
        self.why_general = ""
        self._per_example: float | None = None  # seconds an example takes, as last measured
        self._kept: Array | None = None  # the parameters before the epoch being run in stretches

    def load(self, run: TrainingRun) -> None:
        """Load the compiled loop for this run's types and shape (on a fresh install, or for a shape
        met for the first time in a long run: build it, for seconds), by running it for zero epochs."""
        packed = fast.pack(run.net)
        classify, cut = classify_mode(run.net)
        mean = run.net.training.reduction == "mean"
        orders = np.empty((0, len(run.x)), np.int64)
        none = np.empty(0, np.uint8)
        self._special = special.variant(packed, run.size, float(run.epochs - run.epoch) * len(run.x))[0]
        fast.train_and_evaluate(
            packed, _data(run), orders, run.size, mean, np.empty(0), classify, cut, 0.0, none, specialise=self._special
        )
        self._noted(packed)
        # and the entry points of an epoch in stretches, so that nothing compiles once training runs
        # (Ctrl-C then only sets a flag, which a compile would keep waiting)
        zero = (0, 0)
        fast.train_stretch(packed, (run.x, run.y), orders[0:0].reshape(-1), zero, run.size, mean, 0.0, (classify, cut),
                           np.zeros(2), specialise=self._special)  # fmt: skip
        fast.evaluate(packed, run.x[:0], run.y[:0], run.size, (classify, cut))
        self._loaded = True

    def _noted(self, packed: fast.Packed) -> None:
        """Take the loop that ran from `packed` (what the loop said); ask for it from now on."""
        self.variant, self.why_general = packed.variant, packed.why_general
        self._special = self.variant == "specialised"

    def begin(self, run: TrainingRun) -> None:
        if not self._loaded:
            self.load(run)
        self.packed = fast.pack(run.net)
        self._chunk, self._last_call = 1, None

    def epochs(self, run: TrainingRun, limit: int) -> EpochChunk:
        assert self.packed is not None, "begin() first"
        if run.position or self._per_example is None or self._per_example * len(run.x) > LONG_EPOCH_SECONDS:
            return self._stretched(run)
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
        started = time.perf_counter()
        done, metrics = self._train(run, orders, lrs, flags)
        self._per_example = (time.perf_counter() - started) / max(1, done * len(run.x))
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

    def _stretched(self, run: TrainingRun) -> EpochChunk:
        """The current epoch (from `run.position`) in stretches, Ctrl-C checked between them: its
        record, or none when stopped midway (the position and running sums left on `run`)."""
        assert self.packed is not None
        n, size, now = len(run.x), run.size, time.perf_counter()
        if run.position == 0:
            order, sums, self._kept = run.next_order(), np.zeros(2), self.packed.params.copy()
        else:  # resumed mid-epoch, or after a stop: the epoch's order and sums so far
            order, sums = run.order, np.array(run.running, dtype=np.float64)
            self._kept = self._kept if self._kept is not None else self.packed.params.copy()
        order = np.ascontiguousarray(order, dtype=np.int64)
        lr, mode = float(run.learning_rates(1)[0]), classify_mode(run.net)
        mean = run.net.training.reduction == "mean"
        while run.position < n:
            examples = size if self._per_example is None else int(STRETCH_SECONDS / max(self._per_example, 1e-9))
            stop = min(n, run.position + max(size, examples // size * size))
            started = time.perf_counter()
            fast.train_stretch(self.packed, (run.x, run.y), order, (run.position, stop), size, mean, lr, mode, sums,
                               specialise=self._special)  # fmt: skip
            self._noted(self.packed)
            self._per_example = (time.perf_counter() - started) / (stop - run.position)
            run.updates += -(-(stop - run.position) // size)
            run.position = stop
            if run.stop_requested and run.position < n:
                self.packed.unpack_into(run.net)
                run.running = (float(sums[0]), float(sums[1]))
                return _records(run, np.empty((0, 5)), np.empty(0), 0.0)
        run.position = 0
        return self._finish_epoch(run, sums, lr, time.perf_counter() - now)

    def _finish_epoch(self, run: TrainingRun, sums: Array, lr: float, took: float) -> EpochChunk:
        """The record of an epoch run in stretches, as `train_and_evaluate` makes it; on divergence
        the parameters go back to the epoch's start."""
        assert self.packed is not None and self._kept is not None
        size, mode, n = run.size, classify_mode(run.net), max(len(run.x), 1)
        row = np.array([sums[0] / n, sums[1] / n, math.nan, math.nan, 0.0])
        if run.evaluations(1)[0]:
            row[:2], row[4] = fast.evaluate(self.packed, run.x, run.y, size, mode), 1.0
        if run.x_val is not None and run.y_val is not None:
            row[2:4] = fast.evaluate(self.packed, run.x_val, run.y_val, size, mode)
        diverged = self._first_non_finite(run, row[None]) is not None
        if diverged:
            if not np.isfinite(self.packed.params).all() and math.isfinite(row[0]):
                row[:2], row[4] = fast.evaluate(self.packed, run.x, run.y, size, mode), 1.0
            run.divergence = self._what(run, row)
            self.packed.params[...] = self._kept
        self.packed.unpack_into(run.net)
        self._kept = None
        records = EpochChunk(
            np.array([run.epoch + 1]),
            row[None],
            np.array([lr]),
            np.array([run.updates]),
            np.array([run.elapsed + took]),
            classify=bool(classify_mode(run.net)[0]),
            validation=run.x_val is not None,
        )
        if diverged:  # the parameters (and the count of updates) of the epoch before
            run.updates -= -(-len(run.x) // size)
        else:
            run.epoch += 1
        return records

    def _train(self, run: TrainingRun, orders: Array, lrs: Array, flags: Array) -> tuple[int, Array]:
        assert self.packed is not None
        classify, cut = classify_mode(run.net)
        until = -math.inf if run.until_loss is None else run.until_loss
        mean = run.net.training.reduction == "mean"
        data = _data(run)
        done = fast.train_and_evaluate(
            self.packed, data, orders, run.size, mean, lrs, classify, cut, until, flags, specialise=self._special
        )
        self._noted(self.packed)
        return done

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
